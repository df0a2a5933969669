import { afterEach, describe, expect, it } from 'vitest';
import { I32 } from '../../src/shared/layout';
import { Guest } from './hvmos-run';

describe('hvmos: a video mode switched at run time over COM1', () => {
  let g: Guest | null = null;
  afterEach(() => g?.destroy());

  it('"mode 800x600x16" sets the new VBE mode and restarts the workload on it', () => {
    g = new Guest('workload=sprite');
    g.runUntil(500);
    g.m.serialWrite('mode 800x600x16\n');
    g.runUntil(1500);
    const i32 = g.m.stats.i32;
    expect([i32[I32.VBE_XRES], i32[I32.VBE_YRES], i32[I32.VBE_BPP]]).toEqual([800, 600, 16]);
    expect(g.serial).toContain('hvmos: mode 800x600x16');
    expect(g.serial.match(/workload sprite/g)?.length).toBe(2); // started again on the new framebuffer
  });

  it('a malformed or refused mode leaves the display as it was and says why', () => {
    g = new Guest('workload=static mode=640x480x8');
    g.runUntil(500);
    g.m.serialWrite('mode 800x600x12\n');
    g.runUntil(1000);
    g.m.serialWrite('mode 2560x1600x32\n'); // 16 MiB: does not fit in 8 MiB of VRAM
    g.runUntil(1500);
    const i32 = g.m.stats.i32;
    expect([i32[I32.VBE_XRES], i32[I32.VBE_YRES], i32[I32.VBE_BPP], i32[I32.VBE_ENABLED]]).toEqual([640, 480, 8, 1]);
    expect(g.serial).toContain('hvmos: bad mode');
    expect(g.serial).toContain('hvmos: the display refused mode 2560x1600x32');
  });
});

describe('hvmos: the clock period switched at run time over COM1', () => {
  let g: Guest | null = null;
  afterEach(() => g?.destroy());

  const dirtyPagesOver = (guest: Guest, fromMs: number, toMs: number): number => {
    const bar = guest.m.stats.i32[I32.VBE_BAR0] >>> 12;
    const nr = (1024 * 768 * 4) >> 12;
    guest.runUntil(fromMs);
    guest.m.trackDirtyVram(bar, nr); // (re)start: everything reported once, then cleared
    guest.m.trackDirtyVram(bar, nr);
    guest.runUntil(toMs);
    const r = guest.m.trackDirtyVram(bar, nr);
    if (!r.ok) throw new Error(r.message);
    return Array.from(r.value).filter((b) => b !== 0).length; // bytes of the bitmap with a dirty page
  };

  it('"tick 5" right after "workload sprite" (one trap) keeps the switch: the page sends them back to back', () => {
    g = new Guest('workload=static');
    g.runUntil(500);
    g.m.serialWrite('workload sprite\ntick 5\n');
    g.runUntil(1000);
    expect(g.serial).toContain('hvmos: tick 5 s');
    expect(g.serial).toContain('hvmos: workload sprite');
    expect(g.serial.match(/workload static/g)?.length).toBe(1); // only the boot's
  });

  it('"tick 5" redraws the clock every 5 s: VRAM stays untouched for seconds at a time', () => {
    g = new Guest('workload=clock');
    expect(dirtyPagesOver(g, 1500, 3500)).toBeGreaterThan(0); // the default 1 s clock writes every second
    g.m.serialWrite('tick 5\n');
    g.runUntil(4000);
    expect(g.serial).toContain('hvmos: tick 5 s');
    expect(g.serial.match(/workload clock/g)?.length).toBe(2); // restarted with the new period
    // Restarted at ~3.5 s and redrawn at once; the next redraw is five RTC seconds later (at 8 s).
    expect(dirtyPagesOver(g, 4500, 7500)).toBe(0);
    expect(dirtyPagesOver(g, 7500, 8500)).toBeGreaterThan(0); // …and then it comes
  });
});
