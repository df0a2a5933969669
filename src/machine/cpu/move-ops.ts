/**
 * MOV, LEA, PUSH, POP and XCHG, and Jcc, SETcc and CMOVcc, defined once (README.md, "One definition per instruction"; SDM vol. 2,
 * MOV, LEA, PUSH, POP): what each does as a short list of micro-operations over its operands
 * (MOVE_SEMANTICS) — the way QEMU's frontend describes an instruction as TCG ops that each back
 * end turns into code — and the decoded cache's dword forms as bindings of those operands
 * (MOVE_FORMS). Three back ends read these tables:
 * - tools/gen-moves.ts writes the decoded cache's handlers (execReg, execStack, execDecoded in
 *   decoded-exec.ts, and the run loop's inline cases in cpu.ts) into the regions marked
 *   `gen:moves` there, and step()'s cases of every one-byte opcode the opcode table (opcodes.ts)
 *   lists with these mnemonics and operand kinds it knows (interpreter.ts): plain TypeScript,
 *   ahead of time (tests/cpu/move-gen.test.ts fails when a region is not what the tables give);
 * - the block compiler (block-gen.ts, moveForm) turns the same micro-operations into the code of a
 *   block: registers and immediates as constants, the TLB hit and the 32-bit stack inline.
 * Which function of the decoded cache runs a form follows from its operands: a memory operand
 * read or written makes it execDecoded's (it may fault), the stack alone execStack's, none
 * execReg's.
 */
import {
  D_LEA,
  D_MOV_MI,
  D_MOV_MR,
  D_MOV_RI,
  D_MOV_RM,
  D_MOV_RR,
  D_POP_R,
  D_PUSH_I,
  D_PUSH_M,
  D_PUSH_R,
} from './decoded';

/**
 * What each instruction does, over its operands `o0`, `o1` in the SDM's order (destination
 * first), as micro-operations: `set` o0 ← o1 (a memory operand read is a load, written a store,
 * with its segment checks and paging); `lea` o0 ← the offset of the memory operand o1 (no
 * access); `push` o0 (ESP moves first, then the store; the operand is read before: PUSH ESP
 * pushes the value before the push, SDM vol. 2, PUSH); `pop` o0 (the load, ESP moves, then o0 is
 * written: POP ESP leaves the popped value, and a memory operand's address using ESP is computed
 * after the pop, SDM vol. 2, POP); `xchg` o0 ↔ o1 (o0 read, then o0 written with o1's value,
 * then o1 with o0's: a memory operand, o0 in the opcode table's rows, is read and written before
 * the register; SDM vol. 2, XCHG, whose bus lock the emulator, one CPU, has no need of).
 */
export type MicroOp = readonly ['set' | 'lea' | 'xchg', 'o0', 'o1'] | readonly ['push' | 'pop', 'o0'];

export const MOVE_SEMANTICS: Readonly<Record<string, readonly MicroOp[]>> = {
  mov: [['set', 'o0', 'o1']],
  lea: [['lea', 'o0', 'o1']],
  push: [['push', 'o0']],
  pop: [['pop', 'o0']],
  xchg: [['xchg', 'o0', 'o1']],
};

/**
 * The instructions that act on a condition (SDM vol. 2, Jcc, SETcc, CMOVcc), by the stem of their
 * mnemonic, as micro-operations over their operands and the condition `cc` (tttn, SDM vol. 2,
 * B.1.4.7: the opcode's low four bits; the mnemonic's suffix names it, opcodes.ts CONDITIONS; the
 * condition itself is lazy-flags arithmetic, alu-ops.ts lazyCondition): `jump-if` o0, EIP advanced
 * by the relative offset o0 when cc holds; `set-cond` o0 ← 1 when cc holds, else 0; `set-if` o0
 * ← o1 when cc holds, o1 read whatever cc (a fault reading it comes first, SDM vol. 2, CMOVcc).
 */
export type CondOp = readonly ['jump-if' | 'set-cond', 'o0'] | readonly ['set-if', 'o0', 'o1'];

export const CONDITIONAL_SEMANTICS: Readonly<Record<string, readonly CondOp[]>> = {
  j: [['jump-if', 'o0']],
  set: [['set-cond', 'o0']],
  cmov: [['set-if', 'o0', 'o1']],
};

/**
 * An operand of a cached form: a general register named by a payload field (the shift of a 3-bit
 * field, or -1 for the whole payload: a register number alone, as the decoder's dEnd gives it),
 * the immediate (w3), or the dword memory operand (w1: base, index, scale, segment; w2:
 * displacement).
 */
export type CachedOperand = { readonly reg: number } | 'imm' | 'm';

export interface MoveForm {
  readonly handler: number;
  /** The instruction (a key of MOVE_SEMANTICS, the opcode table's mnemonic). */
  readonly mnemonic: string;
  readonly operands: readonly CachedOperand[];
}

/** The dword forms of the decoded cache (32-bit operands and addresses). */
export const MOVE_FORMS: readonly MoveForm[] = [
  // Register forms (execReg): they cannot fault.
  { handler: D_MOV_RR, mnemonic: 'mov', operands: [{ reg: 0 }, { reg: 3 }] },
  { handler: D_MOV_RI, mnemonic: 'mov', operands: [{ reg: 0 }, 'imm'] },
  { handler: D_LEA, mnemonic: 'lea', operands: [{ reg: -1 }, 'm'] },
  // Memory forms (execDecoded).
  { handler: D_MOV_MR, mnemonic: 'mov', operands: ['m', { reg: 0 }] },
  { handler: D_MOV_RM, mnemonic: 'mov', operands: [{ reg: 0 }, 'm'] },
  { handler: D_MOV_MI, mnemonic: 'mov', operands: ['m', 'imm'] },
  { handler: D_PUSH_M, mnemonic: 'push', operands: ['m'] },
  // Stack forms (execStack).
  { handler: D_PUSH_R, mnemonic: 'push', operands: [{ reg: -1 }] },
  { handler: D_POP_R, mnemonic: 'pop', operands: [{ reg: -1 }] },
  { handler: D_PUSH_I, mnemonic: 'push', operands: ['imm'] },
];

/** A form's micro-operations. */
export function moveOps(form: MoveForm): readonly MicroOp[] {
  const ops = MOVE_SEMANTICS[form.mnemonic];
  if (ops === undefined) throw new Error(`move-ops: no semantics for ${form.mnemonic}`);
  return ops;
}

/** A form's name as the SDM writes it (MOV r32, m32). */
export function moveName(form: MoveForm): string {
  const name = (o: CachedOperand) =>
    o === 'imm' ? 'imm32' : o === 'm' ? (form.mnemonic === 'lea' ? 'm' : 'm32') : 'r32';
  return `${form.mnemonic.toUpperCase()} ${form.operands.map(name).join(', ')}`;
}

/** Which function of the decoded cache runs a form (see the header). */
export function moveFunction(form: MoveForm): 'execReg' | 'execStack' | 'execDecoded' {
  if (form.mnemonic !== 'lea' && form.operands.includes('m')) return 'execDecoded';
  if (moveOps(form).some(([op]) => op === 'push' || op === 'pop')) return 'execStack';
  return 'execReg';
}

/** Whether a form accesses memory (the block compiler then checks bBreak after it). */
export function moveTouchesMemory(form: MoveForm): boolean {
  return moveFunction(form) !== 'execReg';
}

/** The form of a decoded-cache handler, if it is a move. */
export const MOVE_BY_HANDLER: ReadonlyMap<number, MoveForm> = new Map(MOVE_FORMS.map((f) => [f.handler, f]));
