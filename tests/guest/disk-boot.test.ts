/**
 * The "BIOS + disk" boot: SeaBIOS (Debian's bios.bin) boots public/guest/disk/linux.img (made by
 * `npm run guest:disk`) from the IDE disk: its MBR, SYSLINUX from the FAT partition, which loads
 * the Linux guest's kernel and initramfs through INT 13h; the kernel's real-mode setup code runs
 * (its CPU and x87 checks), decompresses the kernel and prints its first messages.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { F64 } from '../../src/shared/layout';
import { fetchDebianFiles, sha256 } from '../../scripts/guest-linux/debian';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { LINUX_GUEST } from '../../src/ui/guests';
import { buildDisk, PARTITION_START, syslinuxCfg } from '../../scripts/guest-disk/disk';
import { DISK_IMAGE_PATH, HOST_ARCH, MTOOLS, SYSLINUX, SYSLINUX_MBR } from '../../scripts/guest-disk/packages';

/** SeaBIOS and SYSLINUX loading 6.8 MB through INT 13h take about 40 million instructions. */
const LOAD_BUDGET = 80e6;
/** Then the kernel decompresses itself (XZ, ~2.3 G instructions) before it prints its banner. */
const KERNEL_BUDGET = 3e9;

let biosDir = '';
beforeAll(() => {
  biosDir = execFileSync(process.execPath, ['scripts/ensure-seabios.mjs'], { encoding: 'utf8', timeout: 300_000 }).trim();
}, 300_000);

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
    'SeaBIOS boots it: SYSLINUX loads the kernel and initramfs from the IDE disk, and the kernel prints its banner and command line',
    () => {
      const r = Machine.create(
        { ramMiB: 64, vramMiB: 8, clock: 'icount', image: 'firmware', debugconPort: 0x402, hda: file(DISK_IMAGE_PATH) },
        file(`${biosDir}/bios.bin`),
        immediateYielder(),
      );
      if (!r.ok) throw new Error(r.message);
      const m = r.value;
      let log = '';
      let serial = '';
      m.onDebugcon = (b) => (log += String.fromCharCode(b));
      m.onSerial = (b) => (serial += String.fromCharCode(b));
      const run = (until: () => boolean, budget: number) => {
        const end = m.stats.f64[F64.INSTRUCTIONS] + budget;
        while (m.stats.f64[F64.INSTRUCTIONS] < end && !until()) if (m.slice().next === 'stop') break;
      };
      run(() => serial.includes('Loading /initrd.gz...ok'), LOAD_BUDGET);
      const mib = readFileSync(DISK_IMAGE_PATH).length >> 20; // SeaBIOS prints whole MiB, rounded down
      expect(log).toContain(`ata0-0: HVM HARDDISK ATA-7 Hard-Disk (${mib} MiBytes)\n`);
      expect(log).toContain('Booting from Hard Disk...');
      expect(serial).toMatch(/SYSLINUX 6\.04 .*\r?\nLoading \/vmlinuz\.\.\. ok\r?\nLoading \/initrd\.gz\.\.\.ok/);
      run(() => /Kernel command line: .*\n/.test(serial), KERNEL_BUDGET);
      expect(serial).toMatch(/Linux version 6\.1\.0-50-686 .*Debian 6\.1\.176-1/);
      // SYSLINUX adds BOOT_IMAGE= and initrd= to the configured line.
      const line = /Kernel command line: (.*)\r?\n/.exec(serial)?.[1] ?? '';
      expect(line).toContain(LINUX_GUEST.cmdline);
      expect(line).toMatch(/BOOT_IMAGE=\/?vmlinuz/);
      m.destroy();
    },
    1_200_000,
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
