import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { Cmos } from '../../src/machine/devices/cmos';

const EPOCH = Date.UTC(2026, 10, 25, 13, 45, 30); // Wed 2026-11-25 13:45:30 UTC

function rig(ramMiB = 32) {
  const io = new IoBus();
  const clock = { ms: 0 };
  let irqs = 0;
  const cmos = new Cmos(
    () => clock.ms,
    () => EPOCH,
    ramMiB << 20,
    () => irqs++,
  );
  io.attach(cmos);
  const get = (reg: number) => (io.write(0x70, 1, reg), io.read(0x71, 1));
  const set = (reg: number, v: number) => (io.write(0x70, 1, reg), io.write(0x71, 1, v));
  return { io, clock, cmos, get, set, irqs: () => irqs };
}

describe('CMOS and the RTC', () => {
  it('reads the date and time in BCD by default, following the machine clock', () => {
    const { clock, get } = rig();
    expect([get(0x09), get(0x08), get(0x07), get(0x06)]).toEqual([0x26, 0x11, 0x25, 0x04]);
    expect([get(0x04), get(0x02), get(0x00), get(0x32)]).toEqual([0x13, 0x45, 0x30, 0x20]);
    clock.ms = 45_000;
    expect([get(0x02), get(0x00)]).toEqual([0x46, 0x15]);
  });
  it('binary mode and 12-hour mode (PM in bit 7)', () => {
    const { get, set } = rig();
    set(0x0b, 0x04); // binary, 12-hour
    expect([get(0x00), get(0x04)]).toEqual([30, 0x80 | 1]);
  });
  it('update-in-progress is set only in the last 244 µs of a second', () => {
    const { clock, get } = rig();
    clock.ms = 100;
    expect(get(0x0a) & 0x80).toBe(0);
    clock.ms = 999.9;
    expect(get(0x0a) & 0x80).toBe(0x80);
    clock.ms = 1000.1;
    expect(get(0x0a) & 0x80).toBe(0);
  });
  it('the periodic interrupt runs at the programmed rate on IRQ 8 and register C clears on read', () => {
    const { clock, cmos, get, set, irqs } = rig();
    set(0x0a, 0x2f); // rate 15: 2 Hz
    set(0x0b, 0x42); // PIE, 24 h
    cmos.advance();
    for (let t = 1; t <= 2000; t++) {
      clock.ms = t;
      cmos.advance();
      if (t % 100 === 0) get(0x0c); // the handler acknowledges by reading C
    }
    expect(irqs()).toBe(4);
    clock.ms = 2600;
    cmos.advance();
    expect(get(0x0c) & 0xc0).toBe(0xc0);
    expect(get(0x0c)).toBe(0);
  });
  it('the update-ended interrupt fires once a second when enabled', () => {
    const { clock, cmos, get, set, irqs } = rig();
    set(0x0b, 0x12);
    cmos.advance();
    for (let t = 0; t <= 3000; t += 10) {
      clock.ms = t;
      cmos.advance();
      get(0x0c);
    }
    expect(irqs()).toBe(3);
    expect(cmos.nextDeadlineMs()).toBe(4000); // the next second boundary
  });
  it('holds the memory size in the usual bytes and the NMI mask in bit 7 of the index', () => {
    const { io, cmos, get } = rig(32);
    expect(get(0x15) | (get(0x16) << 8)).toBe(640);
    expect(get(0x17) | (get(0x18) << 8)).toBe(31 * 1024);
    expect(get(0x30) | (get(0x31) << 8)).toBe(31 * 1024);
    expect(get(0x34) | (get(0x35) << 8)).toBe(256);
    io.write(0x70, 1, 0x80 | 0x0f);
    expect(cmos.nmiMasked).toBe(true);
  });
});

describe('the boot order in CMOS (QEMU -boot, read by SeaBIOS)', () => {
  it('puts one nibble per choice in 0x3D (first two) and 0x38 (third): c = 2, d = 3, a = 1, n = 4', () => {
    const { cmos, get } = rig();
    cmos.setBootOrder('cad');
    expect([get(0x3d), get(0x38)]).toEqual([0x12, 0x30]);
    cmos.setBootOrder('c');
    expect([get(0x3d), get(0x38)]).toEqual([0x02, 0x00]);
    cmos.setBootOrder('ndc');
    cmos.reset(); // a machine reset keeps it
    expect([get(0x3d), get(0x38)]).toEqual([0x34, 0x20]);
  });
});
