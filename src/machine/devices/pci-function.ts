/**
 * One PCI function's 256-byte configuration space (PCI Local Bus spec 3.0, 6.1): the header
 * (IDs, class, subsystem) is read-only; the command register, cache line size, latency timer and
 * interrupt line are writable; a function with more (BARs, chipset registers) overrides
 * readByte/writeByte. Subsystem 1af4:1100 is what QEMU gives its devices.
 */
import type { AccessSize } from '../bus';

export interface PciIds {
  vendor: number;
  device: number;
  /** Class, subclass and programming interface, as 0xCCSSPP. */
  classCode: number;
  revision?: number;
  /** Header type byte (bit 7: multi-function). */
  headerType?: number;
}

export class PciFunction {
  readonly config = new Uint8Array(256);
  private readonly header: Uint8Array;

  constructor(ids: PciIds) {
    const dv = new DataView(this.config.buffer);
    dv.setUint16(0x00, ids.vendor, true);
    dv.setUint16(0x02, ids.device, true);
    dv.setUint32(0x08, ((ids.classCode << 8) | (ids.revision ?? 0)) >>> 0, true);
    this.config[0x0e] = ids.headerType ?? 0;
    dv.setUint16(0x2c, 0x1af4, true);
    dv.setUint16(0x2e, 0x1100, true);
    this.header = this.config.slice(0, 0x40);
  }

  /** Power-on state: the header as built, everything else zero. */
  reset(): void {
    this.config.fill(0);
    this.config.set(this.header);
  }

  /** The configuration space as the guest reads it (BARs included), for a snapshot. */
  saveState(): number[] {
    return Array.from({ length: 256 }, (_, i) => this.readByte(i));
  }

  read(reg: number, size: AccessSize): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.readByte(reg + i);
    return v >>> 0;
  }

  write(reg: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(reg + i, (value >>> (i * 8)) & 0xff);
  }

  protected readByte(reg: number): number {
    return this.config[reg];
  }

  protected writeByte(reg: number, value: number): void {
    // Command, cache line size, latency timer, interrupt line.
    if (reg === 0x04 || reg === 0x05 || reg === 0x0c || reg === 0x0d || reg === 0x3c) this.config[reg] = value;
  }
}
