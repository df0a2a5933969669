/**
 * The display device (QEMU's std-vga): the Bochs VBE "dispi" registers (index 0x1CE, data 0x1CF)
 * and, in vga.ts, the legacy VGA (registers, DAC, the 0xA0000 window, text and planar modes). The
 * display state (mode, line length, start offset, virtual size, palette; the legacy VGA's mode)
 * is published into the stats/control SAB, and I32.VBE_GEN is bumped after every change, so the
 * ioemu reads it with Atomics and never calls into this device.
 */
import { I32, type StatsViews } from '../../shared/layout';
import type { AccessSize } from '../bus';
import type { Device, MmioRange, PortRange } from './device';
import { Vga } from './vga';

export const VBE_DISPI_ID5 = 0xb0c5;
/** The dispi index and data ports. */
export const VBE_DISPI_INDEX_PORT = 0x1ce;
export const VBE_DISPI_DATA_PORT = 0x1cf;
const MAX_XRES = 2560;
const MAX_YRES = 1600;
/** ENABLE register bits. */
export const VBE_DISPI_ENABLED = 0x01;
const GETCAPS = 0x02;
const DAC_8BIT = 0x20;
export const VBE_DISPI_LFB_ENABLED = 0x40;
const NOCLEARMEM = 0x80;
const ENABLED = VBE_DISPI_ENABLED;

/** The dispi registers (the index written to VBE_DISPI_INDEX_PORT). */
export const VBE_DISPI = {
  ID: 0,
  XRES: 1,
  YRES: 2,
  BPP: 3,
  ENABLE: 4,
  BANK: 5,
  VIRT_WIDTH: 6,
  VIRT_HEIGHT: 7,
  X_OFFSET: 8,
  Y_OFFSET: 9,
  VIDEO_MEMORY_64K: 10,
} as const;

export function bytesPerPixel(bpp: number): number {
  return bpp === 15 ? 2 : bpp >>> 3;
}

/** What the legacy VGA needs of the platform besides VRAM (see VgaEnv). */
export interface LegacyVgaHooks {
  /** A CPU write through the 0xA0000 window changed VRAM: mark it in the dirty log (default: markVramWritten). */
  windowWritten?: (offset: number, length: number) => void;
  /** Machine time in ms, for the retrace bits (default: performance.now()). */
  now?: () => number;
}

export class BochsVbe implements Device {
  readonly name = 'VGA (Bochs dispi)';
  private index = 0;
  private readonly regs = new Uint16Array(11);
  /** The legacy VGA: its ports and window are this device's too. */
  readonly vga: Vga;
  readonly ports: readonly PortRange[];
  readonly mmio: readonly MmioRange[];

  constructor(
    private readonly stats: StatsViews,
    private readonly vram: Uint8Array,
    /** A device write into VRAM (the clear on enable) goes through the hypervisor's dirty log. */
    private readonly markVramWritten: (offset: number, length: number) => void,
    hooks: LegacyVgaHooks = {},
  ) {
    this.vga = new Vga({
      stats,
      vram,
      windowWritten: hooks.windowWritten ?? markVramWritten,
      now: hooks.now ?? (() => performance.now()),
    });
    this.ports = [
      {
        first: VBE_DISPI_INDEX_PORT,
        count: 2,
        handler: {
          read: (p: number, _s: AccessSize) => (p === VBE_DISPI_INDEX_PORT ? this.index : this.readReg(this.index)),
          write: (p: number, _s: AccessSize, v: number) =>
            p === VBE_DISPI_INDEX_PORT ? (this.index = v & 0xffff) : this.writeReg(this.index, v & 0xffff),
        },
      },
      ...this.vga.ports,
    ];
    this.mmio = this.vga.mmio;
    this.reset();
  }

  saveState(): unknown {
    return { index: this.index, regs: Array.from(this.regs), vga: this.vga.saveState() };
  }

  reset(): void {
    this.regs.fill(0);
    this.regs[VBE_DISPI.ID] = VBE_DISPI_ID5;
    this.regs[VBE_DISPI.BPP] = 8;
    this.regs[VBE_DISPI.VIDEO_MEMORY_64K] = this.vram.length >>> 16;
    this.index = 0;
    this.vga.reset();
    this.publish();
  }

  private readReg(i: number): number {
    const caps = (this.regs[VBE_DISPI.ENABLE] & GETCAPS) !== 0;
    if (caps && i === VBE_DISPI.XRES) return MAX_XRES;
    if (caps && i === VBE_DISPI.YRES) return MAX_YRES;
    if (caps && i === VBE_DISPI.BPP) return 32;
    return i < this.regs.length ? this.regs[i] : 0xffff;
  }

  private writeReg(i: number, v: number): void {
    const enabled = (this.regs[VBE_DISPI.ENABLE] & ENABLED) !== 0;
    switch (i) {
      case VBE_DISPI.ID:
        if (v >= 0xb0c0 && v <= VBE_DISPI_ID5) this.regs[VBE_DISPI.ID] = v;
        return;
      case VBE_DISPI.XRES:
      case VBE_DISPI.YRES:
      case VBE_DISPI.BPP:
        if (enabled) return; // geometry changes only while disabled, as in Bochs
        if (i === VBE_DISPI.BPP && ![8, 15, 16, 24, 32].includes(v)) v = 8;
        if (i === VBE_DISPI.XRES) v = Math.min(v & ~7, MAX_XRES);
        if (i === VBE_DISPI.YRES) v = Math.min(v, MAX_YRES);
        this.regs[i] = v;
        return;
      case VBE_DISPI.ENABLE:
        this.enable(v);
        break;
      case VBE_DISPI.VIRT_WIDTH:
        this.regs[VBE_DISPI.VIRT_WIDTH] = Math.max(v, this.regs[VBE_DISPI.XRES]);
        this.fitVirtualHeight();
        break;
      case VBE_DISPI.X_OFFSET:
      case VBE_DISPI.Y_OFFSET:
        this.regs[i] = v;
        break;
      case VBE_DISPI.BANK:
        this.regs[VBE_DISPI.BANK] = v;
        this.syncVga();
        return;
      default:
        return;
    }
    this.publish();
  }

  private enable(v: number): void {
    const was = (this.regs[VBE_DISPI.ENABLE] & ENABLED) !== 0;
    this.regs[VBE_DISPI.ENABLE] = v;
    if (v & ENABLED && !was) {
      const x = this.regs[VBE_DISPI.XRES] || 640;
      const y = this.regs[VBE_DISPI.YRES] || 480;
      this.regs[VBE_DISPI.XRES] = x;
      this.regs[VBE_DISPI.YRES] = y;
      this.regs[VBE_DISPI.VIRT_WIDTH] = x;
      this.regs[VBE_DISPI.X_OFFSET] = this.regs[VBE_DISPI.Y_OFFSET] = 0;
      this.fitVirtualHeight();
      if (!(v & NOCLEARMEM)) {
        const bytes = Math.min(this.vram.length, this.lineBytes() * this.regs[VBE_DISPI.VIRT_HEIGHT]);
        this.vram.fill(0, 0, bytes);
        this.markVramWritten(0, bytes);
      }
    }
  }

  private lineBytes(): number {
    return this.regs[VBE_DISPI.VIRT_WIDTH] * bytesPerPixel(this.regs[VBE_DISPI.BPP]);
  }

  private fitVirtualHeight(): void {
    const line = this.lineBytes();
    this.regs[VBE_DISPI.VIRT_HEIGHT] = line ? Math.min(0xffff, Math.floor(this.vram.length / line)) : 0;
  }

  /** The legacy VGA follows ENABLE (display off, 8-bit DAC) and BANK (its window). */
  private syncVga(): void {
    const e = this.regs[VBE_DISPI.ENABLE];
    this.vga.setDispi((e & ENABLED) !== 0, (e & DAC_8BIT) !== 0, this.regs[VBE_DISPI.BANK]);
  }

  private publish(): void {
    this.syncVga();
    const i32 = this.stats.i32;
    const r = this.regs;
    const bpp = bytesPerPixel(r[VBE_DISPI.BPP]);
    Atomics.store(i32, I32.VBE_ENABLED, r[VBE_DISPI.ENABLE] & ENABLED);
    Atomics.store(i32, I32.VBE_XRES, r[VBE_DISPI.XRES]);
    Atomics.store(i32, I32.VBE_YRES, r[VBE_DISPI.YRES]);
    Atomics.store(i32, I32.VBE_BPP, r[VBE_DISPI.BPP]);
    Atomics.store(i32, I32.VBE_LINE_BYTES, this.lineBytes());
    Atomics.store(i32, I32.VBE_START, r[VBE_DISPI.Y_OFFSET] * this.lineBytes() + r[VBE_DISPI.X_OFFSET] * bpp);
    Atomics.store(i32, I32.VBE_VIRT_WIDTH, r[VBE_DISPI.VIRT_WIDTH]);
    Atomics.store(i32, I32.VBE_VIRT_HEIGHT, r[VBE_DISPI.VIRT_HEIGHT]);
    Atomics.add(i32, I32.VBE_GEN, 1);
  }
}
