import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/shared/api';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { I32, RunState, VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import {
  BOOT_CS,
  BOOT_DS,
  BOOT_PARAMS_AT,
  CMDLINE_AT,
  HDRS_MAGIC,
  KERNEL_AT,
  RNG_SEED_BYTES,
  SETUP_RNG_SEED,
  VIDEO_TYPE_VLFB,
} from '../../src/machine/boot/linux';
import { E820_RAM, E820_RESERVED, EBDA_BASE } from '../../src/machine/boot/bios';
import { HLT_AT, makeBzImage, PM_CODE } from './bzimage';

const buffer = (b: Uint8Array): ArrayBuffer => b.slice().buffer;
const CMDLINE = 'console=ttyS0 root=/dev/ram0 quiet=no';

interface BootExtra {
  ramMiB?: number;
  cmdline?: string;
  initrd?: Uint8Array;
  clock?: 'icount' | 'wall';
  kernelUnpack?: 'host' | 'guest';
}

function boot(kernel: Uint8Array, extra: BootExtra = {}) {
  return Machine.create(
    {
      ramMiB: extra.ramMiB ?? 16,
      vramMiB: 8,
      cmdline: extra.cmdline ?? CMDLINE,
      clock: extra.clock ?? 'icount',
      image: 'multiboot',
      ...(extra.initrd ? { initrd: buffer(extra.initrd) } : {}),
      ...(extra.kernelUnpack ? { kernelUnpack: extra.kernelUnpack } : {}),
    },
    buffer(kernel),
    immediateYielder(),
  );
}

function booted(kernel: Uint8Array, extra: Parameters<typeof boot>[1] = {}): Machine {
  const r = boot(kernel, extra);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

function runToStop(m: Machine): RunState {
  for (let i = 0; i < 100; i++) if (m.slice().next === 'stop') break;
  return Atomics.load(m.stats.i32, I32.STATE) as RunState;
}

function rejected(kernel: Uint8Array, extra: Parameters<typeof boot>[1] = {}): string {
  const r = boot(kernel, extra);
  expect(r.ok).toBe(false);
  if (r.ok) return '';
  expect(r.code).toBe(ErrorCode.EBADIMAGE);
  return r.message;
}

const bootParams = (m: Machine) => new DataView(m.memory.sab, BOOT_PARAMS_AT, 0x1000);
const cString = (m: Machine, at: number): string => {
  const u8 = m.memory.u8;
  let end = at;
  while (u8[end] !== 0) end++;
  return new TextDecoder().decode(u8.subarray(at, end));
};

describe('Linux boot protocol: the 32-bit entry', () => {
  it('a bzImage is recognised by its HdrS header and entered at code32_start with the boot GDT, ESI = boot_params, EBX/EBP/EDI = 0, IF and paging off', () => {
    const m = booted(makeBzImage());
    expect(runToStop(m)).toBe(RunState.HALTED); // the kernel's hlt with interrupts off
    const cpu = m.pc!.cpu;
    expect(cpu.eip).toBe(HLT_AT + 1);
    // Reloaded from the loader's GDT by the kernel itself: __BOOT_CS and __BOOT_DS, flat 4 GiB.
    expect(Array.from(cpu.segSel.subarray(0, 4))).toEqual([BOOT_DS, BOOT_CS, BOOT_DS, BOOT_DS]); // ES, CS, SS, DS
    for (const s of [0, 1, 2, 3]) {
      expect(cpu.segBase[s]).toBe(0);
      expect(cpu.segLimit[s] >>> 0).toBe(0xffffffff);
    }
    const [, , , ebx, , ebp, esi, edi] = Array.from(cpu.reg32);
    expect({ ebx, ebp, esi, edi }).toEqual({ ebx: 0, ebp: 0, esi: BOOT_PARAMS_AT, edi: 0 });
    expect(cpu.interruptFlag).toBe(false);
    expect(cpu.cr0 & 0x80000001).toBe(0x00000001); // PE on, PG off
    m.destroy();
  });

  it('the protected-mode part is at 1 MiB and the setup header is copied into boot_params, with the loader fields filled', () => {
    const image = makeBzImage();
    const m = booted(image);
    const u8 = m.memory.u8;
    expect(Array.from(u8.subarray(KERNEL_AT, KERNEL_AT + PM_CODE.length))).toEqual(PM_CODE);
    const bp = bootParams(m);
    expect(bp.getUint32(0x202, true)).toBe(HDRS_MAGIC);
    expect(bp.getUint16(0x206, true)).toBe(0x020f);
    expect(bp.getUint32(0x214, true)).toBe(KERNEL_AT);
    expect(bp.getUint8(0x210)).toBe(0xff); // type_of_loader: undefined
    expect(bp.getUint8(0x211) & 0x81).toBe(0x81); // LOADED_HIGH kept, CAN_USE_HEAP set
    expect(bp.getUint8(0x211) & 0x20).toBe(0); // not QUIET
    expect(bp.getUint32(0x228, true)).toBe(CMDLINE_AT);
    expect(cString(m, bp.getUint32(0x228, true))).toBe(CMDLINE);
    expect(bp.getUint32(0x218, true)).toBe(0); // no initrd
    expect(bp.getUint32(0x21c, true)).toBe(0);
    // Past the header (0x26c) boot_params is the loader's own, zero but for what it fills.
    expect(bp.getUint32(0x270, true)).toBe(0);
    m.destroy();
  });

  it('the E820 table gives RAM below the EBDA and above 1 MiB to the top of RAM, reserves the EBDA, the BIOS area and the VRAM BAR', () => {
    const m = booted(makeBzImage(), { ramMiB: 24 });
    const bp = bootParams(m);
    const n = bp.getUint8(0x1e8);
    const table = Array.from({ length: n }, (_, i) => {
      const o = 0x2d0 + i * 20;
      return [Number(bp.getBigUint64(o, true)), Number(bp.getBigUint64(o + 8, true)), bp.getUint32(o + 16, true)];
    });
    expect(table).toEqual([
      [0, EBDA_BASE, E820_RAM],
      [EBDA_BASE, 0xa0000 - EBDA_BASE, E820_RESERVED],
      [0xf0000, 0x10000, E820_RESERVED],
      [0x100000, (24 << 20) - 0x100000, E820_RAM],
      [VRAM_BAR_DEFAULT, 8 << 20, E820_RESERVED],
    ]);
    expect(bp.getUint32(0x1e0, true)).toBe((24 << 10) - 1024); // alt_mem_k: KiB above 1 MiB
    m.destroy();
  });

  it('screen_info describes the LFB the loader set through the dispi registers: 1024×768×32 at the VRAM BAR, x8r8g8b8', () => {
    const m = booted(makeBzImage());
    const bp = bootParams(m);
    expect(bp.getUint8(0x0f)).toBe(VIDEO_TYPE_VLFB);
    expect([bp.getUint16(0x12, true), bp.getUint16(0x14, true), bp.getUint16(0x16, true)]).toEqual([1024, 768, 32]);
    expect(bp.getUint32(0x18, true)).toBe(VRAM_BAR_DEFAULT);
    expect(bp.getUint32(0x1c, true)).toBe((8 << 20) >>> 16); // lfb_size in 64 KiB units
    expect(bp.getUint16(0x24, true)).toBe(4096); // lfb_linelength
    // red, green, blue, reserved: [size, pos]
    expect(Array.from(new Uint8Array(m.memory.sab, BOOT_PARAMS_AT + 0x26, 8))).toEqual([8, 16, 8, 8, 8, 0, 8, 24]);
    expect(bp.getUint16(0x32, true)).toBe(2); // pages: two 3 MiB screens fit 8 MiB
    // The display really is in that mode.
    const i32 = m.stats.i32;
    expect(Atomics.load(i32, I32.VBE_ENABLED)).toBe(1);
    expect([I32.VBE_XRES, I32.VBE_YRES, I32.VBE_BPP, I32.VBE_LINE_BYTES].map((i) => Atomics.load(i32, i))).toEqual([
      1024, 768, 32, 4096,
    ]);
    m.destroy();
  });

  it('the initrd goes page-aligned as high as RAM and initrd_addr_max allow, and boot_params points at it', () => {
    const initrd = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const m = booted(makeBzImage(), { ramMiB: 16, initrd });
    const bp = bootParams(m);
    const addr = bp.getUint32(0x218, true);
    expect(bp.getUint32(0x21c, true)).toBe(initrd.length);
    expect(addr % 0x1000).toBe(0);
    expect(addr + initrd.length).toBeLessThanOrEqual(16 << 20);
    expect(addr + initrd.length).toBeGreaterThan((16 << 20) - 0x1000);
    expect(Buffer.compare(m.memory.u8.subarray(addr, addr + initrd.length), initrd)).toBe(0);
    m.destroy();
    // A kernel that cannot reach high memory gets it below its initrd_addr_max.
    const low = booted(makeBzImage({ initrdAddrMax: 0x9fffff }), { ramMiB: 16, initrd });
    const lowAddr = bootParams(low).getUint32(0x218, true);
    expect(lowAddr + initrd.length).toBeLessThanOrEqual(0xa00000);
    expect(lowAddr + initrd.length).toBeGreaterThan(0xa00000 - 0x1000);
    low.destroy();
  });

  it('a gzip initrd of one member is placed unpacked when the loader unpacks (the default), as given with --kernel-unpack guest', () => {
    const cpio = new Uint8Array(600_000).map((_, i) => (i * 31) % 251);
    const gz = new Uint8Array(gzipSync(cpio)); // a copy: a Buffer may be a view of a shared pool
    const placed = (m: Machine) => {
      const bp = bootParams(m);
      const addr = bp.getUint32(0x218, true);
      return m.memory.u8.slice(addr, addr + bp.getUint32(0x21c, true));
    };
    const host = booted(makeBzImage(), { initrd: gz });
    expect(Buffer.compare(placed(host), cpio)).toBe(0);
    expect(host.pc?.linuxBoot?.initrdUnpackedBy).toBe('host');
    host.destroy();
    const guest = booted(makeBzImage(), { initrd: gz, kernelUnpack: 'guest' });
    expect(Buffer.compare(placed(guest), gz)).toBe(0);
    expect(guest.pc?.linuxBoot?.initrdUnpackedBy).toBe('guest');
    guest.destroy();
    // Two members (archives concatenated, as the kernel allows): the kernel unpacks them all.
    const two = new Uint8Array([...gz, ...gzipSync(cpio.subarray(0, 1000))]);
    const m2 = booted(makeBzImage(), { initrd: two });
    expect(Buffer.compare(placed(m2), two)).toBe(0);
    expect(m2.pc?.linuxBoot?.initrdUnpackedBy).toBe('guest');
    m2.destroy();
    // Too large unpacked for the RAM, small packed: placed packed (6 MiB of zeros in 8 MiB of RAM).
    const big = new Uint8Array(gzipSync(new Uint8Array(6 << 20)));
    const m3 = booted(makeBzImage(), { ramMiB: 8, initrd: big });
    expect(Buffer.compare(placed(m3), big)).toBe(0);
    m3.destroy();
    // A corrupt one (its CRC32 broken) is the kernel's to judge.
    const bad = gz.slice();
    bad[bad.length - 8] ^= 1;
    const m4 = booted(makeBzImage(), { initrd: bad });
    expect(Buffer.compare(placed(m4), bad)).toBe(0);
    m4.destroy();
  });

  it("a seed for the kernel's RNG as a SETUP_RNG_SEED setup_data entry: fixed on icount, the host's on the wall clock, none before protocol 2.09", () => {
    const seedOf = (m: Machine) => {
      const at = Number(bootParams(m).getBigUint64(0x250, true));
      expect(at).toBeGreaterThan(BOOT_PARAMS_AT); // past boot_params, below 1 MiB
      expect(at).toBeLessThan(0x10000);
      const sd = new DataView(m.memory.sab, at, 16);
      expect(sd.getBigUint64(0, true)).toBe(0n); // the only entry
      expect(sd.getUint32(8, true)).toBe(SETUP_RNG_SEED);
      expect(sd.getUint32(12, true)).toBe(RNG_SEED_BYTES);
      return Buffer.from(m.memory.u8.slice(at + 16, at + 16 + RNG_SEED_BYTES)).toString('hex');
    };
    const runs = [booted(makeBzImage()), booted(makeBzImage())];
    const icount = runs.map(seedOf);
    expect(icount[0]).toBe(icount[1]);
    const walls = [booted(makeBzImage(), { clock: 'wall' }), booted(makeBzImage(), { clock: 'wall' })];
    const wall = walls.map(seedOf);
    expect(wall[0]).not.toBe(wall[1]);
    expect(new Set([...wall, icount[0]]).size).toBe(3);
    for (const m of [...runs, ...walls]) m.destroy();
    const old = booted(makeBzImage({ protocol: 0x0208 }));
    expect(bootParams(old).getBigUint64(0x250, true)).toBe(0n);
    expect(old.pc?.linuxBoot?.rngSeed).toBeNull();
    old.destroy();
  });

  it('the BIOS data area holds COM1 at 0x400, the EBDA segment at 0x40E and 639 KiB base memory at 0x413, for a bzImage and a Multiboot kernel alike', () => {
    const mb = readFileSync(new URL('../../public/guest/mbtest.elf', import.meta.url));
    for (const kernel of [makeBzImage(), new Uint8Array(mb)]) {
      const m = booted(kernel);
      const bda = new DataView(m.memory.sab, 0x400, 0x100);
      expect(bda.getUint16(0x00, true)).toBe(0x3f8);
      expect(bda.getUint16(0x02, true)).toBe(0);
      expect(bda.getUint16(0x0e, true)).toBe(EBDA_BASE >>> 4);
      expect(bda.getUint16(0x10, true) & 0x0e00).toBe(1 << 9); // one serial port
      expect(bda.getUint16(0x13, true)).toBe(639);
      expect(m.memory.u8[EBDA_BASE]).toBe(1); // the EBDA's size, KiB
      m.destroy();
    }
  });
});

describe('Linux boot protocol: what the loader refuses (nothing starts)', () => {
  it('a boot protocol older than 2.06', () => {
    expect(rejected(makeBzImage({ protocol: 0x0205 }))).toMatch(/boot protocol 2\.05.*2\.06 or newer/);
  });
  it('a zImage (not loaded high)', () => {
    expect(rejected(makeBzImage({ loadflags: 0 }))).toMatch(/zImage/);
  });
  it('a kernel truncated in its setup code or its protected-mode part', () => {
    expect(rejected(makeBzImage({ setupSects: 20 }).subarray(0, 0x1000))).toMatch(/truncated.*setup code/);
    expect(rejected(makeBzImage().subarray(0, 5 * 512 + 0x800))).toMatch(/truncated.*4096 bytes.*2048/);
  });
  it('a kernel whose decompression area does not fit in RAM', () => {
    // Runs at pref_address 16 MiB and needs init_size 16 MiB: 32 MiB, more than 16.
    expect(rejected(makeBzImage({ prefAddress: 0x1000000, initSize: 0x1000000 }))).toMatch(
      /needs 32 MiB of RAM.*has 16 MiB/,
    );
  });
  it('an initrd larger than the RAM above the kernel, or an empty one', () => {
    expect(rejected(makeBzImage(), { ramMiB: 8, initrd: new Uint8Array(3 << 20) })).toMatch(
      /initrd \(3 MiB\) does not fit.*at least 10 MiB/,
    );
    expect(rejected(makeBzImage(), { initrd: new Uint8Array(0) })).toMatch(/initrd is empty/);
  });
  it('a command line longer than the kernel takes', () => {
    expect(rejected(makeBzImage({ cmdlineSize: 16 }))).toMatch(/command line is 37 bytes.*at most 16/);
  });
  it('an initrd with a Multiboot kernel', () => {
    const mb = readFileSync(new URL('../../public/guest/mbtest.elf', import.meta.url));
    expect(rejected(new Uint8Array(mb), { initrd: new Uint8Array(16) })).toMatch(/initrd goes with a Linux bzImage/);
  });
  it('a file that is neither a bzImage nor a Multiboot kernel', () => {
    expect(rejected(new Uint8Array(0x4000).fill(0x90))).toMatch(/not a kernel.*Multiboot.*HdrS/);
  });
});

describe('the CLI: --initrd and --cmdline/--append', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('--help lists --initrd and --append; --cmdline and --append together are refused', () => {
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stderr).toMatch(/--initrd FILE\s+initrd/);
    expect(help.stderr).toMatch(/--append STR\s+the same/);
    const both = cli('--kernel', 'x', '--cmdline', 'a', '--append', 'b');
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--cmdline or --append/);
  });

  it('a bzImage with an initrd too large for RAM exits 2 naming the reason, and runs nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'linuxboot-'));
    writeFileSync(join(dir, 'bz'), makeBzImage());
    writeFileSync(join(dir, 'initrd'), new Uint8Array(6 << 20));
    const r = cli('--kernel', join(dir, 'bz'), '--initrd', join(dir, 'initrd'), '--memory', '8', '--append', 'x');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/initrd \(6 MiB\) does not fit/);
    expect(r.stdout).toBe('');
  });

  it('--kernel-unpack takes host or guest, with --kernel alone: anything else exits 2 naming the flag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'linuxboot-'));
    writeFileSync(join(dir, 'bz'), makeBzImage());
    expect(cli('--help').stderr).toMatch(/--kernel-unpack host\|guest/);
    const bad = cli('--kernel', join(dir, 'bz'), '--kernel-unpack', 'native');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--kernel-unpack.*"host" or "guest", got native/);
    const withBios = cli('--bios', join(dir, 'bz'), '--kernel', join(dir, 'bz'), '--kernel-unpack', 'host');
    expect(withBios.status).toBe(2);
    expect(withBios.stderr).toMatch(/--kernel-unpack goes with --kernel alone/);
    // The test's bzImage has no payload to unpack: the host falls back to code32_start, which
    // halts, and the CLI says why; asked for the guest's decompressor, it says nothing.
    const host = cli('--kernel', join(dir, 'bz'), '--kernel-unpack', 'host', '--clock', 'icount');
    expect(host.status).toBe(0);
    expect(host.stderr).toMatch(
      /not unpacked by the loader \(the payload lies outside the file\): its own decompressor runs/,
    );
    const guest = cli('--kernel', join(dir, 'bz'), '--kernel-unpack', 'guest', '--clock', 'icount');
    expect(guest.status).toBe(0);
    expect(guest.stderr).toBe('');
  });
});
