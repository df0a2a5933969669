/**
 * A Multiboot kernel boots without a VGA BIOS, so the loader leaves text mode 3 as one would: the
 * registers for 80×25 9×16 text, the EGA colours, the VGA font in plane 2 and a blank screen. A
 * character the kernel stores at 0xB8000 then shows, drawn with that font.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { readDisplayState } from '../../src/ioemu/display-state';
import { convertFrame } from '../../src/ioemu/vga-convert';
import { vgaFont8x16 } from '../../src/machine/boot/vga-font';

const ticker = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));

function boot(): Machine {
  const r = Machine.create(
    { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'multiboot' },
    ticker.buffer.slice(ticker.byteOffset, ticker.byteOffset + ticker.byteLength) as ArrayBuffer,
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe('text mode for a Multiboot kernel (no VGA BIOS)', () => {
  it('the loader leaves mode 3: 80×25 cells of 9×16 on 720×400, the cursor at the top left, the font in plane 2', () => {
    const m = boot();
    const s = readDisplayState(m.stats);
    expect(s.kind).toBe('text');
    expect([s.width, s.height, s.start, s.lineBytes]).toEqual([720, 400, 0, 80 * 4]); // one plane address a cell
    expect(s.text).toMatchObject({ cols: 80, rows: 25, charWidth: 9, charHeight: 16, cursor: 0, fontA: 0 });
    const font = vgaFont8x16();
    // Plane 2 holds glyph c's 16 lines at plane addresses c × 32 + line (VRAM byte × 4 + 2).
    const vram = m.memory.vram;
    for (const c of [0x00, 0x01, 0x41, 0xdb, 0xff])
      for (let line = 0; line < 16; line++) expect(vram[(c * 32 + line) * 4 + 2]).toBe(font[c * 16 + line]);
    // The glyphs are the VGA's: 'A' and the full block.
    expect(Array.from(font.subarray(0x41 * 16, 0x42 * 16))).toEqual([
      0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(Array.from(font.subarray(0xdb * 16, 0xdc * 16))).toEqual(new Array(16).fill(0xff));
    // A blank screen: grey-on-black spaces.
    expect([vram[0], vram[1], vram[79 * 4], vram[(80 * 25 - 1) * 4 + 1]]).toEqual([0x20, 0x07, 0x20, 0x07]);
    m.destroy();
  });

  it("a character stored at 0xB8000 is drawn with the font: white 'A' on blue in the first cell", () => {
    const m = boot();
    m.pc!.mmio.write(0xb8000, 2, 0x1f41); // 'A', attribute 0x1F: white on blue
    const s = readDisplayState(m.stats);
    const frame = convertFrame(m.memory.vram, s, { cursorOn: false, blinkOn: true });
    const font = vgaFont8x16();
    const fg = frame[2 * 720 + 3]; // a dot of the 'A' (line 2: 0x10, column 3)
    const bg = frame[0];
    expect(fg).not.toBe(bg);
    // Colour 15 is the DAC's white, colour 1 its blue (0x2A of 0x3F: 0xAA in one channel).
    expect(fg & 0xffffff).toBe(0xffffff);
    expect([bg & 0xff, (bg >> 8) & 0xff, (bg >> 16) & 0xff].sort((a, b) => a - b)).toEqual([0, 0, 0xaa]);
    for (let line = 0; line < 16; line++)
      for (let x = 0; x < 9; x++) {
        const dot = x < 8 && (font[0x41 * 16 + line] & (0x80 >> x)) !== 0; // the 9th column is background
        expect(frame[line * 720 + x], `line ${line} x ${x}`).toBe(dot ? fg : bg);
      }
    m.destroy();
  });
});
