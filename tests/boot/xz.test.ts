/**
 * The loader's XZ decoder (src/machine/boot/xz.ts) against XZ Utils' encoder (the committed
 * vectors of tests/boot/xz, remade by its make.ts), and the kernel unpacked by the loader
 * (unpack.ts): Debian's committed kernel decodes to the ELF that `xz -d` gives, and a bzImage made
 * here boots at its ELF's entry with its segments in place, or through its own code32_start when
 * its payload cannot be unpacked.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bcjX86Decode, crc32, XzError, xzDecode } from '../../src/machine/boot/xz';
import { parseKernelElf, unpackKernel } from '../../src/machine/boot/unpack';
import { KERNEL_AT, loadLinux } from '../../src/machine/boot/linux';
import type { KernelUnpack } from '../../src/shared/api';
import { MachineMemory } from '../../src/machine/memory';
import { VMLINUZ_PATH } from '../../scripts/guest-linux/packages';
import { xzVectors } from './xz/inputs';
import { makeBzImage, PM_CODE } from './bzimage';

const vector = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(join(import.meta.dirname, 'xz', `${name}.xz`)));
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(XzError);
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('the XZ decoder against XZ Utils', () => {
  for (const v of xzVectors().filter((v) => v.refused === undefined))
    it(`decodes ${v.name}.xz (xz ${v.xz.join(' ')}) to its input, byte for byte`, () => {
      const out = xzDecode(vector(v.name));
      expect(out.length).toBe(v.input.length);
      expect(Buffer.from(out).equals(Buffer.from(v.input))).toBe(true);
    });

  it('refuses what it does not support, saying what: a CRC64 check, an ARM BCJ filter', () => {
    for (const v of xzVectors().filter((v) => v.refused !== undefined))
      expect(refusal(() => xzDecode(vector(v.name)))).toContain(v.refused);
  });

  it('refuses a corrupt stream: a flipped byte in the data, the headers or the index; a truncated one', () => {
    const good = vector('code');
    const flipped = (at: number) => {
      const b = good.slice();
      b[at] ^= 0x10;
      return b;
    };
    expect(refusal(() => xzDecode(flipped(7)))).toMatch(/stream header/);
    expect(refusal(() => xzDecode(flipped(14)))).toMatch(/block header/);
    // In the compressed data: the LZMA decoder or the block's CRC32 notices.
    expect(refusal(() => xzDecode(flipped(30000)))).toMatch(/CRC32|LZMA2|match|dictionary/);
    expect(refusal(() => xzDecode(flipped(good.length - 20)))).toMatch(/index|footer/);
    expect(refusal(() => xzDecode(good.subarray(0, 40000)))).toMatch(/ends early/);
    expect(refusal(() => xzDecode(new Uint8Array(64)))).toMatch(/not an \.xz stream/);
  });

  it('CRC-32 is the IEEE one (check value of "123456789": 0xCBF43926)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    // Four bytes a step and the tail a byte at a time: every length and start around them, as zlib's.
    const b = Uint8Array.from({ length: 4099 }, (_, i) => (i * 2654435761) >>> 24);
    for (let from = 0; from < 5; from++)
      for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 4094]) {
        const part = b.subarray(from, from + len);
        expect(crc32(b, from, from + len), `from ${from}, ${len} bytes`).toBe(zlibCrc32(part));
      }
  });

  it("the x86 BCJ decoder makes an absolute CALL operand relative to the next instruction's position", () => {
    // At offset 16 the encoder turned CALL rel32 -0x20 into its absolute target 16 + 5 - 0x20.
    const b = new Uint8Array(32);
    b[16] = 0xe8;
    new DataView(b.buffer).setInt32(17, 16 + 5 - 0x20, true);
    bcjX86Decode(b);
    expect(new DataView(b.buffer).getInt32(17, true)).toBe(-0x20);
  });
});

describe("the loader unpacks Debian's kernel", () => {
  it("the committed bzImage's payload decodes to the ELF `xz -d` gives (sha256), two PT_LOAD segments from 16 MiB, entry startup_32", () => {
    const bytes = new Uint8Array(readFileSync(VMLINUZ_PATH));
    const setupBytes = (bytes[0x1f1] + 1) * 512;
    const k = unpackKernel(bytes, setupBytes, 0x1000000, 0x1000000 + 0x100c000);
    if (typeof k === 'string') throw new Error(k);
    expect(k.bytes).toBe(16_256_960);
    expect(k.entry).toBe(0x1000000);
    expect(k.segments.map((s) => [s.paddr, s.memsz])).toEqual([
      [0x1000000, 0xc38bcc],
      [0x1c39000, 0x3d3000],
    ]);
    // The ELF as XZ Utils decodes it (xz -dc of the payload without its appended size).
    const elfStart = k.segments[0].data.byteOffset - 0x1000;
    const elf = new Uint8Array(k.segments[0].data.buffer, elfStart, k.bytes);
    expect(createHash('sha256').update(elf).digest('hex')).toBe(
      'e35e11980cc62ea152cb6913bd5dee43a2174e576bd9f6feaa8814dbbdec2264',
    );
  });
});

const FB = { base: 0xe0000000, vramBytes: 8 << 20, width: 1024, height: 768, bpp: 32 };

describe('a bzImage the loader unpacks', () => {
  const kernelXz = vector('kernel');
  const elf = xzVectors().find((v) => v.name === 'kernel')!.input;

  it('places the ELF segments at their physical addresses, zeroes their BSS and enters the ELF entry', () => {
    const mem = new MachineMemory(16, 8);
    mem.u8.fill(0xcc, 0x200000, 0x210000); // what was there before: the BSS must not keep it
    const r = loadLinux(makeBzImage({ payload: { bytes: kernelXz, size: elf.length } }).slice().buffer, mem, {
      cmdline: '',
      framebuffer: FB,
      unpack: 'host',
    });
    if (!r.ok) throw new Error(r.message);
    expect(r.value.unpacked).toEqual({ by: 'host', bytes: elf.length });
    expect(r.value.entry).toBe(0x200000);
    expect(Array.from(mem.u8.subarray(0x200000, 0x200008))).toEqual(Array.from(elf.subarray(0x1000, 0x1008)));
    expect(Array.from(mem.u8.subarray(0x201000, 0x201100))).toEqual(Array.from(elf.subarray(0x1800, 0x1900)));
    expect(mem.u8.subarray(0x201100, 0x204000).every((b) => b === 0)).toBe(true);
    expect(mem.u8[0x200010]).toBe(0xcc); // past the text segment's memsz: untouched
    expect(mem.u8[KERNEL_AT]).toBe(0); // the compressed kernel is not loaded at 1 MiB
  });

  it("with unpack 'guest', or a payload it cannot unpack, enters code32_start with the protected-mode part at 1 MiB, saying why", () => {
    const load = (image: Uint8Array, unpack: KernelUnpack) => {
      const mem = new MachineMemory(16, 8);
      const r = loadLinux(image.slice().buffer, mem, { cmdline: '', framebuffer: FB, unpack });
      if (!r.ok) throw new Error(r.message);
      expect(r.value.entry).toBe(KERNEL_AT);
      expect(mem.u8[KERNEL_AT]).toBe(PM_CODE[0]);
      return r.value.unpacked;
    };
    expect(load(makeBzImage({ payload: { bytes: kernelXz, size: elf.length } }), 'guest')).toMatchObject({
      by: 'guest',
    });
    const gzipLike = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3);
    expect(load(makeBzImage({ payload: { bytes: gzipLike, size: 100 } }), 'host')).toEqual({
      by: 'guest',
      reason: 'the payload is not XZ-compressed',
    });
    const corrupt = kernelXz.slice();
    corrupt[200] ^= 0xff;
    expect(load(makeBzImage({ payload: { bytes: corrupt, size: elf.length } }), 'host')).toMatchObject({
      by: 'guest',
      reason: expect.stringMatching(/^the XZ payload does not decode: /) as unknown,
    });
  });

  it('refuses (for the guest decompressor to try) an ELF that is not an i386 executable or loads outside the kernel area', () => {
    expect(parseKernelElf(elf, 0x200000, 0x600000)).toMatchObject({ entry: 0x200000 });
    expect(parseKernelElf(elf, 0x300000, 0x600000)).toMatch(/segment 0 .* outside the kernel's area/);
    const x86_64 = elf.slice();
    x86_64[18] = 62; // EM_X86_64
    expect(parseKernelElf(x86_64, 0x200000, 0x600000)).toBe('the payload is not an i386 executable');
    expect(parseKernelElf(elf.subarray(0, 40), 0, 1 << 30)).toBe('the payload is too short to be an ELF');
  });
});
