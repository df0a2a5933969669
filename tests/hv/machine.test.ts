import { describe, expect, it } from 'vitest';
import { ErrorCode, type MachineConfig } from '../../src/shared/api';
import { F64, I32, PAGE_SHIFT, VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import { Machine } from '../../src/machine/machine';
import { PATTERN_HEIGHT, PATTERN_WIDTH } from '../../src/machine/pattern';
import { P2M_W } from '../../src/machine/hv/p2m';

const config: MachineConfig = { ramMiB: 8, vramMiB: 8, cmdline: '', clock: 'icount', image: 'pattern' };
const BAR = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
const VISIBLE = (PATTERN_WIDTH * PATTERN_HEIGHT * 4) >>> PAGE_SHIFT; // 300 frames

function make(): Machine {
  const m = Machine.create(config, new ArrayBuffer(0));
  if (!m.ok) throw new Error(m.message);
  return m.value;
}

const count = (b: Uint8Array) => b.reduce((n, x) => n + popcnt(x), 0);
function popcnt(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

describe('Machine: the hypercalls reach the hypervisor', () => {
  it('trackDirtyVram over the displayed range: all dirty first, then what the engine wrote', () => {
    const m = make();
    const first = m.trackDirtyVram(BAR, VISIBLE);
    expect(first.ok && count(first.value)).toBe(VISIBLE);
    const quiet = m.trackDirtyVram(BAR, VISIBLE);
    expect(quiet.ok && count(quiet.value)).toBe(0);
    const gen = Atomics.load(m.stats.i32, I32.DIRTY_GEN);
    m.slice(); // the pattern writes rows (device writes marked dirty, like DMA)
    expect(Atomics.load(m.stats.i32, I32.DIRTY_GEN)).toBeGreaterThan(gen);
    const after = m.trackDirtyVram(BAR, VISIBLE);
    expect(after.ok && count(after.value)).toBeGreaterThan(0);
    expect(m.stats.f64[F64.HV_HYPERCALLS]).toBe(3);
    expect(m.statsSnapshot().hvMs).toBeGreaterThan(0);
    m.destroy();
  });

  it('refuses a range outside the VRAM BAR with EINVAL', () => {
    const m = make();
    const r = m.trackDirtyVram(0, 16);
    expect(!r.ok && r.code).toBe(ErrorCode.EINVAL);
    m.destroy();
  });

  it('setIdleDrop switches the drop and publishes it in I32.HV_IDLE_DROP', () => {
    const m = make();
    expect(m.setIdleDrop(true).ok).toBe(true);
    expect(Atomics.load(m.stats.i32, I32.HV_IDLE_DROP)).toBe(1);
    expect(m.setIdleDrop(false).ok).toBe(true);
    expect(Atomics.load(m.stats.i32, I32.HV_IDLE_DROP)).toBe(0);
    m.destroy();
  });

  it('setTrapWrites switches trap mode, publishes it in I32.HV_TRAP, keeps it over a reset, and refuses a non-boolean', () => {
    const m = make();
    expect(m.setTrapWrites(true).ok).toBe(true);
    expect(Atomics.load(m.stats.i32, I32.HV_TRAP)).toBe(1);
    m.trackDirtyVram(BAR, VISIBLE);
    expect(m.hv.p2m.entries[BAR] & P2M_W).toBe(0); // the tracked range is write-protected
    m.reset();
    m.trackDirtyVram(BAR, VISIBLE); // tracking starts again, trapping again
    expect(m.hv.p2m.entries[BAR] & P2M_W).toBe(0);
    expect(m.setTrapWrites(false).ok).toBe(true);
    expect(Atomics.load(m.stats.i32, I32.HV_TRAP)).toBe(0);
    expect(m.hv.p2m.entries[BAR] & P2M_W).not.toBe(0);
    const r = m.setTrapWrites('yes');
    expect(!r.ok && r.code).toBe(ErrorCode.EINVAL);
    m.destroy();
  });

  it('a reset stops tracking, so the next call repaints everything', () => {
    const m = make();
    m.trackDirtyVram(BAR, VISIBLE);
    m.reset();
    const r = m.trackDirtyVram(BAR, VISIBLE);
    expect(r.ok && count(r.value)).toBe(VISIBLE);
    m.destroy();
  });
});
