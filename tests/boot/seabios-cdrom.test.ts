/**
 * SeaBIOS (Debian's bios.bin, fetched on first use by scripts/ensure-seabios.mjs) boots an El
 * Torito CD from the ATAPI drive on the secondary IDE channel, on the icount clock: it finds the
 * drive ("DVD/CD [ata1-0: …]"), boots it first as --boot d asks, loads the no-emulation boot image
 * at 07C0:0000 and runs it with the CD's drive number in DL; the image prints through INT 10h and
 * COM1, and reads a file's sector through INT 13h AH=42h on that drive. The ISO is built here
 * (scripts/guest-cd/iso9660.ts), the boot image's bytes are written out in cd-boot-image.ts.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDisplayState } from '../../src/ioemu/display-state';
import { I32 } from '../../src/shared/layout';
import { bootableCd } from './cd-boot-image';
import { ISO_SECTOR } from '../../scripts/guest-cd/iso9660';
import { firmwareFile, seabiosFolder, seabiosMachine } from './seabios-files';

const BUDGET = 20_000_000;

const biosDir = seabiosFolder();

const buffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

describe('SeaBIOS boots an El Torito CD in the ATAPI drive', () => {
  it('finds the drive on ata1-0, boots it first with boot order d, and the boot image reads the CD through INT 13h', () => {
    const iso = bootableCd('hello from the CD boot image\r\n', 'hello from HELLO.TXT');
    expect(iso.length % ISO_SECTOR).toBe(0);
    const run = seabiosMachine(biosDir(), {
      vgaBios: firmwareFile(biosDir(), 'vgabios-stdvga.bin'),
      cdrom: buffer(iso),
      boot: 'd',
    });
    run.runUntil(BUDGET);
    const { m } = run;
    const log = run.log();
    const serial = run.serial();
    expect(log).toMatch(/^DVD\/CD \[ata1-0: HVM DVD-ROM ATAPI-7 DVD\/CD\]$/m);
    expect(log).toContain('Booting from DVD/CD...');
    expect(log).toMatch(/^Booting from 0000:7c00$/m); // 07C0:0000, as SeaBIOS prints it
    expect(log).not.toContain('Booting from Hard Disk');
    expect(serial).toBe('hello from the CD boot image\r\nhello from HELLO.TXT');
    expect(Atomics.load(m.stats.i32, I32.EXIT_STATUS)).toBe((0x10 << 1) | 1);
    // The screen: SeaBIOS's messages and the boot image's, in VGA text mode 3.
    const s = readDisplayState(m.stats);
    expect(s.kind).toBe('text');
    const vram = m.memory.vram;
    const rows = Array.from({ length: 25 }, (_, row) =>
      String.fromCharCode(
        ...Array.from({ length: 80 }, (_, col) => vram[s.start + row * s.lineBytes + col * 4] || 32),
      ).trimEnd(),
    );
    expect(rows).toContain('Booting from DVD/CD...');
    expect(rows).toContain('hello from the CD boot image');
    expect(rows).toContain('hello from HELLO.TXT');
    m.destroy();
  });

  it('the CLI boots it with --cdrom and --boot d; an ISO of a partial sector is refused by name', () => {
    const file = `/tmp/seabios-cdrom-${process.pid}.iso`;
    writeFileSync(file, bootableCd('hello through the CLI\r\n', 'and from its file'));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', '--bios', `${biosDir()}/bios.bin`, ...args], {
        encoding: 'utf8',
        input: '',
      });
    try {
      const r = cli('--cdrom', file, '--boot', 'd', '--serial', '-', '--clock', 'icount');
      expect(r.status, r.stderr).toBe((0x10 << 1) | 1);
      expect(r.stdout).toBe('hello through the CLI\r\nand from its file');
      writeFileSync(file, new Uint8Array(5000));
      const bad = cli('--cdrom', file);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toBe(
        'cli: --cdrom is 5000 bytes, not a whole number of 2048-byte sectors (as an ISO image is)\n',
      );
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('SeaBIOS with a disk and a CD (boot order dc)', () => {
  /** A 64 KiB disk whose MBR writes `code` to the exit port 0xF4. */
  const disk = (code: number) => {
    const d = new Uint8Array(64 * 1024);
    d.set([0xb0, code, 0xe6, 0xf4, 0xf4]); // mov al, code; out 0xf4, al; hlt
    d.set([0x55, 0xaa], 510);
    return d;
  };

  function run(cdrom: Uint8Array): { log: string; exit: number } {
    const run = seabiosMachine(biosDir(), { hda: buffer(disk(0x12)), cdrom: buffer(cdrom), boot: 'dc' });
    run.runUntil(BUDGET);
    const { m } = run;
    const log = run.log();
    const exit = Atomics.load(m.stats.i32, I32.EXIT_STATUS);
    m.destroy();
    return { log, exit };
  }

  it('finds both drives and boots the CD first', () => {
    const { log, exit } = run(bootableCd('cd first\r\n', 'from the CD'));
    expect(log).toMatch(/^ata0-0: HVM HARDDISK ATA-7 Hard-Disk \(0 MiBytes\)$/m);
    expect(log).toMatch(/^DVD\/CD \[ata1-0: HVM DVD-ROM ATAPI-7 DVD\/CD\]$/m);
    expect(log).toContain('Booting from DVD/CD...');
    expect(log).not.toContain('Booting from Hard Disk');
    expect(exit).toBe((0x10 << 1) | 1);
  });

  it('a CD without an El Torito boot record fails to boot, and the disk boots next', () => {
    const { log, exit } = run(new Uint8Array(40 * ISO_SECTOR));
    expect(log).toContain('Booting from DVD/CD...');
    // cdrom_boot's code 5: sector 17 is not "CD001\1EL TORITO SPECIFICATION".
    expect(log).toMatch(/Boot failed: Could not read from CDROM \(code 0005\)/);
    expect(log.indexOf('Booting from Hard Disk...')).toBeGreaterThan(log.indexOf('Booting from DVD/CD...'));
    expect(exit).toBe((0x12 << 1) | 1);
  });
});
