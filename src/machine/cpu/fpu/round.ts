/**
 * Rounding an exact (or sticky-marked) result to the x87's formats: precision control (24, 53 or
 * 64 significand bits with the extended exponent range, SDM vol. 1, 8.1.5.2), the four rounding
 * modes (8.1.5.3), and the overflow/underflow/inexact responses of 4.9.1.4–4.9.1.6, masked and
 * unmasked, with C1 telling whether the result was rounded up (8.1.3.3).
 */
import { BIAS, EMAX, EMIN, EXP_MAX, IE, OE, PE, UE, bitLength, f80, infinity, zero, type F80 } from './f80';

export const enum RC {
  Nearest = 0,
  Down = 1,
  Up = 2,
  Zero = 3,
}

/**
 * What an arithmetic operation reads (precision, rounding, masks) and what it reports
 * (exception flags and C1). The FPU keeps one and resets `flags`/`roundedUp` per instruction.
 */
export interface FpContext {
  /** Significand bits results are rounded to: 24, 53 or 64. */
  precision: number;
  rc: RC;
  /** The control word's exception masks (bits 0–5): a set bit masks that exception. */
  masks: number;
  /** Exception flags raised by the operation (IE..PE). */
  flags: number;
  /** C1 after a rounded result: set when the result was rounded away from zero. */
  roundedUp: boolean;
}

export function context(cw = 0x037f): FpContext {
  const pcField = (cw >> 8) & 3;
  return {
    precision: pcField === 0 ? 24 : pcField === 2 ? 53 : 64,
    rc: ((cw >> 10) & 3) as RC,
    masks: cw & 0x3f,
    flags: 0,
    roundedUp: false,
  };
}

/** Bias adjustment for unmasked overflow/underflow with a register destination (SDM vol. 1, 4.9.1.4). */
export const BIAS_ADJUST = 24576;

/** Does rounding `rest` (the dropped bits, below a half of `half`) in mode rc round up the magnitude? */
function roundsUp(rc: RC, sign: number, odd: boolean, rest: bigint, half: bigint, sticky: boolean): boolean {
  const inexact = rest !== 0n || sticky;
  if (!inexact) return false;
  switch (rc) {
    case RC.Nearest:
      return rest > half || (rest === half && (sticky || odd));
    case RC.Down:
      return sign === 1;
    case RC.Up:
      return sign === 0;
    default:
      return false;
  }
}

interface Rounded {
  kept: bigint;
  /** Power of two of kept's lowest bit. */
  pos: number;
  inexact: boolean;
  up: boolean;
}

/** Round sig × 2^lsb (plus a sticky tail below it) so that its lowest kept bit has weight 2^pos. */
function roundAt(sign: number, sig: bigint, lsb: number, sticky: boolean, pos: number, rc: RC): Rounded {
  const shift = pos - lsb;
  if (shift <= 0) {
    // Nothing dropped but the sticky tail, which lies below half an ulp.
    const kept = sig << BigInt(-shift);
    const up = roundsUp(rc, sign, false, sticky ? 1n : 0n, 2n, false);
    return { kept: up ? kept + 1n : kept, pos, inexact: sticky, up };
  }
  const s = BigInt(shift);
  let kept = sig >> s;
  const rest = sig & ((1n << s) - 1n);
  const half = 1n << (s - 1n);
  const up = roundsUp(rc, sign, (kept & 1n) === 1n, rest, half, sticky);
  if (up) kept += 1n;
  return { kept, pos, inexact: rest !== 0n || sticky, up };
}

/** The largest finite value at precision p. */
function largest(sign: number, p: number, emax: number): F80 {
  return f80(sign, emax + BIAS, ((1n << BigInt(p)) - 1n) << BigInt(64 - p));
}

/**
 * Pack sig × 2^lsb (sig > 0; `sticky` when non-zero bits were lost below lsb) into an F80 at the
 * context's precision and rounding, raising OE/UE/PE and setting roundedUp. `precision` overrides
 * the context's (FRNDINT, FSCALE and conversions are not subject to precision control).
 */
export function roundPack(
  sign: number,
  sig: bigint,
  lsb: number,
  sticky: boolean,
  ctx: FpContext,
  precision = ctx.precision,
  emin = EMIN,
  emax = EMAX,
): F80 {
  const len = bitLength(sig);
  const top = lsb + len - 1; // the unbiased exponent of the leading bit
  const p = precision;
  // Tininess is detected after rounding: is the result rounded to p bits with an unbounded
  // exponent below 2^EMIN?
  let tiny = false;
  if (top < emin) {
    tiny = true;
    if (top === emin - 1) {
      const r = roundAt(sign, sig, lsb, sticky, top - p + 1, ctx.rc);
      if (bitLength(r.kept) > p) tiny = false;
    }
  }
  const unmaskedUnderflow = (ctx.masks & UE) === 0;
  if (tiny && unmaskedUnderflow) {
    // Unmasked underflow: the rounded significand with its exponent biased up by 24576.
    const r = roundAt(sign, sig, lsb, sticky, top - p + 1, ctx.rc);
    if (top + BIAS + BIAS_ADJUST < 1) {
      // Too small even for the bias adjustment: a signed zero, whatever the rounding mode.
      ctx.flags |= UE | PE;
      ctx.roundedUp = false;
      return zero(sign);
    }
    ctx.flags |= UE | (r.inexact ? PE : 0);
    ctx.roundedUp = r.up;
    return packNormal(sign, r.kept, r.pos, p, BIAS_ADJUST);
  }
  const r = roundAt(sign, sig, lsb, sticky, Math.max(top, emin) - p + 1, ctx.rc);
  ctx.roundedUp = r.up;
  if (r.inexact) ctx.flags |= PE | (tiny ? UE : 0);
  let kept = r.kept;
  let pos = r.pos;
  if (bitLength(kept) > p) {
    kept >>= 1n;
    pos += 1;
  }
  const resultTop = pos + bitLength(kept) - 1;
  if (resultTop > emax) {
    if ((ctx.masks & OE) === 0) {
      if (resultTop + BIAS - BIAS_ADJUST >= EXP_MAX) {
        // Too large even for the bias adjustment: infinity, whatever the rounding mode.
        ctx.flags |= OE | PE;
        ctx.roundedUp = true;
        return infinity(sign);
      }
      ctx.flags |= OE;
      return packNormal(sign, kept, pos, p, -BIAS_ADJUST);
    }
    ctx.flags |= OE | PE;
    const toInfinity = ctx.rc === RC.Nearest || (ctx.rc === RC.Up && sign === 0) || (ctx.rc === RC.Down && sign === 1);
    ctx.roundedUp = toInfinity;
    return toInfinity ? infinity(sign) : largest(sign, p, emax);
  }
  if (kept === 0n) return zero(sign);
  if (resultTop < EMIN) return f80(sign, 0, kept << BigInt(pos - (EMIN - 63)));
  return packNormal(sign, kept, pos, p, 0);
}

function packNormal(sign: number, kept: bigint, pos: number, p: number, adjust: number): F80 {
  let len = bitLength(kept);
  if (len > p) {
    kept >>= 1n;
    pos += 1;
    len -= 1;
  }
  const top = pos + len - 1;
  const exp = top + BIAS + adjust;
  // Only a result far outside even the adjusted range lands here; the x87 wraps the exponent.
  return f80(sign, exp & 0x7fff, kept << BigInt(64 - len));
}

/** Raise IE and return the real indefinite (the masked response) — callers check the mask. */
export function invalid(ctx: FpContext): F80 {
  ctx.flags |= IE;
  return f80(1, EXP_MAX, 0xc000_0000_0000_0000n);
}
