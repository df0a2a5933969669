/**
 * PCI configuration mechanism #1 (0xCF8 address, 0xCFC–0xCFF data) on bus 0, with QEMU's pc
 * layout: the i440FX host bridge (00:00.0, with PAM), the PIIX3 ISA bridge (00:01.0) and the
 * display 1234:1111 (00:02.0, class 0x0300) whose BAR0 is the VRAM linear framebuffer: 32-bit
 * prefetchable memory, size = VRAM size, sized the usual way (write all ones, read back
 * ~(size − 1) | flags). Programming BAR0 moves the VRAM in the p2m through the hypervisor;
 * absent functions read all ones.
 */
import { I32, VRAM_BAR_DEFAULT, type StatsViews } from '../../shared/layout';
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';
import { I440fxHostBridge, type PamMode } from './i440fx';
import { PciFunction } from './pci-function';
import { Piix3IsaBridge } from './piix3';

const BAR_FLAGS = 0x8; // memory, 32-bit, prefetchable

/** The display's PCI function (QEMU's "VGA" device, 1234:1111): BAR0 is the VRAM. */
class StdVgaFunction extends PciFunction {
  private bar0 = VRAM_BAR_DEFAULT;

  constructor(
    private readonly vramBytes: number,
    private readonly stats: StatsViews,
    private readonly setVramBar: (baseGfn: number | null) => void,
  ) {
    super({ vendor: 0x1234, device: 0x1111, classCode: 0x030000 });
  }

  override reset(): void {
    super.reset();
    this.config[0x04] = 0x03; // I/O and memory decoding on, as firmware leaves it
    this.moveBar(VRAM_BAR_DEFAULT);
  }

  override write(reg: number, size: AccessSize, value: number): void {
    if (reg === 0x10 && size === 4) {
      // BAR sizing and programming: the low bits are the size's alignment, read-only.
      this.moveBar((value & ~(this.vramBytes - 1)) >>> 0);
      return;
    }
    super.write(reg, size, value);
    if (reg <= 0x04 && reg + size > 0x04) this.moveBar(this.bar0 & ~0xf); // memory decoding may have changed
  }

  protected override readByte(reg: number): number {
    if (reg >= 0x10 && reg < 0x14) return (this.bar0 >>> ((reg - 0x10) * 8)) & 0xff;
    return super.readByte(reg);
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
  /** Bus 0's functions by device number (function 0 each). */
  private readonly slots: (PciFunction | undefined)[] = [];

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
    } = {},
  ) {
    this.bridge = new I440fxHostBridge(platform.onPam ?? (() => {}));
    this.isa = new Piix3IsaBridge(platform.reset);
    this.display = new StdVgaFunction(vramBytes, stats, setVramBar);
    this.slots[0] = this.bridge;
    this.slots[1] = this.isa;
    this.slots[2] = this.display;
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

  reset(): void {
    this.address = 0;
    for (const f of this.slots) f?.reset();
  }

  private target(): PciFunction | null {
    const a = this.address;
    if (!(a & 0x80000000) || (a >>> 16) & 0xff) return null; // disabled or not bus 0
    if ((a >>> 8) & 7) return null; // function 1–7: none of ours has more than function 0
    return this.slots[(a >>> 11) & 31] ?? null;
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
