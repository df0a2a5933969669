/**
 * The ALU group, defined once (README.md, "One definition per instruction"): the eight
 * operations of opcodes 00–3F and group 1 (80–83 /0–/7), SDM vol. 2, ADD … CMP, in the order of
 * the opcode's bits 3–5 (ModR/M reg in group 1), and their lazy-flags kinds (ADD, SUB, LOGIC).
 * Each operation says what it computes as a JavaScript expression over int32 operands and which
 * kind its flags are kept as; each kind says its CF, OF, AF and the conditions it answers
 * directly. From these tables:
 * - the interpreter's and the decoded cache's `alu`/`alu32` (the class layer CpuAluGen), and the
 *   `aluCond`, `aluCf` and `aluFlags` that `cond`, `cfBit` and `materialize` (alu.ts, state.ts)
 *   call, are generated into alu-gen.ts by `npx tsx tools/gen-alu.ts` (the interpreter cannot `eval`: a
 *   page's CSP may forbid it, so its code is generated ahead; tests/cpu/alu-gen.test.ts fails
 *   when alu-gen.ts is not what the tables give);
 * - the block compiler (block-gen.ts) inlines the same expressions into the code it generates:
 *   the results, CF before an INC/DEC, and the conditions of a Jcc/SETcc/CMOVcc.
 * ADC and SBB read CF and set every flag at once (alu.ts, aluCarry): they have no expression here.
 */
import { LZ_ADD, LZ_LOGIC, LZ_SUB } from './decoded';

export interface AluOp {
  readonly mnemonic: string;
  /** The lazy-flags kind its flags are kept as; 0: computed at once (ADC, SBB). */
  readonly lazy: number;
  /** The result as an int32 expression over the int32 expressions `a` and `b` (null: ADC, SBB). */
  readonly result: ((a: string, b: string) => string) | null;
  /** Whether the result is written back (CMP only sets the flags). */
  readonly stores: boolean;
}

export const ALU_OPS: readonly AluOp[] = [
  { mnemonic: 'ADD', lazy: LZ_ADD, result: (a, b) => `(${a} + ${b}) | 0`, stores: true },
  { mnemonic: 'OR', lazy: LZ_LOGIC, result: (a, b) => `${a} | ${b}`, stores: true },
  { mnemonic: 'ADC', lazy: 0, result: null, stores: true },
  { mnemonic: 'SBB', lazy: 0, result: null, stores: true },
  { mnemonic: 'AND', lazy: LZ_LOGIC, result: (a, b) => `${a} & ${b}`, stores: true },
  { mnemonic: 'SUB', lazy: LZ_SUB, result: (a, b) => `(${a} - ${b}) | 0`, stores: true },
  { mnemonic: 'XOR', lazy: LZ_LOGIC, result: (a, b) => `${a} ^ ${b}`, stores: true },
  { mnemonic: 'CMP', lazy: LZ_SUB, result: (a, b) => `(${a} - ${b}) | 0`, stores: false },
];

/**
 * A lazy-flags kind of the ALU group (state.ts, materialize): its CF and OF as boolean
 * expressions over the operands `a`, `b` and the result `r` as int32 — for an 8- or 16-bit
 * operation, the same expressions hold over the sign-extended values (sign extension keeps both
 * the signed and the unsigned order and the sign bit). ZF, SF and PF come from `r` alone, AF from
 * bit 4 of a ^ b ^ r (`af`). `direct`: the conditions (c = cc >> 1) the kind answers more simply
 * than from its CF and OF (after a − b, "below or equal" is a ≤ b unsigned, "less" is a < b).
 */
export interface LazyKind {
  readonly cf: (a: string, b: string, r: string) => string;
  readonly of: (a: string, b: string, r: string) => string;
  readonly af: boolean;
  readonly direct: Readonly<Partial<Record<number, (a: string, b: string, r: string) => string>>>;
}

export const ALU_LAZY_KINDS: Readonly<Record<number, LazyKind>> = {
  [LZ_ADD]: {
    cf: (a, _b, r) => `(${r} >>> 0) < (${a} >>> 0)`,
    of: (a, b, r) => `((${a} ^ ${r}) & (${b} ^ ${r})) < 0`,
    af: true,
    direct: {},
  },
  [LZ_SUB]: {
    cf: (a, b) => `(${a} >>> 0) < (${b} >>> 0)`,
    of: (a, b, r) => `((${a} ^ ${b}) & (${a} ^ ${r})) < 0`,
    af: true,
    direct: { 3: (a, b) => `(${a} >>> 0) <= (${b} >>> 0)`, 6: (a, b) => `${a} < ${b}`, 7: (a, b) => `${a} <= ${b}` },
  },
  // CF = OF = 0; AF is undefined (SDM vol. 2, AND/OR/XOR): 0, as the host gives it.
  [LZ_LOGIC]: { cf: () => 'false', of: () => 'false', af: false, direct: {} },
};

/**
 * Condition c = cc >> 1 (O, B, Z, BE, S, P, L, LE; SDM vol. 1, B.1) after an operation of `kind`,
 * as a boolean expression over a, b, r; null for P (parity: from the CPU's flags).
 */
export function lazyCondition(kind: LazyKind, c: number, a: string, b: string, r: string): string | null {
  const direct = kind.direct[c];
  if (direct) return direct(a, b, r);
  const cf = kind.cf(a, b, r);
  const of = kind.of(a, b, r);
  switch (c) {
    case 0:
      return of;
    case 1:
      return cf;
    case 2:
      return `${r} === 0`;
    case 3:
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
