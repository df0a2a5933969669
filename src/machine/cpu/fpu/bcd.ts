/**
 * Packed BCD (FBLD/FBSTP, SDM vol. 1, 4.7 and 8.2.4): ten bytes, eighteen digits two per byte in
 * bytes 0–8 (least significant first), the sign in bit 7 of byte 9 (its other bits ignored).
 */
import { IE, Kind, isNaN80, kind, type F80 } from './f80';
import { intToF80 } from './convert';
import { roundToInteger } from './ops';
import type { FpContext } from './round';

const LIMIT = 10n ** 18n;

/** FBLD: exact (digits above 9 are undefined in the SDM and decoded here as their binary value). */
export function bcdToF80(b: Uint8Array, at = 0): F80 {
  let v = 0n;
  for (let i = 8; i >= 0; i--) {
    const byte = b[at + i];
    v = v * 100n + BigInt((byte >> 4) * 10 + (byte & 15));
  }
  const neg = (b[at + 9] & 0x80) !== 0;
  const x = intToF80(v);
  return neg ? { sign: 1, exp: x.exp, sig: x.sig } : x;
}

/**
 * FBSTP: round to an integer in the context's rounding mode and store eighteen digits. Out of
 * range (|x| ≥ 10^18 after rounding), NaN, infinity or unsupported: IE and the packed BCD
 * indefinite (0xFFFF in bytes 8–9... as the SDM's table 4-8 gives it), stored when IE is masked.
 */
export function f80ToBcd(x: F80, ctx: FpContext): Uint8Array {
  const out = new Uint8Array(10);
  const k = kind(x);
  const indefinite = (): Uint8Array => {
    ctx.flags |= IE;
    out.fill(0);
    out[7] = 0xc0;
    out[8] = 0xff;
    out[9] = 0xff;
    return out;
  };
  if (k === Kind.Unsupported || isNaN80(k) || k === Kind.Infinity) return indefinite();
  let mag = 0n;
  if (k !== Kind.Zero) {
    // No DE for a denormal source (as FIST).
    const r = roundToInteger(x, ctx.rc);
    if (r.mag >= LIMIT) return indefinite();
    if (r.inexact) ctx.flags |= 0x20;
    ctx.roundedUp = r.up;
    mag = r.mag;
  }
  for (let i = 0; i < 9; i++) {
    const two = Number(mag % 100n);
    mag /= 100n;
    out[i] = ((Math.floor(two / 10) << 4) | (two % 10)) & 0xff;
  }
  out[9] = x.sign ? 0x80 : 0;
  return out;
}
