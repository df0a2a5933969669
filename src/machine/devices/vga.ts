/**
 * The legacy VGA of the display (QEMU's std-vga, whose Bochs dispi extension is in vbe.ts): the
 * misc output register, sequencer, CRTC, graphics controller, attribute controller, DAC and input
 * status registers, and the 0xA0000–0xBFFFF memory window, with the planes kept in VRAM.
 *
 * ## How the planes sit in VRAM
 * Plane p of plane address a is VRAM byte a * 4 + p: the four planes interleaved, one 32-bit word
 * per plane address (QEMU's layout). Why:
 *  - a planar access is one word: the latches are the word, a write-mode result is stored with
 *    one masked word store, and the dirty log sees one VRAM page per 1,024 plane addresses;
 *  - chain-4 (mode 13h) is linear: CPU offset o is plane o & 3 at address o >> 2, that is VRAM
 *    byte o, so 13h's picture is an 8-bpp framebuffer the ioemu converts like a dispi one;
 *  - odd/even (text) puts character i at plane 0 and its attribute at plane 1 of address i,
 *    VRAM bytes 4i and 4i + 1, and the font (plane 2) in the same words: an 80×25 screen and
 *    its font are 8 pages, so the dirty log reports a few pages where poll compares all VRAM.
 * Like QEMU, the CRTC's byte/word/doubleword addressing is folded into this layout: the start
 * and cursor addresses are plane addresses (× 4 in VRAM) and the offset register counts 8 VRAM
 * bytes, in every mode. A guest that writes in one addressing mode and reads in another sees
 * QEMU's compact addresses, not a real VGA's sparse ones.
 *
 * Every write through the window goes to VRAM here and is reported to the hypervisor's dirty log
 * (`windowWritten`, the same P2M_D bit the MMU sets for an LFB store), so the ioemu's dirty modes
 * see text and planar screens change exactly as they see the LFB. While a dispi mode is enabled
 * the legacy display is off: the window then is dispi's 64 KiB bank into VRAM (as in Bochs).
 *
 * What the screen shows is derived from the registers after every change and published in the
 * stats block (I32.VGA_*, the palette at I32.PALETTE) under the VBE_GEN seqlock; the ioemu never
 * calls in here. Register facts: the IBM VGA technical reference as FreeVGA documents it.
 */
import { I32, VGA_FLAG_BLINK, VGA_FLAG_LINE_GRAPHICS, VgaMode, type StatsViews } from '../../shared/layout';
import type { AccessSize, MmioHandler, PortRange } from '../bus';
import type { MmioRange } from './device';

export const VGA_WINDOW_BASE = 0xa0000;
export const VGA_WINDOW_BYTES = 0x20000;

/** Sequencer (0x3C4/0x3C5) register indices. */
export const SR = { RESET: 0, CLOCKING_MODE: 1, MAP_MASK: 2, CHAR_MAP_SELECT: 3, MEMORY_MODE: 4 } as const;
/** Graphics controller (0x3CE/0x3CF) register indices. */
export const GR = {
  SET_RESET: 0,
  ENABLE_SET_RESET: 1,
  COLOR_COMPARE: 2,
  DATA_ROTATE: 3,
  READ_MAP_SELECT: 4,
  MODE: 5,
  MISC: 6,
  COLOR_DONT_CARE: 7,
  BIT_MASK: 8,
} as const;
/** CRTC (0x3D4/0x3D5, or 0x3B4/0x3B5) register indices used by name. */
export const CR = {
  H_DISPLAY_END: 0x01,
  V_TOTAL: 0x06,
  OVERFLOW: 0x07,
  MAX_SCAN_LINE: 0x09,
  CURSOR_START: 0x0a,
  CURSOR_END: 0x0b,
  START_HI: 0x0c,
  START_LO: 0x0d,
  CURSOR_HI: 0x0e,
  CURSOR_LO: 0x0f,
  V_RETRACE_START: 0x10,
  V_RETRACE_END: 0x11,
  V_DISPLAY_END: 0x12,
  OFFSET: 0x13,
  MODE_CONTROL: 0x17,
} as const;
/** Attribute controller (0x3C0/0x3C1) register indices past the 16 palette entries. */
export const AR = {
  MODE_CONTROL: 0x10,
  OVERSCAN: 0x11,
  PLANE_ENABLE: 0x12,
  H_PEL_PANNING: 0x13,
  COLOR_SELECT: 0x14,
} as const;

/** The bits of each register that exist (a read returns what was written, masked). */
const SR_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e];
const GR_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff];
const AR_MASK = [...new Array<number>(16).fill(0x3f), 0xef, 0xff, 0x3f, 0x0f, 0x0f];
const CR_COUNT = 0x19;

/** Misc output: I/O address select (CRTC and input status 1 at 0x3Dx rather than 0x3Bx). */
const MISC_IOAS = 0x01;
/** Attribute index register: palette address source (clear while the palette is being loaded: the screen blanks). */
const AR_PAS = 0x20;

/** A 4-bit plane set, one byte of ones per plane: the masks of a 32-bit (four-plane) access. */
const EXPAND4 = Int32Array.from({ length: 16 }, (_, m) =>
  [0, 1, 2, 3].reduce((v, p) => v | (m & (1 << p) ? 0xff << (p * 8) : 0), 0),
);

/** Character map n's plane-2 address (sequencer reg 3's 3-bit map numbers; 8 KiB each, FreeVGA). */
const CHAR_MAP_BASE = [0x0000, 0x4000, 0x8000, 0xc000, 0x2000, 0x6000, 0xa000, 0xe000];

/** The VGA words of the stats block, in order (the derived state is compared and published whole). */
const PUBLISHED = [
  I32.VGA_MODE,
  I32.VGA_WIDTH,
  I32.VGA_HEIGHT,
  I32.VGA_START,
  I32.VGA_LINE_BYTES,
  I32.VGA_CHAR_WIDTH,
  I32.VGA_CHAR_HEIGHT,
  I32.VGA_COLS,
  I32.VGA_ROWS,
  I32.VGA_CURSOR,
  I32.VGA_CURSOR_START,
  I32.VGA_CURSOR_END,
  I32.VGA_FONT_A,
  I32.VGA_FONT_B,
  I32.VGA_FLAGS,
  I32.VGA_BANK_BIT,
  I32.VGA_ATTR_MAP,
  I32.VGA_ATTR_MAP + 1,
  I32.VGA_ATTR_MAP + 2,
  I32.VGA_ATTR_MAP + 3,
] as const;

/** Nominal timing for input status 1 when the CRTC holds no usable one: 70 Hz, 449 lines (mode 3). */
const DEFAULT_TIMING = { frameMs: 1000 / 70, total: 449, displayEnd: 400, retraceStart: 412, retraceLines: 2 };
/** The share of a scan line spent in horizontal blanking (input status 1 bit 0 also covers it). */
const H_BLANK_SHARE = 0.2;

export interface VgaEnv {
  stats: StatsViews;
  vram: Uint8Array;
  /** A CPU write through the window changed VRAM bytes [offset, offset + length): mark them in the dirty log. */
  windowWritten: (offset: number, length: number) => void;
  /** Machine time in ms: paces the retrace bits of input status 1. */
  now: () => number;
}

export class Vga {
  private misc = 0;
  private srIndex = 0;
  private readonly sr = new Uint8Array(8);
  private grIndex = 0;
  private readonly gr = new Uint8Array(16);
  private crIndex = 0;
  private readonly cr = new Uint8Array(CR_COUNT);
  /** Attribute index register (index bits 0–4, PAS bit 5) and the 0x3C0 index/data flip-flop. */
  private arIndex = 0;
  private arFlipFlop = false;
  private readonly ar = new Uint8Array(0x15);
  private featureControl = 0;
  /** The four planes' bytes at the last planar read (one per byte lane). */
  private latch = 0;

  private readonly dac = new Uint8Array(256 * 3);
  private dacWrite = 0;
  private dacRead = 0;
  /** 0x3C7 read-back: 3 after a read index was set, 0 after a write index (DAC state). */
  private dacState = 0;
  private pelMask = 0xff;
  private dac8Bit = false;

  /** A dispi mode is on: the legacy display is off and the window is dispi's bank. */
  private dispi = false;
  private bankOffset = 0;

  private readonly vram32: Int32Array;
  private readonly derived = new Int32Array(PUBLISHED.length);
  private readonly published = new Int32Array(PUBLISHED.length).fill(-2);

  readonly ports: readonly PortRange[];
  readonly mmio: readonly MmioRange[];

  constructor(private readonly env: VgaEnv) {
    const { vram } = env;
    this.vram32 = new Int32Array(vram.buffer, vram.byteOffset, vram.byteLength >> 2);
    const handler = {
      read: (p: number, size: AccessSize) => {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.readPort(p + i);
        return v >>> 0;
      },
      // A word write (OUT DX, AX to 0x3C4, 0x3CE, 0x3D4) is index then data, byte by byte.
      write: (p: number, size: AccessSize, v: number) => {
        for (let i = 0; i < size; i++) this.writePort(p + i, (v >>> (i * 8)) & 0xff);
      },
    };
    this.ports = [
      { first: 0x3b4, count: 2, handler },
      { first: 0x3ba, count: 1, handler },
      { first: 0x3c0, count: 16, handler },
      { first: 0x3d4, count: 2, handler },
      { first: 0x3da, count: 1, handler },
    ];
    const window: MmioHandler = {
      read: (addr: number, size: AccessSize) => {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.readByte(addr + i - VGA_WINDOW_BASE);
        return v >>> 0;
      },
      write: (addr: number, size: AccessSize, v: number) => {
        for (let i = 0; i < size; i++) this.writeByte(addr + i - VGA_WINDOW_BASE, (v >>> (i * 8)) & 0xff);
      },
    };
    this.mmio = [{ base: VGA_WINDOW_BASE, length: VGA_WINDOW_BYTES, handler: window }];
    this.reset();
  }

  reset(): void {
    this.misc = this.srIndex = this.grIndex = this.crIndex = this.arIndex = this.featureControl = 0;
    this.sr.fill(0);
    this.gr.fill(0);
    this.cr.fill(0);
    this.ar.fill(0);
    this.arFlipFlop = false;
    this.latch = 0;
    this.dacWrite = this.dacRead = this.dacState = 0;
    this.pelMask = 0xff;
    this.dac8Bit = false;
    this.dispi = false;
    this.bankOffset = 0;
    // Until a VGA BIOS loads one, a grey ramp keeps a dispi 8-bpp picture visible.
    for (let i = 0; i < 256; i++) this.dac.fill(i >> 2, i * 3, i * 3 + 3);
    this.publishPalette();
    this.publish();
  }

  saveState(): unknown {
    return {
      misc: this.misc,
      indices: [this.srIndex, this.grIndex, this.crIndex, this.arIndex],
      sr: Array.from(this.sr),
      gr: Array.from(this.gr),
      cr: Array.from(this.cr),
      ar: Array.from(this.ar),
      arFlipFlop: this.arFlipFlop,
      latch: this.latch,
      dac: Array.from(this.dac),
      dacWrite: this.dacWrite,
      dacRead: this.dacRead,
      pelMask: this.pelMask,
    };
  }

  /**
   * Mode 3 as a VGA BIOS leaves it (80×25 text, 9×16 cells, 720×400 at 70 Hz; the IBM VGA
   * reference's register values for mode 3, as FreeVGA lists them): the registers, the DAC's 64
   * EGA colours, `font` (8×16, 256 glyphs) in plane 2 at character map 0, and a blank screen of
   * grey-on-black spaces with the cursor at the top left. For a kernel booted without a VGA BIOS
   * (the Multiboot loader), whose text console writes 0xB8000 expecting this.
   */
  setMode3(font: Uint8Array): void {
    this.misc = 0x67; // colour I/O at 0x3Dx, 28 MHz dot clock, RAM on
    this.sr.set([0x03, 0x00, 0x03, 0x00, 0x02]); // 9-dot cells; planes 0–1; odd/even, not chain-4
    this.cr.set([
      0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f,
      0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
    ]);
    this.gr.set([0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff]); // odd/even, text, 0xB8000 32 KiB
    this.ar.set([0, 1, 2, 3, 4, 5, 0x14, 7, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0, 0x0f, 0x08, 0]);
    this.arIndex = AR_PAS; // the palette loaded: the screen shows
    this.arFlipFlop = false;
    // The EGA palette: index bits 0–2 are blue, green, red at 2/3 intensity, bits 3–5 the same at 1/3.
    for (let i = 0; i < 64; i++) {
      const c = (lo: number, hi: number) => ((i >> lo) & 1) * 0x2a + ((i >> hi) & 1) * 0x15;
      this.dac.set([c(2, 5), c(1, 4), c(0, 3)], i * 3);
    }
    this.publishPalette();
    const vram = this.env.vram;
    for (let ch = 0; ch < 256; ch++)
      for (let line = 0; line < 32; line++) vram[(ch * 32 + line) * 4 + 2] = line < 16 ? font[ch * 16 + line] : 0;
    for (let i = 0; i < 80 * 25; i++) {
      vram[i * 4] = 0x20;
      vram[i * 4 + 1] = 0x07;
    }
    this.env.windowWritten(0, 256 * 32 * 4);
    this.publish();
  }

  /** The dispi side: its ENABLE register's display and 8-bit-DAC bits, and its bank (64 KiB units). */
  setDispi(enabled: boolean, dac8Bit: boolean, bank: number): void {
    this.bankOffset = bank << 16;
    const changed = enabled !== this.dispi || dac8Bit !== this.dac8Bit;
    this.dispi = enabled;
    if (dac8Bit !== this.dac8Bit) {
      this.dac8Bit = dac8Bit;
      this.publishPalette();
    }
    if (changed) this.publish();
  }

  // ---- ports -------------------------------------------------------------------------------

  /** The CRTC and input status 1 answer at 0x3Dx or 0x3Bx as misc output's IOAS selects. */
  private colorPort(p: number): boolean {
    return (p & 0xfff0) === 0x3d0 ? (this.misc & MISC_IOAS) !== 0 : (this.misc & MISC_IOAS) === 0;
  }

  private readPort(p: number): number {
    switch (p) {
      case 0x3c0:
        return this.arIndex;
      case 0x3c1:
        return (this.arIndex & 0x1f) < this.ar.length ? this.ar[this.arIndex & 0x1f] : 0;
      case 0x3c2:
        return 0x10; // input status 0: switch sense (a colour monitor is attached)
      case 0x3c4:
        return this.srIndex;
      case 0x3c5:
        return this.sr[this.srIndex];
      case 0x3c6:
        return this.pelMask;
      case 0x3c7:
        return this.dacState;
      case 0x3c8:
        return Math.floor(this.dacWrite / 3);
      case 0x3c9:
        return this.readDac();
      case 0x3ca:
        return this.featureControl;
      case 0x3cc:
        return this.misc;
      case 0x3ce:
        return this.grIndex;
      case 0x3cf:
        return this.gr[this.grIndex];
      case 0x3b4:
      case 0x3d4:
        return this.colorPort(p) ? this.crIndex : 0xff;
      case 0x3b5:
      case 0x3d5:
        if (!this.colorPort(p)) return 0xff;
        return this.crIndex < CR_COUNT ? this.cr[this.crIndex] : 0;
      case 0x3ba:
      case 0x3da:
        if (!this.colorPort(p)) return 0xff;
        this.arFlipFlop = false; // reading input status 1 makes the next 0x3C0 write an index
        return this.inputStatus1();
      default:
        return 0xff;
    }
  }

  private writePort(p: number, v: number): void {
    switch (p) {
      case 0x3c0:
        if (!this.arFlipFlop) this.arIndex = v & 0x3f;
        else if ((this.arIndex & 0x1f) < this.ar.length)
          this.ar[this.arIndex & 0x1f] = v & AR_MASK[this.arIndex & 0x1f];
        this.arFlipFlop = !this.arFlipFlop;
        break;
      case 0x3c2:
        this.misc = v;
        break;
      case 0x3c4:
        this.srIndex = v & 7;
        return;
      case 0x3c5:
        this.sr[this.srIndex] = v & (SR_MASK[this.srIndex] ?? 0);
        break;
      case 0x3c6:
        this.pelMask = v;
        this.publishPalette();
        return;
      case 0x3c7:
        this.dacRead = v * 3;
        this.dacState = 3;
        return;
      case 0x3c8:
        this.dacWrite = v * 3;
        this.dacState = 0;
        return;
      case 0x3c9:
        this.writeDac(v);
        return;
      case 0x3ce:
        this.grIndex = v & 0x0f;
        return;
      case 0x3cf:
        this.gr[this.grIndex] = v & (GR_MASK[this.grIndex] ?? 0);
        break;
      case 0x3b4:
      case 0x3d4:
        if (this.colorPort(p)) this.crIndex = v & 0x3f;
        return;
      case 0x3b5:
      case 0x3d5:
        if (!this.colorPort(p) || this.crIndex >= CR_COUNT) return;
        this.writeCrtc(this.crIndex, v);
        break;
      case 0x3ba:
      case 0x3da:
        if (this.colorPort(p)) this.featureControl = v & 3;
        return;
      default:
        return;
    }
    this.publish();
  }

  /**
   * CRTC reg 0x11 bit 7 write-protects regs 0–7, except the line compare's bit 8 in the overflow
   * register (bit 4), which stays writable (FreeVGA, "Vertical Retrace End Register").
   */
  private writeCrtc(i: number, v: number): void {
    if (this.cr[CR.V_RETRACE_END] & 0x80 && i <= 7) {
      if (i === CR.OVERFLOW) this.cr[i] = (this.cr[i] & ~0x10) | (v & 0x10);
      return;
    }
    this.cr[i] = v;
  }

  /**
   * Input status 1: bit 3 vertical retrace, bit 0 "display disabled" (horizontal or vertical
   * blanking), from machine time and the CRTC's vertical timing, so a guest that waits for the
   * retrace to begin and end sees both within a frame.
   */
  private inputStatus1(): number {
    const cr = this.cr;
    const ov = cr[CR.OVERFLOW];
    const total = (cr[CR.V_TOTAL] | ((ov & 0x01) << 8) | ((ov & 0x20) << 4)) + 2;
    const displayEnd = this.scanLines();
    const retraceStart = cr[CR.V_RETRACE_START] | ((ov & 0x04) << 6) | ((ov & 0x80) << 2);
    const sane = displayEnd > 0 && retraceStart >= displayEnd && total > retraceStart;
    const t = sane
      ? {
          frameMs: 1000 / (total > 500 ? 60 : 70),
          total,
          displayEnd,
          retraceStart,
          retraceLines: (cr[CR.V_RETRACE_END] - retraceStart) & 0x0f || 16,
        }
      : DEFAULT_TIMING;
    const lines = ((this.env.now() % t.frameMs) / t.frameMs) * t.total;
    const line = Math.floor(lines);
    const vretrace = line >= t.retraceStart && line < t.retraceStart + t.retraceLines;
    const blank = line >= t.displayEnd || lines - line >= 1 - H_BLANK_SHARE;
    return (vretrace ? 0x08 : 0) | (blank ? 0x01 : 0);
  }

  // ---- the DAC -----------------------------------------------------------------------------

  private writeDac(v: number): void {
    const i = this.dacWrite % 768;
    this.dac[i] = v;
    this.dacWrite = (i + 1) % 768;
    if (this.dacWrite % 3 === 0) {
      this.publishPaletteEntry(Math.floor(i / 3));
      Atomics.add(this.env.stats.i32, I32.VBE_GEN, 1);
    }
  }

  private readDac(): number {
    const i = this.dacRead % 768;
    this.dacRead = (i + 1) % 768;
    return this.dac[i];
  }

  private publishPalette(): void {
    for (let i = 0; i < 256; i++) this.publishPaletteEntry(i);
    Atomics.add(this.env.stats.i32, I32.VBE_GEN, 1);
  }

  /**
   * Palette entry i as the screen shows pixel value i: through the PEL mask, then the DAC's 6-bit
   * components scaled to 8 bits (or taken whole in dispi's 8-bit DAC mode), as 0x00RRGGBB.
   */
  private publishPaletteEntry(i: number): void {
    for (let shown = 0; shown < 256; shown++) {
      if ((shown & this.pelMask) !== i) continue;
      const c = (k: number) => {
        const v = this.dac[i * 3 + k];
        return this.dac8Bit ? v : ((v & 63) << 2) | ((v & 63) >> 4);
      };
      Atomics.store(this.env.stats.i32, I32.PALETTE + shown, (c(0) << 16) | (c(1) << 8) | c(2));
    }
  }

  // ---- the memory window -------------------------------------------------------------------

  /**
   * The window offset's address in the planes' space, or -1 where the graphics controller's
   * memory map (GR6 bits 2–3) does not decode it: 0 = 0xA0000 128 KiB, 1 = 0xA0000 64 KiB,
   * 2 = 0xB0000 32 KiB, 3 = 0xB8000 32 KiB.
   */
  private planeAddress(offset: number): number {
    switch ((this.gr[GR.MISC] >> 2) & 3) {
      case 0:
        return offset;
      case 1:
        return offset < 0x10000 ? offset : -1;
      case 2:
        return offset >= 0x10000 && offset < 0x18000 ? offset - 0x10000 : -1;
      default:
        return offset >= 0x18000 ? offset - 0x18000 : -1;
    }
  }

  /** One byte read through the window (offset from 0xA0000). */
  readByte(offset: number): number {
    const vram = this.env.vram;
    if (this.dispi) {
      const i = this.bankOffset + offset;
      return offset < 0x10000 && i < vram.length ? vram[i] : 0xff;
    }
    const a = this.planeAddress(offset);
    if (a < 0) return 0xff;
    if (this.sr[SR.MEMORY_MODE] & 0x08) return vram[a]; // chain-4: plane a & 3, address a >> 2
    if (this.gr[GR.MODE] & 0x10) {
      // Odd/even reads: A0 picks plane 0/1 (or 2/3 with read map select bit 1).
      const plane = (this.gr[GR.READ_MAP_SELECT] & 2) | (a & 1);
      return vram[((a & ~1) << 1) | plane];
    }
    this.latch = this.vram32[a];
    if ((this.gr[GR.MODE] & 0x08) === 0) return (this.latch >>> ((this.gr[GR.READ_MAP_SELECT] & 3) * 8)) & 0xff;
    // Read mode 1 (colour compare): a 1 for each pixel whose planes (those not "don't care") match.
    const care = EXPAND4[this.gr[GR.COLOR_DONT_CARE] & 0x0f];
    const differ = (this.latch ^ EXPAND4[this.gr[GR.COLOR_COMPARE] & 0x0f]) & care;
    return ~(differ | (differ >>> 8) | (differ >>> 16) | (differ >>> 24)) & 0xff;
  }

  /** One byte written through the window (offset from 0xA0000). */
  writeByte(offset: number, v: number): void {
    const vram = this.env.vram;
    if (this.dispi) {
      const i = this.bankOffset + offset;
      if (offset < 0x10000 && i < vram.length) {
        vram[i] = v;
        this.env.windowWritten(i, 1);
      }
      return;
    }
    const a = this.planeAddress(offset);
    if (a < 0) return;
    const mapMask = this.sr[SR.MAP_MASK] & 0x0f;
    if (this.sr[SR.MEMORY_MODE] & 0x08) {
      if (mapMask & (1 << (a & 3))) {
        vram[a] = v;
        this.env.windowWritten(a, 1);
      }
      return;
    }
    if ((this.sr[SR.MEMORY_MODE] & 0x04) === 0) {
      // Odd/even writes (sequencer memory mode bit 2 clear): even addresses to plane 0 (or 2), odd to 1 (or 3).
      const plane = (this.gr[GR.READ_MAP_SELECT] & 2) | (a & 1);
      if (mapMask & (1 << plane)) {
        const i = ((a & ~1) << 1) | plane;
        vram[i] = v;
        this.env.windowWritten(i, 1);
      }
      return;
    }
    this.vram32[a] = (this.vram32[a] & ~EXPAND4[mapMask]) | (this.writeModeResult(v) & EXPAND4[mapMask]);
    this.env.windowWritten(a * 4, 4);
  }

  /** The four planes' bytes a planar write produces (write modes 0–3, FreeVGA "Graphics Mode Register"). */
  private writeModeResult(v: number): number {
    const gr = this.gr;
    const rotate = gr[GR.DATA_ROTATE] & 7;
    const rotated = ((v >>> rotate) | (v << (8 - rotate))) & 0xff;
    let bitMask = gr[GR.BIT_MASK];
    let planes: number;
    switch (gr[GR.MODE] & 3) {
      case 0: {
        // The rotated byte in every plane, or set/reset's colour in the planes it is enabled for.
        const enabled = EXPAND4[gr[GR.ENABLE_SET_RESET] & 0x0f];
        planes = (Math.imul(rotated, 0x01010101) & ~enabled) | (EXPAND4[gr[GR.SET_RESET] & 0x0f] & enabled);
        break;
      }
      case 1:
        return this.latch; // the latches, as they are
      case 2:
        planes = EXPAND4[v & 0x0f]; // the byte's low nibble is a colour
        break;
      default:
        // Mode 3: set/reset is the colour and the rotated byte ANDed with the bit mask selects the pixels.
        planes = EXPAND4[gr[GR.SET_RESET] & 0x0f];
        bitMask &= rotated;
    }
    const latch = this.latch;
    switch ((gr[GR.DATA_ROTATE] >> 3) & 3) {
      case 1:
        planes &= latch;
        break;
      case 2:
        planes |= latch;
        break;
      case 3:
        planes ^= latch;
        break;
    }
    const mask = Math.imul(bitMask, 0x01010101);
    return (planes & mask) | (latch & ~mask);
  }

  // ---- what the screen shows ---------------------------------------------------------------

  /** The CRTC's vertical display end + 1: the displayed scan lines. */
  private scanLines(): number {
    const ov = this.cr[CR.OVERFLOW];
    return (this.cr[CR.V_DISPLAY_END] | ((ov & 0x02) << 7) | ((ov & 0x40) << 3)) + 1;
  }

  /** Derive the displayed mode from the registers into `this.derived` (PUBLISHED's order). */
  private derive(): void {
    const d = this.derived;
    d.fill(0);
    const { sr, gr, cr, ar } = this;
    // Blank in a dispi mode, with the screen off (SR1 bit 5), or while the attribute palette is being loaded (PAS clear).
    if (this.dispi || sr[SR.CLOCKING_MODE] & 0x20 || (this.arIndex & AR_PAS) === 0) return;
    const columns = cr[CR.H_DISPLAY_END] + 1;
    const scanLines = this.scanLines();
    d[3] = ((cr[CR.START_HI] << 8) | cr[CR.START_LO]) * 4;
    d[4] = cr[CR.OFFSET] * 8;
    if ((gr[GR.MISC] & 1) === 0) {
      const charWidth = sr[SR.CLOCKING_MODE] & 1 ? 8 : 9;
      const charHeight = (cr[CR.MAX_SCAN_LINE] & 0x1f) + 1;
      d[0] = VgaMode.TEXT;
      d[1] = columns * charWidth;
      d[2] = scanLines;
      d[5] = charWidth;
      d[6] = charHeight;
      d[7] = columns;
      d[8] = Math.ceil(scanLines / charHeight);
      const start = cr[CR.CURSOR_START];
      const end = cr[CR.CURSOR_END] & 0x1f;
      // Cursor off: CR0A bit 5, or a start line below the end line (no cursor on a VGA).
      d[9] = start & 0x20 || (start & 0x1f) > end ? -1 : (cr[CR.CURSOR_HI] << 8) | cr[CR.CURSOR_LO];
      d[10] = start & 0x1f;
      d[11] = end;
      const map = sr[SR.CHAR_MAP_SELECT];
      d[12] = CHAR_MAP_BASE[((map >> 3) & 4) | ((map >> 2) & 3)];
      d[13] = CHAR_MAP_BASE[((map >> 2) & 4) | (map & 3)];
      d[14] =
        (ar[AR.MODE_CONTROL] & 0x08 ? VGA_FLAG_BLINK : 0) | (ar[AR.MODE_CONTROL] & 0x04 ? VGA_FLAG_LINE_GRAPHICS : 0);
    } else {
      // The shift register mode (GR5 bits 5–6): 0 planar (a bit of each plane a pixel), 1 the
      // interleave of CGA's 4-colour modes (2-bit pixels), 2–3 256 colours (8 bits over two dot clocks).
      const shift = (gr[GR.MODE] >> 5) & 3;
      const maxScan = cr[CR.MAX_SCAN_LINE] & 0x1f;
      const doubleScan = (cr[CR.MAX_SCAN_LINE] >> 7) & 1;
      const mode = cr[CR.MODE_CONTROL];
      d[0] = shift === 0 ? VgaMode.PLANAR16 : shift === 1 ? VgaMode.CGA4 : VgaMode.LINEAR256;
      d[1] = (columns * 8) >> (shift >= 2 ? 1 : 0);
      if (shift < 2 && (mode & 0x01) === 0) {
        // CGA compatibility (CR17 bit 0 clear; IBM VGA technical reference, CRTC mode control):
        // the row scan counter's bit 0 is bit 13 of the display address, so the two scan-line
        // steps of a memory row (maximum scan line 1) show two banks 8 KiB apart, CGA's even and
        // odd lines. Only that layout is rendered (modes 04h–06h): not Hercules's four banks
        // (CR17 bit 1 clear puts row scan bit 1 in address bit 14), nor other row heights. In the
        // VRAM layout odd/even packs the CPU's even and odd byte into one plane address (QEMU's),
        // so word mode's address bit 13 is VRAM byte bit 14, byte mode's VRAM byte bit 15.
        // (256-colour modes keep ignoring the bit, as before: no BIOS mode clears it there.)
        if (maxScan !== 1 || (mode & 0x02) === 0) {
          d.fill(0);
          return;
        }
        d[15] = mode & 0x40 ? 0x8000 : 0x4000;
        d[2] = scanLines >> doubleScan;
      } else d[2] = Math.floor(scanLines / ((maxScan + 1) << doubleScan));
    }
    // The attribute palette: colour plane enable, the palette entry, colour select (bits 4–5 from
    // AR14 when AR10 bit 7 is set; bits 6–7 always from AR14).
    for (let i = 0; i < 16; i++) {
      let index = ar[i & ar[AR.PLANE_ENABLE] & 0x0f];
      const select = ar[AR.COLOR_SELECT];
      if (ar[AR.MODE_CONTROL] & 0x80) index = (index & 0x0f) | ((select & 3) << 4);
      index |= (select & 0x0c) << 4;
      d[16 + (i >> 2)] |= index << ((i & 3) * 8);
    }
  }

  /** Publish the derived state if it changed, then bump VBE_GEN (the seqlock the ioemu reads under). */
  private publish(): void {
    this.derive();
    const d = this.derived;
    const p = this.published;
    let same = true;
    for (let i = 0; i < d.length; i++) if (d[i] !== p[i]) same = false;
    if (same) return;
    const i32 = this.env.stats.i32;
    for (let i = 0; i < d.length; i++) Atomics.store(i32, PUBLISHED[i], (p[i] = d[i]));
    Atomics.add(i32, I32.VBE_GEN, 1);
  }
}
