/**
 * The PC/AT's coprocessor error path (QEMU's "ioportF0" in hw/i386/pc.c): FERR# from the FPU
 * raises IRQ 13 through the slave PIC while CR0.NE = 0, and a write to port F0h clears the latch
 * (the IRQ 13 handler of DOS-era software does FNCLEX, then OUT F0h). Reads return nothing.
 */
import type { Device, PortRange } from './device';

export class FpuErrorLatch implements Device {
  readonly name = 'ioportF0';
  readonly ports: readonly PortRange[];
  private asserted = false;

  constructor(private readonly setIrq13: (level: boolean) => void) {
    this.ports = [{ first: 0xf0, count: 1, handler: { read: () => 0xff, write: () => this.clear() } }];
  }

  /** FERR#: the CPU found an unmasked x87 exception pending with CR0.NE = 0. */
  assert(): void {
    this.asserted = true;
    this.setIrq13(true);
  }

  private clear(): void {
    if (!this.asserted) return;
    this.asserted = false;
    this.setIrq13(false);
  }

  reset(): void {
    this.clear();
  }

  saveState(): unknown {
    return { asserted: this.asserted };
  }
}
