/**
 * The display's state as the Bochs VBE device publishes it in the stats/control SAB. The ioemu
 * reads it here, never by calling into the device (DESIGN.md: the ioemu never reaches into the
 * worker's objects). The device bumps I32.VBE_GEN after every change, so reading the generation
 * before and after the fields gives one consistent snapshot (a seqlock).
 */
import { I32, PAGE_SHIFT, PAGE_SIZE, type StatsViews } from '../shared/layout';
import type { DisplayMode } from './convert';

export interface DisplayState extends DisplayMode {
  /** VBE_GEN when read: any change (mode, geometry, pan, palette) moves it. */
  gen: number;
  enabled: boolean;
  /** Guest-physical address of the VRAM BAR (PCI BAR0). */
  bar0: number;
  /** 256 × 0x00RRGGBB, a copy (for 8 bpp). */
  palette: Int32Array;
}

export function readDisplayState(stats: StatsViews, palette = new Int32Array(256)): DisplayState {
  const i32 = stats.i32;
  for (;;) {
    const gen = Atomics.load(i32, I32.VBE_GEN);
    const enabled = Atomics.load(i32, I32.VBE_ENABLED) !== 0;
    const width = Atomics.load(i32, I32.VBE_XRES);
    const height = Atomics.load(i32, I32.VBE_YRES);
    const bpp = Atomics.load(i32, I32.VBE_BPP);
    const lineBytes = Atomics.load(i32, I32.VBE_LINE_BYTES);
    const start = Atomics.load(i32, I32.VBE_START);
    const bar0 = Atomics.load(i32, I32.VBE_BAR0) >>> 0;
    for (let i = 0; i < 256; i++) palette[i] = Atomics.load(i32, I32.PALETTE + i);
    if (Atomics.load(i32, I32.VBE_GEN) === gen)
      return { gen, enabled, width, height, bpp, lineBytes, start, bar0, palette };
  }
}

/** A mode the ioemu can show: enabled, a known depth, non-empty, inside VRAM. */
export function isShowable(s: DisplayState, vramBytes: number): boolean {
  const depth = s.bpp;
  return (
    s.enabled &&
    (depth === 8 || depth === 15 || depth === 16 || depth === 24 || depth === 32) &&
    s.width > 0 &&
    s.height > 0 &&
    s.lineBytes >= s.width * ((s.bpp + 7) >> 3) &&
    s.start >= 0 &&
    s.start + (s.height - 1) * s.lineBytes + s.width * ((s.bpp + 7) >> 3) <= vramBytes
  );
}

/**
 * The VRAM pages the display shows, as qemu-traditional tracks them: display start to start +
 * height × line length, page-aligned. Returned as VRAM page indices [first, first + nr).
 */
export function displayedPages(s: DisplayState): { first: number; nr: number } {
  const first = s.start >>> PAGE_SHIFT;
  const end = (s.start + s.height * s.lineBytes + PAGE_SIZE - 1) >>> PAGE_SHIFT;
  return { first, nr: end - first };
}
