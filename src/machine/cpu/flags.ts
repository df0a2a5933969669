/** EFLAGS bits (SDM vol. 1, 3.4.3). */
export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL = 3 << 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const ID = 1 << 21;
/** The arithmetic status flags an ALU operation defines. */
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** The bits of EFLAGS PUSHFD stores: all but RF and VM, which read as 0 in the image (SDM vol. 2, PUSHF). */
export const PUSHFD_IMAGE = 0x3cffd7;

/** PF is set when the low byte of the result has an even number of 1 bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i;
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  PARITY[i] = b & 1 ? 0 : PF;
}

export const MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;
export const SIGN = [0, 0x80, 0x8000, 0, 0x80000000] as const;

/** SF, ZF and PF of a result of `size` bytes (the result is already masked, unsigned). */
export function szp(res: number, size: number): number {
  return (res === 0 ? ZF : 0) | (res & SIGN[size] ? SF : 0) | PARITY[res & 0xff];
}

/** The high half of the unsigned 64-bit product of two unsigned dwords (MUL's EDX), exactly. */
export function mulHigh(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}
