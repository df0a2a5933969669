/**
 * PCI configuration mechanism #1 (0xCF8 address, 0xCFC–0xCFF data) on bus 0, with QEMU's pc
 * layout: the i440FX host bridge (00:00.0, with PAM), the PIIX3 ISA bridge (00:01.0), functions the
 * platform hands in (the PIIX3's IDE at 00:01.1: functions are keyed by devfn) and the display
 * 1234:1111 (00:02.0, class 0x0300) whose BAR0 is the VRAM linear framebuffer: 32-bit
 * prefetchable memory, size = VRAM size, sized the usual way (write all ones, read back
 * ~(size − 1) | flags). Programming BAR0 moves the VRAM in the p2m through the hypervisor;
 * absent functions read all ones. With a VGA BIOS image the display also has an expansion-ROM BAR
 * (config 0x30, PCI Local Bus spec 3.0, 6.2.5.2): its size is the image's rounded up to a power
 * of two (2 KiB at least), bits 31:11 hold the address, bit 0 enables decoding, which also needs
 * the command register's memory-space bit; the platform maps the ROM there (as MMIO) meanwhile.
 */
import { I32, VRAM_BAR_DEFAULT, type StatsViews } from '../../shared/layout';
import type { AccessSize, MmioHandler } from '../bus';
import type { Device, PortRange } from './device';
import { I440fxHostBridge, type PamMode } from './i440fx';
import { PciFunction } from './pci-function';
import { Piix3IsaBridge } from './piix3';

const BAR_FLAGS = 0x8; // memory, 32-bit, prefetchable
const ROM_BAR = 0x30;
const ROM_ENABLE = 0x1;

/** The platform's hook for an expansion ROM: decode `rom` at base (null: nowhere), size bytes. */
export type RomBarHook = (base: number | null, size: number, rom: MmioHandler) => void;

/** An expansion-ROM BAR's size for an image: a power of two, 2 KiB at least (PCI 3.0, 6.2.5.2). */
export function romBarSize(imageBytes: number): number {
  let size = 2048;
  while (size < imageBytes) size *= 2;
  return size;
}

/** The display's PCI function (QEMU's "VGA" device, 1234:1111): BAR0 is the VRAM. */
class StdVgaFunction extends PciFunction {
  private bar0 = VRAM_BAR_DEFAULT;
  /** The expansion-ROM BAR as written (address bits and the enable bit); 0 without a ROM. */
  private romBar = 0;
  private readonly romSize: number;
  private romDecoding: number | null = null;
  /** Reads of the ROM while it decodes (the platform maps it as MMIO; writes are ignored). */
  private readonly romHandler: MmioHandler;

  constructor(
    private readonly vramBytes: number,
    private readonly stats: StatsViews,
    private readonly setVramBar: (baseGfn: number | null) => void,
    private readonly rom: Uint8Array | null,
    private readonly setRomBar: RomBarHook,
  ) {
    super({ vendor: 0x1234, device: 0x1111, classCode: 0x030000 });
    this.romSize = rom ? romBarSize(rom.length) : 0;
    this.romHandler = {
      read: (addr: number, size: AccessSize) => {
        const o = addr - (this.romDecoding ?? 0);
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | (rom && o + i < rom.length ? rom[o + i] : 0);
        return v >>> 0;
      },
      write: () => {},
    };
  }

  override reset(): void {
    super.reset();
    this.config[0x04] = 0x03; // I/O and memory decoding on, as firmware leaves it
    this.romBar = 0;
    this.moveBar(VRAM_BAR_DEFAULT);
    this.decodeRom();
  }

  override write(reg: number, size: AccessSize, value: number): void {
    if (reg === 0x10 && size === 4) {
      // BAR sizing and programming: the low bits are the size's alignment, read-only.
      this.moveBar((value & ~(this.vramBytes - 1)) >>> 0);
      return;
    }
    super.write(reg, size, value);
    if (reg <= 0x04 && reg + size > 0x04) this.moveBar(this.bar0 & ~0xf); // memory decoding may have changed
    this.decodeRom();
  }

  protected override readByte(reg: number): number {
    if (reg >= 0x10 && reg < 0x14) return (this.bar0 >>> ((reg - 0x10) * 8)) & 0xff;
    if (reg >= ROM_BAR && reg < ROM_BAR + 4) return (this.romBar >>> ((reg - ROM_BAR) * 8)) & 0xff;
    return super.readByte(reg);
  }

  protected override writeByte(reg: number, value: number): void {
    if (reg < ROM_BAR || reg >= ROM_BAR + 4) return super.writeByte(reg, value);
    if (!this.rom) return; // no ROM: the BAR is hardwired to 0
    const shift = (reg - ROM_BAR) * 8;
    const v = ((this.romBar & ~(0xff << shift)) | (value << shift)) >>> 0;
    this.romBar = (v & (~(this.romSize - 1) | ROM_ENABLE)) >>> 0;
  }

  /** Tell the platform where the ROM decodes now: enabled, memory space on, and a real address. */
  private decodeRom(): void {
    const base = (this.romBar & ~(this.romSize - 1)) >>> 0;
    const on =
      this.rom !== null &&
      (this.romBar & ROM_ENABLE) !== 0 &&
      (this.config[4] & 2) !== 0 &&
      base !== 0 &&
      base !== ~(this.romSize - 1) >>> 0;
    const at = on ? base : null;
    if (at === this.romDecoding) return;
    this.romDecoding = at;
    this.setRomBar(at, this.romSize, this.romHandler);
  }

  private moveBar(base: number): void {
    this.bar0 = (base | BAR_FLAGS) >>> 0;
    const memoryOn = (this.config[4] & 2) !== 0;
    // A base of all ones (sizing in progress) or 0 decodes nothing.
    const decodes = memoryOn && base !== 0 && base !== ~(this.vramBytes - 1) >>> 0;
    this.setVramBar(decodes ? base >>> 12 : null);
    Atomics.store(this.stats.i32, I32.VBE_BAR0, decodes ? base | 0 : 0);
  }
}

export class Pci implements Device {
  readonly name = 'PCI host (config mechanism #1)';
  private address = 0;
  readonly bridge: I440fxHostBridge;
  readonly isa: Piix3IsaBridge;
  private readonly display: StdVgaFunction;
  /** Bus 0's functions by devfn (device << 3 | function). */
  private readonly functions = new Map<number, PciFunction>();

  constructor(
    vramBytes: number,
    stats: StatsViews,
    /** The hypervisor's hook: VRAM now decodes at this guest frame (null: not decoded). */
    setVramBar: (baseGfn: number | null) => void,
    platform: {
      /** PAM segment i now routes as mode (src/machine/shadow-ram.ts). */
      onPam?: (segment: number, mode: PamMode) => void;
      /** The PIIX3's reset control register asked for a system reset. */
      reset?: () => void;
      /** The display's VGA BIOS, served by its expansion-ROM BAR (none: no ROM BAR). */
      vgaBios?: Uint8Array;
      /** The expansion ROM decodes at a new place (the platform maps it). */
      setRomBar?: RomBarHook;
      /** More functions on bus 0, by devfn (the PIIX3's IDE controller at 00:01.1). */
      functions?: readonly (readonly [devfn: number, fn: PciFunction])[];
    } = {},
  ) {
    this.bridge = new I440fxHostBridge(platform.onPam ?? (() => {}));
    this.isa = new Piix3IsaBridge(platform.reset);
    this.display = new StdVgaFunction(
      vramBytes,
      stats,
      setVramBar,
      platform.vgaBios ?? null,
      platform.setRomBar ?? (() => {}),
    );
    this.functions.set(0 << 3, this.bridge);
    this.functions.set(1 << 3, this.isa);
    this.functions.set(2 << 3, this.display);
    for (const [devfn, fn] of platform.functions ?? []) this.functions.set(devfn, fn);
    this.reset();
  }

  readonly ports: readonly PortRange[] = [
    {
      first: 0xcf8,
      count: 4,
      handler: {
        read: (p: number, size: AccessSize) => {
          if (p === 0xcf8 && size === 4) return this.address >>> 0;
          return p === 0xcf9 && size === 1 ? this.isa.rcr : 0xffffffff;
        },
        write: (p: number, size: AccessSize, v: number) => {
          if (p === 0xcf8 && size === 4) this.address = v >>> 0;
          else if (p === 0xcf9 && size === 1) this.isa.writeRcr(v & 0xff);
        },
      },
    },
    {
      first: 0xcfc,
      count: 4,
      handler: {
        read: (p: number, size: AccessSize) => this.readData(p - 0xcfc, size),
        write: (p: number, size: AccessSize, v: number) => this.writeData(p - 0xcfc, size, v),
      },
    },
  ];

  saveState(): unknown {
    // Keyed by QEMU's "slot.function" spelling (00.0, 01.1, …).
    const functions: Record<string, number[]> = {};
    for (const [devfn, f] of [...this.functions].sort(([a], [b]) => a - b))
      functions[`${(devfn >>> 3).toString(16).padStart(2, '0')}.${devfn & 7}`] = f.saveState();
    return { address: this.address, functions };
  }

  reset(): void {
    this.address = 0;
    for (const f of this.functions.values()) f.reset();
  }

  private target(): PciFunction | null {
    const a = this.address;
    if (!(a & 0x80000000) || (a >>> 16) & 0xff) return null; // disabled or not bus 0
    return this.functions.get((a >>> 8) & 0xff) ?? null;
  }

  private readData(offset: number, size: AccessSize): number {
    const f = this.target();
    if (!f) return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    return f.read(((this.address & 0xfc) + offset) & 0xff, size);
  }

  private writeData(offset: number, size: AccessSize, v: number): void {
    this.target()?.write(((this.address & 0xfc) + offset) & 0xff, size, v);
  }
}
