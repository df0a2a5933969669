/**
 * MOV, LEA, PUSH, POP and XCHG, the near CALL and RET, LEAVE, PUSHF and POPF, NOP, BSWAP and RDTSC, and Jcc, SETcc and CMOVcc, defined once (README.md, "One definition per instruction"; SDM vol. 2,
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
  D_BSWAP,
  D_NOP,
  D_SETCC_R,
  D_RDTSC,
  D_CDQ,
  D_PUSH_SEG,
  D_POP_SEG,
  D_MOV_SEG_R,
  D_MOV_SEG_M,
  D_JMP,
  D_JMP_M,
  D_JMP_R,
  D_CALL,
  D_CALL_M,
  D_CALL_R,
  D_LEAVE,
  D_PUSHF,
  D_RET,
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
 * What a micro-operation acts on: an operand of the opcode table's row (`o0`, `o1`, in the SDM's
 * order, destination first) or a place the instruction names implicitly: `next` the EIP of the
 * next instruction (CALL's return address), `eSP` the stack pointer at the stack's size (SS.B),
 * `eBP` the frame pointer (read whole, written at the operand size), `eAX` and `eDX` (at the
 * operand size), `EFLAGS` (read: the image
 * PUSHF pushes, RF and VM clear, at the operand size; written: POPF's rules by CPL, IOPL and VM86,
 * interrupts.ts setFlagsFrom).
 */
export type Place = 'o0' | 'o1' | 'next' | 'eSP' | 'eBP' | 'eAX' | 'eDX' | 'EFLAGS';

/**
 * What each instruction does, over its places, as micro-operations: `set` a ← b (a memory operand
 * read is a load, written a store, with its segment checks and paging); `lea` o0 ← the offset of
 * the memory operand o1 (no access); `push` a (ESP moves first, then the store; the operand is read
 * before: PUSH ESP pushes the value before the push, SDM vol. 2, PUSH); `pop` a (the load, ESP
 * moves, then a is written: POP ESP leaves the popped value, and a memory operand's address using
 * ESP is computed after the pop, SDM vol. 2, POP); `xchg` o0 ↔ o1 (o0 read, then o0 written with
 * o1's value, then o1 with o0's: a memory operand, o0 in the opcode table's rows, is read and
 * written before the register; SDM vol. 2, XCHG, whose bus lock the emulator, one CPU, has no need
 * of).
 *
 * The near transfers and stack frames (SDM vol. 2, CALL, RET, LEAVE, PUSHF, POPF): `target` src
 * takes a near branch's target into a temporary — o0 read (a relative operand, Jv, added to the
 * next instruction's EIP and cut to the operand size) or `pop` popped — and checks it against CS's
 * limit (#GP(0) before EIP changes; CALL's before the return address is pushed: an engine that
 * runs only while CS has no limit to check skips it); `jump` EIP ← the target; `release` o0 adds
 * RET imm16's bytes to ESP after the pop (no operand: nothing); `vm86-iopl` is #GP(0) in
 * virtual-8086 mode at IOPL < 3 (PUSHF and POPF are IOPL-sensitive there, SDM vol. 3, 20.2.7; an
 * engine that never runs VM86 code skips it).
 *
 * Port I/O (SDM vol. 2, IN, OUT): `in` a, port: a ← the port's bytes (a's size); `out` port, b:
 * the port ← b (b's size). Before the access, IOPL and the TSS's I/O bitmap (#GP(0)); after it,
 * the I/O breakpoints and what the device may have done (an interrupt request, a memory write):
 * the CPU's portIn/portOut.
 *
 * `sign` a, b: a ← b's sign bit in every bit, at the operand size (CWD/CDQ: DX:AX or EDX:EAX ←
 * AX or EAX sign-extended, SDM vol. 2, CWD/CDQ).
 *
 * `bytes` a: the register a's whole dword ← its four bytes in reverse order (SDM vol. 2, BSWAP;
 * the expression bit-ops.ts' BSWAP_EXPR, which every back end pastes; with a 16-bit operand the
 * SDM leaves the result undefined, and this CPU swaps the dword there too). NOP is no operation
 * at all (its ModR/M operand, 0F 1F, is not accessed).
 *
 * `extend` a, b: a ← b sign-extended from b's size (MOVSX; MOVZX is `set`, b read at its size
 * and written at a's, zero-extended; SDM vol. 2, MOVSX, MOVZX): SIGN_EXTEND.
 *
 * `tsc`: EDX:EAX ← the time-stamp counter, after CR4.TSD's rule (#GP(0) outside ring 0 in
 * protected mode when TSD is set; SDM vol. 2, RDTSC): the CPU's rdtsc(), which every engine calls
 * (a compiled block through rdtscAt, which first counts the instructions its pass has retired:
 * the icount clock reads the count). It may fault.
 */
export type MicroOp =
  | readonly ['set', Place, Place]
  | readonly ['lea' | 'xchg', 'o0', 'o1']
  | readonly ['push' | 'pop', Place]
  | readonly ['target', 'o0' | 'pop']
  | readonly ['jump']
  | readonly ['release', 'o0']
  | readonly ['vm86-iopl']
  | readonly ['in' | 'out', Place, Place]
  | readonly ['sign', Place, Place]
  | readonly ['bytes', 'o0']
  | readonly ['tsc']
  | readonly ['extend', 'o0', 'o1'];

export const MOVE_SEMANTICS: Readonly<Record<string, readonly MicroOp[]>> = {
  mov: [['set', 'o0', 'o1']],
  lea: [['lea', 'o0', 'o1']],
  push: [['push', 'o0']],
  pop: [['pop', 'o0']],
  xchg: [['xchg', 'o0', 'o1']],
  // near JMP and CALL rel / r/m, RET and RET imm16, LEAVE, PUSHF, POPF
  jmp: [['target', 'o0'], ['jump']],
  call: [['target', 'o0'], ['push', 'next'], ['jump']],
  ret: [['target', 'pop'], ['release', 'o0'], ['jump']],
  leave: [
    ['set', 'eSP', 'eBP'],
    ['pop', 'eBP'],
  ],
  pushf: [['vm86-iopl'], ['push', 'EFLAGS']],
  popf: [['vm86-iopl'], ['pop', 'EFLAGS']],
  in: [['in', 'o0', 'o1']],
  out: [['out', 'o0', 'o1']],
  cwd: [['sign', 'eDX', 'eAX']],
  nop: [],
  bswap: [['bytes', 'o0']],
  rdtsc: [['tsc']],
  movzx: [['set', 'o0', 'o1']],
  movsx: [['extend', 'o0', 'o1']],
};

/** A byte's or a word's value `v` sign-extended to int32 (`extend`), an expression every back end pastes. */
export const SIGN_EXTEND = (v: string, size: 1 | 2): string =>
  size === 1 ? `((${v}) << 24) >> 24` : `((${v}) << 16) >> 16`;

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
 * a byte register (`reg8`: AL CL DL BL AH CH DH BH by the field's value, SETcc r8's),
 * a segment register named the same way (`sreg`: read, its selector; written, a segment load
 * with its checks, which may fault), the immediate (w3), a branch's displacement from the next
 * instruction (`rel`, w3), or the dword memory operand (`m`; `m16` a word: w1: base, index,
 * scale, segment; w2: displacement).
 */
export type CachedOperand =
  { readonly reg: number } | { readonly reg8: number } | { readonly sreg: number } | 'imm' | 'rel' | 'm' | 'm16';

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
  // The segment registers (SS's loads are step()'s, for the interrupt shadow; no block loads one).
  { handler: D_PUSH_SEG, mnemonic: 'push', operands: [{ sreg: -1 }] },
  { handler: D_POP_SEG, mnemonic: 'pop', operands: [{ sreg: -1 }] },
  { handler: D_MOV_SEG_R, mnemonic: 'mov', operands: [{ sreg: 3 }, { reg: 0 }] },
  { handler: D_MOV_SEG_M, mnemonic: 'mov', operands: [{ sreg: -1 }, 'm16'] },
  { handler: D_LEAVE, mnemonic: 'leave', operands: [] },
  { handler: D_CDQ, mnemonic: 'cwd', operands: [] },
  { handler: D_PUSHF, mnemonic: 'pushf', operands: [] },
  { handler: D_NOP, mnemonic: 'nop', operands: [] },
  { handler: D_BSWAP, mnemonic: 'bswap', operands: [{ reg: -1 }] },
  { handler: D_RDTSC, mnemonic: 'rdtsc', operands: [] },
  // Near transfers (a compiled block ends at them): CALL rel32 and RET run inline in runInner.
  { handler: D_JMP, mnemonic: 'jmp', operands: ['rel'] },
  { handler: D_JMP_R, mnemonic: 'jmp', operands: [{ reg: -1 }] },
  { handler: D_JMP_M, mnemonic: 'jmp', operands: ['m'] },
  { handler: D_CALL, mnemonic: 'call', operands: ['rel'] },
  { handler: D_CALL_R, mnemonic: 'call', operands: [{ reg: -1 }] },
  { handler: D_CALL_M, mnemonic: 'call', operands: ['m'] },
  { handler: D_RET, mnemonic: 'ret', operands: ['imm'] },
];

/**
 * The cached forms of the conditional instructions (CONDITIONAL_SEMANTICS, by stem in `mnemonic`):
 * the condition tttn is the payload from bit `cc` up. SETcc r8 (0F 90–9F with mod = 11, execReg);
 * the decoded cache's Jcc runs inline in runInner and a block ends at it, CMOVcc and SETcc m8 are
 * the generic forms (G_CMOV, G_SETCC: generic-forms.ts, generated by tools/gen-generic.ts).
 */
export interface CondForm extends MoveForm {
  readonly cc: number;
}
export const COND_FORMS: readonly CondForm[] = [
  { handler: D_SETCC_R, mnemonic: 'set', operands: [{ reg8: 0 }], cc: 3 },
];

/** A conditional form's micro-operations. */
export function condOps(form: CondForm): readonly CondOp[] {
  const ops = CONDITIONAL_SEMANTICS[form.mnemonic];
  if (ops === undefined) throw new Error(`move-ops: no conditional semantics for ${form.mnemonic}`);
  return ops;
}

/** Which function of the decoded cache runs a conditional form: a memory operand may fault. */
export function condFunction(form: CondForm): 'execReg' | 'execDecoded' {
  return form.operands.includes('m') ? 'execDecoded' : 'execReg';
}

/** The conditional form of a decoded-cache handler. */
export const COND_BY_HANDLER: ReadonlyMap<number, CondForm> = new Map(COND_FORMS.map((f) => [f.handler, f]));

/** A form's micro-operations. */
export function moveOps(form: MoveForm): readonly MicroOp[] {
  const ops = MOVE_SEMANTICS[form.mnemonic];
  if (ops === undefined) throw new Error(`move-ops: no semantics for ${form.mnemonic}`);
  return ops;
}

/** A form's name as the SDM writes it (MOV r32, m32). */
export function moveName(form: MoveForm): string {
  const name = (o: CachedOperand) =>
    o === 'imm'
      ? form.mnemonic === 'ret'
        ? 'imm16'
        : 'imm32'
      : o === 'rel'
        ? 'rel32'
        : o === 'm'
          ? form.mnemonic === 'lea'
            ? 'm'
            : 'm32'
          : o === 'm16'
            ? 'm16'
            : 'reg8' in o
              ? 'r8'
              : 'sreg' in o
                ? 'Sreg'
                : form.operands.some((p) => typeof p === 'object' && 'sreg' in p)
                  ? 'r16'
                  : 'r32';
  const name0 = form.mnemonic === 'pushf' ? 'PUSHFD' : form.mnemonic === 'cwd' ? 'CDQ' : form.mnemonic.toUpperCase();
  return form.operands.length === 0 ? name0 : `${name0} ${form.operands.map(name).join(', ')}`;
}

/** Which function of the decoded cache runs a form (see the header). */
export function moveFunction(form: MoveForm): 'execReg' | 'execStack' | 'execDecoded' {
  if (form.mnemonic !== 'lea' && (form.operands.includes('m') || form.operands.includes('m16'))) return 'execDecoded';
  if (moveOps(form).some((op) => op[0] === 'push' || op[0] === 'pop' || (op[0] === 'target' && op[1] === 'pop')))
    return 'execStack';
  if (moveLoadsSegment(form)) return 'execDecoded'; // a segment load may fault
  if (moveOps(form).some(([op]) => op === 'tsc')) return 'execDecoded'; // #GP(0) under CR4.TSD
  return 'execReg';
}

/** Whether a form writes a segment register (a segment load: it may fault, and no block runs it). */
export function moveLoadsSegment(form: MoveForm): boolean {
  const o = form.operands[0];
  return (
    typeof o === 'object' &&
    'sreg' in o &&
    moveOps(form).some((op) => (op[0] === 'set' || op[0] === 'pop') && op[1] === 'o0')
  );
}

/** Whether a form accesses memory (the block compiler then checks bBreak after it). */
export function moveTouchesMemory(form: MoveForm): boolean {
  return moveFunction(form) !== 'execReg';
}

/** Whether a form transfers control (EIP ← a target): a compiled block ends at it. */
export function moveTransfers(form: MoveForm): boolean {
  return moveOps(form).some(([op]) => op === 'jump');
}

/**
 * Whether a form moves ESP before an access that may fault (LEAVE: ESP ← EBP, then the pop): the
 * block compiler then keeps ESP as it was for the restart (block-gen-base.ts, faultable).
 */
export function moveSetsSpFirst(form: MoveForm): boolean {
  const ops = moveOps(form);
  const set = ops.findIndex((op) => op[0] === 'set' && op[1] === 'eSP');
  return set >= 0 && ops.slice(set + 1).some(([op]) => op === 'pop' || op === 'push' || op === 'target');
}

/** The form of a decoded-cache handler, if it is a move. */
export const MOVE_BY_HANDLER: ReadonlyMap<number, MoveForm> = new Map(MOVE_FORMS.map((f) => [f.handler, f]));
