/**
 * The decoded cache's generic byte and word forms (execGeneric in decoded-exec.ts: D_GENERIC
 * entries, the form in payload bits 8–13) as bindings to rows of the opcode table (opcodes.ts):
 * each form runs the instruction of its row on the row's operand kinds, at size 1 for the byte
 * kinds and at the entry's operand size (2 with X16, else 4) for the others. What the
 * instruction does comes from its one definition: the ALU group and TEST from alu-ops.ts
 * (ALU_OPS, whose `stores` says which operations write no result, TEST_AS), INC/DEC from
 * INCDEC_OPS, MOV, LEA and XCHG from move-ops.ts (MOVE_SEMANTICS), SETcc and CMOVcc from its
 * CONDITIONAL_SEMANTICS. tools/gen-generic.ts writes the cases into execGeneric's `gen:generic
 * execGeneric` region (tests/cpu/generic-gen.test.ts).
 *
 * The decoder normalises the short forms to the ModR/M form of the same instruction: AX, imm
 * (05, A9 with 0x66) to ModR/M 0xC0 | EAX; MOV r8, imm8 (B0–B7) and MOV r16, imm16 (B8–BF) to
 * Eb, Ib and Ev, Iv with mod = 11; INC/DEC r16 (40–4F) to FF /0 /1 of that register.
 */
import {
  G_ALU8_AI,
  G_ALU8_MI,
  G_ALU8_MR,
  G_ALU8_RM,
  G_ALU_MI,
  G_ALU_MR,
  G_ALU_RM,
  G_CMOV,
  G_INCDEC,
  G_INCDEC8,
  G_LEA,
  G_MOV8_MI,
  G_MOV8_MR,
  G_MOV8_RM,
  G_MOV_MI,
  G_MOV_MR,
  G_MOV_RM,
  G_SETCC,
  G_TEST8,
  G_TEST8_MI,
  G_TEST_MI,
  G_TEST_MR,
  G_XCHG,
  G_XCHG8,
} from './decoded';
import { OPCODES, type Opcode } from './opcodes';

export interface GenericForm {
  readonly handler: number;
  /** The opcode whose row(s) of the opcode table the form runs. */
  readonly opcode: number;
  /** The group's reg field (ModR/M bits 3–5) of the row, for a group's single member (F6/F7 /0: TEST). */
  readonly ext?: number;
  /**
   * Where the instruction's variant sits: `payload`, the ALU operation (ALU_OPS' index) in payload
   * bits 14–16 (`extra`, which the decoder fills from the opcode's bits 3–5 or the reg field);
   * `reg`, the ModR/M reg field selecting among the opcode's rows (FE/FF /0 /1: INC or DEC);
   * `cond`, the condition tttn in the payload's extra bits (the opcode's low four bits: the row is
   * condition 0's, move-ops.ts' CONDITIONAL_SEMANTICS by its stem); absent, the row itself.
   */
  readonly variant?: 'payload' | 'reg' | 'cond';
}

export const GENERIC_FORMS: readonly GenericForm[] = [
  // The ALU group at size 1, and at size 2 (the word forms, X16): the operation in the payload.
  { handler: G_ALU8_AI, opcode: 0x04, variant: 'payload' }, // AL, Ib
  { handler: G_ALU8_MR, opcode: 0x00, variant: 'payload' }, // Eb, Gb
  { handler: G_ALU8_RM, opcode: 0x02, variant: 'payload' }, // Gb, Eb
  { handler: G_ALU8_MI, opcode: 0x80, variant: 'payload' }, // Eb, Ib
  { handler: G_ALU_MR, opcode: 0x01, variant: 'payload' }, // Ev, Gv
  { handler: G_ALU_RM, opcode: 0x03, variant: 'payload' }, // Gv, Ev
  { handler: G_ALU_MI, opcode: 0x81, variant: 'payload' }, // Ev, Iv (83's immediate sign-extended by the decoder)
  // TEST
  { handler: G_TEST8, opcode: 0x84 }, // Eb, Gb
  { handler: G_TEST_MR, opcode: 0x85 }, // Ev, Gv
  { handler: G_TEST8_MI, opcode: 0xf6, ext: 0 }, // Eb, Ib
  { handler: G_TEST_MI, opcode: 0xf7, ext: 0 }, // Ev, Iv
  // INC/DEC
  { handler: G_INCDEC8, opcode: 0xfe, variant: 'reg' }, // Eb
  { handler: G_INCDEC, opcode: 0xff, variant: 'reg' }, // Ev
  // MOV, LEA
  { handler: G_MOV8_MR, opcode: 0x88 }, // Eb, Gb
  { handler: G_MOV8_RM, opcode: 0x8a }, // Gb, Eb
  { handler: G_MOV8_MI, opcode: 0xc6 }, // Eb, Ib
  { handler: G_MOV_MR, opcode: 0x89 }, // Ev, Gv
  { handler: G_MOV_RM, opcode: 0x8b }, // Gv, Ev
  { handler: G_MOV_MI, opcode: 0xc7 }, // Ev, Iv
  { handler: G_LEA, opcode: 0x8d }, // Gv, M
  // SETcc r/m8 (SETcc r8 is D_SETCC_R) and CMOVcc at every operand size (0F 90–9F, 0F 40–4F)
  { handler: G_SETCC, opcode: 0x0f90, variant: 'cond' }, // Eb
  { handler: G_CMOV, opcode: 0x0f40, variant: 'cond' }, // Gv, Ev
  // XCHG (its dword form too: Ev, Gv at size 4 without X16)
  { handler: G_XCHG8, opcode: 0x86 }, // Eb, Gb
  { handler: G_XCHG, opcode: 0x87 }, // Ev, Gv
];

/** The rows of the opcode table a form runs: the opcode's, or its group member's. */
export function genericRows(form: GenericForm): Opcode[] {
  const rows = OPCODES.filter((o) => o.op === form.opcode && (form.ext === undefined || o.ext === form.ext));
  if (rows.length === 0) throw new Error(`generic-forms: no row ${form.opcode.toString(16)}`);
  return rows;
}
