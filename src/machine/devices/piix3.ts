/**
 * The PIIX3 PCI-to-ISA bridge (8086:7000 at 00:01.0, function 0 of a multi-function device) as
 * far as firmware programs it: the PIRQ route control registers (config 0x60–0x63, one per PCI
 * interrupt line A–D: bit 7 = routing off, bits 3:0 = the ISA IRQ), which SeaBIOS fills in
 * (src/fw/pciinit.c) and describes in its $PIR table. The ELCR lives with the PIC (0x4D0/0x4D1).
 * No PCI device of ours raises an interrupt yet, so the routes are recorded and not acted on.
 * Also the reset control register (I/O port 0xCF9, inside the PCI host's 0xCF8–0xCFB but decoded
 * for byte accesses by the PIIX3): setting bit 2 resets the system (bit 1 chooses a hard reset;
 * both are a full machine reset here). SeaBIOS and Linux reboot through it.
 */
import { PciFunction } from './pci-function';

const PIRQ_ROUTE = 0x60;

export class Piix3IsaBridge extends PciFunction {
  /** The reset control register's kept bit (1: hard reset). */
  rcr = 0;

  constructor(private readonly systemReset: () => void = () => {}) {
    super({ vendor: 0x8086, device: 0x7000, classCode: 0x060100, headerType: 0x80 });
    this.reset();
  }

  /** A byte written to port 0xCF9. */
  writeRcr(v: number): void {
    if (v & 4) this.systemReset();
    else this.rcr = v & 2;
  }

  override reset(): void {
    super.reset();
    this.rcr = 0;
    this.config.fill(0x80, PIRQ_ROUTE, PIRQ_ROUTE + 4); // every route disabled (data sheet default)
  }

  /** The ISA IRQ that PCI interrupt line pin (0 = INTA#) is routed to, or null. */
  pirqRoute(pin: number): number | null {
    const v = this.config[PIRQ_ROUTE + (pin & 3)];
    return v & 0x80 ? null : v & 0x0f;
  }

  protected override writeByte(reg: number, value: number): void {
    if (reg >= PIRQ_ROUTE && reg < PIRQ_ROUTE + 4) this.config[reg] = value & 0x8f;
    else super.writeByte(reg, value);
  }
}
