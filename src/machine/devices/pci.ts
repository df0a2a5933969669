/**
 * PCI configuration mechanism #1 (0xCF8 address, 0xCFC–0xCFF data) with two functions on bus 0:
 * the host bridge 8086:1237 (00:00.0) and the display 1234:1111 (00:02.0, class 0x0300) whose
 * BAR0 is the VRAM linear framebuffer: 32-bit prefetchable memory, size = VRAM size, sized the
 * usual way (write all ones, read back ~(size − 1) | flags). Programming BAR0 moves the VRAM
 * in the p2m through the hypervisor; absent functions read all ones.
 */
import { I32, VRAM_BAR_DEFAULT, type StatsViews } from '../../shared/layout';
import type { AccessSize, IoBus } from '../bus';

const BAR_FLAGS = 0x8; // memory, 32-bit, prefetchable

class Function {
  readonly config = new Uint8Array(256);
  constructor(vendor: number, device: number, classCode: number) {
    const dv = new DataView(this.config.buffer);
    dv.setUint16(0, vendor, true);
    dv.setUint16(2, device, true);
    dv.setUint32(8, classCode << 8, true); // class, subclass, prog-if; revision 0
  }
}

export class Pci {
  private address = 0;
  private readonly bridge = new Function(0x8086, 0x1237, 0x060000);
  private readonly display = new Function(0x1234, 0x1111, 0x030000);
  private bar0: number;

  constructor(
    private readonly vramBytes: number,
    private readonly stats: StatsViews,
    /** The hypervisor's hook: VRAM now decodes at this guest frame (null: not decoded). */
    private readonly setVramBar: (baseGfn: number | null) => void,
  ) {
    this.bar0 = VRAM_BAR_DEFAULT;
    this.reset();
  }

  register(io: IoBus): void {
    io.register(0xcf8, 4, {
      read: (p: number, size: AccessSize) => (p === 0xcf8 && size === 4 ? this.address >>> 0 : 0xffffffff),
      write: (p: number, size: AccessSize, v: number) => {
        if (p === 0xcf8 && size === 4) this.address = v >>> 0;
      },
    });
    io.register(0xcfc, 4, {
      read: (p: number, size: AccessSize) => this.readData(p - 0xcfc, size),
      write: (p: number, size: AccessSize, v: number) => this.writeData(p - 0xcfc, size, v),
    });
  }

  reset(): void {
    this.address = 0;
    const dv = new DataView(this.display.config.buffer);
    dv.setUint16(4, 0x0003, true); // I/O and memory decoding on, as firmware leaves it
    dv.setUint16(0x2c, 0x1af4, true);
    dv.setUint16(0x2e, 0x1100, true);
    this.moveBar(VRAM_BAR_DEFAULT);
  }

  private target(): Function | null {
    const a = this.address;
    if (!(a & 0x80000000) || (a >>> 16) & 0xff) return null; // disabled or not bus 0
    const dev = (a >>> 11) & 31;
    const fn = (a >>> 8) & 7;
    if (fn !== 0) return null;
    return dev === 0 ? this.bridge : dev === 2 ? this.display : null;
  }

  private readData(offset: number, size: AccessSize): number {
    const f = this.target();
    if (!f) return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    const reg = (this.address & 0xfc) + offset;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.readByte(f, reg + i);
    return v >>> 0;
  }

  private readByte(f: Function, reg: number): number {
    if (f === this.display && reg >= 0x10 && reg < 0x14) return (this.bar0 >>> ((reg - 0x10) * 8)) & 0xff;
    return f.config[reg];
  }

  private writeData(offset: number, size: AccessSize, v: number): void {
    const f = this.target();
    if (!f) return;
    const reg = (this.address & 0xfc) + offset;
    if (f === this.display && reg === 0x10 && size === 4) {
      // BAR sizing and programming: the low bits are the size's alignment, read-only.
      const base = (v & ~(this.vramBytes - 1)) >>> 0;
      this.moveBar(base);
      return;
    }
    for (let i = 0; i < size; i++) {
      const r = reg + i;
      const b = (v >>> (i * 8)) & 0xff;
      if (r === 0x04 || r === 0x05 || r === 0x0c || r === 0x0d || r === 0x3c) f.config[r] = b; // command, cache line, latency, IRQ line
    }
    if (f === this.display && reg <= 0x04 && reg + size > 0x04) this.moveBar(this.bar0 & ~0xf);
  }

  private moveBar(base: number): void {
    this.bar0 = (base | BAR_FLAGS) >>> 0;
    const memoryOn = (this.display.config[4] & 2) !== 0;
    // A base of all ones (sizing in progress) or 0 decodes nothing.
    const decodes = memoryOn && base !== 0 && base !== ~(this.vramBytes - 1) >>> 0;
    this.setVramBar(decodes ? base >>> 12 : null);
    Atomics.store(this.stats.i32, I32.VBE_BAR0, decodes ? base | 0 : 0);
  }
}
