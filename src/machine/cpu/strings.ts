/**
 * String instructions of the Cpu class chain (README.md, "Layout"): MOVS/CMPS/STOS/LODS/SCAS/
 * INS/OUTS with REP/REPE/REPNE, restartable after a fault mid-way; REP MOVS/STOS (either
 * direction) and REPE/REPNE CMPSB/SCASB (upward) as page-bounded block operations on RAM.
 */
import type { AccessSize } from '../bus';
import { PHYS_IO, TLB_MISS } from './mmu';
import { DF, IF, RF, TF } from './flags';
import { EAX, ES, NO_SEG, ECX, EDX, ESI, EDI, DS, CR0_PE } from './arch';
import { CpuAlu } from './alu';

/**
 * A REP instruction's iterations are grouped in slices of this many from where it began to
 * execute; between two slices the run loop would look at interrupts and stops, so the
 * instruction ends there (it restarts at its prefix) whenever something may be waiting there.
 */
const REP_SLICE = 1024;

/**
 * Below this many bytes a misaligned copy goes straight through copyWithin; above it through
 * `bounce` (see copyBytes).
 */
const BOUNCE_MIN = 64;

/** The longest run of pages stringBulk copies or fills at once, in bytes. */
const RUN_MAX = 64 * 1024;

/** A run and a little: the bounce buffer's two halves (copyBytes), 8-byte aligned. */
const BOUNCE_HALF = RUN_MAX + 8;

export abstract class CpuStrings extends CpuAlu {
  // ---- string instructions -----------------------------------------------------------------------

  /**
   * A string instruction. With REP the iterations run here in a loop (hot path), each retiring as
   * one instruction, in bulk where they can (stringBulk, scanBulk). The instruction ends early,
   * to restart at its prefix, where the run loop has something to do between two iterations: at
   * the budget's end, after each one while single-stepping, and at the end of each REP_SLICE
   * iterations when an event is due there (repEventDue: an interrupt, a stop, a data
   * breakpoint's trap). A fault in mid-REP leaves the registers exactly as far as the completed
   * iterations, and the instruction count with each of them retired (the fault restarts the
   * instruction, whose iterations count on from there): `instructions` holds the iterations done
   * while they run, one less where the instruction ends, since the caller counts that one.
   */
  protected stringOp(op: number, size: number): void {
    if (this.rep === 0) {
      this.stringOnce(op, size);
      return;
    }
    const a32 = this.ad32;
    const r = this.reg32;
    const i0 = this.instructions;
    // Not past the budget (the caller counts one). Single-stepping traps after each iteration.
    const limit = this.fl & TF ? 1 : Math.max(1, this.runEnd - i0);
    const upward = a32 && (this.fl & DF) === 0 && (this._cr0 & CR0_PE) !== 0;
    const bulk = a32 && (this._cr0 & CR0_PE) !== 0 && (op === 0xa4 || op === 0xaa);
    const scan = upward && size === 1 && (op === 0xa6 || op === 0xae);
    for (let n = 0; ;) {
      const count = a32 ? r[ECX] >>> 0 : r[ECX] & 0xffff;
      if (count === 0) return;
      // A bulk step crosses the end of a slice only when no event can become due there: with
      // IF = 0 nothing from the interrupt controller can be delivered (whatever its answer is by
      // then), and a stop or a data breakpoint's trap comes only from an element-by-element step.
      let max = Math.min(count, limit - n);
      if (this.fl & IF || this.stopRequested || this.breakpointHits !== 0)
        max = Math.min(max, REP_SLICE - (n % REP_SLICE));
      let k = 0;
      let again = true;
      if (bulk) k = this.stringBulk(op, size, max, i0 + n);
      else if (scan) {
        k = this.scanBulk(op, max, i0 + n);
        if (k > 0) again = !this.scanStopped;
      }
      if (k === 0) {
        again = this.stringOnce(op, size);
        if (a32) r[ECX] = r[ECX] - 1;
        else r[ECX] = (r[ECX] & ~0xffff) | ((r[ECX] - 1) & 0xffff);
        k = 1;
      }
      n += k;
      this.instructions = i0 + n;
      if ((a32 ? r[ECX] : r[ECX] & 0xffff) === 0 || !again) {
        this.instructions--; // the caller counts the last
        return;
      }
      if (n >= limit || (n % REP_SLICE === 0 && this.repEventDue(i0 + n))) {
        this.instructions--;
        // Between iterations: the instruction resumes at its prefix. RF = 1 for it (SDM vol. 3,
        // 17.3.1.1), so that an interrupt or trap taken here pushes RF = 1 (its IRETD resumes the
        // REP past its instruction breakpoint) and the resumed REP does not stop at its own
        // breakpoint again; events() clears it as the REP resumes.
        // The run loop looks at events() before it: an interrupt the controller has (repEventDue)
        // is no device access it would otherwise see.
        this._eip = this.start;
        if (this._cr0 & CR0_PE) this.fl |= RF;
        this.attention = 1;
        return;
      }
    }
  }

  /**
   * At the end of a slice of a REP's iterations: whether the run loop, were the REP to end here,
   * would find something to do before resuming it (events(): a stop, a data breakpoint's #DB,
   * an interrupt to deliver). The interrupt controller is asked as the loop would ask it, with
   * the instruction count and EIP it would see then (the REP's iterations so far, its own EIP).
   */
  protected repEventDue(retired: number): boolean {
    if (this.stopRequested || this.breakpointHits !== 0) return true;
    if (!(this.fl & IF)) return false;
    const count = this.instructions;
    const eip = this._eip;
    this.instructions = retired;
    this._eip = this.start;
    const due = this.env.pic.hasInterrupt();
    this.instructions = count;
    this._eip = eip;
    return due;
  }

  /**
   * REP MOVS / REP STOS with 32-bit addresses, upward or downward (DF = 1), as block copies and
   * fills (hot path): up to `max` iterations, page by page while source and destination are RAM
   * through flat segments; returns how many were done, 0 when the element-by-element path must
   * do the next one (an element across a page end, MMIO, a data breakpoint's page, segment
   * checks, an overlap that a block copy would get wrong).
   *
   * Pages contiguous in machine memory on both sides make one run, copied or filled at once
   * (up to RUN_MAX bytes), as long as the TLB holds their translations. A translation the TLB
   * does not hold is a page walk, which may set A/D bits or fault: the run so far is done first,
   * leaving ESI/EDI/ECX and the instruction count (`retired` + the iterations done) as the
   * element-by-element path would when that access faults.
   */
  protected stringBulk(op: number, size: number, max: number, retired: number): number {
    if (!this.flatSeg(ES)) return 0;
    const movs = op === 0xa4;
    const srcReg = this.seg === NO_SEG ? DS : this.seg;
    if (movs && !this.flatSeg(srcReg)) return 0;
    const r = this.reg32;
    const mmu = this.mmu;
    const user = this.user;
    const shift = size >> 1; // log2 of 1, 2, 4
    const down = (this.fl & DF) !== 0;
    this.bulkDone = 0;
    // The run not done yet: machine offsets of its source and destination (its lowest bytes),
    // its length in bytes.
    let runSrc = 0;
    let runDst = 0;
    let runLen = 0;
    for (let left = max; left > 0;) {
      // The next element, and how many from it on stay inside its page on both sides: upward up
      // to the page's end, downward (DF = 1) down to its start.
      const dlin = (this.segBase[ES] + r[EDI] + (down ? -runLen : runLen)) | 0;
      const slin = movs ? (this.segBase[srcReg] + r[ESI] + (down ? -runLen : runLen)) | 0 : 0;
      let k: number;
      if (!down) {
        let bytes = Math.min(left << shift, 4096 - (dlin & 0xfff));
        if (movs) bytes = Math.min(bytes, 4096 - (slin & 0xfff));
        k = bytes >> shift;
      } else if ((dlin & 0xfff) + size > 4096 || (movs && (slin & 0xfff) + size > 4096)) k = 0;
      else {
        k = Math.min(left, ((dlin & 0xfff) >> shift) + 1);
        if (movs) k = Math.min(k, ((slin & 0xfff) >> shift) + 1);
      }
      if (k === 0) break;
      let so = movs ? mmu.cached(slin, false, user) : 0;
      let doff = mmu.cached(dlin, true, user);
      if (so === TLB_MISS || doff === TLB_MISS) {
        this.bulkRun(op, size, runDst, runSrc, runLen, retired, down);
        runLen = 0;
        // In the order of the element-by-element path's accesses: the source read, then the write.
        so = movs ? mmu.translate(slin, false, user) : 0;
        if (so === PHYS_IO) break;
        const grants = mmu.writeOnceGrants;
        doff = mmu.translate(dlin, true, user);
        if (doff === PHYS_IO) break;
        if (mmu.writeOnceGrants !== grants) k = 1; // trap mode: this translation is good for one store
      }
      const len = k << shift;
      if (down) {
        // The block's lowest bytes.
        so -= len - size;
        doff -= len - size;
      }
      // MOVS is a block copy unless the destination starts inside the source after its first
      // element in the direction of the copy: then the bytes it writes are read again.
      const hazard = down ? so - doff : doff - so;
      const joins = down ? doff + len === runDst : doff === runDst + runLen;
      const srcJoins = down ? so + len === runSrc : so === runSrc + runLen;
      if (
        runLen > 0 &&
        joins &&
        runLen + len <= RUN_MAX &&
        (!movs || (srcJoins && (hazard <= 0 || hazard >= runLen + len)))
      ) {
        runLen += len;
        if (down) {
          runSrc = so;
          runDst = doff;
        }
      } else {
        this.bulkRun(op, size, runDst, runSrc, runLen, retired, down);
        if (movs && k > 1 && hazard > 0 && hazard < len) {
          runLen = 0;
          break; // element by element
        }
        runSrc = so;
        runDst = doff;
        runLen = len;
      }
      left -= k;
    }
    this.bulkRun(op, size, runDst, runSrc, runLen, retired, down);
    return this.bulkDone;
  }

  /** Iterations done by the current stringBulk (its runs so far). */
  private bulkDone = 0;

  /** One run of stringBulk: the copy or fill, code written over, ESI/EDI/ECX and the count. */
  private bulkRun(
    op: number,
    size: number,
    dst: number,
    src: number,
    len: number,
    retired: number,
    down: boolean,
  ): void {
    if (len === 0) return;
    const r = this.reg32;
    const delta = down ? -len : len;
    if (op === 0xa4) {
      this.copyBytes(dst, src, len);
      r[ESI] = r[ESI] + delta;
    } else this.fillBytes(dst, len, r[EAX], size);
    this.codeWrittenRange(dst, len);
    const k = len / size;
    r[EDI] = r[EDI] + delta;
    r[ECX] = r[ECX] - k;
    this.bulkDone += k;
    this.instructions = retired + this.bulkDone;
  }

  /** A block write over machine bytes [o, o + len): codeWritten for each frame where it hits decoded code. */
  private codeWrittenRange(o: number, len: number): void {
    const lines = this.codeLines;
    const last = (o + len - 1) >>> 7;
    for (let line = o >>> 7; line <= last;) {
      const at = lines.subarray(line, last + 1).indexOf(1);
      if (at < 0) return;
      const frame = (line + at) >>> 5; // 32 lines of 128 bytes a frame
      const from = Math.max(o, frame << 12);
      this.codeWritten(from, Math.min(o + len, (frame + 1) << 12) - from);
      line = (frame + 1) << 5;
    }
  }

  /** A scratch buffer outside the guest's (shared) memory for copyBytes. */
  private bounce: Uint8Array | null = null;

  /**
   * `len` bytes (≤ RUN_MAX) from machine offset `src` to `dst`, as memmove (hot path). Guest
   * memory is a SharedArrayBuffer, which V8 copies eight bytes at a time only when source and
   * destination are equally aligned modulo 8, byte by byte otherwise (several times slower): a
   * misaligned block goes through a scratch buffer instead, in and out equally aligned, shifted
   * in between as ordinary memory.
   */
  private copyBytes(dst: number, src: number, len: number): void {
    const u8 = this.u8;
    if (((dst ^ src) & 7) === 0 || len < BOUNCE_MIN) {
      u8.copyWithin(dst, src, src + len);
      return;
    }
    const b = (this.bounce ??= new Uint8Array(2 * BOUNCE_HALF));
    const from = src & 7;
    const to = BOUNCE_HALF + (dst & 7);
    b.set(u8.subarray(src, src + len), from);
    b.copyWithin(to, from, from + len);
    u8.set(b.subarray(to, to + len), dst);
  }

  /**
   * STOS's `len` bytes from machine offset `dst`: the element `value` of `size` bytes repeated
   * (hot path). The aligned middle as dwords (a SharedArrayBuffer is filled byte by byte
   * otherwise), the pattern rotated to the phase at which it meets them.
   */
  private fillBytes(dst: number, len: number, value: number, size: number): void {
    const u8 = this.u8;
    const pattern = size === 1 ? (value & 0xff) * 0x01010101 : size === 2 ? (value & 0xffff) * 0x10001 : value;
    let i = 0;
    for (; i < len && ((dst + i) & 3) !== 0; i++) u8[dst + i] = pattern >>> (8 * (i & 3));
    const words = (len - i) >> 2;
    if (words > 0) {
      const rot = 8 * (i & 3);
      const w = rot === 0 ? pattern : (pattern >>> rot) | (pattern << (32 - rot));
      this.mem32.fill(w, (dst + i) >> 2, ((dst + i) >> 2) + words);
      i += words << 2;
    }
    for (; i < len; i++) u8[dst + i] = pattern >>> (8 * (i & 3));
  }

  /** Whether the last scanBulk ended on REPE/REPNE's condition (not on its count or a page end). */
  protected scanStopped = false;

  /**
   * REPE/REPNE CMPSB and SCASB upward with 32-bit addresses, page by page over RAM through flat
   * segments (hot path): up to `max` iterations, stopping after the one whose comparison ends
   * the repeat (scanStopped). Returns how many were done, 0 when the element-by-element path
   * must do the next one. After each page ESI/EDI/ECX, the flags (those of its last comparison)
   * and the instruction count (`retired` + the iterations done) are as that path leaves them, and
   * the translations come in the order of its reads (source, then destination), so that a fault
   * is the same fault with the same state.
   */
  protected scanBulk(op: number, max: number, retired: number): number {
    if (!this.flatSeg(ES)) return 0;
    const cmps = op === 0xa6;
    const srcReg = this.seg === NO_SEG ? DS : this.seg;
    if (cmps && !this.flatSeg(srcReg)) return 0;
    const r = this.reg32;
    const mmu = this.mmu;
    const user = this.user;
    const u8 = this.u8;
    const whileEqual = this.rep === 0xf3; // REPE; REPNE goes on while they differ
    const al = r[EAX] & 0xff;
    let done = 0;
    this.scanStopped = false;
    while (done < max) {
      const dlin = (this.segBase[ES] + r[EDI]) | 0;
      const slin = cmps ? (this.segBase[srcReg] + r[ESI]) | 0 : 0;
      let n = Math.min(max - done, 4096 - (dlin & 0xfff));
      if (cmps) n = Math.min(n, 4096 - (slin & 0xfff));
      const so = cmps ? mmu.translate(slin, false, user) : 0;
      if (so === PHYS_IO) break;
      const doff = mmu.translate(dlin, false, user);
      if (doff === PHYS_IO) break;
      // The index of the comparison that ends the repeat, or n.
      let i: number;
      if (cmps) i = whileEqual ? firstDifference(u8, this.mem32, so, doff, n) : firstSame(u8, so, doff, n);
      else if (whileEqual) i = firstNotByte(u8, this.mem32, doff, n, al);
      else {
        i = u8.subarray(doff, doff + n).indexOf(al);
        if (i < 0) i = n;
      }
      const stop = i < n;
      const k = stop ? i + 1 : n;
      this.alu(7, cmps ? u8[so + k - 1] : al, u8[doff + k - 1], 1);
      if (cmps) r[ESI] = r[ESI] + k;
      r[EDI] = r[EDI] + k;
      r[ECX] = r[ECX] - k;
      done += k;
      this.instructions = retired + done;
      if (stop) {
        this.scanStopped = true;
        break;
      }
    }
    return done;
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
        this.deviceAccessed();
        this.advance(EDI, step, a32);
        break;
      }
      default: {
        // OUTS
        const port = r[EDX] & 0xffff;
        this.checkIo(port, size);
        this.env.io.write(port, size as AccessSize, this.readLin(srcSeg + si, size));
        if (this.debugActive) this.ioBreakpoints(port, size);
        this.deviceAccessed();
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

// The scans of scanBulk (hot path), small functions of their own so that V8 optimizes their loops
// early. Each returns the index of the first byte where its condition holds, or n.

/** The first i < n with u8[a + i] ≠ u8[b + i]: four bytes at a time when a and b are equally aligned. */
function firstDifference(u8: Uint8Array, m32: Int32Array, a: number, b: number, n: number): number {
  if (a === b) return n; // the same bytes
  let i = 0;
  if (((a ^ b) & 3) === 0) {
    for (; i < n && ((a + i) & 3) !== 0; i++) if (u8[a + i] !== u8[b + i]) return i;
    for (; i + 4 <= n; i += 4) if (m32[(a + i) >> 2] !== m32[(b + i) >> 2]) break;
  }
  for (; i < n; i++) if (u8[a + i] !== u8[b + i]) return i;
  return n;
}

/** The first i < n with u8[a + i] = u8[b + i]. */
function firstSame(u8: Uint8Array, a: number, b: number, n: number): number {
  for (let i = 0; i < n; i++) if (u8[a + i] === u8[b + i]) return i;
  return n;
}

/** The first i < n with u8[at + i] ≠ v, four bytes at a time. */
function firstNotByte(u8: Uint8Array, m32: Int32Array, at: number, n: number, v: number): number {
  let i = 0;
  for (; i < n && ((at + i) & 3) !== 0; i++) if (u8[at + i] !== v) return i;
  const w = Math.imul(v, 0x01010101);
  for (; i + 4 <= n; i += 4) if (m32[(at + i) >> 2] !== w) break;
  for (; i < n; i++) if (u8[at + i] !== v) return i;
  return n;
}
