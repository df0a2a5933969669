import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, TRACK_DIRTY_VRAM_MAX_NR } from '../../src/shared/api';
import { F64, I32, PAGE_SHIFT } from '../../src/shared/layout';
import { IDLE_DROP_MS } from '../../src/machine/hv/hypervisor';
import { GFN_COUNT, P2M_D, P2M_R, P2M_W, S2Verdict } from '../../src/machine/hv/p2m';
import { bits, range, rig } from './hv-rig';

/** Byte-wise equality of two typed arrays (fast on the 4 MiB p2m). */
const same = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('trackDirtyVram: the contract', () => {
  let r: ReturnType<typeof rig>;
  beforeEach(() => {
    r = rig();
  });

  it('the first call over a range reports every page dirty, and no bit past nr', () => {
    const b = r.track(r.bar, 20);
    expect(b.length).toBe(3);
    expect(bits(b)).toEqual(range(20));
    expect(b[2]).toBe(0x0f);
  });

  it('a second call with no write in between reports nothing', () => {
    r.track(r.bar, 20);
    expect(bits(r.track(r.bar, 20))).toEqual([]);
  });

  it('a write through the guest mapping shows up in the next call, once', () => {
    r.track(r.bar, 64);
    r.writePage(5);
    r.writePage(5, 0x55, 100);
    r.writePage(63);
    expect(bits(r.track(r.bar, 64))).toEqual([5, 63]);
    expect(bits(r.track(r.bar, 64))).toEqual([]);
    expect(r.memory.vram[5 * 4096 + 100]).toBe(0x55);
  });

  it('nr = 0 stops tracking whatever firstPfn says; the next call starts again with everything dirty', () => {
    r.track(r.bar, 16);
    const stopped = r.hv.trackDirtyVram(0xffff_ffff, 0);
    expect(stopped.ok && stopped.value.length).toBe(0);
    expect(r.hv.trackedRange).toBeNull();
    expect(r.hv.p2m.trackedFrames.subarray(r.bar, r.bar + 16).every((c) => c === 0)).toBe(true);
    expect(bits(r.track(r.bar, 16))).toEqual(range(16));
  });

  it('a call over a different range starts over: everything dirty, the old frames untracked', () => {
    r.track(r.bar, 16);
    r.writePage(3);
    expect(bits(r.track(r.bar + 8, 16))).toEqual(range(16));
    expect(r.hv.p2m.trackedFrames[r.bar]).toBe(0);
    expect(r.hv.p2m.trackedFrames[r.bar + 8]).toBe(1);
    expect(bits(r.track(r.bar + 8, 16))).toEqual([]);
  });

  it('bit i is frame firstPfn + i for a range that does not start on a multiple of 8', () => {
    const first = r.bar + 3;
    r.track(first, 13);
    for (const i of [0, 5, 8, 12]) r.writePage(3 + i);
    r.writePage(2); // just before the range
    r.writePage(16); // just after it
    const b = r.track(first, 13);
    expect(Array.from(b)).toEqual([0b0010_0001, 0b0001_0001]);
  });

  describe('each EINVAL case changes nothing', () => {
    const cases: [string, (bar: number, frames: number) => [number, number]][] = [
      ['nr > 262,144', (bar) => [bar, TRACK_DIRTY_VRAM_MAX_NR + 1]],
      ['a range wrapping past the top of the guest-physical space', () => [GFN_COUNT - 4, 8]],
      ['a range below the VRAM BAR', (bar) => [bar - 8, 4]],
      ['a range straddling the start of the VRAM BAR', (bar) => [bar - 1, 4]],
      ['a range running past the end of the VRAM BAR', (bar, frames) => [bar + frames - 2, 4]],
      ['a range above the VRAM BAR', (bar, frames) => [bar + frames, 1]],
      ['a negative firstPfn', () => [-1, 4]],
      ['a non-integer nr', (bar) => [bar, 1.5]],
    ];
    for (const [name, args] of cases)
      it(name, () => {
        r.track(r.bar, 32);
        r.writePage(7);
        const entries = r.hv.p2m.entries.slice();
        const tracked = r.hv.p2m.trackedFrames.slice();
        const gen = r.gen();
        const scanned = r.f(F64.HV_PAGES_SCANNED);
        const [first, nr] = args(r.bar, r.hv.vramFrames);
        const res = r.hv.trackDirtyVram(first, nr);
        expect(res.ok).toBe(false);
        if (!res.ok) expect(res.code).toBe(ErrorCode.EINVAL);
        expect(same(r.hv.p2m.entries, entries)).toBe(true);
        expect(same(r.hv.p2m.trackedFrames, tracked)).toBe(true);
        expect(r.gen()).toBe(gen);
        expect(r.f(F64.HV_PAGES_SCANNED)).toBe(scanned);
        expect(r.hv.trackedRange).toEqual({ firstPfn: r.bar, nr: 32 });
        expect(bits(r.track(r.bar, 32))).toEqual([7]); // the pending write survived
      });

    it('any range while the VRAM BAR is unmapped', () => {
      r.hv.setVramBar(null);
      const res = r.hv.trackDirtyVram(r.bar, 1);
      expect(!res.ok && res.code).toBe(ErrorCode.EINVAL);
      expect(r.hv.trackedRange).toBeNull();
    });
  });
});

describe('the TLB half of reading a dirty bit', () => {
  it('a write through a TLB entry cached writable before a call still shows up in the next call', () => {
    const r = rig();
    r.track(r.bar, 8);
    r.writePage(2); // caches page 2 writable
    expect(r.mmu.tlb.get(r.LIN + 2)?.writable).toBe(true);
    expect(bits(r.track(r.bar, 8))).toEqual([2]);
    expect(r.mmu.tlb.get(r.LIN + 2)?.writable).toBe(false); // invalidated in the same step
    expect(r.hv.p2m.entries[r.bar + 2] & P2M_D).toBe(0);
    r.writePage(2, 0x11, 8);
    expect(bits(r.track(r.bar, 8))).toEqual([2]);
    expect(r.f(F64.HV_TLB_INVALIDATED)).toBeGreaterThanOrEqual(2);
  });

  it('the same VRAM page mapped at two linear addresses, written through each, is reported both times', () => {
    const r = rig();
    const ALIAS = 0x7000_0000 >>> PAGE_SHIFT;
    r.mmu.map(ALIAS, r.bar + 4);
    r.track(r.bar, 8);
    r.writePage(4, 1);
    r.mmu.write8(ALIAS << PAGE_SHIFT, 2); // both aliases now cached writable
    expect(bits(r.track(r.bar, 8))).toEqual([4]);
    r.mmu.write8((ALIAS << PAGE_SHIFT) + 1, 3); // through the alias only
    expect(bits(r.track(r.bar, 8))).toEqual([4]);
    r.writePage(4, 4, 2); // through the first mapping only
    expect(bits(r.track(r.bar, 8))).toEqual([4]);
    expect(Array.from(r.memory.vram.subarray(4 * 4096, 4 * 4096 + 3))).toEqual([2, 3, 4]);
  });
});

describe('idle drop', () => {
  /** Tracking over 64 pages with the drop on; calls every 100 ms of machine time until it drops. */
  function dropped() {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 64);
    for (let t = 100; t < IDLE_DROP_MS; t += 100) {
      r.clock.ms = t;
      r.track(r.bar, 64);
      expect(r.hv.dropped).toBe(false);
    }
    r.clock.ms = IDLE_DROP_MS;
    r.track(r.bar, 64);
    return r;
  }

  it('is off by default: ten idle seconds later the range is still scanned', () => {
    const r = rig();
    r.track(r.bar, 64);
    r.clock.ms = 10_000;
    r.track(r.bar, 64);
    expect(r.hv.dropped).toBe(false);
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(128);
    expect(Atomics.load(r.stats.i32, I32.HV_IDLE_DROP)).toBe(0);
  });

  it('after 2 s of machine time with no dirty page the range is write-protected and calls do no per-page work', () => {
    const r = dropped();
    expect(r.hv.dropped).toBe(true);
    expect(Atomics.load(r.stats.i32, I32.HV_DROPPED)).toBe(1);
    expect(Atomics.load(r.stats.i32, I32.HV_IDLE_DROP)).toBe(1);
    expect(r.f(F64.HV_IDLE_DROPS)).toBe(1);
    for (let i = 0; i < 64; i++) expect(r.hv.p2m.entries[r.bar + i] & P2M_W).toBe(0);
    expect(r.hv.p2m.entries[r.bar + 64] & P2M_W).toBe(P2M_W); // outside the range: untouched
    const scanned = r.f(F64.HV_PAGES_SCANNED);
    const invalidated = r.f(F64.HV_TLB_INVALIDATED);
    for (let k = 0; k < 1000; k++) {
      r.clock.ms += 33;
      expect(bits(r.track(r.bar, 64))).toEqual([]);
    }
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(scanned);
    expect(r.f(F64.HV_TLB_INVALIDATED)).toBe(invalidated);
    expect(r.f(F64.HV_HYPERCALLS)).toBe(21 + 1000);
  });

  it('does not engage a moment before 2 s', () => {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 8);
    r.clock.ms = IDLE_DROP_MS - 1;
    r.track(r.bar, 8);
    expect(r.hv.dropped).toBe(false);
  });

  it('a write keeps it away: the 2 s count from the last call that reported a dirty page', () => {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 8);
    r.clock.ms = 1500;
    r.writePage(1);
    r.track(r.bar, 8);
    r.clock.ms = 3000;
    r.track(r.bar, 8);
    expect(r.hv.dropped).toBe(false);
    r.clock.ms = 3500;
    r.track(r.bar, 8);
    expect(r.hv.dropped).toBe(true);
  });

  it('the first write faults once, lands, is reported, and tracking resumes', () => {
    const r = dropped();
    const scanned = r.f(F64.HV_PAGES_SCANNED);
    r.writePage(9, 0x99);
    expect(r.mmu.s2Faults).toBe(1);
    expect(r.f(F64.HV_S2_FAULTS)).toBe(1);
    expect(r.f(F64.HV_REARMS)).toBe(1);
    expect(r.hv.dropped).toBe(false);
    expect(Atomics.load(r.stats.i32, I32.HV_DROPPED)).toBe(0);
    expect(r.memory.vram[9 * 4096]).toBe(0x99);
    for (let i = 0; i < 64; i++) expect(r.hv.p2m.entries[r.bar + i] & P2M_W).toBe(P2M_W);
    r.writePage(10); // write access is back on the whole range: no second fault
    expect(r.mmu.s2Faults).toBe(1);
    expect(bits(r.track(r.bar, 64))).toEqual([9, 10]);
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(scanned + 64); // scanning resumed
    expect(bits(r.track(r.bar, 64))).toEqual([]);
  });

  it('drops again after another 2 idle seconds following a re-arm', () => {
    const r = dropped();
    r.writePage(0);
    r.clock.ms += 100;
    r.track(r.bar, 64);
    r.clock.ms += IDLE_DROP_MS;
    r.track(r.bar, 64);
    expect(r.hv.dropped).toBe(true);
    expect(r.f(F64.HV_IDLE_DROPS)).toBe(2);
  });

  it('a write through a TLB entry cached writable before the drop still faults', () => {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 8);
    r.writePage(3);
    r.clock.ms = 100;
    r.track(r.bar, 8);
    r.writePage(3); // cached writable again, now dirty
    r.clock.ms = 200;
    expect(bits(r.track(r.bar, 8))).toEqual([3]);
    r.writePage(3); // TLB writable again after the walk
    r.clock.ms = 2500;
    expect(bits(r.track(r.bar, 8))).toEqual([3]);
    r.clock.ms = 5000;
    r.track(r.bar, 8);
    expect(r.hv.dropped).toBe(true);
    r.writePage(3, 0x33);
    expect(r.mmu.s2Faults).toBe(1);
    expect(bits(r.track(r.bar, 8))).toEqual([3]);
  });

  it('turning the drop off restores write access at once', () => {
    const r = dropped();
    r.hv.setIdleDrop(false);
    expect(r.hv.dropped).toBe(false);
    expect(Atomics.load(r.stats.i32, I32.HV_DROPPED)).toBe(0);
    expect(Atomics.load(r.stats.i32, I32.HV_IDLE_DROP)).toBe(0);
    for (let i = 0; i < 64; i++) expect(r.hv.p2m.entries[r.bar + i] & P2M_W).toBe(P2M_W);
    r.writePage(5);
    expect(r.mmu.s2Faults).toBe(0);
    expect(bits(r.track(r.bar, 64))).toEqual([5]);
    r.clock.ms += 60_000;
    r.track(r.bar, 64);
    expect(r.hv.dropped).toBe(false);
  });

  it('stopping or changing the range while dropped gives the old frames their write access back', () => {
    const r = dropped();
    r.track(r.bar + 64, 8);
    for (let i = 0; i < 64; i++) expect(r.hv.p2m.entries[r.bar + i] & P2M_W).toBe(P2M_W);
    r.writePage(1);
    expect(r.mmu.s2Faults).toBe(0);
  });
});

describe('second-stage faults outside the tracked range', () => {
  it('a write to a ROM frame is discarded and memory keeps its contents', () => {
    const r = rig();
    const romGfn = 0xfffc0;
    const romMfn = r.memory.layout.romOffset >>> PAGE_SHIFT;
    r.hv.p2m.map(romGfn, romMfn, 64, P2M_R);
    r.memory.u8[r.memory.layout.romOffset] = 0xea;
    r.mmu.map(0xfffc0, romGfn);
    r.mmu.write8(0xfffc0000, 0x00);
    expect(r.mmu.discarded).toBe(1);
    expect(r.memory.u8[r.memory.layout.romOffset]).toBe(0xea);
    expect(r.hv.onWriteViolation(romGfn)).toBe(S2Verdict.DISCARD);
  });
});

describe('the VRAM BAR moves', () => {
  it('tracking follows: pending writes, the range and new writes carry over to the new frames', () => {
    const r = rig();
    r.track(r.bar, 16);
    r.writePage(6);
    const newBar = 0xd000_0000 >>> PAGE_SHIFT;
    r.hv.setVramBar(newBar);
    expect(r.hv.p2m.entries[r.bar] & P2M_R).toBe(0);
    expect(r.hv.p2m.entries[newBar] & P2M_R).toBe(P2M_R);
    expect(r.mmu.tlb.size).toBe(0); // every translation of the old frames was dropped
    const old = r.hv.trackDirtyVram(r.bar, 16);
    expect(!old.ok && old.code).toBe(ErrorCode.EINVAL);
    expect(r.hv.trackedRange).toEqual({ firstPfn: newBar, nr: 16 });
    // The guest remaps its linear window onto the new BAR.
    for (let i = 0; i < 16; i++) r.mmu.map(r.LIN + i, newBar + i);
    r.writePage(7, 0x77);
    expect(r.memory.vram[7 * 4096]).toBe(0x77);
    expect(bits(r.track(newBar, 16))).toEqual([6, 7]);
  });

  it('a dropped range stays dropped at its new place and re-arms on a write there', () => {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 16);
    r.clock.ms = 3000;
    r.track(r.bar, 16);
    expect(r.hv.dropped).toBe(true);
    const newBar = 0xd000_0000 >>> PAGE_SHIFT;
    r.hv.setVramBar(newBar);
    expect(r.hv.p2m.entries[newBar + 3] & P2M_W).toBe(0);
    for (let i = 0; i < 16; i++) r.mmu.map(r.LIN + i, newBar + i);
    r.writePage(3);
    expect(r.mmu.s2Faults).toBe(1);
    expect(bits(r.track(newBar, 16))).toEqual([3]);
  });
});

describe('the dirty-generation word', () => {
  it('moves when a tracked page becomes dirty, once per page per call, and not for untracked pages', () => {
    const r = rig();
    r.track(r.bar, 8);
    const g0 = r.gen();
    r.track(r.bar, 8);
    expect(r.gen()).toBe(g0); // a call that finds nothing leaves it alone
    r.writePage(20); // untracked
    expect(r.gen()).toBe(g0);
    r.writePage(1);
    expect(r.gen()).toBe(g0 + 1);
    r.writePage(1, 2, 2);
    r.writePage(1, 3, 3);
    expect(r.gen()).toBe(g0 + 1);
    r.track(r.bar, 8);
    expect(r.gen()).toBe(g0 + 1); // reading does not move it
    r.writePage(1);
    expect(r.gen()).toBe(g0 + 2); // clean again after the read: the next write is news
  });

  it('moves on range start, change and stop, on the idle drop and on the re-arm', () => {
    const r = rig();
    let g = r.gen();
    const moved = () => {
      const now = r.gen();
      const m = now !== g;
      g = now;
      return m;
    };
    r.track(r.bar, 8);
    expect(moved()).toBe(true);
    r.track(r.bar + 1, 8);
    expect(moved()).toBe(true);
    r.hv.setIdleDrop(true);
    expect(moved()).toBe(true);
    r.clock.ms = 2000;
    r.track(r.bar + 1, 8);
    expect(r.hv.dropped).toBe(true);
    expect(moved()).toBe(true);
    r.track(r.bar + 1, 8);
    expect(moved()).toBe(false);
    r.writePage(2);
    expect(moved()).toBe(true);
    r.hv.trackDirtyVram(0, 0);
    expect(moved()).toBe(true);
  });

  it('moves on a scan that finds pages nobody announced (P2M_D set behind the hook)', () => {
    const r = rig();
    r.track(r.bar, 8);
    const g0 = r.gen();
    r.hv.p2m.entries[r.bar + 2] |= P2M_D; // e.g. an MMU that sets the bit inline
    expect(r.gen()).toBe(g0);
    expect(bits(r.track(r.bar, 8))).toEqual([2]);
    expect(r.gen()).toBe(g0 + 1);
  });
});

describe('accounting', () => {
  it('counts hypercalls, pages scanned and reported, faults, invalidations, drops and re-arms, and time', () => {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 32); // 32 reported (first call)
    r.writePage(0);
    r.writePage(1);
    r.track(r.bar, 32); // 2 reported, 2 TLB entries invalidated
    r.clock.ms = 5000;
    r.track(r.bar, 32); // drop: harvests once more before protecting
    r.writePage(4); // fault, re-arm
    r.track(r.bar, 32);
    expect(r.f(F64.HV_HYPERCALLS)).toBe(4);
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(32 * 5);
    expect(r.f(F64.HV_PAGES_DIRTY)).toBe(32 + 2 + 1);
    expect(r.f(F64.HV_S2_FAULTS)).toBe(1);
    expect(r.f(F64.HV_TLB_INVALIDATED)).toBe(2 + 0 + 1);
    expect(r.f(F64.HV_IDLE_DROPS)).toBe(1);
    expect(r.f(F64.HV_REARMS)).toBe(1);
    expect(r.f(F64.HV_MS)).toBeGreaterThan(0);
  });
});
