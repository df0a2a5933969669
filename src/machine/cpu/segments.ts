/**
 * Segmentation and far transfers of the Cpu class chain (README.md, "Layout"): descriptors and
 * their accessed bits, segment-register loads in real, protected and virtual-8086 mode, the
 * inner-ring stacks of the TSS, far JMP/CALL to code segments and through call gates, far RET and
 * IRET to the same and outer rings (SDM vol. 3, 5.8; vol. 2, CALL/JMP/RET/IRET).
 */
import { NT, VM } from './flags';
import { CpuFault, ES, ESP, CS, SS, DS, FS, GS, TS, NP, SS_, GP, CR0_PE } from './arch';
import { CpuMemory } from './memory';
import { PageFault } from './mmu';

/** The data segment registers a return to an outer ring may null (an indexed loop: no iterator per IRET). */
const DATA_SEGS = [ES, DS, FS, GS] as const;

export abstract class CpuSegments extends CpuMemory {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract returnToVm86(eip: number, cs: number, fl: number): void;
  protected abstract dropWindow(): void;
  protected abstract get iopl(): number;
  protected abstract setFlagsFrom(v: number, size: number): void;
  protected abstract taskJumpOrCall(sel: number, lo: number, hi: number, call: boolean): void;
  protected abstract taskReturn(): void;
  protected setCs(sel: number, lo: number, hi: number, cpl: number): void {
    this.markAccessed(sel, hi);
    this.segSel[CS] = (sel & 0xfffc) | cpl;
    this.segBase[CS] = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    this.segLimit[CS] = this.limitOf(lo, hi);
    this.segAttr[CS] = hi & 0x00f0ff00;
    this.codeSize32 = (hi & (1 << 22)) !== 0;
    this._cpl = cpl;
    this.dropWindow();
    this.segmentLimitsChanged();
  }

  /**
   * Loading a code or data segment sets its descriptor's accessed bit in the GDT or LDT (SDM vol.
   * 3, 3.4.5.1), before the register changes: a write that faults leaves nothing half done.
   */
  protected markAccessed(sel: number, hi: number): void {
    if (hi & 0x100) return;
    const base = sel & 4 ? this.ldtBase : this.gdtBase;
    this.writeLin32(base + (sel & 0xfff8) + 4, hi | 0x100, false);
  }

  protected limitOf(lo: number, hi: number): number {
    const raw = (lo & 0xffff) | (hi & 0xf0000);
    return hi & (1 << 23) ? (raw << 12) | 0xfff : raw;
  }

  /**
   * A far transfer's target offset against the new code segment's limit, before anything changes:
   * past it is #GP(0) at the transferring instruction (SDM vol. 2, JMP/CALL/RET/IRET and INT n:
   * "IF instruction pointer not within code segment limit THEN #GP(0)"; EXT for an event).
   */
  protected checkCodeLimit(lo: number, hi: number, eip: number): void {
    if (eip >>> 0 > this.limitOf(lo, hi) >>> 0) throw new CpuFault(GP, 0);
  }

  /** CS, SS (selector, base, limit, attributes), CPL and ESP as a far transfer found them. */
  private readonly held = new Int32Array(9);
  private heldFlags = 0;

  /**
   * Keep CS, SS and CPL before a far transfer through a gate changes them: a fault on the way
   * (a #PF or #SS pushing the frame, a #PF setting an accessed bit) leaves them as they were, so
   * that the fault is reported at the transferring instruction in its own context (SDM vol. 3,
   * 6.6: a fault restarts the instruction with the state before it). run() restores EIP and ESP.
   */
  protected holdCsSs(): void {
    const h = this.held;
    h[0] = this.segSel[CS];
    h[1] = this.segBase[CS];
    h[2] = this.segLimit[CS];
    h[3] = this.segAttr[CS];
    h[4] = this.segSel[SS];
    h[5] = this.segBase[SS];
    h[6] = this.segLimit[SS];
    h[7] = this.segAttr[SS];
    h[8] = this.reg32[ESP];
    this.heldFlags = this._cpl | (this.codeSize32 ? 4 : 0) | (this.stackSize32 ? 8 : 0);
  }

  /** Back to what holdCsSs kept (a fault is on its way). */
  protected restoreCsSs(): void {
    const h = this.held;
    this.segSel[CS] = h[0];
    this.segBase[CS] = h[1];
    this.segLimit[CS] = h[2];
    this.segAttr[CS] = h[3];
    this.segSel[SS] = h[4];
    this.segBase[SS] = h[5];
    this.segLimit[SS] = h[6];
    this.segAttr[SS] = h[7];
    this.reg32[ESP] = h[8];
    this._cpl = this.heldFlags & 3;
    this.codeSize32 = (this.heldFlags & 4) !== 0;
    this.stackSize32 = (this.heldFlags & 8) !== 0;
    this.dropWindow();
    this.segmentLimitsChanged();
  }

  /**
   * Room for a frame of `bytes` below ESP, pushed `slot` bytes at a time, checked against SS's
   * limit before the first push, else #SS(ssSel) (SDM vol. 2, CALL "IF new stack does not have
   * room for parameters plus 16 bytes THEN #SS(NewSS)", INT n "... THEN #SS(error_code(NewSS, 0,
   * EXT))": raise() adds EXT for an event; ssSel = 0 for the frames of PUSHA, ENTER and a far
   * CALL on the current stack, #SS(0)). A contiguous frame needs its lowest and highest bytes
   * inside; one that wraps past offset 0 of a 16-bit stack is checked slot by slot: a slot that
   * straddles 0FFFFh–10000h lies outside any 16-bit segment, in real mode too (vol. 3, 22.33.1:
   * "a stack-fault exception (#SS) if the segment is a stack segment"), where SP = 1, 3 or 5 shuts
   * the CPU down (PUSHA, INT n: the #SS's own frame straddles again: #DF, then shutdown).
   */
  protected requireStackRoom(bytes: number, ssSel: number, slot: number): void {
    const esp = this.reg32[ESP];
    try {
      if (!this.stackSize32 && (esp & 0xffff) !== 0 && (esp & 0xffff) < bytes) {
        for (let at = slot; at <= bytes; at += slot) this.checkSeg(SS, (esp - at) & 0xffff, slot, true);
      } else {
        const mask = this.stackSize32 ? -1 : 0xffff;
        this.checkSeg(SS, ((esp - bytes) & mask) >>> 0, 1, true);
        this.checkSeg(SS, ((esp - 1) & mask) >>> 0, 1, true);
      }
    } catch (e) {
      if (e instanceof CpuFault) throw new CpuFault(SS_, ssSel & 0xfffc);
      throw e;
    }
  }

  /**
   * A frame of `bytes` about to be pushed on the current stack (PUSHA, ENTER, a far CALL's return
   * address), `slot` bytes at a time: inside SS's limit (#SS(0), requireStackRoom), then its pages
   * writable (#PF), in the order the pushes touch them, before the first is written. Pushed push
   * by push, a fault after some pushes left bytes below ESP written (ESP came back, the memory
   * did not); the SDM's PUSHA and ENTER fault on "the starting or ending stack address" and "the
   * new value of the SP or ESP register", the whole frame.
   */
  protected requireStackFrame(bytes: number, slot: number): void {
    // Real mode and flat stacks skip the limit: only a 16-bit frame wrapping past 0 can fault.
    if (this.ssLimitChecked || (!this.stackSize32 && (this.reg32[ESP] & 0xffff) < bytes))
      this.requireStackRoom(bytes, 0, slot);
    if (this.mmu.paging) this.probeStackPages(bytes, slot);
  }

  /**
   * The pages of a frame of `bytes` below ESP translated for a write (#PF), slot by slot in the
   * order of the pushes, so that CR2 names the first slot a push-by-push frame would fault on.
   */
  protected probeStackPages(bytes: number, slot: number): void {
    const esp = this.reg32[ESP];
    const mask = this.stackSize32 ? -1 : 0xffff;
    const base = this.segBase[SS];
    const user = this.user;
    let page = -1;
    for (let at = slot; at <= bytes; at += slot) {
      const lin = (base + ((esp - at) & mask)) | 0;
      const upper = ((lin | 0xfff) + 1) | 0; // a slot straddling a page end: its upper part first
      if ((lin & 0xfff) > 0x1000 - slot && upper >>> 12 !== page) this.mmu.translate(upper, true, user);
      if (lin >>> 12 !== page) this.mmu.translate(lin, true, user);
      page = lin >>> 12;
    }
  }

  /**
   * One stack access of `size` bytes at offset `off` checked without being made: against SS's
   * limit (a 16-bit offset straddling 0FFFFh–10000h included, real mode too: #SS(0)), then for a
   * write its page (#PF). ENTER's accesses, before it writes any.
   */
  protected checkStackSlot(off: number, size: number, write: boolean): void {
    if (this.ssLimitChecked || (!this.stackSize32 && off > 0x10000 - size)) this.checkSeg(SS, off >>> 0, size, write);
    if (!write || !this.mmu.paging) return;
    const lin = (this.segBase[SS] + off) | 0;
    this.mmu.translate(lin, true, this.user);
    if ((lin & 0xfff) > 0x1000 - size) this.mmu.translate((lin + size - 1) | 0, true, this.user);
  }

  /** Reads the 8-byte descriptor of a selector; a selector beyond its table's limit → fault(sel). */
  protected readDescriptor(sel: number, vector: number): [number, number] {
    const lo = this.readDescriptorLo(sel, vector);
    return [lo, this.descHi];
  }

  /** The high word of the descriptor readDescriptorLo read last. */
  protected descHi = 0;

  /**
   * readDescriptor without the pair: returns the low word, the high word in descHi. For the paths
   * every interrupt takes (delivery, IRET, SS loads): a pair is garbage at each of an idle guest's
   * 100–250 timer interrupts a second.
   */
  protected readDescriptorLo(sel: number, vector: number): number {
    const index = sel & 0xfff8;
    const ldt = (sel & 4) !== 0;
    const base = ldt ? this.ldtBase : this.gdtBase;
    const limit = ldt ? this.ldtLimit : this.gdtLimit;
    if (index + 7 > limit) throw new CpuFault(vector, sel & 0xfffc);
    const lo = this.readLin32(base + index, false);
    this.descHi = this.readLin32(base + index + 4, false);
    return lo;
  }

  protected setRealSeg(s: number, sel: number): void {
    this.segSel[s] = sel;
    this.segBase[s] = sel << 4;
    if (this.segLimit[s] === 0) this.segLimit[s] = 0xffff;
    if (s === CS) {
      this.codeSize32 = false;
      this.dropWindow();
    }
    if (s === SS) this.stackSize32 = false;
    if (s === CS || s === SS) this.segmentLimitsChanged();
  }

  /** MOV/POP to a segment register in protected mode (SDM vol. 2, MOV). */
  protected loadSegProtected(s: number, sel: number, vector: number, cpl: number): void {
    if ((sel & 0xfffc) === 0) {
      if (s === SS) throw new CpuFault(vector === TS ? TS : GP, 0);
      this.segSel[s] = sel;
      this.segBase[s] = 0;
      this.segLimit[s] = 0;
      this.segAttr[s] = 0;
      return;
    }
    const lo = this.readDescriptorLo(sel, vector === TS ? TS : GP);
    const hi = this.descHi;
    const dpl = (hi >>> 13) & 3;
    const rpl = sel & 3;
    const isCode = (hi & 0x800) !== 0;
    const isSeg = (hi & 0x1000) !== 0;
    const err = vector === TS ? TS : GP;
    if (!isSeg) throw new CpuFault(err, sel & 0xfffc);
    if (s === SS) {
      if (isCode || !(hi & 0x200) || rpl !== cpl || dpl !== cpl) throw new CpuFault(err, sel & 0xfffc);
      // Not present is #SS(selector) on every path, the stack switches of INT n and call gates
      // included (SDM vol. 2, INT n and CALL: "IF stack segment not present THEN #SS").
      if (!(hi & 0x8000)) throw new CpuFault(SS_, sel & 0xfffc);
    } else {
      if (isCode && !(hi & 0x200)) throw new CpuFault(GP, sel & 0xfffc);
      if ((!isCode || !(hi & 0x400)) && (rpl > dpl || cpl > dpl)) throw new CpuFault(GP, sel & 0xfffc);
      if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
    }
    this.markAccessed(sel, hi);
    if (s === SS) this.stackSize32 = (hi & (1 << 22)) !== 0;
    this.segSel[s] = sel;
    this.segBase[s] = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    this.segLimit[s] = this.limitOf(lo, hi);
    this.segAttr[s] = hi & 0x00f0ff00;
    if (s === SS) this.segmentLimitsChanged();
  }

  protected loadSeg(s: number, sel: number): void {
    if (!(this._cr0 & CR0_PE) || this.fl & VM) this.setRealSeg(s, sel);
    else this.loadSegProtected(s, sel, GP, this._cpl);
  }

  /**
   * After MOV SS or POP SS (not LSS): interrupts, single-step traps and the data breakpoints the
   * load hit wait until the instruction after it has run, so that a stack switched by MOV SS; MOV
   * ESP is never used half switched (SDM vol. 3, 6.8.3). Of consecutive loads of SS only the first
   * is guaranteed to do so; as Bochs and QEMU, the later ones do not extend it.
   */
  protected afterMovSs(): void {
    if (this.afterSsLoad) return;
    this.shadow = true;
    this.ssShadow = true;
    this.attention = 1;
  }

  /**
   * Real and virtual-8086 mode: a far transfer's offset against CS's limit (FFFFh; a load of CS
   * there keeps it), before anything changes (SDM vol. 2, JMP/CALL/RET/IRET: "IF tempEIP is beyond
   * code segment limit THEN #GP(0)"): a 0x66 form can name an offset past 64 KiB.
   */
  protected checkRealTarget(eip: number): void {
    if (eip >>> 0 > this.segLimit[CS] >>> 0) throw new CpuFault(GP, 0);
  }

  protected farJump(sel: number, off: number): void {
    if (!(this._cr0 & CR0_PE) || this.fl & VM) {
      this.checkRealTarget(off);
      this.setRealSeg(CS, sel);
      this._eip = off;
      return;
    }
    this.farTransfer(sel, off, false);
  }

  protected farCall(sel: number, off: number): void {
    if (!(this._cr0 & CR0_PE) || this.fl & VM) {
      // "IF stack not large enough for a 6-byte (4-byte) return address THEN #SS(0)" (SDM vol. 2, CALL).
      this.requireStackFrame(this.op32 ? 8 : 4, this.op32 ? 4 : 2);
      this.checkRealTarget(off);
      this.push(this.segSel[CS]);
      this.push(this._eip);
      this.setRealSeg(CS, sel);
      this._eip = off;
      return;
    }
    this.farTransfer(sel, off, true);
  }

  /** Far CALL/JMP in protected mode: to a code segment, or through a call gate (SDM vol. 3, 5.8). */
  protected farTransfer(sel: number, off: number, call: boolean): void {
    if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
    const [lo, hi] = this.readDescriptor(sel, GP);
    const oldCs = this.segSel[CS];
    const oldEip = this._eip;
    if (hi & 0x1000) {
      this.loadCodeDescriptor(sel);
      // The return address's room first, then the offset (SDM vol. 2, CALL, CONFORMING- and
      // NONCONFORMING-CODE-SEGMENT: "IF stack not large enough for return address THEN #SS(0)",
      // then "IF tempEIP not within code segment limit THEN #GP(0)").
      if (call) this.requireStackFrame(this.op32 ? 8 : 4, this.op32 ? 4 : 2);
      this.checkCodeLimit(lo, hi, off);
      if (call) {
        this.push(oldCs);
        this.push(oldEip);
      }
      this.setCs(sel, lo, hi, this._cpl);
      this._eip = off;
      return;
    }
    const type = (hi >>> 8) & 0x1f;
    if (type === 1 || type === 3 || type === 5 || type === 9 || type === 11)
      return this.taskJumpOrCall(sel, lo, hi, call);
    if (type !== 0xc && type !== 0x4) throw new CpuFault(GP, sel & 0xfffc);
    const gateDpl = (hi >>> 13) & 3;
    if (gateDpl < this._cpl || gateDpl < (sel & 3)) throw new CpuFault(GP, sel & 0xfffc);
    if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
    const gate32 = type === 0xc;
    const target = lo >>> 16;
    const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
    if ((target & 0xfffc) === 0) throw new CpuFault(GP, 0);
    const [clo, chi] = this.readDescriptor(target, GP);
    if ((chi & 0x1800) !== 0x1800) throw new CpuFault(GP, target & 0xfffc);
    const dpl = (chi >>> 13) & 3;
    const conforming = (chi & 0x400) !== 0;
    if (dpl > this._cpl || (!call && !conforming && dpl !== this._cpl)) throw new CpuFault(GP, target & 0xfffc);
    if (!(chi & 0x8000)) throw new CpuFault(NP, target & 0xfffc);
    if (call && !conforming && dpl < this._cpl) {
      // Inner-ring call: new stack from the TSS, parameters copied (SDM vol. 3, 5.8.5).
      const params = hi & 0x1f;
      const psize = gate32 ? 4 : 2;
      const oldSs = this.segSel[SS];
      const oldEsp = this.reg32[ESP];
      const oldSsBase = this.segBase[SS];
      const copied: number[] = [];
      // Read through the caller's SS while it is loaded: a parameter past its limit (or straddling
      // a 16-bit stack's FFFFh) is #SS(0), its page's fault #PF, as any stack read (Bochs reads
      // them through SS too). The pseudocode copies them after the new stack's checks and the
      // offset's ("Push(parameters from calling procedure's stack)"), so such a fault waits for
      // those: a #TS/#SS of the new stack or the offset's #GP(0) comes first.
      let paramFault: unknown = null;
      try {
        for (let i = params - 1; i >= 0; i--) {
          const at = this.stackSize32 ? oldEsp + i * psize : (oldEsp + i * psize) & 0xffff;
          this.checkSeg(SS, at, psize, false);
          copied.push(gate32 ? this.readLin32(oldSsBase + at) : this.readLin16(oldSsBase + at));
        }
      } catch (e) {
        if (!(e instanceof CpuFault || e instanceof PageFault)) throw e;
        paramFault = e;
      }
      const [newSs, newEsp] = this.innerStack(dpl);
      this.holdCsSs();
      try {
        this.loadSegProtected(SS, newSs, TS, dpl);
        // A 16-bit stack segment takes SP only; ESP's high word stays the caller's (the new SS's
        // B bit sizes every write of the stack pointer: QEMU and Bochs alike; the same as RET and
        // IRET to a 16-bit stack, below, and the interrupt gates' switch).
        this.reg32[ESP] = this.stackSize32 ? newEsp : (oldEsp & ~0xffff) | (newEsp & 0xffff);
        this.requireStackRoom((4 + params) * psize, newSs, psize);
        this.checkCodeLimit(clo, chi, offset);
        if (paramFault !== null) throw paramFault;
        this.setCs(target, clo, chi, dpl);
        this.pushGate(gate32, oldSs);
        this.pushGate(gate32, oldEsp);
        for (const v of copied) this.pushGate(gate32, v);
        this.pushGate(gate32, oldCs);
        this.pushGate(gate32, oldEip);
      } catch (e) {
        this.restoreCsSs();
        throw e;
      }
    } else {
      // SAME-PRIVILEGE (SDM vol. 2, CALL): "IF stack does not have room for 8 bytes (16-bit gate:
      // 4) THEN #SS(0)", before the offset's check and before CS:EIP change.
      if (call) this.requireStackFrame(gate32 ? 8 : 4, gate32 ? 4 : 2);
      this.checkCodeLimit(clo, chi, offset);
      if (call) {
        this.pushGate(gate32, oldCs);
        this.pushGate(gate32, oldEip);
      }
      this.setCs(target, clo, chi, this._cpl);
    }
    this._eip = offset | 0;
  }

  /** A direct far transfer to a code segment at the same privilege (gates: not yet). */
  protected loadCodeDescriptor(sel: number): [number, number] {
    if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
    const [lo, hi] = this.readDescriptor(sel, GP);
    if ((hi & 0x1800) !== 0x1800) throw new CpuFault(GP, sel & 0xfffc);
    const dpl = (hi >>> 13) & 3;
    const conforming = (hi & 0x400) !== 0;
    if (conforming ? dpl > this._cpl : dpl !== this._cpl || (sel & 3) > this._cpl) throw new CpuFault(GP, sel & 0xfffc);
    if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
    return [lo, hi];
  }

  protected farReturn(n: number): void {
    const eip = this.pop();
    const cs = this.pop() & 0xffff;
    if (!(this._cr0 & CR0_PE) || this.fl & VM) {
      this.checkRealTarget(eip);
      this.addSp(n);
      this.setRealSeg(CS, cs);
      this._eip = eip;
      return;
    }
    this.returnTo(cs, eip, n, false);
  }

  protected iret(): void {
    if (!(this._cr0 & CR0_PE)) {
      const eip = this.pop();
      const cs = this.pop() & 0xffff;
      const fl = this.pop();
      this.checkRealTarget(eip);
      this.setRealSeg(CS, cs);
      this._eip = eip;
      this.setFlagsFrom(fl, this.op32 ? 4 : 2);
      return;
    }
    if (this.fl & VM) {
      // In virtual-8086 mode IRET is IOPL-sensitive; at IOPL 3 it is the real-mode IRET, and
      // POPF's rules keep IOPL and VM (SDM vol. 2, IRET; vol. 3, 20.2.7).
      if (this.iopl < 3) throw new CpuFault(GP, 0);
      const eip = this.pop();
      const cs = this.pop() & 0xffff;
      const fl = this.pop();
      if (eip > 0xffff) throw new CpuFault(GP, 0);
      this.vm86Seg(CS, cs);
      this.dropWindow();
      this._eip = eip;
      this.setFlagsFrom(fl, this.op32 ? 4 : 2);
      return;
    }
    if (this.fl & NT) return this.taskReturn();
    const eip = this.pop();
    const cs = this.pop() & 0xffff;
    const fl = this.pop();
    if (this.op32 && fl & VM && this._cpl === 0) return this.returnToVm86(eip, cs, fl);
    const oldCpl = this._cpl;
    this.returnTo(cs, eip, 0, true);
    // EFLAGS as popped at the old CPL's rights (SDM vol. 2, IRET).
    const saved = this._cpl;
    this._cpl = oldCpl;
    this.setFlagsFrom(fl & ~VM, this.op32 ? 4 : 2);
    this._cpl = saved;
    // IRETD loads RF (POPF does not): set by a #DB handler in the image, it lets the instruction
    // of an instruction breakpoint run once (SDM vol. 3, 17.3.1.1). events() clears it after one.
    if (this.op32) this.loadRf(fl);
  }

  /** RET far / IRET to `cs:eip`, switching to the outer stack when RPL > CPL. */
  protected returnTo(cs: number, eip: number, n: number, isIret: boolean): void {
    void isIret;
    const rpl = cs & 3;
    if (rpl < this._cpl) throw new CpuFault(GP, cs & 0xfffc);
    if ((cs & 0xfffc) === 0) throw new CpuFault(GP, 0);
    const lo = this.readDescriptorLo(cs, GP);
    const hi = this.descHi;
    if ((hi & 0x1800) !== 0x1800) throw new CpuFault(GP, cs & 0xfffc);
    const dpl = (hi >>> 13) & 3;
    if (hi & 0x400 ? dpl > rpl : dpl !== rpl) throw new CpuFault(GP, cs & 0xfffc);
    if (!(hi & 0x8000)) throw new CpuFault(NP, cs & 0xfffc);
    this.checkCodeLimit(lo, hi, eip);
    if (rpl > this._cpl) {
      this.addSp(n);
      const esp = this.pop();
      const ss = this.pop() & 0xffff;
      this.holdCsSs();
      try {
        this.loadSegProtected(SS, ss, GP, rpl);
        this.setCs(cs, lo, hi, rpl); // its accessed bit's write may #PF
      } catch (e) {
        this.restoreCsSs();
        throw e;
      }
      this.reg32[ESP] = this.stackSize32 ? esp : (this.reg32[ESP] & ~0xffff) | (esp & 0xffff);
      // RET imm16 releases the parameters from both stacks: the called procedure's before SS:ESP
      // is popped, the calling procedure's after it is loaded (SDM vol. 2, RET,
      // "RETURN-TO-OUTER-PRIVILEGE-LEVEL"; vol. 3, 5.8.6). The caller pushed them before the CALL
      // through the gate, which copied them to the inner stack.
      this.addSp(n);
      // Data segments the outer ring may not use become null (SDM vol. 2, RET).
      for (let k = 0; k < DATA_SEGS.length; k++) {
        const s = DATA_SEGS[k];
        const a = this.segAttr[s];
        const segDpl = (a >>> 13) & 3;
        const conformingCode = (a & 0xc00) === 0xc00;
        if (this.segSel[s] & 0xfffc && !conformingCode && segDpl < rpl) {
          this.segSel[s] = 0;
          this.segAttr[s] = 0;
        }
      }
    } else {
      this.setCs(cs, lo, hi, this._cpl);
      this.addSp(n);
    }
    this._eip = eip;
  }

  /**
   * The stack of an inner ring from the current TSS (SDM vol. 3, 6.12.1 and 7.2.1): SSn:ESPn of a
   * 32-bit TSS, SSn:SPn of a 16-bit one; beyond the TSS limit is #TS(TSS selector), the bounds as
   * the SDM's INT n pseudocode writes them (offset + 7, 16-bit: + 4).
   */
  protected innerStack(cpl: number): [number, number] {
    const ss = this.innerStackSs(cpl);
    return [ss, this.innerEsp];
  }

  /** The ESP (SP) of the inner stack innerStackSs read last. */
  protected innerEsp = 0;

  /** innerStack without the pair (for interrupt delivery): returns SSn, ESPn in innerEsp. */
  protected innerStackSs(cpl: number): number {
    if (this.trAttr & 0x800) {
      if (4 + cpl * 8 + 7 > this.trLimit >>> 0) throw new CpuFault(TS, this.trSel & 0xfffc);
      const ss = this.readLin16(this.trBase + 8 + cpl * 8, false);
      this.innerEsp = this.readLin32(this.trBase + 4 + cpl * 8, false);
      return ss;
    }
    if (2 + cpl * 4 + 4 > this.trLimit >>> 0) throw new CpuFault(TS, this.trSel & 0xfffc);
    const ss = this.readLin16(this.trBase + 4 + cpl * 4, false);
    this.innerEsp = this.readLin16(this.trBase + 2 + cpl * 4, false);
    return ss;
  }

  /**
   * A segment register in virtual-8086 mode (SDM vol. 3, 20.1.1): base = selector × 16, limit
   * 0xFFFF, a present writable (CS: code) segment of DPL 3.
   */
  protected vm86Seg(s: number, sel: number): void {
    this.segSel[s] = sel & 0xffff;
    this.segBase[s] = (sel & 0xffff) << 4;
    this.segLimit[s] = 0xffff;
    this.segAttr[s] = s === CS ? 0xfb00 : 0xf300;
    if (s === CS || s === SS) this.segmentLimitsChanged();
  }
}
