/**
 * Debian's Linux through the CLI as a user runs it, on the icount clock, twice side by side: it
 * boots to BusyBox's shell, runs what is typed on COM1, draws tty1 on vesafb, and sees the IDE
 * drives: a hard disk (`--hda`, the committed disk image) as /dev/sda with its partition, and a CD
 * (`--cdrom`, an ISO 9660 image built here) in the ATAPI drive as /dev/sr0, through the modules the
 * initramfs loads (ata_piix, sd_mod, sr_mod, isofs, vfat). The second run is the determinism check.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e820Map } from '../../src/machine/boot/bios';
import { VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { DISK_IMAGE_PATH } from '../../scripts/guest-disk/packages';
import { syslinuxCfg } from '../../scripts/guest-disk/disk';
import { buildIso } from '../../scripts/guest-cd/iso9660';

const RAM_MIB = 64;
const VRAM_MIB = 8;
/**
 * nokaslr: the kernel runs where the loader put it (the initrd's place below is then known).
 * cryptomgr.notests: no crypto self-tests at late init (31.6 s of guest time, ~3 G instructions).
 * No earlyprintk: its early UART set-up raises RTS, the UART starts handing over the typed input,
 * and the 8250 driver's probe later reads its first byte away (as typing that early on a real
 * serial line would lose it); console=ttyS0 replays the early messages anyway.
 */
const CMDLINE = 'nokaslr cryptomgr.notests console=ttyS0';
/**
 * The loader unpacks the kernel and the initramfs (the CLI's default, --kernel-unpack host), and
 * the kernel with this command line then takes 0.42 G instructions to its shell's prompt (/init's
 * loading of the disk and CD modules included; 0.57 G before the loader's RNG seed and initrd
 * unpacking); the typed commands below (the drives mounted and read) follow well within the
 * budget. (Through its own XZ decompressor, --kernel-unpack guest, it spent ~2.3 G more before
 * its banner.)
 */
const BUDGET = 0.9e9;
const HELLO = 'Hello from an ISO 9660 image, read by Linux through the ATAPI drive.\n';
/** 40,000 bytes over 20 sectors of 2048: a read of more than one sector, by DMA or in PIO pieces. */
const BIG = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 2654435761) >>> 24);
/** What is typed on COM1; on icount the CLI hands all of stdin to the UART before the run. */
const INPUT = [
  'uname -r',
  'echo sum=$((6*7))',
  'cat /proc/partitions',
  'mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/hello.txt && md5sum /mnt/big.bin && umount /mnt',
  'mount -t vfat -o ro /dev/sda1 /mnt && cat /mnt/syslinux.cfg && umount /mnt',
  '',
].join('\n');

interface Run {
  status: number | null;
  stderr: string;
  serial: string;
  screen: Buffer;
  stats: { instructions: number; machineTimeMs: number; end: string };
}

/**
 * `npm run cli` as a user runs it: the committed kernel and initramfs, the committed disk image and
 * the test's CD on the IDE channels, COM1 to a file.
 */
function cli(dir: string, name: string): Promise<Run> {
  const out = (ext: string) => join(dir, `${name}.${ext}`);
  // prettier-ignore
  const args = [
    '--kernel', VMLINUZ_PATH, '--initrd', INITRAMFS_PATH, '--cmdline', CMDLINE,
    '--memory', String(RAM_MIB), '--vram', String(VRAM_MIB), '--clock', 'icount',
    '--max-instructions', String(BUDGET), '--serial', out('txt'), '--screenshot', out('png'),
    '--stats-json', out('json'), '--hda', DISK_IMAGE_PATH, '--cdrom', join(dir, 'data.iso'),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'tools/cli.ts', ...args], { stdio: 'pipe' });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => {
      try {
        resolve({
          status,
          stderr,
          serial: readFileSync(out('txt'), 'latin1'),
          screen: readFileSync(out('png')),
          stats: JSON.parse(readFileSync(out('json'), 'utf8')) as Run['stats'],
        });
      } catch (e) {
        reject(new Error(`cli ${name} left no output (status ${status}): ${stderr}\n${(e as Error).message}`));
      }
    });
    p.stdin.end(INPUT);
  });
}

const hex16 = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;
const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

describe("Debian's Linux through the CLI on the icount clock, from the committed image, twice", () => {
  let dir: string;
  let a: Run;
  let b: Run;
  let isoBytes = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linux-boot-'));
    const iso = buildIso('HVMDATA', new Uint8Array(512), [
      { name: 'BIG.BIN', data: BIG },
      { name: 'HELLO.TXT', data: new TextEncoder().encode(HELLO) },
    ]);
    writeFileSync(join(dir, 'data.iso'), iso.image);
    isoBytes = iso.image.length;
    // Two runs side by side (a core each where there are two): the second is the determinism check.
    [a, b] = await Promise.all([cli(dir, 'a'), cli(dir, 'b')]);
  }, 1_800_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs to its instruction budget (exit status 3), not a fault', () => {
    expect(a.stderr).toBe('');
    expect(a.status).toBe(3);
    expect(a.stats.end).toBe('instruction limit');
  });

  it('boots to its shell: banner, the x87 and a 1 GHz TSC found, fbcon on the framebuffer, /init and BusyBox', () => {
    const serial = a.serial;
    expect(serial).toMatch(/Linux version 6\.1\.0-50-686 .*Debian 6\.1\.176-1/);
    expect(serial).toContain('x86/fpu: x87 FPU will use FSAVE');
    // The TSC runs at 1 GHz on the machine clock; Linux's PIT calibration finds it.
    const mhz = Number(/tsc: Detected (\d+\.\d+) MHz processor/.exec(serial)?.[1]);
    expect(Math.abs(mhz - 1000)).toBeLessThan(1);
    expect(serial).toContain('vesafb: mode is 1024x768x32');
    expect(serial).toContain('Console: switching to colour frame buffer device 128x48');
    expect(serial).toContain('Run /init as init process');
    expect(serial).toMatch(/BusyBox v1\.35\.0 .* built-in shell \(ash\)/);
  });

  it('reports the E820 map, the command line and the initrd as the loader gave them', () => {
    const e820 = e820Map(RAM_MIB << 20, VRAM_BAR_DEFAULT, VRAM_MIB << 20).map(
      (e) =>
        `BIOS-e820: [mem ${hex16(e.addr)}-${hex16(e.addr + e.size - 1)}] ${e.type === 1 ? 'usable' : 'reserved'}`,
    );
    const printed = a.serial.split(/\r?\n/).flatMap((l) => l.match(/BIOS-e820: .*$/) ?? []);
    expect(printed).toEqual(e820);
    expect(a.serial).toContain(`Kernel command line: ${CMDLINE}`);
    // The initrd where the loader put it, unpacked (one gzip member): page-aligned at the top of
    // RAM (the kernel prints the range it reserves, rounded out to pages).
    const initrdBytes = gunzipSync(readFileSync(INITRAMFS_PATH)).length;
    const start = Math.floor(((RAM_MIB << 20) - initrdBytes) / 0x1000) * 0x1000;
    const end = Math.ceil((start + initrdBytes) / 0x1000) * 0x1000 - 1;
    expect(a.serial).toContain(`RAMDISK: [mem ${hex8(start)}-${hex8(end)}]`);
    // The loader's RNG seed (SETUP_RNG_SEED) is credited at once: the CRNG is ready before the
    // kernel's first timestamp moves.
    expect(a.serial).toMatch(/\[ +0\.000000\] random: crng init done\r?\n/);
  });

  it("runs what is typed on COM1 at the shell's prompt", () => {
    const shell = a.serial.slice(a.serial.indexOf('built-in shell'));
    expect(shell).toMatch(/\/ # uname -r\r?\n6\.1\.0-50-686\r?\n/);
    expect(shell).toMatch(/\/ # echo sum=\$\(\(6\*7\)\)\r?\nsum=42\r?\n/);
  });

  it("draws tty1 on vesafb's 1024×768×32 screen: /init's banner and the prompt", () => {
    // The kernel's own messages go to COM1 only with this command line; tty1 has the shell's.
    const png = PNG.sync.read(a.screen);
    expect([png.width, png.height]).toEqual([1024, 768]);
    let lit = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] | png.data[i + 1] | png.data[i + 2]) lit++;
    expect(lit).toBeGreaterThan(2_000);
  });

  it('libata finds the ATA disk on the primary channel and the ATAPI drive on the secondary', () => {
    const serial = a.serial.replace(/\r\n/g, '\n');
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
    const rows = a.serial.split(/\r?\n/).filter((l) => /^\s+(8|11)\s+\d+\s+\d+ \w+$/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/))).toEqual([
      ['8', '0', String(disk.length / 1024), 'sda'],
      ['8', '1', String(Math.floor(partitionSectors / 2)), 'sda1'],
      ['11', '0', String(isoBytes / 1024), 'sr0'],
    ]);
  });

  it("mounts the CD (ISO 9660) and prints its files: the text, and the larger file's MD5", () => {
    const serial = a.serial.replace(/\r\n/g, '\n');
    expect(serial).toContain(`&& umount /mnt\n${HELLO}`);
    const md5 = createHash('md5').update(BIG).digest('hex');
    expect(serial).toContain(`${md5}  /mnt/big.bin\n`);
  });

  it("mounts the disk's FAT partition (vfat) and prints SYSLINUX's configuration from it", () => {
    const serial = a.serial.replace(/\r\n/g, '\n');
    expect(serial).toContain(`/mnt/syslinux.cfg && umount /mnt\n${syslinuxCfg()}`);
  });

  it('prints the same serial output and draws the same screen on both runs, byte for byte', () => {
    expect(b.status).toBe(a.status);
    expect(b.serial.length).toBe(a.serial.length);
    expect(b.serial === a.serial).toBe(true);
    expect(b.screen.equals(a.screen)).toBe(true);
    expect(b.stats.instructions).toBe(a.stats.instructions);
    expect(b.stats.machineTimeMs).toBe(a.stats.machineTimeMs);
  });
});
