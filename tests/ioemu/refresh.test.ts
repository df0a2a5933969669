import { describe, expect, it } from 'vitest';
import { ok, type Result } from '../../src/shared/api';
import { I32, PAGE_SHIFT, STATS_BYTES, statsViews, type StatsViews } from '../../src/shared/layout';
import { convertRows } from '../../src/ioemu/convert';
import { DisplayRefresher, type DirtyVramOps, type DisplayModeName, type Surface } from '../../src/ioemu/refresh';
import { Machine } from '../../src/machine/machine';

const VRAM_BYTES = 8 << 20;
const BAR0 = 0xe0000000;

/** A surface that keeps the frame in memory and counts uploads. */
class MemorySurface implements Surface {
  frame32 = new Uint32Array(0);
  width = 0;
  height = 0;
  uploads = 0;
  resize(w: number, h: number) {
    this.width = w;
    this.height = h;
    this.frame32 = new Uint32Array(w * h);
  }
  upload() {
    this.uploads++;
  }
  blank() {
    this.frame32.fill(0);
  }
  rgba(): Uint8Array {
    return new Uint8Array(this.frame32.buffer);
  }
}

/**
 * A hypervisor that reports exactly the pages the test wrote (the real one is tested in tests/hv;
 * here the ioemu's side is under test: page → tile mapping, conversion, mode switches).
 */
class FakeHv implements DirtyVramOps {
  dirty = new Set<number>();
  range: [number, number] | null = null;
  idleDrop = false;
  calls = 0;
  constructor(private readonly stats: StatsViews) {}
  write(vramOffset: number, len: number) {
    for (let p = vramOffset >>> PAGE_SHIFT; p <= (vramOffset + len - 1) >>> PAGE_SHIFT; p++) this.dirty.add(p);
    Atomics.add(this.stats.i32, I32.DIRTY_GEN, 1);
  }
  async trackDirtyVram(firstPfn: number, nr: number): Promise<Result<Uint8Array>> {
    this.calls++;
    const bm = new Uint8Array((nr + 7) >> 3);
    if (nr === 0) {
      this.range = null;
      return ok(bm);
    }
    const fresh = !this.range || this.range[0] !== firstPfn || this.range[1] !== nr;
    this.range = [firstPfn, nr];
    const first = firstPfn - (BAR0 >>> PAGE_SHIFT);
    for (let i = 0; i < nr; i++)
      if (fresh || this.dirty.has(first + i)) {
        bm[i >> 3] |= 1 << (i & 7);
        this.dirty.delete(first + i);
      }
    return ok(bm);
  }
  async setIdleDrop(on: boolean): Promise<Result<void>> {
    this.idleDrop = on;
    return ok(undefined);
  }
}

interface Geometry {
  width: number;
  height: number;
  bpp: number;
  virtWidth: number;
  yOffset: number;
}

function publish(stats: StatsViews, g: Geometry, palette?: Int32Array) {
  const i32 = stats.i32;
  const bytes = (g.bpp + 7) >> 3;
  const line = g.virtWidth * bytes;
  Atomics.store(i32, I32.VBE_ENABLED, 1);
  Atomics.store(i32, I32.VBE_XRES, g.width);
  Atomics.store(i32, I32.VBE_YRES, g.height);
  Atomics.store(i32, I32.VBE_BPP, g.bpp);
  Atomics.store(i32, I32.VBE_LINE_BYTES, line);
  Atomics.store(i32, I32.VBE_START, g.yOffset * line);
  Atomics.store(i32, I32.VBE_BAR0, BAR0 | 0);
  if (palette) for (let i = 0; i < 256; i++) Atomics.store(i32, I32.PALETTE + i, palette[i]);
  Atomics.add(i32, I32.VBE_GEN, 1);
}

function expected(vram: Uint8Array, stats: StatsViews, g: Geometry): Uint8Array {
  const line = g.virtWidth * ((g.bpp + 7) >> 3);
  const out = new Uint8Array(g.width * g.height * 4);
  const pal = new Int32Array(256);
  for (let i = 0; i < 256; i++) pal[i] = stats.i32[I32.PALETTE + i];
  convertRows(
    vram,
    { width: g.width, height: g.height, bpp: g.bpp, lineBytes: line, start: g.yOffset * line },
    pal,
    out,
  );
  return out;
}

function mismatches(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** A deterministic PRNG (xorshift32) so failures reproduce. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function rig(mode: DisplayModeName, options = {}) {
  const vram = new Uint8Array(new SharedArrayBuffer(VRAM_BYTES));
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const hv = new FakeHv(stats);
  const surface = new MemorySurface();
  const r = new DisplayRefresher(vram, stats, surface, hv, options);
  return { vram, stats, hv, surface, r, ready: r.setMode(mode) };
}

/** Random writes of runs of bytes anywhere in VRAM (visible or not), reported to the fake hv. */
function scribble(vram: Uint8Array, hv: FakeHv, rand: () => number, n: number) {
  for (let k = 0; k < n; k++) {
    const len = 1 + Math.floor(rand() * 300);
    const at = Math.floor(rand() * (3 << 20));
    for (let i = 0; i < len; i++) vram[at + i] = Math.floor(rand() * 256);
    hv.write(at, len);
  }
}

const GEOMETRIES: Geometry[] = [
  { width: 640, height: 480, bpp: 32, virtWidth: 640, yOffset: 0 },
  { width: 800, height: 600, bpp: 24, virtWidth: 832, yOffset: 3 },
  { width: 640, height: 480, bpp: 16, virtWidth: 700, yOffset: 100 },
  { width: 320, height: 200, bpp: 15, virtWidth: 320, yOffset: 7 },
  { width: 1024, height: 768, bpp: 8, virtWidth: 1030, yOffset: 20 },
];

describe('the display refresh (ioemu)', () => {
  for (const mode of ['poll', 'dirty', 'dirty-idle'] as const)
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
      trackDirtyVram: async (f, n) => m.trackDirtyVram(f, n),
      setIdleDrop: async (on) => m.setIdleDrop(on),
    };
    const surface = new MemorySurface();
    const r = new DisplayRefresher(vram, m.stats, surface, ops);
    for (const mode of ['dirty', 'poll', 'dirty-idle'] as const) {
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
