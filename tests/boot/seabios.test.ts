/**
 * SeaBIOS from Debian's package (fetched on first use by scripts/ensure-seabios.mjs) boots on the
 * icount clock: its log on the debug console at 0x402 shows it finding the QEMU platform, fw_cfg,
 * the RAM, the PCI functions, and running through to its boot menu; given a disk (hda), it finds
 * it on the PIIX3's IDE channel and boots its MBR.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/machine/machine';
import { F64, I32 } from '../../src/shared/layout';
import { firmwareFile, seabiosFolder, seabiosMachine } from './seabios-files';

/** More than SeaBIOS needs to give up on every boot device (about 6 million instructions). */
const BUDGET = 12_000_000;

const biosDir = seabiosFolder();

/**
 * A 512-byte option ROM (written out here, so the test owns every byte): 0x55 0xAA, one block, and
 * at offset 3 the init entry SeaBIOS far-calls: print the message at CS:0x13 to port 0x402, RETF.
 */
function optionRom(message: string): ArrayBuffer {
  const rom = new Uint8Array(512);
  // prettier-ignore
  rom.set([
    0x55, 0xaa, 0x01,
    0xbe, 0x13, 0x00, //       mov si, msg
    0xba, 0x02, 0x04, //       mov dx, 0x402
    0x2e, 0xac,       // loop: lodsb (cs:si)
    0x84, 0xc0,       //       test al, al
    0x74, 0x03,       //       jz done
    0xee,             //       out dx, al
    0xeb, 0xf7,       //       jmp loop
    0xcb,             // done: retf
  ]);
  rom.set(new TextEncoder().encode(`${message}\0`), 0x13);
  rom[511] = (256 - (rom.reduce((a, b) => a + b, 0) & 0xff)) & 0xff; // the checksum SeaBIOS enforces
  return rom.buffer;
}

/**
 * A 64 KiB disk whose MBR (written out here, so the test owns every byte) reads sector 1 with
 * INT 13h AH=02h (CHS 0/0/2, from the drive in DL, to 0000:7E00), prints the NUL-terminated text
 * it finds there to port 0x402 (or a failure message if the BIOS call fails), and writes 0x10 to
 * the exit port 0xF4.
 */
function bootDisk(message: string): ArrayBuffer {
  const disk = new Uint8Array(64 * 1024);
  // prettier-ignore
  disk.set([
    0xfa,             //        cli
    0x31, 0xc0,       //        xor ax, ax
    0x8e, 0xd8,       //        mov ds, ax
    0x8e, 0xc0,       //        mov es, ax
    0x8e, 0xd0,       //        mov ss, ax
    0xbc, 0x00, 0x7c, //        mov sp, 0x7c00
    0xfb,             //        sti
    0xb8, 0x01, 0x02, //        mov ax, 0x0201   (read, 1 sector)
    0xb9, 0x02, 0x00, //        mov cx, 0x0002   (cylinder 0, sector 2)
    0xb6, 0x00,       //        mov dh, 0        (head 0)
    0xbb, 0x00, 0x7e, //        mov bx, 0x7e00
    0xcd, 0x13,       //        int 0x13
    0xbe, 0x00, 0x7e, //        mov si, 0x7e00
    0x73, 0x03,       //        jnc print
    0xbe, 0x32, 0x7c, //        mov si, failed
    0xba, 0x02, 0x04, // print: mov dx, 0x402
    0xac,             // next:  lodsb
    0x84, 0xc0,       //        test al, al
    0x74, 0x03,       //        jz done
    0xee,             //        out dx, al
    0xeb, 0xf8,       //        jmp next
    0xb0, 0x10,       // done:  mov al, 0x10
    0xe6, 0xf4,       //        out 0xf4, al
    0xf4,             //        hlt
  ]);
  disk.set(new TextEncoder().encode('INT 13h failed\0'), 0x32); // failed:
  disk.set([0x55, 0xaa], 510);
  disk.set(new TextEncoder().encode(`${message}\0`), 512);
  return disk.buffer;
}

function boot(
  file: string,
  done: RegExp,
  vgaBios?: string,
  optionRoms?: { name: string; data: ArrayBuffer }[],
  hda?: ArrayBuffer,
): { log: string; m: Machine } {
  const run = seabiosMachine(
    biosDir(),
    { vgaBios: vgaBios ? firmwareFile(biosDir(), vgaBios) : undefined, optionRoms, hda },
    file,
  );
  run.runUntil(BUDGET, () => done.test(run.log()));
  return { log: run.log(), m: run.m };
}

describe("SeaBIOS 1.16 (Debian's bios.bin) on the icount clock", () => {
  it('logs its version, finds QEMU, fw_cfg and the RAM, enumerates PCI and finds nothing to boot', () => {
    const { log, m } = boot('bios.bin', /No bootable device/);
    expect(log).toMatch(/^SeaBIOS \(version 1\.16\.\d+-debian/m);
    expect(log).toMatch(/^Running on QEMU \(i440fx\)$/m);
    expect(log).toMatch(/^Found QEMU fw_cfg$/m);
    // The ID's DMA bit: SeaBIOS reads the items that follow (etc/e820, the file directory) by DMA.
    expect(log).toMatch(/^QEMU fw_cfg DMA interface supported$/m);
    // etc/e820 gave the RAM: 32 MiB
    expect(log).toMatch(/^qemu\/e820: addr 0x0000000000000000 len 0x0000000002000000 \[RAM\]$/m);
    expect(log).toMatch(/^Found 4 PCI devices/m);
    for (const id of ['00:00.0 id=8086:1237', '00:01.0 id=8086:7000', '00:01.1 id=8086:7010', '00:02.0 id=1234:1111'])
      expect(log).toContain(`PCI: init bdf=${id}`);
    // It placed the display's BAR0, and the VRAM moved there in the p2m.
    const bar = /PCI: map device bdf=00:02\.0 +bar 0, addr ([0-9a-f]+), size 00800000 \[prefmem\]/.exec(log);
    expect(bar).not.toBeNull();
    expect(Atomics.load(m.stats.i32, I32.VBE_BAR0) >>> 0).toBe(parseInt(bar![1], 16));
    expect(m.hv.vramBarGfn).toBe(parseInt(bar![1], 16) >>> 12);
    // The e820 map it hands the OS: RAM below 640 KiB and above 1 MiB up to 32 MiB.
    expect(log).toMatch(/^ {2}3: 0000000000100000 - 0000000002000000 = 1 RAM$/m);
    expect(log).toContain('Booting from Hard Disk...');
    expect(log).toMatch(/No bootable device\./);
    // It shadowed itself and write-protected the copy: PAM0 = RE only for 0xF0000–0xFFFFF.
    const io = m.pc!.io;
    io.write(0xcf8, 4, 0x80000058);
    expect(io.read(0xcfd, 1)).toBe(0x10);
    m.destroy();
  });

  it("with vgabios-stdvga.bin on the display's ROM BAR it copies the VGA BIOS to 0xC0000 and runs it", () => {
    const { log, m } = boot('bios.bin', /No bootable device/, 'vgabios-stdvga.bin');
    expect(log).toMatch(/^PCI: map device bdf=00:02\.0 +bar 6, addr [0-9a-f]+, size 00010000 \[mem\]$/m);
    expect(log).toContain('Running option rom at c000:0003');
    expect(log).toMatch(/^Start SeaVGABIOS \(version 1\.16\.\d+/m);
    // Its Bochs VBE probe found the dispi registers and BAR0's framebuffer.
    expect(log).toMatch(/^VBE DISPI: lfb_addr=[0-9a-f]+, size 8 MB$/m);
    expect(log).toContain('set VGA mode 3');
    // The ROM now sits in shadow RAM at 0xC0000, write-protected by the PAM registers.
    const ram = m.memory.u8;
    expect([ram[0xc0000], ram[0xc0001]]).toEqual([0x55, 0xaa]);
    expect(log).toMatch(/No bootable device\./);
    m.destroy();
  });

  it('finds the IDE disk given as hda, boots its MBR, and INT 13h reads the next sector from it', () => {
    const { log, m } = boot(
      'bios.bin',
      /No bootable device|hello from sector 1/,
      undefined,
      undefined,
      bootDisk('hello from sector 1'),
    );
    expect(log).toMatch(/^ata0-0: HVM HARDDISK ATA-7 Hard-Disk \(0 MiBytes\)$/m);
    expect(log).toContain('Booting from Hard Disk...');
    expect(log).toContain('Booting from 0000:7c00');
    expect(log.slice(log.indexOf('Booting from 0000:7c00'))).toContain('hello from sector 1');
    while (m.slice().next !== 'stop');
    expect(Atomics.load(m.stats.i32, I32.EXIT_STATUS)).toBe((0x10 << 1) | 1);
    expect(m.stats.f64[F64.INSTRUCTIONS]).toBeLessThan(BUDGET);
    m.destroy();
  });

  it('the CLI boots it with --bios, --hda and --boot c; a disk image of a partial sector is refused by name', () => {
    const disk = `/tmp/seabios-hda-${process.pid}.img`;
    writeFileSync(disk, new Uint8Array(bootDisk('hello through the CLI')));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', '--bios', `${biosDir()}/bios.bin`, ...args], {
        encoding: 'utf8',
        input: '',
      });
    const r = cli('--hda', disk, '--boot', 'c', '--debugcon', '-', '--debugcon-port', '0x402', '--clock', 'icount');
    expect(r.status, r.stderr).toBe((0x10 << 1) | 1);
    expect(r.stdout).toContain('Booting from Hard Disk...');
    expect(r.stdout).toMatch(/Booting from 0000:7c00\nhello through the CLI$/);
    writeFileSync(disk, new Uint8Array(1000));
    const bad = cli('--hda', disk);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      'cli: --hda is 1000 bytes, not a whole number of 512-byte sectors (as a raw disk image is)\n',
    );
  });

  it('runs an option ROM handed to it as the fw_cfg file genroms/NAME', () => {
    const { log, m } = boot('bios.bin', /No bootable device/, undefined, [
      { name: 'hello.rom', data: optionRom('hello from an option ROM') },
    ]);
    expect(log).toMatch(/^Running option rom at c[0-9a-f]{3}:0003$/m);
    expect(log).toContain('hello from an option ROM');
    expect(log.indexOf('hello from an option ROM')).toBeLessThan(log.indexOf('No bootable device'));
    m.destroy();
  });

  it("every wired device's state (for snapshots) is plain data, and shows what POST programmed", () => {
    const { m } = boot('bios.bin', /No bootable device/);
    const devices = m.pc!.devices;
    expect(new Set(devices.map((d) => d.name)).size).toBe(devices.length);
    const state = Object.fromEntries(devices.map((d) => [d.name, structuredClone(d.saveState?.() ?? null)]));
    const shadow = state['shadow RAM (i440FX PAM)'] as { modes: number[] };
    expect(shadow.modes[0]).toBe(1); // 0xF0000: read-only shadow RAM
    const pci = state['PCI host (config mechanism #1)'] as { functions: Record<string, number[]> };
    expect(pci.functions['00.0'][0x59]).toBe(0x10);
    const bar0 = pci.functions['02.0'].slice(0x10, 0x14).reduce((v, b, i) => v + b * 256 ** i, 0);
    expect((bar0 & ~0xf) >>> 0).toBe(Atomics.load(m.stats.i32, I32.VBE_BAR0) >>> 0);
    const pic = state['i8259 (master, slave, ELCR)'] as { master: { elcr: number }; slave: { elcr: number } };
    expect([pic.master.elcr, pic.slave.elcr]).toEqual([0x00, 0x0c]); // SeaBIOS: "elcr=00 0c" (IRQ 10, 11 level)
    m.destroy();
  });

  it('the 256 KiB build (bios-256k.bin, what QEMU loads by default) gets as far', () => {
    const { log, m } = boot('bios-256k.bin', /No bootable device/);
    expect(log).toMatch(/^SeaBIOS \(version 1\.16\.\d+-debian/m);
    expect(log).toMatch(/^Found QEMU fw_cfg$/m);
    expect(log).toMatch(/No bootable device\./);
    m.destroy();
  });
});
