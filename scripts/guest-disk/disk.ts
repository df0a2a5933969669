/**
 * A bootable hard disk image holding the Linux guest: an MBR (SYSLINUX's mbr.bin) with one active
 * FAT partition from sector 63 (the classic first-track alignment: 16 heads, 63 sectors per track,
 * the geometry our ATA disk reports), formatted by mformat, with SYSLINUX installed by its mtools
 * installer, syslinux.cfg, the kernel and the initramfs. The kernel boots with the page's command
 * line for its direct boot (LINUX_GUEST in src/ui/guests.ts: COM1 and the VGA console). Byte-identical on every build: a fixed volume serial, one fixed time
 * for every file (SOURCE_DATE_EPOCH, honoured by mtools), no user mtools configuration.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINUX_GUEST } from '../../src/ui/guests';

const SECTOR = 512;
const HEADS = 16;
const SECTORS_PER_TRACK = 63;
const CYLINDER = HEADS * SECTORS_PER_TRACK;
/** The partition starts at the second track, as DOS-era partitioning tools placed it. */
export const PARTITION_START = SECTORS_PER_TRACK;
/** 2026-01-01 00:00 UTC: every file's time (the initramfs's mtime too). */
const EPOCH = 1767225600;
const VOLUME_SERIAL = '48564d31'; // "HVM1"
/** Room for the FAT, the root directory, ldlinux.sys/ldlinux.c32 and cluster rounding. */
const SLACK_SECTORS = 600;

export interface DiskTools {
  mtools: Buffer;
  syslinux: Buffer;
  mbr: Buffer;
}

/** SYSLINUX's configuration: straight to the kernel, its messages on COM1 too. */
export function syslinuxCfg(cmdline: string = LINUX_GUEST.cmdline): string {
  return [
    '# Written by npm run guest:disk (scripts/guest-disk): boot the Linux guest as the direct boot does.',
    'SERIAL 0 115200',
    'DEFAULT linux',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL linux',
    '  KERNEL /vmlinuz',
    '  INITRD /initrd.gz',
    `  APPEND ${cmdline}`,
    '',
  ].join('\n');
}

/** A partition table entry's CHS address of sector lba (cylinder bits 9:8 in the sector byte). */
function chs(lba: number): number[] {
  const c = Math.min(1023, Math.floor(lba / CYLINDER));
  const h = Math.floor(lba / SECTORS_PER_TRACK) % HEADS;
  const s = (lba % SECTORS_PER_TRACK) + 1;
  return [h, s | ((c >> 8) << 6), c & 0xff];
}

export function buildDisk(vmlinuz: Buffer, initramfs: Buffer, tools: DiskTools): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'guest-disk-'));
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mtools'), tools.mtools);
    writeFileSync(join(bin, 'syslinux'), tools.syslinux);
    chmodSync(join(bin, 'mtools'), 0o755);
    chmodSync(join(bin, 'syslinux'), 0o755);
    // mtools is one program that acts by the name it is called by; SYSLINUX's installer runs these.
    for (const name of ['mformat', 'mcopy', 'mattrib', 'mmove', 'mdel', 'mdir']) symlinkSync('mtools', join(bin, name));
    writeFileSync(join(dir, 'mtoolsrc'), '');
    const env = {
      PATH: `${bin}:/usr/bin:/bin`,
      MTOOLSRC: join(dir, 'mtoolsrc'),
      MTOOLS_SKIP_CHECK: '1',
      SOURCE_DATE_EPOCH: String(EPOCH),
      TZ: 'UTC',
      LC_ALL: 'C',
    };
    const run = (cmd: string, args: string[]): void => {
      const r = spawnSync(join(bin, cmd), args, { env, cwd: dir });
      if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
      if (r.status !== 0)
        throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
    };

    const files: [string, Buffer | string][] = [
      ['syslinux.cfg', syslinuxCfg()],
      ['vmlinuz', vmlinuz],
      ['initrd.gz', initramfs],
    ];
    for (const [name, data] of files) {
      writeFileSync(join(dir, name), data);
      utimesSync(join(dir, name), EPOCH, EPOCH);
    }
    const payload = files.reduce((n, [, d]) => n + Math.ceil(Buffer.byteLength(d) / SECTOR), 0);
    const cylinders = Math.ceil((PARTITION_START + payload + SLACK_SECTORS) / CYLINDER);
    const total = cylinders * CYLINDER;
    const partitionSectors = total - PARTITION_START;
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(total * SECTOR));
    const volume = `${img}@@${PARTITION_START * SECTOR}`;
    run('mformat', [
      ...['-i', volume, '-T', String(partitionSectors), '-h', String(HEADS), '-s', String(SECTORS_PER_TRACK)],
      ...['-H', String(PARTITION_START), '-N', VOLUME_SERIAL, '-v', 'HVMLINUX', '::'],
    ]);
    run('mcopy', ['-m', '-i', volume, ...files.map(([name]) => join(dir, name)), '::']);
    run('syslinux', ['--offset', String(PARTITION_START * SECTOR), '--install', img]);

    const disk = readFileSync(img);
    // The MBR: SYSLINUX's boot code (it boots the active partition), a fixed disk signature, and
    // the one partition, typed by the FAT mformat chose (its boot sector names it at offset 54).
    if (tools.mbr.length > 440) throw new Error(`mbr.bin is ${tools.mbr.length} bytes; the MBR has room for 440`);
    tools.mbr.copy(disk, 0);
    disk.write(VOLUME_SERIAL, 440, 'hex');
    const fat = disk.toString('ascii', PARTITION_START * SECTOR + 54, PARTITION_START * SECTOR + 62).trim();
    const type = fat === 'FAT12' ? 0x01 : fat === 'FAT16' ? (partitionSectors < 65536 ? 0x04 : 0x06) : -1;
    if (type < 0) throw new Error(`mformat made a ${JSON.stringify(fat)} file system, expected FAT12 or FAT16`);
    const entry = [0x80, ...chs(PARTITION_START), type, ...chs(total - 1)];
    Buffer.from(entry).copy(disk, 446);
    disk.writeUInt32LE(PARTITION_START, 454);
    disk.writeUInt32LE(partitionSectors, 458);
    disk.writeUInt16LE(0xaa55, 510);
    return disk;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
