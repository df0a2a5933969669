/**
 * The p2m: the hypervisor's second-stage table from guest-physical frames (gfn) to machine frames
 * (mfn, a page index into the machine-memory SAB), one Int32 per gfn over the whole 4 GiB space.
 * Like EPT with accessed/dirty flags: the MMU sets P2M_A on every translation it caches and P2M_D
 * on the first write, and a write to an entry without P2M_W is a second-stage fault that the
 * hypervisor handles (the guest never sees it).
 *
 * Only the hypervisor changes permissions or clears A/D; the MMU only sets A/D on its walk.
 *
 * The MMU's part of the contract (its slow path; the TLB-hit fast path never looks at the p2m):
 *  - read miss: entry without P2M_R → unmapped; P2M_MMIO → the MMIO bus; else `p2m.setAccessed(gfn)`
 *    and cache the translation read-only.
 *  - write miss (or a write hitting a read-only TLB entry): entry without P2M_W → call
 *    `s2.onWriteViolation(gfn)`: RETRY = walk the p2m again (the hypervisor fixed the entry), DISCARD
 *    = the write completes with no effect (ROM), WRITE_ONCE = this one access goes through to the
 *    entry's machine frame but the translation is *not* cached writable (trap mode: the next write
 *    faults again). With P2M_W: `p2m.setDirty(gfn)` *before* the write completes, then cache the
 *    translation writable. Never set P2M_D any other way: setDirty is how
 *    the hypervisor learns, at the moment it happens, that a tracked frame became dirty.
 *  - `invalidateWritableMappings(firstGfn, nr)` drops write permission from every cached translation
 *    to those frames (every linear alias), and from any "last page" shortcut the fast path keeps.
 */

/** Machine frame number, bits 0–19 (the machine memory is < 4 GiB). */
export const P2M_MFN_MASK = 0x000f_ffff;
/** Present and readable. An entry without it is unmapped: reads return all ones, writes are dropped. */
export const P2M_R = 1 << 24;
/** Writable: without it a write is a second-stage fault. */
export const P2M_W = 1 << 25;
/** Accessed: set by the MMU when it caches a translation through this entry. */
export const P2M_A = 1 << 26;
/** Dirty: set by the MMU before the first write through this entry is allowed to complete. */
export const P2M_D = 1 << 27;
/** Not backed by machine memory: accesses go to the MMIO bus. */
export const P2M_MMIO = 1 << 28;

export const GFN_COUNT = 1 << 20;

/** What the hypervisor decided about a second-stage write fault. */
export const S2Verdict = {
  /** Permissions were fixed: restart the access (walk the p2m again). */
  RETRY: 0,
  /** Drop the write (ROM): the instruction completes with no effect on memory. */
  DISCARD: 1,
  /**
   * Let this one write through to the entry's machine frame (the hypervisor has recorded it), but
   * leave the entry read-only and cache no writable translation: the next write faults again. The
   * trap display mode's verdict (the design Xen 3.3 rejected: a trap on every guest video write).
   * P2M_D is not set: the hypervisor recorded the write itself, before answering.
   */
  WRITE_ONCE: 2,
} as const;
export type S2Verdict = (typeof S2Verdict)[keyof typeof S2Verdict];

/** Implemented by the hypervisor; called by the MMU on a write to an entry without P2M_W. */
export interface SecondStageFaultHandler {
  onWriteViolation(gfn: number): S2Verdict;
}

/**
 * Implemented by the MMU's TLB; called by the hypervisor when it clears P2M_D or P2M_W, so that
 * no cached translation can write those frames without walking (and setting P2M_D) again.
 * Returns how many TLB entries lost their write permission.
 */
export interface WritableMappingInvalidator {
  invalidateWritableMappings(firstGfn: number, nr: number): number;
  /**
   * Optional: drop every cached translation (read or write) to those frames. The hypervisor calls
   * it when frames change their machine frame or go away (the VRAM BAR moved). A TLB without it
   * must be flushed whole by whoever moves the BAR.
   */
  invalidateMappings?(firstGfn: number, nr: number): number;
}

/** Called (through P2m.setDirty) when a frame some dirty-log client tracks goes from clean to dirty. */
export type TrackedFrameDirtied = (gfn: number) => void;

export class P2m {
  readonly entries = new Int32Array(GFN_COUNT);
  /**
   * Per gfn, how many dirty-log regions cover it (0 = nobody tracks it). Only the hypervisor writes
   * it; setDirty reads it so that an untracked frame costs one byte load.
   */
  readonly trackedFrames = new Uint8Array(GFN_COUNT);
  /** The hypervisor's hook, fired by setDirty on a tracked frame's clean → dirty transition. */
  onTrackedFrameDirtied: TrackedFrameDirtied | null = null;

  /** The MMU's slow path, on caching any translation through gfn. */
  setAccessed(gfn: number): void {
    this.entries[gfn] |= P2M_A;
  }

  /**
   * The MMU's slow path, before it lets a write through gfn complete (the entry has P2M_W). Sets
   * P2M_A and P2M_D; on a clean → dirty transition of a tracked frame it tells the hypervisor, which
   * is what lets the dirty-generation word move at the moment a tracked page becomes dirty.
   */
  setDirty(gfn: number): void {
    const e = this.entries[gfn];
    if ((e & P2M_D) !== 0) return;
    this.entries[gfn] = e | P2M_A | P2M_D;
    if (this.trackedFrames[gfn] !== 0) this.onTrackedFrameDirtied?.(gfn);
  }

  /** Map [gfn, gfn + count) onto machine frames starting at mfn with the given permission bits. */
  map(gfn: number, mfn: number, count: number, perms: number): void {
    for (let i = 0; i < count; i++) this.entries[gfn + i] = ((mfn + i) & P2M_MFN_MASK) | perms;
  }

  mapMmio(gfn: number, count: number): void {
    for (let i = 0; i < count; i++) this.entries[gfn + i] = P2M_MMIO | P2M_R | P2M_W;
  }

  unmap(gfn: number, count: number): void {
    this.entries.fill(0, gfn, gfn + count);
  }
}
