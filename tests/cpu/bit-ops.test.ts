/**
 * BSWAP, BSF, BSR and the dword DIV/IDIV's inline case, defined once (src/machine/cpu/bit-ops.ts,
 * muldiv-ops.ts DIV32_FAST): the expressions compiled blocks inline give what the functions
 * step() and the decoded cache call give, and DIV32_FAST what divide() gives wherever it takes its
 * fast path, and leaves the rest (and every #DE) to divide(). The instructions themselves are held
 * to the host CPU by the oracle's vectors and, in every engine, by decode-agreement.test.ts,
 * blocks-random.test.ts and block-templates.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIT_GEN_FILES, bitsFormatted } from '../../tools/gen-bits';
import { BITSCAN_EXPR, BSWAP_EXPR } from '../../src/machine/cpu/bit-ops';
import { ACC_PAIR, DIV32_FAST, divide } from '../../src/machine/cpu/muldiv-ops';
import { fuzzRng } from './fuzz';
import { describeCpu, le, makeRig, runThrough } from './rig';

/** BSWAP of the dword v, written plainly: the reference the inlined expression is held to. */
function bswap32(v: number): number {
  return (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** The index of the lowest (BSF) or highest (BSR) set bit of v (not 0): BITSCAN_EXPR's reference. */
function bitIndex(reverse: boolean, v: number): number {
  return reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
}

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

describe('BSF and BSR, defined once (bit-ops.ts BITSCAN_STATEMENT)', () => {
  it('the gen:bits regions of alu.ts and decoded-exec.ts are what tools/gen-bits.ts makes (run it after changing bit-ops.ts)', async () => {
    for (const file of BIT_GEN_FILES) {
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/\/\/ gen:bits (bitScan|execReg)/);
      expect(text, file).toBe(await bitsFormatted(file, text));
    }
  });
});

const ZF = 0x40;
/** The bits compared: OF SF ZF AF PF CF and bit 1 (BSF/BSR keep all but ZF). */
const KEPT = 0x8d7;
/** What the destination (EAX) holds before each scan. */
const SENTINEL = 0x5a5aa5a5;
/** The sources: 0; a dword whose low word is 0; words and dwords with one bit, several, all. */
const SOURCES = [0, 1, 0x50, 0x8000, 0x12340, 0xffff0000, 0x80000000, 0xffffffff, 0x7fff8001];

interface ScanCase {
  name: string;
  /** The scan instruction's address (the cached paths must not run it through step()). */
  at: number;
  /** Expected EFLAGS (KEPT bits), or undefined where a later instruction replaced them (dead ZF). */
  f?: number;
  eax: number;
}

/** At 0x1000, flat 32-bit: each case, its EFLAGS and EAX stored at EDI; then HLT. Source memory at 0x30000. */
function scanProgram(): { code: number[]; cases: ScanCase[] } {
  const code: number[] = [];
  const cases: ScanCase[] = [];
  for (const reverse of [false, true])
    for (const size of [2, 4])
      for (const form of ['reg', 'mem', 'rep'] as const)
        for (const src of SOURCES)
          for (const flags of ['popf', 'lazy', 'dead'] as const) {
            const before = src === 0 ? 0x002 : 0x8d7; // ZF the opposite of what the scan gives
            code.push(0x68, ...le(before), 0x9d); // push imm32; popfd
            code.push(0xb8, ...le(SENTINEL), 0xbb, ...le(src)); // mov eax, SENTINEL; mov ebx, src
            code.push(0xc7, 0x05, ...le(0x30000), ...le(src)); // mov dword [0x30000], src
            // mov edx, -1; add edx, 1: CF ZF AF PF pending (lazy), SF OF clear
            if (flags === 'lazy') code.push(0xba, ...le(0xffffffff), 0x83, 0xc2, 0x01);
            const f0 = flags === 'lazy' ? (before & ~0x8d5) | 0x55 : before;
            const at = 0x1000 + code.length;
            if (size === 2) code.push(0x66);
            if (form === 'rep') code.push(0xf3);
            // bsf/bsr eax, ebx (or bx); bsf/bsr eax, [0x30000]
            code.push(0x0f, reverse ? 0xbd : 0xbc, ...(form === 'mem' ? [0x05, ...le(0x30000)] : [0xc3]));
            if (flags === 'dead') code.push(0x31, 0xc9); // xor ecx, ecx: all six flags replaced
            const v = size === 2 ? src & 0xffff : src;
            const index = v === 0 ? -1 : reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
            const eax = index < 0 ? SENTINEL : size === 2 ? (SENTINEL & 0xffff0000) | index : index;
            cases.push({
              name: `${reverse ? 'bsr' : 'bsf'}${size * 8} ${form} ${src.toString(16)} (${flags})`,
              at,
              f: flags === 'dead' ? undefined : (f0 & ~ZF) | (v === 0 ? ZF : 0),
              eax: eax | 0,
            });
            // pushfd; pop ecx; mov [edi], ecx; mov [edi + 4], eax; add edi, 8
            code.push(0x9c, 0x59, 0x89, 0x0f, 0x89, 0x47, 0x04, 0x83, 0xc7, 0x08);
          }
  return { code: [...code, 0xf4], cases };
}

describeCpu('BSF and BSR as the SDM defines them, in every engine', () => {
  const { code, cases } = scanProgram();
  for (const path of ['the decoded cache or a compiled block', 'step() alone'])
    it(`through ${path}: ZF from the source, the destination kept when it is 0, 16 and 32 bits, register and memory`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, code);
      rig.cpu.enterProtectedModeFlat(0x1000, { edi: 0x20000, esp: 0x9000 });
      const slow = runThrough(rig, path);
      for (let i = 0; i < 1000 && !rig.cpu.halted; i++) rig.cpu.run(1000);
      expect(rig.cpu.halted).toBe(true);
      const wrong = cases
        .map((c, k) => {
          const f = rig.u32(0x20000 + 8 * k) & KEPT;
          const eax = rig.u32(0x20004 + 8 * k) | 0;
          return (c.f === undefined || f === (c.f & KEPT)) && eax === c.eax
            ? ''
            : `${c.name}: EFLAGS ${f.toString(16)} EAX ${(eax >>> 0).toString(16)}, SDM ${c.f?.toString(16)} ${(c.eax >>> 0).toString(16)}`;
        })
        .filter((s) => s !== '');
      expect(wrong.length, wrong.slice(0, 8).join('\n')).toBe(0);
      if (path !== 'step() alone')
        expect(
          cases.filter((c) => slow.includes(c.at)).map((c) => c.name),
          'scans run by step()',
        ).toEqual([]);
      else expect(slow.length).toBeGreaterThan(cases.length);
    });
});
