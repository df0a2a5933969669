import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/shared/api';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { I32, RunState } from '../../src/shared/layout';
import { INFO_BASE, MULTIBOOT_HEADER_MAGIC } from '../../src/machine/boot/multiboot';

/** Where the kernel made here is loaded, and the virtual address it is linked at (a higher-half kernel). */
const PHYS = 0x100000;
const VIRT = 0xc0100000;
/** The code's offset in the image (and in the segment). */
const CODE_AT = 0x70;

/**
 * Flat 32-bit code that prints, on the debug console (0xE9), module 0's bytes up to a NUL, then
 * module 0's and module 1's strings, and exits through port 0xF4 with 0x11. It runs at its
 * physical address with paging off, so it uses no absolute address of its own.
 */
// prettier-ignore
const CODE = [
  0xbc, 0x00, 0x00, 0x08, 0x00, //       mov esp, 0x80000
  0x8b, 0x7b, 0x18,             //       mov edi, [ebx + 24]   (mods_addr)
  0x8b, 0x37,                   //       mov esi, [edi]        (module 0: mod_start)
  0xe8, 21, 0, 0, 0,            //       call print
  0x8b, 0x77, 0x08,             //       mov esi, [edi + 8]    (module 0: string)
  0xe8, 13, 0, 0, 0,            //       call print
  0x8b, 0x77, 0x18,             //       mov esi, [edi + 24]   (module 1: string)
  0xe8, 5, 0, 0, 0,             //       call print
  0xb0, 0x11,                   //       mov al, 0x11
  0xe6, 0xf4,                   //       out 0xf4, al
  0xf4,                         //       hlt
  0x66, 0xba, 0xe9, 0x00,       // print: mov dx, 0xe9
  0xac,                         // next:  lodsb
  0x84, 0xc0,                   //        test al, al
  0x74, 0x03,                   //        jz ret
  0xee,                         //        out dx, al
  0xeb, 0xf8,                   //        jmp next
  0xc3,                         // ret:   ret
];

/**
 * An ELF32 executable with one PT_LOAD segment holding everything (headers, the Multiboot header
 * at 0x60, the code at 0x70): physical address PHYS, virtual address `vaddr`, entry `vaddr` + CODE_AT.
 */
function elfKernel(vaddr = VIRT): ArrayBuffer {
  const size = CODE_AT + CODE.length;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // ELF, 32-bit, little-endian, version 1
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 3, true); // EM_386
  dv.setUint32(20, 1, true);
  dv.setUint32(24, vaddr + CODE_AT, true); // e_entry
  dv.setUint32(28, 52, true); // e_phoff
  dv.setUint16(40, 52, true); // e_ehsize
  dv.setUint16(42, 32, true); // e_phentsize
  dv.setUint16(44, 1, true); // e_phnum
  // The program header: PT_LOAD from file offset 0.
  dv.setUint32(52, 1, true);
  dv.setUint32(56, 0, true); // p_offset
  dv.setUint32(60, vaddr, true); // p_vaddr
  dv.setUint32(64, PHYS, true); // p_paddr
  dv.setUint32(68, size, true); // p_filesz
  dv.setUint32(72, size, true); // p_memsz
  dv.setUint32(76, 5, true); // R + X
  // The Multiboot header: flags 0x1 (modules page-aligned).
  dv.setUint32(0x60, MULTIBOOT_HEADER_MAGIC, true);
  dv.setUint32(0x64, 1, true);
  dv.setUint32(0x68, -(MULTIBOOT_HEADER_MAGIC + 1) >>> 0, true);
  b.set(CODE, CODE_AT);
  return b.buffer;
}

const text = (s: string): ArrayBuffer => new TextEncoder().encode(s).buffer as ArrayBuffer;

function boot(modules: { cmdline: string; data: ArrayBuffer }[], vaddr = VIRT) {
  const r = Machine.create(
    { ramMiB: 4, vramMiB: 8, cmdline: 'kernel args', clock: 'icount', image: 'multiboot', modules },
    elfKernel(vaddr),
    immediateYielder(),
  );
  if (!r.ok) return { error: r };
  const m = r.value;
  let out = '';
  m.onDebugcon = (c) => (out += String.fromCharCode(c));
  return { m, out: () => out };
}

describe('the Multiboot loader', () => {
  it('enters a kernel linked at a virtual address at its physical entry (entry − p_vaddr + p_paddr), as GRUB does', () => {
    const { m } = boot([{ cmdline: 'a', data: text('x\0') }]);
    expect(m!.pc!.cpu.eip >>> 0).toBe(PHYS + CODE_AT);
    m!.destroy();
  });

  it('loads modules page-aligned above the kernel and lists them with their strings (MODS flag)', () => {
    const first = new Uint8Array(5000).fill(0x41);
    first[4999] = 0;
    const { m } = boot([
      { cmdline: 'first.bin a=1 b', data: first.buffer },
      { cmdline: 'second', data: text('two') },
    ]);
    const u8 = m!.memory.u8;
    const info = new DataView(m!.memory.sab, INFO_BASE, 0x1000);
    expect(info.getUint32(0, true) & (1 << 3)).toBe(1 << 3);
    expect(info.getUint32(20, true)).toBe(2); // mods_count
    const mods = new DataView(m!.memory.sab, info.getUint32(24, true), 32);
    const str = (addr: number) => new TextDecoder().decode(u8.subarray(addr, u8.indexOf(0, addr)));
    const [s0, e0, s1, e1] = [0, 4, 16, 20].map((o) => mods.getUint32(o, true));
    expect([s0, e0]).toEqual([0x101000, 0x101000 + 5000]); // the page after the kernel's
    expect([s1, e1]).toEqual([0x103000, 0x103003]);
    expect(u8.subarray(s0, e0)).toEqual(first);
    expect(str(mods.getUint32(8, true))).toBe('first.bin a=1 b');
    expect(str(mods.getUint32(24, true))).toBe('second');
    expect(str(info.getUint32(16, true))).toBe('kernel args');
    m!.destroy();
  });

  it('the kernel finds its modules through EBX and prints them', () => {
    const { m, out } = boot([
      { cmdline: 'hello.txt greeting=1', data: text('hello from module 0|\0') },
      { cmdline: 'second', data: text('') },
    ]);
    for (let i = 0; i < 100 && m!.slice().next !== 'stop'; i++);
    expect(Atomics.load(m!.stats.i32, I32.STATE)).toBe(RunState.EXITED);
    expect(Atomics.load(m!.stats.i32, I32.EXIT_STATUS)).toBe((0x11 << 1) | 1);
    expect(out!()).toBe('hello from module 0|hello.txt greeting=1second');
    m!.destroy();
  });

  it('refuses modules that do not fit in RAM, and an entry outside every segment, by name', () => {
    const big = boot([{ cmdline: 'huge.img', data: new ArrayBuffer(4 << 20) }]);
    expect(big.error?.code).toBe(ErrorCode.EBADIMAGE);
    expect(big.error?.message).toMatch(/module 1 \(huge\.img, 4194304 bytes\) does not fit in RAM/);
    const r = Machine.create(
      { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'multiboot' },
      (() => {
        const k = elfKernel();
        new DataView(k).setUint32(24, 0x100070, true); // the physical address, not in [p_vaddr, +memsz)
        return k;
      })(),
      immediateYielder(),
    );
    expect(!r.ok && r.message).toMatch(/entry point 0x100070 is not inside a loaded segment/);
  });

  it('modules go with a Multiboot kernel only', () => {
    const r = Machine.create(
      { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'firmware', modules: [{ cmdline: 'a', data: text('') }] },
      new ArrayBuffer(512),
      immediateYielder(),
    );
    expect(!r.ok && r.code).toBe(ErrorCode.EINVAL);
  });

  it('the CLI takes modules as QEMU does: --initrd "file args,file2"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mbmods-'));
    writeFileSync(join(dir, 'kernel.elf'), new Uint8Array(elfKernel()));
    writeFileSync(join(dir, 'one'), 'module one says hi|\0');
    writeFileSync(join(dir, 'two'), '');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'tools/cli.ts',
        '--kernel',
        join(dir, 'kernel.elf'),
        '--debugcon',
        '-',
        '--clock',
        'icount',
      ].concat(['--initrd', `${join(dir, 'one')} x=1 y,${join(dir, 'two')}`]),
      { encoding: 'utf8', input: '' },
    );
    expect(r.status, r.stderr).toBe((0x11 << 1) | 1);
    expect(r.stdout).toBe(`module one says hi|${join(dir, 'one')} x=1 y${join(dir, 'two')}`);
  });
});
