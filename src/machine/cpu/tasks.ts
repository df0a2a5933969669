/**
 * Hardware task switches (SDM vol. 3, chapter 7) and the way into virtual-8086 mode by IRET
 * (chapter 20) of the Cpu class chain (README.md, "Layout"): far JMP/CALL to a TSS or a task gate,
 * IDT task gates, IRET through the previous-task link, the switch itself with table 7-1's faults.
 */
import { NT, VM } from './flags';
import {
  CpuFault,
  ES,
  TASK_JMP,
  ESP,
  CS,
  SS,
  DS,
  FS,
  GS,
  TS,
  NP,
  SS_,
  GP,
  TASK_CALL,
  TASK_IRET,
  TASK_INT,
  CR0_TS,
  CR0_PG,
  DR7_LOCAL,
} from './arch';
import { CpuSegments } from './segments';

/** The order a task switch loads the segment registers in (SDM vol. 3, 7.3, step 13; table 7-1). */
const TASK_SEG_ORDER = [CS, SS, ES, DS, FS, GS];

export abstract class CpuTasks extends CpuSegments {
  // ---- task switches (SDM vol. 3, chapter 7) and virtual-8086 mode (chapter 20) ------------------

  /**
   * Far JMP/CALL to a TSS descriptor or a task gate (SDM vol. 2, JMP and CALL, "TASK-GATE" and
   * "TASK-STATE-SEGMENT"): the descriptor named must have DPL ≥ CPL and ≥ RPL, else #GP(selector);
   * a task gate leads to a TSS in the GDT. A busy TSS is #GP(TSS selector): a task cannot be
   * entered again while it is running or nested.
   */
  protected taskJumpOrCall(sel: number, lo: number, hi: number, call: boolean): void {
    const dpl = (hi >>> 13) & 3;
    if (dpl < this._cpl || dpl < (sel & 3)) throw new CpuFault(GP, sel & 0xfffc);
    const source = call ? TASK_CALL : TASK_JMP;
    if (((hi >>> 8) & 0x1f) === 5) {
      if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
      this.taskThroughGate(lo >>> 16, source, this._eip);
      return;
    }
    const type = (hi >>> 8) & 0x1f;
    if (type !== 1 && type !== 9) throw new CpuFault(GP, sel & 0xfffc); // busy
    if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
    this.switchTasks(sel, lo, hi, source, this._eip);
  }

  /**
   * The TSS a task gate names (JMP/CALL through a gate, or an IDT task gate): in the GDT and an
   * available TSS, else #GP(TSS selector); present, else #NP(TSS selector) (SDM vol. 2, INT n
   * "TASK-GATE").
   */
  protected taskThroughGate(tss: number, source: number, eip: number, errorCode = -1): void {
    if (tss & 4 || (tss & 0xfff8) + 7 > this.gdtLimit) throw new CpuFault(GP, tss & 0xfffc);
    const [lo, hi] = this.readDescriptor(tss, GP);
    const type = (hi >>> 8) & 0x1f;
    if (type !== 1 && type !== 9) throw new CpuFault(GP, tss & 0xfffc);
    if (!(hi & 0x8000)) throw new CpuFault(NP, tss & 0xfffc);
    this.switchTasks(tss, lo, hi, source, eip, errorCode);
  }

  /**
   * IRET with EFLAGS.NT = 1 (SDM vol. 2, IRET "TASK-RETURN"): back to the task whose selector is
   * the previous-task link of the current TSS, which must be a busy TSS in the GDT (#TS(link)),
   * present (#NP(link)).
   */
  protected taskReturn(): void {
    const link = this.readLin16(this.trBase, false);
    if (link & 4 || (link & 0xfff8) + 7 > this.gdtLimit || (link & 0xfffc) === 0) throw new CpuFault(TS, link & 0xfffc);
    const [lo, hi] = this.readDescriptor(link, TS);
    const type = (hi >>> 8) & 0x1f;
    if (type !== 3 && type !== 11) throw new CpuFault(TS, link & 0xfffc);
    if (!(hi & 0x8000)) throw new CpuFault(NP, link & 0xfffc);
    this.switchTasks(link, lo, hi, TASK_IRET, this._eip);
  }

  /**
   * The task switch proper (SDM vol. 3, 7.3, steps 3–14, and table 7-1 for the faults). `eip` is
   * what the old task resumes at: the next instruction for JMP/CALL/IRET/INT n, the faulting one
   * for a fault. Up to the commit point (TR loaded) a fault leaves the old task as it was; after
   * it, faults while loading the new task's segments are taken in the new task's context, with
   * the new task's EIP and ESP: the handler sees the new task's first instruction as not yet
   * executed (7.3, steps 13–14). QEMU differs here for JMP and CALL (it reports the switching
   * instruction's EIP, with the new task's registers and TR). An exception's `errorCode` (≥ 0)
   * goes on the new task's stack, as wide as its TSS, before its EIP is checked against CS's limit
   * (SDM vol. 2, INT n, TASK-GATE: "Push(error code)", then "IF EIP not within code segment
   * limit THEN #GP(EXT)"; Bochs alike).
   */
  /**
   * The new task's general registers and selectors as switchTasks reads them from its TSS, before
   * anything changes (scratch: a new array per switch was a tenth of bench:cpu's tasks phase).
   */
  private readonly taskRegs = new Int32Array(8);
  private readonly taskSegs = new Int32Array(6);

  protected switchTasks(sel: number, lo: number, hi: number, source: number, eip: number, errorCode = -1): void {
    const is32 = (hi & 0x800) !== 0; // type 9/11: 32-bit TSS; 1/3: 16-bit (80286) TSS
    const base = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    const limit = this.limitOf(lo, hi);
    if (sel & 4 || limit >>> 0 < (is32 ? 0x67 : 0x2b)) throw new CpuFault(TS, sel & 0xfffc);

    // The new task's state, read before anything changes: a #PF on the new TSS restarts cleanly.
    const regs = this.taskRegs;
    const segs = this.taskSegs;
    segs.fill(0); // a 16-bit TSS has no FS, GS
    let newEip: number;
    let newFlags: number;
    let ldt: number;
    let cr3 = 0;
    let debugTrap = false;
    if (is32) {
      cr3 = this.readLin32(base + 0x1c, false);
      newEip = this.readLin32(base + 0x20, false);
      newFlags = this.readLin32(base + 0x24, false);
      for (let i = 0; i < 8; i++) regs[i] = this.readLin32(base + 0x28 + 4 * i, false);
      for (let s = 0; s < 6; s++) segs[s] = this.readLin16(base + 0x48 + 4 * s, false);
      ldt = this.readLin16(base + 0x60, false);
      debugTrap = (this.readLin16(base + 0x64, false) & 1) !== 0; // the T bit (a 16-bit TSS has none)
    } else {
      newEip = this.readLin16(base + 0x0e, false);
      newFlags = (this.flags & ~0xffff & ~VM) | this.readLin16(base + 0x10, false); // no VM in a 16-bit TSS
      for (let i = 0; i < 8; i++) regs[i] = (this.reg32[i] & ~0xffff) | this.readLin16(base + 0x12 + 2 * i, false);
      for (let s = 0; s < 4; s++) segs[s] = this.readLin16(base + 0x22 + 2 * s, false); // ES CS SS DS
      ldt = this.readLin16(base + 0x2a, false);
    }

    // Save the old task (step 8): EIP, EFLAGS (NT cleared for IRET: step 7), the general
    // registers and the segment selectors; not CR3, not LDTR (they are only read from a TSS).
    const old = this.trBase;
    const old32 = (this.trAttr & 0x800) !== 0;
    const oldFlags = source === TASK_IRET ? this.flags & ~NT : this.flags;
    // Both TSSs must be present for the writes below (step 4): a #PF now leaves nothing half done.
    this.mmu.translate(old, true, false);
    this.mmu.translate(old + (old32 ? 0x67 : 0x2b), true, false);
    if (source === TASK_CALL || source === TASK_INT) this.mmu.translate(base, true, false);
    if (old32) {
      this.writeLin32(old + 0x20, eip, false);
      this.writeLin32(old + 0x24, oldFlags, false);
      for (let i = 0; i < 8; i++) this.writeLin32(old + 0x28 + 4 * i, this.reg32[i], false);
      for (let s = 0; s < 6; s++) this.writeLin16(old + 0x48 + 4 * s, this.segSel[s], false);
    } else {
      this.writeLin16(old + 0x0e, eip, false);
      this.writeLin16(old + 0x10, oldFlags, false);
      for (let i = 0; i < 8; i++) this.writeLin16(old + 0x12 + 2 * i, this.reg32[i], false);
      for (let s = 0; s < 4; s++) this.writeLin16(old + 0x22 + 2 * s, this.segSel[s], false);
    }
    // CALL and interrupts: the back-link and NT in the new task (step 9).
    if (source === TASK_CALL || source === TASK_INT) {
      this.writeLin16(base, this.trSel, false);
      newFlags |= NT;
    }
    // Busy bits (steps 6 and 10, table 7-2), last of the memory writes: JMP and IRET leave the
    // old task (not busy any more); CALL and interrupts nest it (it stays busy). The new task
    // becomes busy (IRET: it already is).
    if (source === TASK_JMP || source === TASK_IRET) this.setTssBusy(this.trSel, false);
    if (source !== TASK_IRET) this.setTssBusy(sel, true);

    // Commit point: TR holds the new task, CR0.TS = 1 (step 11, 13.4 for TS).
    this.trSel = sel;
    this.trBase = base;
    this.trLimit = limit;
    this.trAttr = hi | 0x200;
    this._cr0 |= CR0_TS;
    this.taskSwitches++;
    // DR7.L0–L3 are the old task's breakpoints: a task switch clears them (SDM vol. 3, 17.2.4).
    if (this.dr[7] & DR7_LOCAL) {
      this.dr[7] &= ~DR7_LOCAL;
      this.updateBreakpoints();
    }
    if (is32 && this._cr0 & CR0_PG) {
      // CR3 only with paging on, as QEMU and Bochs do (SDM vol. 3, 7.2.1: the PDBR of the task).
      this.mmu.cr3 = cr3 & ~0xfff;
      this.mmu.flush(true);
    }
    this.flags = (newFlags & 0x277fd5) | 2;
    this._eip = newEip | 0;
    this.reg32.set(regs);
    // A fault from here on restarts (and is reported) at the new task's first instruction.
    this.start = this._eip;
    this.startEsp = this.reg32[ESP];
    const vm = (this.fl & VM) !== 0;
    // Selectors first, descriptors not yet valid (a fault while loading leaves them so).
    this._cpl = vm ? 3 : segs[CS] & 3;
    for (let s = 0; s < 6; s++) {
      if (vm) this.vm86Seg(s, segs[s]);
      else {
        this.segSel[s] = segs[s];
        this.segBase[s] = this.segLimit[s] = this.segAttr[s] = 0;
      }
    }
    if (vm) {
      this.codeSize32 = this.stackSize32 = false;
      this.dropWindow();
    }
    // LDTR (table 7-1): in the GDT, an LDT descriptor, present; else #TS(LDT selector).
    this.ldtSel = ldt;
    this.ldtBase = this.ldtLimit = 0;
    if (ldt & 0xfffc) {
      if (ldt & 4 || (ldt & 0xfff8) + 7 > this.gdtLimit) throw new CpuFault(TS, ldt & 0xfffc);
      const [llo, lhi] = this.readDescriptor(ldt, TS);
      if (((lhi >>> 8) & 0x1f) !== 2 || !(lhi & 0x8000)) throw new CpuFault(TS, ldt & 0xfffc);
      this.ldtBase = (llo >>> 16) | ((lhi & 0xff) << 16) | (lhi & 0xff000000);
      this.ldtLimit = this.limitOf(llo, lhi);
    }
    if (!vm) for (const s of TASK_SEG_ORDER) this.taskLoadSeg(s, segs[s]);
    if (errorCode >= 0) this.pushGate(is32, errorCode);
    if (this._eip >>> 0 > this.segLimit[CS] >>> 0) throw new CpuFault(GP, 0);
    if (debugTrap) {
      this.taskTrap = true;
      this.attention = 1;
    }
  }

  /** Sets or clears the busy bit (type bit 1) of a TSS descriptor in the GDT. */
  protected setTssBusy(sel: number, busy: boolean): void {
    const at = this.gdtBase + (sel & 0xfff8) + 4;
    const hi = this.readLin32(at, false);
    this.writeLin32(at, busy ? hi | 0x200 : hi & ~0x200, false);
  }

  /**
   * A segment register loaded from the new TSS (SDM vol. 3, table 7-1; QEMU's tss_load_seg): an
   * unusable selector or descriptor is #TS(selector); a segment not present is #NP(selector), #SS
   * for SS. CS: code, DPL = RPL (conforming: DPL ≤ RPL); SS: writable data, DPL = RPL = CPL; data
   * registers: readable, DPL ≥ CPL and RPL unless conforming code. Null is allowed for data only.
   */
  protected taskLoadSeg(s: number, sel: number): void {
    if ((sel & 0xfffc) === 0) {
      if (s === CS || s === SS) throw new CpuFault(TS, 0);
      this.segSel[s] = sel;
      return;
    }
    const [lo, hi] = this.readDescriptor(sel, TS);
    // No closure for the #TS here: under tsx (the benches, the CLI) every arrow function made per
    // call is named through Object.defineProperty, which cost a third of a task switch.
    const dpl = (hi >>> 13) & 3;
    const rpl = sel & 3;
    const code = (hi & 0x800) !== 0;
    const conforming = code && (hi & 0x400) !== 0;
    let usable: boolean;
    if (!(hi & 0x1000)) usable = false;
    else if (s === CS) usable = code && (conforming ? dpl <= rpl : dpl === rpl);
    else if (s === SS) usable = !code && (hi & 0x200) !== 0 && dpl === this._cpl && rpl === this._cpl;
    else usable = !(code && !(hi & 0x200)) && (conforming || (dpl >= this._cpl && dpl >= rpl));
    if (!usable) throw new CpuFault(TS, sel & 0xfffc);
    if (!(hi & 0x8000)) throw new CpuFault(s === SS ? SS_ : NP, sel & 0xfffc);
    if (s === CS) {
      this.setCs(sel, lo, hi, rpl);
      return;
    }
    this.markAccessed(sel, hi);
    this.segSel[s] = sel;
    this.segBase[s] = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    this.segLimit[s] = this.limitOf(lo, hi);
    this.segAttr[s] = hi & 0x00f0ff00;
    if (s === SS) {
      this.stackSize32 = (hi & (1 << 22)) !== 0;
      this.segmentLimitsChanged();
    }
  }

  /**
   * IRET from CPL 0 with EFLAGS.VM = 1 in the popped image (SDM vol. 2, IRET
   * "RETURN-TO-VIRTUAL-8086-MODE"): after EIP, CS and EFLAGS come ESP, SS, ES, DS, FS, GS (32-bit
   * slots); EFLAGS is taken whole (CPL 0: IOPL and IF too), and the CPU runs at CPL 3 with
   * real-mode segments. Every pop happens before anything changes.
   */
  protected returnToVm86(eip: number, cs: number, fl: number): void {
    const esp = this.pop32();
    const sels = [0, 0, 0, 0, 0, 0];
    sels[SS] = this.pop32();
    sels[ES] = this.pop32();
    sels[DS] = this.pop32();
    sels[FS] = this.pop32();
    sels[GS] = this.pop32();
    sels[CS] = cs;
    this.flags = (fl & 0x277fd5) | 2;
    for (let s = 0; s < 6; s++) this.vm86Seg(s, sels[s]);
    this._cpl = 3;
    this.codeSize32 = this.stackSize32 = false;
    this.dropWindow();
    this.reg32[ESP] = esp;
    this._eip = eip & 0xffff;
  }
}
