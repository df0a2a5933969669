/**
 * hvmos and the hypervisor together: the guest writes VRAM through its own page tables (4 MiB
 * pages at 0xd0000000), and track_dirty_vram reports exactly the pages each workload touches:
 * nothing for an idle desktop, a digit's rows for the clock, a sprite's for sprite, everything
 * for plasma.
 */
import { describe, expect, it } from 'vitest';
import { F64, I32 } from '../../src/shared/layout';
import { EXIT_OK, Guest, exitStatus } from './hvmos-run';

/** Dirty pages of the visible screen over a window of guest time [from, to] (ms). */
function dirtyPages(cmdline: string, from: number, to: number): { pages: number; dirty: number[] } {
  const g = new Guest(cmdline);
  g.runUntil(from);
  const i32 = g.m.stats.i32;
  const first = i32[I32.VBE_BAR0] >>> 12;
  const pages = Math.ceil((i32[I32.VBE_LINE_BYTES] * i32[I32.VBE_YRES]) / 4096);
  const all = g.m.trackDirtyVram(first, pages);
  if (!all.ok) throw new Error(all.message);
  expect(popcount(all.value)).toBe(pages); // the first call over a range reports every page
  g.runUntil(to);
  const r = g.m.trackDirtyVram(first, pages);
  if (!r.ok) throw new Error(r.message);
  expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
  g.destroy();
  const dirty: number[] = [];
  for (let i = 0; i < pages; i++) if (r.value[i >> 3] & (1 << (i & 7))) dirty.push(i);
  return { pages, dirty };
}
const popcount = (b: Uint8Array): number => b.reduce((n, v) => n + [...v.toString(2)].filter((c) => c === '1').length, 0);

/** trackDirtyVram over the 1024×768×32 screen (768 pages at BAR0): how many pages were written since the last call. */
function dirtyCount(g: Guest): number {
  const r = g.m.trackDirtyVram(g.m.stats.i32[I32.VBE_BAR0] >>> 12, 768);
  if (!r.ok) throw new Error(r.message);
  return popcount(r.value);
}

describe('hvmos under dirty-VRAM tracking', () => {
  it('static: no page is written while the desktop sits idle', () => {
    const { pages, dirty } = dirtyPages('workload=static exit=2.5', 1000, 2000);
    expect(pages).toBe(768); // 1024x768x32: one 4 KiB page per line
    expect(dirty).toEqual([]);
  });

  it('clock: one redraw a second dirties only the rows of the digit that changed', () => {
    const { dirty } = dirtyPages('workload=clock exit=3', 1500, 2500);
    // The clock's digits are 48 lines high at y = 68 (3x the 8x16 font); one line is one page.
    expect(dirty.length).toBe(48);
    expect(dirty[0]).toBe(68);
    expect(dirty[47]).toBe(68 + 47);
  });

  it('sprite: each frame dirties the few pages under the ball', () => {
    const { pages, dirty } = dirtyPages('workload=sprite exit=1.5 seed=5', 1000, 1100);
    expect(dirty.length).toBeGreaterThan(0);
    expect(dirty.length).toBeLessThan(pages / 10);
    expect(dirty[dirty.length - 1] - dirty[0]).toBeLessThan(64); // one contiguous band of lines
  });

  it('plasma: every page of the screen is dirty within a frame or two', () => {
    const { pages, dirty } = dirtyPages('workload=plasma mode=320x240x32 exit=1', 500, 600);
    expect(dirty.length).toBe(pages);
  });

  it('idle drop: an idle desktop loses VRAM write access after 2 s; switching to clock faults it back and its pages are reported', () => {
    const g = new Guest('workload=static exit=5');
    const i32 = g.m.stats.i32;
    const track = () => dirtyCount(g);
    expect(g.m.setIdleDrop(true).ok).toBe(true);
    g.runUntil(1000);
    expect(track()).toBe(768);
    for (const t of [1500, 2000, 2500, 3000, 3500]) {
      g.runUntil(t);
      expect(track()).toBe(0);
    }
    expect(i32[I32.HV_DROPPED]).toBe(1);
    const faults = g.m.stats.f64[F64.HV_S2_FAULTS];
    g.m.serialWrite('workload clock\n');
    g.runUntil(4000);
    expect(track()).toBe(768); // the clock's desktop covers the whole screen again
    expect(i32[I32.HV_DROPPED]).toBe(0);
    expect(g.m.stats.f64[F64.HV_S2_FAULTS]).toBeGreaterThan(faults);
    expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
    g.destroy();
    expect(g.serial).toContain('hvmos: workload static\nhvmos: workload clock\n');
  });

  it('trap mode: the guest draws the same screen and the same pages are reported as in dirty mode; it pays a fault per store', () => {
    // The icount clock makes the run a function of the instructions retired: a fault costs host
    // time, not guest time, so both runs must agree byte for byte.
    const run = (trap: boolean) => {
      const g = new Guest('workload=sprite seed=3 exit=2');
      expect(g.m.setTrapWrites(trap).ok).toBe(true);
      const reports: number[][] = [];
      g.runUntil(800);
      const first = g.m.stats.i32[I32.VBE_BAR0] >>> 12;
      g.m.trackDirtyVram(first, 768);
      for (let t = 800; t < 1500; t += 1000 / 30) {
        g.runUntil(t);
        const r = g.m.trackDirtyVram(first, 768);
        if (!r.ok) throw new Error(r.message);
        const pages: number[] = [];
        for (let i = 0; i < 768; i++) if (r.value[i >> 3] & (1 << (i & 7))) pages.push(i);
        reports.push(pages);
      }
      const screen = g.m.memory.vram.slice(0, 768 * 4096);
      const faults = g.m.stats.f64[F64.HV_S2_FAULTS];
      expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
      g.destroy();
      return { reports, screen, faults };
    };
    const dirty = run(false);
    const trap = run(true);
    expect(trap.reports).toEqual(dirty.reports);
    expect(trap.reports.flat().length).toBeGreaterThan(20);
    expect(Buffer.from(trap.screen).equals(Buffer.from(dirty.screen))).toBe(true);
    expect(dirty.faults).toBe(0);
    // At least one store per pixel row of the sprite the reports name, each a fault.
    expect(trap.faults).toBeGreaterThan(trap.reports.flat().length * 16);
  });

  it('clock with tick=3: the idle drop engages between redraws, and each redraw faults write access back', () => {
    const g = new Guest('workload=clock tick=3 exit=10');
    const i32 = g.m.stats.i32;
    const track = () => dirtyCount(g);
    expect(g.m.setIdleDrop(true).ok).toBe(true);
    // 30 Hz, as the display refreshes; the redraws come at 3, 6 and 9 s of RTC time.
    const seen: { t: number; dirty: number; dropped: number }[] = [];
    for (let t = 500; t < 9900; t += 1000 / 30) {
      g.runUntil(t);
      seen.push({ t, dirty: track(), dropped: i32[I32.HV_DROPPED] });
    }
    expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
    g.destroy();
    const redraws = seen.filter((s) => s.t > 1000 && s.dirty > 0).map((s) => Math.floor(s.t / 1000));
    expect(redraws).toEqual([3, 6, 9]);
    // Dropped from 2 s after each redraw until the next one (5-6 s and 8-9 s), never while writing.
    for (const s of seen) if (s.t > 5100 && s.t < 5900) expect(s.dropped, `at ${s.t} ms`).toBe(1);
    for (const s of seen) if (s.t > 3100 && s.t < 4900) expect(s.dropped, `at ${s.t} ms`).toBe(0);
    expect(g.m.stats.f64[F64.HV_S2_FAULTS]).toBeGreaterThanOrEqual(2);
  });
});
