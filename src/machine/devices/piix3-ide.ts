/**
 * The PIIX3's IDE controller (8086:7010, function 1 of the PIIX3 at 00:01.1, class 0x0101 "IDE
 * controller") in legacy ("compatibility") mode, as QEMU's pc machine has it: the primary channel
 * at 0x1F0–0x1F7 / 0x3F6 on IRQ 14, the secondary at 0x170–0x177 / 0x376 on IRQ 15, decoded
 * always (neither channel in native PCI mode, so BAR0–3 are unused). With guest memory to reach,
 * it has the bus-master function (programming interface 0x80, its registers at the I/O BAR4,
 * ide-bus-master.ts) and the disks take the DMA commands; without, BAR4 reads 0 and the guest
 * uses PIO (programming interface 0x00). The IDE timing registers
 * (config 0x40–0x4B: IDETIM, SIDETIM, UDMACTL, UDMATIM) keep what firmware writes: SeaBIOS sets
 * IDETIM's decode-enable bits and Linux's ata_piix checks them (a kernel booted without firmware
 * gets them from the machine's loader: enableChannels).
 */
import type { Device, PortRange } from './device';
import type { PortHandler } from '../bus';
import type { DmaMemory } from '../dma';
import { AtaChannel } from './ata';
import { AtaDisk } from './ata-disk';
import { AtapiCdrom } from './atapi';
import { BM_PORTS, IdeBusMaster } from './ide-bus-master';
import { PciFunction } from './pci-function';

/** The legacy channels: command block, control block, ISA IRQ (PIIX3 data sheet, 2.7). */
export const IDE_PRIMARY = { base: 0x1f0, ctrl: 0x3f6, irq: 14 } as const;
export const IDE_SECONDARY = { base: 0x170, ctrl: 0x376, irq: 15 } as const;

/** Where QEMU's pc puts it: device 1 (the PIIX3), function 1. */
export const PIIX3_IDE_DEVFN = (1 << 3) | 1;

const BAR4 = 0x20;
const PCI_COMMAND_IO = 0x01;

class Piix3IdeFunction extends PciFunction {
  /** BAR4 as written (bits 15–4, bit 0: I/O space); stays 0 without a bus master. */
  private bar4 = 0;

  constructor(
    /** The bus master's I/O window moved (null: not decoded); absent: no bus master. */
    private readonly onBar4?: (base: number | null) => void,
  ) {
    super({ vendor: 0x8086, device: 0x7010, classCode: onBar4 ? 0x010180 : 0x010100 });
    this.reset();
  }

  override reset(): void {
    super.reset();
    this.bar4 = this.onBar4 ? 1 : 0;
    this.onBar4?.(null);
  }

  protected override readByte(reg: number): number {
    if (reg >= BAR4 && reg < BAR4 + 4) return (this.bar4 >>> ((reg - BAR4) * 8)) & 0xff;
    return super.readByte(reg);
  }

  protected override writeByte(reg: number, value: number): void {
    if (reg >= 0x40 && reg < 0x4c) this.config[reg] = value;
    else if (reg >= BAR4 && reg < BAR4 + 4) {
      if (!this.onBar4) return;
      const shift = (reg - BAR4) * 8;
      // A 16-byte I/O BAR: bits 3–1 read as zero, so writing all ones reads back its size (as
      // QEMU, the upper 16 bits are writable; a base above 0xFFFF decodes nothing).
      this.bar4 = ((((this.bar4 & ~(0xff << shift)) | (value << shift)) & ~(BM_PORTS - 1)) | 1) >>> 0;
      this.decode();
    } else {
      super.writeByte(reg, value);
      if (reg === 0x04) this.decode(); // I/O space enable may have changed
    }
  }

  /**
   * What a BIOS's IDE set-up leaves, for a kernel booted without one: both channels' decode enabled
   * (IDETIM bit 15, config 0x41 and 0x43 bit 7; PIIX3 data sheet, 2.3.13), the value SeaBIOS's
   * PIIX set-up writes. Linux's ata_piix skips a channel whose bit is clear as disabled.
   */
  enableChannels(): void {
    this.writeByte(0x41, 0x80);
    this.writeByte(0x43, 0x80);
  }

  private decode(): void {
    const base = (this.bar4 & ~0xf) >>> 0;
    this.onBar4?.(this.config[0x04] & PCI_COMMAND_IO && base !== 0 && base <= 0x10000 - BM_PORTS ? base : null);
  }
}

/** The platform's side of the bus master: guest memory, and where its registers are decoded. */
export interface IdeBusMasterWiring {
  memory: DmaMemory;
  /** Decode the bus master's 16 ports at base with this handler (null: stop decoding them). */
  mapPorts(base: number | null, handler: PortHandler): void;
}

export class Piix3Ide implements Device {
  readonly name = 'piix3-ide';
  readonly pci: Piix3IdeFunction;
  readonly channels: readonly [AtaChannel, AtaChannel];
  readonly ports: readonly PortRange[];
  /** The bus-master function (null without guest memory to reach). */
  readonly busMaster: IdeBusMaster | null;
  /** The primary channel's device 0 when it is a hard disk (QEMU's hda), else null. */
  readonly hda: AtaDisk | null;
  /** The secondary channel's device 0 when it is a CD-ROM drive (QEMU's -cdrom, hdc), else null. */
  readonly cdrom: AtapiCdrom | null;

  constructor(
    /**
     * The media on the primary channel's device 0 and 1, then the secondary's (QEMU's hda–hdd): a
     * hard disk, or a CD-ROM drive's disc (QEMU's -cdrom is the secondary's device 0, hdc).
     */
    disks: readonly (AtaDisk | AtapiCdrom | null)[],
    /** Drive an ISA IRQ line (14 or 15). */
    setIrq: (irq: number, level: boolean) => void,
    busMaster?: IdeBusMasterWiring,
  ) {
    const at = (i: number) => disks[i] ?? null;
    this.hda = disks[0] instanceof AtaDisk ? disks[0] : null;
    this.cdrom = disks[2] instanceof AtapiCdrom ? disks[2] : null;
    // The bus master's status records each rise of a channel's interrupt line.
    const line = (ch: number, irq: number) => (l: boolean) => {
      if (l) this.busMaster?.channels[ch].interrupted();
      setIrq(irq, l);
    };
    this.channels = [
      new AtaChannel(IDE_PRIMARY.base, IDE_PRIMARY.ctrl, [at(0), at(1)], line(0, IDE_PRIMARY.irq)),
      new AtaChannel(IDE_SECONDARY.base, IDE_SECONDARY.ctrl, [at(2), at(3)], line(1, IDE_SECONDARY.irq)),
    ];
    this.ports = this.channels.flatMap((c) => c.ports);
    const bm = busMaster ? new IdeBusMaster(this.channels, busMaster.memory) : null;
    this.busMaster = bm;
    this.pci = new Piix3IdeFunction(
      bm && busMaster
        ? (base) => {
            bm.base = base;
            busMaster.mapPorts(base, bm.handler);
          }
        : undefined,
    );
  }

  reset(): void {
    for (const c of this.channels) c.reset();
    this.busMaster?.reset(); // the PCI function (BAR4) is reset with the bus's functions
  }

  saveState(): unknown {
    return { channels: this.channels.map((c) => c.saveState()) };
  }
}
