/**
 * The legacy VGA registers and its 0xA0000 window (src/machine/devices/vga.ts), through the ports
 * and the MMIO range the display device decodes. VRAM holds plane p of plane address a at byte
 * a * 4 + p (the device's documented layout), which is what these tests look at.
 */
import { describe, expect, it } from 'vitest';
import { IoBus, MmioBus } from '../../src/machine/bus';
import { BochsVbe, VBE_DISPI } from '../../src/machine/devices/vbe';
import { AR, CR, GR, SR } from '../../src/machine/devices/vga';
import { I32, STATS_BYTES, VgaMode, VGA_FLAG_BLINK, statsViews } from '../../src/shared/layout';

function rig() {
  const io = new IoBus();
  const mmio = new MmioBus();
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const vram = new Uint8Array(8 << 20);
  const written: [number, number][] = [];
  let now = 0;
  const vbe = new BochsVbe(stats, vram, () => {}, {
    windowWritten: (o, l) => written.push([o, l]),
    now: () => now,
  });
  io.attach(vbe);
  for (const r of vbe.mmio ?? []) mmio.register(r.base, r.length, r.handler);
  const out = (p: number, v: number) => io.write(p, 1, v);
  const inb = (p: number) => io.read(p, 1);
  const seq = (i: number, v: number) => io.write(0x3c4, 2, i | (v << 8));
  const gc = (i: number, v: number) => io.write(0x3ce, 2, i | (v << 8));
  const crtc = (i: number, v: number) => io.write(0x3d4, 2, i | (v << 8));
  const attr = (i: number, v: number) => (inb(0x3da), out(0x3c0, i), out(0x3c0, v));
  const wb = (addr: number, v: number) => mmio.write(addr, 1, v);
  const rb = (addr: number) => mmio.read(addr, 1);
  const planes = (a: number) => Array.from(vram.subarray(a * 4, a * 4 + 4));
  const setTime = (ms: number) => (now = ms);
  return { io, stats, vram, written, out, inb, seq, gc, crtc, attr, wb, rb, planes, setTime };
}

/** Planar, unchained, no odd/even, 0xA0000 64 KiB: the registers of mode 12h that matter here. */
function planar(r: ReturnType<typeof rig>) {
  r.out(0x3c2, 0x63);
  r.seq(SR.MAP_MASK, 0x0f);
  r.seq(SR.MEMORY_MODE, 0x06);
  r.gc(GR.MODE, 0x00);
  r.gc(GR.MISC, 0x05);
  r.gc(GR.BIT_MASK, 0xff);
}

describe('the VGA registers', () => {
  it('read back what was written, within the bits each register has', () => {
    const r = rig();
    r.out(0x3c2, 0x67);
    expect(r.inb(0x3cc)).toBe(0x67);
    r.seq(SR.MEMORY_MODE, 0xff);
    r.out(0x3c4, SR.MEMORY_MODE);
    expect(r.inb(0x3c5)).toBe(0x0e);
    r.gc(GR.MODE, 0xff);
    r.out(0x3ce, GR.MODE);
    expect(r.inb(0x3cf)).toBe(0x7b);
    r.gc(GR.BIT_MASK, 0x5a);
    expect([r.inb(0x3ce), r.inb(0x3cf)]).toEqual([GR.BIT_MASK, 0x5a]);
    r.crtc(CR.CURSOR_LO, 0x34);
    r.out(0x3d4, CR.CURSOR_LO);
    expect(r.inb(0x3d5)).toBe(0x34);
    r.attr(AR.COLOR_SELECT, 0xff);
    r.inb(0x3da);
    r.out(0x3c0, AR.COLOR_SELECT);
    expect(r.inb(0x3c1)).toBe(0x0f);
    r.out(0x3c6, 0x3f);
    expect(r.inb(0x3c6)).toBe(0x3f);
  });

  it('decodes the CRTC and input status 1 at 0x3Dx with misc output IOAS set, at 0x3Bx without', () => {
    const r = rig();
    r.out(0x3c2, 0x01);
    r.crtc(CR.OFFSET, 40);
    expect(r.inb(0x3b5)).toBe(0xff);
    r.out(0x3c2, 0x00);
    r.io.write(0x3b4, 2, CR.OFFSET | (41 << 8));
    r.out(0x3b4, CR.OFFSET);
    expect(r.inb(0x3b5)).toBe(41);
    expect(r.inb(0x3da)).toBe(0xff);
    r.out(0x3c2, 0x01);
    r.out(0x3d4, CR.OFFSET);
    expect(r.inb(0x3d5)).toBe(41);
  });

  it('write-protects CRTC registers 0–7 with CR11 bit 7, except the line compare bit in the overflow register', () => {
    const r = rig();
    r.out(0x3c2, 0x01);
    r.crtc(CR.H_DISPLAY_END, 0x4f);
    r.crtc(CR.OVERFLOW, 0x00);
    r.crtc(CR.V_RETRACE_END, 0x8e);
    r.crtc(CR.H_DISPLAY_END, 0x27);
    r.crtc(CR.OVERFLOW, 0xff);
    r.out(0x3d4, CR.H_DISPLAY_END);
    expect(r.inb(0x3d5)).toBe(0x4f);
    r.out(0x3d4, CR.OVERFLOW);
    expect(r.inb(0x3d5)).toBe(0x10);
  });

  it('the attribute controller alternates index and data on 0x3C0; reading input status 1 resets it to index', () => {
    const r = rig();
    r.out(0x3c2, 0x01);
    r.inb(0x3da);
    r.out(0x3c0, 0x01); // index 1
    r.out(0x3c0, 0x15); // data
    r.out(0x3c0, 0x02); // index 2 (the flip-flop came back to index)
    r.out(0x3c0, 0x2a);
    r.out(0x3c0, 0x01);
    expect(r.inb(0x3c1)).toBe(0x15);
    r.out(0x3c0, 0x33); // this one is data for index 1…
    r.inb(0x3da); // …and now the next write is an index again
    r.out(0x3c0, 0x02);
    expect([r.inb(0x3c0), r.inb(0x3c1)]).toEqual([0x02, 0x2a]);
    r.inb(0x3da);
    r.out(0x3c0, 0x01);
    expect(r.inb(0x3c1)).toBe(0x33);
  });

  it('the DAC reads back its 6-bit components; the PEL mask picks which entry a pixel value shows', () => {
    const r = rig();
    r.out(0x3c8, 5);
    for (const c of [63, 0, 32, 1, 2, 3]) r.out(0x3c9, c); // entries 5 and 6
    expect(r.inb(0x3c8)).toBe(7);
    r.out(0x3c7, 5);
    expect(r.inb(0x3c7)).toBe(3);
    expect([0, 1, 2, 3, 4, 5].map(() => r.inb(0x3c9))).toEqual([63, 0, 32, 1, 2, 3]);
    expect(r.stats.i32[I32.PALETTE + 5]).toBe(0xff0082);
    r.out(0x3c6, 0x0f);
    expect(r.stats.i32[I32.PALETTE + 0x15]).toBe(0xff0082); // 0x15 & 0x0f = 5
  });

  it('input status 1 shows the vertical retrace once a frame, and blanking around it', () => {
    const r = rig();
    r.out(0x3c2, 0x01);
    const seen = new Set<number>();
    let retraces = 0;
    let was = 0;
    for (let t = 0; t < 100; t += 0.005) {
      r.setTime(t);
      const s = r.inb(0x3da);
      seen.add(s);
      if (s & 8 && !was) retraces++;
      was = s & 8;
      if (s & 8) expect(s & 1).toBe(1); // retrace happens while the display is blanked
    }
    expect(seen).toEqual(new Set([0, 1, 9]));
    expect(retraces).toBeGreaterThanOrEqual(6); // 100 ms at 70 Hz
    expect(retraces).toBeLessThanOrEqual(8);
  });
});

describe('the 0xA0000 window', () => {
  it('write mode 0 with set/reset, the data rotate, the ALU function and the bit mask', () => {
    const r = rig();
    planar(r);
    r.wb(0xa0010, 0xaa); // all four planes: 0xAA
    expect(r.planes(0x10)).toEqual([0xaa, 0xaa, 0xaa, 0xaa]);
    r.gc(GR.ENABLE_SET_RESET, 0x05); // planes 0 and 2 from set/reset…
    r.gc(GR.SET_RESET, 0x01); // …plane 0 ones, plane 2 zeros
    r.wb(0xa0010, 0x0f);
    expect(r.planes(0x10)).toEqual([0xff, 0x0f, 0x00, 0x0f]);
    r.gc(GR.ENABLE_SET_RESET, 0);
    r.gc(GR.DATA_ROTATE, 0x04); // rotate right by 4, no function
    r.wb(0xa0011, 0x12);
    expect(r.planes(0x11)).toEqual([0x21, 0x21, 0x21, 0x21]);
    r.gc(GR.DATA_ROTATE, 0x18); // XOR with the latches, loaded by a read
    r.rb(0xa0010);
    r.gc(GR.BIT_MASK, 0xf0); // only the high nibble changes; the rest comes from the latches
    r.wb(0xa0010, 0xff);
    expect(r.planes(0x10)).toEqual([0x0f, 0xff, 0xf0, 0xff]);
  });

  it('write mode 1 copies the latches: a read at one address and a write at another moves all four planes', () => {
    const r = rig();
    planar(r);
    r.vram.set([1, 2, 3, 4], 0x20 * 4);
    r.rb(0xa0020);
    r.gc(GR.MODE, 0x01);
    r.gc(GR.BIT_MASK, 0x00); // ignored by write mode 1
    r.wb(0xa0030, 0x99);
    expect(r.planes(0x30)).toEqual([1, 2, 3, 4]);
  });

  it('write mode 2 spreads the colour nibble over the planes at the bit mask positions', () => {
    const r = rig();
    planar(r);
    r.vram.set([0xff, 0x00, 0xff, 0x00], 0x40 * 4);
    r.rb(0xa0040);
    r.gc(GR.MODE, 0x02);
    r.gc(GR.BIT_MASK, 0x81);
    r.wb(0xa0040, 0x0a); // colour 1010b: planes 1 and 3 set, 0 and 2 clear
    expect(r.planes(0x40)).toEqual([0x7e, 0x81, 0x7e, 0x81]);
  });

  it('write mode 3 draws set/reset where the rotated byte ANDed with the bit mask has ones', () => {
    const r = rig();
    planar(r);
    r.rb(0xa0050); // latches: zeros
    r.gc(GR.MODE, 0x03);
    r.gc(GR.SET_RESET, 0x06);
    r.gc(GR.BIT_MASK, 0x3c);
    r.wb(0xa0050, 0xf0);
    expect(r.planes(0x50)).toEqual([0x00, 0x30, 0x30, 0x00]);
  });

  it('the map mask keeps planes out of a write; read mode 0 reads the selected plane, read mode 1 compares colours', () => {
    const r = rig();
    planar(r);
    r.seq(SR.MAP_MASK, 0x06);
    r.wb(0xa0060, 0xc3);
    expect(r.planes(0x60)).toEqual([0, 0xc3, 0xc3, 0]);
    r.gc(GR.READ_MAP_SELECT, 2);
    expect(r.rb(0xa0060)).toBe(0xc3);
    r.gc(GR.MODE, 0x08);
    r.gc(GR.COLOR_COMPARE, 0x06);
    r.gc(GR.COLOR_DONT_CARE, 0x0f);
    expect(r.rb(0xa0060)).toBe(0xc3); // pixels of colour 6 (planes 1 and 2)
    r.gc(GR.COLOR_DONT_CARE, 0x01); // compare plane 0 only, with 0
    expect(r.rb(0xa0060)).toBe(0xff);
  });

  it('chain-4 puts CPU byte o in plane o & 3 at address o >> 2: VRAM byte o', () => {
    const r = rig();
    r.seq(SR.MAP_MASK, 0x0f);
    r.seq(SR.MEMORY_MODE, 0x0e);
    r.gc(GR.MISC, 0x05);
    for (let o = 0; o < 8; o++) r.wb(0xa0000 + 320 + o, 0x10 + o);
    expect(Array.from(r.vram.subarray(320, 328))).toEqual([0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]);
    expect(r.rb(0xa0000 + 323)).toBe(0x13);
    r.seq(SR.MAP_MASK, 0x01); // plane 0 only: bytes 4k
    r.wb(0xa0000 + 400, 1);
    r.wb(0xa0000 + 401, 2);
    expect([r.vram[400], r.vram[401]]).toEqual([1, 0]);
  });

  it('odd/even text writes put characters in plane 0 and attributes in plane 1 of one address, at 0xB8000 only', () => {
    const r = rig();
    r.seq(SR.MAP_MASK, 0x03);
    r.seq(SR.MEMORY_MODE, 0x02);
    r.gc(GR.MODE, 0x10);
    r.gc(GR.MISC, 0x0e); // 0xB8000, 32 KiB, chain odd/even
    r.wb(0xb8000 + 2 * 7, 0x41);
    r.wb(0xb8000 + 2 * 7 + 1, 0x1f);
    expect(r.planes(7).slice(0, 2)).toEqual([0x41, 0x1f]);
    expect([r.rb(0xb800e), r.rb(0xb800f)]).toEqual([0x41, 0x1f]);
    expect(r.written.slice(-2)).toEqual([
      [28, 1],
      [29, 1],
    ]);
    r.wb(0xa0000, 0x55); // outside the memory map: dropped
    expect(r.vram[0]).toBe(0);
    expect(r.rb(0xa0000)).toBe(0xff);
  });

  it('while a dispi mode is on the legacy display is off and the window is the 64 KiB bank into VRAM', () => {
    const r = rig();
    const set = (reg: number, v: number) => (r.io.write(0x1ce, 2, reg), r.io.write(0x1cf, 2, v));
    set(VBE_DISPI.ENABLE, 0x01);
    set(VBE_DISPI.BANK, 3);
    r.wb(0xa0004, 0x77);
    expect(r.vram[0x30004]).toBe(0x77);
    expect(r.rb(0xa0004)).toBe(0x77);
    expect(r.stats.i32[I32.VGA_MODE]).toBe(VgaMode.NONE);
  });
});

describe('the legacy display state in the stats block', () => {
  /** The CRTC timing of a 400-line, 80-column screen (modes 3 and 13h). */
  function crtc400(r: ReturnType<typeof rig>, maxScan: number) {
    r.out(0x3c2, 0x67);
    r.crtc(CR.H_DISPLAY_END, 0x4f);
    r.crtc(CR.V_DISPLAY_END, 0x8f);
    r.crtc(CR.OVERFLOW, 0x1f); // bit 1: VDE bit 8
    r.crtc(CR.MAX_SCAN_LINE, maxScan);
    r.crtc(CR.OFFSET, 40);
    r.crtc(CR.MODE_CONTROL, 0xa3); // as the BIOS sets it for modes 3 and 13h: no CGA compatibility
  }

  it('mode 3: 80×25 text of 9×16 cells, cursor, fonts and blink; the attribute palette maps through to the DAC', () => {
    const r = rig();
    crtc400(r, 0x4f);
    r.seq(SR.CLOCKING_MODE, 0x00);
    r.crtc(CR.CURSOR_START, 0x0d);
    r.crtc(CR.CURSOR_END, 0x0e);
    r.crtc(CR.CURSOR_HI, 0x01);
    r.crtc(CR.CURSOR_LO, 0x40);
    for (let i = 0; i < 16; i++)
      r.attr(i, [0, 1, 2, 3, 4, 5, 0x14, 7, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f][i]);
    r.attr(AR.MODE_CONTROL, 0x0c);
    r.attr(AR.PLANE_ENABLE, 0x0f);
    const gen = r.stats.i32[I32.VBE_GEN];
    expect(r.stats.i32[I32.VGA_MODE]).toBe(VgaMode.NONE); // PAS still clear: blanked
    r.out(0x3c0, 0x20);
    const i = r.stats.i32;
    expect(i[I32.VBE_GEN]).toBeGreaterThan(gen);
    expect([i[I32.VGA_MODE], i[I32.VGA_WIDTH], i[I32.VGA_HEIGHT]]).toEqual([VgaMode.TEXT, 720, 400]);
    expect([i[I32.VGA_COLS], i[I32.VGA_ROWS], i[I32.VGA_CHAR_WIDTH], i[I32.VGA_CHAR_HEIGHT]]).toEqual([80, 25, 9, 16]);
    expect([i[I32.VGA_CURSOR], i[I32.VGA_CURSOR_START], i[I32.VGA_CURSOR_END]]).toEqual([0x140, 13, 14]);
    expect(i[I32.VGA_LINE_BYTES]).toBe(320);
    expect(i[I32.VGA_FLAGS] & VGA_FLAG_BLINK).toBe(VGA_FLAG_BLINK);
    expect((i[I32.VGA_ATTR_MAP + 1] >>> 16) & 0xff).toBe(0x14); // colour 6 is DAC entry 0x14
    expect(i[I32.VGA_ATTR_MAP + 3] >>> 24).toBe(0x3f);
    // 80×50: an 8-line font on the same 400 lines; cursor off
    r.crtc(CR.MAX_SCAN_LINE, 0x47);
    r.crtc(CR.CURSOR_START, 0x20);
    expect([i[I32.VGA_ROWS], i[I32.VGA_CHAR_HEIGHT], i[I32.VGA_CURSOR]]).toEqual([50, 8, -1]);
  });

  it('mode 13h is 320×200 in 256 colours, mode 12h 640×480 in 16; a register write that changes nothing moves no generation', () => {
    const r = rig();
    crtc400(r, 0x41);
    r.seq(SR.CLOCKING_MODE, 0x01);
    r.gc(GR.MISC, 0x05);
    r.gc(GR.MODE, 0x40);
    r.inb(0x3da);
    r.out(0x3c0, 0x20);
    const i = r.stats.i32;
    expect([i[I32.VGA_MODE], i[I32.VGA_WIDTH], i[I32.VGA_HEIGHT]]).toEqual([VgaMode.LINEAR256, 320, 200]);
    const gen = i[I32.VBE_GEN];
    r.gc(GR.BIT_MASK, 0x12);
    r.seq(SR.MAP_MASK, 0x03);
    expect(i[I32.VBE_GEN]).toBe(gen);
    r.gc(GR.MODE, 0x00);
    r.crtc(CR.MAX_SCAN_LINE, 0x40);
    r.crtc(CR.V_DISPLAY_END, 0xdf);
    r.crtc(CR.OVERFLOW, 0x3e);
    expect([i[I32.VGA_MODE], i[I32.VGA_WIDTH], i[I32.VGA_HEIGHT]]).toEqual([VgaMode.PLANAR16, 640, 480]);
    r.seq(SR.CLOCKING_MODE, 0x21); // screen off
    expect(i[I32.VGA_MODE]).toBe(VgaMode.NONE);
  });

  it("modes 04h and 06h: CGA's 320×200 in 4 colours and 640×200 in 2, odd lines from the bank 8 KiB up", () => {
    const r = rig();
    crtc400(r, 0xc1); // two row scans a memory row, each line scanned twice
    r.crtc(CR.H_DISPLAY_END, 0x27);
    r.crtc(CR.OFFSET, 0x14);
    r.crtc(CR.MODE_CONTROL, 0xa2); // word mode, CGA compatibility
    r.seq(SR.CLOCKING_MODE, 0x09);
    r.gc(GR.MISC, 0x0f);
    r.gc(GR.MODE, 0x30); // shift register interleave, odd/even
    r.inb(0x3da);
    r.out(0x3c0, 0x20);
    const i = r.stats.i32;
    expect([i[I32.VGA_MODE], i[I32.VGA_WIDTH], i[I32.VGA_HEIGHT]]).toEqual([VgaMode.CGA4, 320, 200]);
    // The CPU's 0xBA000 (odd lines) packs by odd/even to plane address 0x1000: VRAM byte 0x4000.
    expect(i[I32.VGA_BANK_BIT]).toBe(0x4000);
    // Mode 06h: byte mode, planar with one plane shown; its odd lines at plane address 0x2000.
    r.crtc(CR.H_DISPLAY_END, 0x4f);
    r.crtc(CR.OFFSET, 0x28);
    r.crtc(CR.MODE_CONTROL, 0xc2);
    r.gc(GR.MODE, 0x00);
    expect([i[I32.VGA_MODE], i[I32.VGA_WIDTH], i[I32.VGA_HEIGHT], i[I32.VGA_BANK_BIT]]).toEqual([
      VgaMode.PLANAR16,
      640,
      200,
      0x8000,
    ]);
    // Hercules's four banks (CR17 bit 1 clear) are not rendered; without CGA compatibility the rows follow.
    r.crtc(CR.MODE_CONTROL, 0xc0);
    expect(i[I32.VGA_MODE]).toBe(VgaMode.NONE);
    r.crtc(CR.MODE_CONTROL, 0xc3);
    expect([i[I32.VGA_HEIGHT], i[I32.VGA_BANK_BIT]]).toEqual([100, 0]);
  });
});
