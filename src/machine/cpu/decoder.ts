/**
 * The decoder of the decoded-instruction cache, in the Cpu class chain (README.md, "Layout"):
 * instruction bytes → the four words of an entry (w0: handler, flags, length, payload; w1: the
 * memory operand's base, index, scale and segment; the displacement; the immediate), for the forms
 * the cache runs itself; D_SLOW for the rest, which step() runs. decodeAt (decoded-cache.ts)
 * copies the bytes and stores the entry.
 */
import {
  E_BAD_REG,
  E_BRANCH,
  E_DEFINED,
  E_LOCK,
  E_MEM_ONLY,
  E_MODRM,
  E_REG_ONLY,
  ENCODING,
  IMM_O32_A32_SHIFT,
  immShift,
  P_ADSIZE,
  P_LOCK,
  P_NONE,
  P_OPSIZE,
  P_SEG_LAST,
  PREFIX_KIND,
} from './decode-tables';
import { EAX, NO_SEG, ESP, EBP, SS, DS, FS, GS } from './arch';
import {
  D_MAY_FAULT,
  D_STACK,
  D_SLOW,
  D_ALU_RR,
  D_ALU_RM,
  D_ALU_MR,
  D_ALU_RI,
  D_ALU_MI,
  D_TEST_RR,
  D_TEST_MR,
  D_TEST_RI,
  D_MOV_RR,
  D_MOV_MR,
  D_MOV_RM,
  D_MOV_RI,
  D_MOV_MI,
  D_LEA,
  D_INC_R,
  D_DEC_R,
  D_PUSH_R,
  D_POP_R,
  D_PUSH_I,
  D_JCC,
  D_JMP,
  D_CALL,
  D_RET,
  D_CALL_R,
  D_CALL_M,
  D_JMP_R,
  D_JMP_M,
  D_GENERIC,
  D_NOP,
  D_CDQ,
  D_LEAVE,
  D_SHIFT_R,
  D_GRP3_R,
  D_DIV_R,
  D_IMUL3_R,
  D_MOVZX8_M,
  D_PUSH_M,
  D_MOVX_R,
  D_SETCC_R,
  D_ALU_JCC,
  D_RDTSC,
  D_ROTATE_R,
  D_PUSHF,
  D_FLAG,
  D_STI,
  D_PUSH_SEG,
  D_POP_SEG,
  D_MOV_SEG_R,
  D_STRING,
  D_MOV_SEG_M,
  D_IO,
  G_ALU8_AI,
  G_ALU8_MR,
  G_ALU8_RM,
  G_ALU8_MI,
  G_MOV8_MI,
  G_MOV8_MR,
  G_MOV8_RM,
  G_TEST8,
  G_TEST8_MI,
  G_TEST_MI,
  G_IMUL3,
  G_IMUL2,
  G_SHIFT,
  G_SHIFT8,
  G_GRP3,
  G_GRP3_8,
  G_INCDEC,
  G_INCDEC8,
  G_SETCC,
  G_CMOV,
  G_MOVX,
  G_ALU_MR,
  G_ALU_RM,
  G_ALU_MI,
  G_MOV_MR,
  G_MOV_RM,
  G_MOV_MI,
  G_TEST_MR,
  G_LEA,
  G_SHLD,
  G_BITSCAN,
  D_BSWAP,
  D_BITSCAN_R,
  G_CMPXCHG,
  G_XADD,
  G_BT,
  G_BTI,
  G_XCHG8,
  G_XCHG,
  X16,
} from './decoded';
import { CpuStrings } from './strings';
import { COND_FORMS, MOVE_FORMS, condFunction, moveFunction } from './move-ops';
import { FLAG_SEMANTICS } from './flag-ops';
import { OPCODES } from './opcodes';

/** Where a cached form runs: registers only, memory or checks (it may fault), or the stack. */
export type FormFunction = 'execReg' | 'execDecoded' | 'execStack';

/**
 * The function that runs each cached form (decoded-exec.ts), which is what the form may do:
 * execReg touches registers only; execDecoded reads or writes memory, checks a privilege, a port
 * or a segment, raises #DE, or is a generic form (its default case): it may fault, so runInner
 * sets the restart point first (D_MAY_FAULT in w0); execStack pushes or pops (D_MAY_FAULT and
 * D_STACK). The moves' and the conditional forms' follow from their micro-operations (move-ops.ts,
 * moveFunction); the others' from their own code: tools/gen-forms.ts reads each handler's case
 * (in execReg/execDecoded/execStack or runInner's switch), finds whether it may fault (a fixpoint
 * over what the CPU's methods throw and call), reads the memory operand or pushes and pops, writes
 * the region below, and fails when a handler has no case, its case is in another function than
 * its code calls for, runInner's inline case sets the restart point where its function does not
 * (or not where it does), or a move's code disagrees with its micro-operations.
 */
export const FORM_FUNCTION: Readonly<Record<number, FormFunction>> = {
  ...Object.fromEntries(MOVE_FORMS.map((f) => [f.handler, moveFunction(f)])),
  ...Object.fromEntries(COND_FORMS.map((f) => [f.handler, condFunction(f)])),
  // gen:forms FORM_FUNCTION (tools/gen-forms.ts, from each handler's code: do not edit)
  [D_ALU_RR]: 'execReg', // cannot fault
  [D_ALU_RM]: 'execDecoded', // may fault (dLoad32): the memory operand
  [D_ALU_MR]: 'execDecoded', // may fault (dRead32, dWrite32): the memory operand
  [D_ALU_RI]: 'execReg', // cannot fault
  [D_ALU_MI]: 'execDecoded', // may fault (dRead32, dWrite32): the memory operand
  [D_TEST_RR]: 'execReg', // cannot fault
  [D_TEST_MR]: 'execDecoded', // may fault (dLoad32): the memory operand
  [D_TEST_RI]: 'execReg', // cannot fault
  [D_INC_R]: 'execReg', // cannot fault
  [D_DEC_R]: 'execReg', // cannot fault
  [D_JCC]: 'execReg', // cannot fault
  [D_DIV_R]: 'execDecoded', // may fault (divAcc)
  [D_GENERIC]: 'execDecoded', // may fault (execGeneric): the memory operand
  [D_SHIFT_R]: 'execReg', // cannot fault
  [D_GRP3_R]: 'execReg', // cannot fault
  [D_IMUL3_R]: 'execReg', // cannot fault
  [D_MOVZX8_M]: 'execDecoded', // may fault (checkSeg, readLin8): the memory operand
  [D_MOVX_R]: 'execReg', // cannot fault
  [D_ALU_JCC]: 'execReg', // cannot fault
  [D_ROTATE_R]: 'execReg', // cannot fault
  [D_BITSCAN_R]: 'execReg', // cannot fault
  [D_FLAG]: 'execDecoded', // may fault (flagOp)
  [D_STI]: 'execDecoded', // may fault (flagOp)
  [D_IO]: 'execDecoded', // may fault (portIn, portOut)
  [D_STRING]: 'execDecoded', // may fault (stringForm)
  // end gen:forms
};

/** The bits of w0 each handler's function gives (D_MAY_FAULT, D_STACK), by handler. */
const W0_BITS = new Uint8Array(64);
for (const [h, f] of Object.entries(FORM_FUNCTION))
  W0_BITS[Number(h)] = f === 'execReg' ? 0 : f === 'execDecoded' ? D_MAY_FAULT : D_MAY_FAULT | D_STACK;

/**
 * One-byte opcodes whose meaning does not depend on the operand size (byte operands, NOP): decoded
 * as in 32-bit code whatever the size. The rest, at operand size 16, go to decodeWord.
 */
const BYTE_FORM = new Uint8Array(256);
for (let b = 0; b < 0x40; b++) if ((b & 7) === 0 || (b & 7) === 2 || (b & 7) === 4) BYTE_FORM[b] = 1;
for (let b = 0xb0; b < 0xb8; b++) BYTE_FORM[b] = 1;
for (const b of [
  0x80, 0x84, 0x86, 0x88, 0x8a, 0x8e, 0x90, 0xa0, 0xe4, 0xe6, 0xec, 0xee, 0xa2, 0xa8, 0xc0, 0xc6, 0xd0, 0xd2, 0xf6,
  0xfe,
])
  BYTE_FORM[b] = 1;
/**
 * The flag instructions (flag-ops.ts' FLAG_SEMANTICS, at the opcode table's rows), at any operand
 * size: D_FLAG (flagOp runs the opcode in the payload), but the one that opens the interrupt
 * shadow (STI), which is D_STI: FLAG_OPS[b] is 1 or D_STI_OP.
 */
const FLAG_OPS = new Uint8Array(256);
const D_STI_OP = 2;
for (const o of OPCODES)
  if (o.op < 0x100 && !o.missing && o.mnemonic in FLAG_SEMANTICS)
    FLAG_OPS[o.op] = FLAG_SEMANTICS[o.mnemonic].shadow ? D_STI_OP : 1;

/** A little-endian dword of an instruction's bytes. */
function rd32(q: Uint8Array, k: number): number {
  return q[k] | (q[k + 1] << 8) | (q[k + 2] << 16) | (q[k + 3] << 24);
}

export abstract class CpuDecoder extends CpuStrings {
  /** The decoded entry's length and words, set by decodeForm and its helpers. */
  protected dLen = 0;
  protected dW1 = 0;
  protected dDisp = 0;
  /** The EIP and code size of the instruction being decoded (decodeAt). */
  protected dEip = 0;
  protected dCode32 = true;
  /** Its operand and address sizes after the 0x66 / 0x67 prefixes. */
  protected dO32 = true;
  protected dA32 = true;

  /**
   * The decoder of the cached forms: 32- or 16-bit code with segment overrides and 0x66 / 0x67
   * (not LOCK or REP). An instruction whose operand size is 32 and which has no memory operand or
   * 32-bit addressing means in 16-bit code what it means in 32-bit code (SDM vol. 1, 3.6); one
   * whose operand size is 16 gets the word-size forms (decodeWord). 16-bit addressing is left to
   * step(). Sets dLen, dW1, dDisp, dImm; returns w0 or D_SLOW.
   */
  protected decodeForm(q: Uint8Array): number {
    let k = 0;
    let seg = NO_SEG;
    let opsize = false;
    let adsize = false;
    let lock = false;
    let rep = false;
    for (;;) {
      const kind = PREFIX_KIND[q[k]];
      if (kind === P_NONE) break;
      if (kind <= P_SEG_LAST) seg = kind - 1;
      else if (kind === P_OPSIZE) opsize = true;
      else if (kind === P_ADSIZE) adsize = true;
      else if (kind === P_LOCK) lock = true;
      else if (q[k] === 0xf3 && q[k + 1] === 0x90 && !lock) {
        // PAUSE (F3 90): a NOP to a single CPU (SDM vol. 2, PAUSE); Linux's delay and spin loops
        // run it at every turn.
        this.dW1 = this.dDisp = this.dImm = 0;
        return this.dEnd(k + 2, D_NOP, 0);
      } else rep = true; // REP / REPNE: only BSF and BSR below ignore it, the rest is step()'s
      if (++k >= 15) return D_SLOW;
    }
    // F3 0F BC / BD are TZCNT / LZCNT where BMI1 / LZCNT exist; this CPU has neither (CPUID), so
    // they are BSF / BSR, as gcc's __builtin_ctz compiles to (bit-ops.ts).
    if (rep && (lock || q[k] !== 0x0f || (q[k + 1] !== 0xbc && q[k + 1] !== 0xbd))) return D_SLOW;
    const o32 = this.dCode32 !== opsize;
    const a32 = this.dCode32 !== adsize;
    this.dO32 = o32;
    this.dA32 = a32;
    const b = q[k++];
    this.dW1 = 0;
    this.dDisp = 0;
    this.dImm = 0;
    if (b === 0x0f) return this.decode0f(q, k, seg, lock);
    const modrm = q[k];
    // The length comes from the table; `at` is where the immediate starts (after ModR/M, SIB, disp).
    const e = ENCODING[(b << 3) | ((modrm >> 3) & 7)];
    if ((e & (E_DEFINED | E_BAD_REG)) !== E_DEFINED || (modrm >= 0xc0 && e & E_MEM_ONLY)) return D_SLOW; // #UD: step()
    if (!a32 && ((e & E_MODRM && modrm < 0xc0) || (b >= 0xa0 && b < 0xa4))) return D_SLOW; // 16-bit addressing
    // LOCK on a memory destination the table allows: one CPU, so the cached form as it is; any
    // other LOCK is #UD, raised by step() (SDM vol. 2, LOCK).
    if (lock && (!(e & E_LOCK) || !(e & E_MODRM) || modrm >= 0xc0)) return D_SLOW;
    const at = e & E_MODRM ? this.dModrm(q, k, seg) : k;
    const len = at + ((e >>> (o32 && a32 ? IMM_O32_A32_SHIFT : immShift(o32, a32))) & 7);
    // A branch of operand size 32 in 16-bit code may leave the 64 KiB segment, which is #GP(0) at
    // the branch (step(): checkNearTarget); the cached forms do not check. A relative one is cached
    // when its target, known here, lies inside (gcc -m16's CALLL); the others are step()'s.
    if (!this.dCode32 && o32 && e & E_BRANCH) {
      const rel8 = (b >= 0x70 && b < 0x80) || b === 0xeb;
      if (!rel8 && b !== 0xe8 && b !== 0xe9) return D_SLOW;
      if (!this.inIp16((this.dEip + len + (rel8 ? (q[at] << 24) >> 24 : rd32(q, at))) | 0)) return D_SLOW;
    }
    if (FLAG_OPS[b]) return FLAG_OPS[b] === D_STI_OP ? this.dEnd(len, D_STI, 0) : this.dEnd(len, D_FLAG, b);
    if (b >= 0xa4 && b < 0xb0 && (b & 0xfe) !== 0xa8 && a32 && seg === NO_SEG)
      return this.dEnd(len, D_STRING, (b & 0xfe) | ((b & 1 ? (o32 ? 4 : 2) : 1) << 8));
    if (!o32 && !BYTE_FORM[b]) return this.decodeWord(q, b, modrm, at, len, seg);
    if (b < 0x40 && (b & 7) < 6) {
      const op = b >> 3;
      const form = b & 7;
      if (form === 5) {
        this.dImm = rd32(q, at);
        return this.dEnd(len, D_ALU_RI, op | (EAX << 3));
      }
      if (form === 4) {
        this.dImm = q[at];
        return this.dEnd(len, D_GENERIC, 0xc0 | (G_ALU8_AI << 8) | (op << 14));
      }
      const reg = (modrm >> 3) & 7;
      if (form === 1 || form === 3) {
        if (modrm >= 0xc0) {
          const rm = modrm & 7;
          return this.dEnd(len, D_ALU_RR, form === 1 ? op | (rm << 3) | (reg << 6) : op | (reg << 3) | (rm << 6));
        }
        return this.dEnd(len, form === 1 ? D_ALU_MR : D_ALU_RM, op | (reg << 3));
      }
      return this.dEnd(len, D_GENERIC, modrm | ((form === 0 ? G_ALU8_MR : G_ALU8_RM) << 8) | (op << 14));
    }
    if (b >= 0x40 && b < 0x48) return this.dEnd(len, D_INC_R, b & 7);
    if (b >= 0x48 && b < 0x50) return this.dEnd(len, D_DEC_R, b & 7);
    if (b >= 0x50 && b < 0x58) return this.dEnd(len, D_PUSH_R, b & 7);
    if (b >= 0x58 && b < 0x60) return this.dEnd(len, D_POP_R, b & 7);
    if (b >= 0x70 && b < 0x80) {
      this.dImm = (q[at] << 24) >> 24;
      return this.dEnd(len, D_JCC, b & 15);
    }
    if (b >= 0xb8 && b < 0xc0) {
      this.dImm = rd32(q, at);
      return this.dEnd(len, D_MOV_RI, b & 7);
    }
    if (b >= 0xb0 && b < 0xb8) {
      this.dImm = q[at];
      return this.dEnd(len, D_GENERIC, 0xc0 | (b & 7) | (G_MOV8_MI << 8));
    }
    switch (b) {
      case 0x06:
      case 0x0e:
      case 0x16:
      case 0x1e:
        return this.dEnd(len, D_PUSH_SEG, b >> 3); // ES CS SS DS
      case 0x07:
      case 0x1f:
        return this.dEnd(len, D_POP_SEG, b >> 3); // POP ES, DS (POP SS: step())
      case 0x8e: // MOV Sreg, r/m16 (a word whatever the operand size); CS and reg > 5 were #UD above
        if (((modrm >> 3) & 7) === SS) return D_SLOW; // the MOV SS shadow: step()
        return modrm >= 0xc0
          ? this.dEnd(len, D_MOV_SEG_R, modrm & 0x3f)
          : this.dEnd(len, D_MOV_SEG_M, (modrm >> 3) & 7);
      case 0x68:
        this.dImm = rd32(q, at);
        return this.dEnd(len, D_PUSH_I, 0);
      case 0x6a:
        this.dImm = (q[at] << 24) >> 24;
        return this.dEnd(len, D_PUSH_I, 0);
      case 0x69:
      case 0x6b: {
        this.dImm = b === 0x69 ? rd32(q, at) : (q[at] << 24) >> 24;
        if (modrm >= 0xc0) return this.dEnd(len, D_IMUL3_R, modrm & 0x3f);
        return this.dEnd(len, D_GENERIC, modrm | (G_IMUL3 << 8));
      }
      case 0x80:
      case 0x81:
      case 0x83: {
        const op = (modrm >> 3) & 7;
        if (b === 0x80) {
          this.dImm = q[at];
          return this.dEnd(len, D_GENERIC, modrm | (G_ALU8_MI << 8) | (op << 14));
        }
        this.dImm = b === 0x81 ? rd32(q, at) : (q[at] << 24) >> 24;
        if (modrm >= 0xc0) return this.dEnd(len, D_ALU_RI, op | ((modrm & 7) << 3));
        return this.dEnd(len, D_ALU_MI, op);
      }
      case 0x86:
      case 0x87:
        return this.dEnd(len, D_GENERIC, modrm | ((b === 0x86 ? G_XCHG8 : G_XCHG) << 8));
      case 0x84:
      case 0x85: {
        const reg = (modrm >> 3) & 7;
        if (b === 0x84) return this.dEnd(len, D_GENERIC, modrm | (G_TEST8 << 8));
        if (modrm >= 0xc0) return this.dEnd(len, D_TEST_RR, (modrm & 7) | (reg << 3));
        return this.dEnd(len, D_TEST_MR, reg);
      }
      case 0x88:
      case 0x8a:
        return this.dEnd(len, D_GENERIC, modrm | ((b === 0x88 ? G_MOV8_MR : G_MOV8_RM) << 8));
      case 0x89:
      case 0x8b: {
        const reg = (modrm >> 3) & 7;
        if (modrm >= 0xc0) {
          const rm = modrm & 7;
          return this.dEnd(len, D_MOV_RR, b === 0x89 ? rm | (reg << 3) : reg | (rm << 3));
        }
        return this.dEnd(len, b === 0x89 ? D_MOV_MR : D_MOV_RM, reg);
      }
      case 0x8d:
        return this.dEnd(len, D_LEA, (modrm >> 3) & 7); // mod = 11 is #UD (E_MEM_ONLY above)
      case 0x90:
        return this.dEnd(len, D_NOP, 0);
      case 0x99:
        return this.dEnd(len, D_CDQ, 0);
      case 0x9c:
        return this.dEnd(len, D_PUSHF, 0);
      case 0xa0:
      case 0xa2:
        // MOV AL, moffs8 / MOV moffs8, AL: MOV r/m8 with ModR/M [disp32] (8A 05, 88 05).
        return this.dMoffs(q, at, seg, len, G_MOV8_RM, G_MOV8_MR, b === 0xa0, 0);
      case 0xa1:
      case 0xa3:
        this.dW1 = 8 | (8 << 4) | ((seg === NO_SEG ? DS : seg) << 10);
        this.dDisp = rd32(q, at);
        return this.dEnd(len, b === 0xa1 ? D_MOV_RM : D_MOV_MR, EAX);
      case 0xa8:
        this.dImm = q[at];
        return this.dEnd(len, D_GENERIC, 0xc0 | (G_TEST8_MI << 8));
      case 0xa9:
        this.dImm = rd32(q, at);
        return this.dEnd(len, D_TEST_RI, EAX);
      case 0xc0:
      case 0xc1:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        if (b < 0xd0) this.dImm = q[at];
        else if (b < 0xd2) this.dImm = 1;
        else this.dImm = -1; // CL
        if (b & 1 && modrm >= 0xc0 && (modrm & 0x38) >= 0x20)
          return this.dEnd(len, D_SHIFT_R, (modrm & 0x3f) | ((this.dImm < 0 ? 32 : this.dImm & 31) << 6));
        // ROL/ROR of a dword register: the hash and cipher rounds of Linux's boot (blake2s for the
        // random pool, chacha) run a few hundred times, too few to be compiled, so interpreted.
        if (b & 1 && modrm >= 0xc0 && (modrm & 0x38) < 0x10)
          return this.dEnd(len, D_ROTATE_R, (modrm & 0x3f) | ((this.dImm < 0 ? 32 : this.dImm & 31) << 6));
        return this.dEnd(len, D_GENERIC, modrm | ((b & 1 ? G_SHIFT : G_SHIFT8) << 8));
      }
      case 0xc2:
        this.dImm = q[at] | (q[at + 1] << 8);
        return this.dEnd(len, D_RET, 0);
      case 0xc3:
        return this.dEnd(len, D_RET, 0);
      case 0xc6: // /0 only (the table's group): other reg values were sent to step() above
        this.dImm = q[at];
        return this.dEnd(len, D_GENERIC, modrm | (G_MOV8_MI << 8));
      case 0xc7:
        this.dImm = rd32(q, at);
        if (modrm >= 0xc0) return this.dEnd(len, D_MOV_RI, modrm & 7);
        return this.dEnd(len, D_MOV_MI, 0);
      case 0xc9:
        return this.dEnd(len, D_LEAVE, 0);
      case 0xe4:
      case 0xe5:
      case 0xe6:
      case 0xe7:
      case 0xec:
      case 0xed:
      case 0xee:
      case 0xef:
        this.dImm = b < 0xe8 ? q[at] : 0; // the port of E4–E7 (EC–EF: DX)
        return this.dEnd(len, D_IO, b); // the byte forms at any operand size, the others at 32
      case 0xe8:
        this.dImm = rd32(q, at);
        return this.dEnd(len, D_CALL, 0);
      case 0xe9:
        this.dImm = rd32(q, at);
        return this.dEnd(len, D_JMP, 0);
      case 0xeb:
        this.dImm = (q[at] << 24) >> 24;
        return this.dEnd(len, D_JMP, 0);
      case 0xf6:
      case 0xf7: {
        const op = (modrm >> 3) & 7;
        if (op < 2) {
          if (b === 0xf6) {
            this.dImm = q[at];
            return this.dEnd(len, D_GENERIC, modrm | (G_TEST8_MI << 8));
          }
          this.dImm = rd32(q, at);
          if (modrm >= 0xc0) return this.dEnd(len, D_TEST_RI, modrm & 7);
          return this.dEnd(len, D_GENERIC, modrm | (G_TEST_MI << 8));
        }
        if (b === 0xf7 && modrm >= 0xc0 && op <= 5) return this.dEnd(len, D_GRP3_R, modrm & 0x3f);
        if (b === 0xf7 && modrm >= 0xc0 && op >= 6) return this.dEnd(len, D_DIV_R, modrm & 0x3f);
        return this.dEnd(len, D_GENERIC, modrm | ((b === 0xf6 ? G_GRP3_8 : G_GRP3) << 8));
      }
      case 0xfe:
        return this.dEnd(len, D_GENERIC, modrm | (G_INCDEC8 << 8)); // /0 and /1: the table's group
      case 0xff: {
        const op = (modrm >> 3) & 7;
        if (op < 2) {
          if (modrm >= 0xc0) return this.dEnd(len, op === 0 ? D_INC_R : D_DEC_R, modrm & 7);
          return this.dEnd(len, D_GENERIC, modrm | (G_INCDEC << 8));
        }
        if (op === 2) return modrm >= 0xc0 ? this.dEnd(len, D_CALL_R, modrm & 7) : this.dEnd(len, D_CALL_M, 0);
        if (op === 4) return modrm >= 0xc0 ? this.dEnd(len, D_JMP_R, modrm & 7) : this.dEnd(len, D_JMP_M, 0);
        if (op === 6) return modrm >= 0xc0 ? this.dEnd(len, D_PUSH_R, modrm & 7) : this.dEnd(len, D_PUSH_M, 0);
        return D_SLOW;
      }
    }
    return D_SLOW;
  }

  protected decode0f(q: Uint8Array, k: number, seg: number, lock: boolean): number {
    const b = q[k++];
    const modrm = q[k];
    const e = ENCODING[((0x100 | b) << 3) | ((modrm >> 3) & 7)];
    if ((e & (E_DEFINED | E_BAD_REG)) !== E_DEFINED || (modrm >= 0xc0 && e & E_MEM_ONLY)) return D_SLOW; // #UD: step()
    // LOCK as in decodeForm: a memory destination the table allows (CMPXCHG, XADD, BTS …).
    if (lock && (!(e & E_LOCK) || !(e & E_MODRM) || modrm >= 0xc0)) return D_SLOW;
    if (e & E_REG_ONLY) return D_SLOW; // MOV CRn/DRn: not cached
    if (!this.dA32 && e & E_MODRM && modrm < 0xc0) return D_SLOW; // 16-bit addressing
    const o32 = this.dO32;
    const at = e & E_MODRM ? this.dModrm(q, k, seg) : k;
    const len = at + ((e >>> (o32 && this.dA32 ? IMM_O32_A32_SHIFT : immShift(o32, this.dA32))) & 7);
    // As in decodeForm: a Jcc rel32 in 16-bit code is cached when its target lies inside 64 KiB.
    if (!this.dCode32 && o32 && e & E_BRANCH) {
      if (!(b >= 0x80 && b < 0x90) || !this.inIp16((this.dEip + len + rd32(q, at)) | 0)) return D_SLOW;
    }
    // NOP Ev (the multi-byte NOP, any operand size), which compilers and assemblers pad code with:
    // through step() each one ended a block.
    if (b === 0x1f) return this.dEnd(len, D_NOP, 0);
    // RDTSC: Linux's udelay() reads it at every turn of its loop (delay_tsc); through step() each
    // read cost a whole decode.
    if (b === 0x31) return this.dEnd(len, D_RDTSC, 0);
    if (b === 0xa4 || b === 0xa5 || b === 0xac || b === 0xad) {
      this.dImm = b & 1 ? 0 : q[at];
      const extra = (b & 1) | ((b >> 2) & 2); // CL, SHRD
      return this.dEnd(len, D_GENERIC, modrm | (G_SHLD << 8) | (extra << 14) | (o32 ? 0 : X16));
    }
    const w16 = o32 ? 0 : X16;
    switch (b) {
      // CMPXCHG, XADD (the byte form in extra bit 0), BT* r/m, r (the operation in extra), BT* r/m, imm8.
      case 0xb0:
      case 0xb1:
        return this.dEnd(len, D_GENERIC, modrm | (G_CMPXCHG << 8) | ((~b & 1) << 14) | w16);
      case 0xc0:
      case 0xc1:
        return this.dEnd(len, D_GENERIC, modrm | (G_XADD << 8) | ((~b & 1) << 14) | w16);
      case 0xa3:
      case 0xab:
      case 0xb3:
      case 0xbb:
        return this.dEnd(len, D_GENERIC, modrm | (G_BT << 8) | (((b >> 3) & 3) << 14) | w16);
      case 0xa0:
      case 0xa8:
        if (o32) return this.dEnd(len, D_PUSH_SEG, b === 0xa0 ? FS : GS);
        return D_SLOW; // PUSH FS/GS of a word: step()
      case 0xa1:
      case 0xa9:
        if (o32) return this.dEnd(len, D_POP_SEG, b === 0xa1 ? FS : GS);
        return D_SLOW;
      case 0xba: // /4–/7 (the others are #UD, sent to step() above)
        this.dImm = q[at];
        return this.dEnd(len, D_GENERIC, modrm | (G_BTI << 8) | (((modrm >> 3) & 3) << 14) | w16);
    }
    if (!o32) {
      // Operand size 16: SETcc is the same; the word forms of CMOVcc, IMUL, MOVZX/MOVSX; Jcc rel16.
      if (b >= 0x80 && b < 0x90) return this.dBranch16(len, D_JCC, b & 15, ((q[at] | (q[at + 1] << 8)) << 16) >> 16);
      if (b >= 0x40 && b < 0x50) return this.dEnd(len, D_GENERIC, modrm | (G_CMOV << 8) | ((b & 15) << 14) | X16);
      if (b === 0xaf) return this.dEnd(len, D_GENERIC, modrm | (G_IMUL2 << 8) | X16);
      if (b === 0xb6 || b === 0xb7 || b === 0xbe || b === 0xbf)
        return this.dEnd(len, D_GENERIC, modrm | (G_MOVX << 8) | ((b & 9) << 14) | X16);
      if (b === 0xbc || b === 0xbd) return this.dEnd(len, D_GENERIC, modrm | (G_BITSCAN << 8) | ((b & 1) << 14) | X16);
      if (b < 0x90 || b >= 0xa0) return D_SLOW;
    }
    if (b >= 0x80 && b < 0x90) {
      this.dImm = rd32(q, at);
      return this.dEnd(len, D_JCC, b & 15);
    }
    // BSWAP r32; BSF / BSR (bit-ops.ts), whose register form is D_BITSCAN_R. At operand size 16
    // they were left to step() above.
    if (b >= 0xc8 && b <= 0xcf) return this.dEnd(len, D_BSWAP, b & 7);
    if (b === 0xbc || b === 0xbd) {
      if (modrm >= 0xc0) return this.dEnd(len, D_BITSCAN_R, ((modrm >> 3) & 7) | ((modrm & 7) << 3) | ((b & 1) << 6));
      return this.dEnd(len, D_GENERIC, modrm | (G_BITSCAN << 8) | ((b & 1) << 14));
    }
    if (b >= 0x90 && b < 0xa0) {
      if (modrm >= 0xc0) return this.dEnd(len, D_SETCC_R, (modrm & 7) | ((b & 15) << 3));
      return this.dEnd(len, D_GENERIC, modrm | (G_SETCC << 8) | ((b & 15) << 14));
    }
    if (b >= 0x40 && b < 0x50) return this.dEnd(len, D_GENERIC, modrm | (G_CMOV << 8) | ((b & 15) << 14));
    switch (b) {
      case 0xaf:
        return this.dEnd(len, D_GENERIC, modrm | (G_IMUL2 << 8));
      case 0xb6:
      case 0xb7:
      case 0xbe:
      case 0xbf: {
        if (b === 0xb6 && modrm < 0xc0) return this.dEnd(len, D_MOVZX8_M, (modrm >> 3) & 7);
        if (modrm >= 0xc0) return this.dEnd(len, D_MOVX_R, ((modrm >> 3) & 7) | ((modrm & 7) << 3) | ((b & 9) << 6));
        return this.dEnd(len, D_GENERIC, modrm | (G_MOVX << 8) | ((b & 9) << 14));
      }
    }
    return D_SLOW;
  }

  protected dImm = 0;

  /**
   * A register CMP/TEST/ALU form followed by Jcc inside the page becomes one D_ALU_JCC entry
   * (payload: op | dst << 3 | src << 6 | imm << 9 | noStore << 10 | cc << 11 | len1 << 15, the
   * branch displacement in w2). Neither part can fault. At most 15 bytes, so that a write to the
   * Jcc's bytes still clears the entry (codeWritten).
   */
  protected fuseJcc(w0: number, q: Uint8Array, avail: number): number {
    const h = w0 & 0x3f;
    if (h !== D_ALU_RR && h !== D_ALU_RI && h !== D_TEST_RR && h !== D_TEST_RI) return w0;
    const len = this.dLen;
    const b = q[len];
    let cc: number;
    let rel: number;
    let total: number;
    if (b >= 0x70 && b < 0x80 && len + 2 <= avail) {
      cc = b & 15;
      rel = (q[len + 1] << 24) >> 24;
      total = len + 2;
      // In 16-bit code the Jcc's operand size is 16: IP + rel is masked to 16 bits (dBranch16).
      if (!this.dCode32 && !this.inIp16((this.dEip + total + rel) | 0)) return w0;
    } else if (!this.dCode32) return w0;
    else if (b === 0x0f && q[len + 1] >= 0x80 && q[len + 1] < 0x90 && len + 6 <= avail) {
      cc = q[len + 1] & 15;
      rel = rd32(q, len + 2);
      total = len + 6;
    } else return w0;
    if (total > 15) return w0;
    const x = w0 >>> 12;
    let fields: number; // op | dst << 3 | src << 6 | imm << 9 | noStore << 10
    if (h === D_ALU_RR) fields = (x & 0x1ff) | ((x & 7) === 7 ? 0x400 : 0);
    else if (h === D_ALU_RI) fields = (x & 0x3f) | 0x200 | ((x & 7) === 7 ? 0x400 : 0);
    else if (h === D_TEST_RR) fields = 4 | ((x & 7) << 3) | (((x >> 3) & 7) << 6) | 0x400;
    else fields = 4 | ((x & 7) << 3) | 0x200 | 0x400;
    this.dLen = total;
    this.dDisp = rel;
    return D_ALU_JCC | (total << 8) | ((fields | (cc << 11) | (len << 15)) << 12);
  }

  /** Whether a 16-bit branch target computed without the mask is one the mask leaves as it is. */
  protected inIp16(t: number): boolean {
    return t >= 0 && t <= 0xffff;
  }

  /**
   * A near branch of operand size 16 (IP ← (IP + rel) & 0xFFFF): cached as the 32-bit form only in
   * 16-bit code, where the page's entries belong to one window EIP (openWindow), and only when the
   * mask changes nothing; else step().
   */
  protected dBranch16(len: number, h: number, payload: number, rel: number): number {
    if (this.dCode32 || !this.inIp16((this.dEip + len + rel) | 0)) return D_SLOW;
    this.dImm = rel;
    return this.dEnd(len, h, payload);
  }

  /**
   * The word-size forms (operand size 16, 32-bit or no addressing) of the one-byte map, as generic
   * entries run by the interpreter's helpers at size 2 (X16); the byte forms were decoded as in
   * 32-bit code (BYTE_FORM). What is not here (PUSH/POP/CALL/RET of words, CWD, …) is step()'s.
   */
  protected decodeWord(q: Uint8Array, b: number, modrm: number, at: number, len: number, seg: number): number {
    const imm16 = q[at] | (q[at + 1] << 8);
    const imm8s = ((q[at] << 24) >> 24) & 0xffff;
    if (b < 0x40 && (b & 7) < 6) {
      const op = b >> 3;
      const form = b & 7; // 1: Ev,Gv  3: Gv,Ev  5: AX,Iv (the byte forms 0, 2, 4 are BYTE_FORM)
      if (form === 5) {
        this.dImm = imm16;
        return this.dEnd(len, D_GENERIC, 0xc0 | EAX | (G_ALU_MI << 8) | (op << 14) | X16);
      }
      return this.dEnd(len, D_GENERIC, modrm | ((form === 1 ? G_ALU_MR : G_ALU_RM) << 8) | (op << 14) | X16);
    }
    if (b >= 0x40 && b < 0x50) return this.dEnd(len, D_GENERIC, 0xc0 | (b & 15) | (G_INCDEC << 8) | X16); // reg field 0/1
    if (b >= 0x70 && b < 0x80) return this.dBranch16(len, D_JCC, b & 15, (q[at] << 24) >> 24);
    if (b >= 0xb8 && b < 0xc0) {
      this.dImm = imm16;
      return this.dEnd(len, D_GENERIC, 0xc0 | (b & 7) | (G_MOV_MI << 8) | X16);
    }
    switch (b) {
      case 0x69:
      case 0x6b:
        this.dImm = b === 0x69 ? imm16 : imm8s;
        return this.dEnd(len, D_GENERIC, modrm | (G_IMUL3 << 8) | X16);
      case 0x81:
      case 0x83:
        this.dImm = b === 0x81 ? imm16 : imm8s;
        return this.dEnd(len, D_GENERIC, modrm | (G_ALU_MI << 8) | (((modrm >> 3) & 7) << 14) | X16);
      case 0x85:
        return this.dEnd(len, D_GENERIC, modrm | (G_TEST_MR << 8) | X16);
      case 0x87:
        return this.dEnd(len, D_GENERIC, modrm | (G_XCHG << 8) | X16);
      case 0xa1:
      case 0xa3:
        // MOV AX, moffs16 / MOV moffs16, AX: MOV r/m16 with ModR/M [disp32] (66 8B 05, 66 89 05).
        return this.dMoffs(q, at, seg, len, G_MOV_RM, G_MOV_MR, b === 0xa1, X16);
      case 0x89:
        return this.dEnd(len, D_GENERIC, modrm | (G_MOV_MR << 8) | X16);
      case 0x8b:
        return this.dEnd(len, D_GENERIC, modrm | (G_MOV_RM << 8) | X16);
      case 0x8d:
        return this.dEnd(len, D_GENERIC, modrm | (G_LEA << 8) | X16);
      case 0xa9:
        this.dImm = imm16;
        return this.dEnd(len, D_GENERIC, 0xc0 | EAX | (G_TEST_MI << 8) | X16);
      case 0xc1:
      case 0xd1:
      case 0xd3:
        this.dImm = b === 0xc1 ? q[at] : b === 0xd1 ? 1 : -1; // -1: CL
        return this.dEnd(len, D_GENERIC, modrm | (G_SHIFT << 8) | X16);
      case 0xc7:
        this.dImm = imm16;
        return this.dEnd(len, D_GENERIC, modrm | (G_MOV_MI << 8) | X16);
      case 0xe9:
        return this.dBranch16(len, D_JMP, 0, (imm16 << 16) >> 16);
      case 0xeb:
        return this.dBranch16(len, D_JMP, 0, (q[at] << 24) >> 24);
      case 0xf7: {
        const op = (modrm >> 3) & 7;
        if (op < 2) {
          this.dImm = imm16;
          return this.dEnd(len, D_GENERIC, modrm | (G_TEST_MI << 8) | X16);
        }
        return this.dEnd(len, D_GENERIC, modrm | (G_GRP3 << 8) | X16);
      }
      case 0xff:
        if (((modrm >> 3) & 7) < 2) return this.dEnd(len, D_GENERIC, modrm | (G_INCDEC << 8) | X16);
        return D_SLOW;
    }
    return D_SLOW;
  }

  /**
   * MOV between the accumulator and memory at a 32-bit offset (A0–A3: 16-bit addressing went to
   * step()) as the generic MOV form `load` or `store` with ModR/M 05 ([disp32], reg AL/AX): what
   * 8A 05 disp32 decodes to, the segment DS or the override.
   */
  protected dMoffs(
    q: Uint8Array,
    at: number,
    seg: number,
    len: number,
    load: number,
    store: number,
    toAcc: boolean,
    w16: number,
  ): number {
    this.dW1 = 8 | (8 << 4) | ((seg === NO_SEG ? DS : seg) << 10);
    this.dDisp = rd32(q, at);
    return this.dEnd(len, D_GENERIC, 0x05 | ((toAcc ? load : store) << 8) | w16);
  }

  protected dEnd(len: number, h: number, payload: number): number {
    this.dLen = len;
    return h | W0_BITS[h] | (len << 8) | (payload << 12);
  }

  /** ModR/M, SIB and displacement (32-bit addressing) at q[k]; fills dW1/dDisp; returns the next k. */
  protected dModrm(q: Uint8Array, k: number, seg: number): number {
    const modrm = q[k++];
    const mod = modrm >> 6;
    if (mod === 3) return k;
    const rm = modrm & 7;
    let base = 8;
    let index = 8;
    let scale = 0;
    let disp = 0;
    let defSeg = DS;
    if (rm === 4) {
      const sib = q[k++];
      const sb = sib & 7;
      const ix = (sib >> 3) & 7;
      scale = sib >> 6;
      if (sb === 5 && mod === 0) {
        disp = rd32(q, k);
        k += 4;
      } else {
        base = sb;
        if (sb === ESP || sb === EBP) defSeg = SS;
      }
      if (ix !== 4) index = ix;
    } else if (rm === 5 && mod === 0) {
      disp = rd32(q, k);
      k += 4;
    } else {
      base = rm;
      if (rm === EBP) defSeg = SS;
    }
    if (mod === 1) disp = (disp + ((q[k++] << 24) >> 24)) | 0;
    else if (mod === 2) {
      disp = (disp + rd32(q, k)) | 0;
      k += 4;
    }
    this.dW1 = base | (index << 4) | (scale << 8) | ((seg === NO_SEG ? defSeg : seg) << 10);
    this.dDisp = disp;
    return k;
  }
}
