/**
 * The PIIX3's IDE controller (8086:7010, function 1 of the PIIX3 at 00:01.1, class 0x0101 "IDE
 * controller") in legacy ("compatibility") mode, as QEMU's pc machine has it: the primary channel
 * at 0x1F0–0x1F7 / 0x3F6 on IRQ 14, the secondary at 0x170–0x177 / 0x376 on IRQ 15, decoded
 * always (programming interface 0x00: neither channel in native PCI mode, so BAR0–3 are unused,
 * and no bus-master function, so BAR4 reads 0 and the guest uses PIO). The IDE timing registers
 * (config 0x40–0x4B: IDETIM, SIDETIM, UDMACTL, UDMATIM) keep what firmware writes: SeaBIOS sets
 * IDETIM's decode-enable bits and Linux's ata_piix checks them.
 */
import type { Device, PortRange } from './device';
import { AtaChannel } from './ata';
import type { AtaDisk } from './ata-disk';
import { PciFunction } from './pci-function';

/** The legacy channels: command block, control block, ISA IRQ (PIIX3 data sheet, 2.7). */
export const IDE_PRIMARY = { base: 0x1f0, ctrl: 0x3f6, irq: 14 } as const;
export const IDE_SECONDARY = { base: 0x170, ctrl: 0x376, irq: 15 } as const;

/** Where QEMU's pc puts it: device 1 (the PIIX3), function 1. */
export const PIIX3_IDE_DEVFN = (1 << 3) | 1;

class Piix3IdeFunction extends PciFunction {
  constructor() {
    super({ vendor: 0x8086, device: 0x7010, classCode: 0x010100 });
  }

  protected override writeByte(reg: number, value: number): void {
    if (reg >= 0x40 && reg < 0x4c) this.config[reg] = value;
    else super.writeByte(reg, value);
  }
}

export class Piix3Ide implements Device {
  readonly name = 'piix3-ide';
  readonly pci = new Piix3IdeFunction();
  readonly channels: readonly [AtaChannel, AtaChannel];
  readonly ports: readonly PortRange[];

  constructor(
    /** The disks on the primary channel's device 0 and 1, then the secondary's (QEMU's hda–hdd). */
    disks: readonly (AtaDisk | null)[],
    /** Drive an ISA IRQ line (14 or 15). */
    setIrq: (irq: number, level: boolean) => void,
  ) {
    const at = (i: number) => disks[i] ?? null;
    this.channels = [
      new AtaChannel(IDE_PRIMARY.base, IDE_PRIMARY.ctrl, [at(0), at(1)], (l) => setIrq(IDE_PRIMARY.irq, l)),
      new AtaChannel(IDE_SECONDARY.base, IDE_SECONDARY.ctrl, [at(2), at(3)], (l) => setIrq(IDE_SECONDARY.irq, l)),
    ];
    this.ports = this.channels.flatMap((c) => c.ports);
  }

  reset(): void {
    for (const c of this.channels) c.reset();
  }

  saveState(): unknown {
    return { channels: this.channels.map((c) => c.saveState()) };
  }
}
