/**
 * String instructions of the Cpu class chain (README.md, "Layout"): MOVS/CMPS/STOS/LODS/SCAS/
 * INS/OUTS with REP/REPE/REPNE, restartable after a fault mid-way, and REP MOVS/STOS upward as
 * page-bounded block copies.
 */
import type { AccessSize } from '../bus';
import { PHYS_IO } from './mmu';
import { DF, RF, TF } from './flags';
import { EAX, ES, NO_SEG, ECX, EDX, ESI, EDI, DS, CR0_PE } from './arch';
import { CpuAlu } from './alu';

export abstract class CpuStrings extends CpuAlu {
  // ---- string instructions -----------------------------------------------------------------------

  /**
   * A string instruction. With REP the iterations run here in a loop (hot path), each retiring as
   * one instruction; after a bounded number the instruction restarts at its prefix, so interrupts
   * are taken between iterations, and a fault in mid-REP leaves the registers exactly as far as
   * the completed iterations (the fault restarts the instruction).
   */
  protected stringOp(op: number, size: number): void {
    if (this.rep === 0) {
      this.stringOnce(op, size);
      return;
    }
    const a32 = this.ad32;
    const r = this.reg32;
    const i0 = this.instructions;
    // At most 1024 iterations per execution, and not past the budget (the caller counts one).
    // Single-stepping traps after each iteration (the instruction restarts at its prefix).
    const limit = this.fl & TF ? 1 : Math.max(1, Math.min(1024, this.runEnd - i0));
    const bulk = a32 && (op === 0xa4 || op === 0xaa) && (this.fl & DF) === 0;
    const scan = a32 && size === 1 && (op === 0xa6 || op === 0xae) && (this.fl & DF) === 0;
    for (let n = 0; ;) {
      if ((a32 ? r[ECX] : r[ECX] & 0xffff) === 0) return;
      let k = bulk ? this.stringBulk(op, size, Math.min(r[ECX] >>> 0, limit - n)) : 0;
      let again = true;
      if (scan) {
        k = this.scanBulk(op, Math.min(r[ECX] >>> 0, limit - n));
        if (k > 0) again = !this.scanStopped;
      }
      if (k === 0) {
        again = this.stringOnce(op, size);
        if (a32) r[ECX] = r[ECX] - 1;
        else r[ECX] = (r[ECX] & ~0xffff) | ((r[ECX] - 1) & 0xffff);
        k = 1;
      }
      n += k;
      this.instructions = i0 + n - 1;
      if ((a32 ? r[ECX] : r[ECX] & 0xffff) === 0 || !again) return;
      if (n >= limit) {
        // Between iterations: the instruction resumes at its prefix. RF = 1 for it (SDM vol. 3,
        // 17.3.1.1), so that an interrupt or trap taken here pushes RF = 1 (its IRETD resumes the
        // REP past its instruction breakpoint) and the resumed REP does not stop at its own
        // breakpoint again; events() clears it as the REP resumes.
        this._eip = this.start;
        if (this._cr0 & CR0_PE) {
          this.fl |= RF;
          this.attention = 1;
        }
        return;
      }
    }
  }

  /**
   * REP MOVS / REP STOS upward with 32-bit addresses, as block copies (hot path): up to `max`
   * iterations that stay inside one source and one destination page of RAM, through flat
   * segments; returns how many were done (ESI/EDI/ECX advanced), 0 when the element-by-element
   * path must do the next one (page end, MMIO, segment checks, an overlap that a block copy would
   * get wrong). A fault leaves the registers at the iterations already done, as that path does.
   */
  protected stringBulk(op: number, size: number, max: number): number {
    if (!(this._cr0 & CR0_PE) || !this.flatSeg(ES)) return 0;
    const r = this.reg32;
    const movs = op === 0xa4;
    const srcReg = this.seg === NO_SEG ? DS : this.seg;
    if (movs && !this.flatSeg(srcReg)) return 0;
    const dlin = (this.segBase[ES] + r[EDI]) | 0;
    const slin = movs ? (this.segBase[srcReg] + r[ESI]) | 0 : 0;
    let bytes = Math.min(max * size, 4096 - (dlin & 0xfff));
    if (movs) bytes = Math.min(bytes, 4096 - (slin & 0xfff));
    let k = Math.floor(bytes / size);
    if (k === 0) return 0;
    const user = this.user;
    const so = movs ? this.mmu.translate(slin, false, user) : 0;
    if (so === PHYS_IO) return 0;
    const grants = this.mmu.writeOnceGrants;
    const doff = this.mmu.translate(dlin, true, user);
    if (doff === PHYS_IO) return 0;
    if (this.mmu.writeOnceGrants !== grants) k = 1; // trap mode: this translation is good for one store
    const len = k * size;
    if (movs) {
      if (k > 1 && doff > so && doff < so + len) return 0; // forward overlap: element by element
      if (size === 4 && ((so | doff) & 3) === 0) this.mem32.copyWithin(doff >> 2, so >> 2, (so >> 2) + k);
      else this.u8.copyWithin(doff, so, so + len);
      r[ESI] = r[ESI] + len;
    } else if (size === 1) this.u8.fill(r[EAX], doff, doff + len);
    else if (size === 4 && (doff & 3) === 0) this.mem32.fill(r[EAX], doff >> 2, (doff >> 2) + k);
    else if (k === 1) for (let i = 0; i < size; i++) this.u8[doff + i] = r[EAX] >>> (8 * i);
    else return 0;
    for (let line = doff >>> 7; line <= (doff + len - 1) >>> 7; line++)
      if (this.codeLines[line] !== 0) {
        this.codeWritten(doff, len);
        break;
      }
    r[EDI] = r[EDI] + len;
    r[ECX] = r[ECX] - k;
    return k;
  }

  /** Whether the last scanBulk ended on REPE/REPNE's condition (not on its count or a page end). */
  protected scanStopped = false;

  /**
   * REPE/REPNE CMPSB and SCASB upward with 32-bit addresses, over the bytes of one source and one
   * destination page of RAM through flat segments: up to `max` iterations, stopping after the
   * one whose comparison ends the repeat (scanStopped); the flags are those of the last
   * comparison, as after the element-by-element path. Returns how many were done (ESI/EDI/ECX
   * advanced), 0 when that path must do the next one. The translations come in the order of its
   * reads (source, then destination), so a fault is the same fault.
   */
  protected scanBulk(op: number, max: number): number {
    if (!(this._cr0 & CR0_PE) || !this.flatSeg(ES)) return 0;
    const r = this.reg32;
    const cmps = op === 0xa6;
    const srcReg = this.seg === NO_SEG ? DS : this.seg;
    if (cmps && !this.flatSeg(srcReg)) return 0;
    const dlin = (this.segBase[ES] + r[EDI]) | 0;
    const slin = cmps ? (this.segBase[srcReg] + r[ESI]) | 0 : 0;
    let n = Math.min(max, 4096 - (dlin & 0xfff));
    if (cmps) n = Math.min(n, 4096 - (slin & 0xfff));
    if (n <= 0) return 0;
    const user = this.user;
    const so = cmps ? this.mmu.translate(slin, false, user) : 0;
    if (so === PHYS_IO) return 0;
    const doff = this.mmu.translate(dlin, false, user);
    if (doff === PHYS_IO) return 0;
    const u8 = this.u8;
    const whileEqual = this.rep === 0xf3; // REPE; REPNE goes on while they differ
    let a = r[EAX] & 0xff;
    let b = 0;
    let i = 0;
    let stop = false;
    while (i < n) {
      if (cmps) a = u8[so + i];
      b = u8[doff + i];
      i++;
      if ((a === b) !== whileEqual) {
        stop = true;
        break;
      }
    }
    this.alu(7, a, b, 1);
    this.scanStopped = stop;
    if (cmps) r[ESI] = r[ESI] + i;
    r[EDI] = r[EDI] + i;
    r[ECX] = r[ECX] - i;
    return i;
  }

  /** A flat 4 GiB writable data segment: its accesses need no limit or type check. */
  protected flatSeg(s: number): boolean {
    return this.segLimit[s] === -1 && (this.segAttr[s] & 0xe00) === 0x200;
  }

  /** One iteration of a string instruction; false when REPE/REPNE's condition ends the repeat. */
  protected stringOnce(op: number, size: number): boolean {
    const a32 = this.ad32;
    const r = this.reg32;
    const step = this.fl & DF ? -size : size;
    const srcSeg = this.segBase[this.seg === NO_SEG ? DS : this.seg];
    const si = a32 ? r[ESI] : r[ESI] & 0xffff;
    const di = a32 ? r[EDI] : r[EDI] & 0xffff;
    const srcReg = this.seg === NO_SEG ? DS : this.seg;
    if (op === 0xa4 || op === 0xa6 || op === 0xac || op === 0x6e) this.checkSeg(srcReg, si, size, false);
    if (op !== 0xac && op !== 0x6e) this.checkSeg(ES, di, size, op === 0xa4 || op === 0xaa || op === 0x6c);
    let again = true;
    switch (op) {
      case 0xa4: // MOVS
        this.writeLin(this.segBase[ES] + di, size, this.readLin(srcSeg + si, size));
        this.advance(ESI, step, a32);
        this.advance(EDI, step, a32);
        break;
      case 0xa6: {
        // CMPS
        const a = this.readLin(srcSeg + si, size);
        const b = this.readLin(this.segBase[ES] + di, size);
        this.alu(7, a, b, size);
        this.advance(ESI, step, a32);
        this.advance(EDI, step, a32);
        again = this.cond(this.rep === 0xf3 ? 4 : 5); // REPE: while ZF; REPNE: while not ZF
        break;
      }
      case 0xaa: // STOS
        this.writeLin(this.segBase[ES] + di, size, this.getReg(EAX, size));
        this.advance(EDI, step, a32);
        break;
      case 0xac: // LODS
        this.setReg(EAX, size, this.readLin(srcSeg + si, size));
        this.advance(ESI, step, a32);
        break;
      case 0xae: {
        // SCAS
        this.alu(7, this.getReg(EAX, size), this.readLin(this.segBase[ES] + di, size), size);
        this.advance(EDI, step, a32);
        again = this.cond(this.rep === 0xf3 ? 4 : 5); // REPE: while ZF; REPNE: while not ZF
        break;
      }
      case 0x6c: {
        // INS
        const port = r[EDX] & 0xffff;
        this.checkIo(port, size);
        this.writeLin(this.segBase[ES] + di, size, this.env.io.read(port, size as AccessSize));
        if (this.debugActive) this.ioBreakpoints(port, size);
        if (this.externalWrites) this.codeChangedOutside();
        this.advance(EDI, step, a32);
        break;
      }
      default: {
        // OUTS
        const port = r[EDX] & 0xffff;
        this.checkIo(port, size);
        this.env.io.write(port, size as AccessSize, this.readLin(srcSeg + si, size));
        if (this.debugActive) this.ioBreakpoints(port, size);
        if (this.externalWrites) this.codeChangedOutside();
        this.advance(ESI, step, a32);
      }
    }
    return again;
  }

  protected advance(reg: number, step: number, a32: boolean): void {
    const r = this.reg32;
    r[reg] = a32 ? r[reg] + step : (r[reg] & ~0xffff) | ((r[reg] + step) & 0xffff);
  }
}
