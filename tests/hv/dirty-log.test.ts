import { describe, expect, it } from 'vitest';
import { DirtyLog } from '../../src/machine/hv/dirty-log';
import { P2M_R, P2M_W, P2m, S2Verdict } from '../../src/machine/hv/p2m';
import { FakeMmu } from './fake-mmu';

/** The log-dirty mechanism on its own, with two clients over overlapping frames. */
function rig() {
  const p2m = new P2m();
  const u8 = new Uint8Array(64 * 4096);
  p2m.map(0x100, 0, 64, P2M_R | P2M_W);
  const counts = { scanned: 0, invalidated: 0 };
  let log: DirtyLog | null = null;
  const mmu = new FakeMmu(u8, p2m, {
    onWriteViolation: (gfn) => (log!.onWriteFault(gfn) ? S2Verdict.RETRY : S2Verdict.DISCARD),
  });
  log = new DirtyLog(p2m, mmu, {
    pagesScanned: (n) => (counts.scanned += n),
    tlbInvalidated: (n) => (counts.invalidated += n),
  });
  for (let i = 0; i < 64; i++) mmu.map(i, 0x100 + i);
  return { p2m, mmu, log, counts };
}

const bits = (b: Uint8Array) => {
  const out: number[] = [];
  for (let i = 0; i < b.length * 8; i++) if (b[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
};

describe('log-dirty: one mechanism, several clients', () => {
  it('a client harvesting the shared P2M_D bits does not take writes away from another client', () => {
    const { mmu, log } = rig();
    const display = log.open('display', 0x100, 16);
    const snapshot = log.open('snapshot', 0x108, 16);
    log.snapshotAndClear(display);
    log.snapshotAndClear(snapshot);
    mmu.write8(0x9000, 1); // frame 0x109: both clients cover it
    mmu.write8(0x2000, 1); // frame 0x102: display only
    expect(bits(log.snapshotAndClear(display))).toEqual([2, 9]);
    mmu.write8(0x11000, 1); // frame 0x111: snapshot only
    expect(bits(log.snapshotAndClear(snapshot))).toEqual([1, 9]);
    expect(bits(log.snapshotAndClear(display))).toEqual([]);
  });

  it('tracked-frame counts follow opening and closing regions', () => {
    const { p2m, log } = rig();
    const a = log.open('a', 0x100, 16);
    const b = log.open('b', 0x108, 16);
    expect(p2m.trackedFrames[0x109]).toBe(2);
    log.close(a);
    expect(p2m.trackedFrames[0x101]).toBe(0);
    expect(p2m.trackedFrames[0x109]).toBe(1);
    log.close(b);
    expect(p2m.trackedFrames[0x109]).toBe(0);
  });

  it('a write-protected region re-arms on a write and the faulting frame is pending in every region covering it', () => {
    const { p2m, mmu, log } = rig();
    let rearmedAt = -1;
    const a = log.open('a', 0x100, 16, (gfn) => (rearmedAt = gfn));
    const b = log.open('b', 0x108, 16);
    log.snapshotAndClear(a);
    log.snapshotAndClear(b);
    log.writeProtect(a);
    expect(p2m.entries[0x10a] & P2M_W).toBe(0);
    mmu.write8(0xa000, 7);
    expect(mmu.s2Faults).toBe(1);
    expect(rearmedAt).toBe(0x10a);
    expect(a.writeProtected).toBe(false);
    expect(bits(log.snapshotAndClear(a))).toEqual([10]);
    expect(bits(log.snapshotAndClear(b))).toEqual([2]);
  });

  it('lifting one region’s protection leaves frames another protected region holds read-only', () => {
    const { p2m, log } = rig();
    const a = log.open('a', 0x100, 16);
    const b = log.open('b', 0x108, 16);
    log.writeProtect(a);
    log.writeProtect(b);
    log.unprotect(a);
    expect(p2m.entries[0x101] & P2M_W).toBe(P2M_W);
    expect(p2m.entries[0x109] & P2M_W).toBe(0);
    log.unprotect(b);
    expect(p2m.entries[0x109] & P2M_W).toBe(P2M_W);
  });

  it('setDirty announces only the clean → dirty transition of a tracked frame', () => {
    const { p2m, log } = rig();
    const seen: number[] = [];
    p2m.onTrackedFrameDirtied = (g) => seen.push(g);
    log.open('a', 0x100, 4);
    p2m.setDirty(0x101);
    p2m.setDirty(0x101);
    p2m.setDirty(0x120); // untracked
    expect(seen).toEqual([0x101]);
  });
});
