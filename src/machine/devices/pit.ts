/**
 * The 8254 PIT (0x40–0x43, port 0x61 for channel 2's gate and output): three channels at
 * 1.193182 MHz, modes 0–5, lobyte/hibyte/word access, counter latch and read-back, BCD counting.
 * Time comes from the machine clock (ms), never from counting slices. Channel 0's output edges go
 * to IRQ 0 through `advance(nowMs)`, which the engine calls before running the CPU;
 * `nextDeadlineMs()` is when the next edge is due (the idle sleep's deadline).
 *
 * Lost ticks are reinjected, as KVM's in-kernel PIT does by default (QEMU's lost_tick_policy
 * "delay"): an emulated CPU runs far slower than the clock it keeps, so a guest that keeps
 * interrupts off for a few thousand instructions (microseconds on hardware) can span several PIT
 * periods, and the PIC latches only one edge. Linux counts its jiffies from these edges and its
 * clocksource watchdog marks the TSC unstable when they fall behind it, which leaves it a periodic
 * tick forever. So each periodic edge is counted, and one that the PIC still holds (requested or
 * in service) waits until the guest has taken the last; the backlog is bounded by MAX_BACKLOG_MS.
 */
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';

export const PIT_HZ = 1_193_182;
const TICKS_PER_MS = PIT_HZ / 1000;
/** The most periodic edges kept for reinjection, in ms of them; older ones are lost. */
export const MAX_BACKLOG_MS = 1000;

class Channel {
  mode = 0;
  access = 3; // 1 lobyte, 2 hibyte, 3 lobyte then hibyte
  bcd = false;
  reload = 0x10000;
  /** Tick at which the count was loaded (counting starts), or -1 when not counting. */
  start = -1;
  latched: number[] = [];
  statusLatched = -1;
  writeLow = -1;
  readHigh = false;
  gate = true;
  /** For channel 0: how many of its edges since the count was loaded went to the PIC. */
  delivered = 0;

  count(now: number): number {
    if (this.start < 0) return this.reload & 0xffff;
    const elapsed = Math.floor(now - this.start);
    if (elapsed < 0) return this.reload & 0xffff;
    let c: number;
    if (periodic(this.mode)) {
      const period = this.mode & 1 ? Math.max(2, this.reload) : this.reload;
      c = this.reload - (elapsed % period) * (this.mode & 1 ? 2 : 1);
      if (c <= 0) c += this.reload;
    } else c = (this.reload - elapsed) % 0x10000;
    if (c < 0) c += 0x10000;
    return c & 0xffff;
  }

  out(now: number): boolean {
    if (this.start < 0) return this.mode !== 0;
    const elapsed = now - this.start;
    switch (this.mode) {
      case 0:
        return elapsed >= this.reload;
      case 1:
      case 5:
        return elapsed < 0 || elapsed >= this.reload;
      case 2:
      case 6:
        return elapsed % this.reload < this.reload - 1;
      case 3:
      case 7:
        return elapsed % this.reload < this.reload / 2;
      default:
        return Math.floor(elapsed) !== this.reload;
    }
  }
}

export class Pit implements Device {
  readonly name = 'i8254 (and port 0x61)';
  private readonly ch = [new Channel(), new Channel(), new Channel()];
  private speaker = 0;

  constructor(
    private readonly nowMs: () => number,
    private readonly irq0: () => void,
    /** Whether the interrupt controller still holds IRQ 0's last edge (requested or in service). */
    private readonly irq0Held: () => boolean = () => false,
  ) {}

  private ticks(): number {
    return this.nowMs() * TICKS_PER_MS;
  }

  readonly ports: readonly PortRange[] = [
    {
      first: 0x40,
      count: 4,
      handler: {
        read: (p: number, _s: AccessSize) => (p === 0x43 ? 0xff : this.readCounter(p - 0x40)),
        write: (p: number, _s: AccessSize, v: number) =>
          p === 0x43 ? this.writeControl(v & 0xff) : this.writeCounter(p - 0x40, v & 0xff),
      },
    },
    {
      first: 0x61,
      count: 1,
      handler: {
        read: () => (this.speaker & 3) | (this.ch[2].out(this.ticks()) ? 0x20 : 0),
        write: (_p: number, _s: AccessSize, v: number) => {
          const c2 = this.ch[2];
          const gate = (v & 1) !== 0;
          if (gate && !c2.gate && (c2.mode === 1 || c2.mode === 5)) c2.start = this.ticks(); // rising gate retriggers
          c2.gate = gate;
          this.speaker = v & 3;
        },
      },
    },
  ];

  saveState(): unknown {
    return { speaker: this.speaker, channels: this.ch.map((c) => ({ ...c, latched: [...c.latched] })) };
  }

  reset(): void {
    for (let i = 0; i < 3; i++) this.ch[i] = new Channel();
    this.speaker = 0;
  }

  private writeControl(v: number): void {
    const sel = v >> 6;
    if (sel === 3) {
      // Read-back (bits 5/4 are active low: latch count / latch status).
      for (let i = 0; i < 3; i++) {
        if (!(v & (2 << i))) continue;
        const c = this.ch[i];
        if (!(v & 0x20)) this.latch(c);
        if (!(v & 0x10))
          c.statusLatched = (c.out(this.ticks()) ? 0x80 : 0) | (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0);
      }
      return;
    }
    const c = this.ch[sel];
    const access = (v >> 4) & 3;
    if (access === 0) return this.latch(c);
    c.access = access;
    c.mode = (v >> 1) & 7;
    c.bcd = (v & 1) !== 0;
    c.start = -1;
    c.latched = [];
    c.writeLow = -1;
    c.readHigh = false;
  }

  private latch(c: Channel): void {
    if (c.latched.length) return;
    const v = this.encode(c, c.count(this.ticks()));
    c.latched = c.access === 1 ? [v & 0xff] : c.access === 2 ? [v >> 8] : [v & 0xff, v >> 8];
  }

  private encode(c: Channel, v: number): number {
    if (!c.bcd) return v;
    const d = v % 10000;
    return (
      (Math.floor(d / 1000) << 12) | ((Math.floor(d / 100) % 10) << 8) | ((Math.floor(d / 10) % 10) << 4) | (d % 10)
    );
  }

  private readCounter(i: number): number {
    const c = this.ch[i];
    if (c.statusLatched >= 0) {
      const s = c.statusLatched;
      c.statusLatched = -1;
      return s;
    }
    if (c.latched.length) return c.latched.shift()!;
    const v = this.encode(c, c.count(this.ticks()));
    if (c.access === 1) return v & 0xff;
    if (c.access === 2) return v >> 8;
    c.readHigh = !c.readHigh;
    return c.readHigh ? v & 0xff : v >> 8;
  }

  private writeCounter(i: number, v: number): void {
    const c = this.ch[i];
    let value: number;
    if (c.access === 1) value = v;
    else if (c.access === 2) value = v << 8;
    else if (c.writeLow < 0) {
      c.writeLow = v;
      return;
    } else {
      value = c.writeLow | (v << 8);
      c.writeLow = -1;
    }
    if (c.bcd)
      value = ((value >> 12) & 15) * 1000 + ((value >> 8) & 15) * 100 + ((value >> 4) & 15) * 10 + (value & 15);
    c.reload = value === 0 ? (c.bcd ? 10000 : 0x10000) : value;
    c.start = this.ticks() + 1; // counting starts on the next clock
    c.delivered = 0;
  }

  /** Channel 0's output edges due by now (periodic modes: one per period since the load). */
  private due(c: Channel): number {
    // A hair of slack: a clock advanced exactly to nextDeadlineMs() must count as reaching it.
    return Math.floor((this.ticks() - c.start + 1e-6) / c.reload);
  }

  /**
   * Deliver channel 0's next output edge if it is due: one IRQ 0 edge per call, and in the
   * periodic modes only once the PIC has let go of the last (see "Lost ticks" above).
   */
  advance(): void {
    const c = this.ch[0];
    if (c.start < 0) return;
    const due = this.due(c);
    if (due <= c.delivered) return;
    if (!periodic(c.mode)) {
      if (c.delivered === 0) {
        c.delivered = 1;
        this.irq0();
      }
      return;
    }
    const backlog = Math.ceil((MAX_BACKLOG_MS * TICKS_PER_MS) / c.reload);
    if (due - c.delivered > backlog) c.delivered = due - backlog;
    if (this.irq0Held()) return;
    c.delivered++;
    this.irq0();
  }

  /** Machine time (ms) of channel 0's next output edge (past, if one waits to be reinjected), or Infinity. */
  nextDeadlineMs(): number {
    const c = this.ch[0];
    if (c.start < 0) return Infinity;
    if (!periodic(c.mode)) return c.delivered ? Infinity : (c.start + c.reload) / TICKS_PER_MS;
    // A held edge waits for the guest, not for time: the next deadline is then the next new edge.
    const next = this.irq0Held() ? Math.max(c.delivered, this.due(c)) : c.delivered;
    return (c.start + (next + 1) * c.reload) / TICKS_PER_MS;
  }

  /**
   * A periodic count's next edge (each is a tick the guest counts); a one-shot count (modes 0, 1,
   * 4, 5: Linux's high-resolution timers program mode 4) may end late, so none (Device).
   */
  nextStrictDeadlineMs(): number {
    return periodic(this.ch[0].mode) ? this.nextDeadlineMs() : Infinity;
  }
}

/** Modes 2 and 3 (and their aliases 6 and 7) repeat; the others count once. */
function periodic(mode: number): boolean {
  return mode === 2 || mode === 3 || mode === 6 || mode === 7;
}
