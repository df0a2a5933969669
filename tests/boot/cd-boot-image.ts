/**
 * A bootable test CD for SeaBIOS (used by tests/boot/seabios-cdrom.test.ts and the page's e2e):
 * an ISO 9660 image (scripts/guest-cd/iso9660.ts) whose El Torito no-emulation boot image, written out here byte
 * by byte, prints a greeting and then HELLO.TXT's first sector, read through INT 13h AH=42h.
 */
import { buildIso } from '../../scripts/guest-cd/iso9660';

/**
 * The no-emulation boot image (16-bit code loaded at 07C0:0000): print `hello`, read one
 * 2048-byte sector (LBA `fileLba`) with INT 13h AH=42h from the drive in DL to 0800:0000, print the
 * NUL-terminated text found there (or a failure message), and write 0x10 (0x11 on failure) to the
 * exit port 0xF4. Printing goes to COM1's data register and to INT 10h AH=0Eh (teletype).
 */
export function bootImage(hello: string, fileLba: number): Uint8Array {
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
export function bootableCd(hello: string, text: string): Uint8Array {
  const data = new TextEncoder().encode(`${text}\0`);
  // Where HELLO.TXT lands: the builder places files after the boot image (one sector).
  const probe = buildIso('HVMBOOT', bootImage(hello, 0), [{ name: 'HELLO.TXT', data }]);
  return buildIso('HVMBOOT', bootImage(hello, probe.lba['HELLO.TXT']), [{ name: 'HELLO.TXT', data }]).image;
}
