/**
 * Debian's Linux sees the machine's IDE drives: a hard disk (`--hda`, the committed disk image) as
 * /dev/sda with its partition, and a CD (`--cdrom`, an ISO 9660 image built here) in the ATAPI
 * drive as /dev/sr0, through the modules the initramfs loads (ata_piix, sd_mod, sr_mod, isofs,
 * vfat). On the icount clock, through the CLI as a user runs it; the commands typed on COM1 mount
 * both and print what is on them.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { DISK_IMAGE_PATH } from '../../scripts/guest-disk/packages';
import { syslinuxCfg } from '../../scripts/guest-disk/disk';
import { buildIso } from '../boot/iso9660';

const CMDLINE = 'nokaslr cryptomgr.notests console=ttyS0';
/**
 * The prompt comes at 2.86 G instructions (the modules' loading and the drives' probe included,
 * 0.1 G more than without them), and the typed commands are done by 2.88 G.
 */
const BUDGET = 3e9;

const HELLO = 'Hello from an ISO 9660 image, read by Linux through the ATAPI drive.\n';
/** 40,000 bytes over 20 sectors of 2048: a read of more than one sector, by DMA or in PIO pieces. */
const BIG = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 2654435761) >>> 24);

const INPUT = [
  'cat /proc/partitions',
  'mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/hello.txt && md5sum /mnt/big.bin && umount /mnt',
  'mount -t vfat -o ro /dev/sda1 /mnt && cat /mnt/syslinux.cfg && umount /mnt',
  '',
].join('\n');

describe("Debian's Linux with a disk and a CD on the IDE channels, on the icount clock", () => {
  let dir: string;
  let serial = '';
  let status: number | null = null;
  let stderr = '';
  let isoBytes = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linux-disks-'));
    const iso = buildIso('HVMDATA', new Uint8Array(512), [
      { name: 'BIG.BIN', data: BIG },
      { name: 'HELLO.TXT', data: new TextEncoder().encode(HELLO) },
    ]);
    writeFileSync(join(dir, 'data.iso'), iso.image);
    isoBytes = iso.image.length;
    // prettier-ignore
    const args = [
      '--kernel', VMLINUZ_PATH, '--initrd', INITRAMFS_PATH, '--cmdline', CMDLINE,
      '--memory', '64', '--clock', 'icount', '--max-instructions', String(BUDGET),
      '--hda', DISK_IMAGE_PATH, '--cdrom', join(dir, 'data.iso'), '--serial', join(dir, 'serial.txt'),
    ];
    status = await new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'tools/cli.ts', ...args], { stdio: 'pipe' });
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('close', resolve);
      p.stdin.end(INPUT);
    });
    serial = readFileSync(join(dir, 'serial.txt'), 'latin1').replace(/\r\n/g, '\n');
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs to its instruction budget (exit status 3), not a fault', () => {
    expect(stderr).toBe('');
    expect(status).toBe(3);
  });

  it('libata finds the ATA disk on the primary channel and the ATAPI drive on the secondary', () => {
    expect(serial).toMatch(/ata1\.00: ATA-7: HVM HARDDISK, 1\.0, max UDMA\/100\n/);
    expect(serial).toMatch(/ata2\.00: ATAPI: HVM DVD-ROM, 1\.0, max UDMA\/100\n/);
    const sectors = readFileSync(DISK_IMAGE_PATH).length / 512;
    expect(serial).toContain(`sd 0:0:0:0: [sda] ${sectors} 512-byte logical blocks`);
    expect(serial).toMatch(/ sda: sda1\n/);
    expect(serial).toContain('sr 1:0:0:0: [sr0] scsi3-mmc drive');
    expect(serial).not.toMatch(/ata\d\.\d\d: (failed|exception)|I\/O error/);
  });

  it('/proc/partitions lists sda, its partition and sr0 with their sizes (KiB)', () => {
    const disk = readFileSync(DISK_IMAGE_PATH);
    const partitionSectors = disk.readUInt32LE(458);
    const rows = serial.split('\n').filter((l) => /^\s+(8|11)\s+\d+\s+\d+ \w+$/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/))).toEqual([
      ['8', '0', String(disk.length / 1024), 'sda'],
      ['8', '1', String(Math.floor(partitionSectors / 2)), 'sda1'],
      ['11', '0', String(isoBytes / 1024), 'sr0'],
    ]);
  });

  it('mounts the CD (ISO 9660) and prints its files: the text, and the larger file\'s MD5', () => {
    expect(serial).toContain(`&& umount /mnt\n${HELLO}`);
    const md5 = createHash('md5').update(BIG).digest('hex');
    expect(serial).toContain(`${md5}  /mnt/big.bin\n`);
  });

  it('mounts the disk\'s FAT partition (vfat) and prints SYSLINUX\'s configuration from it', () => {
    expect(serial).toContain(`/mnt/syslinux.cfg && umount /mnt\n${syslinuxCfg()}`);
  });
});
