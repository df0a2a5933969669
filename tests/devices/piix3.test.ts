import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { Pci } from '../../src/machine/devices/pci';
import { STATS_BYTES, statsViews } from '../../src/shared/layout';

function rig() {
  const io = new IoBus();
  let resets = 0;
  const pci = new Pci(8 << 20, statsViews(new SharedArrayBuffer(STATS_BYTES)), () => {}, { reset: () => resets++ });
  io.attach(pci);
  const at = (reg: number) => io.write(0xcf8, 4, (0x80000000 | (1 << 11) | (reg & 0xfc)) >>> 0);
  return {
    io,
    pci,
    resets: () => resets,
    read: (reg: number, size: 1 | 4 = 4) => (at(reg), io.read(0xcfc + (reg & 3), size) >>> 0),
    write: (reg: number, v: number, size: 1 | 4 = 4) => (at(reg), io.write(0xcfc + (reg & 3), size, v)),
  };
}

describe('the PIIX3 ISA bridge (00:01.0)', () => {
  it('is 8086:7000, an ISA bridge (class 0x0601) in a multi-function device, with subsystem 1af4:1100', () => {
    const { read } = rig();
    expect(read(0x00)).toBe(0x70008086);
    expect(read(0x08) >>> 16).toBe(0x0601);
    expect(read(0x0e, 1) & 0x80).toBe(0x80);
    expect(read(0x2c)).toBe(0x11001af4);
  });

  it('keeps the PIRQ routes firmware writes (0x60–0x63; bit 7 = off), all off after reset', () => {
    const { read, write, pci } = rig();
    expect(read(0x60)).toBe(0x80808080);
    write(0x60, 0x0b0b0a0a);
    expect(read(0x60)).toBe(0x0b0b0a0a);
    expect([0, 1, 2, 3].map((p) => pci.isa.pirqRoute(p))).toEqual([10, 10, 11, 11]);
    pci.reset();
    expect(pci.isa.pirqRoute(0)).toBe(null);
  });

  it('port 0xCF9 (reset control): bit 1 is kept, setting bit 2 resets the machine; dword 0xCF8 is still the address', () => {
    const { io, resets } = rig();
    io.write(0xcf9, 1, 0x02);
    expect(io.read(0xcf9, 1)).toBe(0x02);
    expect(resets()).toBe(0);
    io.write(0xcf9, 1, 0x06); // what SeaBIOS and Linux write to reboot
    expect(resets()).toBe(1);
    io.write(0xcf8, 4, 0x80000000);
    expect(io.read(0xcf8, 4) >>> 0).toBe(0x80000000);
    expect(resets()).toBe(1);
  });
});
