/**
 * The x87 escapes D8–DF and FWAIT, in the Cpu class chain (README.md, "Layout"): the decoding of
 * every form (SDM vol. 2, A.5), the operands read from and written to memory, CR0.EM/MP/TS/NE,
 * #NM and #MF or FERR#, and the last-instruction pointers. The arithmetic is the FPU's own
 * (fpu/x87.ts, exact against the host); this layer only says what to call with what.
 */
import { CpuFault, CS, EAX, MF, NM, UD, CR0_EM, CR0_MP, CR0_NE, CR0_PE, CR0_TS } from './arch';
import { CF, OF, PF, SF, ZF, AF, VM } from './flags';
import { CpuDecodedCache } from './decoded-cache';
import { ArithOp, type Operand } from './fpu/x87';
import { readF80, writeF80 } from './fpu/f80';
import { envBytes, loadEnv, restore, save, storeEnv, type EnvFormat, type FpuMemory } from './fpu/env';
import type { ConstantName } from './fpu/convert';
import { X87_EXECUTES } from './opcodes';

/** D9 E8–EE: FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ. */
const CONSTANTS: readonly (ConstantName | 'one' | 'zero')[] = ['one', 'l2t', 'l2e', 'pi', 'lg2', 'ln2', 'zero'];
/** FSAVE/FRSTOR: the environment, then ST0–ST7 at 10 bytes each (SDM vol. 1, 8.1.10). */
const STATE_REGISTER_BYTES = 80;
/** FCMOVB/E/BE/U (DA) and their negations (DB) as the CPU's condition codes B, E, BE, P. */
const FCMOV_CONDITIONS = [0x2, 0x4, 0x6, 0xa];

export abstract class CpuFpu extends CpuDecodedCache {
  /**
   * The memory operand as FpuMemory, for the environment and state layouts: offsets from the
   * operand's linear address, through the MMU like any access.
   */
  private readonly envMemory: FpuMemory = {
    readU16: (o) => this.readLin16(this.ea + o),
    readU32: (o) => this.readLin32(this.ea + o),
    writeU16: (o, v) => this.writeLin16(this.ea + o, v),
    writeU32: (o, v) => this.writeLin32(this.ea + o, v),
  };

  /** Real-address and virtual-8086 mode: the FPU keeps linear pointers and uses the real layouts. */
  private get fpuRealMode(): boolean {
    return !(this._cr0 & CR0_PE) || (this.fl & VM) !== 0;
  }

  /**
   * FWAIT (9B): #NM when CR0.MP and CR0.TS are both set (SDM vol. 3, 2.5, table 2-2), then a
   * pending unmasked exception is reported.
   */
  protected fwait(): void {
    if ((this._cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) throw new CpuFault(NM, -1);
    if (this.fpu.exceptionPending) this.fpuErrorPending();
  }

  /**
   * A waiting instruction found an unmasked exception pending (SDM vol. 1, 8.7): with CR0.NE = 1,
   * #MF before it executes; with CR0.NE = 0 (the PC/AT's "MS-DOS compatibility" mode) the error
   * goes out as FERR# to IRQ 13, asserted again here as Bochs does, and the instruction goes on:
   * the handler clears the exception and writes port F0h.
   */
  private fpuErrorPending(): void {
    if (this._cr0 & CR0_NE) throw new CpuFault(MF, -1);
    this.ferr();
  }

  /** Called by the FPU the moment an unmasked exception becomes pending: FERR# when CR0.NE = 0. */
  protected fpuPendingNow(): void {
    if (!(this._cr0 & CR0_NE)) this.ferr();
  }

  /** FERR# out to the platform (IRQ 13 on the PC/AT): an interrupt the run loop is to look for. */
  private ferr(): void {
    this.env.fpuError?.();
    this.attention = 1;
  }

  /**
   * One x87 instruction, escape byte `op` (D8–DF), its ModR/M already decoded by checkEncoding
   * (`modrm`, `ea`, `eaSeg`, `eaOff`). CR0.EM or CR0.TS: #NM for every escape (SDM vol. 3, 2.5);
   * then a form the opcode table does not give this CPU (X87_EXECUTES: the reserved slots, the
   * undocumented aliases, FISTTP, FRSTPM) is #UD.
   */
  protected escape(op: number): void {
    if (this._cr0 & (CR0_EM | CR0_TS)) throw new CpuFault(NM, -1);
    const modrm = this.modrm;
    if (!X87_EXECUTES[((op - 0xd8) << 8) | modrm]) throw new CpuFault(UD, -1);
    const reg = (modrm >> 3) & 7;
    if (modrm < 0xc0) this.escapeMemory(op, reg);
    else this.escapeRegister(op, reg, modrm & 7);
  }

  // ---- memory forms (mod ≠ 11) -------------------------------------------------------------------

  private escapeMemory(op: number, reg: number): void {
    const x = this.fpu;
    // The control instructions: no pending-exception check for the FN… forms, no pointer update.
    switch ((op << 3) | reg) {
      case (0xd9 << 3) | 4: // FLDENV
        this.fpuWait();
        this.fpuOperand(envBytes(this.envFormat()), false);
        loadEnv(x, this.envMemory, this.envFormat());
        return;
      case (0xd9 << 3) | 5: // FLDCW m16
        this.fpuWait();
        x.loadControlWord(this.fpuRead16());
        return;
      case (0xd9 << 3) | 6: // FNSTENV
        this.probeWrite(envBytes(this.envFormat()));
        storeEnv(x, this.envMemory, this.envFormat());
        return;
      case (0xd9 << 3) | 7: // FNSTCW m16
        this.fpuWrite16(x.cw);
        return;
      case (0xdd << 3) | 4: // FRSTOR
        this.fpuWait();
        this.fpuOperand(envBytes(this.envFormat()) + STATE_REGISTER_BYTES, false);
        restore(x, this.envMemory, this.envFormat());
        return;
      case (0xdd << 3) | 6: // FNSAVE
        this.probeWrite(envBytes(this.envFormat()) + STATE_REGISTER_BYTES);
        save(x, this.envMemory, this.envFormat());
        return;
      case (0xdd << 3) | 7: // FNSTSW m16
        this.fpuWrite16(x.statusWord);
        return;
    }
    this.fpuWait();
    this.noteFpuInstruction(op, true);
    switch (op) {
      case 0xd8: // FADD … FDIVR m32real
        return this.arithMemory(reg, { single: this.fpuRead32() });
      case 0xdc: // m64real
        return this.arithMemory(reg, { double: this.fpuRead64() });
      case 0xda: // m32int
        return this.arithMemory(reg, { int: BigInt(this.fpuRead32() | 0) });
      case 0xde: // m16int
        return this.arithMemory(reg, { int: BigInt((this.fpuRead16() << 16) >> 16) });
      case 0xd9:
        if (reg === 0) return x.loadSingle(this.fpuRead32());
        return this.storeMemory32(x.storeSingle(reg === 3), true); // FST/FSTP m32real
      case 0xdb:
        switch (reg) {
          case 0: // FILD m32int
            return x.loadInt(BigInt(this.fpuRead32() | 0));
          case 2: // FIST/FISTP m32int
          case 3:
            this.probeWrite(4);
            return this.storeMemory32(this.int32(x.storeInt(32, reg === 3)), false);
          case 5: // FLD m80real
            return x.loadExtended(readF80(this.fpuReadBytes(10)));
          default: {
            // FSTP m80real
            this.probeWrite(10);
            const v = x.storeExtended();
            if (v === null) return;
            const b = new Uint8Array(10);
            writeF80(v, b);
            return this.fpuWriteBytes(b);
          }
        }
      case 0xdd:
        if (reg === 0) return x.loadDouble(this.fpuRead64()); // FLD m64real
        this.probeWrite(8); // FST/FSTP m64real
        return this.fpuWrite64(x.storeDouble(reg === 3));
      default: // DF
        switch (reg) {
          case 0: // FILD m16int
            return x.loadInt(BigInt((this.fpuRead16() << 16) >> 16));
          case 2: // FIST/FISTP m16int
          case 3: {
            this.probeWrite(2);
            const v = x.storeInt(16, reg === 3);
            if (v !== null) this.fpuWrite16(Number(BigInt.asUintN(16, v)));
            return;
          }
          case 4: // FBLD m80bcd
            return x.loadBcd(this.fpuReadBytes(10));
          case 5: // FILD m64int
            return x.loadInt(BigInt.asIntN(64, this.fpuRead64()));
          case 6: {
            // FBSTP m80bcd
            this.probeWrite(10);
            const v = x.storeBcd();
            if (v !== null) this.fpuWriteBytes(v);
            return;
          }
          default: // FISTP m64int
            this.probeWrite(8);
            return this.fpuWrite64(x.storeInt(64, true));
        }
    }
  }

  /** D8/DC/DA/DE memory forms: the reg field is the operation; FCOM/FCOMP (and FICOM…) compare. */
  private arithMemory(reg: number, operand: Operand): void {
    if (reg === 2 || reg === 3) this.fpu.fcom(operand, false, reg - 2);
    else this.fpu.arith(reg as ArithOp, 0, operand);
  }

  private int32(v: bigint | null): number | null {
    return v === null ? null : Number(BigInt.asUintN(32, v));
  }

  /** A 32-bit store the FPU allowed (null: an unmasked exception forbade it), probed first when asked. */
  private storeMemory32(v: number | null, probe: boolean): void {
    if (probe) this.probeWrite(4);
    if (v !== null) this.fpuWrite32(v);
  }

  // ---- register forms (mod = 11) -----------------------------------------------------------------

  private escapeRegister(op: number, reg: number, i: number): void {
    const x = this.fpu;
    // DB E0–E4: FNENI, FNDISI, FNCLEX, FNINIT, FNSETPM — non-waiting controls (FENI, FDISI and
    // FSETPM do nothing since the 387, SDM vol. 1, 8.8).
    if (op === 0xdb && reg === 4) {
      if (i === 2) x.clearExceptions();
      else if (i === 3) x.init();
      return;
    }
    if (op === 0xdf && reg === 4) {
      this.setReg(EAX, 2, x.statusWord); // FNSTSW AX
      return;
    }
    this.fpuWait();
    this.noteFpuInstruction(op, false);
    switch (op) {
      case 0xd8:
        if (reg === 2 || reg === 3) return x.fcom({ st: i }, false, reg - 2); // FCOM/FCOMP ST(i)
        return x.arith(reg as ArithOp, 0, { st: i }); // ST(0) ← ST(0) op ST(i)
      case 0xdc:
        // ST(i) ← ST(i) op ST(0); the E0/E8 and F0/F8 rows name the reverse forms first, so the
        // reg field's low bit is the opposite of D8's (SDM vol. 2, FSUB/FSUBR).
        return x.arith((reg ^ 1) as ArithOp, i, { st: 0 });
      case 0xde:
        if (reg === 3) return x.fcom({ st: 1 }, false, 2); // FCOMPP
        return x.arith((reg < 4 ? reg : reg ^ 1) as ArithOp, i, { st: 0 }, true);
      case 0xd9:
        return this.escapeD9(reg, i);
      case 0xda:
        if (reg === 5) return x.fcom({ st: 1 }, true, 2); // FUCOMPP
        return x.fcmov(i, this.cond(FCMOV_CONDITIONS[reg])); // FCMOVB/E/BE/U
      case 0xdb:
        if (reg < 4) return x.fcmov(i, !this.cond(FCMOV_CONDITIONS[reg])); // FCMOVNB/NE/NBE/NU
        return this.mergeFcomi(x.fcomi(i, reg === 5, false)); // FUCOMI, FCOMI
      case 0xdd:
        switch (reg) {
          case 0:
            return x.ffree(i);
          case 2:
          case 3:
            return x.storeSt(i, reg === 3); // FST/FSTP ST(i)
          default:
            return x.fcom({ st: i }, true, reg - 4); // FUCOM/FUCOMP ST(i)
        }
      default: // DF
        if (reg === 0) {
          // FFREEP ST(i) (the 287's alias, kept since: FFREE ST(i), then pop).
          x.ffree(i);
          x.ffree(0);
          x.fincstp();
          return;
        }
        return this.mergeFcomi(x.fcomi(i, reg === 5, true)); // FUCOMIP, FCOMIP
    }
  }

  private escapeD9(reg: number, i: number): void {
    const x = this.fpu;
    switch (reg) {
      case 0:
        return x.loadSt(i); // FLD ST(i)
      case 1:
        return x.fxch(i);
      case 2:
        return; // FNOP
      case 4:
        if (i === 0) return x.fchs();
        if (i === 1) return x.fabs();
        if (i === 4) return x.ftst();
        return x.fxam();
      case 5:
        return x.loadConstant(CONSTANTS[i]);
      case 6:
        switch (i) {
          case 0:
            return x.f2xm1();
          case 1:
            return x.fyl2x();
          case 2:
            return x.fptan();
          case 3:
            return x.fpatan();
          case 4:
            return x.fxtract();
          case 5:
            return x.fprem(true);
          case 6:
            return x.fdecstp();
          default:
            return x.fincstp();
        }
      default:
        switch (i) {
          case 0:
            return x.fprem(false);
          case 1:
            return x.fyl2xp1();
          case 2:
            return x.fsqrt();
          case 3:
            return x.fsincos();
          case 4:
            return x.frndint();
          case 5:
            return x.fscale();
          case 6:
            return x.fsin();
          default:
            return x.fcos();
        }
    }
  }

  /** FCOMI and friends set ZF, PF, CF from the compare and clear OF, SF, AF (SDM vol. 2, FCOMI). */
  private mergeFcomi(zpc: number): void {
    this.flags = (this.flags & ~(OF | SF | AF | ZF | PF | CF)) | zpc;
  }

  // ---- the pieces every form uses ----------------------------------------------------------------

  /** A waiting instruction's check for an unmasked exception left pending by an earlier one. */
  private fpuWait(): void {
    if (this.fpu.exceptionPending) this.fpuErrorPending();
  }

  /**
   * FOP, FCS:FIP and FDS:FDP of a non-control instruction (SDM vol. 1, 8.1.8 and 8.1.9): the
   * instruction's first byte's low three bits and its ModR/M; offsets in protected mode, linear
   * addresses in real and virtual-8086 mode; the data pointer only when there is a memory operand.
   */
  private noteFpuInstruction(op: number, memory: boolean): void {
    const x = this.fpu;
    const real = this.fpuRealMode;
    const fip = real ? (this.segBase[CS] + this.start) >>> 0 : this.start >>> 0;
    const fds = memory ? this.segSel[this.eaSeg] : x.fds;
    const fdp = memory ? (real ? this.eaLin() >>> 0 : this.eaOff >>> 0) : x.fdp;
    x.noteInstruction(((op & 7) << 8) | this.modrm, this.segSel[CS], fip, fds, fdp);
  }

  private envFormat(): EnvFormat {
    return { operandSize: this.op32 ? 32 : 16, realMode: this.fpuRealMode };
  }

  /** The segment checks of a memory operand of `size` bytes (#GP/#SS before anything moves). */
  private fpuOperand(size: number, write: boolean): void {
    this.checkSeg(this.eaSeg, this.eaOff, size, write);
  }

  /**
   * Stores are checked for write faults before the FPU computes them, so that a #PF does not
   * leave the register stack popped and the instruction can restart (fpu/README.md). The probe
   * translates the first and the last byte for writing (the page walk a store makes anyway).
   */
  private probeWrite(size: number): void {
    this.fpuOperand(size, true);
    const user = this.user;
    this.mmu.translate(this.ea, true, user);
    if (((this.ea & 0xfff) + size - 1) >> 12 !== 0) this.mmu.translate(this.ea + size - 1, true, user);
  }

  private fpuRead16(): number {
    this.fpuOperand(2, false);
    return this.readLin16(this.ea);
  }
  private fpuRead32(): number {
    this.fpuOperand(4, false);
    return this.readLin32(this.ea);
  }
  private fpuRead64(): bigint {
    this.fpuOperand(8, false);
    const lo = this.readLin32(this.ea) >>> 0;
    const hi = this.readLin32(this.ea + 4) >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  private fpuReadBytes(n: number): Uint8Array {
    this.fpuOperand(n, false);
    const b = new Uint8Array(n);
    for (let k = 0; k < n; k++) b[k] = this.readLin8(this.ea + k);
    return b;
  }
  private fpuWrite16(v: number): void {
    this.fpuOperand(2, true);
    this.writeLin16(this.ea, v);
  }
  private fpuWrite32(v: number): void {
    this.fpuOperand(4, true);
    this.writeLin32(this.ea, v);
  }
  // The wider stores come after probeWrite, which made the segment and page checks.
  private fpuWrite64(v: bigint | null): void {
    if (v === null) return;
    const u = BigInt.asUintN(64, v);
    this.writeLin32(this.ea, Number(u & 0xffff_ffffn));
    this.writeLin32(this.ea + 4, Number(u >> 32n));
  }
  private fpuWriteBytes(b: Uint8Array): void {
    for (let k = 0; k < b.length; k++) this.writeLin8(this.ea + k, b[k]);
  }
}
