import { describe, expect, it } from 'vitest';
import { convertRows } from '../../src/ioemu/convert';

const px = (out: Uint8Array, i: number) => Array.from(out.subarray(i * 4, i * 4 + 4));

describe('VRAM to RGBA', () => {
  it('32 and 24 bpp are B, G, R bytes; the start offset and line length place the picture', () => {
    const vram = new Uint8Array(64);
    vram.set([0x10, 0x20, 0x30, 0, 0x40, 0x50, 0x60, 0], 16);
    const out = new Uint8Array(2 * 4);
    convertRows(vram, { width: 2, height: 1, bpp: 32, lineBytes: 8, start: 16 }, null, out);
    expect([px(out, 0), px(out, 1)]).toEqual([
      [0x30, 0x20, 0x10, 255],
      [0x60, 0x50, 0x40, 255],
    ]);
    convertRows(vram, { width: 2, height: 1, bpp: 24, lineBytes: 6, start: 16 }, null, out);
    expect(px(out, 1)).toEqual([0x50, 0x40, 0x00, 255]); // bytes 0x00, 0x40, 0x50 = B, G, R
  });
  it('16 bpp is r5g6b5 and 15 bpp x1r5g5b5, expanded to full scale', () => {
    const vram = new Uint8Array([0xff, 0xff, 0x1f, 0x00]);
    const out = new Uint8Array(8);
    convertRows(vram, { width: 2, height: 1, bpp: 16, lineBytes: 4, start: 0 }, null, out);
    expect([px(out, 0), px(out, 1)]).toEqual([
      [255, 255, 255, 255],
      [0, 0, 255, 255],
    ]);
    const v15 = new Uint8Array([0x00, 0x7c]); // red 31
    const o15 = new Uint8Array(4);
    convertRows(v15, { width: 1, height: 1, bpp: 15, lineBytes: 2, start: 0 }, null, o15);
    expect(px(o15, 0)).toEqual([255, 0, 0, 255]);
  });
  it('8 bpp goes through the palette', () => {
    const palette = new Int32Array(256);
    palette[3] = 0x123456;
    const out = new Uint8Array(4);
    convertRows(new Uint8Array([3]), { width: 1, height: 1, bpp: 8, lineBytes: 1, start: 0 }, palette, out);
    expect(px(out, 0)).toEqual([0x12, 0x34, 0x56, 255]);
  });
});
