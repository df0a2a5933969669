/**
 * The x87 oracle's operations and operand classes. The order of OPS is the enum of
 * x87-oracle.c; each names the group (file under tests/cpu/vectors/x87/) it is recorded in and
 * what its inputs are: ST0 = A, ST1 = B (B also stands for a second operand), M a memory operand.
 */
import type { Rng } from '../forms';

export type MemKind = 'none' | 'single' | 'double' | 'int16' | 'int32' | 'int64' | 'bcd';

export interface X87Op {
  name: string;
  group: string;
  mem: MemKind;
  /** Vectors drawn per op (the group's files stay a few hundred KB). */
  count: number;
}

const op = (name: string, group: string, count: number, mem: MemKind = 'none'): X87Op => ({
  name,
  group,
  mem,
  count,
});

export const OPS: X87Op[] = [
  op('fadd', 'arith', 1500),
  op('fsub', 'arith', 1000),
  op('fsubr', 'arith', 300),
  op('fmul', 'arith', 1500),
  op('fdiv', 'arith', 1500),
  op('fdivr', 'arith', 300),
  op('fsqrt', 'arith', 1200),
  op('fprem', 'misc', 800),
  op('fprem1', 'misc', 800),
  op('fscale', 'misc', 600),
  op('fxtract', 'misc', 400),
  op('frndint', 'misc', 800),
  op('fcom', 'compare', 500),
  op('fucom', 'compare', 500),
  op('fcomi', 'compare', 400),
  op('fucomi', 'compare', 400),
  op('ftst', 'compare', 200),
  op('fxam', 'compare', 300),
  op('fld32', 'convert', 500, 'single'),
  op('fld64', 'convert', 500, 'double'),
  op('fst32', 'convert', 1000),
  op('fst64', 'convert', 1000),
  op('fild16', 'convert', 100, 'int16'),
  op('fild32', 'convert', 100, 'int32'),
  op('fild64', 'convert', 200, 'int64'),
  op('fist16', 'convert', 500),
  op('fist32', 'convert', 500),
  op('fist64', 'convert', 600),
  op('fbld', 'convert', 200, 'bcd'),
  op('fbstp', 'convert', 600),
  op('fld1', 'const', 8),
  op('fldl2t', 'const', 8),
  op('fldl2e', 'const', 8),
  op('fldpi', 'const', 8),
  op('fldlg2', 'const', 8),
  op('fldln2', 'const', 8),
  op('fldz', 'const', 8),
  op('fsin', 'trans', 500),
  op('fcos', 'trans', 500),
  op('fsincos', 'trans', 300),
  op('fptan', 'trans', 500),
  op('fpatan', 'trans', 500),
  op('f2xm1', 'trans', 500),
  op('fyl2x', 'trans', 500),
  op('fyl2xp1', 'trans', 500),
  op('fadd32', 'arith', 400, 'single'),
  op('fadd64', 'arith', 400, 'double'),
  op('fchs', 'misc', 50),
  op('fabs', 'misc', 50),
  op('fst80', 'convert', 50),
  // Memory and integer operand forms, appended so the vectors above keep their random draws.
  op('fiadd32', 'arith', 300, 'int32'),
  op('fimul16', 'arith', 200, 'int16'),
  op('fdiv32', 'arith', 300, 'single'),
  op('fsubr64', 'arith', 300, 'double'),
  op('fcom32', 'compare', 300, 'single'),
  op('fcomp64', 'compare', 300, 'double'),
  op('ficom32', 'compare', 200, 'int32'),
  op('fucompp', 'compare', 200),
  // Stack faults (ST2/ST3 empty; "full" ones first fill the stack with six FLD1).
  op('fadd_st2', 'stack', 150),
  op('faddp_st2', 'stack', 150),
  op('fld_full', 'stack', 150),
  op('fptan_full', 'stack', 150),
  op('fsincos_full', 'stack', 150),
  op('fxtract_full', 'stack', 150),
  op('fst32_empty', 'stack', 150),
  op('fxch_st3', 'stack', 150),
  op('fcom_st3', 'stack', 150),
  op('fcomi_st3', 'stack', 150),
  op('fist32_empty', 'stack', 150),
];

export interface Raw80 {
  se: number;
  sig: bigint;
}

const big = (rng: Rng): bigint => (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());

/** A random 64-bit significand, biased to patterns that exercise rounding. */
function significand(rng: Rng): bigint {
  switch (rng.below(8)) {
    case 0:
      return 1n << 63n;
    case 1:
      return (1n << 64n) - 1n;
    case 2: // few bits: exact results
      return (1n << 63n) | (BigInt(rng.u32() & 0xffff) << 40n);
    case 3: // near a rounding boundary at 24, 53 or 64 bits
      return ((1n << 63n) | big(rng)) ^ (BigInt(rng.below(4)) << BigInt(rng.pick([0, 9, 38, 39, 40, 10, 11])));
    case 4:
      return (1n << 63n) | (big(rng) & ~0xfffn) | BigInt(rng.pick([0x400, 0x7ff, 0x800, 0x801, 0]));
    default:
      return (1n << 63n) | big(rng);
  }
}

/** An 80-bit operand across the classes of SDM vol. 1, table 8-3. */
export function operand(rng: Rng): Raw80 {
  const sign = rng.below(2) << 15;
  const sig = significand(rng);
  const c = rng.below(40);
  if (c < 14) return { se: sign | (0x3fff + rng.below(80) - 40), sig }; // around 1
  if (c < 18) return { se: sign | (1 + rng.below(0x7ffe)), sig }; // any normal
  if (c < 20) return { se: sign | (1 + rng.below(70)), sig }; // near the bottom
  if (c < 22) return { se: sign | (0x7ffe - rng.below(70)), sig }; // near the top
  if (c < 24) return { se: sign, sig: sig >> BigInt(1 + rng.below(63)) }; // denormal
  if (c < 25) return { se: sign, sig }; // pseudo-denormal
  if (c < 27) return { se: sign, sig: 0n };
  if (c < 28) return { se: sign | 0x7fff, sig: 1n << 63n };
  if (c < 29) return { se: sign | 0x7fff, sig: (3n << 62n) | (big(rng) >> BigInt(2 + rng.below(60))) }; // QNaN
  if (c < 30) return { se: sign | 0x7fff, sig: (1n << 63n) | (big(rng) >> BigInt(2 + rng.below(62))) | 1n }; // SNaN
  if (c < 31) return { se: 0xffff, sig: 3n << 62n }; // the indefinite
  if (c < 32) return { se: sign | (1 + rng.below(0x7ffe)), sig: sig >> 1n }; // unnormal
  if (c < 33) return { se: sign | 0x7fff, sig: rng.below(2) ? 0n : big(rng) >> 1n }; // pseudo-inf/NaN
  if (c < 36) return { se: sign | (0x3fff + rng.below(66)), sig }; // integers and halves
  if (c < 38) return { se: sign | (0x3fff - 64 + rng.below(130)), sig: sig & ~((1n << 40n) - 1n) }; // single/double-ish
  return { se: sign | (0x3fff + rng.below(20)), sig: (1n << 63n) | (BigInt(rng.below(4)) << 61n) }; // halves
}

/** A second operand, sometimes tied to the first (cancellation, equal values, far apart). */
export function second(rng: Rng, a: Raw80): Raw80 {
  switch (rng.below(12)) {
    case 10: {
      // A product (or quotient) right at the smallest normal: tininess before or after rounding.
      const e = 0x3fff - (a.se & 0x7fff) + rng.below(3) - 1;
      const sig = rng.below(2) ? 1n << 63n : (1n << 64n) - 1n - BigInt(rng.below(4));
      return { se: (rng.below(2) << 15) | Math.max(1, Math.min(0x7ffe, e)), sig };
    }
    case 11: {
      const e = (a.se & 0x7fff) + 0x3fff - 1 + rng.below(3); // a / b lands near 2^-16382
      return { se: (rng.below(2) << 15) | Math.max(1, Math.min(0x7ffe, e)), sig: 1n << 63n };
    }
    case 0:
      return { se: a.se ^ 0x8000, sig: a.sig ^ BigInt(rng.below(4)) };
    case 1:
      return { ...a };
    case 2: {
      const e = (a.se & 0x7fff) + rng.below(140) - 70;
      return { se: (rng.below(2) << 15) | Math.max(1, Math.min(0x7ffe, e)), sig: significand(rng) };
    }
    default:
      return operand(rng);
  }
}

/** Bytes of a memory operand of the given kind. */
export function memOperand(rng: Rng, kind: MemKind): Uint8Array {
  const m = new Uint8Array(10);
  const put = (v: bigint, n: number): void => {
    for (let i = 0; i < n; i++) m[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  };
  switch (kind) {
    case 'single': {
      const cls = rng.below(8);
      const sign = BigInt(rng.below(2)) << 31n;
      const frac = BigInt(rng.u32() & 0x7fffff);
      const exp = cls === 0 ? 0n : cls === 1 ? 255n : BigInt(rng.below(256));
      put(sign | (exp << 23n) | (cls === 2 ? 0n : frac), 4);
      break;
    }
    case 'double': {
      const cls = rng.below(8);
      const sign = BigInt(rng.below(2)) << 63n;
      const frac = big(rng) & ((1n << 52n) - 1n);
      const exp = cls === 0 ? 0n : cls === 1 ? 2047n : BigInt(rng.below(2048));
      put(sign | (exp << 52n) | (cls === 2 ? 0n : frac), 8);
      break;
    }
    case 'int16':
      put(BigInt(rng.pick([0, 1, 0xffff, 0x8000, 0x7fff, rng.u32()])), 2);
      break;
    case 'int32':
      put(BigInt(rng.pick([0, 1, 0xffffffff, 0x80000000, 0x7fffffff, rng.u32()])), 4);
      break;
    case 'int64':
      put(rng.below(3) === 0 ? BigInt(rng.pick([0, 1, -1, -(2 ** 53)])) & ((1n << 64n) - 1n) : big(rng), 8);
      if (rng.below(4) === 0) m[7] = rng.pick([0x80, 0x7f, 0xff, 0]);
      break;
    case 'bcd':
      for (let i = 0; i < 9; i++) m[i] = rng.below(10) * 16 + rng.below(10);
      m[9] = rng.below(2) ? 0x80 : 0;
      if (rng.below(4) === 0) m.fill(0, rng.below(9), 9);
      break;
    default:
      break;
  }
  return m;
}

/** Control words: every RC and PC (PC = 1 is reserved and not drawn), masks mostly all set. */
export function controlWord(rng: Rng): number {
  const pc = rng.pick([0, 2, 3, 3]);
  const rc = rng.below(4);
  const masks = rng.below(5) === 0 ? rng.u32() & 0x3f : 0x3f;
  return 0x40 | masks | (pc << 8) | (rc << 10);
}
