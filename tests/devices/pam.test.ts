import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { PAM0 } from '../../src/machine/devices/i440fx';

/** A 128 KiB firmware image whose byte at offset i is (i * 7 + 3) & 0xff: it decodes at 0xE0000–0xFFFFF. */
const ROM = new Uint8Array(128 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
const romDword = (addr: number) => {
  const o = addr - 0xe0000;
  return (ROM[o] | (ROM[o + 1] << 8) | (ROM[o + 2] << 16) | (ROM[o + 3] << 24)) >>> 0;
};

function machine(image: 'firmware' | 'multiboot' = 'firmware') {
  const file = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));
  const buf =
    image === 'firmware' ? ROM.slice().buffer : file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength);
  const r = Machine.create({ ramMiB: 4, vramMiB: 8, clock: 'icount', image }, buf as ArrayBuffer, immediateYielder());
  if (!r.ok) throw new Error(r.message);
  const pc = r.value.pc!;
  const mmu = pc.cpu.mmu;
  return {
    pc,
    ram: r.value.memory.u8,
    /** What the CPU reads and writes at a guest-physical address (the MMU's physical path). */
    read: (addr: number) => mmu.readPhys32(addr) >>> 0,
    write: (addr: number, v: number) => mmu.writePhys32(addr, v),
    /** A PAM register written as firmware does, through configuration mechanism #1. */
    pam: (reg: number, v: number) => {
      pc.io.write(0xcf8, 4, (0x80000000 | (reg & 0xfc)) >>> 0);
      pc.io.write(0xcfc + (reg & 3), 1, v);
    },
    pamRead: (reg: number) => {
      pc.io.write(0xcf8, 4, (0x80000000 | (reg & 0xfc)) >>> 0);
      return pc.io.read(0xcfc + (reg & 3), 1);
    },
  };
}

const ramDword = (ram: Uint8Array, a: number) =>
  (ram[a] | (ram[a + 1] << 8) | (ram[a + 2] << 16) | (ram[a + 3] << 24)) >>> 0;

describe('i440FX PAM shadow RAM (config 0x59–0x5F)', () => {
  it('at power-on 0xE0000–0xFFFFF reads the firmware ROM and drops writes; 0xC0000–0xDFFFF decodes nothing', () => {
    const { read, write, ram, pamRead } = machine();
    for (let r = PAM0; r <= PAM0 + 6; r++) expect(pamRead(r)).toBe(0);
    for (const a of [0xe0000, 0xeffc0, 0xf0000, 0xffff0]) {
      expect(read(a)).toBe(romDword(a));
      write(a, 0x11223344);
      expect(read(a)).toBe(romDword(a));
      expect(ramDword(ram, a)).toBe(0); // the RAM underneath was not touched
    }
    write(0xc0000, 0x55667788);
    expect(read(0xc0000)).toBe(0xffffffff);
    expect(ramDword(ram, 0xc0000)).toBe(0);
  });

  it("SeaBIOS's sequence on the BIOS segment: write-enable, copy, read/write, then read-only", () => {
    const { read, write, ram, pam, pamRead } = machine();
    pam(PAM0, 0x20); // WE only: reads still from ROM, writes into RAM
    write(0xf1000, 0xcafef00d);
    expect(read(0xf1000)).toBe(romDword(0xf1000));
    expect(ramDword(ram, 0xf1000)).toBe(0xcafef00d);
    pam(PAM0, 0x30); // RE | WE: the RAM copy
    expect(pamRead(PAM0)).toBe(0x30);
    expect(read(0xf1000)).toBe(0xcafef00d);
    write(0xf2000, 0x01020304);
    expect(read(0xf2000)).toBe(0x01020304);
    pam(PAM0, 0x10); // RE only: write-protected shadow
    write(0xf2000, 0xdeadbeef);
    expect(read(0xf2000)).toBe(0x01020304);
    expect(ramDword(ram, 0xf2000)).toBe(0x01020304);
    pam(PAM0, 0x00); // back to the ROM
    expect(read(0xf2000)).toBe(romDword(0xf2000));
  });

  it('each 16 KiB segment follows its own nibble (low nibble = lower segment)', () => {
    const { read, write, pam, pamRead } = machine();
    pam(PAM0 + 1, 0x03); // 0xC0000: RAM read/write; 0xC4000: PCI
    pam(PAM0 + 5, 0x10); // 0xE0000: PCI (ROM); 0xE4000: read RAM (zeros)
    expect(pamRead(PAM0 + 1)).toBe(0x03);
    write(0xc0000, 0x12345678);
    write(0xc4000, 0x12345678);
    expect(read(0xc0000)).toBe(0x12345678);
    expect(read(0xc4000)).toBe(0xffffffff);
    expect(read(0xe0000)).toBe(romDword(0xe0000));
    expect(read(0xe4000)).toBe(0);
    write(0xe4000, 0x9abcdef0);
    expect(read(0xe4000)).toBe(0);
    pam(PAM0 + 1, 0x33);
    write(0xc4000, 0x0badcafe);
    expect(read(0xc4000)).toBe(0x0badcafe);
    expect(read(0xc0000)).toBe(0x12345678);
  });

  it('a remap drops the TLB entry that cached the old frame', () => {
    const { pc, pam, ram } = machine();
    const mmu = pc.cpu.mmu;
    const romAt = mmu.translate(0xf0000, false, false); // cached: the ROM's machine frame
    expect(romAt).not.toBe(0xf0000);
    pam(PAM0, 0x30);
    expect(mmu.translate(0xf0000, false, false)).toBe(0xf0000); // RAM is at machine offset 0
    ram[0xf0000] = 0x5a;
    expect(ram[mmu.translate(0xf0000, false, false)]).toBe(0x5a);
  });

  it('a direct kernel boot starts with the whole window RAM, readable and writable, as firmware would leave it', () => {
    const { read, write, pamRead } = machine('multiboot');
    expect(pamRead(PAM0)).toBe(0x30);
    for (let r = PAM0 + 1; r <= PAM0 + 6; r++) expect(pamRead(r)).toBe(0x33);
    for (const a of [0xc0000, 0xd8000, 0xe0000, 0xffff0]) {
      write(a, 0x13572468);
      expect(read(a)).toBe(0x13572468);
    }
  });

  it('a machine reset puts the PAM registers back to the ROM', () => {
    const m = machine();
    m.pam(PAM0, 0x30);
    m.write(0xf3000, 0x77777777);
    m.pc.reset();
    expect(m.pamRead(PAM0)).toBe(0);
    expect(m.read(0xf3000)).toBe(romDword(0xf3000));
  });
});
