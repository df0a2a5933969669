/**
 * Conversions between the 80-bit register format and the memory formats: single and double
 * (FLD/FST m32/m64), 16/32/64-bit integers (FILD/FIST), and the constants of FLD1..FLDZ. Packed BCD
 * is in bcd.ts. SDM vol. 1, 4.2 (formats), 8.2 (x87 data types) and each instruction's page.
 */
import {
  BIAS,
  DE,
  EXP_MAX,
  IE,
  J_BIT,
  Kind,
  QUIET_BIT,
  f80,
  infinity,
  isNaN80,
  kind,
  lsbExponent,
  zero,
  type F80,
} from './f80';
import { roundToInteger } from './ops';
import { RC, roundPack, type FpContext } from './round';

interface Format {
  /** Significand bits including the hidden bit. */
  p: number;
  expBits: number;
}
export const SINGLE: Format = { p: 24, expBits: 8 };
export const DOUBLE: Format = { p: 53, expBits: 11 };

/**
 * Widen a single or double to 80 bits, exactly. A denormal raises DE (and comes out normalized);
 * an SNaN stays signalling — FLD quiets it with IE, arithmetic propagates it (raising IE).
 */
export function widen(bits: bigint, fmt: Format, ctx: FpContext, raiseDenormal = true): F80 {
  const fracBits = BigInt(fmt.p - 1);
  const expMax = (1 << fmt.expBits) - 1;
  const bias = expMax >> 1;
  const sign = Number(bits >> (fracBits + BigInt(fmt.expBits)));
  const exp = Number((bits >> fracBits) & BigInt(expMax));
  const frac = bits & ((1n << fracBits) - 1n);
  const up = BigInt(64 - fmt.p);
  if (exp === expMax) return frac === 0n ? infinity(sign) : f80(sign, EXP_MAX, J_BIT | (frac << up));
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    if (raiseDenormal) ctx.flags |= DE;
    return roundPack(sign, frac, 1 - bias - (fmt.p - 1), false, ctx, 64);
  }
  return f80(sign, exp - bias + BIAS, J_BIT | (frac << up));
}

/** FLD m32/m64: widening, with an SNaN quieted under IE. */
export function loadReal(bits: bigint, fmt: Format, ctx: FpContext): F80 {
  const x = widen(bits, fmt, ctx);
  if (kind(x) === Kind.SNaN) {
    ctx.flags |= IE;
    return f80(x.sign, x.exp, x.sig | QUIET_BIT);
  }
  return x;
}

/**
 * FST m32/m64: round to the format's precision and exponent range in the context's rounding
 * mode (precision control does not apply). NaNs keep their top fraction bits, quieted; unsupported
 * operands store the format's indefinite. Returns the bits to store (the caller suppresses the
 * store on an unmasked IE, OE or UE).
 */
export function narrow(x: F80, fmt: Format, ctx: FpContext): bigint {
  const fracBits = BigInt(fmt.p - 1);
  const expMax = (1 << fmt.expBits) - 1;
  const bias = expMax >> 1;
  const signShift = fracBits + BigInt(fmt.expBits);
  const k = kind(x);
  const pack = (sign: number, exp: number, frac: bigint): bigint =>
    (BigInt(sign) << signShift) | (BigInt(exp) << fracBits) | frac;
  if (k === Kind.Unsupported) {
    ctx.flags |= IE;
    return pack(1, expMax, 1n << (fracBits - 1n));
  }
  if (isNaN80(k)) {
    if (k === Kind.SNaN) ctx.flags |= IE;
    const frac = ((x.sig | QUIET_BIT) & ~J_BIT) >> BigInt(64 - fmt.p);
    return pack(x.sign, expMax, frac);
  }
  if (k === Kind.Infinity) return pack(x.sign, expMax, 0n);
  if (k === Kind.Zero) return pack(x.sign, 0, 0n);
  // No DE for a denormal source: FST only rounds it (and usually underflows).
  const emin = 1 - bias;
  const r = roundPack(x.sign, x.sig, lsbExponent(x), false, ctx, fmt.p, emin, bias);
  const rk = kind(r);
  if (rk === Kind.Infinity) return pack(r.sign, expMax, 0n);
  if (rk === Kind.Zero) return pack(r.sign, 0, 0n);
  const e = r.exp - BIAS;
  if (e < emin) {
    // A denormal of the narrow format: its significand has its lowest bit at 2^(emin − p + 1).
    const frac = r.sig >> BigInt(64 - fmt.p + (emin - e));
    return pack(r.sign, 0, frac);
  }
  return pack(r.sign, e + bias, (r.sig & ~J_BIT) >> BigInt(64 - fmt.p));
}

/** FILD: integers up to 64 bits convert exactly. */
export function intToF80(v: bigint): F80 {
  if (v === 0n) return zero(0);
  const sign = v < 0n ? 1 : 0;
  const mag = sign ? -v : v;
  return roundPack(sign, mag, 0, false, { precision: 64, rc: RC.Nearest, masks: 0x3f, flags: 0, roundedUp: false });
}

/**
 * FIST/FISTP: round to an integer of `bits` bits in the context's rounding mode. NaNs,
 * infinities, unsupported operands and values out of range raise IE and give the integer
 * indefinite (the most negative value), which is stored when IE is masked.
 */
export function toInt(x: F80, bits: number, ctx: FpContext): bigint {
  const indefinite = -(1n << BigInt(bits - 1));
  const k = kind(x);
  if (k === Kind.Unsupported || isNaN80(k) || k === Kind.Infinity) {
    ctx.flags |= IE;
    return indefinite;
  }
  if (k === Kind.Zero) return 0n;
  // A denormal rounds to 0 or ±1 without DE (integer stores do not raise it).
  const r = roundToInteger(x, ctx.rc);
  const value = x.sign ? -r.mag : r.mag;
  if (value < indefinite || value > -indefinite - 1n) {
    ctx.flags |= IE;
    return indefinite;
  }
  if (r.inexact) ctx.flags |= 0x20;
  ctx.roundedUp = r.up;
  return value;
}

/**
 * The constants of FLDL2T, FLDL2E, FLDPI, FLDLG2 and FLDLN2 to 128 bits (value = sig × 2^(exp−127)),
 * checked in the tests against BigInt series. They are rounded to 64 bits per RC without raising
 * PE (SDM vol. 1, 8.3.8 speaks of a 66-bit internal constant; the host's results are those of
 * correct rounding: FLDLG2 in round-to-nearest rounds up where a 66-bit tie would not).
 */
export const CONSTANTS = {
  l2t: { sig: 0xd49a784bcd1b8afe492bf6ff4dafdb4dn, exp: 1 },
  l2e: { sig: 0xb8aa3b295c17f0bbbe87fed0691d3e89n, exp: 0 },
  pi: { sig: 0xc90fdaa22168c234c4c6628b80dc1cd1n, exp: 1 },
  lg2: { sig: 0x9a209a84fbcff7988f8959ac0b7c9178n, exp: -2 },
  ln2: { sig: 0xb17217f7d1cf79abc9e3b39803f2f6afn, exp: -1 },
} as const;

export type ConstantName = keyof typeof CONSTANTS;

export function loadConstant(name: ConstantName, rc: RC): F80 {
  const c = CONSTANTS[name];
  const probe: FpContext = { precision: 64, rc, masks: 0x3f, flags: 0, roundedUp: false };
  // Correctly rounded from the (irrational, so sticky) 128-bit value; no flags, and C1 stays clear
  // even when the constant was rounded up (both checked on the host).
  return roundPack(0, c.sig, c.exp - 127, true, probe, 64);
}
