/**
 * Trap mode (the design Xen 3.3 rejected): the tracked range stays write-protected and every guest
 * write to it is a second-stage fault that records the page and lets that one write through. Here
 * against the fake MMU honouring the p2m contract (WRITE_ONCE: the write completes, no writable TLB
 * entry); tests/hv/cpu-integration.test.ts runs the same with the real CPU.
 */
import { describe, expect, it } from 'vitest';
import { F64, I32, PAGE_SHIFT } from '../../src/shared/layout';
import { IDLE_DROP_MS } from '../../src/machine/hv/hypervisor';
import { P2M_R, P2M_W, S2Verdict } from '../../src/machine/hv/p2m';
import { bits, range, rig } from './hv-rig';

describe('trap mode', () => {
  it('every write to a tracked page faults exactly once, lands in VRAM, and the page is reported', () => {
    const r = rig();
    r.hv.setTrapWrites(true);
    r.track(r.bar, 64);
    const faults0 = r.f(F64.HV_S2_FAULTS);
    for (let k = 0; k < 10; k++) r.writePage(7, k, k); // ten writes to one page: ten faults, not one
    expect(r.f(F64.HV_S2_FAULTS) - faults0).toBe(10);
    expect(r.mmu.writtenOnce).toBe(10);
    expect(Array.from(r.memory.vram.subarray(7 * 4096, 7 * 4096 + 10))).toEqual(range(10));
    expect(bits(r.track(r.bar, 64))).toEqual([7]);
    // Still trapping after the call: the next write faults again and is the next call's news.
    r.writePage(7, 0xee, 100);
    expect(r.f(F64.HV_S2_FAULTS) - faults0).toBe(11);
    expect(bits(r.track(r.bar, 64))).toEqual([7]);
    expect(bits(r.track(r.bar, 64))).toEqual([]);
  });

  it('no TLB entry ever holds a tracked page writable, through any alias; untracked VRAM does not fault', () => {
    const r = rig();
    r.track(r.bar, 64);
    r.writePage(3); // dirty mode: cached writable
    expect([...r.mmu.tlb.values()].some((t) => t.writable)).toBe(true);
    r.hv.setTrapWrites(true); // the writable mapping is revoked at once
    expect([...r.mmu.tlb.values()].some((t) => t.writable && t.gfn < r.bar + 64)).toBe(false);
    r.mmu.map(0x9000_0000 >>> PAGE_SHIFT, r.bar + 3); // a second linear alias of page 3
    const faults0 = r.f(F64.HV_S2_FAULTS);
    r.writePage(3, 1, 1);
    r.mmu.write8(0x9000_0000 + 2, 2);
    r.writePage(3, 3, 3);
    expect(r.f(F64.HV_S2_FAULTS) - faults0).toBe(3);
    expect([...r.mmu.tlb.values()].some((t) => t.writable && t.gfn < r.bar + 64)).toBe(false);
    // Page 200 is VRAM outside the tracked range: an ordinary writable page.
    r.writePage(200);
    r.writePage(200, 1, 1);
    expect(r.f(F64.HV_S2_FAULTS) - faults0).toBe(3);
    expect(bits(r.track(r.bar, 64))).toEqual([3]);
  });

  it('each tracked frame moves the dirty generation once per call, as in the other modes', () => {
    const r = rig();
    r.hv.setTrapWrites(true);
    r.track(r.bar, 64);
    const g0 = r.gen();
    r.writePage(5);
    expect(r.gen()).toBe(g0 + 1);
    r.writePage(5, 1, 1); // already pending: the client's next call will report it anyway
    r.writePage(6);
    expect(r.gen()).toBe(g0 + 2);
    r.track(r.bar, 64);
    const g1 = r.gen();
    r.track(r.bar, 64); // nothing written: the word stands still, a client may skip the call
    expect(r.gen()).toBe(g1);
  });

  it('calls in trap mode scan no frame (the range is protected, the faults did the recording)', () => {
    const r = rig();
    r.hv.setTrapWrites(true);
    r.track(r.bar, 300);
    const scanned = r.f(F64.HV_PAGES_SCANNED);
    for (let k = 0; k < 5; k++) {
      r.writePage(k * 50);
      expect(bits(r.track(r.bar, 300))).toEqual([k * 50]);
    }
    expect(r.f(F64.HV_PAGES_SCANNED)).toBe(scanned);
  });

  it('a device write (markVramWritten) into a protected range is reported: trap mode and idle drop', () => {
    for (const mode of ['trap', 'drop'] as const) {
      const r = rig();
      if (mode === 'trap') r.hv.setTrapWrites(true);
      else r.hv.setIdleDrop(true);
      r.track(r.bar, 64);
      if (mode === 'drop') {
        r.clock.ms = IDLE_DROP_MS;
        r.track(r.bar, 64);
        expect(r.hv.dropped).toBe(true);
      }
      const g0 = r.gen();
      r.hv.markVramWritten(9 * 4096 + 10, 4096); // pages 9 and 10
      expect(r.gen(), mode).toBeGreaterThan(g0);
      expect(bits(r.track(r.bar, 64)), mode).toEqual([9, 10]);
      const g1 = r.gen();
      r.hv.markVramWritten(9 * 4096, 1); // again, after the call: moves the word again
      expect(r.gen(), mode).toBeGreaterThan(g1);
      expect(bits(r.track(r.bar, 64)), mode).toEqual([9]);
    }
  });

  it('a range change while trapping traps the new range and gives the old one its write access back', () => {
    const r = rig();
    r.hv.setTrapWrites(true);
    r.track(r.bar, 64);
    r.track(r.bar + 100, 64);
    expect(r.hv.p2m.entries[r.bar + 10] & P2M_W).not.toBe(0);
    expect(r.hv.p2m.entries[r.bar + 110] & P2M_W).toBe(0);
    const faults0 = r.f(F64.HV_S2_FAULTS);
    r.writePage(10);
    r.writePage(110);
    r.writePage(110, 1, 1);
    expect(r.f(F64.HV_S2_FAULTS) - faults0).toBe(2);
    expect(bits(r.track(r.bar + 100, 64))).toEqual([10]);
    r.track(r.bar, 0); // tracking stops: everything writable
    expect(r.hv.p2m.entries[r.bar + 110] & P2M_W).not.toBe(0);
  });

  it('switching trap ↔ dirty ↔ dirty-idle keeps what was written before each switch', () => {
    const r = rig();
    r.track(r.bar, 64);
    r.writePage(1); // dirty: P2M_D, cached writable
    r.hv.setTrapWrites(true); // protecting harvests first
    r.writePage(2); // trapped
    r.hv.setTrapWrites(false);
    r.hv.setIdleDrop(true);
    r.writePage(3); // dirty again: walks, sets P2M_D
    expect(bits(r.track(r.bar, 64))).toEqual([1, 2, 3]);
    r.clock.ms += IDLE_DROP_MS;
    r.track(r.bar, 64);
    expect(r.hv.dropped).toBe(true);
    r.hv.setTrapWrites(true); // the drop in force becomes trapping
    expect([r.hv.dropped, Atomics.load(r.stats.i32, I32.HV_DROPPED)]).toEqual([false, 0]);
    r.writePage(4);
    r.writePage(4, 1, 1);
    expect(r.hv.dropped).toBe(false);
    expect(r.hv.p2m.entries[r.bar + 4] & P2M_W).toBe(0); // a trapped write does not lift the protection
    r.hv.setIdleDrop(false); // does not lift trapping either
    expect(r.hv.p2m.entries[r.bar + 4] & P2M_W).toBe(0);
    r.hv.setTrapWrites(false);
    expect(r.hv.p2m.entries[r.bar + 4] & P2M_W).not.toBe(0);
    r.writePage(5);
    expect(bits(r.track(r.bar, 64))).toEqual([4, 5]);
  });

  it('ROM (no P2M_W, not tracked) is still discarded while trapping', () => {
    const r = rig();
    r.hv.setTrapWrites(true);
    r.track(r.bar, 64);
    r.hv.p2m.map(0x100, 0x100, 1, P2M_R);
    expect(r.hv.onWriteViolation(0x100)).toBe(S2Verdict.DISCARD);
    expect(r.hv.onWriteViolation(r.bar + 1)).toBe(S2Verdict.WRITE_ONCE);
  });

  it('publishes trap mode in I32.HV_TRAP and counts fault time apart (HV_FAULT_MS within HV_MS)', () => {
    const r = rig();
    r.hv.setTrapWrites(true);
    expect(Atomics.load(r.stats.i32, I32.HV_TRAP)).toBe(1);
    r.track(r.bar, 64);
    for (let k = 0; k < 1000; k++) r.writePage(k % 64, k, k % 4096);
    expect(r.f(F64.HV_S2_FAULTS)).toBe(1000);
    expect(r.f(F64.HV_FAULT_MS)).toBeLessThanOrEqual(r.f(F64.HV_MS));
    r.hv.setTrapWrites(false);
    expect(Atomics.load(r.stats.i32, I32.HV_TRAP)).toBe(0);
  });
});
