/**
 * The display's state as the display device publishes it in the stats/control SAB: a Bochs dispi
 * mode, or else the legacy VGA's mode (text, 16-colour planar, 256-colour). The ioemu reads it
 * here, never by calling into the device (DESIGN.md: the ioemu never reaches into the worker's
 * objects). The device bumps I32.VBE_GEN after every change, so reading the generation before and
 * after the fields gives one consistent snapshot (a seqlock).
 */
import {
  I32,
  PAGE_SHIFT,
  PAGE_SIZE,
  VGA_FLAG_BLINK,
  VGA_FLAG_LINE_GRAPHICS,
  VgaMode,
  type StatsViews,
} from '../shared/layout';
import type { DisplayMode } from './convert';

/** What the picture is made of: a dispi mode, a legacy VGA mode, or nothing to show. */
export type DisplayKind = 'vbe' | 'text' | 'planar16' | 'cga4' | 'linear256' | 'none';

/** A legacy text mode's layout (VRAM offsets in the VGA's interleaved layout: plane address × 4). */
export interface TextLayout {
  cols: number;
  rows: number;
  charWidth: number;
  charHeight: number;
  /** VRAM offset of the cursor's cell (plane 0 byte), or -1 when the cursor is off. */
  cursor: number;
  cursorStart: number;
  cursorEnd: number;
  /** Plane-2 addresses of character maps A (attribute bit 3 set) and B. */
  fontA: number;
  fontB: number;
  /** Attribute bit 7 blinks the character (else it selects the bright backgrounds). */
  blink: boolean;
  /** 9-dot cells: characters 0xC0–0xDF repeat their 8th dot in the 9th (line graphics). */
  lineGraphics: boolean;
}

export interface DisplayState extends DisplayMode {
  /** VBE_GEN when read: any change (mode, geometry, pan, palette) moves it. */
  gen: number;
  /** A dispi mode is enabled (the legacy VGA is off). */
  enabled: boolean;
  kind: DisplayKind;
  /** Guest-physical address of the VRAM BAR (PCI BAR0). */
  bar0: number;
  /** 256 × 0x00RRGGBB, a copy (for 8 bpp and the legacy modes). */
  palette: Int32Array;
  /** Legacy 16-colour modes and text: the DAC index each 4-bit colour shows (attribute controller). */
  attrMap: Uint8Array;
  /** Legacy text modes only. */
  text: TextLayout | null;
  /** CGA's two banks (I32.VGA_BANK_BIT): the VRAM address bit of odd lines, 0 when rows follow one another. */
  bankBit: number;
}

const KINDS: Record<number, DisplayKind> = {
  [VgaMode.TEXT]: 'text',
  [VgaMode.PLANAR16]: 'planar16',
  [VgaMode.LINEAR256]: 'linear256',
  [VgaMode.CGA4]: 'cga4',
};

export function readDisplayState(stats: StatsViews, palette = new Int32Array(256)): DisplayState {
  const i32 = stats.i32;
  const at = (i: number) => Atomics.load(i32, i);
  for (;;) {
    const gen = at(I32.VBE_GEN);
    const enabled = at(I32.VBE_ENABLED) !== 0;
    const bar0 = at(I32.VBE_BAR0) >>> 0;
    for (let i = 0; i < 256; i++) palette[i] = at(I32.PALETTE + i);
    let s: DisplayState;
    if (enabled)
      s = {
        gen,
        enabled,
        kind: 'vbe',
        width: at(I32.VBE_XRES),
        height: at(I32.VBE_YRES),
        bpp: at(I32.VBE_BPP),
        lineBytes: at(I32.VBE_LINE_BYTES),
        start: at(I32.VBE_START),
        bar0,
        palette,
        attrMap: new Uint8Array(16),
        text: null,
        bankBit: 0,
      };
    else {
      const kind = KINDS[at(I32.VGA_MODE)] ?? 'none';
      const attrMap = new Uint8Array(16);
      for (let i = 0; i < 16; i++) attrMap[i] = at(I32.VGA_ATTR_MAP + (i >> 2)) >>> ((i & 3) * 8);
      const flags = at(I32.VGA_FLAGS);
      const cursor = at(I32.VGA_CURSOR);
      s = {
        gen,
        enabled,
        kind,
        width: at(I32.VGA_WIDTH),
        height: at(I32.VGA_HEIGHT),
        bpp: kind === 'linear256' ? 8 : kind === 'planar16' ? 4 : kind === 'cga4' ? 2 : 0,
        lineBytes: at(I32.VGA_LINE_BYTES),
        start: at(I32.VGA_START),
        bar0,
        palette,
        attrMap,
        text:
          kind === 'text'
            ? {
                cols: at(I32.VGA_COLS),
                rows: at(I32.VGA_ROWS),
                charWidth: at(I32.VGA_CHAR_WIDTH),
                charHeight: at(I32.VGA_CHAR_HEIGHT),
                cursor: cursor < 0 ? -1 : cursor * 4,
                cursorStart: at(I32.VGA_CURSOR_START),
                cursorEnd: at(I32.VGA_CURSOR_END),
                fontA: at(I32.VGA_FONT_A),
                fontB: at(I32.VGA_FONT_B),
                blink: (flags & VGA_FLAG_BLINK) !== 0,
                lineGraphics: (flags & VGA_FLAG_LINE_GRAPHICS) !== 0,
              }
            : null,
        bankBit: at(I32.VGA_BANK_BIT),
      };
    }
    if (at(I32.VBE_GEN) === gen) return s;
  }
}

/** VRAM bytes per pixel of a row: a fraction for planar and CGA modes (8 pixels in 4 bytes). */
export function vramBytesPerPixel(s: DisplayState): number {
  return s.kind === 'planar16' || s.kind === 'cga4' ? 0.5 : (s.bpp + 7) >> 3;
}

/** VRAM offset of pixel line y's first byte: rows one after another, or CGA's even and odd banks. */
export function lineAddress(s: DisplayState, y: number): number {
  if (!s.bankBit) return s.start + y * s.lineBytes;
  return ((s.start + (y >> 1) * s.lineBytes) & ~s.bankBit) | (y & 1 ? s.bankBit : 0);
}

/** The VRAM bytes [from, to) a graphics picture's lines span. */
function graphicsExtent(s: DisplayState): { from: number; to: number } {
  const rowBytes = Math.ceil(s.width * vramBytesPerPixel(s));
  if (!s.bankBit) return { from: s.start, to: s.start + (s.height - 1) * s.lineBytes + rowBytes };
  let from = Infinity;
  let to = 0;
  for (let y = 0; y < s.height; y++) {
    const a = lineAddress(s, y);
    from = Math.min(from, a);
    to = Math.max(to, a + rowBytes);
  }
  return { from, to };
}

/** Bytes of VRAM a character map spans: 256 characters × 32 plane-2 bytes, interleaved (× 4). */
export const FONT_VRAM_BYTES = 256 * 32 * 4;

/** A mode the ioemu can show: a known kind and depth, non-empty, inside VRAM. */
export function isShowable(s: DisplayState, vramBytes: number): boolean {
  if (s.kind === 'none' || s.width <= 0 || s.height <= 0 || s.start < 0) return false;
  if (s.kind === 'text') {
    const t = s.text!;
    return (
      t.cols > 0 &&
      s.lineBytes > 0 &&
      s.start + t.rows * s.lineBytes <= vramBytes &&
      Math.max(t.fontA, t.fontB) * 4 + FONT_VRAM_BYTES <= vramBytes
    );
  }
  const depth = s.bpp;
  if (s.kind === 'vbe' && depth !== 8 && depth !== 15 && depth !== 16 && depth !== 24 && depth !== 32) return false;
  const rowBytes = Math.ceil(s.width * vramBytesPerPixel(s));
  return s.lineBytes >= rowBytes && graphicsExtent(s).to <= vramBytes;
}

/**
 * The VRAM pages the display shows, as qemu-traditional tracks them: display start to start +
 * height × line length, page-aligned (a text mode's rows, and its fonts: a font change must
 * repaint too). Returned as VRAM page indices [first, first + nr).
 */
export function displayedPages(s: DisplayState): { first: number; nr: number } {
  let from = s.start;
  let to = s.start + s.height * s.lineBytes;
  if (s.bankBit) ({ from, to } = graphicsExtent(s));
  if (s.text) {
    const t = s.text;
    to = s.start + t.rows * s.lineBytes;
    for (const font of [t.fontA, t.fontB]) {
      from = Math.min(from, font * 4);
      to = Math.max(to, font * 4 + FONT_VRAM_BYTES);
    }
  }
  const first = from >>> PAGE_SHIFT;
  const end = (to + PAGE_SIZE - 1) >>> PAGE_SHIFT;
  return { first, nr: end - first };
}
