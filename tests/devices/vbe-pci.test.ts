import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { BochsVbe } from '../../src/machine/devices/vbe';
import { Pci } from '../../src/machine/devices/pci';
import { I32, STATS_BYTES, VRAM_BAR_DEFAULT, statsViews } from '../../src/shared/layout';

const cfg = (bus: number, dev: number, reg: number) => (0x80000000 | (bus << 16) | (dev << 11) | reg) >>> 0;

describe('PCI configuration mechanism #1', () => {
  const rig = (vramBytes = 8 << 20) => {
    const io = new IoBus();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const moves: (number | null)[] = [];
    const pci = new Pci(vramBytes, stats, (g) => moves.push(g));
    io.attach(pci);
    const read = (dev: number, reg: number) => (io.write(0xcf8, 4, cfg(0, dev, reg)), io.read(0xcfc, 4) >>> 0);
    const write = (dev: number, reg: number, v: number) => (
      io.write(0xcf8, 4, cfg(0, dev, reg)),
      io.write(0xcfc, 4, v)
    );
    return { io, stats, moves, read, write };
  };

  it('shows the host bridge 8086:1237 and the display 1234:1111 (class 0x0300); absent functions read all ones', () => {
    const { read } = rig();
    expect(read(0, 0)).toBe(0x12378086);
    expect(read(2, 0)).toBe(0x11111234);
    expect(read(2, 8) >>> 16).toBe(0x0300);
    expect(read(5, 0)).toBe(0xffffffff);
  });

  it('BAR sizing returns the VRAM size (8 and 64 MiB) with the prefetchable-memory flags', () => {
    for (const size of [8 << 20, 64 << 20]) {
      const { read, write } = rig(size);
      expect(read(2, 0x10)).toBe((VRAM_BAR_DEFAULT | 8) >>> 0);
      write(2, 0x10, 0xffffffff);
      const v = read(2, 0x10);
      expect(v & 0xf).toBe(0x8);
      expect((~(v & ~0xf) + 1) >>> 0).toBe(size);
    }
  });

  it('programming BAR0 moves the VRAM in the p2m (through the hypervisor) and publishes it', () => {
    const { read, write, moves, stats } = rig();
    write(2, 0x10, 0xffffffff);
    write(2, 0x10, 0xd0000000);
    expect(read(2, 0x10)).toBe(0xd0000008);
    expect(moves.at(-1)).toBe(0xd0000);
    expect(stats.i32[I32.VBE_BAR0] >>> 0).toBe(0xd0000000);
    write(2, 0x04, 0); // memory decoding off
    expect(moves.at(-1)).toBe(null);
  });
});

describe('the Bochs VBE dispi display', () => {
  const rig = () => {
    const io = new IoBus();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const vram = new Uint8Array(8 << 20);
    const marked: [number, number][] = [];
    const vbe = new BochsVbe(stats, vram, (o, l) => marked.push([o, l]));
    io.attach(vbe);
    const set = (reg: number, v: number) => (io.write(0x1ce, 2, reg), io.write(0x1cf, 2, v));
    const get = (reg: number) => (io.write(0x1ce, 2, reg), io.read(0x1cf, 2));
    return { io, stats, vram, marked, set, get };
  };

  it('identifies as 0xB0C5 and reports its capabilities with GETCAPS', () => {
    const { set, get } = rig();
    expect(get(0)).toBe(0xb0c5);
    set(4, 0x02);
    expect(get(1)).toBeGreaterThanOrEqual(1920);
    expect(get(3)).toBe(32);
    expect(get(10)).toBe(128); // 8 MiB in 64 KiB units
  });

  it('a mode set publishes mode, line length and start, bumps the generation, and clears VRAM through the dirty log', () => {
    const { set, stats, vram, marked } = rig();
    vram[100] = 7;
    const gen0 = stats.i32[I32.VBE_GEN];
    set(1, 1024);
    set(2, 768);
    set(3, 32);
    set(4, 0x41); // enabled + LFB
    const i = stats.i32;
    expect([i[I32.VBE_ENABLED], i[I32.VBE_XRES], i[I32.VBE_YRES], i[I32.VBE_BPP]]).toEqual([1, 1024, 768, 32]);
    expect(i[I32.VBE_LINE_BYTES]).toBe(4096);
    expect(i[I32.VBE_VIRT_HEIGHT]).toBe(2048);
    expect(i[I32.VBE_GEN]).toBeGreaterThan(gen0);
    expect(vram[100]).toBe(0);
    expect(marked).toEqual([[0, 8 << 20]]);
  });

  it('NOCLEARMEM keeps VRAM; the Y offset pans the start; 15 bpp uses 2 bytes a pixel', () => {
    const { set, stats, vram, marked } = rig();
    vram[5] = 9;
    set(1, 640);
    set(2, 480);
    set(3, 15);
    set(4, 0xc1);
    expect(vram[5]).toBe(9);
    expect(marked).toEqual([]);
    expect(stats.i32[I32.VBE_LINE_BYTES]).toBe(1280);
    const gen = stats.i32[I32.VBE_GEN];
    set(9, 100);
    expect(stats.i32[I32.VBE_START]).toBe(128000);
    expect(stats.i32[I32.VBE_GEN]).toBe(gen + 1);
  });

  it('the DAC palette (6-bit components) is published as 0x00RRGGBB for 8 bpp', () => {
    const { io, stats } = rig();
    io.write(0x3c8, 1, 5);
    io.write(0x3c9, 1, 63);
    io.write(0x3c9, 1, 0);
    io.write(0x3c9, 1, 32);
    expect(stats.i32[I32.PALETTE + 5]).toBe(0xff0082);
    io.write(0x3c7, 1, 5);
    expect([io.read(0x3c9, 1), io.read(0x3c9, 1), io.read(0x3c9, 1)]).toEqual([63, 0, 32]);
  });
});
