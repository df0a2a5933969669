/**
 * SeaBIOS's Linux-boot path (QEMU's -bios with -kernel): the machine hands the Linux guest's
 * kernel, initramfs and command line to the firmware as fw_cfg items, SeaBIOS runs QEMU's option
 * ROM linuxboot_dma.bin (Debian's qemu-system-data, fetched by scripts/ensure-seabios.mjs) from
 * fw_cfg genroms, and the ROM copies each part where its address item says by fw_cfg DMA and
 * enters the kernel's real-mode setup code. The test stops at that entry and checks what the boot
 * protocol (Documentation/arch/x86/boot.rst) says the loader leaves; the rest of the way is the
 * direct boot's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINUXBOOT_ROM } from '../../src/machine/pc';
import { LINUX_GUEST } from '../../src/ui/guests';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { firmwareFile, seabiosFolder, seabiosMachine } from './seabios-files';

/** SeaBIOS's POST to the option ROM's boot (no VGA BIOS, no disks). */
const POST_BUDGET = 30e6;
/** The ROM's fw_cfg reads and DMA copies, to the real-mode setup entry. */
const HANDOVER_BUDGET = 1e6;

/** The CLI's run: SeaBIOS, the ROM, the setup code and the decompressor's start. */
const CLI_BUDGET = 60e6;

/** The setup header's fields (offsets in the real-mode kernel; boot.rst). */
const HDR = {
  typeOfLoader: 0x210,
  loadflags: 0x211,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  heapEndPtr: 0x224,
  cmdLinePtr: 0x228,
};
/** boot.rst's loader ID 0xB: QEMU. */
const LOADER_QEMU = 0xb;
const CS = 1; // the CPU's segment register order: ES, CS, SS, DS, FS, GS

const biosDir = seabiosFolder();
const file = (path: string) => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

describe("SeaBIOS boots a kernel given to the machine, through QEMU's linuxboot_dma.bin", () => {
  it('the ROM puts the setup code, the kernel, the command line and the initramfs where the header says, and enters the setup code', () => {
    const cmdline = `${LINUX_GUEST.cmdline} quiet`;
    const run = seabiosMachine(biosDir(), {
      ramMiB: 64,
      kernel: file(VMLINUZ_PATH),
      initrd: file(INITRAMFS_PATH),
      cmdline,
      optionRoms: [{ name: LINUXBOOT_ROM, data: firmwareFile(biosDir(), LINUXBOOT_ROM) }],
    });
    const { m } = run;
    // Stop inside the slice that prints it: the next instructions are the ROM's.
    const log = m.onDebugcon!;
    m.onDebugcon = (b) => {
      log(b);
      if (run.log().endsWith('Booting from ROM...\n')) m.pc!.cpu.requestStop();
    };
    run.runUntil(POST_BUDGET, () => run.log().includes('Booting from ROM...\n'));
    expect(run.log()).toMatch(/^Booting from ROM\.\.\.$/m);

    // One instruction at a time (the devices' time passing after each) to the real-mode setup
    // entry: offset 0x200 of the real-mode kernel, a jump over the header "HdrS".
    const pc = m.pc!;
    const cpu = pc.cpu;
    const ram = m.memory.u8;
    const u16 = (a: number) => ram[a] | (ram[a + 1] << 8);
    const u32 = (a: number) => (u16(a) | (u16(a + 2) << 16)) >>> 0;
    const cString = (a: number) => String.fromCharCode(...ram.subarray(a, ram.indexOf(0, a)));
    const linearEip = () => (cpu.segBase[CS] + cpu.eip) >>> 0;
    const atSetupEntry = () =>
      (cpu.cr0 & 1) === 0 &&
      cpu.eip === 0 &&
      String.fromCharCode(...ram.subarray(linearEip() + 2, linearEip() + 6)) === 'HdrS';
    const end = cpu.instructions + HANDOVER_BUDGET;
    while (cpu.instructions < end && !atSetupEntry()) {
      cpu.run(1);
      for (const d of pc.devices) d.advance?.();
    }
    expect(atSetupEntry()).toBe(true);
    const setup = linearEip() - 0x200;
    expect(setup).toBe(0x10000); // protocol 2.02+: the real-mode part at 0x10000
    expect(ram[setup + HDR.typeOfLoader] >> 4).toBe(LOADER_QEMU);
    expect(ram[setup + HDR.loadflags] & 0x81).toBe(0x81); // loaded high, CAN_USE_HEAP
    expect(u32(setup + HDR.cmdLinePtr)).toBe(0x20000);
    expect(cString(0x20000)).toBe(cmdline);
    // The heap ends where the command line begins (offset from the setup code's start, minus 0x200).
    expect(u16(setup + HDR.heapEndPtr)).toBe(0x20000 - setup - 0x200);

    const initrd = readFileSync(INITRAMFS_PATH);
    const rdImage = u32(setup + HDR.ramdiskImage);
    expect(u32(setup + HDR.ramdiskSize)).toBe(initrd.length);
    expect(rdImage % 0x1000).toBe(0);
    expect(rdImage + initrd.length).toBeLessThanOrEqual(64 << 20);
    expect(Buffer.from(ram.subarray(rdImage, rdImage + initrd.length)).equals(initrd)).toBe(true);
    // The real-mode part as the file has it past the header, and the protected-mode kernel at 1 MiB.
    const vmlinuz = readFileSync(VMLINUZ_PATH);
    const setupBytes = (vmlinuz[0x1f1] + 1) * 512;
    expect(
      Buffer.from(ram.subarray(setup + 0x300, setup + setupBytes)).equals(vmlinuz.subarray(0x300, setupBytes)),
    ).toBe(true);
    const kernel = vmlinuz.subarray(setupBytes);
    expect(Buffer.from(ram.subarray(0x100000, 0x100000 + kernel.length)).equals(kernel)).toBe(true);
    m.destroy();
  }, 120_000);

  it('the CLI boots a kernel with --bios, --kernel, --initrd and --append: the setup code and the decompressor read the command line', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', '--bios', `${biosDir()}/bios.bin`, ...args], {
        encoding: 'utf8',
        input: '',
      });
    const common = ['--kernel', VMLINUZ_PATH, '--memory', '64', '--clock', 'icount', '--serial', '-'];
    const r = cli(
      ...common,
      '--initrd',
      INITRAMFS_PATH,
      '--append',
      'nokaslr earlyprintk=ttyS0',
      '--max-instructions',
      `${CLI_BUDGET}`,
    );
    expect(r.status, r.stderr).toBe(3); // the instruction limit
    // The setup code prints to the serial port because earlyprintk says so; the decompressor reads nokaslr.
    expect(r.stdout).toMatch(
      /Probing EDD \(edd=off to disable\)\.\.\. ok\r?\n(.*\r?\n)*KASLR disabled: 'nokaslr' on cmdline\./,
    );
    const bad = cli('--kernel', `${biosDir()}/bios.bin`);
    expect([bad.status, bad.stderr]).toEqual([
      2,
      `cli: ${biosDir()}/bios.bin: the firmware boots a Linux bzImage only; a Multiboot kernel boots without --bios\n`,
    ]);
  }, 120_000);
});
