/**
 * VRAM → RGBA for the legacy VGA modes, in the VGA device's layout (src/machine/devices/vga.ts:
 * plane p of plane address a at VRAM byte a * 4 + p):
 *  - text: cell i of a row at VRAM start + row × lineBytes + 4i, character in plane 0, attribute
 *    in plane 1; the glyph's scan line r of character c in plane 2 at address font + 32c + r.
 *    Attribute: foreground bits 0–3, background bits 4–7 (bit 7 blinks the character instead
 *    when blinking is on; bit 3 picks character map A over B), both through the attribute
 *    controller's map (`attrMap`) into the DAC palette. The cursor fills its scan lines of the
 *    cursor cell with the foreground colour while it is in its on phase.
 *  - 16-colour planar: pixel x of a row is bit 7 − (x & 7) of the four plane bytes at address
 *    x >> 3, plane p giving colour bit p, through `attrMap` into the palette.
 *  - CGA 4-colour (the shift register interleave, IBM VGA technical reference, GR5 bit 5): plane
 *    address x >> 3 holds 8 pixels, the first four in planes 0 (colour bits 0–1) and 2 (bits
 *    2–3), the next four in planes 1 and 3, each a 2-bit field, most significant first; the
 *    colour through `attrMap` (whose plane enable masks colour bits, the serial streams).
 *  - A row of graphics starts at lineAddress(s, y): CGA's modes take even and odd lines from two banks.
 * The 256-colour modes are an 8-bpp picture (convert.ts). Output words are 0xAABBGGRR, as in
 * convertRect; the display's painter and the CLI's --screenshot share these converters.
 */
import { convertRect } from './convert';
import { lineAddress, type DisplayState } from './display-state';

/** Where the text blink and cursor are in their cycles (the ioemu's clock decides, not the guest). */
export interface BlinkPhase {
  /** The cursor is drawn (on for 8 frames of a 70 Hz VGA, off for 8). */
  cursorOn: boolean;
  /** Blinking characters are drawn (half the rate of the cursor). */
  blinkOn: boolean;
}

/** The cursor's on and off spells: 8 frames each at 70 Hz (the VGA's vsync / 16 cycle). */
export const CURSOR_HALF_PERIOD_MS = 8000 / 70;
/** Blinking characters: 16 frames on, 16 off (vsync / 32). */
export const BLINK_HALF_PERIOD_MS = 16000 / 70;

/** The phase at a given time (ms, the ioemu's clock). */
export function blinkPhaseAt(ms: number): BlinkPhase {
  return {
    cursorOn: Math.floor(ms / CURSOR_HALF_PERIOD_MS) % 2 === 0,
    blinkOn: Math.floor(ms / BLINK_HALF_PERIOD_MS) % 2 === 0,
  };
}

/** Milliseconds from `ms` until the next change of either phase. */
export function nextBlinkChangeIn(ms: number): number {
  const next = (period: number) => (Math.floor(ms / period) + 1) * period - ms;
  return Math.min(next(CURSOR_HALF_PERIOD_MS), next(BLINK_HALF_PERIOD_MS));
}

/** 0x00RRGGBB → 0xAABBGGRR (opaque). */
const rgba = (c: number) => 0xff000000 | ((c & 0xff) << 16) | (c & 0xff00) | ((c >>> 16) & 0xff);

/** The 16 attribute colours as output words. */
function colours16(s: DisplayState, palette: Int32Array): Uint32Array {
  const out = new Uint32Array(16);
  for (let i = 0; i < 16; i++) out[i] = rgba(palette[s.attrMap[i]]);
  return out;
}

/** Converts the rectangle [x0, x1) × [y0, y1) of a text screen into `out` (width s.width). */
export function convertTextRect(
  vram: Uint8Array,
  s: DisplayState,
  palette: Int32Array,
  out: Uint32Array,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  phase: BlinkPhase,
): void {
  const t = s.text!;
  const { charWidth: cw, charHeight: ch } = t;
  const colours = colours16(s, palette);
  const end = vram.length - 4;
  for (let y = y0; y < y1; y++) {
    const row = Math.floor(y / ch);
    const line = y - row * ch;
    const rowBase = s.start + row * s.lineBytes;
    const cursorLine = line >= t.cursorStart && line <= t.cursorEnd && phase.cursorOn;
    let d = y * s.width + x0;
    for (let x = x0; x < x1;) {
      const col = Math.floor(x / cw);
      const cell = rowBase + col * 4;
      const cellEnd = Math.min(x1, (col + 1) * cw);
      if (col >= t.cols || cell > end) {
        for (; x < cellEnd; x++) out[d++] = colours[0] | 0xff000000;
        continue;
      }
      const code = vram[cell];
      const attr = vram[cell + 1];
      const font = attr & 0x08 ? t.fontA : t.fontB;
      const glyphAt = (font + code * 32 + line) * 4 + 2;
      let glyph = glyphAt < vram.length ? vram[glyphAt] : 0;
      // The 9th dot: a copy of the 8th for the line-drawing characters, else background.
      glyph = (glyph << 1) | (cw === 9 && t.lineGraphics && code >= 0xc0 && code <= 0xdf ? glyph & 1 : 0);
      let bg = attr >> 4;
      if (t.blink) {
        bg &= 7;
        if (attr & 0x80 && !phase.blinkOn) glyph = 0;
      }
      if (cursorLine && cell === t.cursor) glyph = 0x1ff;
      const fgc = colours[attr & 15];
      const bgc = colours[bg];
      for (let dot = x - col * cw; x < cellEnd; x++, dot++) out[d++] = (glyph >> (8 - dot)) & 1 ? fgc : bgc;
    }
  }
}

/** Converts the rectangle [x0, x1) × [y0, y1) of a 16-colour planar picture into `out`. */
export function convertPlanarRect(
  vram: Uint8Array,
  s: DisplayState,
  palette: Int32Array,
  out: Uint32Array,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
): void {
  const colours = colours16(s, palette);
  for (let y = y0; y < y1; y++) {
    const line = lineAddress(s, y);
    let d = y * s.width + x0;
    for (let x = x0; x < x1; x++, d++) {
      const b = line + (x >> 3) * 4;
      const bit = 7 - (x & 7);
      const v =
        ((vram[b] >> bit) & 1) |
        (((vram[b + 1] >> bit) & 1) << 1) |
        (((vram[b + 2] >> bit) & 1) << 2) |
        (((vram[b + 3] >> bit) & 1) << 3);
      out[d] = colours[v];
    }
  }
}

/** Converts the rectangle [x0, x1) × [y0, y1) of a CGA 4-colour picture into `out`. */
export function convertCga4Rect(
  vram: Uint8Array,
  s: DisplayState,
  palette: Int32Array,
  out: Uint32Array,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
): void {
  const colours = colours16(s, palette);
  for (let y = y0; y < y1; y++) {
    const line = lineAddress(s, y);
    let d = y * s.width + x0;
    for (let x = x0; x < x1; x++, d++) {
      const b = line + (x >> 3) * 4 + ((x >> 2) & 1); // plane 0 (or 1 for the second four)
      const shift = 6 - 2 * (x & 3);
      out[d] = colours[((vram[b] >> shift) & 3) | (((vram[b + 2] >> shift) & 3) << 2)];
    }
  }
}

/** Converts a rectangle of any showable picture (dispi or legacy) into `out`. */
export function convertAnyRect(
  vram: Uint8Array,
  vram32: Uint32Array,
  s: DisplayState,
  palette: Int32Array,
  out: Uint32Array,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  phase: BlinkPhase,
): void {
  if (s.kind === 'text') convertTextRect(vram, s, palette, out, x0, x1, y0, y1, phase);
  else if (s.kind === 'planar16') convertPlanarRect(vram, s, palette, out, x0, x1, y0, y1);
  else if (s.kind === 'cga4') convertCga4Rect(vram, s, palette, out, x0, x1, y0, y1);
  else convertRect(vram, vram32, s, palette, out, x0, x1, y0, y1);
}

/** The whole picture of a showable display state, as output words (the CLI's --screenshot, tests). */
export function convertFrame(
  vram: Uint8Array,
  s: DisplayState,
  phase: BlinkPhase = { cursorOn: true, blinkOn: true },
): Uint32Array {
  const out = new Uint32Array(s.width * s.height);
  const vram32 = new Uint32Array(vram.buffer, vram.byteOffset, vram.byteLength >> 2);
  convertAnyRect(vram, vram32, s, s.palette, out, 0, s.width, 0, s.height, phase);
  return out;
}
