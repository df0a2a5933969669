/**
 * The x87's 80-bit double extended-precision format (Intel SDM vol. 1, 4.2.2 and 8.2.2): a sign,
 * a 15-bit biased exponent and a 64-bit significand whose integer bit (J, bit 63) is explicit.
 * Values are plain objects over a BigInt significand (see README.md for the measurement behind
 * that choice); every operation returns a fresh F80 and never mutates its operands.
 */

export interface F80 {
  /** 0 positive, 1 negative. */
  readonly sign: number;
  /** Biased exponent field, 0..0x7FFF. */
  readonly exp: number;
  /** The 64-bit significand, integer bit included (bit 63). */
  readonly sig: bigint;
}

export const BIAS = 16383;
export const EXP_MAX = 0x7fff;
/** Unbiased exponent of the smallest normal (exponent field 1). */
export const EMIN = 1 - BIAS;
/** Unbiased exponent of the largest finite value. */
export const EMAX = 0x7ffe - BIAS;
export const J_BIT = 1n << 63n;
export const QUIET_BIT = 1n << 62n;
export const SIG_MASK = (1n << 64n) - 1n;

// Exception flags, as in the status and control words (SDM vol. 1, 8.1.3 and 8.1.5).
export const IE = 0x01;
export const DE = 0x02;
export const ZE = 0x04;
export const OE = 0x08;
export const UE = 0x10;
export const PE = 0x20;
export const EXCEPTIONS = 0x3f;

export const f80 = (sign: number, exp: number, sig: bigint): F80 => ({ sign, exp, sig });
export const ZERO = f80(0, 0, 0n);
export const zero = (sign: number): F80 => f80(sign, 0, 0n);
export const infinity = (sign: number): F80 => f80(sign, EXP_MAX, J_BIT);
/** The real indefinite: the QNaN every masked invalid operation without a NaN operand returns. */
export const INDEFINITE = f80(1, EXP_MAX, 0xc000_0000_0000_0000n);

/**
 * The classes the 387 and later distinguish. Pseudo-NaN, pseudo-infinity and unnormal (J = 0 with
 * a non-zero, non-maximal exponent) are unsupported: arithmetic on them is an invalid operation
 * (SDM vol. 1, 8.2.2, table 8-3). A pseudo-denormal (exponent 0, J = 1) is still accepted and
 * read as if its exponent were 1.
 */
export const enum Kind {
  Zero,
  Denormal,
  PseudoDenormal,
  Normal,
  Infinity,
  QNaN,
  SNaN,
  Unsupported,
}

export function kind(x: F80): Kind {
  const j = (x.sig & J_BIT) !== 0n;
  if (x.exp === 0) {
    if (x.sig === 0n) return Kind.Zero;
    return j ? Kind.PseudoDenormal : Kind.Denormal;
  }
  if (!j) return Kind.Unsupported;
  if (x.exp === EXP_MAX) {
    const fraction = x.sig & ~J_BIT;
    if (fraction === 0n) return Kind.Infinity;
    return (x.sig & QUIET_BIT) !== 0n ? Kind.QNaN : Kind.SNaN;
  }
  return Kind.Normal;
}

export const isNaN80 = (k: Kind): boolean => k === Kind.QNaN || k === Kind.SNaN;
export const isDenormal = (k: Kind): boolean => k === Kind.Denormal || k === Kind.PseudoDenormal;
export const isZero = (x: F80): boolean => x.exp === 0 && x.sig === 0n;

/** Number of significant bits of a non-negative BigInt. */
export function bitLength(x: bigint): number {
  let n = 0;
  while (x > 0xffff_ffffn) {
    x >>= 32n;
    n += 32;
  }
  return n + 32 - Math.clz32(Number(x));
}

/**
 * A finite non-zero value as an integer significand and the power of two of its lowest bit:
 * value = sig × 2^lsb. Denormals and pseudo-denormals read their exponent as 1.
 */
export function lsbExponent(x: F80): number {
  return (x.exp === 0 ? 1 : x.exp) - BIAS - 63;
}

// 80-bit values in memory: eight bytes of significand, little-endian, then sign and exponent.
export function readF80(b: Uint8Array, at = 0): F80 {
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(b[at + i]);
  const se = b[at + 8] | (b[at + 9] << 8);
  return f80(se >> 15, se & 0x7fff, sig);
}

export function writeF80(x: F80, b: Uint8Array, at = 0): void {
  let s = x.sig;
  for (let i = 0; i < 8; i++) {
    b[at + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  const se = (x.sign << 15) | x.exp;
  b[at + 8] = se & 0xff;
  b[at + 9] = se >> 8;
}

export function f80ToHex(x: F80): string {
  return ((x.sign << 15) | x.exp).toString(16).padStart(4, '0') + x.sig.toString(16).padStart(16, '0');
}

export function f80FromHex(h: string): F80 {
  const se = parseInt(h.slice(0, 4), 16);
  return f80(se >> 15, se & 0x7fff, BigInt('0x' + h.slice(4)));
}

export const sameF80 = (a: F80, b: F80): boolean => a.sign === b.sign && a.exp === b.exp && a.sig === b.sig;
