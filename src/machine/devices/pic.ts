/**
 * The 8259A pair (master at 0x20/0x21, slave at 0xA0/0xA1 cascaded on IRQ 2) with the ELCR
 * (0x4D0/0x4D1) choosing edge or level per line. ICW1–4, OCW1 (mask), OCW2 (non-specific and
 * specific EOI, priority rotation on EOI and in auto-EOI mode, set priority), OCW3 (read IRR/ISR,
 * special mask mode, poll), auto-EOI, spurious IRQ 7/15. After the 8259A data sheet (OCW2/OCW3).
 * Not modelled: special fully nested mode and buffered mode (ICW4 bits accepted and ignored).
 */
import type { AccessSize, InterruptController, PortHandler } from '../bus';
import type { Device, PortRange } from './device';

class Chip {
  irr = 0;
  imr = 0;
  isr = 0;
  elcr = 0;
  /** Input line levels (for edge detection and level re-assertion). */
  lines = 0;
  base = 0;
  step = 0;
  needIcw4 = false;
  single = false;
  autoEoi = false;
  readIsr = false;
  /** The line of lowest priority; the next one round has the highest (7 after reset: IRQ 0 first). */
  lowest = 7;
  /** OCW2 "rotate in automatic EOI mode": each acknowledged line becomes the lowest. */
  rotateOnAutoEoi = false;
  /** OCW3 special mask mode: masked in-service lines no longer hold off lower priorities. */
  specialMask = false;
  /** OCW3 poll: the next read of the command port is the poll byte (and acknowledges). */
  poll = false;

  reset(): void {
    this.irr = this.imr = this.isr = this.lines = 0;
    this.base = 0;
    this.step = 0;
    this.autoEoi = this.readIsr = this.rotateOnAutoEoi = this.specialMask = this.poll = false;
    this.lowest = 7;
  }

  /** The highest-priority line set in `mask`, or -1 (priority starts after `lowest`). */
  private highest(mask: number): number {
    for (let k = 0; k < 8; k++) {
      const i = (this.lowest + 1 + k) & 7;
      if (mask & (1 << i)) return i;
    }
    return -1;
  }
  private rank(i: number): number {
    return (i - this.lowest - 1) & 7;
  }

  setLine(bit: number, level: boolean): void {
    const mask = 1 << bit;
    if (level) {
      if (this.elcr & mask || !(this.lines & mask)) this.irr |= mask;
      this.lines |= mask;
    } else {
      this.lines &= ~mask;
      if (this.elcr & mask) this.irr &= ~mask;
    }
  }

  /** The highest-priority unmasked request above everything in service, or -1. */
  request(): number {
    const pending = this.irr & ~this.imr;
    if (!pending) return -1;
    const p = this.highest(pending);
    // In special mask mode a masked in-service line does not hold off anything.
    const s = this.highest(this.specialMask ? this.isr & ~this.imr : this.isr);
    if (s >= 0 && this.rank(s) <= this.rank(p)) return -1; // something of higher priority is in service
    return p;
  }

  ack(irq: number): void {
    const mask = 1 << irq;
    this.irr &= ~mask;
    if (this.elcr & mask && this.lines & mask) this.irr |= mask; // level still asserted
    if (!this.autoEoi) this.isr |= mask;
    else if (this.rotateOnAutoEoi) this.lowest = irq;
  }

  /** OCW3 poll: 0x80 | line when a request is pending (acknowledged as an INTA would), else 0. */
  pollRead(): number {
    this.poll = false;
    const irq = this.request();
    if (irq < 0) return 0;
    this.ack(irq);
    return 0x80 | irq;
  }

  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1: start initialisation; IMR and ISR cleared, edge detection reset.
      this.imr = this.isr = 0;
      this.irr &= this.elcr & this.lines;
      this.needIcw4 = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.readIsr = false;
      this.step = 2;
    } else if (v & 0x08) {
      // OCW3: ESMM/SMM, P, RR/RIS.
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      if (v & 0x04) this.poll = true;
      if (v & 2) this.readIsr = (v & 1) !== 0;
    } else {
      // OCW2: R, SL, EOI and the level L.
      const level = v & 7;
      switch (v >> 5) {
        case 1: // non-specific EOI: the highest-priority in-service line
        case 5: {
          // rotate on non-specific EOI: that line becomes the lowest
          const i = this.highest(this.isr);
          if (i >= 0) {
            this.isr &= ~(1 << i);
            if (v >> 5 === 5) this.lowest = i;
          }
          break;
        }
        case 3: // specific EOI
          this.isr &= ~(1 << level);
          break;
        case 7: // rotate on specific EOI
          this.isr &= ~(1 << level);
          this.lowest = level;
          break;
        case 6: // set priority: L becomes the lowest
          this.lowest = level;
          break;
        case 4: // rotate in automatic EOI mode: set
          this.rotateOnAutoEoi = true;
          break;
        case 0: // … clear
          this.rotateOnAutoEoi = false;
          break;
        // 2: no operation
      }
    }
  }

  writeData(v: number): void {
    switch (this.step) {
      case 2:
        this.base = v & 0xf8;
        this.step = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        return;
      case 3:
        this.step = this.needIcw4 ? 4 : 0;
        return;
      case 4:
        this.autoEoi = (v & 2) !== 0;
        this.step = 0;
        return;
      default:
        this.imr = v;
    }
  }
}

export class Pic implements InterruptController, Device {
  readonly name = 'i8259 (master, slave, ELCR)';
  private readonly master = new Chip();
  private readonly slave = new Chip();
  readonly ports: readonly PortRange[];

  constructor() {
    const port = (chip: Chip): PortHandler => ({
      read: (p: number, _s: AccessSize) => {
        if (chip.poll) {
          const v = chip.pollRead();
          this.syncCascade();
          return v;
        }
        return p & 1 ? chip.imr : chip.readIsr ? chip.isr : chip.irr;
      },
      write: (p: number, _s: AccessSize, v: number) => (p & 1 ? chip.writeData(v & 0xff) : chip.writeCommand(v & 0xff)),
    });
    this.ports = [
      { first: 0x20, count: 2, handler: port(this.master) },
      { first: 0xa0, count: 2, handler: port(this.slave) },
      {
        first: 0x4d0,
        count: 2,
        handler: {
          read: (p: number) => (p === 0x4d0 ? this.master.elcr : this.slave.elcr),
          // IRQ 0, 1, 2, 8 and 13 are always edge-triggered on a PC.
          write: (p: number, _s: AccessSize, v: number) => {
            if (p === 0x4d0) this.master.elcr = v & 0xf8;
            else this.slave.elcr = v & 0xde;
          },
        },
      },
    ];
  }

  saveState(): unknown {
    return { master: { ...this.master }, slave: { ...this.slave } };
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
  }

  /** Drive IRQ line 0–15 (edge lines interrupt on a rising level). */
  setIrq(irq: number, level: boolean): void {
    if (irq < 8) this.master.setLine(irq, level);
    else this.slave.setLine(irq - 8, level);
    this.master.setLine(2, this.slave.request() >= 0);
  }

  /** Whether line `irq`'s last request is still with the controller: latched, or in service. */
  holds(irq: number): boolean {
    const chip = irq < 8 ? this.master : this.slave;
    const mask = 1 << (irq & 7);
    return ((chip.irr | chip.isr) & mask) !== 0;
  }

  /** One rising edge on an edge-triggered line. */
  pulseIrq(irq: number): void {
    this.setIrq(irq, true);
    this.setIrq(irq, false);
  }

  /** The slave's INT output drives the master's IRQ 2 input (re-evaluated after EOIs and masks). */
  private syncCascade(): void {
    this.master.setLine(2, this.slave.request() >= 0);
  }

  hasInterrupt(): boolean {
    // Hot path: the CPU asks at every instruction boundary while IF = 1.
    if ((this.master.irr | this.slave.irr) === 0) return false;
    this.syncCascade();
    return this.master.request() >= 0;
  }

  acknowledge(): number {
    this.syncCascade();
    const irq = this.master.request();
    if (irq < 0) return this.master.base + 7; // spurious IRQ 7: no ISR bit
    if (irq !== 2) {
      this.master.ack(irq);
      return this.master.base + irq;
    }
    const sirq = this.slave.request();
    this.master.ack(2);
    if (sirq < 0) return this.slave.base + 7; // spurious IRQ 15
    this.slave.ack(sirq);
    this.master.setLine(2, this.slave.request() >= 0);
    return this.slave.base + sirq;
  }
}
