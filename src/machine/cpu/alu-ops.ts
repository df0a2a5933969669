/**
 * The ALU group, defined once (README.md, "One definition per instruction"): the eight
 * operations of opcodes 00–3F and group 1 (80–83 /0–/7), SDM vol. 2, ADD … CMP, in the order of
 * the opcode's bits 3–5 (ModR/M reg in group 1). Each says what it computes as a JavaScript
 * expression over int32 operands, and which lazy-flags kind its flags are kept as (state.ts,
 * materialize). From this table:
 * - the interpreter's and the decoded cache's `alu`/`alu32` (alu.ts) call `aluResult32` and read
 *   `ALU_LAZY`, both generated from it into alu-gen.ts by `npx tsx tools/gen-alu.ts` (the
 *   interpreter cannot `eval` — a page's CSP may forbid it — so its code is generated ahead;
 *   tests/cpu/alu-gen.test.ts fails when alu-gen.ts is not what the table gives);
 * - the block compiler (block-gen.ts) inlines the same expressions into the code it generates.
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
