/**
 * The MMU: guest-linear → guest-physical through the guest's 2-level page tables (SDM vol. 3,
 * 4.3), then guest-physical → machine through the hypervisor's p2m, with a TLB.
 *
 * The dirty-bit rule (SDM 4.8): a TLB entry is made writable only once the dirty bits are set,
 * both the guest's (PTE.D, or PDE.D for a 4 MiB page) and the p2m's (P2M_D, via p2m.setDirty), so
 * the first write through a clean translation walks again and sets them. A read miss caches the
 * translation read-only even when PTE.D is already set (src/machine/hv/README.md).
 *
 * A write the hypervisor lets through once (S2Verdict.WRITE_ONCE, trap mode) completes through the
 * slow path and leaves the translation cached read-only: no TLB entry ever makes a trapped frame
 * writable, so the fast path (and the block compiler's inline stores, which test the same flags)
 * misses on every write to it, and every write faults.
 */
import type { MachineMemory } from '../memory';
import type { MmioBus } from '../bus';
import {
  P2M_MFN_MASK,
  P2M_MMIO,
  P2M_R,
  P2M_W,
  S2Verdict,
  type P2m,
  type SecondStageFaultHandler,
  type WritableMappingInvalidator,
} from '../hv/p2m';

/** Thrown (inside the CPU only) for a page fault; run() turns it into #PF. */
export class PageFault {
  constructor(
    readonly linear: number,
    readonly errorCode: number,
  ) {}
}

const PTE_P = 1;
const PTE_RW = 2;
const PTE_US = 4;
const PTE_A = 0x20;
const PTE_D = 0x40;
const PDE_PS = 0x80;
const PTE_G = 0x100;

/** TLB flag bits (per linear page). */
const T_VALID = 1;
const T_USER = 2; // ring 3 may read
const T_WRITE_SUP = 4; // ring 0–2 may write (dirty bits set)
const T_WRITE_USER = 8; // ring 3 may write (dirty bits set)
const T_GLOBAL = 16;
/** On the `listed` pages (a writable translation to a frame the hypervisor tracks). */
const T_LISTED = 32;
const T_WRITE = T_WRITE_SUP | T_WRITE_USER;

/** `a` in an array twice its length (the rest zero): a full list of linear pages grows. */
function doubled(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** A physical-address result meaning "not RAM: go to the MMIO bus / unmapped". */
export const PHYS_IO = -1;
/** Mmu.cached(): the TLB does not hold the translation. */
export const TLB_MISS = -2;

export class Mmu implements WritableMappingInvalidator {
  /** Per linear page: T_* flags (0 = not cached). */
  readonly flags = new Uint8Array(1 << 20);
  /** Per linear page: the machine byte offset of the frame. */
  readonly machine = new Int32Array(1 << 20);
  /** Per linear page: the guest frame it maps (for invalidation by frame). */
  private readonly gfnOf = new Int32Array(1 << 20);
  /** The linear pages currently cached, so flushes and by-frame invalidation cost O(cached). */
  private filled = new Int32Array(4096);
  private filledCount = 0;

  /**
   * Bumped whenever cached translations of any number of pages may have been dropped (a flush,
   * the hypervisor's invalidation), so that the CPU's caches of a code page (its fetch page, the
   * decoded-code window) open afresh. INVLPG does not move it: it drops one page, and the CPU
   * drops its own caches of that page (CpuDecodedCache.pageInvalidated).
   */
  generation = 0;

  paging = false;
  cr3 = 0;
  wp = false;
  pse = false;
  pge = false;
  a20Mask = -1;

  constructor(
    private readonly memory: MachineMemory,
    private readonly p2m: P2m,
    private readonly mmio: MmioBus,
    private readonly s2: SecondStageFaultHandler,
  ) {}

  // ---- TLB maintenance --------------------------------------------------------------------------

  flush(keepGlobal: boolean): void {
    this.generation++;
    let kept = 0;
    for (let i = 0; i < this.filledCount; i++) {
      const lpn = this.filled[i];
      if (keepGlobal && this.flags[lpn] & T_GLOBAL) this.filled[kept++] = lpn;
      else this.flags[lpn] = 0;
    }
    this.filledCount = kept;
    if (kept === 0) this.listedCount = 0;
  }

  /** INVLPG (SDM vol. 3, 4.10.4.1): the one page's translation, global or not. */
  invlpg(linear: number): void {
    this.flags[linear >>> 12] = 0;
  }

  /**
   * Drops write permission from every cached translation to [firstGfn, firstGfn + nr). When the
   * hypervisor tracks every frame of the range (p2m.trackedFrames: a dirty-log harvest), only the
   * writable translations to tracked frames are visited (`listed`), not the whole TLB: an
   * idle Linux caches some 2,000 translations, and the display's harvest over them cost 90–230 µs
   * a call on cold host caches where the few writable VRAM translations cost a few. A frame must
   * not become tracked while it has writable translations that are not on the list: the dirty
   * log drops them (this call, before it counts the frame tracked) when it opens a region.
   */
  invalidateWritableMappings(firstGfn: number, nr: number): number {
    const tracked = this.p2m.trackedFrames;
    let all = nr > 0;
    for (let g = firstGfn, end = firstGfn + nr; g < end && all; g++) all = tracked[g] !== 0;
    const flags = this.flags;
    let n = 0;
    if (all) {
      // Keep the list to what is still listed and outside the range.
      let k = 0;
      for (let i = 0; i < this.listedCount; i++) {
        const lpn = this.listed[i];
        const f = flags[lpn];
        if ((f & T_LISTED) === 0) continue;
        const g = this.gfnOf[lpn];
        if (g >= firstGfn && g < firstGfn + nr) {
          // Listed means writable: the two are set together (remember) and cleared together.
          flags[lpn] = f & ~(T_WRITE | T_LISTED);
          n++;
        } else this.listed[k++] = lpn;
      }
      this.listedCount = k;
      return n;
    }
    for (let i = 0; i < this.filledCount; i++) {
      const lpn = this.filled[i];
      const g = this.gfnOf[lpn];
      if (flags[lpn] & T_WRITE && g >= firstGfn && g < firstGfn + nr) {
        flags[lpn] &= ~(T_WRITE | T_LISTED);
        n++;
      }
    }
    return n;
  }

  /**
   * The linear pages whose cached translation is writable to a frame the hypervisor tracked when
   * it was cached (T_LISTED in flags; entries whose flag has gone since are dropped lazily), so
   * that a harvest's invalidation costs O(writable tracked translations).
   */
  private listed = new Int32Array(256);
  private listedCount = 0;

  private list(lpn: number): void {
    if (this.listedCount === this.listed.length) {
      // Compact: keep each page still listed, once (its flag is cleared at its first sighting).
      let k = 0;
      for (let i = 0; i < this.listedCount; i++) {
        const l = this.listed[i];
        if (this.flags[l] & T_LISTED) {
          this.flags[l] &= ~T_LISTED;
          this.listed[k++] = l;
        }
      }
      for (let i = 0; i < k; i++) this.flags[this.listed[i]] |= T_LISTED;
      this.listedCount = k;
      if (k === this.listed.length) this.listed = doubled(this.listed);
    }
    this.listed[this.listedCount++] = lpn;
  }

  invalidateMappings(firstGfn: number, nr: number): number {
    this.generation++;
    let n = 0;
    for (let i = 0; i < this.filledCount; i++) {
      const lpn = this.filled[i];
      const g = this.gfnOf[lpn];
      if (this.flags[lpn] && g >= firstGfn && g < firstGfn + nr) {
        this.flags[lpn] = 0;
        n++;
      }
    }
    return n;
  }

  private remember(lpn: number, gfn: number, mfnOffset: number, f: number): void {
    if (this.flags[lpn] === 0) {
      if (this.filledCount === this.filled.length) {
        // Compact: drop entries invalidated since (flags 0); grow if still full.
        let k = 0;
        for (let i = 0; i < this.filledCount; i++) if (this.flags[this.filled[i]]) this.filled[k++] = this.filled[i];
        this.filledCount = k;
        if (k === this.filled.length) this.filled = doubled(this.filled);
      }
      this.filled[this.filledCount++] = lpn;
    }
    if (f & T_WRITE && this.p2m.trackedFrames[gfn] !== 0) {
      if ((this.flags[lpn] & T_LISTED) === 0) this.list(lpn);
      f |= T_LISTED;
    }
    this.flags[lpn] = f | T_VALID;
    this.machine[lpn] = mfnOffset;
    this.gfnOf[lpn] = gfn;
  }

  // ---- the hot path -----------------------------------------------------------------------------

  /**
   * Machine byte offset for an access to `linear`, or PHYS_IO (then `lastPhys` holds the
   * guest-physical address for the MMIO bus). Throws PageFault. Hot path: one array lookup.
   */
  translate(linear: number, write: boolean, user: boolean): number {
    const lpn = linear >>> 12;
    const f = this.flags[lpn];
    const need = write ? (user ? T_WRITE_USER : T_WRITE_SUP) : user ? T_USER : T_VALID;
    if ((f & need) === need && f !== 0) return this.machine[lpn] + (linear & 0xfff);
    return this.slow(linear, write, user);
  }

  /**
   * translate() when the TLB holds the translation (no walk, no side effect, no fault), else
   * TLB_MISS: for a caller that must do earlier work before a walk could write A/D bits or fault
   * (the REP MOVS/STOS block copy).
   */
  cached(linear: number, write: boolean, user: boolean): number {
    const lpn = linear >>> 12;
    const f = this.flags[lpn];
    const need = write ? (user ? T_WRITE_USER : T_WRITE_SUP) : user ? T_USER : T_VALID;
    return (f & need) === need && f !== 0 ? this.machine[lpn] + (linear & 0xfff) : TLB_MISS;
  }

  /** Guest-physical address of the last access that went to PHYS_IO. */
  lastPhys = 0;

  /**
   * Linear pages that hold a data breakpoint (DR0–DR3 with DR7's R/W = write or read/write). They
   * are never cached in the TLB; an access to one returns PHYS_IO with `watchHit` set, the
   * linear address in `watchLinear` and the RAM's machine offset in `watchOffset`, so that the
   * CPU's device path (which knows the access's size) checks the breakpoints and then reads or
   * writes RAM. The TLB's hit path is untouched: a breakpoint costs nothing until one is set.
   */
  watchLpns: number[] = [];
  watchHit = false;
  watchLinear = 0;
  watchOffset = 0;

  private watched(linear: number, phys: number, base: number): number {
    this.watchHit = true;
    this.watchLinear = linear;
    this.watchOffset = base + (phys & 0xfff);
    this.lastPhys = phys;
    return PHYS_IO;
  }

  /**
   * Writes let through once by the hypervisor (S2Verdict.WRITE_ONCE), counted here so that a
   * caller about to store more than one element through a translation (the REP MOVS/STOS page
   * copy) can see that the translation it got covers one store only.
   */
  writeOnceGrants = 0;

  private slow(linear: number, write: boolean, user: boolean): number {
    let phys: number;
    let global = false;
    let userOk = true;
    let writeOk = true;
    if (!this.paging) {
      phys = (linear & this.a20Mask) >>> 0; // unsigned: the MMIO bus compares addresses as such
    } else {
      const pdeAddr = (this.cr3 & ~0xfff) + ((linear >>> 22) << 2);
      const pde = this.readPhys32(pdeAddr);
      const errBase = (write ? 2 : 0) | (user ? 4 : 0);
      if ((pde & PTE_P) === 0) throw new PageFault(linear, errBase);
      if (pde & PDE_PS && this.pse) {
        userOk = (pde & PTE_US) !== 0;
        writeOk = (pde & PTE_RW) !== 0;
        this.check(linear, write, user, userOk, writeOk, errBase);
        const want = PTE_A | (write ? PTE_D : 0);
        if ((pde & want) !== want) this.writePhys32(pdeAddr, pde | want);
        phys = ((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0;
        global = this.pge && (pde & PTE_G) !== 0;
      } else {
        const pteAddr = (pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2);
        const pte = this.readPhys32(pteAddr);
        if ((pte & PTE_P) === 0) throw new PageFault(linear, errBase);
        userOk = (pde & PTE_US) !== 0 && (pte & PTE_US) !== 0;
        writeOk = (pde & PTE_RW) !== 0 && (pte & PTE_RW) !== 0;
        this.check(linear, write, user, userOk, writeOk, errBase);
        // A in the PDE on any access through it; A (and D on a write) in the PTE (SDM 4.8).
        if ((pde & PTE_A) === 0) this.writePhys32(pdeAddr, pde | PTE_A);
        const want = PTE_A | (write ? PTE_D : 0);
        if ((pte & want) !== want) this.writePhys32(pteAddr, pte | want);
        phys = ((pte & ~0xfff) | (linear & 0xfff)) >>> 0;
        global = this.pge && (pte & PTE_G) !== 0;
      }
    }
    const gfn = phys >>> 12;
    for (;;) {
      const e = this.p2m.entries[gfn];
      if ((e & P2M_R) === 0 || e & P2M_MMIO) {
        this.lastPhys = phys;
        this.watchHit = false;
        return PHYS_IO;
      }
      const base = (e & P2M_MFN_MASK) * 4096;
      const watch = this.watchLpns.length !== 0 && this.watchLpns.includes(linear >>> 12);
      if (!write) {
        this.p2m.setAccessed(gfn);
        if (watch) return this.watched(linear, phys, base);
        this.remember(linear >>> 12, gfn, base, (userOk ? T_USER : 0) | (global ? T_GLOBAL : 0));
        return base + (phys & 0xfff);
      }
      if ((e & P2M_W) === 0) {
        const verdict = this.s2.onWriteViolation(gfn);
        if (verdict === S2Verdict.RETRY) continue;
        if (verdict === S2Verdict.WRITE_ONCE) {
          // Trap mode: the hypervisor recorded this write; it completes, but the translation is
          // cached read-only, so the next write to the page misses and faults again.
          this.writeOnceGrants++;
          this.p2m.setAccessed(gfn);
          if (watch) return this.watched(linear, phys, base);
          this.remember(linear >>> 12, gfn, base, (userOk ? T_USER : 0) | (global ? T_GLOBAL : 0));
          return base + (phys & 0xfff);
        }
        this.lastPhys = phys;
        this.watchHit = false;
        return PHYS_IO; // DISCARD: the write goes nowhere (ROM)
      }
      this.p2m.setDirty(gfn);
      if (watch) return this.watched(linear, phys, base);
      const wsup = writeOk || !this.wp;
      this.remember(
        linear >>> 12,
        gfn,
        base,
        (userOk ? T_USER : 0) |
          (wsup ? T_WRITE_SUP : 0) |
          (userOk && writeOk ? T_WRITE_USER : 0) |
          (global ? T_GLOBAL : 0),
      );
      return base + (phys & 0xfff);
    }
  }

  private check(linear: number, write: boolean, user: boolean, userOk: boolean, writeOk: boolean, err: number): void {
    if (user && !userOk) throw new PageFault(linear, err | 1);
    if (write && !writeOk && (user || this.wp)) throw new PageFault(linear, err | 1);
  }

  /**
   * For debuggers and the disassembler: the machine byte offset `linear` maps to for a supervisor
   * read, or PHYS_IO when it is not present or not RAM. Walks the tables without any side effect:
   * no A/D bits, no TLB fill, no p2m accessed bit, and page-table entries outside RAM are not read
   * through the device bus. Never throws.
   */
  probe(linear: number): number {
    let phys = linear & this.a20Mask;
    if (this.paging) {
      const pde = this.peekPhys32((this.cr3 & ~0xfff) + ((linear >>> 22) << 2));
      if (pde === undefined || (pde & PTE_P) === 0) return PHYS_IO;
      if (pde & PDE_PS && this.pse) phys = (pde & 0xffc00000) | (linear & 0x3fffff);
      else {
        const pte = this.peekPhys32((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2));
        if (pte === undefined || (pte & PTE_P) === 0) return PHYS_IO;
        phys = (pte & ~0xfff) | (linear & 0xfff);
      }
    }
    const e = this.p2m.entries[phys >>> 12];
    if ((e & P2M_R) === 0 || e & P2M_MMIO) return PHYS_IO;
    return (e & P2M_MFN_MASK) * 4096 + (phys & 0xfff);
  }

  /** A dword of guest-physical RAM without side effects; undefined outside RAM. */
  private peekPhys32(phys: number): number | undefined {
    const e = this.p2m.entries[phys >>> 12];
    if ((e & P2M_R) === 0 || e & P2M_MMIO) return undefined;
    const o = (e & P2M_MFN_MASK) * 4096 + (phys & 0xfff);
    const m = this.memory.u8;
    return m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24);
  }

  // ---- physical accesses (page-table walks, descriptor tables use linear) ----------------------

  readPhys32(phys: number): number {
    const gfn = phys >>> 12;
    const e = this.p2m.entries[gfn];
    if ((e & P2M_R) === 0 || e & P2M_MMIO) return this.mmio.read(phys, 4) | 0;
    this.p2m.setAccessed(gfn);
    const o = (e & P2M_MFN_MASK) * 4096 + (phys & 0xfff);
    const m = this.memory.u8;
    return m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24);
  }

  /** The locked read-modify-write of a paging entry: goes through the p2m like any write. */
  writePhys32(phys: number, v: number): void {
    const gfn = phys >>> 12;
    for (;;) {
      const e = this.p2m.entries[gfn];
      if ((e & P2M_R) === 0 || e & P2M_MMIO) return this.mmio.write(phys, 4, v >>> 0);
      if ((e & P2M_W) === 0) {
        const verdict = this.s2.onWriteViolation(gfn);
        if (verdict === S2Verdict.RETRY) continue;
        if (verdict === S2Verdict.DISCARD) return;
        // WRITE_ONCE: the hypervisor recorded it; the entry stays read-only.
      } else this.p2m.setDirty(gfn);
      const o = (e & P2M_MFN_MASK) * 4096 + (phys & 0xfff);
      const m = this.memory.u8;
      m[o] = v;
      m[o + 1] = v >>> 8;
      m[o + 2] = v >>> 16;
      m[o + 3] = v >>> 24;
      return;
    }
  }
}
