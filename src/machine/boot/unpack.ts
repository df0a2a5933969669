/**
 * The kernel a bzImage carries, unpacked by the loader instead of by the kernel's own
 * decompressor: boot protocol 2.08+ says where the compressed payload lies (payload_offset and
 * payload_length, from the protected-mode part's start) and that it is an ELF vmlinux, so a
 * loader may decompress it itself (Documentation/x86/boot.rst, "payload_offset"). Direct boot of
 * an uncompressed kernel is what PVH boot (QEMU's -kernel vmlinux) and Firecracker do. What the
 * guest's decompressor would do, done here: decompress; place each PT_LOAD segment at its
 * physical address, its BSS zeroed; enter at the ELF's physical entry (startup_32) with the same
 * register state as at code32_start (ESI = boot_params, flat __BOOT_CS/__BOOT_DS, interrupts and
 * paging off). It would also randomize the kernel's place (KASLR) unless told `nokaslr`; unpacked
 * here, the kernel runs at its linked address (pref_address) as with `nokaslr`, and boot_params
 * says so (loadflags' KASLR_FLAG stays clear, as the decompressor leaves it then).
 *
 * On Debian's 686 kernel the decompressor is 80 % of the instructions of the boot to the shell
 * prompt (2.33 of 2.92 G, measured on icount). Only XZ payloads are unpacked (xz.ts); any other
 * (gzip, zstd, LZ4 …) boots through the decompressor as before, and so does an XZ payload this
 * code rejects (the guest's decompressor then says what it finds).
 */
import { XzError, xzDecode } from './xz';

const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;

const ELF_MAGIC = 0x464c457f;
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;

export interface KernelSegment {
  /** Guest-physical address. */
  paddr: number;
  /** The file's bytes; the rest up to memsz is zero (BSS). */
  data: Uint8Array;
  memsz: number;
}

export interface UnpackedKernel {
  /** The physical entry point (startup_32). */
  entry: number;
  segments: KernelSegment[];
  /** The uncompressed ELF's size. */
  bytes: number;
}

/**
 * Unpacks the kernel of a bzImage of boot protocol 2.10+ (`bytes`: the whole file; `setupBytes`:
 * where its protected-mode part starts) whose every segment must lie in [lo, hi): the kernel's
 * area from pref_address, init_size long. A string says why it cannot (the loader then boots
 * through the guest's decompressor).
 */
export function unpackKernel(bytes: Uint8Array, setupBytes: number, lo: number, hi: number): UnpackedKernel | string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = setupBytes + dv.getUint32(PAYLOAD_OFFSET, true);
  const length = dv.getUint32(PAYLOAD_LENGTH, true);
  if (at + length > bytes.length || length < 8) return 'the payload lies outside the file';
  const payload = bytes.subarray(at, at + length);
  if (payload[0] !== 0xfd || payload[1] !== 0x37) return 'the payload is not XZ-compressed';
  // The build appends the uncompressed size (arch/x86/boot/compressed: size_append).
  const sizeHint = dv.getUint32(at + length - 4, true);
  let elf: Uint8Array;
  try {
    elf = xzDecode(payload, sizeHint);
  } catch (e) {
    if (e instanceof XzError) return `the XZ payload does not decode: ${e.message}`;
    throw e;
  }
  return parseKernelElf(elf, lo, hi);
}

/** The PT_LOAD segments and entry of a 32-bit x86 ELF kernel, each inside [lo, hi). */
export function parseKernelElf(elf: Uint8Array, lo: number, hi: number): UnpackedKernel | string {
  if (elf.length < 52) return 'the payload is too short to be an ELF';
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (dv.getUint32(0, true) !== ELF_MAGIC) return 'the payload is not an ELF';
  if (elf[4] !== ELFCLASS32 || elf[5] !== ELFDATA2LSB) return 'the payload is not a 32-bit little-endian ELF';
  if (dv.getUint16(16, true) !== ET_EXEC || dv.getUint16(18, true) !== EM_386)
    return 'the payload is not an i386 executable';
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > elf.length) return 'the ELF program headers lie outside it';
  const segments: KernelSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (dv.getUint32(h, true) !== PT_LOAD) continue;
    const offset = dv.getUint32(h + 4, true);
    const paddr = dv.getUint32(h + 12, true);
    const filesz = dv.getUint32(h + 16, true);
    const memsz = dv.getUint32(h + 20, true);
    if (filesz > memsz || offset + filesz > elf.length) return `ELF segment ${i} lies outside the file`;
    if (paddr < lo || paddr + memsz > hi)
      return `ELF segment ${i} (0x${paddr.toString(16)}, ${memsz} bytes) lies outside the kernel's area`;
    segments.push({ paddr, data: elf.subarray(offset, offset + filesz), memsz });
  }
  if (segments.length === 0) return 'the ELF has no loadable segment';
  if (!segments.some((s) => entry >= s.paddr && entry < s.paddr + s.memsz))
    return 'the ELF entry point is in none of its segments';
  return { entry, segments, bytes: elf.length };
}
