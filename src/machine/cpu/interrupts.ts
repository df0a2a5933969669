/**
 * Exceptions, interrupts and the privileged-state helpers of the Cpu class chain (README.md,
 * "Layout"): raise() with the double- and triple-fault rules (SDM vol. 3, 6.15), delivery through
 * the IVT and IDT gates with the stack switch (6.12), CPL/IOPL checks and the I/O bitmap, CR0/CR4
 * writes, EFLAGS loads by privilege.
 */
import { PageFault } from './mmu';
import { AC, AF, CF, DF, ID, IF, IOPL, NT, OF, PF, RF, SF, TF, VM, ZF } from './flags';
import {
  CpuFault,
  ES,
  DE,
  ESP,
  CS,
  SS,
  DS,
  FS,
  GS,
  DF_,
  TS,
  NP,
  GP,
  PF_,
  TASK_INT,
  CR0_PE,
  CR0_ET,
  CR0_WP,
  CR0_PG,
  DB,
  DR7_GD,
  CR4_TSD,
  CR4_DE,
  CR4_PSE,
  CR4_MCE,
  CR4_PGE,
} from './arch';
import { CpuTasks } from './tasks';

export abstract class CpuInterrupts extends CpuTasks {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract reset(): void;
  protected abstract trace(n: number): string[];
  // ---- exceptions and interrupts ----------------------------------------------------------------

  /**
   * Delivers an interrupt or exception; false on a triple fault (the machine then resets). A fault
   * while delivering is classified as the SDM does (vol. 3, 6.15, table 6-5): contributory after
   * contributory, or #PF/contributory after #PF, is #DF; anything after a benign event (a software
   * INT n, an external interrupt, #UD …) is simply delivered; a fault while delivering #DF shuts down.
   */
  protected raise(vector: number, code: number, software: boolean, returnEip: number, depth = 0): boolean {
    let esp = this.reg32[ESP];
    const switches = this.taskSwitches;
    let second: CpuFault | PageFault;
    try {
      this.deliver(vector, code, software, returnEip);
      return true;
    } catch (e) {
      if (!(e instanceof CpuFault || e instanceof PageFault)) throw e;
      second = e;
    }
    if (this.taskSwitches !== switches) {
      // A task gate's switch passed its commit point: the fault is the new task's, reported at
      // its first instruction with its stack (SDM vol. 3, 7.3, steps 13–14; switchTasks sets start).
      esp = this.startEsp;
      returnEip = this.start;
    }
    this.reg32[ESP] = esp;
    if (vector === DF_ || depth > 2) {
      this.tripleFault();
      return false;
    }
    const v2 = second instanceof PageFault ? PF_ : second.vector;
    let c2 = second.errorCode;
    // EXT: a selector-format error code says the fault came while delivering an event external
    // to the program — a hardware interrupt or an earlier exception, not INT n/INT3/INTO (SDM vol.
    // 3, 6.13).
    if (!software && v2 >= TS && v2 <= GP && c2 >= 0) c2 |= 1;
    if (second instanceof PageFault) this._cr2 = second.linear;
    const contributory = (v: number): boolean => v === DE || (v >= TS && v <= GP);
    const first = software ? -1 : vector;
    const double = (contributory(first) && contributory(v2)) || (first === PF_ && (v2 === PF_ || contributory(v2)));
    if (double) return this.raise(DF_, 0, false, returnEip, depth + 1);
    return this.raise(v2, c2, false, software ? this.start : returnEip, depth + 1);
  }

  protected tripleFault(): void {
    // Disassemble the last instructions while CS and paging are still the ones they ran under.
    this.shutdownTrace = this.trace(16);
    this.reset();
  }

  /** The last instructions before the latest triple fault, disassembled before the reset. */
  shutdownTrace: string[] = [];

  protected deliver(vector: number, code: number, software: boolean, returnEip: number): void {
    this.halted = false;
    // Entering the #DB handler clears DR7.GD, so that it may use the debug registers (SDM vol. 3,
    // 17.2.4), whatever the #DB is for.
    if (vector === DB && !software) this.dr[7] &= ~DR7_GD;
    if (!(this._cr0 & CR0_PE)) {
      // Real mode: the IVT (SDM vol. 3, 20.1.4).
      const off = this.idtBase + vector * 4;
      const ip = this.readLin16(off, false);
      const cs = this.readLin16(off + 2, false);
      // FLAGS, CS, IP: a frame straddling offset 0FFFFh (SP = 1, 3, 5) is #SS, which cannot be
      // delivered either: #DF, then shutdown (SDM vol. 3, 22.33.1; vol. 2, PUSHA).
      if (this.ssLimitChecked || (this.reg32[ESP] & 0xffff) < 6) this.requireStackRoom(6, 0, 2);
      this.push16(this.flags & 0xffff);
      this.push16(this.segSel[CS]);
      this.push16(returnEip & 0xffff);
      this.flags &= ~(IF | TF | AC);
      this.setRealSeg(CS, cs);
      this._eip = ip;
      return;
    }
    if (vector * 8 + 7 > this.idtLimit) throw new CpuFault(GP, vector * 8 + 2);
    const lo = this.readLin32(this.idtBase + vector * 8, false);
    const hi = this.readLin32(this.idtBase + vector * 8 + 4, false);
    const type = (hi >>> 8) & 0x1f;
    const dpl = (hi >>> 13) & 3;
    if (software && dpl < this._cpl) throw new CpuFault(GP, vector * 8 + 2);
    if (type === 5) {
      // A task gate (SDM vol. 3, 6.11.3, 6.12.2): the handler is a task. Its EFLAGS come from its
      // TSS (IF is not cleared); an error code goes on the new task's stack, sized by its TSS.
      if (!(hi & 0x8000)) throw new CpuFault(NP, vector * 8 + 2);
      this.taskThroughGate(lo >>> 16, TASK_INT, returnEip, code);
      return;
    }
    if (type !== 0xe && type !== 0xf && type !== 0x6 && type !== 0x7) throw new CpuFault(GP, vector * 8 + 2);
    if (!(hi & 0x8000)) throw new CpuFault(NP, vector * 8 + 2);
    const gate32 = (type & 8) !== 0;
    const sel = lo >>> 16;
    const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
    if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
    const dlo = this.readDescriptorLo(sel, GP);
    const dhi = this.descHi;
    const targetDpl = (dhi >>> 13) & 3;
    // A code segment of DPL ≤ CPL, conforming or not: an interrupt never goes to an outer ring
    // (SDM vol. 2, INT n: "IF descriptor does not indicate a code segment or code segment
    // descriptor DPL > CPL THEN #GP(error_code(new code-segment selector,0,EXT))", as Bochs).
    if ((dhi & 0x1800) !== 0x1800 || targetDpl > this._cpl) throw new CpuFault(GP, sel & 0xfffc);
    if (!(dhi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
    const conforming = (dhi & 0x400) !== 0;
    const newCpl = conforming ? this._cpl : targetDpl;
    const oldFlags = this.flags;
    const oldCs = this.segSel[CS];
    // From virtual-8086 mode only a ring-0 non-conforming handler will do (SDM vol. 2, INT n:
    // #GP(new CS selector) otherwise; vol. 3, 20.3.1.1).
    const vm86 = (oldFlags & VM) !== 0;
    if (vm86 && newCpl !== 0) throw new CpuFault(GP, sel & 0xfffc);
    // The frame's slots: (GS, FS, DS, ES, SS, ESP to an inner ring,) EFLAGS, CS, EIP (, error code).
    const slot = gate32 ? 4 : 2;
    const frame = (3 + (code >= 0 ? 1 : 0)) * slot;
    // Nothing of the interrupted context changes if delivery faults on the way (raise() then
    // reports the fault in that context; it restores ESP).
    this.holdCsSs();
    try {
      if (newCpl < this._cpl) {
        // Stack switch from the TSS (SDM vol. 3, 6.12.1).
        const newSs = this.innerStackSs(newCpl);
        const newEsp = this.innerEsp;
        const oldSs = this.segSel[SS];
        const oldEsp = this.reg32[ESP];
        this.loadSegProtected(SS, newSs, TS, newCpl);
        // A 16-bit stack segment takes SP only (as a call gate's switch, segments.ts).
        this.reg32[ESP] = this.stackSize32 ? newEsp : (oldEsp & ~0xffff) | (newEsp & 0xffff);
        this.requireStackRoom(frame + (vm86 ? 6 : 2) * slot, newSs, slot);
        // The gate's offset is checked after the stack, as INT n's pseudocode orders them.
        this.checkCodeLimit(dlo, dhi, offset);
        this.setCs(sel, dlo, dhi, newCpl);
        if (vm86) {
          // INTERRUPT-FROM-VIRTUAL-8086-MODE: the data segment registers go on the ring-0 stack
          // first (in 32-bit slots through a 32-bit gate), then are nulled for the handler.
          this.pushGate(gate32, this.segSel[GS]);
          this.pushGate(gate32, this.segSel[FS]);
          this.pushGate(gate32, this.segSel[DS]);
          this.pushGate(gate32, this.segSel[ES]);
        }
        this.pushGate(gate32, oldSs);
        this.pushGate(gate32, oldEsp);
      } else {
        // The same ring: the whole frame checked before the first push, #SS(EXT) or the #PF of its
        // pages (INTRA-PRIVILEGE-LEVEL-INTERRUPT: "IF current stack does not have room for 16 bytes
        // (error code pushed) or 12 bytes (no error code) THEN #SS(EXT)"), so that a fault leaves
        // nothing written below ESP, as a same-ring far CALL's frame (requireStackFrame).
        this.requireStackFrame(frame, slot);
        this.checkCodeLimit(dlo, dhi, offset);
        this.setCs(sel, dlo, dhi, newCpl);
      }
      this.pushGate(gate32, oldFlags);
      this.pushGate(gate32, oldCs);
      this.pushGate(gate32, returnEip);
      if (code >= 0) this.pushGate(gate32, code);
    } catch (e) {
      this.restoreCsSs();
      throw e;
    }
    if (vm86)
      for (const s of [ES, DS, FS, GS]) {
        this.segSel[s] = 0;
        this.segBase[s] = this.segLimit[s] = this.segAttr[s] = 0;
      }
    if (!(type & 1)) this.flags &= ~IF;
    this.flags &= ~(TF | NT | RF | VM);
    this._eip = offset | 0;
  }
  // ---- privileged-operation helpers ---------------------------------------------------------------

  protected requireCpl0(): void {
    if (this._cr0 & CR0_PE && this._cpl !== 0) throw new CpuFault(GP, 0);
  }

  protected get iopl(): number {
    return (this.fl & IOPL) >>> 12;
  }

  /**
   * I/O permission (SDM vol. 1, 19.5): IOPL, then the TSS bitmap; in virtual-8086 mode the bitmap
   * alone, whatever IOPL (vol. 3, 20.2.8.1). A 16-bit TSS has no bitmap.
   */
  protected checkIo(port: number, size: number): void {
    if (!(this._cr0 & CR0_PE) || (this._cpl <= this.iopl && !(this.fl & VM))) return;
    if (this.trLimit < 0x67 || !(this.trAttr & 0x800)) throw new CpuFault(GP, 0);
    const mapBase = this.readLin16(this.trBase + 0x66, false);
    const at = mapBase + (port >>> 3);
    if (at + 1 > this.trLimit) throw new CpuFault(GP, 0);
    const bits = this.readLin16(this.trBase + at, false);
    if ((bits >>> (port & 7)) & ((1 << size) - 1)) throw new CpuFault(GP, 0);
  }

  protected writeCr0(v: number): void {
    if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) throw new CpuFault(GP, 0);
    this._cr0 = v | CR0_ET;
    this.mmu.paging = (v & (CR0_PG | CR0_PE)) === (CR0_PG | CR0_PE) || (v & CR0_PG) !== 0;
    this.mmu.wp = (v & CR0_WP) !== 0;
    this.mmu.flush(false);
    if (!(v & CR0_PE)) this._cpl = 0;
    this.dropWindow();
  }

  protected writeCr4(v: number): void {
    // Only TSD, DE, PSE, MCE and PGE exist on this CPU (CPUID says so); other bits → #GP.
    if (v & ~(CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE)) throw new CpuFault(GP, 0);
    const was = this._cr4;
    this._cr4 = v;
    this.mmu.pse = (v & CR4_PSE) !== 0;
    this.mmu.pge = (v & CR4_PGE) !== 0;
    this.mmu.flush(false);
    // DE gives DR7's R/W = 10 its meaning, I/O breakpoints (memory.ts).
    if ((was ^ v) & CR4_DE) this.updateBreakpoints();
  }

  protected setFlagsFrom(v: number, size: number): void {
    // POPF (SDM vol. 2): IOPL changes only at CPL 0; IF only when CPL ≤ IOPL; VM/RF untouched.
    let changeable = CF | PF | AF | ZF | SF | TF | DF | OF | NT | AC | ID;
    if (!(this._cr0 & CR0_PE) || this._cpl === 0) changeable |= IOPL;
    if (!(this._cr0 & CR0_PE) || this._cpl <= this.iopl) changeable |= IF;
    if (size === 2) changeable &= 0xffff;
    this.flags = (this.flags & ~changeable) | (v & changeable) | 2;
  }
}
