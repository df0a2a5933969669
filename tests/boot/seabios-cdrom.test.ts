/**
 * SeaBIOS (Debian's bios.bin, fetched on first use by scripts/ensure-seabios.mjs) boots an El
 * Torito CD from the ATAPI drive on the secondary IDE channel, on the icount clock: it finds the
 * drive ("DVD/CD [ata1-0: …]"), boots it first as --boot d asks, loads the no-emulation boot image
 * at 07C0:0000 and runs it with the CD's drive number in DL; the image prints through INT 10h and
 * COM1, and reads a file's sector through INT 13h AH=42h on that drive. The ISO is built here
 * (iso9660.ts), the boot image's bytes are written out below.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDisplayState } from '../../src/ioemu/display-state';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { F64, I32 } from '../../src/shared/layout';
import { buildIso, ISO_SECTOR } from './iso9660';

const BUDGET = 20_000_000;

let biosDir = '';
beforeAll(() => {
  biosDir = execFileSync(process.execPath, ['scripts/ensure-seabios.mjs'], {
    encoding: 'utf8',
    timeout: 300_000,
  }).trim();
}, 300_000);

const buffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/**
 * The no-emulation boot image (16-bit code loaded at 07C0:0000): print `hello`, read one
 * 2048-byte sector (LBA `fileLba`) with INT 13h AH=42h from the drive in DL to 0800:0000, print the
 * NUL-terminated text found there (or a failure message), and write 0x10 (0x11 on failure) to the
 * exit port 0xF4. Printing goes to COM1's data register and to INT 10h AH=0Eh (teletype).
 */
function bootImage(hello: string, fileLba: number): Uint8Array {
  const b = new Uint8Array(512);
  // prettier-ignore
  b.set([
    0xfa,                   // 00 cli
    0xb8, 0xc0, 0x07,       // 01 mov ax, 0x07c0     (SeaBIOS enters at 0000:7C00)
    0x8e, 0xd8,             // 04 mov ds, ax
    0x31, 0xc0,             // 06 xor ax, ax
    0x8e, 0xd0,             // 08 mov ss, ax
    0xbc, 0x00, 0x7c,       // 0a mov sp, 0x7c00
    0xfb,                   // 0d sti
    0x88, 0x16, 0x52, 0x00, // 0e mov [drive], dl
    0xbe, 0x70, 0x00,       // 12 mov si, hello
    0xe8, 0x27, 0x00,       // 15 call print
    0xb4, 0x42,             // 18 mov ah, 0x42       (extended read)
    0x8a, 0x16, 0x52, 0x00, // 1a mov dl, [drive]
    0xbe, 0x53, 0x00,       // 1e mov si, dap
    0xcd, 0x13,             // 21 int 0x13
    0x72, 0x0f,             // 23 jc failed
    0xb8, 0x00, 0x08,       // 25 mov ax, 0x0800
    0x8e, 0xd8,             // 28 mov ds, ax
    0x31, 0xf6,             // 2a xor si, si
    0xe8, 0x10, 0x00,       // 2c call print
    0xb0, 0x10,             // 2f mov al, 0x10
    0xe6, 0xf4,             // 31 out 0xf4, al
    0xf4,                   // 33 hlt
    0xbe, 0x90, 0x00,       // 34 failed: mov si, fail
    0xe8, 0x05, 0x00,       // 37 call print
    0xb0, 0x11,             // 3a mov al, 0x11
    0xe6, 0xf4,             // 3c out 0xf4, al
    0xf4,                   // 3e hlt
    0xac,                   // 3f print: lodsb
    0x84, 0xc0,             // 40 test al, al
    0x74, 0x0d,             // 42 jz ret
    0xba, 0xf8, 0x03,       // 44 mov dx, 0x3f8
    0xee,                   // 47 out dx, al
    0xb4, 0x0e,             // 48 mov ah, 0x0e
    0xbb, 0x07, 0x00,       // 4a mov bx, 0x0007
    0xcd, 0x10,             // 4d int 0x10
    0xeb, 0xee,             // 4f jmp print
    0xc3,                   // 51 ret
    0x00,                   // 52 drive
    0x10, 0x00, 0x01, 0x00, // 53 dap: size 16, 1 sector,
    0x00, 0x00, 0x00, 0x08, //    to 0800:0000,
  ]);
  new DataView(b.buffer).setUint32(0x5b, fileLba, true); // from this LBA (64 bits; the high half 0)
  b.set(new TextEncoder().encode(`${hello}\0`), 0x70);
  b.set(new TextEncoder().encode('INT 13h AH=42h failed\0'), 0x90);
  return b;
}

/** A bootable CD: the boot image and HELLO.TXT, whose first sector the boot image prints. */
function bootableCd(hello: string, text: string): Uint8Array {
  const data = new TextEncoder().encode(`${text}\0`);
  // Where HELLO.TXT lands: the builder places files after the boot image (one sector).
  const probe = buildIso('HVMBOOT', bootImage(hello, 0), [{ name: 'HELLO.TXT', data }]);
  return buildIso('HVMBOOT', bootImage(hello, probe.lba['HELLO.TXT']), [{ name: 'HELLO.TXT', data }]).image;
}

describe('SeaBIOS boots an El Torito CD in the ATAPI drive', () => {
  it('finds the drive on ata1-0, boots it first with boot order d, and the boot image reads the CD through INT 13h', () => {
    const iso = bootableCd('hello from the CD boot image\r\n', 'hello from HELLO.TXT');
    expect(iso.length % ISO_SECTOR).toBe(0);
    const r = Machine.create(
      {
        ramMiB: 32,
        vramMiB: 8,
        clock: 'icount',
        image: 'firmware',
        debugconPort: 0x402,
        vgaBios: buffer(readFileSync(`${biosDir}/vgabios-stdvga.bin`)),
        cdrom: buffer(iso),
        boot: 'd',
      },
      buffer(readFileSync(`${biosDir}/bios.bin`)),
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    let log = '';
    let serial = '';
    m.onDebugcon = (b) => (log += String.fromCharCode(b));
    m.onSerial = (b) => (serial += String.fromCharCode(b));
    while (m.stats.f64[F64.INSTRUCTIONS] < BUDGET) if (m.slice().next === 'stop') break;
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
      spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', '--bios', `${biosDir}/bios.bin`, ...args], {
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
