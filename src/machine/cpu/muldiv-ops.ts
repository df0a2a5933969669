/**
 * Group 3's NOT, MUL, IMUL (one operand), DIV and IDIV (F6/F7 /2, /4–/7), defined once: step()'s
 * group3Body() runs them from cases generated out of MULDIV_OPS (tools/gen-alu.ts, region
 * `gen:alu group3`), the decoded cache's register forms D_GRP3_R (NOT, MUL) and D_DIV_R (DIV,
 * IDIV r32) call the same CpuAlu methods (mulAcc, divAcc), which call these functions, and so do
 * compiled blocks' DIV/IDIV (divAcc); their NOT r32 and MUL/IMUL r32 inline NOT_EXPR and MUL32,
 * the expressions notOf and multiply() are generated from. (NEG is SUB from 0: alu-ops.ts NEG_AS.)
 *
 * MUL, IMUL, DIV and IDIV work on the accumulator pair of the operand size (SDM vol. 2, MUL/DIV
 * tables): low half AL, AX or EAX; high half AH, DX or EDX. The product goes to the pair (AX =
 * AH:AL, DX:AX, EDX:EAX); the dividend comes from it and the quotient goes to the low half, the
 * remainder to the high half.
 */
import { CF, MASK, OF, szp, mulHigh } from './flags';
import { signExtend } from './arch';

/** A member of group 3 that works on the accumulator pair. */
export interface MulDivOp {
  readonly mnemonic: 'mul' | 'imul' | 'div' | 'idiv';
  readonly signed: boolean;
  readonly divide: boolean;
}

/** By the ModR/M reg field of F6/F7 (opcodes.ts' group rows). */
export const MULDIV_OPS: Readonly<Record<number, MulDivOp>> = {
  4: { mnemonic: 'mul', signed: false, divide: false },
  5: { mnemonic: 'imul', signed: true, divide: false },
  6: { mnemonic: 'div', signed: false, divide: true },
  7: { mnemonic: 'idiv', signed: true, divide: true },
};

/** The results of the last multiply() or divide(): the pair's halves, unsigned, of the size. */
export const ACC_PAIR = { low: 0, high: 0 };

/**
 * NOT (F6/F7 /2), the one's complement (SDM vol. 2, NOT; no flag changes), as an int32 expression
 * over the dword expression `a`: notOf's body below is generated from it (region `gen:alu notOf`,
 * tools/gen-alu.ts), and the block compiler inlines it for NOT r32.
 */
export const NOT_EXPR = (a: string): string => `~${a}`;

/** NOT of `a` (unsigned, of `size` bytes). */
export function notOf(a: number, size: number): number {
  // gen:alu notOf (tools/gen-alu.ts, from NOT_EXPR: do not edit)
  return ~a & MASK[size];
  // end gen:alu
}

/**
 * The dword DIV and IDIV (F7 /6 /7) where most dividends fall, as the statement compiled blocks
 * inline: EDX:EAX divided by the int32 local `d`, over the register array `r` and the locals `a`
 * (IDIV) and `o` (DIV); `slow` (a statement calling divide() through Cpu.divAcc) runs otherwise.
 * DIV: EDX = 0, so the quotient fits and the doubles' quotient truncated is exact (both operands below 2^32, so
 * an integer is never within the rounding of a fraction). IDIV: EDX the sign of EAX (CDQ's), and
 * not -2^31 / -1: JavaScript's `/` truncated and `%` (the dividend's sign) are IDIV's. A divisor 0
 * takes `slow`, which raises #DE. DIV keeps the quotient as an int32 (its bits) and takes the
 * remainder as EAX − q × d mod 2^32 (Math.imul; exact, as it lies below d): no local of the block
 * holds a uint32 beyond int32, which in a block not yet optimised is a heap number each time (the
 * division phase of bench:cpu spent 13 % of its cold run in the GC, 2–3 % after).
 * tests/cpu/bit-ops.test.ts holds these to divide().
 */
export const DIV32_FAST: Readonly<Record<'div' | 'idiv', (d: string, slow: string) => string>> = {
  div: (d, slow) =>
    `if (r[2] === 0 && ${d} !== 0) { o = ((r[0] >>> 0) / (${d} >>> 0)) | 0; r[2] = r[0] - Math.imul(o, ${d}); r[0] = o; } else ${slow}`,
  idiv: (d, slow) =>
    `a = r[0]; if (r[2] === a >> 31 && ${d} !== 0 && (${d} !== -1 || a !== -2147483648)) { r[0] = (a / ${d}) | 0; r[2] = a % ${d}; } else ${slow}`,
};

/**
 * The dword MUL and IMUL (F7 /4 /5) as JavaScript expressions over dword expressions `x` and `y`
 * (int32 or uint32 alike; each read more than once, so locals): the generated code of multiply()'s
 * size-4 branch below (region `gen:alu multiply32`, tools/gen-alu.ts) and the block compiler's
 * register MUL and IMUL, which stay inline code there (a call per MUL measured 6–13 % slower in
 * cpu-ab: the checksum phase of bench:cpu multiplies in its hot loop).
 */
export interface Mul32 {
  /** The product's low dword, int32. */
  readonly low: (x: string, y: string) => string;
  /** Its high dword, uint32; `mh` names flags.ts' mulHigh where the code runs. */
  readonly high: (x: string, y: string, mh: string) => string;
  /** CF = OF: the product does not fit the low dword, over the halves (`high` as int32 or uint32). */
  readonly over: (low: string, high: string) => string;
}

/** By signedness: MUL, IMUL. SDM vol. 2, MUL, IMUL (the one-operand form). */
export const MUL32: Readonly<Record<'mul' | 'imul', Mul32>> = {
  // 32 × 32 → 64 in doubles (no BigInt on the hot path): the high half from 16-bit limbs.
  mul: {
    low: (x, y) => `Math.imul(${x}, ${y})`,
    high: (x, y, mh) => `${mh}(${x} >>> 0, ${y} >>> 0)`,
    // CF = OF = 1 when the high half is not 0.
    over: (_low, high) => `${high} !== 0`,
  },
  imul: {
    low: (x, y) => `Math.imul(${x}, ${y})`,
    // The unsigned high half corrected for the signs: hi − (x<0 ? y : 0) − (y<0 ? x : 0) (mod 2^32).
    high: (x, y, mh) =>
      `(${mh}(${x} >>> 0, ${y} >>> 0) - ((${x} | 0) < 0 ? ${y} >>> 0 : 0) - ((${y} | 0) < 0 ? ${x} >>> 0 : 0)) >>> 0`,
    // CF = OF = 1 when the high half is not the sign extension of the low half.
    over: (low, high) => `(${high} | 0) !== ${low} >> 31`,
  },
};

/**
 * IMUL with two or three operands (0F AF, 69, 6B; SDM vol. 2, IMUL): the product of the signed
 * operands `x`, `y` (int32 expressions, sign-extended from the operand size) truncated to the
 * operand size and sign-extended (`low`), and CF = OF = 1 when it differs from the full product
 * (`over`: exact in doubles below 2^53; a dword product above it cannot fit 32 bits anyway). SF, ZF
 * and PF of the result (undefined in the SDM; as multiply). Cpu.imul2's body is generated from
 * these (tools/gen-alu.ts, `gen:alu imul2` in alu.ts), and the block compiler pastes them.
 */
export const IMUL_TRUNC = {
  low: (x: string, y: string, size: 2 | 4): string =>
    size === 4 ? `Math.imul(${x}, ${y})` : `((${x} * ${y}) << 16) >> 16`,
  over: (x: string, y: string, low: string): string => `${x} * ${y} !== ${low}`,
};

/**
 * MUL / IMUL of the pair's low half `x` by `y` (both unsigned, of `size` bytes): the double-width
 * product in ACC_PAIR; returns the arithmetic flags. SDM vol. 2: MUL sets CF = OF = 1 when the high
 * half is not 0; IMUL when the high half is not the sign extension of the low half (the product
 * does not fit the low half). SF, ZF, AF, PF are undefined; this sets SF/ZF/PF of the low half, AF
 * clear (what the oracle's host does for the compared bits, and what the cache did before).
 */
export function multiply(x: number, y: number, size: number, signed: boolean): number {
  let low: number;
  let high: number;
  let over: boolean;
  if (size === 4) {
    // gen:alu multiply32 (tools/gen-alu.ts, from MUL32: do not edit)
    if (signed) {
      const lo = Math.imul(x, y);
      high = (mulHigh(x >>> 0, y >>> 0) - ((x | 0) < 0 ? y >>> 0 : 0) - ((y | 0) < 0 ? x >>> 0 : 0)) >>> 0;
      over = (high | 0) !== lo >> 31;
      low = lo >>> 0;
    } else {
      const lo = Math.imul(x, y);
      high = mulHigh(x >>> 0, y >>> 0);
      over = high !== 0;
      low = lo >>> 0;
    }
    // end gen:alu
  } else {
    const bits = size * 8;
    const p = signed ? signExtend(x, size) * signExtend(y, size) : x * y;
    low = p & MASK[size];
    high = (p >>> bits) & MASK[size];
    over = signed ? signExtend(low, size) !== p : p > MASK[size];
  }
  ACC_PAIR.low = low;
  ACC_PAIR.high = high;
  return (over ? CF | OF : 0) | szp(low, size);
}

/**
 * DIV / IDIV of the pair high:low (each unsigned, of `size` bytes) by `d` (unsigned, of `size`):
 * quotient and remainder in ACC_PAIR (truncated toward 0, the remainder of the dividend's sign).
 * Returns false for #DE (SDM vol. 2, DIV/IDIV: "IF SRC = 0 THEN #DE", and a quotient too large for
 * the low half: above 0FFh/0FFFFh/0FFFFFFFFh unsigned, outside −2^(n−1) … 2^(n−1)−1 signed), in
 * which case nothing is written. The flags are undefined and left as they were.
 */
export function divide(high: number, low: number, d: number, size: number, signed: boolean): boolean {
  if (d === 0) return false;
  if (size === 4) {
    if (!signed && high < 0x200000) {
      // The dividend fits a double exactly: divide in doubles and correct the rounding.
      const n = high * 4294967296 + low;
      let q = Math.floor(n / d);
      let rem = n - q * d;
      if (rem < 0) {
        q--;
        rem += d;
      } else if (rem >= d) {
        q++;
        rem -= d;
      }
      if (q > 0xffffffff) return false;
      ACC_PAIR.low = q;
      ACC_PAIR.high = rem;
    } else if (signed && (high | 0) === (low | 0) >> 31) {
      // The dividend is its low half sign-extended: a 32-bit signed division.
      const n = low | 0;
      const sd = d | 0;
      if (n === -0x80000000 && sd === -1) return false;
      ACC_PAIR.low = Math.trunc(n / sd) >>> 0;
      ACC_PAIR.high = (n % sd) >>> 0;
    } else {
      const n = (BigInt(high) << 32n) | BigInt(low);
      const dividend = signed ? BigInt.asIntN(64, n) : n;
      const divisor = BigInt(signed ? d | 0 : d);
      const q = dividend / divisor;
      const rem = dividend % divisor;
      if (signed ? q > 0x7fffffffn || q < -0x80000000n : q > 0xffffffffn) return false;
      ACC_PAIR.low = Number(BigInt.asUintN(32, q));
      ACC_PAIR.high = Number(BigInt.asUintN(32, rem));
    }
    return true;
  }
  const bits = size * 8;
  const n = ((high << bits) | low) >>> 0;
  const dividend = signed ? signExtend(n, size * 2) : n;
  const divisor = signed ? signExtend(d, size) : d;
  const q = Math.trunc(dividend / divisor);
  const rem = dividend - q * divisor;
  const limit = 2 ** bits;
  if (signed ? q >= limit / 2 || q < -limit / 2 : q >= limit) return false;
  ACC_PAIR.low = q & MASK[size];
  ACC_PAIR.high = rem & MASK[size];
  return true;
}
