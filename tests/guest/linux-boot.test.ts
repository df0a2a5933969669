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
 * nokaslr: the kernel runs where the loader put it (the initrd's place below is then known).
 * cryptomgr.notests: no crypto self-tests at late init (31.6 s of guest time, ~3 G instructions).
 */
const CMDLINE = 'nokaslr cryptomgr.notests earlyprintk=serial,ttyS0,115200 console=ttyS0';
/**
 * Debian's kernel spends ~2.3 G instructions decompressing itself (XZ) before it prints its
 * banner, and ~0.4 G more to its shell (2.80 G in all, bench:boot).
 */
const BUDGET = 4e9;

const file = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};
const hex16 = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;

describe("Debian's Linux on the icount clock, from the committed image", () => {
  it(
    'boots to its shell: banner, E820 map, initrd and command line on COM1, the x87 and a 1 GHz TSC found, fbcon on the framebuffer',
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
      // Until the shell's prompt (the initramfs's /init keeps one on COM1); the budget bounds the run.
      const prompt = () => /\/ # /.test(serial);
      while (m.stats.f64[F64.INSTRUCTIONS] < BUDGET && !prompt()) if (m.slice().next === 'stop') break;
      // fbcon draws tty1 on vesafb's 1024×768×32 screen: /init's banner and the shell's prompt
      // there (the kernel's own messages go to COM1 only with this command line).
      const fb = new Uint32Array(m.memory.vram.buffer, m.memory.vram.byteOffset, 1024 * 768);
      let lit = 0;
      for (let i = 0; i < fb.length; i++) if ((fb[i] & 0xffffff) !== 0) lit++;
      m.destroy();

      expect(serial).toContain('x86/fpu: x87 FPU will use FSAVE');
      // The TSC runs at 1 GHz on the machine clock; Linux's PIT calibration finds it.
      const mhz = Number(/tsc: Detected (\d+\.\d+) MHz processor/.exec(serial)?.[1]);
      expect(Math.abs(mhz - 1000)).toBeLessThan(1);
      expect(serial).toContain('vesafb: mode is 1024x768x32');
      expect(serial).toContain('Console: switching to colour frame buffer device 128x48');
      expect(serial).toContain('Run /init as init process');
      expect(serial).toMatch(/BusyBox v1\.35\.0 .* built-in shell \(ash\)/);
      expect(serial).toMatch(/\/ # /);
      expect(lit).toBeGreaterThan(2_000);

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
