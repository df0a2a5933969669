import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { I8042 } from '../../src/machine/devices/i8042';

function rig() {
  const io = new IoBus();
  const log = { irq1: 0, a20: [] as boolean[], resets: 0 };
  const kbc = new I8042({
    irq1: () => log.irq1++,
    setA20: (on) => log.a20.push(on),
    reset: () => log.resets++,
  });
  io.attach(kbc);
  const drain = () => {
    const out: number[] = [];
    while (io.read(0x64, 1) & 1) out.push(io.read(0x60, 1));
    return out;
  };
  return { io, kbc, log, drain };
}

describe('the i8042 and the PS/2 keyboard', () => {
  it('translates set 2 to set 1 by default (make, F0 break, E0 extended) and raises IRQ 1', () => {
    const { kbc, log, drain } = rig();
    kbc.sendScancodes([0x1c, 0xf0, 0x1c, 0x5a, 0xe0, 0x75]); // A down, A up, Enter, E0 Up-arrow
    expect(drain()).toEqual([0x1e, 0x9e, 0x1c, 0xe0, 0x48]);
    expect(log.irq1).toBeGreaterThan(0);
  });
  it('passes set 2 through when the command byte turns translation off', () => {
    const { io, kbc, drain } = rig();
    io.write(0x64, 1, 0x60);
    io.write(0x60, 1, 0x05);
    io.write(0x64, 1, 0x20);
    expect(drain()).toEqual([0x05]);
    kbc.sendScancodes([0x1c, 0xf0, 0x1c]);
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c]);
  });
  it('answers the controller self-test, and keyboard reset/identify/echo', () => {
    const { io, drain } = rig();
    io.write(0x64, 1, 0xaa);
    expect(drain()).toEqual([0x55]);
    expect(io.read(0x64, 1) & 0x04).toBe(0x04);
    io.write(0x60, 1, 0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    io.write(0x60, 1, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x41]);
    io.write(0x60, 1, 0xee);
    expect(drain()).toEqual([0xee]);
  });
  it('gates A20 through the output port and port 0x92, and resets through 0xFE and 0x92 bit 0', () => {
    const { io, log } = rig();
    io.write(0x92, 1, 0x00); // fast A20 off: still on through the output port
    io.write(0x64, 1, 0xd1);
    io.write(0x60, 1, 0x01); // output port A20 off (reset line high): now off
    io.write(0x92, 1, 0x02); // fast A20 on
    expect(log.a20).toEqual([false, true]);
    io.write(0x64, 1, 0xfe);
    io.write(0x92, 1, 0x03);
    expect(log.resets).toBe(2);
  });
  it('a disabled keyboard (0xAD) sends nothing', () => {
    const { io, kbc, drain } = rig();
    io.write(0x64, 1, 0xad);
    kbc.sendScancodes([0x1c]);
    expect(drain()).toEqual([]);
  });
});
