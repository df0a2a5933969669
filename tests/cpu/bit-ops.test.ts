/**
 * BSWAP, BSF, BSR and the dword DIV/IDIV's inline case, defined once (src/machine/cpu/bit-ops.ts,
 * muldiv-ops.ts DIV32_FAST): the expressions compiled blocks inline give what the functions
 * step() and the decoded cache call give, and DIV32_FAST what divide() gives wherever it takes its
 * fast path, and leaves the rest (and every #DE) to divide(). The instructions themselves are held
 * to the host CPU by the oracle's vectors and, in every engine, by decode-agreement.test.ts,
 * blocks-random.test.ts and block-templates.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BITSCAN_EXPR, BSWAP_EXPR, bitIndex, bswap32 } from '../../src/machine/cpu/bit-ops';
import { ACC_PAIR, DIV32_FAST, divide } from '../../src/machine/cpu/muldiv-ops';
import { fuzzRng } from './fuzz';

const rng = fuzzRng(0xb175);
const EDGES = [1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];
const values = [...EDGES, ...Array.from({ length: 2000 }, () => rng.u32() >>> rng.below(32))].map((v) => v | 0);

describe('BSWAP, BSF, BSR: the inlined expressions and the functions agree', () => {
  const bswapExpr = new Function('v', `return ${BSWAP_EXPR('v')};`) as (v: number) => number;
  const bsf = new Function('v', `return ${BITSCAN_EXPR(false, 'v')};`) as (v: number) => number;
  const bsr = new Function('v', `return ${BITSCAN_EXPR(true, 'v')};`) as (v: number) => number;

  it('BSWAP reverses the bytes', () => {
    expect(bswap32(0x12345678) >>> 0).toBe(0x78563412);
    for (const v of [...values, 0]) expect(bswapExpr(v), `${v}`).toBe(bswap32(v));
  });

  it('BSF and BSR find the lowest and highest set bit', () => {
    expect([bitIndex(false, 0x80000000), bitIndex(true, 1), bitIndex(false, 0x50), bitIndex(true, 0x50)]).toEqual([
      31, 0, 4, 6,
    ]);
    for (const v of values) {
      if (v === 0) continue;
      expect(bsf(v), `bsf ${v}`).toBe(bitIndex(false, v));
      expect(bsr(v), `bsr ${v}`).toBe(bitIndex(true, v));
      expect((v >>> bitIndex(false, v)) & 1).toBe(1);
      expect(v >>> bitIndex(true, v)).toBe(1);
    }
  });
});

describe("DIV32_FAST, the compiled dword DIV/IDIV's inline case", () => {
  /** Runs the statement over EDX:EAX and divisor d; its registers, or 'slow' where it left the case to divide(). */
  const run = (signed: boolean, edx: number, eax: number, d: number): [number, number] | 'slow' => {
    const f = new Function(
      'r',
      'b',
      `let a = 0, o = 0, slow = false; ${DIV32_FAST[signed ? 'idiv' : 'div']('b', 'slow = true;')} return slow;`,
    ) as (r: Int32Array, b: number) => boolean;
    const r = new Int32Array(8);
    r[0] = eax;
    r[2] = edx;
    return f(r, d) ? 'slow' : [r[0], r[2]];
  };

  it('gives divide()’s quotient and remainder where it applies, and leaves the rest to it', () => {
    let fast = 0;
    for (const signed of [false, true])
      for (let k = 0; k < 20000; k++) {
        const eax = k < EDGES.length ? EDGES[k] : pick(values);
        const d = k % 7 === 0 ? 0 : pick([...values, -1, 1]);
        const edx = k % 3 === 0 ? (signed ? eax >> 31 : 0) : k % 3 === 1 ? pick(values) : signed ? 0 : 1;
        const got = run(signed, edx, eax, d);
        const ok = divide(edx >>> 0, eax >>> 0, d >>> 0, 4, signed);
        if (got === 'slow') continue;
        fast++;
        expect(ok, `${signed ? 'idiv' : 'div'} ${edx}:${eax} / ${d} has no #DE`).toBe(true);
        expect([got[0] >>> 0, got[1] >>> 0], `${signed ? 'idiv' : 'div'} ${edx}:${eax} / ${d}`).toEqual([
          ACC_PAIR.low,
          ACC_PAIR.high,
        ]);
      }
    expect(fast).toBeGreaterThan(10000);
    // The cases it must leave: a zero divisor, IDIV's -2^31 / -1 (#DE), a high half in the dividend.
    expect(run(false, 0, 5, 0)).toBe('slow');
    expect(run(true, -1, -0x80000000, -1)).toBe('slow');
    expect(run(false, 1, 0, 2)).toBe('slow');
    expect(run(true, 0, -5, 2)).toBe('slow');
    expect(run(true, -1, -7, 2)).toEqual([-3, -1]);
  });
});

function pick(a: readonly number[]): number {
  return a[rng.below(a.length)];
}
