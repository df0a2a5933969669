/**
 * The x87 operations beyond the four rules: compares (FCOM/FUCOM/FTST), FRNDINT, FSCALE, FXTRACT
 * and the partial remainders FPREM/FPREM1 (SDM vol. 2, each instruction's page).
 */
import {
  INDEFINITE,
  DE,
  IE,
  ZE,
  BIAS,
  Kind,
  f80,
  infinity,
  isDenormal,
  isNaN80,
  kind,
  lsbExponent,
  zero,
  bitLength,
  type F80,
} from './f80';
import { propagateNaN } from './arith';
import { RC, roundPack, type FpContext } from './round';

export const enum Relation {
  Greater,
  Less,
  Equal,
  Unordered,
}

/**
 * Compare a with b. An unsupported operand, and for an ordered compare (FCOM) any NaN, raise IE;
 * an unordered compare (FUCOM) raises it for SNaNs only. Denormals raise DE.
 */
export function compare(a: F80, b: F80, ctx: FpContext, unordered: boolean): Relation {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === Kind.Unsupported || kb === Kind.Unsupported) {
    ctx.flags |= IE;
    return Relation.Unordered;
  }
  if (isNaN80(ka) || isNaN80(kb)) {
    if (!unordered || ka === Kind.SNaN || kb === Kind.SNaN) ctx.flags |= IE;
    return Relation.Unordered;
  }
  if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
  const c = compareMagnitudeSigned(a, ka, b, kb);
  return c > 0 ? Relation.Greater : c < 0 ? Relation.Less : Relation.Equal;
}

/** Ordered comparison of two non-NaN values: −1, 0 or 1. */
function compareMagnitudeSigned(a: F80, ka: Kind, b: F80, kb: Kind): number {
  const za = ka === Kind.Zero;
  const zb = kb === Kind.Zero;
  if (za && zb) return 0;
  if (a.sign !== b.sign) return a.sign ? -1 : 1;
  const mag = compareMagnitude(a, ka, b, kb);
  return a.sign ? -mag : mag;
}

function compareMagnitude(a: F80, ka: Kind, b: F80, kb: Kind): number {
  if (ka === Kind.Infinity || kb === Kind.Infinity) {
    return ka === kb ? 0 : ka === Kind.Infinity ? 1 : -1;
  }
  if (ka === Kind.Zero || kb === Kind.Zero) return ka === kb ? 0 : ka === Kind.Zero ? -1 : 1;
  const ea = lsbExponent(a);
  const eb = lsbExponent(b);
  const lo = Math.min(ea, eb);
  const va = a.sig << BigInt(ea - lo);
  const vb = b.sig << BigInt(eb - lo);
  return va > vb ? 1 : va < vb ? -1 : 0;
}

/**
 * x rounded to an integer in the context's rounding mode (not subject to precision control):
 * returns the integer magnitude and whether it was inexact/rounded up, for FRNDINT and FIST.
 */
export function roundToInteger(x: F80, rc: RC): { mag: bigint; inexact: boolean; up: boolean } {
  const lsb = lsbExponent(x);
  if (lsb >= 0) return { mag: x.sig << BigInt(lsb), inexact: false, up: false };
  const shift = BigInt(Math.min(-lsb, 66));
  // Beyond 66 bits down every bit is below a quarter: the value is non-zero and below one half.
  const s = -lsb > 66 ? (x.sig === 0n ? 0n : 1n) : x.sig;
  const mag = -lsb > 66 ? 0n : s >> shift;
  const rest = -lsb > 66 ? s : s & ((1n << shift) - 1n);
  const half = -lsb > 66 ? 1n << 65n : 1n << (shift - 1n);
  if (rest === 0n) return { mag, inexact: false, up: false };
  let up: boolean;
  switch (rc) {
    case RC.Nearest:
      up = rest > half || (rest === half && (mag & 1n) === 1n);
      break;
    case RC.Down:
      up = x.sign === 1;
      break;
    case RC.Up:
      up = x.sign === 0;
      break;
    default:
      up = false;
  }
  return { mag: up ? mag + 1n : mag, inexact: true, up };
}

export function frndint(x: F80, ctx: FpContext): F80 {
  const k = kind(x);
  if (k === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(k)) return propagateNaN(x, k, x, k, ctx);
  if (k === Kind.Zero || k === Kind.Infinity) return x;
  if (isDenormal(k)) ctx.flags |= DE;
  const r = roundToInteger(x, ctx.rc);
  if (r.inexact) ctx.flags |= 0x20;
  const result = r.mag === 0n ? zero(x.sign) : roundPack(x.sign, r.mag, 0, false, ctx, 64);
  ctx.roundedUp = r.up;
  return result;
}

/** FSCALE: ST0 × 2^trunc(ST1). */
export function fscale(a: F80, b: F80, ctx: FpContext): F80 {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === Kind.Unsupported || kb === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(ka) || isNaN80(kb)) return propagateNaN(a, ka, b, kb, ctx);
  if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
  if (kb === Kind.Infinity) {
    if (b.sign === 0) {
      if (ka === Kind.Zero) {
        ctx.flags |= IE;
        return INDEFINITE;
      }
      return infinity(a.sign);
    }
    if (ka === Kind.Infinity) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    return zero(a.sign);
  }
  if (ka === Kind.Zero || ka === Kind.Infinity) return a;
  // trunc(ST1), clamped: past ±2^20 the result over- or underflows whatever ST0 is.
  let n = 0;
  if (kb !== Kind.Zero) {
    const lsb = lsbExponent(b);
    const top = lsb + bitLength(b.sig) - 1;
    if (top >= 20) n = 1 << 20;
    else n = lsb >= 0 ? Number(b.sig) * 2 ** lsb : Number(b.sig >> BigInt(-lsb));
    if (b.sign) n = -n;
  }
  return roundPack(a.sign, a.sig, lsbExponent(a) + n, false, ctx, 64);
}

/**
 * FXTRACT: the exponent of ST0 (as a value) and its significand with exponent 0. A zero yields
 * −∞ as exponent and raises ZE (SDM vol. 2, FXTRACT).
 */
export function fxtract(a: F80, ctx: FpContext): { exponent: F80; significand: F80 } {
  const k = kind(a);
  if (k === Kind.Unsupported) {
    ctx.flags |= IE;
    return { exponent: INDEFINITE, significand: INDEFINITE };
  }
  if (isNaN80(k)) {
    const n = propagateNaN(a, k, a, k, ctx);
    return { exponent: n, significand: n };
  }
  if (k === Kind.Zero) {
    ctx.flags |= ZE;
    return { exponent: infinity(1), significand: a };
  }
  if (k === Kind.Infinity) return { exponent: infinity(0), significand: a };
  if (isDenormal(k)) ctx.flags |= DE;
  const lsb = lsbExponent(a);
  const len = bitLength(a.sig);
  const e = lsb + len - 1;
  const significand = f80(a.sign, BIAS, a.sig << BigInt(64 - len));
  const exponent = e === 0 ? zero(0) : roundPack(e < 0 ? 1 : 0, BigInt(Math.abs(e)), 0, false, ctx, 64);
  return { exponent, significand };
}

export interface Remainder {
  result: F80;
  /** The low three bits of the quotient (Q2 Q1 Q0), for C0 C3 C1. */
  quotient: number;
  /** C2: the reduction is incomplete, run FPREM again. */
  incomplete: boolean;
}

/**
 * FPREM (truncating quotient, the 8087's) and FPREM1 (round-to-nearest quotient, IEEE 754's
 * remainder). When the exponents differ by 64 or more the reduction is partial: ST0 is reduced by
 * a multiple of ST1 × 2^(d − n) with n between 32 and 63 and C2 is set (SDM vol. 2, FPREM).
 */
export function fprem(a: F80, b: F80, ctx: FpContext, ieee: boolean): Remainder {
  const ka = kind(a);
  const kb = kind(b);
  const none = (result: F80): Remainder => ({ result, quotient: 0, incomplete: false });
  if (ka === Kind.Unsupported || kb === Kind.Unsupported) {
    ctx.flags |= IE;
    return none(INDEFINITE);
  }
  if (isNaN80(ka) || isNaN80(kb)) return none(propagateNaN(a, ka, b, kb, ctx));
  if (ka === Kind.Infinity || kb === Kind.Zero) {
    ctx.flags |= IE;
    return none(INDEFINITE);
  }
  if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
  if (ka === Kind.Zero) return none(a);
  const normalized = (): F80 => roundPack(a.sign, a.sig, lsbExponent(a), false, ctx, 64);
  // ST1 infinite, or |ST0| < |ST1| by exponent: ST0 is the remainder, normalized like any result.
  if (kb === Kind.Infinity) return none(normalized());
  const ea = lsbExponent(a) + bitLength(a.sig) - 1;
  const eb = lsbExponent(b) + bitLength(b.sig) - 1;
  const d = ea - eb;
  if (d < 0 && !(ieee && d === -1)) return none(normalized());
  const la = lsbExponent(a);
  const lb = lsbExponent(b);
  const lo = Math.min(la, lb);
  const va = a.sig << BigInt(la - lo);
  let vb = b.sig << BigInt(lb - lo);
  if (d >= 64) {
    // Partial reduction by ST1 × 2^(d − n), the quotient truncated (for both instructions).
    const n = 32 + (d % 32);
    vb <<= BigInt(d - n);
    const q = va / vb;
    const r = va - q * vb;
    return { result: remainderValue(a.sign, r, lo, ctx), quotient: 0, incomplete: true };
  }
  let q = va / vb;
  let r = va - q * vb;
  let sign = a.sign;
  if (ieee) {
    const twice = r << 1n;
    if (twice > vb || (twice === vb && (q & 1n) === 1n)) {
      q += 1n;
      r = vb - r;
      sign ^= 1;
    }
  }
  return { result: remainderValue(sign, r, lo, ctx), quotient: Number(q & 7n), incomplete: false };
}

function remainderValue(sign: number, r: bigint, lsb: number, ctx: FpContext): F80 {
  if (r === 0n) return zero(sign);
  return roundPack(sign, r, lsb, false, ctx, 64);
}
