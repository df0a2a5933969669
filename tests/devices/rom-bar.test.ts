import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { romBarSize } from '../../src/machine/devices/pci';

/** A VGA-BIOS-shaped image: 0x55 0xAA, then bytes that say where they are. */
const IMAGE = new Uint8Array(40_000).map((_, i) => (i < 2 ? [0x55, 0xaa][i] : (i * 13) & 0xff));
const kernel = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));

function display(vgaBios?: ArrayBuffer) {
  const r = Machine.create(
    { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'multiboot', vgaBios },
    kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) as ArrayBuffer,
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  const pc = r.value.pc!;
  const addr = (reg: number) => pc.io.write(0xcf8, 4, (0x80000000 | (2 << 11) | reg) >>> 0);
  return {
    read: (reg: number) => (addr(reg), pc.io.read(0xcfc, 4) >>> 0),
    write: (reg: number, v: number) => (addr(reg), pc.io.write(0xcfc, 4, v >>> 0)),
    /** What the CPU reads at a guest-physical address. */
    mem: (a: number) => pc.cpu.mmu.readPhys32(a) >>> 0,
  };
}

describe("the display's expansion-ROM BAR (config 0x30) serving a VGA BIOS", () => {
  it('is sized as the PCI spec says: the image rounded up to a power of two, 2 KiB at least', () => {
    expect(romBarSize(39_936)).toBe(64 * 1024);
    expect(romBarSize(100)).toBe(2048);
    expect(romBarSize(32 * 1024)).toBe(32 * 1024);
    const { read, write } = display(IMAGE.slice().buffer);
    write(0x30, 0xfffff800); // all address bits, enable off
    expect(read(0x30)).toBe(0xffff0000);
    expect((~read(0x30) >>> 0) + 1).toBe(64 * 1024);
  });

  it('decodes the image at its address only while enabled and memory space is on', () => {
    const { read, write, mem } = display(IMAGE.slice().buffer);
    write(0x30, 0xfebf0000 | 1);
    expect(read(0x30)).toBe(0xfebf0001);
    expect(mem(0xfebf0000)).toBe((0x55 | (0xaa << 8) | (26 << 16) | (39 << 24)) >>> 0);
    expect(mem(0xfebf0000 + 39_996) & 0xff).toBe((39_996 * 13) & 0xff);
    expect(mem(0xfebf0000 + 40_000)).toBe(0); // inside the BAR, past the image
    write(0x04, 0x0001); // memory space off
    expect(mem(0xfebf0000)).toBe(0xffffffff);
    write(0x04, 0x0003);
    expect(mem(0xfebf0000) & 0xffff).toBe(0xaa55);
    write(0x30, 0xfebf0000); // enable bit off
    expect(mem(0xfebf0000)).toBe(0xffffffff);
    write(0x30, 0xfd000000 | 1); // moved
    expect(mem(0xfebf0000)).toBe(0xffffffff);
    expect(mem(0xfd000000) & 0xffff).toBe(0xaa55);
  });

  it('is hardwired to 0 when there is no VGA BIOS', () => {
    const { read, write } = display();
    write(0x30, 0xfffff800);
    expect(read(0x30)).toBe(0);
  });
});
