/**
 * The arithmetic with lazy flags, defined once (README.md, "One definition per instruction"): the
 * ALU group's eight operations of opcodes 00–3F and group 1 (80–83 /0–/7), SDM vol. 2, ADD … CMP,
 * in the order of the opcode's bits 3–5 (ModR/M reg in group 1); INC and DEC; the dword shifts
 * SHL/SHR/SAR and the rotates ROL/ROR; and every lazy-flags kind (ADD, SUB, LOGIC, INC, DEC, SHL,
 * SHR, SAR).
 * Each operation says what it computes as a JavaScript expression over int32 operands and which
 * kind its flags are kept as; each kind says its CF, OF, AF and the conditions it answers
 * directly. From these tables:
 * - the interpreter's and the decoded cache's `alu`/`alu32`, `incdec`, `shift32` and `rotate32` (the class
 *   layer CpuAluGen), and the `lazyCond`, `lazyCf` and `lazyFlags` that `cond`, `cfBit` and
 *   `materialize` (alu.ts, state.ts) call, are generated into alu-gen.ts by
 *   `npx tsx tools/gen-alu.ts` (the interpreter cannot `eval`: a page's CSP may forbid it, so its
 *   code is generated ahead; tests/cpu/alu-gen.test.ts fails when alu-gen.ts is not what the
 *   tables give);
 * - the block compiler (block-gen.ts) inlines the same expressions into the code it generates:
 *   the results, CF before an INC/DEC, and the conditions of a Jcc/SETcc/CMOVcc;
 * - step()'s cases of the ALU group and TEST (00–3F, 80–85, A8, A9), one per form of the opcode
 *   table (opcodes.ts) with the operation from aluOpOf, are generated into the `gen:alu step`
 *   region of interpreter.ts by the same tool (tests/cpu/alu-step.test.ts checks the region).
 * ADC and SBB read CF and set every flag at once: no lazy kind, their sum and flags in `carry`,
 * generated into `aluCarry` and pasted by the block compiler (block-gen.ts, carry()). The byte
 * and word shifts and rotates and RCL/RCR (GROUP2_AT_ONCE) set theirs at once too, by width:
 * generated into `shiftAtOnce`, which alu.ts's shift() calls, and pasted for word registers by
 * block-gen-generic.ts. SHLD/SHRD (SHIFT_DOUBLE): generated into `shiftDouble`, pasted for dwords.
 */
import { LZ_ADD, LZ_DEC, LZ_INC, LZ_LOGIC, LZ_SAR, LZ_SHL, LZ_SHR, LZ_SUB } from './decoded';

export interface AluOp {
  readonly mnemonic: string;
  /** The lazy-flags kind its flags are kept as; 0: computed at once (ADC, SBB). */
  readonly lazy: number;
  /** The result as an int32 expression over the int32 expressions `a` and `b` (null: ADC, SBB). */
  readonly result: ((a: string, b: string) => string) | null;
  /** Whether the result is written back (CMP only sets the flags). */
  readonly stores: boolean;
  /**
   * ADC and SBB, which read CF and set every flag at once (no lazy kind): the exact sum over the
   * operands `a`, `b` (unsigned, of the size) and CF `c` (0 or 1), as a number that may pass the
   * size's range; CF over that sum and the size's `mask`; OF over a, b, the result `r` (the sum
   * cut to the size) and the size's `sign` bit, nonzero when set. AF is bit 4 of a ^ b ^ r, SF ZF
   * PF follow r, as for every operation of the group.
   */
  readonly carry?: {
    readonly sum: (a: string, b: string, c: string) => string;
    readonly cf: (sum: string, mask: string) => string;
    readonly of: (a: string, b: string, r: string, sign: string) => string;
  };
}

export const ALU_OPS: readonly AluOp[] = [
  { mnemonic: 'ADD', lazy: LZ_ADD, result: (a, b) => `(${a} + ${b}) | 0`, stores: true },
  { mnemonic: 'OR', lazy: LZ_LOGIC, result: (a, b) => `${a} | ${b}`, stores: true },
  {
    mnemonic: 'ADC',
    lazy: 0,
    result: null,
    stores: true,
    carry: {
      sum: (a, b, c) => `${a} + ${b} + ${c}`,
      cf: (sum, mask) => `${sum} > ${mask}`,
      of: (a, b, r, sign) => `(${a} ^ ${r}) & (${b} ^ ${r}) & ${sign}`,
    },
  },
  {
    mnemonic: 'SBB',
    lazy: 0,
    result: null,
    stores: true,
    carry: {
      sum: (a, b, c) => `${a} - ${b} - ${c}`,
      cf: (sum) => `${sum} < 0`,
      of: (a, b, r, sign) => `(${a} ^ ${b}) & (${a} ^ ${r}) & ${sign}`,
    },
  },
  { mnemonic: 'AND', lazy: LZ_LOGIC, result: (a, b) => `${a} & ${b}`, stores: true },
  { mnemonic: 'SUB', lazy: LZ_SUB, result: (a, b) => `(${a} - ${b}) | 0`, stores: true },
  { mnemonic: 'XOR', lazy: LZ_LOGIC, result: (a, b) => `${a} ^ ${b}`, stores: true },
  { mnemonic: 'CMP', lazy: LZ_SUB, result: (a, b) => `(${a} - ${b}) | 0`, stores: false },
];

/**
 * TEST (84, 85, A8, A9; F6/F7 /0 /1): AND whose result is not written (SDM vol. 2, TEST), so it
 * runs as ALU_OPS[TEST_AS] without the store, in step() and in the block compiler alike.
 */
export const TEST_AS = 4;

/**
 * NEG (F6/F7 /3): 0 − the operand, with SUB's flags (SDM vol. 2, NEG: "IF DEST = 0 THEN CF ← 0
 * ELSE CF ← 1", which is SUB's borrow out of 0 − DEST), so it runs as ALU_OPS[NEG_AS] with 0 as
 * the first operand, in step(), the decoded cache and the block compiler alike.
 */
export const NEG_AS = 5;

/**
 * The operation of ALU_OPS (its index, the `op` of alu/alu32) a mnemonic of the opcode table
 * (opcodes.ts) runs, and whether the result is written back; undefined for any other mnemonic.
 */
export function aluOpOf(mnemonic: string): { op: number; stores: boolean } | undefined {
  if (mnemonic === 'test') return { op: TEST_AS, stores: false };
  const op = ALU_OPS.findIndex((o) => o.mnemonic.toLowerCase() === mnemonic);
  return op < 0 ? undefined : { op, stores: ALU_OPS[op].stores };
}

/**
 * INC and DEC (40–4F; FE/FF /0 /1), SDM vol. 2: ADD and SUB of 1 that keep CF (their kinds'
 * `cf` is null). Indexed by DEC: 0 INC, 1 DEC.
 */
export interface IncDecOp {
  readonly mnemonic: string;
  readonly lazy: number;
  /** The result as an int32 expression over the int32 expression `a`. */
  readonly result: (a: string) => string;
}
export const INCDEC_OPS: readonly IncDecOp[] = [
  { mnemonic: 'INC', lazy: LZ_INC, result: (a) => `(${a} + 1) | 0` },
  { mnemonic: 'DEC', lazy: LZ_DEC, result: (a) => `(${a} - 1) | 0` },
];

/**
 * The shifts whose flags are kept lazily: SHL/SAL, SHR, SAR of a dword by a count of 1–31
 * (group 2 /4–/7, SDM vol. 2, SAL/SAR/SHL/SHR), by ModR/M reg. A count of 0 changes nothing,
 * flags included, so callers skip it; byte and word shifts and the rotates set their flags at
 * once (alu.ts, shift).
 */
export interface ShiftOp {
  readonly mnemonic: string;
  readonly lazy: number;
  /** The result over the int32 `a` and the count `n` (1–31); SHR's is the unsigned value. */
  readonly result: (a: string, n: string) => string;
}
export const SHIFT_OPS: Readonly<Record<number, ShiftOp>> = {
  4: { mnemonic: 'SHL', lazy: LZ_SHL, result: (a, n) => `${a} << ${n}` },
  5: { mnemonic: 'SHR', lazy: LZ_SHR, result: (a, n) => `${a} >>> ${n}` },
  6: { mnemonic: 'SAL', lazy: LZ_SHL, result: (a, n) => `${a} << ${n}` },
  7: { mnemonic: 'SAR', lazy: LZ_SAR, result: (a, n) => `${a} >> ${n}` },
};

/**
 * ROL and ROR of a dword (group 2 /0, /1; SDM vol. 2, RCL/RCR/ROL/ROR) by a count of 1–31: only
 * CF and OF change, at once (no lazy kind); a count of 0 changes nothing. CF is the bit rotated
 * into the other end; OF (defined for a count of 1, kept for all as the hardware's rule) is
 * MSB(r) XOR CF for ROL, the two top bits of r XORed for ROR. Bytes and words: alu.ts, shift.
 */
export interface RotateOp {
  readonly mnemonic: string;
  /** The result over the int32 `a` and the count `n` (1–31), as an int32 expression. */
  readonly result: (a: string, n: string) => string;
  /** CF and OF (0 or 1) over the result `r` (int32). */
  readonly cf: (r: string) => string;
  readonly of: (r: string) => string;
}
export const ROTATE_OPS: readonly RotateOp[] = [
  {
    mnemonic: 'ROL',
    result: (a, n) => `(${a} << ${n}) | (${a} >>> (32 - ${n}))`,
    cf: (r) => `${r} & 1`,
    of: (r) => `((${r} >>> 31) ^ ${r}) & 1`,
  },
  {
    mnemonic: 'ROR',
    result: (a, n) => `(${a} >>> ${n}) | (${a} << (32 - ${n}))`,
    cf: (r) => `${r} >>> 31`,
    of: (r) => `((${r} >>> 31) ^ (${r} >>> 30)) & 1`,
  },
];

/** An operand width of group 2 as the expressions of GROUP2_AT_ONCE take it: numbers, pasted in. */
export interface Width {
  readonly bits: number;
  /** The mask of the width, as the code writes it. */
  readonly mask: string;
  /** 32 − bits: a value shifted left by it and back arithmetically is sign-extended. */
  readonly pad: number;
}
export const WIDTHS: Readonly<Record<number, Width>> = {
  1: { bits: 8, mask: '0xff', pad: 24 },
  2: { bits: 16, mask: '0xffff', pad: 16 },
  4: { bits: 32, mask: '0xffffffff', pad: 0 },
};

/**
 * Group 2 (C0, C1, D0–D3 /0–/7; SDM vol. 2, RCL/RCR/ROL/ROR and SAL/SAR/SHL/SHR) where its flags
 * depend on the width and are set at once (no lazy kind): the byte and word shifts and rotates,
 * and RCL/RCR at every size (the dword SHL/SHR/SAR are SHIFT_OPS', ROL/ROR ROTATE_OPS'). Each is
 * expressions over `a` (the operand, unsigned, of the width), the count `n` it runs by (from the
 * count `c` masked to 1–31: ROL/ROR by c mod bits, RCL/RCR by c mod (bits + 1), through CF;
 * the shifts by c, which may pass the width), `k` (CF before, 0 or 1; only where `readsCf`), the
 * result `r` and CF after `cf`. A count of 0 (masked) changes nothing, so callers skip it; one
 * that the modulo makes 0 still sets OF from the result and CF (as a rotate by the width does).
 */
export interface Group2Op {
  readonly mnemonic: string;
  readonly sizes: readonly number[];
  readonly readsCf: boolean;
  readonly count: (c: string, w: Width) => string;
  /** The result, an expression whose low `bits` bits are it (masked; `>>> 0` at 32 bits). */
  readonly result: (a: string, n: string, k: string, w: Width) => string;
  /** CF after, 0 or 1. */
  readonly cf: (a: string, n: string, k: string, r: string, w: Width) => string;
  /** OF, 0 or 1 (defined for a count of 1; kept for all as the hardware's rule, as the oracle shows). */
  readonly of: (a: string, r: string, cf: string, w: Width) => string;
  /** The shifts set SF, ZF and PF from the result (AF undefined: 0); the rotates leave them. */
  readonly szp: boolean;
}

const MSB_XOR_CF = (_a: string, r: string, cf: string, w: Width) => `((${r} >>> ${w.bits - 1}) ^ ${cf}) & 1`;
const TOP_TWO_XOR = (_a: string, r: string, _cf: string, w: Width) =>
  `((${r} >>> ${w.bits - 1}) ^ (${r} >>> ${w.bits - 2})) & 1`;
const SHL_AT_ONCE: Group2Op = {
  mnemonic: 'SHL',
  sizes: [1, 2],
  readsCf: false,
  count: (c) => c,
  result: (a, n, _k, w) => `(${a} << ${n}) & ${w.mask}`,
  // The last bit out is bit `bits` of a << n (0 once n passes the width; bits above 31 are lost, unread).
  cf: (a, n, _k, _r, w) => `((${a} << ${n}) >>> ${w.bits}) & 1`,
  of: MSB_XOR_CF,
  szp: true,
};

export const GROUP2_AT_ONCE: Readonly<Record<number, Group2Op>> = {
  0: {
    mnemonic: 'ROL',
    sizes: [1, 2],
    readsCf: false,
    count: (c, w) => `${c} & ${w.bits - 1}`,
    result: (a, n, _k, w) => `((${a} << ${n}) | (${a} >>> (${w.bits} - ${n}))) & ${w.mask}`,
    cf: (_a, _n, _k, r) => `${r} & 1`,
    of: MSB_XOR_CF,
    szp: false,
  },
  1: {
    mnemonic: 'ROR',
    sizes: [1, 2],
    readsCf: false,
    count: (c, w) => `${c} & ${w.bits - 1}`,
    result: (a, n, _k, w) => `((${a} >>> ${n}) | (${a} << (${w.bits} - ${n}))) & ${w.mask}`,
    cf: (_a, _n, _k, r, w) => `(${r} >>> ${w.bits - 1}) & 1`,
    of: TOP_TWO_XOR,
    szp: false,
  },
  // RCL/RCR rotate the bits + 1 bits CF:a; a >>> (bits + 1 − n) is written (a >>> 1) >>> (bits − n),
  // a << (bits + 1 − n) as (a << 1) << (bits − n): JavaScript takes shift counts mod 32.
  2: {
    mnemonic: 'RCL',
    sizes: [1, 2, 4],
    readsCf: true,
    count: (c, w) => `${c} % ${w.bits + 1}`,
    result: (a, n, k, w) =>
      `${n} === 0 ? ${a} : ((${a} << ${n}) | (${k} << (${n} - 1)) | ((${a} >>> 1) >>> (${w.bits} - ${n}))) & ${w.mask}`,
    cf: (a, n, k, _r, w) => `${n} === 0 ? ${k} : (${a} >>> (${w.bits} - ${n})) & 1`,
    of: MSB_XOR_CF,
    szp: false,
  },
  3: {
    mnemonic: 'RCR',
    sizes: [1, 2, 4],
    readsCf: true,
    count: (c, w) => `${c} % ${w.bits + 1}`,
    result: (a, n, k, w) =>
      `${n} === 0 ? ${a} : ((${a} >>> ${n}) | (${k} << (${w.bits} - ${n})) | ((${a} << 1) << (${w.bits} - ${n}))) & ${w.mask}`,
    cf: (a, n, k) => `${n} === 0 ? ${k} : (${a} >>> (${n} - 1)) & 1`,
    of: TOP_TWO_XOR,
    szp: false,
  },
  4: SHL_AT_ONCE,
  5: {
    mnemonic: 'SHR',
    sizes: [1, 2],
    readsCf: false,
    count: (c) => c,
    result: (a, n) => `${a} >>> ${n}`,
    cf: (a, n) => `(${a} >>> (${n} - 1)) & 1`,
    of: (a, _r, _cf, w) => `${a} >>> ${w.bits - 1}`,
    szp: true,
  },
  6: { ...SHL_AT_ONCE, mnemonic: 'SAL' },
  7: {
    mnemonic: 'SAR',
    sizes: [1, 2],
    readsCf: false,
    count: (c) => c,
    // The operand sign-extended to 32 bits and shifted by n ≤ 31: every bit past the width is the sign.
    result: (a, n, _k, w) => `((${a} << ${w.pad}) >> ${w.pad} >> ${n}) & ${w.mask}`,
    cf: (a, n, _k, _r, w) => `((${a} << ${w.pad}) >> ${w.pad} >> (${n} - 1)) & 1`,
    of: () => '0',
    szp: true,
  },
};

/**
 * SHLD and SHRD (0F A4/A5, 0F AC/AD; SDM vol. 2, SHLD, SHRD) of a word or a dword, indexed by
 * SHRD (0 SHLD, 1 SHRD): the destination `a` shifted by `n` (1 to the width: the count masked to
 * 31, and a word's count past 16 leaves everything as it was, as before), the bits shifted in
 * from the source `s` (both unsigned of the width). Flags at once: CF the last bit shifted out of
 * the destination, OF whether the sign changed (defined for a count of 1; kept for all, as the
 * oracle's vectors show), SF ZF PF from the result, AF undefined: 0.
 */
export interface ShiftDoubleOp {
  readonly mnemonic: string;
  /** The result, an expression whose low `bits` bits are it (masked; an int32 at 32 bits). */
  readonly result: (a: string, s: string, n: string, w: Width) => string;
  /** CF, 0 or 1. */
  readonly cf: (a: string, n: string, w: Width) => string;
}
export const SHIFT_DOUBLE: readonly ShiftDoubleOp[] = [
  {
    mnemonic: 'SHLD',
    result: (a, s, n, w) => `((${a} << ${n}) | (${s} >>> (${w.bits} - ${n}))) & ${w.mask}`,
    cf: (a, n, w) => `(${a} >>> (${w.bits} - ${n})) & 1`,
  },
  {
    mnemonic: 'SHRD',
    result: (a, s, n, w) => `((${a} >>> ${n}) | (${s} << (${w.bits} - ${n}))) & ${w.mask}`,
    cf: (a, n) => `(${a} >>> (${n} - 1)) & 1`,
  },
];
/** SHLD/SHRD's OF, 0 or 1: the destination's sign changed (from `a` to the result `r`). */
export const SHIFT_DOUBLE_OF = (a: string, r: string, w: Width): string => `((${a} ^ ${r}) >>> ${w.bits - 1}) & 1`;

/**
 * A lazy-flags kind (state.ts, materialize): its CF and OF as boolean expressions over the
 * operands `a`, `b` and the result `r` as int32 — for an 8- or 16-bit operation, the same
 * expressions hold over the sign-extended values (sign extension keeps both the signed and the
 * unsigned order and the sign bit; the shift kinds are 32-bit only, `b` their count). ZF, SF and
 * PF come from `r` alone, AF from bit 4 of a ^ b ^ r (`af`). `cf` null: the operation leaves CF
 * as it was (INC, DEC), so whoever sets the kind first folds the CF so far into `fl`, and reads
 * it there. `direct`: the conditions (c = cc >> 1) the kind answers more simply than from its CF
 * and OF (after a − b, "below or equal" is a ≤ b unsigned, "less" is a < b). `blockConds`: the
 * conditions the block compiler answers from its flag locals (null: every one the kind answers);
 * the others it reads through Cpu.cond.
 */
export interface LazyKind {
  readonly cf: ((a: string, b: string, r: string) => string) | null;
  readonly of: (a: string, b: string, r: string) => string;
  readonly af: boolean;
  readonly direct: Readonly<Partial<Record<number, (a: string, b: string, r: string) => string>>>;
  readonly blockConds: readonly number[] | null;
}

const ADD_OF = (a: string, b: string, r: string) => `((${a} ^ ${r}) & (${b} ^ ${r})) < 0`;
const SUB_OF = (a: string, b: string, r: string) => `((${a} ^ ${b}) & (${a} ^ ${r})) < 0`;
/**
 * ZF and SF only, for the kinds after which compiled code mostly tests them (`dec ecx; jnz`):
 * the block compiler's code and templates for the rest stay as they were (Cpu.cond answers them).
 */
const Z_S = [2, 4];

export const LAZY_KINDS: Readonly<Record<number, LazyKind>> = {
  [LZ_ADD]: {
    cf: (a, _b, r) => `(${r} >>> 0) < (${a} >>> 0)`,
    of: ADD_OF,
    af: true,
    direct: {},
    blockConds: null,
  },
  [LZ_SUB]: {
    cf: (a, b) => `(${a} >>> 0) < (${b} >>> 0)`,
    of: SUB_OF,
    af: true,
    direct: { 3: (a, b) => `(${a} >>> 0) <= (${b} >>> 0)`, 6: (a, b) => `${a} < ${b}`, 7: (a, b) => `${a} <= ${b}` },
    blockConds: null,
  },
  // CF = OF = 0; AF is undefined (SDM vol. 2, AND/OR/XOR): 0, as the host gives it.
  [LZ_LOGIC]: { cf: () => 'false', of: () => 'false', af: false, direct: {}, blockConds: null },
  // INC and DEC: ADD and SUB of b = 1 (lzv[1] = 1), CF kept.
  [LZ_INC]: { cf: null, of: ADD_OF, af: true, direct: {}, blockConds: Z_S },
  [LZ_DEC]: { cf: null, of: SUB_OF, af: true, direct: {}, blockConds: Z_S },
  // The shifts by b = 1–31: CF is the last bit shifted out; OF (defined for a count of 1, kept
  // for all as the hardware's rule) SHL: MSB(r) XOR CF, SHR: MSB(a), SAR: 0; AF undefined: 0.
  [LZ_SHL]: {
    cf: (a, b) => `((${a} >>> (32 - ${b})) & 1) !== 0`,
    of: (a, b, r) => `(${r} < 0) !== (((${a} >>> (32 - ${b})) & 1) !== 0)`,
    af: false,
    direct: {},
    blockConds: Z_S,
  },
  [LZ_SHR]: {
    cf: (a, b) => `((${a} >>> (${b} - 1)) & 1) !== 0`,
    of: (a) => `${a} < 0`,
    af: false,
    direct: {},
    blockConds: Z_S,
  },
  [LZ_SAR]: {
    cf: (a, b) => `((${a} >> (${b} - 1)) & 1) !== 0`,
    of: () => 'false',
    af: false,
    direct: {},
    blockConds: Z_S,
  },
};

/**
 * Condition c = cc >> 1 (O, B, Z, BE, S, P, L, LE; SDM vol. 1, B.1) after an operation of `kind`,
 * as a boolean expression over a, b, r; null for P (parity: from the CPU's flags), and for B and BE
 * after a kind that keeps CF (from the CPU's flags: `fl`).
 */
export function lazyCondition(kind: LazyKind, c: number, a: string, b: string, r: string): string | null {
  const direct = kind.direct[c];
  if (direct) return direct(a, b, r);
  const cf = kind.cf === null ? null : kind.cf(a, b, r);
  const of = kind.of(a, b, r);
  switch (c) {
    case 0:
      return of;
    case 1:
      return cf;
    case 2:
      return `${r} === 0`;
    case 3:
      if (cf === null) return null;
      return cf === 'false' ? `${r} === 0` : `(${r} === 0 || ${cf})`;
    case 4:
      return `${r} < 0`;
    case 6:
      return of === 'false' ? `${r} < 0` : `(${r} < 0) !== (${of})`;
    case 7:
      return of === 'false' ? `${r} <= 0` : `(${r} === 0 || (${r} < 0) !== (${of}))`;
    default:
      return null;
  }
}
