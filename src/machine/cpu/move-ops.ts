/**
 * The data movement forms of the decoded cache, defined once (README.md, "One definition per
 * instruction"): MOV, LEA, PUSH and POP of dwords (SDM vol. 2, MOV, LEA, PUSH, POP), each as a
 * short list of micro-operations over its operands — the way QEMU's frontend describes an
 * instruction as TCG ops that each back end turns into code. Two back ends read this table:
 * - tools/gen-moves.ts writes the decoded cache's handlers (execReg, execStack, execDecoded in
 *   decoded-cache.ts, and the run loop's inline MOV in cpu.ts) into the regions marked
 *   `gen:moves` there: plain TypeScript, ahead of time (tests/cpu/move-gen.test.ts fails when a
 *   region is not what the table gives);
 * - the block compiler (block-gen.ts, moveForm) turns the same micro-operations into the code of a
 *   block: registers and immediates as constants, the TLB hit and the 32-bit stack inline.
 * Which function of the decoded cache runs a form follows from its micro-operations: a memory
 * operand (load, store) makes it execDecoded's (it may fault), the stack alone execStack's, none
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
 * An operand of a micro-operation: `r0`, `r1` the general registers named by the payload's fields
 * (MoveForm.fields), `imm` the immediate (w3), `t` a temporary.
 */
export type MoveOperand = 'r0' | 'r1' | 'imm' | 't';

/**
 * A micro-operation: `set` dst ← src; `load` dst ← the dword memory operand (w1/w2: base, index,
 * scale, segment, displacement; segment checks, paging); `store` the dword memory operand ← src;
 * `lea` dst ← the memory operand's offset (no access); `push` src (32-bit PUSH, ESP − 4 first,
 * SS's checks); `pop` dst (32-bit POP).
 */
export type MicroOp =
  | readonly ['set', MoveOperand, MoveOperand]
  | readonly ['load' | 'pop' | 'lea', MoveOperand]
  | readonly ['store' | 'push', MoveOperand];

export interface MoveForm {
  readonly handler: number;
  readonly mnemonic: string;
  /**
   * The payload fields naming r0, r1: the shift of a 3-bit field, or -1 for the whole payload
   * (the decoder's dEnd: a register number alone).
   */
  readonly fields: readonly number[];
  readonly ops: readonly MicroOp[];
}

export const MOVE_FORMS: readonly MoveForm[] = [
  // Register forms (execReg): they cannot fault.
  { handler: D_MOV_RR, mnemonic: 'MOV r32, r32', fields: [0, 3], ops: [['set', 'r0', 'r1']] },
  { handler: D_MOV_RI, mnemonic: 'MOV r32, imm32', fields: [0], ops: [['set', 'r0', 'imm']] },
  { handler: D_LEA, mnemonic: 'LEA r32, m', fields: [-1], ops: [['lea', 'r0']] },
  // Memory forms (execDecoded).
  { handler: D_MOV_MR, mnemonic: 'MOV m32, r32', fields: [0], ops: [['store', 'r0']] },
  { handler: D_MOV_RM, mnemonic: 'MOV r32, m32', fields: [0], ops: [['load', 'r0']] },
  { handler: D_MOV_MI, mnemonic: 'MOV m32, imm32', fields: [], ops: [['store', 'imm']] },
  {
    handler: D_PUSH_M,
    mnemonic: 'PUSH m32',
    fields: [],
    ops: [
      ['load', 't'],
      ['push', 't'],
    ],
  },
  // Stack forms (execStack). PUSH ESP pushes the value before the push (SDM vol. 2, PUSH): the
  // source is read first. POP ESP leaves the popped value in ESP (SDM vol. 2, POP): the pop
  // goes through a temporary, written after ESP moved.
  { handler: D_PUSH_R, mnemonic: 'PUSH r32', fields: [-1], ops: [['push', 'r0']] },
  {
    handler: D_POP_R,
    mnemonic: 'POP r32',
    fields: [-1],
    ops: [
      ['pop', 't'],
      ['set', 'r0', 't'],
    ],
  },
  { handler: D_PUSH_I, mnemonic: 'PUSH imm32', fields: [], ops: [['push', 'imm']] },
];

/** Which function of the decoded cache runs a form (see the header). */
export function moveFunction(form: MoveForm): 'execReg' | 'execStack' | 'execDecoded' {
  if (form.ops.some(([op]) => op === 'load' || op === 'store')) return 'execDecoded';
  if (form.ops.some(([op]) => op === 'push' || op === 'pop')) return 'execStack';
  return 'execReg';
}

/** Whether a form accesses memory (the block compiler then checks bBreak after it). */
export function moveTouchesMemory(form: MoveForm): boolean {
  return form.ops.some(([op]) => op !== 'set' && op !== 'lea');
}

/** The form of a decoded-cache handler, if it is a move. */
export const MOVE_BY_HANDLER: ReadonlyMap<number, MoveForm> = new Map(MOVE_FORMS.map((f) => [f.handler, f]));
