/**
 * The hypervisor: owns the p2m and the VRAM BAR's place in it, the log-dirty mechanism
 * (dirty-log.ts) and, as that mechanism's clients, Xen's HVMOP_track_dirty_vram with the
 * two-second idle drop. It is also the second-stage fault handler the MMU calls, and it keeps its
 * own time and counters in the stats SAB (F64.HV_*, I32.HV_*, I32.DIRTY_GEN).
 *
 * ## Clients (QEMU's DIRTY_MEMORY_* idea)
 * trackDirtyVram has named clients (VramClient: the display, the A/B view's second display). Each
 * has its own log-dirty region, so its own pending bitmap, tracked range, idle drop and trap
 * switch; a harvest by one moves each dirty frame into every client's bitmap, so two displays
 * over the same VRAM never take each other's bits. Xen's semantics hold per client: a call reads
 * and clears that client's bits only, and the first call over a new range (for that client)
 * reports all dirty. The idle drop is per client too: a client's clock runs on what *its* calls
 * reported, and its drop write-protects *its* range. Chosen over one drop for the whole because a
 * client that polls (or keeps the drop off) must keep its behaviour: with a shared drop, switching
 * the drop on for one display would change what the other one measures. The mechanism already
 * composes protections (dirty-log.ts): while one client's range is dropped, the first write faults,
 * is marked pending in every client covering it, and re-arms only the dropped one; the other keeps
 * scanning (its calls still cost O(frames)), as it would alone. Trap mode likewise: any trapping
 * client makes every guest write to its range fault (the guest pays once, whoever asked), and the
 * fault marks the frame for every client.
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
import {
  err,
  ErrorCode,
  isVramClient,
  ok,
  TRACK_DIRTY_VRAM_MAX_NR,
  VRAM_CLIENT_NAMES,
  VramClient,
  type Result,
} from '../../shared/api';
import {
  F64,
  HV_CLIENT_DROPPED,
  HV_CLIENT_IDLE_DROP,
  HV_CLIENT_TRACKING,
  HV_CLIENT_TRAP,
  I32,
  PAGE_SHIFT,
  PAGE_SIZE,
  type MemoryLayout,
  type StatsViews,
} from '../../shared/layout';
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

/** One trackDirtyVram client's state: its region (null when not tracking), switches and idle clock. */
class VramClientState {
  region: DirtyRegion | null = null;
  idleDrop = false;
  trap = false;
  /** Machine time of the last call that reported a dirty frame to this client (or of a start or re-arm). */
  lastDirtyAt = 0;
  /** The hypervisor's announcedTotal at this client's last call (rule 5 of the dirty generation). */
  announcedSeen = 0;
  constructor(readonly id: VramClient) {}
  get name(): string {
    return VRAM_CLIENT_NAMES[this.id];
  }
  get dropped(): boolean {
    return this.region !== null && this.region.writeProtected && !this.region.trapping;
  }
}

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

  /** trackDirtyVram's clients, by VramClient number. */
  private readonly clients: VramClientState[] = Object.values(VramClient).map((id) => new VramClientState(id));
  /** Frames announced dirty through P2m.setDirty, ever (each client remembers where it last looked: rule 5 above). */
  private announcedTotal = 0;
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
    for (const c of this.clients) this.publish(c);
  }

  attachTlb(tlb: WritableMappingInvalidator): void {
    this.tlb = tlb;
    this.dirtyLog.attachTlb(tlb);
  }

  /** Guest frame where the VRAM BAR starts, or null when it is not mapped. */
  get vramBarGfn(): number | null {
    return this.barGfn;
  }

  /** The idle drop is on for the display (client DISPLAY; clientState(k) for another). */
  get idleDropEnabled(): boolean {
    return this.clients[VramClient.DISPLAY].idleDrop;
  }

  get trapWrites(): boolean {
    return this.clients[VramClient.DISPLAY].trap;
  }

  /** True while the idle drop holds the display's tracked range write-protected. */
  get dropped(): boolean {
    return this.clients[VramClient.DISPLAY].dropped;
  }

  /** The display's tracked range, or null. */
  get trackedRange(): { firstPfn: number; nr: number } | null {
    return this.clientState(VramClient.DISPLAY).range;
  }

  /** One client's state: its tracked range (or null), idle drop on, dropped, trapping. */
  clientState(client: VramClient): {
    range: { firstPfn: number; nr: number } | null;
    idleDrop: boolean;
    dropped: boolean;
    trap: boolean;
  } {
    const c = this.clients[client];
    return {
      range: c.region ? { firstPfn: c.region.first, nr: c.region.nr } : null,
      idleDrop: c.idleDrop,
      dropped: c.dropped,
      trap: c.trap,
    };
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
      if (old !== null) {
        if (baseGfn === null) for (const c of this.clients) this.stopTracking(c);
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
   * the top of the guest-physical space, or one not wholly inside the VRAM BAR. All of it per client
   * ("Clients" above): "the previous call" is this client's.
   */
  trackDirtyVram(firstPfn: number, nr: number, client: VramClient = VramClient.DISPLAY): Result<Uint8Array> {
    this.enter();
    try {
      this.count(F64.HV_HYPERCALLS, 1);
      // The one check of the arguments, for every way in (comlink, the shared-memory channel, Node
      // callers): the machine's boundary passes them on unchecked, whatever their type.
      if (!isVramClient(client)) return err(ErrorCode.EINVAL, `no dirty-VRAM client ${String(client)}`);
      if (!Number.isInteger(firstPfn) || !Number.isInteger(nr) || nr < 0)
        return err(ErrorCode.EINVAL, 'firstPfn and nr must be non-negative integers');
      const c = this.clients[client];
      if (nr === 0) {
        this.stopTracking(c);
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

      let region = c.region;
      if (region && (region.first !== firstPfn || region.nr !== nr)) {
        this.stopTracking(c);
        region = null;
      }
      if (!region) {
        region = this.dirtyLog.open(c.name, firstPfn, nr, () => this.rearmed(c));
        c.region = region;
        if (c.trap) this.dirtyLog.setTrapping(region, true);
        c.lastDirtyAt = this.now();
        this.publish(c);
        this.bumpGen();
      }

      // Pending before the harvest (the first call's all-dirty, faults, other clients' harvests):
      // already announced.
      const alreadyPending = region.pendingCount;
      const announced = this.announcedTotal - c.announcedSeen;
      c.announcedSeen = this.announcedTotal;
      const bitmap = this.dirtyLog.snapshotAndClear(region);
      const dirty = region.lastSnapshotCount;
      this.count(F64.HV_PAGES_DIRTY, dirty);
      if (dirty > alreadyPending && announced === 0) this.bumpGen(); // rule 5: nobody announced these

      const now = this.now();
      if (dirty > 0) c.lastDirtyAt = now;
      else if (c.idleDrop && !c.trap && !region.writeProtected && now - c.lastDirtyAt >= IDLE_DROP_MS) this.drop(c);
      return ok(bitmap);
    } finally {
      this.leave();
    }
  }

  /**
   * Switch a client's idle drop on or off. Off lifts a drop in force (write access comes back at
   * once, unless another client's drop or trap holds the frames).
   */
  setIdleDrop(on: boolean, client: VramClient = VramClient.DISPLAY): void {
    const c = this.clients[client];
    if (on === c.idleDrop) return;
    this.enter();
    try {
      c.idleDrop = on;
      if (on)
        c.lastDirtyAt = this.now(); // two idle seconds from now, not from some past moment
      else if (c.dropped) this.dirtyLog.unprotect(c.region!);
      this.publish(c);
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
   * a trapped write is pending before it completes. Per client: the guest's writes to a range fault
   * while any client covering it traps.
   */
  setTrapWrites(on: boolean, client: VramClient = VramClient.DISPLAY): void {
    const c = this.clients[client];
    if (on === c.trap) return;
    this.enter();
    try {
      c.trap = on;
      if (c.region) this.dirtyLog.setTrapping(c.region, on);
      if (!on) c.lastDirtyAt = this.now();
      this.publish(c);
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
      const pendingBefore = this.pendingTotal();
      const verdict = this.dirtyLog.onWriteFault(gfn);
      if (verdict === S2Verdict.WRITE_ONCE) {
        // Rule 1 of the dirty generation: the frame went clean → dirty for some client (at most
        // once per frame and client between that client's calls).
        if (this.pendingTotal() !== pendingBefore) this.bumpGen();
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

  /** Machine reset: tracking stops for every client (its next call starts it again, all dirty). */
  reset(): void {
    for (const c of this.clients) this.stopTracking(c);
  }

  // ---------------------------------------------------------------------------------------------

  private stopTracking(c: VramClientState): void {
    if (!c.region) return;
    this.dirtyLog.close(c.region);
    c.region = null;
    this.publish(c);
    this.bumpGen();
  }

  private drop(c: VramClientState): void {
    this.dirtyLog.writeProtect(c.region!);
    this.count(F64.HV_IDLE_DROPS, 1);
    this.publish(c);
    this.bumpGen();
  }

  /** The dirty log lifted c's drop because the guest wrote a frame (already marked pending). */
  private rearmed(c: VramClientState): void {
    this.count(F64.HV_REARMS, 1);
    c.lastDirtyAt = this.now();
    this.publish(c);
    this.bumpGen();
  }

  /** Write c's state into its stats word (and, for the display, the older single words). */
  private publish(c: VramClientState): void {
    const i32 = this.stats.i32;
    const state =
      (c.region ? HV_CLIENT_TRACKING : 0) |
      (c.idleDrop ? HV_CLIENT_IDLE_DROP : 0) |
      (c.dropped ? HV_CLIENT_DROPPED : 0) |
      (c.trap ? HV_CLIENT_TRAP : 0);
    Atomics.store(i32, I32.HV_CLIENT_STATE + c.id, state);
    if (c.id !== VramClient.DISPLAY) return;
    Atomics.store(i32, I32.HV_IDLE_DROP, c.idleDrop ? 1 : 0);
    Atomics.store(i32, I32.HV_DROPPED, c.dropped ? 1 : 0);
    Atomics.store(i32, I32.HV_TRAP, c.trap ? 1 : 0);
  }

  private pendingTotal(): number {
    let n = 0;
    for (const c of this.clients) n += c.region?.pendingCount ?? 0;
    return n;
  }

  /** P2m.setDirty's hook: on the MMU's slow path, so it stays two operations. */
  private readonly trackedFrameDirtied = (): void => {
    this.announcedTotal++;
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
