/**
 * The machine's doorbells to the page (I32.DISPLAY_BELL, I32.PAGE_BELL): rung at the end of a
 * slice in which what they announce moved, never otherwise — so a page that sleeps on them is
 * woken by every guest write to the tracked screen and by COM1 output, and by nothing else.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { I32 } from '../../src/shared/layout';
import { HVMOS_PATH } from '../guest/hvmos-run';

function hvmos(workload: string): Machine {
  const b = readFileSync(HVMOS_PATH);
  const image = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const r = Machine.create(
    { ramMiB: 32, vramMiB: 8, cmdline: `workload=${workload}`, clock: 'icount', image: 'multiboot' },
    image,
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  return r.value; // no onSerial: COM1 output is kept for serialRead, as in the worker
}

/**
 * Slices until the machine clock reaches ms and at least `minSlices` ran (after each, `between`);
 * the bells after each. How much icount time an idle slice covers depends on the host's speed
 * (slices are bounded in host time), so a count of slices is asked for, not assumed.
 */
function runTo(m: Machine, ms: number, between = () => {}, minSlices = 0): { display: number; page: number }[] {
  const seen: { display: number; page: number }[] = [];
  while (m.machineTimeMs() < ms || seen.length < minSlices) {
    if (m.slice().next === 'stop') throw new Error('the guest stopped');
    between();
    seen.push({ display: m.stats.i32[I32.DISPLAY_BELL], page: m.stats.i32[I32.PAGE_BELL] });
  }
  return seen;
}

/** Start tracking the 1024×768×32 screen, as the display's first call does. */
function track(m: Machine): void {
  const r = m.trackDirtyVram(m.stats.i32[I32.VBE_BAR0] >>> 12, 768);
  if (!r.ok) throw new Error(r.message);
}

const moves = (s: { display: number; page: number }[], k: 'display' | 'page') =>
  s.slice(1).filter((x, i) => x[k] !== s[i][k]).length;

describe("the machine's bells to the page", () => {
  it('ring while hvmos boots (it draws its desktop and prints its log), then stay still while it idles', () => {
    const m = hvmos('static');
    m.start();
    m.pause(); // the loop is not used: the test runs slices itself
    runTo(m, 3000);
    expect(m.stats.i32[I32.DISPLAY_BELL]).toBeGreaterThan(0);
    expect(m.stats.i32[I32.PAGE_BELL]).toBeGreaterThan(0);
    const log = m.serialRead();
    expect(log.ok && log.value).toContain('hvmos: workload static');
    track(m);
    runTo(m, m.machineTimeMs() + 50); // the slice after the call announces the new range once
    const idle = runTo(m, m.machineTimeMs() + 5000, undefined, 3);
    expect(moves(idle, 'display')).toBe(0);
    expect(moves(idle, 'page')).toBe(0);
    m.destroy();
  });

  it('ring the display bell once at the end of each slice in which the clock redrew, and only then', () => {
    const m = hvmos('clock');
    m.start();
    m.pause();
    runTo(m, 3000);
    track(m);
    runTo(m, m.machineTimeMs() + 50);
    const i32 = m.stats.i32;
    let redraws = 0;
    // The bell announces DIRTY_GEN as it stands at the end of a slice against where it stood at
    // the end of the last one (a hypercall in between may move it too).
    let announced = i32[I32.DIRTY_GEN];
    const end = m.machineTimeMs() + 8000;
    while (m.machineTimeMs() < end) {
      const bell = i32[I32.DISPLAY_BELL];
      m.slice();
      const moved = i32[I32.DIRTY_GEN] !== announced;
      announced = i32[I32.DIRTY_GEN];
      if (moved) redraws++;
      expect(i32[I32.DISPLAY_BELL] - bell).toBe(moved ? 1 : 0);
      // The display reads the dirty pages after each wake (a page announces its first write after a read).
      track(m);
    }
    // The clock redraws once a second of guest time. An idle slice may cover more than a second of
    // icount time (how much depends on the host's speed, as slices are bounded in host time), so
    // 8 seconds hold at least two slices that drew.
    expect(redraws).toBeGreaterThanOrEqual(2);
    m.destroy();
  });

  it('ring the page bell when the run state changes (pause, start)', () => {
    const m = hvmos('static');
    const b0 = m.stats.i32[I32.PAGE_BELL];
    m.start();
    const b1 = m.stats.i32[I32.PAGE_BELL];
    m.pause();
    expect(b1).toBeGreaterThan(b0);
    expect(m.stats.i32[I32.PAGE_BELL]).toBeGreaterThan(b1);
    m.destroy();
  });
});
