import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { e820Map } from '../../src/machine/boot/bios';
import { F64, VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';

const RAM_MIB = 64;
const VRAM_MIB = 8;
/**
 * nokaslr: with KASLR the decompressor reads the CPU's features first, and its x87 probe (fninit)
 * faults on a CPU without an FPU before any IDT exists: a triple fault before the kernel prints.
 */
const CMDLINE = 'nokaslr earlyprintk=serial,ttyS0,115200 console=ttyS0';
/** Debian's kernel spends ~2.3 G instructions decompressing itself (XZ) before it prints its banner. */
const BUDGET = 3.5e9;

const file = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};
const hex16 = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;

describe("Debian's Linux on the icount clock, from the committed image", () => {
  it(
    'prints its banner, the E820 map the loader gave it, where it found the initrd and the command line on COM1',
    () => {
      const r = Machine.create(
        {
          ramMiB: RAM_MIB,
          vramMiB: VRAM_MIB,
          cmdline: CMDLINE,
          clock: 'icount',
          image: 'multiboot',
          initrd: file(INITRAMFS_PATH),
        },
        file(VMLINUZ_PATH),
        immediateYielder(),
      );
      if (!r.ok) throw new Error(r.message);
      const m = r.value;
      let serial = '';
      m.onSerial = (b) => (serial += String.fromCharCode(b));
      // Until the kernel is past its command line and either gives up (no x87 FPU yet: "x86/fpu:
      // Giving up") or gets further; the budget bounds the run either way.
      const past = () => serial.includes('Kernel command line:') && /x86\/fpu: |Freeing unused kernel/.test(serial);
      while (m.stats.f64[F64.INSTRUCTIONS] < BUDGET && !past()) if (m.slice().next === 'stop') break;
      m.destroy();

      expect(serial).toMatch(/Linux version 6\.1\.0-50-686 .*Debian 6\.1\.176-1/);
      const e820 = e820Map(RAM_MIB << 20, VRAM_BAR_DEFAULT, VRAM_MIB << 20).map(
        (e) =>
          `BIOS-e820: [mem ${hex16(e.addr)}-${hex16(e.addr + e.size - 1)}] ${e.type === 1 ? 'usable' : 'reserved'}`,
      );
      const printed = serial.split(/\r?\n/).flatMap((l) => l.match(/BIOS-e820: .*$/) ?? []);
      expect(printed).toEqual(e820);
      expect(serial).toContain(`Kernel command line: ${CMDLINE}`);
      // The initrd where the loader put it: page-aligned at the top of RAM (the kernel prints the
      // range it reserves, rounded out to pages).
      const initrdBytes = readFileSync(INITRAMFS_PATH).length;
      const start = Math.floor(((RAM_MIB << 20) - initrdBytes) / 0x1000) * 0x1000;
      const end = Math.ceil((start + initrdBytes) / 0x1000) * 0x1000 - 1;
      const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
      expect(serial).toContain(`RAMDISK: [mem ${hex8(start)}-${hex8(end)}]`);
    },
    900_000,
  );
});
