/**
 * Log-dirty: the hypervisor's one dirty-tracking mechanism (STYLE.md, after QEMU's memory API).
 *
 * A client opens a region (a range of guest frames) and later asks one question: "snapshot and
 * clear the dirty frames of my region". The hardware-like source of truth is P2M_D, one bit per
 * frame that the MMU sets on its walk; since one bit cannot serve several readers, a harvest moves
 * every P2M_D it clears into the pending bitmap of *every* region covering that frame, so two
 * clients over the same frames (the display, later a snapshotter or self-modifying-code detection)
 * never steal each other's writes.
 *
 * The invariant that makes a harvest safe (the MMU's side, see p2m.ts): a TLB entry may write a
 * frame only if P2M_D was set when it was cached. Clearing P2M_D and invalidating the writable
 * mappings of the harvested range in the same step restores it, so the next write walks again and
 * sets P2M_D again: no write is lost, whatever the interleaving (the worker is single-threaded, so
 * a harvest is atomic with respect to the guest).
 *
 * A region can also be write-protected (the idle drop's mechanism): P2M_W is removed over its
 * frames, so the first write takes a second-stage fault, which lands in onWriteFault: the frame is
 * marked pending, write access comes back and the region's owner is told. A trapping region (trap
 * mode) stays protected: each write faults, is marked pending and is let through once.
 */
import { P2M_D, P2M_W, S2Verdict, type P2m, type WritableMappingInvalidator } from './p2m';

/** What the mechanism reports to the hypervisor's accounting. */
export interface DirtyLogCounters {
  pagesScanned(n: number): void;
  tlbInvalidated(n: number): void;
}

export class DirtyRegion {
  /** Dirty bits not yet taken by the client: bit i (byte[i >> 3] bit i & 7) is frame first + i. */
  readonly pending: Uint8Array;
  /** Number of bits set in pending. */
  pendingCount = 0;
  /** Number of bits set in the bitmap the last snapshotAndClear returned. */
  lastSnapshotCount = 0;
  /** P2M_W removed over the region by writeProtect, until a write faults or unprotect. */
  writeProtected = false;
  /** Which frames had P2M_W before writeProtect (so unprotect restores exactly those). */
  readonly hadWrite: Uint8Array;
  /**
   * Trap mode: the region stays write-protected; a write fault marks the frame pending and the
   * write is let through once (S2Verdict.WRITE_ONCE) instead of lifting the protection.
   */
  trapping = false;

  constructor(
    /** The client's name, for debugging ("vram", "snapshot", …). */
    readonly client: string,
    public first: number,
    readonly nr: number,
    /** Called after a write fault lifted this region's write protection (gfn = the faulting frame). */
    readonly onWriteFaultUnprotect: ((gfn: number) => void) | null,
  ) {
    this.pending = new Uint8Array((nr + 7) >>> 3);
    this.hadWrite = new Uint8Array((nr + 7) >>> 3);
  }

  covers(gfn: number): boolean {
    return gfn >= this.first && gfn < this.first + this.nr;
  }

  /** Set frame gfn's pending bit (gfn inside the region). */
  mark(gfn: number): void {
    const i = gfn - this.first;
    const bit = 1 << (i & 7);
    const b = this.pending[i >>> 3];
    if ((b & bit) === 0) {
      this.pending[i >>> 3] = b | bit;
      this.pendingCount++;
    }
  }

  markAll(): void {
    this.pending.fill(0xff);
    // Xen leaves the bits past nr in the last byte clear; so do we.
    if ((this.nr & 7) !== 0) this.pending[this.pending.length - 1] = (1 << (this.nr & 7)) - 1;
    this.pendingCount = this.nr;
  }
}

export class DirtyLog {
  private readonly regions: DirtyRegion[] = [];
  private tlb: WritableMappingInvalidator;

  constructor(
    private readonly p2m: P2m,
    tlb: WritableMappingInvalidator,
    private readonly counters: DirtyLogCounters,
  ) {
    this.tlb = tlb;
  }

  attachTlb(tlb: WritableMappingInvalidator): void {
    this.tlb = tlb;
  }

  get regionCount(): number {
    return this.regions.length;
  }

  /**
   * Start logging [first, first + nr) for a client. A new region starts with every frame pending:
   * a client that was not looking cannot know what changed before, so it must assume everything did.
   */
  open(client: string, first: number, nr: number, onWriteFaultUnprotect?: (gfn: number) => void): DirtyRegion {
    const r = new DirtyRegion(client, first, nr, onWriteFaultUnprotect ?? null);
    r.markAll();
    this.regions.push(r);
    this.track(first, nr);
    return r;
  }

  /**
   * Count [first, first + nr) tracked by one more region. Writable translations to its frames are
   * dropped first: the MMU visits only those it cached while a frame was tracked when it
   * invalidates a wholly tracked range (Mmu.invalidateWritableMappings), so none may predate the
   * tracking. A dropped one costs its next write a walk, which sets P2M_D again.
   */
  private track(first: number, nr: number): void {
    this.tlb.invalidateWritableMappings(first, nr);
    const tracked = this.p2m.trackedFrames;
    for (let g = first; g < first + nr; g++) tracked[g]++;
  }

  close(region: DirtyRegion): void {
    const k = this.regions.indexOf(region);
    if (k < 0) return;
    if (region.writeProtected) this.unprotect(region);
    this.regions.splice(k, 1);
    const tracked = this.p2m.trackedFrames;
    for (let g = region.first; g < region.first + region.nr; g++) tracked[g]--;
  }

  /**
   * Move P2M_D of [first, first + nr) into the pending bitmaps of every region covering each dirty
   * frame, clearing it, and invalidate the TLB's writable mappings of the range in the same step.
   * Returns how many frames were found dirty.
   */
  harvest(first: number, nr: number): number {
    const entries = this.p2m.entries;
    const regions = this.regions;
    let found = 0;
    for (let g = first, end = first + nr; g < end; g++) {
      const e = entries[g];
      if ((e & P2M_D) === 0) continue;
      entries[g] = e & ~P2M_D;
      found++;
      for (let k = 0; k < regions.length; k++) if (regions[k].covers(g)) regions[k].mark(g);
    }
    this.counters.pagesScanned(nr);
    // Only frames whose P2M_D was set can have writable TLB entries (p2m.ts): nothing found, nothing to drop.
    if (found > 0) this.counters.tlbInvalidated(this.tlb.invalidateWritableMappings(first, nr));
    return found;
  }

  /**
   * The client's question: the frames of its region written since its previous snapshot, as a fresh
   * bitmap (bit i = frame region.first + i), and clear them. A write-protected region has no P2M_D
   * to harvest (no write can set it without faulting first), so it costs O(1) in frames.
   */
  snapshotAndClear(region: DirtyRegion): Uint8Array {
    if (!region.writeProtected) this.harvest(region.first, region.nr);
    const out = new Uint8Array(region.pending.length);
    region.lastSnapshotCount = region.pendingCount;
    if (region.pendingCount !== 0) {
      out.set(region.pending);
      region.pending.fill(0);
      region.pendingCount = 0;
    }
    return out;
  }

  /**
   * Remove write access from the region's frames (harvesting first, so that no P2M_D set before is
   * hidden while protected) and invalidate their writable TLB mappings.
   */
  writeProtect(region: DirtyRegion): void {
    if (region.writeProtected) return;
    this.harvest(region.first, region.nr);
    const entries = this.p2m.entries;
    region.hadWrite.fill(0);
    for (let i = 0; i < region.nr; i++) {
      const g = region.first + i;
      const e = entries[g];
      // A frame another protected region already holds read-only counts as writable if it was.
      if ((e & P2M_W) === 0 && !this.heldWritableByOther(g, region)) continue;
      region.hadWrite[i >>> 3] |= 1 << (i & 7);
      entries[g] = e & ~P2M_W;
    }
    region.writeProtected = true;
    this.counters.tlbInvalidated(this.tlb.invalidateWritableMappings(region.first, region.nr));
  }

  /** Give the region's frames their write access back (except frames another protected region holds). */
  unprotect(region: DirtyRegion): void {
    if (!region.writeProtected) return;
    region.writeProtected = false;
    const entries = this.p2m.entries;
    for (let i = 0; i < region.nr; i++) {
      if ((region.hadWrite[i >>> 3] & (1 << (i & 7))) === 0) continue;
      const g = region.first + i;
      if (!this.protectedByOther(g, region)) entries[g] |= P2M_W;
    }
  }

  /**
   * Trap mode on or off for a region. On: the region is write-protected (harvesting first, as
   * writeProtect does; a region the idle drop already protects simply stays so) and stays
   * protected; every write faults and is let through once. Off: write access comes back.
   */
  setTrapping(region: DirtyRegion, on: boolean): void {
    if (on === region.trapping) return;
    if (on) {
      this.writeProtect(region);
      region.trapping = true;
    } else {
      region.trapping = false;
      this.unprotect(region);
    }
  }

  /**
   * A second-stage write fault on gfn. If a write-protected region covers it, the write is one the
   * mechanism caused: mark the frame pending in every region that covers it. A trapping region
   * keeps its protection (WRITE_ONCE: the MMU lets this one write through); any other lifts it and
   * tells its owner (RETRY: the MMU walks the p2m again). null when no protected region covers gfn.
   */
  onWriteFault(gfn: number): S2Verdict | null {
    let handled = false;
    let once = false;
    const regions = this.regions;
    for (let k = 0; k < regions.length; k++) {
      const r = regions[k];
      if (!r.writeProtected || !r.covers(gfn)) continue;
      if (!handled) this.markCovering(gfn);
      handled = true;
      if (r.trapping) {
        once = true;
        continue;
      }
      this.unprotect(r);
      r.onWriteFaultUnprotect?.(gfn);
    }
    if (!handled) return null;
    return once ? S2Verdict.WRITE_ONCE : S2Verdict.RETRY;
  }

  /**
   * Something other than the MMU wrote frame gfn (a device). A frame some protected region covers
   * holds no P2M_D a harvest would look at (a protected region is not harvested), so the write is
   * marked pending in every region covering it here; returns false, doing nothing, otherwise (the
   * caller then sets P2M_D as the MMU would).
   */
  markIfProtected(gfn: number): boolean {
    for (const r of this.regions)
      if (r.writeProtected && r.covers(gfn)) {
        this.markCovering(gfn);
        return true;
      }
    return false;
  }

  private markCovering(gfn: number): void {
    const regions = this.regions;
    for (let j = 0; j < regions.length; j++) if (regions[j].covers(gfn)) regions[j].mark(gfn);
  }

  /**
   * Frames [from, from + nr) now live at [to, to + nr) (the VRAM BAR moved; the caller moved the p2m
   * entries with their bits). Regions wholly inside the old window follow.
   */
  relocate(from: number, nr: number, to: number): void {
    const tracked = this.p2m.trackedFrames;
    const moving = this.regions.filter((r) => r.first >= from && r.first + r.nr <= from + nr);
    for (const r of moving) for (let g = r.first; g < r.first + r.nr; g++) tracked[g]--;
    for (const r of moving) {
      r.first += to - from;
      this.track(r.first, r.nr);
    }
  }

  private heldWritableByOther(gfn: number, self: DirtyRegion): boolean {
    for (const r of this.regions) {
      if (r === self || !r.writeProtected || !r.covers(gfn)) continue;
      const i = gfn - r.first;
      if ((r.hadWrite[i >>> 3] & (1 << (i & 7))) !== 0) return true;
    }
    return false;
  }

  private protectedByOther(gfn: number, self: DirtyRegion): boolean {
    for (const r of this.regions) if (r !== self && r.writeProtected && r.covers(gfn)) return true;
    return false;
  }
}
