/**
 * Booting Linux from a CD: SeaBIOS (Debian's bios.bin, with its VGA BIOS) boots
 * public/guest/cd/linux.iso (made by `npm run guest:cd`) from the ATAPI drive: El Torito's
 * no-emulation boot image is ISOLINUX, which finds its configuration and ldlinux.c32 on the disc
 * through the boot information table, loads the Linux guest's kernel and initramfs through INT 13h
 * (2048-byte sectors, the CD's drive number) and hands over to the kernel's real-mode setup. The
 * test stops there and checks what the boot protocol (Documentation/arch/x86/boot.rst) says the
 * loader leaves; the rest of the way is the disk boot's (disk-boot.test.ts) and the direct boot's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINUX_GUEST } from '../../src/ui/guests';
import { fetchDebianFiles, sha256 } from '../../scripts/guest-linux/debian';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { buildCd, isolinuxCfg } from '../../scripts/guest-cd/cd';
import { ISO_SECTOR } from '../../scripts/guest-cd/iso9660';
import { CD_IMAGE_PATH, ISOLINUX_BIN, LDLINUX_C32 } from '../../scripts/guest-cd/packages';
import { firmwareFile, seabiosFolder, seabiosMachine } from '../boot/seabios-files';

/** SeaBIOS, its VGA BIOS and ISOLINUX loading 7 MB through INT 13h. */
const LOAD_BUDGET = 80e6;
/** ISOLINUX's move of the images into place, to the real-mode setup entry. */
const HANDOVER_BUDGET = 10e6;

/** The setup header's fields (offsets in the real-mode kernel; boot.rst). */
const HDR = { header: 0x202, typeOfLoader: 0x210, loadflags: 0x211, ramdiskImage: 0x218, ramdiskSize: 0x21c, cmdLinePtr: 0x228 };
/** boot.rst's loader ID 3: SYSLINUX, ISOLINUX's family. */
const LOADER_SYSLINUX = 0x3;
const CS = 1; // the CPU's segment register order: ES, CS, SS, DS, FS, GS

const biosDir = seabiosFolder();

describe('the Linux guest on a CD (public/guest/cd/linux.iso)', () => {
  it('is an El Torito CD whose no-emulation boot image is ISOLINUX, loaded 4 sectors at a time, with its boot information table', () => {
    const iso = readFileSync(CD_IMAGE_PATH);
    expect(iso.length % ISO_SECTOR).toBe(0);
    const record = iso.subarray(17 * ISO_SECTOR);
    expect(record.toString('ascii', 1, 6) + record.toString('ascii', 7, 30)).toBe('CD001EL TORITO SPECIFICATION');
    const catalog = iso.subarray(record.readUInt32LE(0x47) * ISO_SECTOR);
    expect([catalog[32], catalog[33], catalog.readUInt16LE(38)]).toEqual([0x88, 0x00, 4]); // bootable, no emulation
    const bootLba = catalog.readUInt32LE(40);
    const boot = iso.subarray(bootLba * ISO_SECTOR);
    // The table mkisofs's -boot-info-table writes: the PVD's LBA, the image's, its length, its sum.
    expect([boot.readUInt32LE(8), boot.readUInt32LE(12)]).toEqual([16, bootLba]);
    const length = boot.readUInt32LE(16);
    let sum = 0;
    for (let i = 64; i < length; i += 4) sum = (sum + boot.readUInt32LE(i)) >>> 0;
    expect(boot.readUInt32LE(20)).toBe(sum);
    expect(iso.includes(isolinuxCfg())).toBe(true);
    expect(isolinuxCfg()).toContain(`APPEND ${LINUX_GUEST.cmdline}\n`);
  });

  it(
    "SeaBIOS boots it from the ATAPI drive: ISOLINUX loads the kernel and the initramfs and hands over as the boot protocol says",
    () => {
      const run = seabiosMachine(biosDir(), {
        ramMiB: 64,
        vgaBios: firmwareFile(biosDir(), 'vgabios-stdvga.bin'),
        cdrom: readFileSync(CD_IMAGE_PATH).buffer.slice(0) as ArrayBuffer,
        boot: 'd',
      });
      const { m } = run;
      run.runUntil(LOAD_BUDGET, () => run.serial().includes('Loading /initrd.gz...ok'));
      expect(run.log()).toMatch(/^DVD\/CD \[ata1-0: HVM DVD-ROM ATAPI-7 DVD\/CD\]$/m);
      expect(run.log()).toContain('Booting from DVD/CD...');
      expect(run.serial()).toMatch(/ISOLINUX 6\.04 .*\r?\n(.*\r?\n)*Loading \/vmlinuz\.\.\. ok\r?\nLoading \/initrd\.gz\.\.\.ok/);

      // One instruction at a time (the devices' time passing after each) to the real-mode setup
      // entry: offset 0x200 of the real-mode kernel, a jump over the header "HdrS".
      const pc = m.pc!;
      const cpu = pc.cpu;
      const ram = m.memory.u8;
      const u32 = (a: number) => (ram[a] | (ram[a + 1] << 8) | (ram[a + 2] << 16) | (ram[a + 3] << 24)) >>> 0;
      const cString = (a: number) => String.fromCharCode(...ram.subarray(a, ram.indexOf(0, a)));
      const linearEip = () => (cpu.segBase[CS] + cpu.eip) >>> 0;
      const atSetupEntry = () =>
        (cpu.cr0 & 1) === 0 && cpu.eip === 0 && String.fromCharCode(...ram.subarray(linearEip() + 2, linearEip() + 6)) === 'HdrS';
      const end = cpu.instructions + HANDOVER_BUDGET;
      while (cpu.instructions < end && !atSetupEntry()) {
        cpu.run(1);
        for (const d of pc.devices) d.advance?.();
      }
      expect(atSetupEntry()).toBe(true);
      const setup = linearEip() - 0x200;
      expect(ram[setup + HDR.typeOfLoader] >> 4).toBe(LOADER_SYSLINUX);
      expect(ram[setup + HDR.loadflags] & 0x01).toBe(0x01); // loaded high
      expect(cString(u32(setup + HDR.cmdLinePtr))).toBe(`BOOT_IMAGE=/vmlinuz ${LINUX_GUEST.cmdline} initrd=/initrd.gz`);
      const initrd = readFileSync(INITRAMFS_PATH);
      const rdImage = u32(setup + HDR.ramdiskImage);
      expect(u32(setup + HDR.ramdiskSize)).toBe(initrd.length);
      expect(Buffer.from(ram.subarray(rdImage, rdImage + initrd.length)).equals(initrd)).toBe(true);
      // The kernel's protected-mode part, where code32_start (0x100000) says.
      const vmlinuz = readFileSync(VMLINUZ_PATH);
      const kernel = vmlinuz.subarray((vmlinuz[0x1f1] + 1) * 512);
      expect(Buffer.from(ram.subarray(0x100000, 0x100000 + kernel.length)).equals(kernel)).toBe(true);
      m.destroy();
    },
    300_000,
  );

  it(
    "rebuilding it from Debian's ISOLINUX gives the committed image byte for byte",
    () => {
      const [isolinux, ldlinux] = fetchDebianFiles([ISOLINUX_BIN, LDLINUX_C32], true);
      const cd = buildCd({ isolinux, ldlinux, vmlinuz: readFileSync(VMLINUZ_PATH), initramfs: readFileSync(INITRAMFS_PATH) });
      expect(sha256(cd)).toBe(sha256(readFileSync(CD_IMAGE_PATH)));
    },
    600_000,
  );
});
