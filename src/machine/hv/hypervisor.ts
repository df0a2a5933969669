/**
 * The hypervisor: owns the p2m and the VRAM BAR's place in it, the log-dirty mechanism
 * (dirty-log.ts) and, as that mechanism's first client, Xen's HVMOP_track_dirty_vram with the
 * two-second idle drop. It is also the second-stage fault handler the MMU calls, and it keeps its
 * own time and counters in the stats SAB (F64.HV_*, I32.HV_*, I32.DIRTY_GEN).
 *
 * ## The dirty-generation word (I32.DIRTY_GEN), the event-channel analogue
 * It is incremented (Atomics.add, never decremented) when:
 *  1. a tracked VRAM frame goes from clean to dirty: the MMU's P2m.setDirty on the first write
 *     since the last trackDirtyVram read that frame (so at most once per frame per call);
 *  2. a second-stage fault re-arms a dropped range (the faulting write is a dirtying);
 *  3. tracking starts, stops or changes range, or the VRAM BAR moves;
 *  4. the idle drop engages, or is switched on or off;
 *  5. fallback: a call reports dirty frames of which the MMU announced none through setDirty
 *     (something set P2M_D without the hook): then the word only moves when the call scans.
 * What a client may conclude: load the word *before* calling trackDirtyVram and remember it; if a
 * later load gives the same value, no tracked frame has become dirty since that call (and the range
 * and idle state are unchanged), so a call over the same range would return all zeros and may be
 * skipped. The converse does not hold: a moved word may still be followed by an all-zero bitmap
 * (the write landed before the call, which reported it). Rule 5 keeps this sound only for clients
 * that still call whenever the word moved; with an MMU honouring p2m.ts, rule 1 covers every write.
 *
 * ## Idle drop
 * Evaluated on each call (as Xen does): when idle drop is on and no tracked frame was reported
 * dirty for IDLE_DROP_MS of machine time (the platform's clock, `now()`), the range loses P2M_W and
 * its writable TLB mappings, and later calls return zeros without touching a frame. The first write
 * faults into onWriteViolation: the frame is marked dirty, write access returns, scanning resumes.
 *
 * ## Trap mode (the design Xen 3.3 rejected)
 * `setTrapWrites(true)`: the tracked range is write-protected for as long as trap mode lasts. Every
 * guest write to it is a second-stage fault: the frame is marked pending and the MMU lets that one
 * write through (S2Verdict.WRITE_ONCE) without caching the translation writable, so the next write
 * faults again. The bitmap contract is unchanged (calls cost O(1) in frames, as under a drop); the
 * cost moves to the guest, one fault per store, and F64.HV_FAULT_MS / HV_S2_FAULTS show it. The
 * idle drop is not evaluated while trapping (the range is already protected).
 */
import { err, ErrorCode, ok, TRACK_DIRTY_VRAM_MAX_NR, type Result } from '../../shared/api';
import { F64, I32, PAGE_SHIFT, PAGE_SIZE, type MemoryLayout, type StatsViews } from '../../shared/layout';
import { DirtyLog, type DirtyRegion } from './dirty-log';
import {
  GFN_COUNT,
  P2M_R,
  P2M_W,
  P2m,
  S2Verdict,
  type SecondStageFaultHandler,
  type WritableMappingInvalidator,
} from './p2m';

/** Machine time with no tracked frame dirty after which the idle drop write-protects the range. */
export const IDLE_DROP_MS = 2000;

export interface HypervisorEnv {
  /** Where VRAM sits in machine memory (the VRAM BAR maps onto it). */
  layout: MemoryLayout;
  /** The stats/control SAB: the hypervisor writes DIRTY_GEN, HV_IDLE_DROP, HV_DROPPED and F64.HV_*. */
  stats: StatsViews;
  /** Machine time in ms (the platform's clock: wall or icount). */
  now: () => number;
  /** The p2m to use (a fresh one if absent). */
  p2m?: P2m;
  /** The MMU's TLB; may be attached later with attachTlb (the CPU is built after the hypervisor). */
  tlb?: WritableMappingInvalidator;
}

const NO_TLB: WritableMappingInvalidator = { invalidateWritableMappings: () => 0 };

export class Hypervisor implements SecondStageFaultHandler {
  readonly p2m: P2m;
  readonly dirtyLog: DirtyLog;
  /** Frames of VRAM (the BAR's size in pages). */
  readonly vramFrames: number;
  private readonly vramMfn: number;
  private readonly stats: StatsViews;
  private readonly now: () => number;
  private tlb: WritableMappingInvalidator;
  private barGfn: number | null = null;

  /** The display client's region (trackDirtyVram), null when not tracking. */
  private vram: DirtyRegion | null = null;
  private idleDrop = false;
  private trap = false;
  /** Machine time of the last call that reported a dirty frame (or of a start or re-arm). */
  private lastDirtyAt = 0;
  /** Frames announced dirty through P2m.setDirty since the last call (for rule 5 above). */
  private announced = 0;
  /** Nesting depth of timed sections, so that nested work is timed once. */
  private timedDepth = 0;
  private timedSince = 0;

  constructor(env: HypervisorEnv) {
    this.p2m = env.p2m ?? new P2m();
    this.stats = env.stats;
    this.now = env.now;
    this.tlb = env.tlb ?? NO_TLB;
    this.vramFrames = env.layout.vramBytes >>> PAGE_SHIFT;
    this.vramMfn = env.layout.vramOffset >>> PAGE_SHIFT;
    this.dirtyLog = new DirtyLog(this.p2m, this.tlb, {
      pagesScanned: (n) => (this.stats.f64[F64.HV_PAGES_SCANNED] += n),
      tlbInvalidated: (n) => (this.stats.f64[F64.HV_TLB_INVALIDATED] += n),
    });
    this.p2m.onTrackedFrameDirtied = this.trackedFrameDirtied;
    Atomics.store(this.stats.i32, I32.HV_IDLE_DROP, 0);
    Atomics.store(this.stats.i32, I32.HV_DROPPED, 0);
    Atomics.store(this.stats.i32, I32.HV_TRAP, 0);
  }

  attachTlb(tlb: WritableMappingInvalidator): void {
    this.tlb = tlb;
    this.dirtyLog.attachTlb(tlb);
  }

  /** Guest frame where the VRAM BAR starts, or null when it is not mapped. */
  get vramBarGfn(): number | null {
    return this.barGfn;
  }

  get idleDropEnabled(): boolean {
    return this.idleDrop;
  }

  get trapWrites(): boolean {
    return this.trap;
  }

  /** True while the idle drop holds the tracked range write-protected. */
  get dropped(): boolean {
    return this.vram !== null && this.vram.writeProtected && !this.vram.trapping;
  }

  /** The tracked range, or null. */
  get trackedRange(): { firstPfn: number; nr: number } | null {
    return this.vram ? { firstPfn: this.vram.first, nr: this.vram.nr } : null;
  }

  /**
   * Place the VRAM BAR at guest frame baseGfn (the platform calls this at creation and whenever the
   * guest reprograms PCI BAR0), or unmap it (null). The p2m entries move with their bits (A/D,
   * protection) and tracking follows: the tracked range keeps its offset inside VRAM, its pending
   * dirty frames and its idle state, and the client's next call must name the new frames.
   */
  setVramBar(baseGfn: number | null): void {
    if (baseGfn !== null && (!Number.isInteger(baseGfn) || baseGfn < 0 || baseGfn + this.vramFrames > GFN_COUNT))
      throw new RangeError(`VRAM BAR at frame ${baseGfn} does not fit below 4 GiB`);
    const old = this.barGfn;
    if (old === baseGfn) return;
    this.enter();
    try {
      const n = this.vramFrames;
      const entries = this.p2m.entries;
      let moved: Int32Array | null = null;
      if (old !== null) {
        moved = entries.slice(old, old + n);
        this.p2m.unmap(old, n);
        // Every translation of the old frames is stale, not only the writable ones.
        const tlb = this.tlb;
        const dropped = tlb.invalidateMappings
          ? tlb.invalidateMappings(old, n)
          : tlb.invalidateWritableMappings(old, n);
        this.count(F64.HV_TLB_INVALIDATED, dropped);
      }
      if (baseGfn !== null) {
        if (moved) entries.set(moved, baseGfn);
        else this.p2m.map(baseGfn, this.vramMfn, n, P2M_R | P2M_W);
      }
      this.barGfn = baseGfn;
      if (this.vram && old !== null) {
        if (baseGfn === null) this.stopTracking();
        else this.dirtyLog.relocate(old, n, baseGfn);
      }
      this.bumpGen();
    } finally {
      this.leave();
    }
  }

  /**
   * Xen's HVMOP_track_dirty_vram (DESIGN.md, "Dirty-VRAM tracking: the contract"). Returns a bitmap
   * of nr bits (byte[i >> 3] bit i & 7) for frames firstPfn + i written since the previous call over
   * the same range; the first call over a range reports all of them; nr = 0 stops tracking and
   * returns an empty bitmap. EINVAL, with nothing changed, for nr > 262,144, a range that wraps past
   * the top of the guest-physical space, or one not wholly inside the VRAM BAR.
   */
  trackDirtyVram(firstPfn: number, nr: number): Result<Uint8Array> {
    this.enter();
    try {
      this.count(F64.HV_HYPERCALLS, 1);
      if (!Number.isInteger(firstPfn) || !Number.isInteger(nr) || nr < 0)
        return err(ErrorCode.EINVAL, 'firstPfn and nr must be non-negative integers');
      if (nr === 0) {
        this.stopTracking();
        return ok(new Uint8Array(0));
      }
      if (nr > TRACK_DIRTY_VRAM_MAX_NR)
        return err(ErrorCode.EINVAL, `nr ${nr} exceeds the maximum of ${TRACK_DIRTY_VRAM_MAX_NR} frames`);
      if (firstPfn < 0 || firstPfn + nr > GFN_COUNT)
        return err(ErrorCode.EINVAL, `frames ${firstPfn}+${nr} wrap past the top of the guest-physical space`);
      const bar = this.barGfn;
      if (bar === null || firstPfn < bar || firstPfn + nr > bar + this.vramFrames)
        return err(
          ErrorCode.EINVAL,
          bar === null
            ? 'the VRAM BAR is not mapped'
            : `frames ${firstPfn}+${nr} lie outside the VRAM BAR (frames ${bar}+${this.vramFrames})`,
        );

      let region = this.vram;
      if (region && (region.first !== firstPfn || region.nr !== nr)) {
        this.stopTracking();
        region = null;
      }
      if (!region) {
        region = this.dirtyLog.open('vram', firstPfn, nr, this.rearmed);
        this.vram = region;
        if (this.trap) this.dirtyLog.setTrapping(region, true);
        this.lastDirtyAt = this.now();
        this.bumpGen();
      }

      const alreadyPending = region.pendingCount; // the first call's all-dirty, faults: already announced
      const announced = this.announced;
      this.announced = 0;
      const bitmap = this.dirtyLog.snapshotAndClear(region);
      const dirty = region.lastSnapshotCount;
      this.count(F64.HV_PAGES_DIRTY, dirty);
      if (dirty > alreadyPending && announced === 0) this.bumpGen(); // rule 5: nobody announced these

      const now = this.now();
      if (dirty > 0) this.lastDirtyAt = now;
      else if (this.idleDrop && !this.trap && !region.writeProtected && now - this.lastDirtyAt >= IDLE_DROP_MS)
        this.drop(region);
      return ok(bitmap);
    } finally {
      this.leave();
    }
  }

  /** Switch the idle drop on or off. Off lifts a drop in force (write access comes back at once). */
  setIdleDrop(on: boolean): void {
    if (on === this.idleDrop) return;
    this.enter();
    try {
      this.idleDrop = on;
      Atomics.store(this.stats.i32, I32.HV_IDLE_DROP, on ? 1 : 0);
      if (on)
        this.lastDirtyAt = this.now(); // two idle seconds from now, not from some past moment
      else if (this.vram?.writeProtected && !this.vram.trapping) {
        this.dirtyLog.unprotect(this.vram);
        Atomics.store(this.stats.i32, I32.HV_DROPPED, 0);
      }
      this.bumpGen();
    } finally {
      this.leave();
    }
  }

  /**
   * Trap mode on or off (live, at any moment). On: the tracked range (now, and any range tracked
   * later) is write-protected and every guest write to it faults once (see "Trap mode" above); a
   * drop in force becomes trapping. Off: write access comes back; with the idle drop on, its
   * two-second clock starts now. Nothing pending is lost either way: protecting harvests first, and
   * a trapped write is pending before it completes.
   */
  setTrapWrites(on: boolean): void {
    if (on === this.trap) return;
    this.enter();
    try {
      this.trap = on;
      Atomics.store(this.stats.i32, I32.HV_TRAP, on ? 1 : 0);
      if (this.vram) {
        this.dirtyLog.setTrapping(this.vram, on);
        Atomics.store(this.stats.i32, I32.HV_DROPPED, 0);
      }
      if (!on) this.lastDirtyAt = this.now();
      this.bumpGen();
    } finally {
      this.leave();
    }
  }

  /**
   * The MMU's second-stage write fault (an entry without P2M_W). A write to a range the idle drop
   * protected re-arms tracking and is retried; a write to a trapped range is recorded and let
   * through once; anything else without write access (ROM) is dropped. Its time goes to
   * F64.HV_FAULT_MS as well as HV_MS.
   */
  onWriteViolation(gfn: number): S2Verdict {
    const outer = this.timedDepth === 0;
    this.enter();
    try {
      this.count(F64.HV_S2_FAULTS, 1);
      const region = this.vram;
      const pendingBefore = region?.pendingCount ?? 0;
      const verdict = this.dirtyLog.onWriteFault(gfn);
      if (verdict === S2Verdict.WRITE_ONCE) {
        // Rule 1 of the dirty generation: the frame went clean → dirty (at most once per call).
        if (region && region.pendingCount !== pendingBefore) this.bumpGen();
        return verdict;
      }
      if (verdict !== null) return verdict;
      // Defensive: the entry became writable meanwhile; the walk will succeed.
      if ((this.p2m.entries[gfn] & P2M_W) !== 0) return S2Verdict.RETRY;
      return S2Verdict.DISCARD;
    } finally {
      const ms = this.leave();
      if (outer) this.stats.f64[F64.HV_FAULT_MS] += ms;
    }
  }

  /**
   * A device (not the CPU) wrote VRAM bytes [offset, offset + length) directly: the VBE device
   * clearing the framebuffer on a mode set, the built-in pattern. Those frames become dirty exactly
   * as if the MMU had written them (P2m.setDirty, so the dirty generation moves too).
   */
  markVramWritten(offset: number, length: number): void {
    const bar = this.barGfn;
    if (bar === null || length <= 0) return;
    const first = offset >>> PAGE_SHIFT;
    const end = Math.min(this.vramFrames, (offset + length + PAGE_SIZE - 1) >>> PAGE_SHIFT);
    for (let i = first; i < end; i++) {
      // A protected range (trap mode, idle drop) is not harvested: mark the frame pending directly.
      if (this.dirtyLog.markIfProtected(bar + i)) this.bumpGen();
      else this.p2m.setDirty(bar + i);
    }
  }

  /** Machine reset: tracking stops (the client's next call starts it again, all dirty). */
  reset(): void {
    this.stopTracking();
  }

  // ---------------------------------------------------------------------------------------------

  private stopTracking(): void {
    if (!this.vram) return;
    this.dirtyLog.close(this.vram);
    this.vram = null;
    Atomics.store(this.stats.i32, I32.HV_DROPPED, 0);
    this.bumpGen();
  }

  private drop(region: DirtyRegion): void {
    this.dirtyLog.writeProtect(region);
    this.count(F64.HV_IDLE_DROPS, 1);
    Atomics.store(this.stats.i32, I32.HV_DROPPED, 1);
    this.bumpGen();
  }

  /** The dirty log lifted the drop because the guest wrote frame gfn (already marked pending). */
  private readonly rearmed = (): void => {
    this.count(F64.HV_REARMS, 1);
    this.lastDirtyAt = this.now();
    Atomics.store(this.stats.i32, I32.HV_DROPPED, 0);
    this.bumpGen();
  };

  /** P2m.setDirty's hook: on the MMU's slow path, so it stays two operations. */
  private readonly trackedFrameDirtied = (): void => {
    this.announced++;
    Atomics.add(this.stats.i32, I32.DIRTY_GEN, 1);
  };

  private bumpGen(): void {
    Atomics.add(this.stats.i32, I32.DIRTY_GEN, 1);
  }

  private count(slot: number, n: number): void {
    this.stats.f64[slot] += n;
  }

  private enter(): void {
    if (this.timedDepth++ === 0) this.timedSince = performance.now();
  }

  /** Ends a timed section; returns the ms it added to HV_MS (0 when nested). */
  private leave(): number {
    if (--this.timedDepth !== 0) return 0;
    const ms = performance.now() - this.timedSince;
    this.stats.f64[F64.HV_MS] += ms;
    return ms;
  }
}
