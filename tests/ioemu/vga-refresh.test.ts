/**
 * The ioemu shows the legacy VGA modes (text 80×25 and 80×50, 13h, 12h, CGA's 04h and 06h) in
 * every display mode.
 * The guest side is the real display device (its registers set as a VGA BIOS sets them, VRAM
 * written through the 0xA0000 window); the hypervisor is the fake that reports the pages the
 * device says it wrote. Each test keeps its own model of the screen (characters, attributes,
 * font, pixels, DAC) and renders it with a small converter written here, independent of
 * src/ioemu: the surface must equal that picture after every refresh.
 */
import { describe, expect, it } from 'vitest';
import { MmioBus } from '../../src/machine/bus';
import { BochsVbe } from '../../src/machine/devices/vbe';
import { AR, CR, GR, SR } from '../../src/machine/devices/vga';
import { IoBus } from '../../src/machine/bus';
import { DisplayRefresher, type DisplayModeName } from '../../src/ioemu/refresh';
import { I32, STATS_BYTES, statsViews } from '../../src/shared/layout';
import { BAR0, FakeHv, MemorySurface, rng } from './fakes';

const MODES: readonly DisplayModeName[] = ['poll', 'dirty', 'dirty-idle', 'trap'];

/** A 6-bit DAC component as the screen shows it (8 bits: v << 2 | v >> 4). */
const dac8 = (v: number) => (v << 2) | (v >> 4);

function machine(mode: DisplayModeName, clock: { ms: number }) {
  const vram = new Uint8Array(new SharedArrayBuffer(8 << 20));
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const hv = new FakeHv(stats);
  Atomics.store(stats.i32, I32.VBE_BAR0, BAR0 | 0); // where the fake hypervisor keeps the VRAM BAR
  const report = (o: number, l: number) => hv.write(o, l);
  const vbe = new BochsVbe(stats, vram, report, { windowWritten: report, now: () => 0 });
  const io = new IoBus();
  const mmio = new MmioBus();
  io.attach(vbe);
  for (const r of vbe.mmio) mmio.register(r.base, r.length, r.handler);
  const surface = new MemorySurface();
  const r = new DisplayRefresher(vram, stats, surface, hv, { blinkClock: () => clock.ms, skipUnmovedGen: true });
  const out = (p: number, v: number) => io.write(p, 1, v);
  const seq = (i: number, v: number) => io.write(0x3c4, 2, i | (v << 8));
  const gc = (i: number, v: number) => io.write(0x3ce, 2, i | (v << 8));
  const crtc = (i: number, v: number) => io.write(0x3d4, 2, i | (v << 8));
  const attr = (i: number, v: number) => (io.read(0x3da, 1), out(0x3c0, i), out(0x3c0, v));
  /** The DAC, as the test knows it: 256 × [r, g, b] 6-bit. */
  const dac: number[][] = [];
  const rand = rng(0x5eed);
  out(0x3c8, 0);
  for (let i = 0; i < 256; i++) {
    dac.push([0, 1, 2].map(() => Math.floor(rand() * 64)));
    for (const c of dac[i]) out(0x3c9, c);
  }
  /** The attribute palette as the test set it (DAC index of each 4-bit colour). */
  const arPalette = Array.from({ length: 16 }, (_, i) => (i * 7 + 3) & 0x3f);
  function common(charHeight: number, graphics: boolean) {
    out(0x3c2, 0x67);
    crtc(CR.V_RETRACE_END, 0x0e); // unprotect
    crtc(CR.H_DISPLAY_END, graphics ? 0x4f : 0x4f);
    crtc(CR.OVERFLOW, 0x1f);
    crtc(CR.V_DISPLAY_END, 0x8f);
    crtc(CR.MAX_SCAN_LINE, charHeight - 1);
    crtc(CR.OFFSET, 40);
    crtc(CR.START_HI, 0);
    crtc(CR.START_LO, 0);
    crtc(CR.MODE_CONTROL, 0xa3); // as the BIOS sets it for modes 3 and 13h: no CGA compatibility
    for (let i = 0; i < 16; i++) attr(i, arPalette[i]);
    attr(AR.PLANE_ENABLE, 0x0f);
    attr(AR.COLOR_SELECT, 0);
  }
  return {
    vram,
    stats,
    hv,
    surface,
    r,
    ready: r.setMode(mode),
    out,
    seq,
    gc,
    crtc,
    attr,
    dac,
    arPalette,
    common,
    wb: (a: number, v: number) => mmio.write(a, 1, v),
    rb: (a: number) => mmio.read(a, 1),
    /** Palette address source on: the attribute controller lets the picture through. */
    show: () => (io.read(0x3da, 1), out(0x3c0, 0x20)),
    /** RGBA bytes of DAC entry i. */
    rgb: (i: number) => dac[i].map(dac8),
  };
}

type Rig = ReturnType<typeof machine>;

/** Mode 3 (or its 80×50 form): 9-dot cells of charHeight lines, odd/even at 0xB8000, blink on. */
function textMode(m: Rig, charHeight: number) {
  m.seq(SR.CLOCKING_MODE, 0x00);
  m.seq(SR.MAP_MASK, 0x03);
  m.seq(SR.CHAR_MAP_SELECT, 0x00);
  m.seq(SR.MEMORY_MODE, 0x02);
  m.gc(GR.MODE, 0x10);
  m.gc(GR.MISC, 0x0e);
  m.common(charHeight, false);
  m.crtc(CR.CURSOR_START, charHeight - 3);
  m.crtc(CR.CURSOR_END, charHeight - 2);
  m.attr(AR.MODE_CONTROL, 0x0c); // blink, line graphics
}

/** Load a font into plane 2 as a VGA BIOS does (planar, plane 2 only, 0xA0000), then back to text. */
function loadFont(m: Rig, font: Uint8Array) {
  m.seq(SR.MAP_MASK, 0x04);
  m.seq(SR.MEMORY_MODE, 0x06);
  m.gc(GR.READ_MAP_SELECT, 0x02);
  m.gc(GR.MODE, 0x00);
  m.gc(GR.MISC, 0x04);
  m.gc(GR.BIT_MASK, 0xff);
  for (let i = 0; i < font.length; i++) m.wb(0xa0000 + i, font[i]);
  m.seq(SR.MAP_MASK, 0x03);
  m.seq(SR.MEMORY_MODE, 0x02);
  m.gc(GR.READ_MAP_SELECT, 0x00);
  m.gc(GR.MODE, 0x10);
  m.gc(GR.MISC, 0x0e);
}

/** The test's own text screen and its renderer (IBM VGA text semantics, written out again). */
class TextModel {
  chars = new Uint8Array(80 * 50);
  attrs = new Uint8Array(80 * 50);
  font = new Uint8Array(256 * 32);
  cursor = 0;
  constructor(
    readonly rows: number,
    readonly charHeight: number,
  ) {}
  render(m: Rig, cursorOn: boolean, blinkOn: boolean): Uint8Array {
    const w = 720;
    const h = 400;
    const px = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const row = Math.floor(y / this.charHeight);
        const line = y % this.charHeight;
        const col = Math.floor(x / 9);
        const dot = x % 9;
        let colour = 0;
        if (row < this.rows) {
          const i = row * 80 + col;
          const ch = this.chars[i];
          const at = this.attrs[i];
          const bits = this.font[ch * 32 + line];
          let on = dot < 8 ? (bits >> (7 - dot)) & 1 : ch >= 0xc0 && ch <= 0xdf ? bits & 1 : 0;
          if (at & 0x80 && !blinkOn) on = 0;
          if (i === this.cursor && cursorOn && line >= this.charHeight - 3 && line <= this.charHeight - 2) on = 1;
          colour = on ? at & 15 : (at >> 4) & 7;
        }
        px.set([...m.rgb(m.arPalette[colour]), 255], (y * w + x) * 4);
      }
    return px;
  }
}

function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('the ioemu shows legacy VGA text modes', () => {
  for (const rows of [25, 50])
    for (const mode of MODES)
      it(`80×${rows} text in ${mode} mode: cells, attributes, font, cursor and blink equal the test's own rendering`, async () => {
        const clock = { ms: 0 };
        const m = machine(mode, clock);
        await m.ready;
        const charHeight = 400 / rows;
        const rand = rng(rows * 13 + mode.length);
        const t = new TextModel(rows, charHeight);
        for (let i = 0; i < t.font.length; i++) t.font[i] = (i & 31) < charHeight ? Math.floor(rand() * 256) : 0;
        textMode(m, charHeight);
        loadFont(m, t.font);
        const put = (i: number, ch: number, at: number) => {
          t.chars[i] = ch;
          t.attrs[i] = at;
          m.wb(0xb8000 + 2 * i, ch);
          m.wb(0xb8000 + 2 * i + 1, at);
        };
        for (let i = 0; i < 80 * rows; i++) put(i, Math.floor(rand() * 256), Math.floor(rand() * 256));
        m.show();
        for (let frame = 0; frame < 10; frame++) {
          for (let k = 0; k < 20; k++)
            put(Math.floor(rand() * 80 * rows), Math.floor(rand() * 256), Math.floor(rand() * 256));
          if (frame === 3) {
            t.cursor = 80 * 7 + 33;
            m.crtc(CR.CURSOR_HI, t.cursor >> 8);
            m.crtc(CR.CURSOR_LO, t.cursor & 0xff);
          }
          if (frame === 5) {
            for (let i = 0x41 * 32; i < 0x42 * 32; i++) t.font[i] ^= 0xff; // the guest redefines 'A'
            loadFont(m, t.font);
          }
          clock.ms = frame * 97; // the cursor (114 ms spells) and blink (229 ms) change phase on the way
          await m.r.refresh();
          const cursorOn = Math.floor(clock.ms / (8000 / 70)) % 2 === 0;
          const blinkOn = Math.floor(clock.ms / (16000 / 70)) % 2 === 0;
          expect(differing(m.surface.rgba(), t.render(m, cursorOn, blinkOn)), `frame ${frame}`).toBe(0);
        }
        // Only the first refresh and the font change repaint everything; the rest are cells.
        expect(m.r.counters.fullRepaints).toBe(2);
      });

  it('in a dirty mode a text screen is tracked over its cells and fonts only (8 pages of the 2,048), and its cursor blinks without hypercalls', async () => {
    const clock = { ms: 0 };
    const m = machine('dirty', clock);
    await m.ready;
    textMode(m, 16);
    m.show();
    await m.r.refresh();
    expect(m.hv.range?.[1]).toBe(8);
    // An idle text screen: no hypercall; the display sleeps until the cursor's phase changes, and
    // then repaints its one cell, still without a hypercall (nothing was written).
    const calls = m.hv.calls;
    await m.r.refresh();
    expect(m.r.sleepFor(0)).toBeCloseTo(8000 / 70, 5);
    clock.ms = 120;
    expect(m.r.sleepFor(120)).toBeNull();
    await m.r.refresh();
    expect(m.r.counters.tilesRepainted).toBe(m.r.tilesX * m.r.tilesY + 1);
    expect(m.hv.calls).toBe(calls);
    // A write is still seen: the next refresh calls and repaints the cell.
    m.wb(0xb8000 + 2 * 81, 0x58);
    await m.r.refresh();
    expect(m.hv.calls).toBe(calls + 1);
    expect(m.r.counters.tilesRepainted).toBe(m.r.tilesX * m.r.tilesY + 2);
  });
});

describe('the ioemu shows legacy VGA graphics modes', () => {
  for (const mode of MODES)
    it(`mode 13h (320×200, 256 colours through the DAC) in ${mode} mode equals the test's pixels`, async () => {
      const m = machine(mode, { ms: 0 });
      await m.ready;
      m.seq(SR.CLOCKING_MODE, 0x01);
      m.seq(SR.MAP_MASK, 0x0f);
      m.seq(SR.MEMORY_MODE, 0x0e);
      m.gc(GR.MODE, 0x40);
      m.gc(GR.MISC, 0x05);
      m.common(2, true);
      m.attr(AR.MODE_CONTROL, 0x41);
      m.show();
      const pixels = new Uint8Array(320 * 200);
      const rand = rng(13 + mode.length);
      const expected = () => {
        const px = new Uint8Array(320 * 200 * 4);
        for (let i = 0; i < pixels.length; i++) px.set([...m.rgb(pixels[i]), 255], i * 4);
        return px;
      };
      for (let frame = 0; frame < 8; frame++) {
        for (let k = 0; k < (frame === 0 ? 64000 : 300); k++) {
          const i = frame === 0 ? k : Math.floor(rand() * pixels.length);
          pixels[i] = Math.floor(rand() * 256);
          m.wb(0xa0000 + i, pixels[i]);
        }
        await m.r.refresh();
        expect([m.surface.width, m.surface.height]).toEqual([320, 200]);
        expect(differing(m.surface.rgba(), expected()), `frame ${frame}`).toBe(0);
      }
      expect(m.r.counters.fullRepaints).toBe(1);
    });

  for (const mode of MODES)
    it(`mode 12h (640×480, 16 planar colours) drawn with write mode 2 in ${mode} mode equals the test's pixels`, async () => {
      const m = machine(mode, { ms: 0 });
      await m.ready;
      m.seq(SR.CLOCKING_MODE, 0x01);
      m.seq(SR.MAP_MASK, 0x0f);
      m.seq(SR.MEMORY_MODE, 0x06);
      m.gc(GR.MISC, 0x05);
      m.common(1, true);
      m.crtc(CR.V_DISPLAY_END, 0xdf);
      m.crtc(CR.OVERFLOW, 0x3e);
      m.crtc(CR.MODE_CONTROL, 0xe3); // the BIOS's value for 12h
      m.attr(AR.MODE_CONTROL, 0x01);
      m.show();
      m.gc(GR.MODE, 0x02);
      const pixels = new Uint8Array(640 * 480);
      const rand = rng(12 + mode.length);
      const plot = (x: number, y: number, c: number) => {
        pixels[y * 640 + x] = c;
        m.gc(GR.BIT_MASK, 0x80 >> (x & 7));
        m.rb(0xa0000 + y * 80 + (x >> 3)); // a read loads the latches (the other pixels)
        m.wb(0xa0000 + y * 80 + (x >> 3), c);
      };
      const expected = () => {
        const px = new Uint8Array(640 * 480 * 4);
        for (let i = 0; i < pixels.length; i++) px.set([...m.rgb(m.arPalette[pixels[i]]), 255], i * 4);
        return px;
      };
      for (let frame = 0; frame < 6; frame++) {
        for (let k = 0; k < 400; k++) plot(Math.floor(rand() * 640), Math.floor(rand() * 480), Math.floor(rand() * 16));
        await m.r.refresh();
        expect([m.surface.width, m.surface.height]).toEqual([640, 480]);
        expect(differing(m.surface.rgba(), expected()), `frame ${frame}`).toBe(0);
      }
    });

  /**
   * CGA's graphics modes as the IBM VGA BIOS programs them (its register tables for 04h and 06h):
   * 200 lines, each scanned twice, two row scans a memory row and CGA compatibility in CR17, the
   * window at 0xB8000. The test's model is CGA's own memory map: line y's bytes at 0xB8000 +
   * 0x2000 × (y & 1) + 80 × (y >> 1), pixels from the most significant bits.
   */
  function cgaMode(m: Rig, mode: 4 | 6) {
    m.out(0x3c2, 0x63);
    m.seq(SR.CLOCKING_MODE, mode === 4 ? 0x09 : 0x01);
    m.seq(SR.MAP_MASK, mode === 4 ? 0x03 : 0x01);
    m.seq(SR.MEMORY_MODE, mode === 4 ? 0x02 : 0x06); // odd/even for 04h, sequential for 06h
    m.gc(GR.MODE, mode === 4 ? 0x30 : 0x00); // 04h: shift register interleave and odd/even
    m.gc(GR.MISC, mode === 4 ? 0x0f : 0x0d); // graphics at 0xB8000 (32 KiB), chain odd/even for 04h
    m.gc(GR.BIT_MASK, 0xff); // 06h's writes go through the ALU: every bit from the CPU's byte
    m.common(2, true);
    m.crtc(CR.H_DISPLAY_END, mode === 4 ? 0x27 : 0x4f);
    m.crtc(CR.MAX_SCAN_LINE, 0xc1);
    m.crtc(CR.OFFSET, mode === 4 ? 0x14 : 0x28);
    m.crtc(CR.MODE_CONTROL, mode === 4 ? 0xa2 : 0xc2);
    m.attr(AR.MODE_CONTROL, 0x01);
    m.attr(AR.PLANE_ENABLE, mode === 4 ? 0x03 : 0x01);
    m.show();
  }

  for (const mode of MODES)
    it(`mode 04h (CGA 320×200, 4 colours, even and odd lines in two banks) in ${mode} mode equals the test's pixels`, async () => {
      const m = machine(mode, { ms: 0 });
      await m.ready;
      cgaMode(m, 4);
      const pixels = new Uint8Array(320 * 200);
      const bytes = new Uint8Array(0x4000);
      const rand = rng(4 + mode.length);
      const at = (x: number, y: number) => 0x2000 * (y & 1) + 80 * (y >> 1) + (x >> 2);
      const plot = (x: number, y: number, c: number) => {
        pixels[y * 320 + x] = c;
        const shift = 6 - 2 * (x & 3);
        const a = at(x, y);
        bytes[a] = (bytes[a] & ~(3 << shift)) | (c << shift);
        m.wb(0xb8000 + a, bytes[a]);
      };
      let enable = 0x03;
      const expected = () => {
        const px = new Uint8Array(320 * 200 * 4);
        for (let i = 0; i < pixels.length; i++) px.set([...m.rgb(m.arPalette[pixels[i] & enable]), 255], i * 4);
        return px;
      };
      for (let frame = 0; frame < 6; frame++) {
        if (frame === 0) for (let y = 0; y < 200; y++) for (let x = 0; x < 320; x++) plot(x, y, Math.floor(rand() * 4));
        else
          for (let k = 0; k < 300; k++)
            plot(Math.floor(rand() * 320), Math.floor(rand() * 200), Math.floor(rand() * 4));
        if (frame === 4) {
          // Colour plane enable 01h: the attribute controller drops colour bit 1 of every pixel.
          enable = 0x01;
          m.attr(AR.PLANE_ENABLE, enable);
          m.show();
        }
        await m.r.refresh();
        expect([m.surface.width, m.surface.height]).toEqual([320, 200]);
        expect(differing(m.surface.rgba(), expected()), `frame ${frame}`).toBe(0);
      }
      expect(m.r.counters.fullRepaints).toBe(2); // the first frame and the plane enable's change
    });

  for (const mode of MODES)
    it(`mode 06h (CGA 640×200, 2 colours, two banks) in ${mode} mode equals the test's pixels`, async () => {
      const m = machine(mode, { ms: 0 });
      await m.ready;
      cgaMode(m, 6);
      const pixels = new Uint8Array(640 * 200);
      const bytes = new Uint8Array(0x4000);
      const rand = rng(6 + mode.length);
      const plot = (x: number, y: number, c: number) => {
        pixels[y * 640 + x] = c;
        const a = 0x2000 * (y & 1) + 80 * (y >> 1) + (x >> 3);
        bytes[a] = (bytes[a] & ~(0x80 >> (x & 7))) | (c ? 0x80 >> (x & 7) : 0);
        m.wb(0xb8000 + a, bytes[a]);
      };
      const expected = () => {
        const px = new Uint8Array(640 * 200 * 4);
        for (let i = 0; i < pixels.length; i++) px.set([...m.rgb(m.arPalette[pixels[i]]), 255], i * 4);
        return px;
      };
      for (let frame = 0; frame < 5; frame++) {
        if (frame === 0) for (let y = 0; y < 200; y++) for (let x = 0; x < 640; x++) plot(x, y, rand() < 0.5 ? 1 : 0);
        else
          for (let k = 0; k < 400; k++) plot(Math.floor(rand() * 640), Math.floor(rand() * 200), rand() < 0.5 ? 1 : 0);
        await m.r.refresh();
        expect([m.surface.width, m.surface.height]).toEqual([640, 200]);
        expect(differing(m.surface.rgba(), expected()), `frame ${frame}`).toBe(0);
      }
      expect(m.r.counters.fullRepaints).toBe(1);
    });
});
