import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { Pic } from '../../src/machine/devices/pic';
import { MAX_BACKLOG_MS, Pit, PIT_HZ } from '../../src/machine/devices/pit';

function initPic(io: IoBus, masterBase = 0x20, slaveBase = 0x28): void {
  io.write(0x20, 1, 0x11);
  io.write(0x21, 1, masterBase);
  io.write(0x21, 1, 0x04);
  io.write(0x21, 1, 0x01);
  io.write(0xa0, 1, 0x11);
  io.write(0xa1, 1, slaveBase);
  io.write(0xa1, 1, 0x02);
  io.write(0xa1, 1, 0x01);
}

describe('the 8259 PIC pair', () => {
  const rig = () => {
    const io = new IoBus();
    const pic = new Pic();
    io.attach(pic);
    initPic(io);
    return { io, pic };
  };

  it('delivers an edge on IRQ 1 at the programmed vector, holds lower priorities until EOI', () => {
    const { io, pic } = rig();
    pic.pulseIrq(3);
    pic.pulseIrq(1);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
    expect(pic.hasInterrupt()).toBe(false); // IRQ 3 waits: IRQ 1 is in service
    io.write(0x20, 1, 0x0b); // OCW3: read ISR
    expect(io.read(0x20, 1)).toBe(0x02);
    io.write(0x20, 1, 0x20); // non-specific EOI
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('masks with OCW1 and delivers once unmasked', () => {
    const { io, pic } = rig();
    io.write(0x21, 1, 0x01);
    pic.pulseIrq(0);
    expect(pic.hasInterrupt()).toBe(false);
    io.write(0x21, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it('cascades the slave through IRQ 2 and needs EOI on both', () => {
    const { io, pic } = rig();
    pic.pulseIrq(12);
    expect(pic.acknowledge()).toBe(0x2c);
    pic.pulseIrq(13);
    expect(pic.hasInterrupt()).toBe(false);
    io.write(0xa0, 1, 0x64); // specific EOI, level 4, on the slave
    io.write(0x20, 1, 0x62); // specific EOI, level 2, on the master
    expect(pic.acknowledge()).toBe(0x2d);
  });

  it('a level-triggered line (ELCR) stays requested while high; an edge line needs a new edge', () => {
    const { io, pic } = rig();
    io.write(0x4d1, 1, 0x08); // IRQ 11 level
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x2b);
    io.write(0xa0, 1, 0x20);
    io.write(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x2b);
    io.write(0xa0, 1, 0x20);
    io.write(0x20, 1, 0x20);
    pic.setIrq(11, false);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    io.write(0x20, 1, 0x20);
    expect(pic.hasInterrupt()).toBe(false); // still high, no new edge
  });

  it('an acknowledge with nothing pending is the spurious IRQ 7', () => {
    const { pic } = rig();
    expect(pic.acknowledge()).toBe(0x27);
  });

  it('auto-EOI leaves nothing in service', () => {
    const io = new IoBus();
    const pic = new Pic();
    io.attach(pic);
    io.write(0x20, 1, 0x11);
    io.write(0x21, 1, 0x40);
    io.write(0x21, 1, 0x04);
    io.write(0x21, 1, 0x03); // 8086 mode, AEOI
    pic.pulseIrq(5);
    expect(pic.acknowledge()).toBe(0x45);
    pic.pulseIrq(6);
    expect(pic.acknowledge()).toBe(0x46);
  });

  it('rotate on non-specific EOI makes the line just served the lowest priority', () => {
    const { io, pic } = rig();
    pic.pulseIrq(1);
    expect(pic.acknowledge()).toBe(0x21);
    io.write(0x20, 1, 0xa0); // OCW2: rotate on non-specific EOI → IRQ 1 lowest, IRQ 2 highest
    pic.pulseIrq(1);
    pic.pulseIrq(3);
    expect(pic.acknowledge()).toBe(0x23); // IRQ 3 now outranks IRQ 1
    io.write(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it('set priority (OCW2 110) and rotate on specific EOI move the lowest-priority line', () => {
    const { io, pic } = rig();
    io.write(0x20, 1, 0xc4); // set priority: IRQ 4 lowest, so IRQ 5 highest
    pic.pulseIrq(0);
    pic.pulseIrq(5);
    expect(pic.acknowledge()).toBe(0x25);
    io.write(0x20, 1, 0xe5); // rotate on specific EOI of 5: 5 lowest, 6 highest
    pic.pulseIrq(6);
    expect(pic.acknowledge()).toBe(0x26);
    io.write(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it('special mask mode lets a lower priority through while a masked higher one is in service', () => {
    const { io, pic } = rig();
    pic.pulseIrq(1);
    expect(pic.acknowledge()).toBe(0x21); // IRQ 1 in service
    pic.pulseIrq(4);
    expect(pic.hasInterrupt()).toBe(false); // fully nested: held off
    io.write(0x21, 1, 0x02); // mask IRQ 1
    expect(pic.hasInterrupt()).toBe(false); // masking alone does not help
    io.write(0x20, 1, 0x68); // OCW3: ESMM + SMM
    expect(pic.acknowledge()).toBe(0x24);
    io.write(0x20, 1, 0x48); // OCW3: ESMM, SMM clear
    pic.pulseIrq(5);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('poll mode: the next command-port read is 0x80 | line and acknowledges it; 0 when nothing is pending', () => {
    const { io, pic } = rig();
    pic.pulseIrq(6);
    io.write(0x20, 1, 0x0c); // OCW3: poll
    expect(io.read(0x20, 1)).toBe(0x86);
    expect(pic.hasInterrupt()).toBe(false); // IRQ 6 is in service now
    io.write(0x20, 1, 0x0b);
    expect(io.read(0x20, 1)).toBe(0x40);
    io.write(0x20, 1, 0x20);
    io.write(0x20, 1, 0x0c);
    expect(io.read(0x20, 1)).toBe(0);
  });
});

describe('the 8254 PIT', () => {
  const rig = () => {
    const io = new IoBus();
    const clock = { ms: 0 };
    let irqs = 0;
    const pit = new Pit(
      () => clock.ms,
      () => irqs++,
    );
    io.attach(pit);
    return { io, clock, pit, irqs: () => irqs };
  };

  it('in mode 2, channel 0 interrupts at the programmed rate (100 Hz for divisor 11932)', () => {
    const { io, clock, pit, irqs } = rig();
    io.write(0x43, 1, 0x34);
    io.write(0x40, 1, 11932 & 0xff);
    io.write(0x40, 1, 11932 >> 8);
    const periodMs = (11932 / PIT_HZ) * 1000;
    for (let t = 0; t <= 1000; t += 1) {
      clock.ms = t;
      pit.advance();
    }
    expect(irqs()).toBe(Math.floor(1000 / periodMs - 1e-3));
    expect(pit.nextDeadlineMs()).toBeGreaterThan(1000);
    expect(pit.nextDeadlineMs()).toBeLessThanOrEqual(1000 + periodMs + 1e-3);
  });

  it('counts down and the latch command freezes the value read', () => {
    const { io, clock } = rig();
    io.write(0x43, 1, 0x34);
    io.write(0x40, 1, 0x00);
    io.write(0x40, 1, 0x10); // 0x1000
    clock.ms = 1; // 1193 ticks later
    io.write(0x43, 1, 0x00); // latch channel 0
    clock.ms = 2;
    const lo = io.read(0x40, 1);
    const hi = io.read(0x40, 1);
    expect((hi << 8) | lo).toBe(0x1000 - 1192);
  });

  it('read-back returns status (mode, access, output) and count', () => {
    const { io } = rig();
    io.write(0x43, 1, 0xb6); // channel 2, lo/hi, mode 3
    io.write(0x42, 1, 0x34);
    io.write(0x42, 1, 0x12);
    io.write(0x43, 1, 0xc8); // read-back: count and status of channel 2
    expect(io.read(0x42, 1) & 0x3f).toBe(0x36);
    expect(io.read(0x42, 1)).toBe(0x34);
    expect(io.read(0x42, 1)).toBe(0x12);
  });

  it('mode 0 raises IRQ 0 once when the count expires', () => {
    const { io, clock, pit, irqs } = rig();
    io.write(0x43, 1, 0x30);
    io.write(0x40, 1, 0xa9);
    io.write(0x40, 1, 0x04); // 1193 ticks ≈ 1 ms
    clock.ms = 0.5;
    pit.advance();
    expect(irqs()).toBe(0);
    clock.ms = 5;
    pit.advance();
    pit.advance();
    expect(irqs()).toBe(1);
  });

  it('channel 2 is gated through port 0x61 and its output is readable there', () => {
    const { io, clock } = rig();
    io.write(0x61, 1, 0x01);
    io.write(0x43, 1, 0xb0); // channel 2, mode 0
    io.write(0x42, 1, 0x10);
    io.write(0x42, 1, 0x00);
    expect(io.read(0x61, 1) & 0x20).toBe(0);
    clock.ms = 1;
    expect(io.read(0x61, 1) & 0x20).toBe(0x20);
  });

  describe("lost ticks are reinjected (KVM's policy): every periodic edge reaches the guest", () => {
    /** The PIT at 250 Hz into a real PIC; `take()` is the CPU accepting IRQ 0 and its handler's EOI. */
    const wired = () => {
      const io = new IoBus();
      const pic = new Pic();
      io.attach(pic);
      initPic(io);
      const clock = { ms: 0 };
      const pit = new Pit(
        () => clock.ms,
        () => pic.pulseIrq(0),
        () => pic.holds(0),
      );
      io.attach(pit);
      const divisor = 4773; // 250 Hz, Linux's HZ in Debian's kernel
      io.write(0x43, 1, 0x34);
      io.write(0x40, 1, divisor & 0xff);
      io.write(0x40, 1, divisor >> 8);
      let taken = 0;
      const take = (): boolean => {
        if (!pic.hasInterrupt()) return false;
        expect(pic.acknowledge()).toBe(0x20);
        io.write(0x20, 1, 0x20); // EOI
        taken++;
        return true;
      };
      return { pit, clock, take, taken: () => taken, periodMs: (divisor / PIT_HZ) * 1000 };
    };

    it('ten periods passing while the guest kept interrupts off become ten interrupts, one per EOI', () => {
      const { pit, clock, take, taken, periodMs } = wired();
      clock.ms = 10.5 * periodMs; // ten edges due, the CPU took none
      for (let i = 0; i < 5; i++) pit.advance(); // the PIC latches one; the rest wait
      expect(take()).toBe(true);
      expect(take()).toBe(false);
      // While a reinjected edge is waiting, the next deadline is now: an idle guest does not sleep.
      expect(pit.nextDeadlineMs()).toBeLessThanOrEqual(clock.ms);
      for (let i = 0; i < 20; i++) {
        pit.advance();
        take();
      }
      expect(taken()).toBe(10);
      expect(pit.nextDeadlineMs()).toBeCloseTo(11 * periodMs, 2); // counting began one PIT clock after the load
    });

    it('holds a due edge while the last is still in service, without making the deadline now', () => {
      const { pit, clock, periodMs } = wired();
      clock.ms = 3.5 * periodMs;
      pit.advance(); // IRQ 0 requested, never taken (IRQ 0 masked by IF = 0 for good)
      expect(pit.nextDeadlineMs()).toBeCloseTo(4 * periodMs, 2); // the next new edge, not a spin
    });

    it(`keeps at most ${MAX_BACKLOG_MS} ms of edges`, () => {
      const { pit, clock, take, taken, periodMs } = wired();
      clock.ms = 5000; // five seconds with no edge taken
      for (let i = 0; i < 2000; i++) {
        pit.advance();
        take();
      }
      expect(taken()).toBe(Math.ceil(MAX_BACKLOG_MS / periodMs));
    });
  });
});
