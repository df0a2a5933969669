import { describe, expect, it } from 'vitest';
import { I32, STATS_BYTES, statsViews } from '../../src/shared/layout';
import { DisplayRefresher, type DirtyVramOps } from '../../src/ioemu/refresh';
import { VramClient } from '../../src/shared/api';
import {
  expected,
  FakeHv,
  MemorySurface,
  mismatches,
  publish,
  rig,
  rng,
  scribble,
  VRAM_BYTES,
  type Geometry,
} from './fakes';
import { Machine } from '../../src/machine/machine';

const GEOMETRIES: Geometry[] = [
  { width: 640, height: 480, bpp: 32, virtWidth: 640, yOffset: 0 },
  { width: 800, height: 600, bpp: 24, virtWidth: 832, yOffset: 3 },
  { width: 640, height: 480, bpp: 16, virtWidth: 700, yOffset: 100 },
  { width: 320, height: 200, bpp: 15, virtWidth: 320, yOffset: 7 },
  { width: 1024, height: 768, bpp: 8, virtWidth: 1030, yOffset: 20 },
];

describe('the display refresh (ioemu)', () => {
  for (const mode of ['poll', 'dirty', 'dirty-idle', 'trap'] as const)
    for (const g of GEOMETRIES)
      it(`in ${mode} mode at ${g.width}x${g.height}x${g.bpp} (line ${g.virtWidth} px, y offset ${g.yOffset}) the frame equals VRAM after every refresh`, async () => {
        const { vram, stats, hv, surface, r, ready } = rig(mode);
        await ready;
        const rand = rng(g.width * 31 + g.bpp + mode.length);
        const pal = new Int32Array(256).map(() => Math.floor(rand() * 0x1000000));
        publish(stats, g, pal);
        for (let frame = 0; frame < 12; frame++) {
          scribble(vram, hv, rand, 40);
          await r.refresh();
          expect(mismatches(surface.rgba(), expected(vram, stats, g)), `frame ${frame}`).toBe(0);
        }
        // Only the tiles written are repainted (the refresh after the first full one is partial).
        expect(r.counters.fullRepaints).toBe(1);
        expect(r.counters.tilesRepainted).toBeLessThan(12 * r.tilesX * r.tilesY);
      });

  it('a pan, a resolution change, a palette change and mode switches all repaint in one refresh', async () => {
    const { vram, stats, hv, surface, r, ready } = rig('dirty');
    await ready;
    const rand = rng(7);
    let g: Geometry = { width: 640, height: 480, bpp: 32, virtWidth: 640, yOffset: 0 };
    for (let i = 0; i < vram.length; i++) vram[i] = (i * 7 + (i >> 12)) & 255; // written behind the hv's back: only a full repaint shows it
    publish(stats, g);
    const steps: (() => Promise<void> | void)[] = [
      () => publish(stats, (g = { ...g, yOffset: 200 })),
      () => publish(stats, (g = { width: 800, height: 600, bpp: 16, virtWidth: 800, yOffset: 0 })),
      () =>
        publish(
          stats,
          (g = { width: 320, height: 240, bpp: 8, virtWidth: 320, yOffset: 1 }),
          new Int32Array(256).map((_, i) => i * 0x010203),
        ),
      () =>
        publish(
          stats,
          g,
          new Int32Array(256).map((_, i) => 0xffffff - i),
        ),
      () => r.setMode('poll'),
      () => r.setMode('trap'),
      () => r.setMode('dirty-idle'),
    ];
    for (const step of steps) {
      await step();
      await r.refresh();
      expect(mismatches(surface.rgba(), expected(vram, stats, g))).toBe(0);
      scribble(vram, hv, rand, 10);
      await r.refresh();
      expect(mismatches(surface.rgba(), expected(vram, stats, g))).toBe(0);
    }
    expect(hv.idleDrop).toBe(true);
  });

  it('trap mode asks the hypervisor to trap writes (idle drop off); any other mode turns trapping off', async () => {
    const { hv, r, ready } = rig('dirty');
    await ready;
    await r.setMode('trap');
    expect([hv.trap, hv.idleDrop]).toEqual([true, false]);
    await r.setMode('dirty-idle');
    expect([hv.trap, hv.idleDrop]).toEqual([false, true]);
    await r.setMode('trap');
    await r.setMode('poll');
    expect([hv.trap, hv.idleDrop]).toEqual([false, false]);
  });

  it('poll compares the whole VRAM by default, only the displayed range with pollScope "displayed"', async () => {
    for (const [scope, pages] of [
      ['vram', VRAM_BYTES >> 12],
      ['displayed', (640 * 480 * 4) >> 12],
    ] as const) {
      const { stats, r, ready } = rig('poll', { pollScope: scope });
      await ready;
      publish(stats, { width: 640, height: 480, bpp: 32, virtWidth: 640, yOffset: 0 });
      await r.refresh(); // takes the copy
      await r.refresh();
      expect(r.counters.pagesCompared).toBe(pages);
    }
  });

  it('skips the hypercall when the dirty generation has not moved, and calls again once it moves', async () => {
    const { vram, stats, hv, surface, r, ready } = rig('dirty', { skipUnmovedGen: true });
    await ready;
    const g = { width: 640, height: 480, bpp: 32, virtWidth: 640, yOffset: 0 };
    publish(stats, g);
    await r.refresh();
    const calls = hv.calls;
    await r.refresh();
    await r.refresh();
    expect(hv.calls).toBe(calls);
    expect(r.counters.hypercallsSkipped).toBe(2);
    scribble(vram, hv, rng(3), 5);
    await r.refresh();
    expect(hv.calls).toBe(calls + 1);
    expect(mismatches(surface.rgba(), expected(vram, stats, g))).toBe(0);
  });

  it('with the real machine (test pattern, real hypervisor) every mode shows exactly VRAM', async () => {
    const made = Machine.create(
      { ramMiB: 16, vramMiB: 8, cmdline: '', clock: 'icount', image: 'pattern' },
      new ArrayBuffer(0),
    );
    if (!made.ok) throw new Error(made.message);
    const m = made.value;
    const vram = new Uint8Array(m.memory.sab, m.memory.layout.vramOffset, m.memory.layout.vramBytes);
    const ops: DirtyVramOps = {
      client: VramClient.DISPLAY,
      trackDirtyVram: async (f, n) => m.trackDirtyVram(f, n),
      setIdleDrop: async (on) => m.setIdleDrop(on),
      setTrapWrites: async (on) => m.setTrapWrites(on),
    };
    const surface = new MemorySurface();
    const r = new DisplayRefresher(vram, m.stats, surface, ops);
    for (const mode of ['dirty', 'poll', 'dirty-idle', 'trap', 'dirty'] as const) {
      await r.setMode(mode);
      for (let k = 0; k < 5; k++) {
        m.slice();
        await r.refresh();
        const i32 = m.stats.i32;
        const g: Geometry = {
          width: i32[I32.VBE_XRES],
          height: i32[I32.VBE_YRES],
          bpp: i32[I32.VBE_BPP],
          virtWidth: i32[I32.VBE_LINE_BYTES] / 4,
          yOffset: i32[I32.VBE_START] / i32[I32.VBE_LINE_BYTES],
        };
        expect(mismatches(surface.rgba(), expected(vram, m.stats, g)), `${mode} ${k}`).toBe(0);
      }
    }
    m.destroy();
  });

  it('two displays of one machine (the A/B view), each its own dirty-VRAM client, both show exactly VRAM in every pair of modes', async () => {
    const made = Machine.create(
      { ramMiB: 16, vramMiB: 8, cmdline: '', clock: 'icount', image: 'pattern' },
      new ArrayBuffer(0),
    );
    if (!made.ok) throw new Error(made.message);
    const m = made.value;
    const vram = new Uint8Array(m.memory.sab, m.memory.layout.vramOffset, m.memory.layout.vramBytes);
    const opsFor = (client: VramClient): DirtyVramOps => ({
      client,
      trackDirtyVram: async (f, n) => m.trackDirtyVram(f, n, client),
      setIdleDrop: async (on) => m.setIdleDrop(on, client),
      setTrapWrites: async (on) => m.setTrapWrites(on, client),
    });
    const a = { surface: new MemorySurface(), client: VramClient.DISPLAY };
    const b = { surface: new MemorySurface(), client: VramClient.DISPLAY_B };
    const ra = new DisplayRefresher(vram, m.stats, a.surface, opsFor(a.client), { skipUnmovedGen: true });
    const rb = new DisplayRefresher(vram, m.stats, b.surface, opsFor(b.client), { skipUnmovedGen: true });
    const rand = rng(0xab);
    const pairs = [
      ['dirty', 'dirty'],
      ['poll', 'dirty-idle'],
      ['dirty', 'dirty-idle'],
      ['trap', 'dirty'],
      ['dirty-idle', 'trap'],
    ] as const;
    let compared = 0;
    for (const [ma, mb] of pairs) {
      await ra.setMode(ma);
      await rb.setMode(mb);
      for (let k = 0; k < 6; k++) {
        // A device writes a few small runs (a guest slice would repaint the whole pattern, hiding
        // a stolen bit): each page written is on one display's screen only if its client saw it.
        for (let n = 0; n < 4; n++) {
          const at = Math.floor(rand() * 640 * 480 * 4);
          const len = 1 + Math.floor(rand() * 64);
          for (let i = 0; i < len; i++) vram[at + i] = Math.floor(rand() * 256);
          m.hv.markVramWritten(at, len);
        }
        // Refreshes interleave in either order, and a display sometimes skips one: neither may
        // take a dirty bit the other still needs.
        if (k % 3 !== 1) await ra.refresh();
        await rb.refresh();
        if (k % 3 === 1) await ra.refresh();
        const i32 = m.stats.i32;
        const g: Geometry = {
          width: i32[I32.VBE_XRES],
          height: i32[I32.VBE_YRES],
          bpp: i32[I32.VBE_BPP],
          virtWidth: i32[I32.VBE_LINE_BYTES] / 4,
          yOffset: i32[I32.VBE_START] / i32[I32.VBE_LINE_BYTES],
        };
        const want = expected(vram, m.stats, g);
        expect(mismatches(a.surface.rgba(), want), `A ${ma} (B ${mb}) ${k}`).toBe(0);
        expect(mismatches(b.surface.rgba(), want), `B ${mb} (A ${ma}) ${k}`).toBe(0);
        compared++;
      }
    }
    expect(compared).toBe(30);
    // Closing B leaves the hypervisor with the display's client only.
    await rb.release();
    expect(m.stats.i32[I32.HV_CLIENT_STATE + VramClient.DISPLAY_B]).toBe(0);
    m.destroy();
  });
});

/** A refresher during whose refresh the guest writes VRAM: between poll's compare and its conversion. */
class RacingRefresher extends DisplayRefresher {
  duringRefresh: (() => void) | null = null;
  protected override pollCompare(shownPages: { first: number; nr: number }, full: boolean): boolean {
    const copiedAll = super.pollCompare(shownPages, full);
    this.duringRefresh?.();
    return copiedAll;
  }
}

describe('poll under concurrent guest writes', () => {
  it('paints what it copied: a region written and then restored while a refresh runs is shown restored', async () => {
    const vram = new Uint8Array(new SharedArrayBuffer(VRAM_BYTES));
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const surface = new MemorySurface();
    const r = new RacingRefresher(vram, stats, surface, new FakeHv(stats));
    await r.setMode('poll');
    const g: Geometry = { width: 1024, height: 768, bpp: 24, virtWidth: 1024, yOffset: 0 };
    publish(stats, g);
    vram.fill(0x40, 0, 3 * 1024 * 768); // the background
    const sprite = (v: number) => {
      for (let y = 638; y < 670; y++) vram.fill(v, (y * 1024 + 221) * 3, (y * 1024 + 253) * 3);
    };
    // The first refresh copies VRAM; before it converts, the guest draws a sprite (pre-3.3's race:
    // the copy holds the background, a picture converted from VRAM would hold the sprite).
    r.duringRefresh = () => sprite(0xee);
    await r.refresh();
    r.duringRefresh = null;
    sprite(0x40); // …and moves away: VRAM equals the copy again, no compare sees a difference
    await r.refresh();
    expect(mismatches(surface.rgba(), expected(vram, stats, g)), 'after a full refresh').toBe(0);
    // The same in a partial refresh: a page differs, is copied, and changes again before conversion.
    vram[(700 * 1024 + 5) * 3] = 1;
    r.duringRefresh = () => (vram[(700 * 1024 + 5) * 3] = 2);
    await r.refresh();
    r.duringRefresh = null;
    vram[(700 * 1024 + 5) * 3] = 1;
    await r.refresh();
    expect(mismatches(surface.rgba(), expected(vram, stats, g)), 'after a partial refresh').toBe(0);
  });
});
