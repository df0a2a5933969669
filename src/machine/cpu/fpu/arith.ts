/**
 * The basic arithmetic of the x87 (FADD/FSUB/FMUL/FDIV/FSQRT and their reversed forms) on F80
 * values: exact results from BigInt significands, then one rounding (round.ts). Special operands
 * follow SDM vol. 1, 4.9.2 (exception priority), table 4-7 (NaN propagation) and 8.2.2 (unsupported
 * formats are invalid operands).
 */
import {
  DE,
  INDEFINITE,
  Kind,
  QUIET_BIT,
  ZE,
  IE,
  bitLength,
  f80,
  infinity,
  isDenormal,
  isNaN80,
  kind,
  lsbExponent,
  zero,
  type F80,
} from './f80';
import { RC, roundPack, type FpContext } from './round';

/** A NaN made quiet (the x87 sets the quiet bit of an SNaN it delivers). */
export const quiet = (x: F80): F80 => f80(x.sign, x.exp, x.sig | QUIET_BIT);

/**
 * The NaN result of an operation with at least one NaN operand (SDM vol. 1, table 4-7): an SNaN
 * raises IE; a QNaN wins over an SNaN; of two NaNs of the same kind the one with the larger
 * significand wins (on equal significands, the positive one).
 */
export function propagateNaN(a: F80, ka: Kind, b: F80, kb: Kind, ctx: FpContext): F80 {
  if (ka === Kind.SNaN || kb === Kind.SNaN) ctx.flags |= IE;
  if (!isNaN80(kb)) return quiet(a);
  if (!isNaN80(ka)) return quiet(b);
  if (ka !== kb) return ka === Kind.QNaN ? a : b;
  if (a.sig > b.sig) return quiet(a);
  if (b.sig > a.sig) return quiet(b);
  return quiet(a.sign <= b.sign ? a : b);
}

/**
 * The checks every two-operand arithmetic instruction makes first: an unsupported operand is
 * invalid (indefinite), a NaN operand propagates. Returns the result when one of those decides it.
 */
function specialOperands(a: F80, ka: Kind, b: F80, kb: Kind, ctx: FpContext): F80 | null {
  if (ka === Kind.Unsupported || kb === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(ka) || isNaN80(kb)) return propagateNaN(a, ka, b, kb, ctx);
  return null;
}

/** The sign of an exact zero sum: −0 only when both are −0, or in round-down mode (IEEE 754, 6.3). */
const zeroSumSign = (sa: number, sb: number, rc: RC): number => (sa === sb ? sa : rc === RC.Down ? 1 : 0);

/** a + b, or a − b when `negateB`. */
export function add(a: F80, b: F80, ctx: FpContext, negateB = false): F80 {
  const ka = kind(a);
  const kb = kind(b);
  const special = specialOperands(a, ka, b, kb, ctx);
  if (special) return special;
  const sb = negateB ? b.sign ^ 1 : b.sign;
  if (ka === Kind.Infinity || kb === Kind.Infinity) {
    if (ka === Kind.Infinity && kb === Kind.Infinity && a.sign !== sb) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
    return ka === Kind.Infinity ? a : infinity(sb);
  }
  if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
  if (ka === Kind.Zero && kb === Kind.Zero) return zero(zeroSumSign(a.sign, sb, ctx.rc));
  if (kb === Kind.Zero) return roundPack(a.sign, a.sig, lsbExponent(a), false, ctx);
  if (ka === Kind.Zero) return roundPack(sb, b.sig, lsbExponent(b), false, ctx);
  let ea = lsbExponent(a);
  let eb = lsbExponent(b);
  let siga = a.sig;
  let sigb = b.sig;
  // Align to the lower exponent; an operand more than 200 bits below the other only matters as
  // a sticky bit, which a 1 at the bottom stands for exactly as well.
  if (ea - eb > 200) {
    siga <<= 200n;
    ea -= 200;
    sigb = 1n;
    eb = ea;
  } else if (eb - ea > 200) {
    sigb <<= 200n;
    eb -= 200;
    siga = 1n;
    ea = eb;
  }
  const lsb = Math.min(ea, eb);
  const va = siga << BigInt(ea - lsb);
  const vb = sigb << BigInt(eb - lsb);
  let sum = a.sign === sb ? va + vb : va - vb;
  let sign = a.sign;
  if (sum < 0n) {
    sum = -sum;
    sign ^= 1;
  }
  if (sum === 0n) return zero(ctx.rc === RC.Down ? 1 : 0);
  return roundPack(sign, sum, lsb, false, ctx);
}

export const sub = (a: F80, b: F80, ctx: FpContext): F80 => add(a, b, ctx, true);

export function mul(a: F80, b: F80, ctx: FpContext): F80 {
  const ka = kind(a);
  const kb = kind(b);
  const special = specialOperands(a, ka, b, kb, ctx);
  if (special) return special;
  const sign = a.sign ^ b.sign;
  if (ka === Kind.Infinity || kb === Kind.Infinity) {
    if (ka === Kind.Zero || kb === Kind.Zero) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
    return infinity(sign);
  }
  if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
  if (ka === Kind.Zero || kb === Kind.Zero) return zero(sign);
  return roundPack(sign, a.sig * b.sig, lsbExponent(a) + lsbExponent(b), false, ctx);
}

/** Extra quotient bits beyond the 64 needed, so the remainder only decides the sticky bit. */
const DIV_EXTRA = 130;

export function div(a: F80, b: F80, ctx: FpContext): F80 {
  const ka = kind(a);
  const kb = kind(b);
  const special = specialOperands(a, ka, b, kb, ctx);
  if (special) return special;
  const sign = a.sign ^ b.sign;
  if (ka === Kind.Infinity) {
    if (kb === Kind.Infinity) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    if (isDenormal(kb)) ctx.flags |= DE;
    return infinity(sign);
  }
  if (kb === Kind.Infinity) {
    if (isDenormal(ka)) ctx.flags |= DE;
    return zero(sign);
  }
  if (kb === Kind.Zero) {
    if (ka === Kind.Zero) {
      ctx.flags |= IE;
      return INDEFINITE;
    }
    // A denormal dividend does not raise DE here: the zero divide is detected first.
    ctx.flags |= ZE;
    return infinity(sign);
  }
  if (isDenormal(ka) || isDenormal(kb)) ctx.flags |= DE;
  if (ka === Kind.Zero) return zero(sign);
  const n = a.sig << BigInt(DIV_EXTRA);
  const q = n / b.sig;
  return roundPack(sign, q, lsbExponent(a) - lsbExponent(b) - DIV_EXTRA, q * b.sig !== n, ctx);
}

/** Integer square root (floor) of a non-negative BigInt, by Newton's method. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(a: F80, ctx: FpContext): F80 {
  const ka = kind(a);
  if (ka === Kind.Unsupported) {
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (isNaN80(ka)) return propagateNaN(a, ka, a, ka, ctx);
  if (ka === Kind.Zero) return a;
  if (a.sign === 1) {
    // No DE for a negative denormal: the invalid operation is detected first.
    ctx.flags |= IE;
    return INDEFINITE;
  }
  if (ka === Kind.Infinity) return a;
  if (isDenormal(ka)) ctx.flags |= DE;
  let e = lsbExponent(a);
  let s = a.sig;
  if (e & 1) {
    s <<= 1n;
    e -= 1;
  }
  const n = s << 140n;
  const r = isqrt(n);
  return roundPack(0, r, (e - 140) / 2, r * r !== n, ctx);
}
