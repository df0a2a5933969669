/**
 * The x87's transcendental instructions — FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X,
 * FYL2XP1 — computed in BigInt floating point with WORK bits (far beyond the 64 the result keeps)
 * and rounded once in the context's rounding mode (precision control does not apply). Arguments of
 * the trigonometric instructions are reduced modulo π/2 with a π of REDUCTION_PI_BITS bits.
 * SDM vol. 2, each instruction's page, gives the special cases and the ranges (C2 = 1 and ST0
 * unchanged for |x| ≥ 2^63).
 */
import {
  DE,
  IE,
  PE,
  UE,
  ZE,
  BIAS,
  INDEFINITE,
  Kind,
  f80,
  infinity,
  isDenormal,
  isNaN80,
  kind,
  lsbExponent,
  zero,
  type F80,
  bitLength,
} from './f80';
import { propagateNaN } from './arith';
import { roundPack, type FpContext } from './round';

/** Working precision of the series, in bits. */
const WORK = 200;

/** A value (−1)^s × m × 2^e with m ≥ 0 (m = 0 is zero). */
interface BF {
  s: number;
  m: bigint;
  e: number;
}

const bf = (s: number, m: bigint, e: number): BF => ({ s, m, e });

/** Keep WORK bits (truncating; the error is far below what the 64-bit result can see). */
function norm(x: BF): BF {
  if (x.m === 0n) return bf(0, 0n, 0);
  const len = bitLength(x.m);
  if (len > WORK) return bf(x.s, x.m >> BigInt(len - WORK), x.e + len - WORK);
  return bf(x.s, x.m << BigInt(WORK - len), x.e - (WORK - len));
}

const mulB = (a: BF, b: BF): BF => norm(bf(a.s ^ b.s, a.m * b.m, a.e + b.e));

function addB(a: BF, b: BF): BF {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  // Operands far apart: the smaller is below the working precision, but its sign still says on
  // which side of the larger the sum lies. Values are truncated towards zero everywhere, so a
  // result m stands for the open interval (m, m + 1) units: subtracting a tiny value is one unit
  // less, adding one changes nothing.
  if (a.e + bitLength(a.m) - (b.e + bitLength(b.m)) > WORK + 2) return farSum(a, b);
  if (b.e + bitLength(b.m) - (a.e + bitLength(a.m)) > WORK + 2) return farSum(b, a);
  const e = Math.min(a.e, b.e);
  const va = a.m << BigInt(a.e - e);
  const vb = b.m << BigInt(b.e - e);
  const sum = (a.s ? -va : va) + (b.s ? -vb : vb);
  return norm(sum < 0n ? bf(1, -sum, e) : bf(0, sum, e));
}

function farSum(big: BF, tiny: BF): BF {
  const n = norm(big);
  return big.s === tiny.s ? n : norm(bf(n.s, (n.m << 2n) - 1n, n.e - 2));
}

const negB = (a: BF): BF => bf(a.s ^ 1, a.m, a.e);
const subB = (a: BF, b: BF): BF => addB(a, negB(b));

function divB(a: BF, b: BF): BF {
  const na = norm(a);
  const nb = norm(b);
  return norm(bf(na.s ^ nb.s, (na.m << BigInt(WORK + 2)) / nb.m, na.e - nb.e - WORK - 2));
}

const fromInt = (n: number): BF => norm(bf(n < 0 ? 1 : 0, BigInt(Math.abs(n)), 0));
const ONE = fromInt(1);
const fromF80 = (x: F80): BF => norm(bf(x.sign, x.sig, lsbExponent(x)));
const top = (x: BF): number => x.e + bitLength(x.m) - 1;

/** Round to the 80-bit format: inexact unless `exact`. */
function toF80(x: BF, ctx: FpContext, exact = false): F80 {
  if (x.m === 0n) return zero(x.s);
  return roundPack(x.s, x.m, x.e, !exact, ctx, 64);
}

// ----- constants -----

/** arctan(1/k) × 2^bits, by its Taylor series. */
function arctanInv(k: bigint, bits: number): bigint {
  const one = 1n << BigInt(bits);
  let term = one / k;
  let sum = term;
  const k2 = k * k;
  for (let n = 3n, sign = -1n; term !== 0n; n += 2n, sign = -sign) {
    term /= k2;
    sum += (sign * term) / n;
  }
  return sum;
}

/** π to `bits` fractional bits (Machin's formula), as a BF. */
function piBits(bits: number): BF {
  const g = bits + 16;
  const pi = 16n * arctanInv(5n, g) - 4n * arctanInv(239n, g);
  return norm(bf(0, pi >> 16n, -bits));
}

/**
 * Argument reduction is exact (400 bits of fixed point) but with the x87's own π: the first 68
 * bits of π (0xC90FDAA22168C234C, which Intel describes as a 66-bit π with two zero bits after
 * it). The host's FSIN results match this and no other width from 64 to 80 bits: with the true π
 * a third of the recorded sines of large arguments differ by many ulps.
 */
const REDUCTION_PI_BITS = 400;
const HOST_PI_BITS = 68;
const PI_WIDE = (() => {
  const g = REDUCTION_PI_BITS + 16;
  const v = 16n * arctanInv(5n, g) - 4n * arctanInv(239n, g);
  const full = v >> 16n; // π × 2^REDUCTION_PI_BITS
  const drop = BigInt(REDUCTION_PI_BITS + 2 - HOST_PI_BITS);
  return (full >> drop) << drop;
})();
const PI = piBits(WORK + 8);
const LN2 = (() => {
  // ln 2 = 2 atanh(1/3) = 2 Σ 1/((2n+1) 3^(2n+1))
  const g = BigInt(WORK + 16);
  const one = 1n << g;
  let term = one / 3n;
  let sum = term;
  for (let n = 3n; term !== 0n; n += 2n) {
    term /= 9n;
    sum += term / n;
  }
  return norm(bf(0, 2n * sum, -Number(g)));
})();

// ----- elementary functions on BF -----

/** sin and cos of |r| ≤ π/4 by their Taylor series. */
function sinCosSmall(r: BF): { sin: BF; cos: BF } {
  const r2 = mulB(r, r);
  let term = r;
  let sin = r;
  for (let n = 2; ; n += 2) {
    term = negB(divB(mulB(term, r2), fromInt(n * (n + 1))));
    sin = addB(sin, term);
    if (term.m === 0n || top(term) < top(sin) - WORK - 4) break;
  }
  term = ONE;
  let cos = ONE;
  for (let n = 1; ; n += 2) {
    term = negB(divB(mulB(term, r2), fromInt(n * (n + 1))));
    cos = addB(cos, term);
    if (term.m === 0n || top(term) < -WORK - 4) break;
  }
  return { sin, cos };
}

/**
 * Reduce x (finite, |x| < 2^63) modulo π/2: x = q·π/2 + r with |r| ≤ π/4. Exact to WORK bits
 * because the product q·π/2 uses REDUCTION_PI_BITS bits of π.
 */
function reduce(x: F80): { q: number; r: BF } {
  const lsb = lsbExponent(x);
  const t = lsb + bitLength(x.sig) - 1;
  if (t < -2) return { q: 0, r: fromF80(x) }; // |x| < 1/4 < π/4
  // In units of 2^−(R+1): x·2^(R+1) against π·2^R (= π/2 in those units).
  const R = REDUCTION_PI_BITS;
  const xWide = x.sig << BigInt(lsb + R + 1);
  const q = (2n * xWide + PI_WIDE) / (2n * PI_WIDE);
  const rWide = xWide - q * PI_WIDE;
  let r = norm(bf(rWide < 0n ? 1 : 0, rWide < 0n ? -rWide : rWide, -(R + 1)));
  if (x.sign) r = negB(r);
  const qn = Number(q & 3n);
  return { q: x.sign ? (4 - qn) & 3 : qn, r };
}

function sinCos(x: F80): { sin: BF; cos: BF } {
  const { q, r } = reduce(x);
  const { sin, cos } = sinCosSmall(r);
  switch (q) {
    case 0:
      return { sin, cos };
    case 1:
      return { sin: cos, cos: negB(sin) };
    case 2:
      return { sin: negB(sin), cos: negB(cos) };
    default:
      return { sin: negB(cos), cos: sin };
  }
}

/** atan of 0 ≤ z ≤ 1 (argument halving, then the Taylor series). */
function atanSmall(z: BF): BF {
  let halvings = 0;
  let t = z;
  // atan(t) = 2 atan(t / (1 + sqrt(1 + t²)))
  while (t.m !== 0n && top(t) > -8) {
    t = divB(t, addB(ONE, sqrtB(addB(ONE, mulB(t, t)))));
    halvings++;
  }
  const t2 = mulB(t, t);
  let term = t;
  let sum = t;
  for (let n = 3; ; n += 2) {
    term = negB(mulB(term, t2));
    const add = divB(term, fromInt(n));
    sum = addB(sum, add);
    if (add.m === 0n || top(add) < top(sum) - WORK - 4) break;
  }
  return bf(sum.s, sum.m, sum.e + halvings);
}

function sqrtB(a: BF): BF {
  if (a.m === 0n) return a;
  let m = a.m << BigInt(WORK + 4);
  let e = a.e - WORK - 4;
  if (e & 1) {
    m <<= 1n;
    e -= 1;
  }
  let x = 1n << BigInt((bitLength(m) >> 1) + 1);
  for (;;) {
    const y = (x + m / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  return norm(bf(0, x, e / 2));
}

/** ln(m) for m > 0: k ln 2 + 2 atanh((f − 1)/(f + 1)) with m = f × 2^k and f in [0.75, 1.5). */
function lnB(m: BF): BF {
  let k = top(m);
  let f = bf(0, m.m, m.e - k);
  if (subB(f, bf(0, 3n, -1)).s === 0) {
    f = bf(0, f.m, f.e - 1);
    k += 1;
  }
  const num = subB(f, ONE);
  const kln2 = k === 0 ? bf(0, 0n, 0) : mulB(fromInt(k), LN2);
  if (num.m === 0n) return kln2;
  return addB(kln2, atanh2(divB(num, addB(f, ONE))));
}

/** 2 atanh(s) = 2 (s + s³/3 + s⁵/5 + …), |s| small. */
function atanh2(s: BF): BF {
  const s2 = mulB(s, s);
  let term = s;
  let sum = s;
  for (let n = 3; ; n += 2) {
    term = mulB(term, s2);
    const add = divB(term, fromInt(n));
    sum = addB(sum, add);
    if (add.m === 0n || top(add) < top(sum) - WORK - 4) break;
  }
  return bf(sum.s, sum.m, sum.e + 1);
}

/** e^t − 1 for |t| < 1 by its Taylor series (relative precision kept near 0). */
function expm1B(t: BF): BF {
  let term = t;
  let sum = t;
  for (let n = 2; ; n++) {
    term = divB(mulB(term, t), fromInt(n));
    sum = addB(sum, term);
    if (term.m === 0n || top(term) < top(sum) - WORK - 4) break;
  }
  return sum;
}

// ----- the instructions -----

const TWO_63 = 63;

/** Is |x| ≥ 2^63 (the trigonometric instructions then set C2 and leave ST0 alone)? */
export function outOfRange(x: F80): boolean {
  const k = kind(x);
  return (k === Kind.Normal || k === Kind.Denormal || k === Kind.PseudoDenormal) && x.exp - BIAS >= TWO_63;
}

/** The checks of the one-operand trigonometric functions; null means compute. */
function trigSpecial(x: F80, ctx: FpContext): F80 | null {
  const k = kind(x);
  if (k === Kind.Unsupported || k === Kind.Infinity) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(k)) return propagateNaN(x, k, x, k, ctx);
  if (isDenormal(k)) ctx.flags |= DE;
  return null;
}

export function fsin(x: F80, ctx: FpContext): F80 {
  const s = trigSpecial(x, ctx);
  if (s) return s;
  if (kind(x) === Kind.Zero) return x;
  return toF80(sinCos(x).sin, ctx);
}

export function fcos(x: F80, ctx: FpContext): F80 {
  const s = trigSpecial(x, ctx);
  if (s) return s;
  if (kind(x) === Kind.Zero) return f80(0, BIAS, 1n << 63n);
  return toF80(sinCos(x).cos, ctx);
}

/** FSINCOS: both results rounded with the same context. */
export function fsincos(x: F80, ctx: FpContext): { sin: F80; cos: F80 } {
  const s = trigSpecial(x, ctx);
  if (s) return { sin: s, cos: s };
  if (kind(x) === Kind.Zero) return { sin: x, cos: f80(0, BIAS, 1n << 63n) };
  const r = sinCos(x);
  // C1 reports the rounding of the sine (checked on the host), so it is rounded last.
  const cos = toF80(r.cos, ctx);
  const sin = toF80(r.sin, ctx);
  return { sin, cos };
}

export function fptan(x: F80, ctx: FpContext): F80 {
  const s = trigSpecial(x, ctx);
  if (s) return s;
  if (kind(x) === Kind.Zero) return x;
  // sin/cos: the host's FPTAN is itself within an ulp (a tan series near 0 agrees no better).
  const r = sinCos(x);
  return toF80(divB(r.sin, r.cos), ctx);
}

/** FPATAN: atan(y / x) in the quadrant of (x, y), y = ST1, x = ST0. */
export function fpatan(y: F80, x: F80, ctx: FpContext): F80 {
  const ky = kind(y);
  const kx = kind(x);
  if (ky === Kind.Unsupported || kx === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(ky) || isNaN80(kx)) return propagateNaN(y, ky, x, kx, ctx);
  if (isDenormal(ky) || isDenormal(kx)) ctx.flags |= DE;
  const piMul = (num: number, den: number): F80 => {
    const v = divB(mulB(PI, fromInt(num)), fromInt(den));
    return toF80(bf(y.sign, v.m, v.e), ctx);
  };
  if (ky === Kind.Infinity) {
    if (kx === Kind.Infinity) return piMul(x.sign ? 3 : 1, 4);
    return piMul(1, 2);
  }
  if (kx === Kind.Infinity) return x.sign ? piMul(1, 1) : zero(y.sign);
  if (ky === Kind.Zero) return x.sign ? piMul(1, 1) : zero(y.sign);
  if (kx === Kind.Zero) return piMul(1, 2);
  const ay = fromF80(f80(0, y.exp, y.sig));
  const ax = fromF80(f80(0, x.exp, x.sig));
  let a: BF;
  if (top(ay) > top(ax) + 1 || (top(ay) >= top(ax) - 1 && subB(ay, ax).s === 0 && subB(ay, ax).m !== 0n)) {
    a = subB(divB(PI, fromInt(2)), atanSmall(divB(ax, ay)));
  } else a = atanSmall(divB(ay, ax));
  if (x.sign) a = subB(PI, a);
  return toF80(bf(y.sign, a.m, a.e), ctx);
}

/** F2XM1: 2^x − 1 for −1 ≤ x ≤ 1 (outside, the SDM leaves the result undefined). */
export function f2xm1(x: F80, ctx: FpContext): F80 {
  const k = kind(x);
  if (k === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(k)) return propagateNaN(x, k, x, k, ctx);
  if (k === Kind.Zero) return x;
  if (k === Kind.Infinity) return x.sign ? f80(1, BIAS, 1n << 63n) : x;
  if (isDenormal(k)) ctx.flags |= DE;
  const exact = x.exp === BIAS && x.sig === 1n << 63n; // ±1: 1 and −0.5
  if (exact) {
    ctx.flags |= PE; // set by the host although 1 and −0.5 are exact
    return x.sign ? f80(1, BIAS - 1, 1n << 63n) : x;
  }
  if (x.exp < BIAS) return toF80(expm1B(mulB(fromF80(x), LN2)), ctx);
  // |x| > 1 is outside the SDM's domain (result undefined); the host returns x with PE.
  ctx.flags |= PE;
  return x;
}

/** FYL2X: y × log2(x), y = ST1, x = ST0. */
export function fyl2x(y: F80, x: F80, ctx: FpContext): F80 {
  const ky = kind(y);
  const kx = kind(x);
  if (ky === Kind.Unsupported || kx === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(ky) || isNaN80(kx)) return propagateNaN(y, ky, x, kx, ctx);
  if (x.sign && kx !== Kind.Zero) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (kx === Kind.Zero) {
    // Zero divide (log 0 = −∞), before any denormal y is noticed.
    if (ky === Kind.Zero) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    if (ky !== Kind.Infinity) ctx.flags |= ZE;
    return infinity(y.sign ^ 1);
  }
  if (isDenormal(ky) || isDenormal(kx)) ctx.flags |= DE;
  const isOne = x.exp === BIAS && x.sig === 1n << 63n;
  if (kx === Kind.Infinity) {
    if (ky === Kind.Zero) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    return infinity(y.sign);
  }
  if (ky === Kind.Infinity) {
    if (isOne) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    const below = x.exp < BIAS;
    return infinity(y.sign ^ (below ? 1 : 0));
  }
  if (ky === Kind.Zero || isOne) {
    const neg = isOne ? y.sign : y.sign ^ (x.exp < BIAS ? 1 : 0);
    return zero(neg);
  }
  // A power of two has an integer logarithm k: the result is y × k rounded once, yet PE is set
  // even when that product is exact (as on the host).
  const xTop = lsbExponent(x) + bitLength(x.sig) - 1;
  const pow2 = x.sig === 1n << BigInt(bitLength(x.sig) - 1);
  if (pow2) {
    const r = toF80(mulB(fromF80(y), fromInt(xTop)), ctx, exactProduct(y, xTop));
    // …and a tiny result underflows as an inexact one would.
    ctx.flags |= PE | (r.exp === 0 && r.sig !== 0n ? UE : 0);
    return r;
  }
  return toF80(mulB(fromF80(y), divB(lnB(fromF80(x)), LN2)), ctx);
}

function exactProduct(y: F80, k: number): boolean {
  let sig = y.sig;
  let bits = bitLength(sig);
  while (sig !== 0n && (sig & 1n) === 0n) {
    sig >>= 1n;
    bits--;
  }
  return bits + bitLength(BigInt(Math.abs(k))) <= 64;
}

/** FYL2XP1: y × log2(x + 1) for |x| < 1 − √2/2 (outside, undefined). */
export function fyl2xp1(y: F80, x: F80, ctx: FpContext): F80 {
  const ky = kind(y);
  const kx = kind(x);
  if (ky === Kind.Unsupported || kx === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(ky) || isNaN80(kx)) return propagateNaN(y, ky, x, kx, ctx);
  if (isDenormal(ky) || isDenormal(kx)) ctx.flags |= DE;
  if (kx === Kind.Zero) {
    if (ky === Kind.Infinity) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    return zero(y.sign ^ x.sign);
  }
  if (ky === Kind.Zero) {
    if (kx === Kind.Infinity) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    return zero(y.sign ^ x.sign);
  }
  if (kx === Kind.Infinity) {
    if (x.sign) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    return infinity(y.sign);
  }
  if (ky === Kind.Infinity) return infinity(y.sign ^ x.sign);
  const xv = fromF80(x);
  if (x.exp >= BIAS - 1) {
    // |x| ≥ 1/2 is outside the SDM's domain (|x| < 1 − √2/2, result undefined). The host
    // computes the logarithm of 1 + x where it exists and returns x (with PE) where it does not.
    const onePlus = addB(ONE, xv);
    if (onePlus.s === 1 || onePlus.m === 0n) {
      ctx.flags |= PE;
      return x;
    }
    return toF80(mulB(fromF80(y), divB(lnB(onePlus), LN2)), ctx);
  }
  // ln(1 + x) = 2 atanh(x / (2 + x)), accurate near 0.
  const ln = atanh2(divB(xv, addB(fromInt(2), xv)));
  return toF80(mulB(fromF80(y), divB(ln, LN2)), ctx);
}
