import { describe, expect, it } from 'vitest';
import { F64, PAGE_SHIFT, STATS_BYTES, VRAM_BAR_DEFAULT, statsViews } from '../../src/shared/layout';
import { MachineMemory } from '../../src/machine/memory';
import { Hypervisor } from '../../src/machine/hv/hypervisor';
import { FakeMmu } from './fake-mmu';

/** xorshift32: a reproducible stream for the randomized schedule. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

describe('no lost writes (randomized, fake MMU honouring the p2m contract)', () => {
  for (const seed of [1, 0xc0ffee, 20261125])
    it(`seed ${seed}: every written page is in the next bitmap and no unwritten page ever is; switching trap ↔ dirty ↔ dirty-idle at random, every write to a tracked page faults exactly once while trapping`, () => {
      const rand = rng(seed);
      const memory = new MachineMemory(4, 8);
      const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
      const clock = { ms: 0 };
      const hv = new Hypervisor({ layout: memory.layout, stats, now: () => clock.ms });
      const bars = [VRAM_BAR_DEFAULT >>> PAGE_SHIFT, 0xd000_0000 >>> PAGE_SHIFT];
      let bar = bars[0];
      hv.setVramBar(bar);
      const mmu = new FakeMmu(memory.u8, hv.p2m, hv);
      hv.attachTlb(mmu);
      const frames = hv.vramFrames;
      const LIN = 0x4000_0000 >>> PAGE_SHIFT;
      const ALIAS = 0x8000_0000 >>> PAGE_SHIFT;
      const mapWindows = () => {
        for (let i = 0; i < frames; i++) mmu.map(LIN + i, bar + i);
        for (let i = 0; i < 64; i++) mmu.map(ALIAS + i, bar + 100 + i); // a second window on frames 100–163
      };
      mapWindows();

      let first = 0;
      let nr = 300;
      let fresh = true; // the next call is the first over this range
      const written = new Set<number>(); // VRAM page indices written since the last call
      let writes = 0;
      let calls = 0;
      let barMoves = 0;
      let trappedWrites = 0;
      let modeSwitches = 0;

      const write = () => {
        // Mostly a hot region (like a scrolling terminal), sometimes anywhere, sometimes the alias.
        const k = rand(10);
        const page = k < 6 ? first + rand(Math.min(nr + 8, frames - first)) : k < 9 ? rand(frames) : 100 + rand(64);
        const off = rand(4096);
        const value = rand(256);
        const faults = mmu.s2Faults;
        if (k === 9) mmu.write8(((ALIAS + page - 100) << PAGE_SHIFT) + off, value);
        else mmu.write8(((LIN + page) << PAGE_SHIFT) + off, value);
        const tracked = calls > 0 && page >= first && page < first + nr; // tracking starts with the first call
        if (hv.trapWrites && tracked) {
          trappedWrites++;
          if (mmu.s2Faults - faults !== 1)
            throw new Error(`write ${writes} to page ${page}: ${mmu.s2Faults - faults} faults`);
        }
        if (memory.vram[page * 4096 + off] !== value) throw new Error(`write ${writes} to page ${page} did not land`);
        written.add(page);
        writes++;
      };

      const call = () => {
        const r = hv.trackDirtyVram(bar + first, nr);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        calls++;
        for (let i = 0; i < nr; i++) {
          const reported = (r.value[i >> 3] & (1 << (i & 7))) !== 0;
          const expected = fresh || written.has(first + i);
          if (reported !== expected)
            throw new Error(`call ${calls}: page ${first + i} reported=${reported} written=${expected}`);
        }
        fresh = false;
        written.clear();
      };

      while (writes < 100_000) {
        // One slice: a burst of guest writes (and reads, which cache read-only translations).
        const burst = rand(8) === 0 ? 0 : rand(200);
        for (let j = 0; j < burst; j++) {
          if (rand(4) === 0) mmu.read8(((LIN + rand(frames)) << PAGE_SHIFT) + rand(4096));
          write();
        }
        if (rand(50) === 0) mmu.tlb.clear(); // a CR3 reload
        // Machine time passes; now and then a long idle stretch so that the drop engages.
        clock.ms += rand(40) === 0 ? 2000 + rand(2000) : rand(50);
        // Calls land at slice boundaries, at random.
        const c = rand(10);
        if (c < 4) call();
        else if (c === 4 && rand(20) === 0) {
          first = rand(frames - 1);
          nr = 1 + rand(Math.min(frames - first, 2000));
          fresh = true;
          call();
        } else if (c === 5 && rand(10) === 0) hv.setIdleDrop(!hv.idleDropEnabled);
        else if (c === 8 && rand(10) === 0) {
          // The display mode changes: trap, dirty or dirty-idle, as the page's control does it.
          const mode = rand(3);
          hv.setTrapWrites(mode === 0);
          hv.setIdleDrop(mode === 2);
          modeSwitches++;
        } else if (c === 7 && rand(20) === 0) {
          // The guest moves PCI BAR0 and remaps its windows: tracking follows, nothing is lost.
          bar = bar === bars[0] ? bars[1] : bars[0];
          barMoves++;
          hv.setVramBar(bar);
          mapWindows();
        } else if (c === 6 && rand(2) === 0) {
          // Idle stretch with calls only: the drop engages if it is on.
          for (let q = 0; q < 4; q++) {
            clock.ms += 800;
            call();
          }
        }
      }
      call();
      expect(writes).toBeGreaterThanOrEqual(100_000);
      // The schedule did exercise the interesting paths.
      expect(stats.f64[F64.HV_IDLE_DROPS]).toBeGreaterThan(0);
      expect(stats.f64[F64.HV_REARMS]).toBeGreaterThan(0);
      expect(stats.f64[F64.HV_TLB_INVALIDATED]).toBeGreaterThan(0);
      expect(barMoves).toBeGreaterThan(0);
      expect(modeSwitches).toBeGreaterThan(0);
      expect(trappedWrites).toBeGreaterThan(1000);
    });
});
