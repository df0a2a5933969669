/**
 * CMOS RAM and the MC146818 RTC (index 0x70 with the NMI-mask bit 7, data 0x71). The time is the
 * boot date plus machine time (so icount runs see the same clock every time); BCD or binary
 * (register B.DM), 12 or 24 hours (B.24/12), the update-in-progress flag in the last 244 µs of
 * every second, periodic / alarm / update-ended interrupts on IRQ 8 with flags in register C
 * (cleared by reading it), and the usual memory-size bytes.
 */
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_DM_BINARY = 0x04;
const B_24H = 0x02;
const UIP_MS = 0.244;

export class Cmos implements Device {
  readonly name = 'mc146818rtc';
  private index = 0;
  /** NMI disabled (bit 7 of the last index write). */
  nmiMasked = false;
  private readonly ram = new Uint8Array(128);
  private lastSecond = -1;
  private lastPeriodic = -1;

  constructor(
    private readonly nowMs: () => number,
    /**
     * Wall-clock milliseconds since the Unix epoch at machine time 0: a function, because the
     * machine moves it (a reboot restarts machine time but not the date; a paused page's time is
     * dropped from machine time but not from the date, as QEMU's RTC follows the host by default).
     */
    private readonly epochMs: () => number,
    ramBytes: number,
    private readonly irq8: () => void,
  ) {
    const baseKb = 640;
    const extKb = Math.min(0xffff, Math.max(0, (ramBytes >> 10) - 1024));
    const above16 = Math.min(0xffff, Math.max(0, (ramBytes - (16 << 20)) >> 16));
    this.ram[0x15] = baseKb & 0xff;
    this.ram[0x16] = baseKb >> 8;
    this.ram[0x17] = this.ram[0x30] = extKb & 0xff;
    this.ram[0x18] = this.ram[0x31] = extKb >> 8;
    this.ram[0x34] = above16 & 0xff;
    this.ram[0x35] = above16 >> 8;
    this.reset();
  }

  /**
   * The boot order as QEMU's pc stores it for SeaBIOS (src/boot.c reads it on QEMU): one nibble per
   * choice, 1 floppy, 2 hard disk, 3 CD-ROM, 4 network; the first two in 0x3D (first in the low
   * nibble), the third in 0x38's high nibble, whose bit 0 set skips the floppy boot-signature check.
   */
  setBootOrder(order: string): void {
    const code = (i: number) => ({ a: 1, c: 2, d: 3, n: 4 })[order[i] as 'a'] ?? 0;
    this.ram[0x3d] = (code(1) << 4) | code(0);
    this.ram[0x38] = code(2) << 4;
  }

  readonly ports: readonly PortRange[] = [
    {
      first: 0x70,
      count: 2,
      handler: {
        read: (p: number, _s: AccessSize) => (p === 0x70 ? 0xff : this.read(this.index)),
        write: (p: number, _s: AccessSize, v: number) => {
          if (p === 0x70) {
            this.index = v & 0x7f;
            this.nmiMasked = (v & 0x80) !== 0;
          } else this.write(this.index, v & 0xff);
        },
      },
    },
  ];

  saveState(): unknown {
    return { index: this.index, nmiMasked: this.nmiMasked, ram: Array.from(this.ram) };
  }

  reset(): void {
    this.ram[REG_A] = 0x26; // 32.768 kHz divider, 1024 Hz rate
    this.ram[REG_B] = B_24H;
    this.ram[REG_C] = 0;
    this.ram[REG_D] = 0x80;
    this.lastSecond = -1;
    this.lastPeriodic = -1;
  }

  private date(): Date {
    return new Date(this.epochMs() + this.nowMs());
  }

  private encode(v: number): number {
    return this.ram[REG_B] & B_DM_BINARY ? v : ((v / 10) << 4) | (v % 10);
  }

  read(reg: number): number {
    const d = this.date();
    switch (reg) {
      case 0x00:
        return this.encode(d.getUTCSeconds());
      case 0x02:
        return this.encode(d.getUTCMinutes());
      case 0x04: {
        const h = d.getUTCHours();
        if (this.ram[REG_B] & B_24H) return this.encode(h);
        const h12 = h % 12 === 0 ? 12 : h % 12;
        return this.encode(h12) | (h >= 12 ? 0x80 : 0);
      }
      case 0x06:
        return this.encode(d.getUTCDay() + 1);
      case 0x07:
        return this.encode(d.getUTCDate());
      case 0x08:
        return this.encode(d.getUTCMonth() + 1);
      case 0x09:
        return this.encode(d.getUTCFullYear() % 100);
      case 0x32:
        return this.encode(Math.floor(d.getUTCFullYear() / 100));
      case REG_A: {
        const ms = this.nowMs();
        const inSecond = (((this.epochMs() + ms) % 1000) + 1000) % 1000;
        const uip = !(this.ram[REG_B] & B_SET) && inSecond >= 1000 - UIP_MS;
        return (this.ram[REG_A] & 0x7f) | (uip ? 0x80 : 0);
      }
      case REG_C: {
        this.advance();
        const v = this.ram[REG_C];
        this.ram[REG_C] = 0;
        return v;
      }
      default:
        return this.ram[reg];
    }
  }

  write(reg: number, v: number): void {
    if (reg === REG_C || reg === REG_D) return; // read-only
    if (reg === REG_A) v &= 0x7f;
    this.ram[reg] = v;
  }

  private periodHz(): number {
    const rate = this.ram[REG_A] & 15;
    return rate === 0 ? 0 : 32768 >> (rate - 1 < 2 ? rate + 6 : rate - 1);
  }

  /** Raise the interrupts due by now (at most one IRQ 8 edge per call: the PIC latches one). */
  advance(): void {
    const ms = this.nowMs();
    let flags = 0;
    const hz = this.periodHz();
    if (hz > 0) {
      const n = Math.floor((ms * hz) / 1000);
      if (n !== this.lastPeriodic) {
        if (this.lastPeriodic >= 0) flags |= 0x40;
        this.lastPeriodic = n;
      }
    }
    const second = Math.floor((this.epochMs() + ms) / 1000);
    if (second !== this.lastSecond) {
      if (this.lastSecond >= 0 && !(this.ram[REG_B] & B_SET)) {
        flags |= 0x10;
        const d = this.date();
        if (this.alarmMatches(d)) flags |= 0x20;
      }
      this.lastSecond = second;
    }
    if (!flags) return;
    this.ram[REG_C] |= flags;
    const enabled = flags & ((this.ram[REG_B] & (B_PIE | B_AIE | B_UIE)) as number);
    if (enabled && !(this.ram[REG_C] & 0x80)) {
      this.ram[REG_C] |= 0x80;
      this.irq8();
    }
  }

  private alarmMatches(d: Date): boolean {
    const m = (reg: number, v: number) => (this.ram[reg] & 0xc0) === 0xc0 || this.ram[reg] === this.encode(v);
    return m(0x01, d.getUTCSeconds()) && m(0x03, d.getUTCMinutes()) && m(0x05, d.getUTCHours());
  }

  /** Machine time (ms) of the next event that may interrupt, or Infinity. */
  nextDeadlineMs(): number {
    const b = this.ram[REG_B];
    if (!(b & (B_PIE | B_AIE | B_UIE))) return Infinity;
    const ms = this.nowMs();
    const epoch = this.epochMs();
    let next = (Math.floor((epoch + ms) / 1000) + 1) * 1000 - epoch;
    const hz = this.periodHz();
    if (b & B_PIE && hz > 0) next = Math.min(next, ((Math.floor((ms * hz) / 1000) + 1) * 1000) / hz);
    return next;
  }
}
