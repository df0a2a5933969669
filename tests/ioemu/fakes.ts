/** The ioemu tests' fakes: a memory surface, a hypervisor that reports what the test wrote, a rig. */
import { ok, VramClient, type Result } from '../../src/shared/api';
import { I32, PAGE_SHIFT, STATS_BYTES, statsViews, type StatsViews } from '../../src/shared/layout';
import { convertRows } from '../../src/ioemu/convert';
import { DisplayRefresher, type DirtyVramOps, type DisplayModeName, type Surface } from '../../src/ioemu/refresh';

export const VRAM_BYTES = 8 << 20;
export const BAR0 = 0xe0000000;

/** A surface that keeps the frame in memory and counts uploads. */
export class MemorySurface implements Surface {
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
export class FakeHv implements DirtyVramOps {
  readonly client = VramClient.DISPLAY;
  dirty = new Set<number>();
  range: [number, number] | null = null;
  idleDrop = false;
  trap = false;
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
  async setTrapWrites(on: boolean): Promise<Result<void>> {
    this.trap = on;
    return ok(undefined);
  }
}

export interface Geometry {
  width: number;
  height: number;
  bpp: number;
  virtWidth: number;
  yOffset: number;
}

export function publish(stats: StatsViews, g: Geometry, palette?: Int32Array) {
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

export function expected(vram: Uint8Array, stats: StatsViews, g: Geometry): Uint8Array {
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

export function mismatches(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** A deterministic PRNG (xorshift32) so failures reproduce. */
export function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

export function rig(mode: DisplayModeName, options = {}) {
  const vram = new Uint8Array(new SharedArrayBuffer(VRAM_BYTES));
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const hv = new FakeHv(stats);
  const surface = new MemorySurface();
  const r = new DisplayRefresher(vram, stats, surface, hv, options);
  return { vram, stats, hv, surface, r, ready: r.setMode(mode) };
}

/** Random writes of runs of bytes anywhere in VRAM (visible or not), reported to the fake hv. */
export function scribble(vram: Uint8Array, hv: FakeHv, rand: () => number, n: number) {
  for (let k = 0; k < n; k++) {
    const len = 1 + Math.floor(rand() * 300);
    const at = Math.floor(rand() * (3 << 20));
    for (let i = 0; i < len; i++) vram[at + i] = Math.floor(rand() * 256);
    hv.write(at, len);
  }
}
