/**
 * trackDirtyVram's named clients (QEMU's DIRTY_MEMORY_* idea): each client has its own bitmap,
 * range, idle drop and trap switch over the one log-dirty mechanism, so two displays reading the
 * same VRAM never take each other's dirty bits.
 */
import { describe, expect, it } from 'vitest';
import { VramClient } from '../../src/shared/api';
import {
  F64,
  HV_CLIENT_DROPPED,
  HV_CLIENT_IDLE_DROP,
  HV_CLIENT_TRACKING,
  HV_CLIENT_TRAP,
  I32,
} from '../../src/shared/layout';
import { IDLE_DROP_MS } from '../../src/machine/hv/hypervisor';
import { bits, range, rig } from './hv-rig';

const A = VramClient.DISPLAY;
const B = VramClient.DISPLAY_B;

function track(r: ReturnType<typeof rig>, client: VramClient, first: number, nr: number): number[] {
  const res = r.hv.trackDirtyVram(first, nr, client);
  if (!res.ok) throw new Error(`${res.code}: ${res.message}`);
  return bits(res.value);
}

describe('trackDirtyVram clients: two readers over overlapping ranges', () => {
  it("a write in the overlap is reported to both clients; one client's call does not clear the other's bit", () => {
    const r = rig();
    // A tracks frames 0–39, B frames 20–59 (relative to the BAR): 20–39 overlap.
    expect(track(r, A, r.bar, 40)).toEqual(range(40));
    expect(track(r, B, r.bar + 20, 40)).toEqual(range(40));
    r.writePage(25);
    r.writePage(5);
    r.writePage(50);
    expect(track(r, A, r.bar, 40)).toEqual([5, 25]);
    expect(track(r, A, r.bar, 40)).toEqual([]); // read and cleared, for A only
    expect(track(r, B, r.bar + 20, 40)).toEqual([25 - 20, 50 - 20]);
    expect(track(r, B, r.bar + 20, 40)).toEqual([]);
  });

  it('each client starts all dirty on its own first call and on its own new range; nr = 0 stops only that client', () => {
    const r = rig();
    track(r, A, r.bar, 16);
    expect(track(r, B, r.bar, 16)).toEqual(range(16));
    expect(track(r, A, r.bar, 16)).toEqual([]);
    // B moves its range: B starts over, A keeps its bits.
    r.writePage(3);
    expect(track(r, B, r.bar + 8, 16)).toEqual(range(16));
    expect(track(r, A, r.bar, 16)).toEqual([3]);
    // B stops: A goes on tracking (its frames stay tracked), B's next call starts over.
    track(r, B, 0, 0);
    expect(r.hv.clientState(B).range).toBeNull();
    expect(r.hv.trackedRange).toEqual({ firstPfn: r.bar, nr: 16 });
    r.writePage(4);
    expect(track(r, A, r.bar, 16)).toEqual([4]);
    expect(track(r, B, r.bar, 16)).toEqual(range(16));
  });

  it('refuses an unknown client with EINVAL, changing nothing', () => {
    const r = rig();
    track(r, A, r.bar, 8);
    const res = r.hv.trackDirtyVram(r.bar, 8, 7 as VramClient);
    expect(res.ok || res.code).toBe('EINVAL');
    expect(r.hv.clientState(A).range).toEqual({ firstPfn: r.bar, nr: 8 });
  });

  it("one client's idle drop write-protects its range only: the other keeps scanning and loses no write", () => {
    const r = rig();
    r.hv.setIdleDrop(true, B);
    track(r, A, r.bar, 32);
    track(r, B, r.bar, 32);
    r.clock.ms += IDLE_DROP_MS;
    expect(track(r, A, r.bar, 32)).toEqual([]);
    expect(track(r, B, r.bar, 32)).toEqual([]); // B's two idle seconds: dropped
    const i32 = r.stats.i32;
    expect(r.hv.clientState(B).dropped).toBe(true);
    expect(r.hv.clientState(A).dropped).toBe(false);
    expect(Atomics.load(i32, I32.HV_CLIENT_STATE + B)).toBe(
      HV_CLIENT_TRACKING | HV_CLIENT_IDLE_DROP | HV_CLIENT_DROPPED,
    );
    expect(Atomics.load(i32, I32.HV_CLIENT_STATE + A)).toBe(HV_CLIENT_TRACKING);
    expect(Atomics.load(i32, I32.HV_DROPPED)).toBe(0); // the single words are the display's (A's)
    // While B is dropped its calls scan nothing; A's still scan its range.
    const scanned = r.f(F64.HV_PAGES_SCANNED);
    track(r, B, r.bar, 32);
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(scanned);
    track(r, A, r.bar, 32);
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(scanned + 32);
    // The first write faults (B's protection), re-arms B, and is reported to both.
    const faults = r.mmu.s2Faults;
    r.writePage(9);
    r.writePage(10);
    expect(r.mmu.s2Faults - faults).toBe(1);
    expect(r.hv.clientState(B).dropped).toBe(false);
    expect(track(r, A, r.bar, 32)).toEqual([9, 10]);
    expect(track(r, B, r.bar, 32)).toEqual([9, 10]);
  });

  it("one client's trap mode makes every write fault and reports each to both clients", () => {
    const r = rig();
    track(r, A, r.bar, 16);
    r.hv.setTrapWrites(true, B);
    expect(r.hv.trapWrites).toBe(false); // A's switch is its own
    track(r, B, r.bar + 4, 16);
    expect(Atomics.load(r.stats.i32, I32.HV_CLIENT_STATE + B) & HV_CLIENT_TRAP).toBe(HV_CLIENT_TRAP);
    const faults = r.mmu.s2Faults;
    r.writePage(6);
    r.writePage(6, 0x11, 8);
    r.writePage(2); // only A covers frame 2: no fault
    expect(r.mmu.s2Faults - faults).toBe(2);
    expect(track(r, A, r.bar, 16)).toEqual([2, 6]);
    expect(track(r, B, r.bar + 4, 16)).toEqual([6 - 4]);
    // B's trap off: writes go through again and both still see them.
    r.hv.setTrapWrites(false, B);
    r.writePage(7);
    r.writePage(7, 0x22, 4);
    expect(track(r, B, r.bar + 4, 16)).toEqual([7 - 4]);
    expect(track(r, A, r.bar, 16)).toEqual([7]);
  });

  it('the dirty generation moves for a write that only the other client has yet to read', () => {
    const r = rig();
    track(r, A, r.bar, 8);
    track(r, B, r.bar, 8);
    const g = r.gen();
    r.writePage(1);
    expect(r.gen()).not.toBe(g); // B (which loaded g) will call, though A reads the bit first
    expect(track(r, A, r.bar, 8)).toEqual([1]);
    expect(track(r, B, r.bar, 8)).toEqual([1]);
  });
});

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

describe('two clients, randomized: no lost write for either', () => {
  for (const seed of [7, 0xbadcafe])
    it(`seed ${seed}: each client's bitmap holds exactly the pages written in its range since its own last call, whatever the other does (modes switched at random per client)`, () => {
      const rand = rng(seed);
      const r = rig();
      const frames = r.hv.vramFrames;
      interface Reader {
        client: VramClient;
        first: number;
        nr: number;
        fresh: boolean;
        written: Set<number>;
        calls: number;
      }
      const readers: Reader[] = [
        { client: A, first: 0, nr: 200, fresh: true, written: new Set(), calls: 0 },
        { client: B, first: 100, nr: 200, fresh: true, written: new Set(), calls: 0 },
      ];
      const call = (x: Reader) => {
        const res = r.hv.trackDirtyVram(r.bar + x.first, x.nr, x.client);
        if (!res.ok) throw new Error(res.message);
        for (let i = 0; i < x.nr; i++) {
          const reported = (res.value[i >> 3] & (1 << (i & 7))) !== 0;
          const expected = x.fresh || x.written.has(x.first + i);
          if (reported !== expected)
            throw new Error(
              `client ${x.client} call ${x.calls}: page ${x.first + i} reported=${reported} written=${expected}`,
            );
        }
        x.fresh = false;
        x.written.clear();
        x.calls++;
      };
      let writes = 0;
      while (writes < 60_000) {
        const burst = rand(6) === 0 ? 0 : rand(150);
        for (let j = 0; j < burst; j++) {
          // Mostly the overlap and its neighbours (frames 50–349), sometimes anywhere.
          const page = rand(4) ? 50 + rand(300) : rand(frames);
          r.writePage(page, rand(256), rand(4096));
          writes++;
          for (const x of readers) if (page >= x.first && page < x.first + x.nr) x.written.add(page);
        }
        if (rand(50) === 0) r.mmu.tlb.clear();
        r.clock.ms += rand(30) === 0 ? 2000 + rand(2000) : rand(50);
        const x = readers[rand(2)];
        const c = rand(12);
        if (c < 5) call(x);
        else if (c === 5 && rand(15) === 0) {
          // The reader pans: a new range, all dirty.
          x.first = rand(frames - 400);
          x.nr = 1 + rand(400);
          x.fresh = true;
          call(x);
        } else if (c === 6 && rand(6) === 0) {
          // The reader's display mode changes: trap, dirty or dirty + idle drop.
          const mode = rand(3);
          r.hv.setTrapWrites(mode === 0, x.client);
          r.hv.setIdleDrop(mode === 2, x.client);
        } else if (c === 7) {
          // Idle stretch with calls only: a reader's drop engages if it is on.
          for (let q = 0; q < 4; q++) {
            r.clock.ms += 800;
            call(readers[q & 1]);
          }
        }
      }
      for (const x of readers) call(x);
      expect(readers.every((x) => x.calls > 100)).toBe(true);
      expect(r.f(F64.HV_IDLE_DROPS)).toBeGreaterThan(0);
      expect(r.f(F64.HV_REARMS)).toBeGreaterThan(0);
    });
});
