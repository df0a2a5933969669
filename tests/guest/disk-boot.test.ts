/**
 * The "BIOS + disk" boot: SeaBIOS (Debian's bios.bin, with its VGA BIOS) boots
 * public/guest/disk/linux.img (made by `npm run guest:disk`) from the IDE disk: its MBR, SYSLINUX
 * from the FAT partition, which loads the Linux guest's kernel and initramfs through INT 13h and
 * hands over to the kernel. The test stops there and checks what the boot loader left, as the
 * Linux boot protocol (Documentation/arch/x86/boot.rst) defines it: the setup header's fields, the
 * command line and initrd they point at, the kernel's protected-mode part at 0x100000. What the
 * kernel does from there (XZ decompression, 2.4 G instructions, then its banner) is the direct
 * boot's, which tests/guest/linux-boot.test.ts covers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { readDisplayState } from '../../src/ioemu/display-state';
import { F64 } from '../../src/shared/layout';
import { fetchDebianFiles, sha256 } from '../../scripts/guest-linux/debian';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { LINUX_GUEST } from '../../src/ui/guests';
import { buildDisk, PARTITION_START, syslinuxCfg } from '../../scripts/guest-disk/disk';
import { DISK_IMAGE_PATH, HOST_ARCH, MTOOLS, SYSLINUX, SYSLINUX_MBR } from '../../scripts/guest-disk/packages';
import { seabiosFolder } from '../boot/seabios-files';

/** SeaBIOS, its VGA BIOS and SYSLINUX loading 6.8 MB through INT 13h take about 30 million instructions. */
const LOAD_BUDGET = 80e6;
/** SYSLINUX's move of the images into place, then the kernel's real-mode setup: about 2 million. */
const HANDOVER_BUDGET = 10e6;

/** The setup header's fields (offsets in the real-mode kernel / struct boot_params; boot.rst). */
const HDR = {
  setupSects: 0x1f1,
  header: 0x202, // "HdrS"
  version: 0x206,
  typeOfLoader: 0x210,
  loadflags: 0x211,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  cmdLinePtr: 0x228,
} as const;
/** boot.rst's loader ID of SYSLINUX (the high nibble; the low one is the loader's version). */
const LOADER_SYSLINUX = 0x3;
/** loadflags bit 0: the protected-mode code is loaded at 0x100000. */
const LOADED_HIGH = 0x01;
const CS = 1; // the CPU's segment register order: ES, CS, SS, DS, FS, GS
const ESI = 6;

const biosDir = seabiosFolder();

const file = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

describe('the Linux guest on a disk (public/guest/disk/linux.img)', () => {
  it('has an MBR with one active FAT partition from sector 63, holding syslinux.cfg with the direct boot\'s command line', () => {
    const disk = readFileSync(DISK_IMAGE_PATH);
    expect(disk.length % (16 * 63 * 512)).toBe(0); // whole cylinders of the ATA disk's geometry
    expect(disk.readUInt16LE(510)).toBe(0xaa55);
    expect(disk[446]).toBe(0x80); // active
    expect([0x01, 0x04, 0x06]).toContain(disk[450]); // FAT12 / FAT16
    expect(disk.readUInt32LE(454)).toBe(PARTITION_START);
    expect(disk.readUInt32LE(458)).toBe(disk.length / 512 - PARTITION_START);
    const volume = disk.subarray(PARTITION_START * 512);
    expect(volume.readUInt16LE(510)).toBe(0xaa55);
    expect(volume.toString('ascii', 3, 11)).toBe('SYSLINUX'); // the installer's boot sector
    expect(disk.includes(syslinuxCfg())).toBe(true);
    expect(syslinuxCfg()).toContain(`APPEND ${LINUX_GUEST.cmdline}\n`);
  });

  it(
    'SeaBIOS boots it from the IDE disk: its banner and SYSLINUX\'s on the VGA text screen, and SYSLINUX hands the kernel over as the boot protocol says',
    () => {
      const r = Machine.create(
        {
          ramMiB: 64,
          vramMiB: 8,
          clock: 'icount',
          image: 'firmware',
          debugconPort: 0x402,
          hda: file(DISK_IMAGE_PATH),
          vgaBios: file(`${biosDir()}/vgabios-stdvga.bin`),
        },
        file(`${biosDir()}/bios.bin`),
        immediateYielder(),
      );
      if (!r.ok) throw new Error(r.message);
      const m = r.value;
      const pc = m.pc!;
      const cpu = pc.cpu;
      const ram = m.memory.u8; // guest RAM is machine memory from 0
      const u16 = (a: number) => ram[a] | (ram[a + 1] << 8);
      const u32 = (a: number) => (u16(a) | (u16(a + 2) << 16)) >>> 0;
      const cString = (a: number) => {
        let end = a;
        while (ram[end] !== 0 && end < a + 4096) end++;
        return String.fromCharCode(...ram.subarray(a, end));
      };
      let log = '';
      let serial = '';
      m.onDebugcon = (b) => (log += String.fromCharCode(b));
      m.onSerial = (b) => (serial += String.fromCharCode(b));

      // To SYSLINUX's last message, in whole slices.
      while (m.stats.f64[F64.INSTRUCTIONS] < LOAD_BUDGET && !serial.includes('Loading /initrd.gz...ok'))
        if (m.slice().next === 'stop') break;
      const mib = readFileSync(DISK_IMAGE_PATH).length >> 20; // SeaBIOS prints whole MiB, rounded down
      expect(log).toContain(`ata0-0: HVM HARDDISK ATA-7 Hard-Disk (${mib} MiBytes)\n`);
      expect(log).toContain('Booting from Hard Disk...');
      expect(serial).toMatch(/SYSLINUX 6\.04 .*\r?\nLoading \/vmlinuz\.\.\. ok\r?\nLoading \/initrd\.gz\.\.\.ok/);

      // Then one instruction at a time (the devices' time passing after each, as the engine's
      // icount chunks end at their deadlines) to the two hand-overs: the real-mode setup entry
      // (offset 0x200 of the real-mode kernel, a jump over the header "HdrS") and the kernel's
      // protected-mode entry at code32_start.
      const linearEip = () => (cpu.segBase[CS] + cpu.eip) >>> 0;
      const protectedMode = () => (cpu.cr0 & 1) !== 0;
      const step = (until: () => boolean) => {
        const end = cpu.instructions + HANDOVER_BUDGET;
        while (cpu.instructions < end && !until()) {
          cpu.run(1);
          for (const d of pc.devices) d.advance?.();
        }
        return until();
      };
      const atSetupEntry = () => !protectedMode() && cpu.eip === 0 && cString(linearEip() + 2).startsWith('HdrS');
      expect(step(atSetupEntry)).toBe(true);
      const setup = linearEip() - 0x200; // the real-mode kernel (SYSLINUX's "zero page")

      // SeaBIOS's and SYSLINUX's messages on the text screen (plane 0 holds the characters).
      const screen = readDisplayState(m.stats);
      expect(screen.kind).toBe('text');
      const vram = m.memory.vram;
      const rows = Array.from({ length: screen.text!.rows }, (_, row) =>
        String.fromCharCode(
          ...Array.from({ length: screen.text!.cols }, (_, col) => vram[screen.start + row * screen.lineBytes + col * 4] || 32),
        ).trimEnd(),
      );
      expect(rows[0]).toMatch(/^SeaBIOS \(version 1\.16\.\d+-debian/);
      expect(rows).toContain('Booting from Hard Disk...');
      expect(rows.some((l) => /^SYSLINUX 6\.04 /.test(l))).toBe(true);
      expect(rows).toContain('Loading /vmlinuz... ok');
      expect(rows).toContain('Loading /initrd.gz...ok');

      // What SYSLINUX left for the kernel (boot.rst, "The real-mode kernel header").
      const vmlinuz = readFileSync(VMLINUZ_PATH);
      const initrd = readFileSync(INITRAMFS_PATH);
      const setupSects = vmlinuz[HDR.setupSects];
      const realModeBytes = (setupSects + 1) * 512;
      // "HdrS" and the protocol version, as in the file.
      expect(Buffer.from(ram.subarray(setup + HDR.header, setup + HDR.header + 6))).toEqual(
        vmlinuz.subarray(HDR.header, HDR.header + 6),
      );
      expect(ram[setup + HDR.typeOfLoader] >> 4).toBe(LOADER_SYSLINUX);
      expect(ram[setup + HDR.loadflags] & LOADED_HIGH).toBe(LOADED_HIGH);
      const code32Start = u32(setup + HDR.code32Start);
      expect(code32Start).toBe(0x100000);
      // The command line: syslinux.cfg's APPEND between what SYSLINUX adds (BOOT_IMAGE=, initrd=).
      expect(cString(u32(setup + HDR.cmdLinePtr))).toBe(
        `BOOT_IMAGE=/vmlinuz ${LINUX_GUEST.cmdline} initrd=/initrd.gz`,
      );
      // The initramfs, byte for byte where the header says.
      const rdImage = u32(setup + HDR.ramdiskImage);
      expect(u32(setup + HDR.ramdiskSize)).toBe(initrd.length);
      expect(Buffer.from(ram.subarray(rdImage, rdImage + initrd.length)).equals(initrd)).toBe(true);
      // The setup code SYSLINUX loaded is the bzImage's, after the header it fills in.
      const headerEnd = 0x202 + vmlinuz[0x201];
      expect(Buffer.from(ram.subarray(setup + headerEnd, setup + realModeBytes)).equals(vmlinuz.subarray(headerEnd, realModeBytes))).toBe(true);

      // The setup code runs (its CPU checks, the BIOS's E820 map) and enters the kernel in
      // protected mode at code32_start with ESI at its copy of boot_params.
      expect(step(() => protectedMode() && linearEip() === code32Start)).toBe(true);
      const kernel = vmlinuz.subarray(realModeBytes);
      expect(Buffer.from(ram.subarray(code32Start, code32Start + kernel.length)).equals(kernel)).toBe(true);
      const bootParams = cpu.reg32[ESI] >>> 0;
      expect(cString(bootParams + HDR.header).startsWith('HdrS')).toBe(true);
      expect(u32(bootParams + HDR.cmdLinePtr)).toBe(u32(setup + HDR.cmdLinePtr));
      expect(u32(bootParams + HDR.ramdiskImage)).toBe(rdImage);
      expect(u32(bootParams + HDR.ramdiskSize)).toBe(initrd.length);
      expect(ram[bootParams + HDR.typeOfLoader]).toBe(ram[setup + HDR.typeOfLoader]);
      m.destroy();
    },
    300_000,
  );

  it(
    'rebuilding it from Debian\'s mtools and SYSLINUX gives the committed image byte for byte',
    () => {
      if (process.arch !== 'x64') {
        console.warn(`cannot rebuild here: the pinned tools are ${HOST_ARCH} programs`);
        return;
      }
      const [mtools, syslinux, mbr] = fetchDebianFiles([MTOOLS, SYSLINUX, SYSLINUX_MBR], true, HOST_ARCH);
      const disk = buildDisk(readFileSync(VMLINUZ_PATH), readFileSync(INITRAMFS_PATH), { mtools, syslinux, mbr });
      expect(sha256(disk)).toBe(sha256(readFileSync(DISK_IMAGE_PATH)));
    },
    600_000,
  );
});
