/**
 * The decoded-instruction cache's forms executed (the layer under the cache itself, decoded-cache.ts,
 * which keeps the entries, the windows and the compiled blocks): the memory and generic forms
 * (execDecoded), the stack forms (execStack), the register forms (execReg), the generic forms
 * through the interpreter's helpers (execGeneric, which compiled blocks call too), and the helpers
 * these share with step() and the blocks (flagOp, portIn/portOut, RDTSC, the cached operand's address and
 * its dword load and store).
 */
import type { AccessSize } from '../bus';
import { NEG_AS } from './alu-ops';
import { notOf } from './muldiv-ops';
import { CF, DF, IF, PUSHFD_IMAGE, ZF } from './flags';
import { EAX, NO_SEG, ECX, EDX, ESP, EBP, CR0_PE, CR4_TSD, CpuFault, GP } from './arch';
import {
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
  D_JMP,
  D_CALL_R,
  D_CALL_M,
  D_JMP_R,
  D_JMP_M,
  D_CDQ,
  D_LEAVE,
  D_SHIFT_R,
  D_GRP3_R,
  D_DIV_R,
  D_IMUL3_R,
  D_MOVZX8_M,
  D_SETCC_R,
  D_PUSH_M,
  D_MOVX_R,
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
  X16,
  D_RDTSC,
  D_ROTATE_R,
  D_BITSCAN_R,
  D_NOP,
  D_BSWAP,
  G_BITSCAN,
  D_PUSHF,
  D_FLAG,
  D_STI,
  D_PUSH_SEG,
  D_POP_SEG,
  D_MOV_SEG_R,
  D_STRING,
  D_MOV_SEG_M,
  D_IO,
  G_CMPXCHG,
  G_XADD,
  G_BT,
  G_BTI,
  G_XCHG8,
  G_XCHG,
} from './decoded';
import { CpuDecoder } from './decoder';

export abstract class CpuDecodedExec extends CpuDecoder {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract group3Body(size: number): void;

  /** The cached memory forms and the generic ones (the stack forms: execStack; registers: execReg). */
  protected execDecoded(w0: number, x: number, d: Int32Array, p: number): void {
    const r = this.reg32;
    switch (w0 & 0x3f) {
      case 3 satisfies typeof D_ALU_RM: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const res = this.alu32(op, r[dst], this.dLoad32(d, p));
        if (op !== 7) r[dst] = res;
        return;
      }
      case 4 satisfies typeof D_ALU_MR: {
        const op = x & 7;
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const res = this.alu32(op, this.dRead32(lin), r[(x >> 3) & 7]);
        if (op !== 7) this.dWrite32(lin, res);
        return;
      }
      case 6 satisfies typeof D_ALU_MI: {
        const op = x & 7;
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const res = this.alu32(op, this.dRead32(lin), d[p + 3]);
        if (op !== 7) this.dWrite32(lin, res);
        return;
      }
      case 8 satisfies typeof D_TEST_MR:
        this.alu32(4, this.dLoad32(d, p), r[x & 7]);
        return;
      // gen:moves execDecoded (tools/gen-moves.ts, from move-ops.ts: do not edit)
      // MOV m32, r32
      case 11 satisfies typeof D_MOV_MR:
        this.dStore32(d, p, r[x & 7]);
        return;
      // MOV r32, m32
      case 12 satisfies typeof D_MOV_RM:
        r[x & 7] = this.dLoad32(d, p);
        return;
      // MOV m32, imm32
      case 14 satisfies typeof D_MOV_MI:
        this.dStore32(d, p, d[p + 3]);
        return;
      // PUSH m32
      case 40 satisfies typeof D_PUSH_M:
        this.push32(this.dLoad32(d, p));
        return;
      // MOV Sreg, r16
      case 54 satisfies typeof D_MOV_SEG_R:
        this.loadSeg((x >> 3) & 7, r[x & 7] & 0xffff);
        return;
      // MOV Sreg, m16
      case 51 satisfies typeof D_MOV_SEG_M:
        this.loadSeg(x, this.dLoad16(d, p) & 0xffff);
        return;
      // RDTSC
      case 43 satisfies typeof D_RDTSC:
        this.rdtsc();
        return;
      // JMP m32
      case 29 satisfies typeof D_JMP_M: {
        const t = this.dLoad32(d, p);
        this._eip = t | 0;
        return;
      }
      // CALL m32
      case 27 satisfies typeof D_CALL_M: {
        const t = this.dLoad32(d, p);
        this.push32(this._eip);
        this._eip = t | 0;
        return;
      }
      // end gen:moves
      case 48 satisfies typeof D_FLAG:
        this.flagOp(x);
        return;
      case 55 satisfies typeof D_STRING:
        this.stringForm(x);
        return;
      case 52 satisfies typeof D_IO:
        // Never in a block (blockable): the run loop's next turn sees an interrupt the device
        // raised, and the window reopens if the access moved the epoch (externalWrites).
        switch (x) {
          // gen:moves io (tools/gen-moves.ts, from move-ops.ts: do not edit)
          // IN AL, Ib
          case 0xe4:
            this.setReg(EAX, 1, this.portIn(d[p + 3], 1));
            return;
          // IN eAX, Ib
          case 0xe5:
            this.setReg(EAX, 4, this.portIn(d[p + 3], 4));
            return;
          // OUT Ib, AL
          case 0xe6:
            this.portOut(d[p + 3], 1, this.getReg(EAX, 1));
            return;
          // OUT Ib, eAX
          case 0xe7:
            this.portOut(d[p + 3], 4, this.getReg(EAX, 4));
            return;
          // IN AL, DX
          case 0xec:
            this.setReg(EAX, 1, this.portIn(this.reg32[EDX] & 0xffff, 1));
            return;
          // IN eAX, DX
          case 0xed:
            this.setReg(EAX, 4, this.portIn(this.reg32[EDX] & 0xffff, 4));
            return;
          // OUT DX, AL
          case 0xee:
            this.portOut(this.reg32[EDX] & 0xffff, 1, this.getReg(EAX, 1));
            return;
          // OUT DX, eAX
          case 0xef:
            this.portOut(this.reg32[EDX] & 0xffff, 4, this.getReg(EAX, 4));
            return;
          // end gen:moves
        }
        return;
      case 49 satisfies typeof D_STI:
        // Never in a block (blockable): the next iteration of runInner sees `attention` and lets
        // events() keep the shadow for one instruction, as after step()'s STI.
        this.flagOp(0xfb);
        return;
      case 25 satisfies typeof D_DIV_R:
        // F7 /6 /7 on a 32-bit register: muldiv-ops.ts' divide through divAcc (as group3Body),
        // which raises #DE before writing anything; runInner set the restart point (D_MAY_FAULT).
        this.divAcc(r[x & 7] >>> 0, 4, (x & 8) !== 0);
        return;
      case 38 satisfies typeof D_MOVZX8_M: {
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const s = this.eaSeg;
        if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 1, false);
        r[x] = this.readLin8(lin);
        return;
      }
      default:
        this.execGeneric(x, d, p);
        return;
    }
  }

  /** The cached stack forms (PUSH, POP, CALL, LEAVE; CALL rel32 and RET are runInner's): a function of their own (see execReg). */
  protected execStack(w0: number, x: number, d: Int32Array, p: number): void {
    const r = this.reg32;
    switch (w0 & 0x3f) {
      // gen:moves execStack (tools/gen-moves.ts, from move-ops.ts: do not edit)
      // PUSH r32
      case 18 satisfies typeof D_PUSH_R:
        this.push32(r[x]);
        return;
      // POP r32
      case 19 satisfies typeof D_POP_R: {
        const v = this.pop32();
        r[x] = v;
        return;
      }
      // PUSH imm32
      case 20 satisfies typeof D_PUSH_I:
        this.push32(d[p + 3]);
        return;
      // PUSH Sreg
      case 50 satisfies typeof D_PUSH_SEG:
        this.push32(this.segSel[x]);
        return;
      // POP Sreg
      case 53 satisfies typeof D_POP_SEG: {
        const v = this.pop32();
        this.loadSeg(x, v & 0xffff);
        return;
      }
      // LEAVE
      case 34 satisfies typeof D_LEAVE: {
        if (this.stackSize32) r[ESP] = r[EBP];
        else this.setReg(ESP, 2, r[EBP]);
        const v = this.pop32();
        r[EBP] = v;
        return;
      }
      // PUSHFD
      case 47 satisfies typeof D_PUSHF:
        this.push32(this.flags & PUSHFD_IMAGE);
        return;
      // CALL r32
      case 26 satisfies typeof D_CALL_R: {
        const t = r[x];
        this.push32(this._eip);
        this._eip = t | 0;
        return;
      }
      // end gen:moves
      default:
        throw new Error(`cpu: handler ${w0 & 0x3f} is not a stack form`); // an emulator bug
    }
  }

  /** The cached forms that cannot fault (registers and jumps only): their own function, so that
   * V8 inlines their helpers within a budget of their own. */
  protected execReg(w0: number, x: number, d: Int32Array, p: number): void {
    const r = this.reg32;
    switch (w0 & 0x3f) {
      // D_JCC: runInner runs it inline (its case is its code). D_ALU_RR and D_ALU_RI: runInner runs
      // them inline but ADC and SBB, which it hands on here.
      case 2 satisfies typeof D_ALU_RR: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const res = this.alu32(op, r[dst], r[(x >> 6) & 7]);
        if (op !== 7) r[dst] = res;
        return;
      }
      case 5 satisfies typeof D_ALU_RI: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const res = this.alu32(op, r[dst], d[p + 3]);
        if (op !== 7) r[dst] = res;
        return;
      }
      case 7 satisfies typeof D_TEST_RR:
        this.alu32(4, r[x & 7], r[(x >> 3) & 7]);
        return;
      case 9 satisfies typeof D_TEST_RI:
        this.alu32(4, r[x & 7], d[p + 3]);
        return;
      // gen:moves execReg (tools/gen-moves.ts, from move-ops.ts: do not edit)
      // MOV r32, r32
      case 10 satisfies typeof D_MOV_RR:
        r[x & 7] = r[(x >> 3) & 7];
        return;
      // MOV r32, imm32
      case 13 satisfies typeof D_MOV_RI:
        r[x & 7] = d[p + 3];
        return;
      // LEA r32, m
      case 15 satisfies typeof D_LEA: {
        const w1 = d[p + 1];
        let off = d[p + 2];
        const base = w1 & 15;
        if (base < 8) off = (off + r[base]) | 0;
        const index = (w1 >> 4) & 15;
        if (index < 8) off = (off + (r[index] << ((w1 >> 8) & 3))) | 0;
        r[x] = off;
        return;
      }
      // CDQ
      case 33 satisfies typeof D_CDQ:
        r[EDX] = r[EAX] >> 31;
        return;
      // NOP
      case 32 satisfies typeof D_NOP:
        return;
      // BSWAP r32
      case 45 satisfies typeof D_BSWAP: {
        const v = r[x];
        r[x] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
        return;
      }
      // JMP rel32
      case 22 satisfies typeof D_JMP: {
        const t = (this._eip + d[p + 3]) | 0;
        this._eip = t | 0;
        return;
      }
      // JMP r32
      case 28 satisfies typeof D_JMP_R: {
        const t = r[x];
        this._eip = t | 0;
        return;
      }
      // SETcc r8
      case 39 satisfies typeof D_SETCC_R:
        this.setReg(x & 7, 1, this.cond(x >> 3) ? 1 : 0);
        return;
      // end gen:moves
      case 16 satisfies typeof D_INC_R:
        r[x] = this.incdec(r[x] >>> 0, 4, false);
        return;
      case 17 satisfies typeof D_DEC_R:
        r[x] = this.incdec(r[x] >>> 0, 4, true);
        return;
      case 41 satisfies typeof D_MOVX_R:
        // MOVZX/MOVSX from a register: x = dst | src << 3 | (0F B6/B7/BE/BF & 9) << 6.
        switch (x >> 6) {
          // gen:moves movx (tools/gen-moves.ts, from move-ops.ts and the opcode table: do not edit)
          // MOVZX r32, r8
          case 0:
            r[x & 7] = this.getReg((x >> 3) & 7, 1);
            return;
          // MOVZX r32, r16
          case 1:
            r[x & 7] = this.getReg((x >> 3) & 7, 2);
            return;
          // MOVSX r32, r8
          case 8:
            r[x & 7] = (this.getReg((x >> 3) & 7, 1) << 24) >> 24;
            return;
          // MOVSX r32, r16
          case 9:
            r[x & 7] = (this.getReg((x >> 3) & 7, 2) << 16) >> 16;
            return;
          // end gen:moves
        }
        return;
      case 35 satisfies typeof D_SHIFT_R: {
        // SHL/SHR/SAL/SAR on a register (count 32 = CL), flags kept lazily.
        const reg = x & 7;
        const op = (x >> 3) & 7;
        let n = (x >> 6) & 63;
        if (n === 32) n = r[ECX] & 31;
        if (n === 0) return; // count 0: nothing changes, flags included
        r[reg] = this.shift32(op, r[reg], n);
        return;
      }
      case 44 satisfies typeof D_ROTATE_R: {
        // ROL/ROR on a register (count 32 = CL): CF and OF set, a count of 0 changes nothing.
        const reg = x & 7;
        let n = (x >> 6) & 63;
        if (n === 32) n = r[ECX] & 31;
        if (n !== 0) r[reg] = this.rotate32((x >> 3) & 7, r[reg], n);
        return;
      }
      case 36 satisfies typeof D_GRP3_R: {
        // F7 /2 /3 /4 /5 on a 32-bit register: NOT, MUL and IMUL from muldiv-ops.ts (as
        // group3Body), NEG as SUB from 0 (CF = a ≠ 0, which the lazy SUB gives).
        const reg = x & 7;
        const op = (x >> 3) & 7;
        const a = r[reg] >>> 0;
        if (op === 2) r[reg] = notOf(a, 4);
        else if (op === 3) r[reg] = this.alu32(NEG_AS, 0, a);
        else this.mulAcc(a, 4, op === 5);
        return;
      }
      case 37 satisfies typeof D_IMUL3_R:
        r[(x >> 3) & 7] = this.imul2(r[x & 7] >>> 0, d[p + 3] >>> 0, 4);
        return;
      case 46 satisfies typeof D_BITSCAN_R: {
        // BSF / BSR r32, r32 (bit-ops.ts BITSCAN_STATEMENT, as bitScan): ZF alone; a 0 source
        // leaves the destination.
        const v = r[(x >> 3) & 7];
        // gen:bits execReg (tools/gen-bits.ts, from bit-ops.ts BITSCAN_STATEMENT: do not edit)
        if (x & 0x40) {
          if (v === 0) this.flags = this.flags | ZF;
          else {
            this.flags = this.flags & ~ZF;
            r[x & 7] = 31 - Math.clz32(v);
          }
        } else {
          if (v === 0) this.flags = this.flags | ZF;
          else {
            this.flags = this.flags & ~ZF;
            r[x & 7] = 31 - Math.clz32(v & -v);
          }
        }
        // end gen:bits
        return;
      }
      default:
        throw new Error(`cpu: handler ${w0 & 0x3f} is not a register form`); // an emulator bug
    }
  }

  /** The linear address of a cached memory operand (sets eaSeg/eaOff for the segment checks). */
  protected dEa(w1: number, disp: number): number {
    const r = this.reg32;
    let off = disp;
    const base = w1 & 15;
    if (base < 8) off = (off + r[base]) | 0;
    const index = (w1 >> 4) & 15;
    if (index < 8) off = (off + (r[index] << ((w1 >> 8) & 3))) | 0;
    const seg = (w1 >> 10) & 7;
    this.eaSeg = seg;
    this.eaOff = off;
    return (this.segBase[seg] + off) | 0;
  }

  /** The time-stamp counter: the machine clock's cycles plus what software wrote to IA32_TSC. */
  protected tsc(): number {
    return Math.max(0, this.env.tsc() + this.tscOffset);
  }

  /**
   * RDTSC (SDM vol. 2, RDTSC): EDX:EAX = the time-stamp counter; #GP(0) outside ring 0 (and in
   * virtual-8086 mode) when CR4.TSD = 1. step() checks that rule from the opcode table first.
   */
  protected rdtsc(): void {
    if (this._cr4 & CR4_TSD && this._cpl !== 0 && this._cr0 & CR0_PE) throw new CpuFault(GP, 0);
    const t = this.tsc();
    this.reg32[EAX] = t % 4294967296;
    this.reg32[EDX] = Math.floor(t / 4294967296);
  }

  /**
   * CLC STC CMC CLI STI CLD STD SAHF LAHF by opcode (F8 F9 F5 FA FB FC FD 9E 9F), for step() and
   * the cached D_FLAG and D_STI, generated from their one definition (flag-ops.ts, FLAG_SEMANTICS;
   * the block compiler pastes the same expressions). CLI and STI are #GP(0) in protected mode at
   * CPL > IOPL; IF = 0 can only hold back interrupts, which the run loop and the blocks' entry test
   * read as they are. STI that sets IF opens the interrupt shadow (`attention`: events() holds
   * interrupts for one instruction). IF and DF are not arithmetic flags: they change without
   * building the lazy ones.
   */
  flagOp(op: number): void {
    switch (op) {
      // gen:flags flagOp (tools/gen-flags.ts, from flag-ops.ts and the opcode table: do not edit)
      // SAHF
      case 0x9e:
        this.flags = (this.flags & ~0xd5) | ((this.reg32[EAX] >> 8) & 0xff & 0xd5) | 2;
        return;
      // LAHF
      case 0x9f:
        this.setReg(4, 1, (this.flags & 0xd7) | 2);
        return;
      // CMC
      case 0xf5:
        this.flags = this.flags ^ CF;
        return;
      // CLC
      case 0xf8:
        this.flags = this.flags & ~CF;
        return;
      // STC
      case 0xf9:
        this.flags = this.flags | CF;
        return;
      // CLI
      case 0xfa:
        if (this._cr0 & CR0_PE && this._cpl > this.iopl) throw new CpuFault(GP, 0);
        this.fl = this.fl & ~IF;
        return;
      // STI
      case 0xfb:
        if (this._cr0 & CR0_PE && this._cpl > this.iopl) throw new CpuFault(GP, 0);
        if (!(this.fl & IF)) {
          this.shadow = true; // events() holds interrupts for one instruction
          this.attention = 1;
        }
        this.fl = this.fl | IF;
        return;
      // CLD
      case 0xfc:
        this.fl = this.fl & ~DF;
        return;
      // STD
      case 0xfd:
        this.fl = this.fl | DF;
        return;
      // end gen:flags
    }
    throw new Error(`cpu: no flag instruction ${op}`); // an emulator bug
  }

  /**
   * IN (SDM vol. 2, IN): `size` bytes from `port`, for step() and the cached D_IO (both generated
   * from move-ops.ts): IOPL and the TSS's I/O bitmap first (checkIo), then the device, the I/O
   * breakpoints, and the epoch when a device may have written memory.
   */
  protected portIn(port: number, size: number): number {
    this.checkIo(port, size);
    const v = this.env.io.read(port, size as AccessSize);
    if (this.debugActive) this.ioBreakpoints(port, size);
    this.deviceAccessed(); // the device may have raised an interrupt request or written memory
    return v;
  }
  /** OUT (SDM vol. 2, OUT): `v`'s `size` bytes to `port`, as portIn. */
  protected portOut(port: number, size: number, v: number): void {
    this.checkIo(port, size);
    this.env.io.write(port, size as AccessSize, v);
    if (this.debugActive) this.ioBreakpoints(port, size);
    this.deviceAccessed();
  }

  /**
   * RDTSC in a compiled block, `retired` instructions past the count the block settles at its exit:
   * the count (which the icount clock reads) is the interpreter's for this instruction meanwhile.
   */
  rdtscAt(retired: number): void {
    this.instructions += retired;
    try {
      this.rdtsc();
    } finally {
      this.instructions -= retired;
    }
  }

  /** dRead32(dEa(…)) in one call (hot path: the loads of MOV, ALU, TEST, PUSH, CALL, JMP). */
  protected dLoad32(d: Int32Array, p: number): number {
    const w1 = d[p + 1];
    const r = this.reg32;
    let off = d[p + 2];
    const base = w1 & 15;
    if (base < 8) off = (off + r[base]) | 0;
    const index = (w1 >> 4) & 15;
    if (index < 8) off = (off + (r[index] << ((w1 >> 8) & 3))) | 0;
    const s = (w1 >> 10) & 7;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) {
      this.eaSeg = s;
      this.eaOff = off;
      this.checkSeg(s, off, 4, false);
    }
    return this.readLin32((this.segBase[s] + off) | 0);
  }

  /** The word at a cached memory operand, its segment checked (MOV Sreg, m16). */
  protected dLoad16(d: Int32Array, p: number): number {
    const lin = this.dEa(d[p + 1], d[p + 2]);
    const s = this.eaSeg;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 2, false);
    return this.readLin16(lin);
  }

  /** dWrite32(dEa(…), v) in one call (MOV stores). */
  protected dStore32(d: Int32Array, p: number, v: number): void {
    const w1 = d[p + 1];
    const r = this.reg32;
    let off = d[p + 2];
    const base = w1 & 15;
    if (base < 8) off = (off + r[base]) | 0;
    const index = (w1 >> 4) & 15;
    if (index < 8) off = (off + (r[index] << ((w1 >> 8) & 3))) | 0;
    const s = (w1 >> 10) & 7;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) {
      this.eaSeg = s;
      this.eaOff = off;
      this.checkSeg(s, off, 4, true);
    }
    this.writeLin32((this.segBase[s] + off) | 0, v);
  }

  /** A 32-bit memory operand at `lin` (after dEa): the segment checks, then the access. */
  protected dRead32(lin: number): number {
    const s = this.eaSeg;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 4, false);
    return this.readLin32(lin);
  }
  protected dWrite32(lin: number, v: number): void {
    const s = this.eaSeg;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 4, true);
    this.writeLin32(lin, v);
  }

  /**
   * D_STRING (execDecoded and compiled blocks): MOVS CMPS STOS LODS SCAS without REP, as step()
   * runs it after no prefix but 0x66 (0x67 in 16-bit code), with the state that decode leaves.
   */
  stringForm(x: number): void {
    this.ad32 = true;
    this.seg = NO_SEG;
    this.rep = 0;
    this.stringOnce(x & 0xff, x >>> 8);
  }

  /**
   * The less frequent cached forms, run by the interpreter's own helpers: the decode state that
   * decodeModrm() would leave (modrm, ea, eaSeg, eaOff, sizes) is rebuilt from the entry.
   */
  execGeneric(x: number, d: Int32Array, p: number): void {
    const modrm = x & 0xff;
    this.modrm = modrm;
    // Operand size: 4, or 2 for the word forms (X16); addressing is 32-bit (decodeForm).
    const size = x & X16 ? 2 : 4;
    this.op32 = size === 4;
    this.ad32 = true;
    this.seg = NO_SEG;
    this.rep = 0;
    if (modrm < 0xc0) this.ea = this.dEa(d[p + 1], d[p + 2]);
    const imm = d[p + 3];
    const r = this.reg32;
    const extra = (x >>> 14) & 15;
    switch ((x >>> 8) & 63) {
      // gen:generic execGeneric (tools/gen-generic.ts, from generic-forms.ts, alu-ops.ts, move-ops.ts and the opcode table: do not edit)
      // ADD OR ADC SBB AND SUB XOR CMP AL, Ib (the operation: the payload's extra bits)
      case 1 satisfies typeof G_ALU8_AI: {
        const op = extra & 7;
        const res = this.alu(op, this.getReg(EAX, 1), imm & 0xff, 1);
        if (op !== 7) this.setReg(EAX, 1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Eb, Gb (the operation: the payload's extra bits)
      case 2 satisfies typeof G_ALU8_MR: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(1), this.getReg(this.reg, 1), 1);
        if (op !== 7) this.setRm(1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Gb, Eb (the operation: the payload's extra bits)
      case 3 satisfies typeof G_ALU8_RM: {
        const op = extra & 7;
        const res = this.alu(op, this.getReg(this.reg, 1), this.getRm(1), 1);
        if (op !== 7) this.setReg(this.reg, 1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Eb, Ib (the operation: the payload's extra bits)
      case 4 satisfies typeof G_ALU8_MI: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(1), imm & 0xff, 1);
        if (op !== 7) this.setRm(1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Gv (the operation: the payload's extra bits)
      case 23 satisfies typeof G_ALU_MR: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(size), this.getReg(this.reg, size), size);
        if (op !== 7) this.setRm(size, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Gv, Ev (the operation: the payload's extra bits)
      case 24 satisfies typeof G_ALU_RM: {
        const op = extra & 7;
        const res = this.alu(op, this.getReg(this.reg, size), this.getRm(size), size);
        if (op !== 7) this.setReg(this.reg, size, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Iv (the operation: the payload's extra bits)
      case 25 satisfies typeof G_ALU_MI: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(size), size === 4 ? imm >>> 0 : imm & 0xffff, size);
        if (op !== 7) this.setRm(size, res);
        return;
      }
      // TEST Eb, Gb
      case 8 satisfies typeof G_TEST8:
        this.alu(4, this.getRm(1), this.getReg(this.reg, 1), 1);
        return;
      // TEST Ev, Gv
      case 29 satisfies typeof G_TEST_MR:
        this.alu(4, this.getRm(size), this.getReg(this.reg, size), size);
        return;
      // TEST Eb, Ib
      case 9 satisfies typeof G_TEST8_MI:
        this.alu(4, this.getRm(1), imm & 0xff, 1);
        return;
      // TEST Ev, Iv
      case 10 satisfies typeof G_TEST_MI:
        this.alu(4, this.getRm(size), size === 4 ? imm >>> 0 : imm & 0xffff, size);
        return;
      // INC DEC Eb
      case 18 satisfies typeof G_INCDEC8:
        this.setRm(1, this.incdec(this.getRm(1), 1, this.reg === 1));
        return;
      // INC DEC Ev
      case 17 satisfies typeof G_INCDEC:
        this.setRm(size, this.incdec(this.getRm(size), size, this.reg === 1));
        return;
      // MOV Eb, Gb
      case 6 satisfies typeof G_MOV8_MR:
        this.setRm(1, this.getReg(this.reg, 1));
        return;
      // MOV Gb, Eb
      case 7 satisfies typeof G_MOV8_RM:
        this.setReg(this.reg, 1, this.getRm(1));
        return;
      // MOV Eb, Ib
      case 5 satisfies typeof G_MOV8_MI:
        this.setRm(1, imm & 0xff);
        return;
      // MOV Ev, Gv
      case 26 satisfies typeof G_MOV_MR:
        this.setRm(size, this.getReg(this.reg, size));
        return;
      // MOV Gv, Ev
      case 27 satisfies typeof G_MOV_RM:
        this.setReg(this.reg, size, this.getRm(size));
        return;
      // MOV Ev, Iv
      case 28 satisfies typeof G_MOV_MI:
        this.setRm(size, size === 4 ? imm >>> 0 : imm & 0xffff);
        return;
      // LEA Gv, M
      case 30 satisfies typeof G_LEA:
        this.setReg(this.reg, size, this.eaOff);
        return;
      // SETcc Eb (the condition: the payload's extra bits)
      case 20 satisfies typeof G_SETCC:
        this.setRm(1, this.cond(extra) ? 1 : 0);
        return;
      // CMOVcc Gv, Ev (the condition: the payload's extra bits)
      case 21 satisfies typeof G_CMOV: {
        const v = this.getRm(size);
        if (this.cond(extra)) this.setReg(this.reg, size, v);
        return;
      }
      // XCHG Eb, Gb
      case 37 satisfies typeof G_XCHG8: {
        const t = this.getRm(1);
        this.setRm(1, this.getReg(this.reg, 1));
        this.setReg(this.reg, 1, t);
        return;
      }
      // XCHG Ev, Gv
      case 38 satisfies typeof G_XCHG: {
        const t = this.getRm(size);
        this.setRm(size, this.getReg(this.reg, size));
        this.setReg(this.reg, size, t);
        return;
      }
      // end gen:generic
      case 11 satisfies typeof G_IMUL3:
        this.setReg(this.reg, size, this.imul2(this.getRm(size), size === 4 ? imm >>> 0 : imm & 0xffff, size));
        return;
      case 12 satisfies typeof G_IMUL2:
        this.setReg(this.reg, size, this.imul2(this.getReg(this.reg, size), this.getRm(size), size));
        return;
      case 13 satisfies typeof G_SHIFT:
      case 14 satisfies typeof G_SHIFT8: {
        const sz = ((x >>> 8) & 63) === G_SHIFT ? size : 1;
        const a = this.getRm(sz);
        this.setRm(sz, this.shift(this.reg, a, imm < 0 ? r[ECX] & 0xff : imm, sz));
        return;
      }
      case 15 satisfies typeof G_GRP3:
        return this.group3Body(size);
      case 16 satisfies typeof G_GRP3_8:
        return this.group3Body(1);
      case 22 satisfies typeof G_MOVX:
        // MOVZX/MOVSX from memory or at operand size 16 (move-ops.ts: `set`, `extend`); extra: the
        // opcode's bits 0 and 3 (0F B6 → 0, B7 → 1, BE → 8, BF → 9).
        switch (extra) {
          // gen:moves movxGeneric (tools/gen-moves.ts, from move-ops.ts and the opcode table: do not edit)
          // MOVZX Gv, Eb
          case 0:
            this.setReg(this.reg, size, this.getRm(1));
            return;
          // MOVZX Gv, Ew
          case 1:
            this.setReg(this.reg, size, this.getRm(2));
            return;
          // MOVSX Gv, Eb
          case 8:
            this.setReg(this.reg, size, (this.getRm(1) << 24) >> 24);
            return;
          // MOVSX Gv, Ew
          case 9:
            this.setReg(this.reg, size, (this.getRm(2) << 16) >> 16);
            return;
          // end gen:moves
        }
        return;
      case 32 satisfies typeof G_BITSCAN:
        return this.bitScan((extra & 1) !== 0, size);
      case 31 satisfies typeof G_SHLD: {
        const count = (extra & 1 ? r[ECX] : imm) & 31;
        const res = this.shiftDouble((extra & 2) !== 0, this.getRm(size), this.getReg(this.reg, size), count, size);
        if (res >= 0) this.setRm(size, res);
        return;
      }
      case 33 satisfies typeof G_CMPXCHG:
        return this.cmpxchg(extra & 1 ? 1 : size);
      case 34 satisfies typeof G_XADD:
        return this.xadd(extra & 1 ? 1 : size);
      case 35 satisfies typeof G_BT:
        return this.bitOp(extra & 3, this.getReg(this.reg, size), size, true);
      case 36 satisfies typeof G_BTI:
        return this.bitOp(extra & 3, imm & 0xff, size, false);
    }
    throw new Error(`cpu: no cached form ${x}`);
  }
}
