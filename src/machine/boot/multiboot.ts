/**
 * Multiboot v1 (the spec, sections 3.1–3.3): find the header in the first 8 KiB, load an ELF32
 * kernel's PT_LOAD segments at their physical addresses (or an a.out-kludge image), load the
 * modules page-aligned above the kernel, and build the boot information structure (memory sizes,
 * command line, modules, memory map) in low memory. Every rejection names its reason.
 *
 * An ELF entry point that is a virtual address (GNU Mach's, a higher-half kernel's) is translated
 * as GRUB does (grub-core/loader/multiboot_elfxx.c): the segment whose virtual range holds it gives
 * entry − p_vaddr + p_paddr. For identity-mapped kernels that is the entry itself.
 */
import { err, ErrorCode, ok, type Result } from '../../shared/api';
import type { MachineMemory } from '../memory';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

/** Where the boot information lives (below 640 KiB, above the real-mode IVT/BDA). */
export const INFO_BASE = 0x9000;
const INFO_END = 0xa000;
/** The module list (16 bytes each: mod_start, mod_end, string, reserved; spec 3.3). */
const MODS_AT = INFO_BASE + 0x80;
/** At most this many modules (the list must end before the memory map). */
export const MULTIBOOT_MAX_MODULES = 16;
const MMAP_AT = MODS_AT + MULTIBOOT_MAX_MODULES * 16;
/** The kernel's command line, then each module's: NUL-terminated strings up to the area's end. */
const STRINGS_AT = INFO_BASE + 0x300;

/** A Multiboot module: its bytes and its string (QEMU's -initrd "file args": the file name and arguments). */
export interface MultibootModule {
  cmdline: string;
  data: ArrayBuffer;
}

export interface BootState {
  /** The physical entry point. */
  entry: number;
  /** EBX at entry: the physical address of the information structure. */
  info: number;
  /** Where each module was loaded: [start, end) physical. */
  modules: { start: number; end: number }[];
}

const PAGE = 0x1000;
const pageUp = (a: number): number => Math.ceil(a / PAGE) * PAGE;
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Flag bits 0–15 are requirements: we honour 0 (page-align modules) and 1 (memory info). */
const SUPPORTED_REQUIRED = 0x3;

export function loadMultiboot(
  image: ArrayBuffer,
  memory: MachineMemory,
  cmdline: string,
  modules: readonly MultibootModule[] = [],
): Result<BootState> {
  const bytes = new Uint8Array(image);
  const dv = new DataView(image);
  const u32 = (o: number): number => dv.getUint32(o, true);
  let at = -1;
  const scanEnd = Math.min(8192, bytes.length) - 12;
  for (let o = 0; o <= scanEnd; o += 4) {
    if (u32(o) === MULTIBOOT_HEADER_MAGIC && (u32(o) + u32(o + 4) + u32(o + 8)) >>> 0 === 0) {
      at = o;
      break;
    }
  }
  if (bytes.length < 12) return err(ErrorCode.EBADIMAGE, 'the kernel is empty or truncated');
  if (at < 0)
    return err(
      ErrorCode.EBADIMAGE,
      'not a kernel: no Multiboot header in the first 8 KiB (nor a Linux bzImage\'s "HdrS" setup header at 0x202)',
    );
  const flags = u32(at + 4);
  const unsupported = flags & 0xffff & ~SUPPORTED_REQUIRED;
  if (unsupported)
    return err(
      ErrorCode.EBADIMAGE,
      `the Multiboot header requires features this loader lacks (flags 0x${unsupported.toString(16)}; video mode info is not offered)`,
    );
  const ram = memory.layout.ramBytes;
  const u8 = memory.u8;
  const place = (paddr: number, src: number, filesz: number, memsz: number): string | null => {
    if (memsz < filesz) return 'a segment is larger in the file than in memory';
    if (src + filesz > bytes.length) return 'the kernel is truncated: a segment runs past the end of the file';
    if (paddr + memsz > ram)
      return `a segment (0x${paddr.toString(16)}+0x${memsz.toString(16)}) lies outside guest RAM (${ram >>> 20} MiB)`;
    if (paddr < INFO_END && paddr + memsz > INFO_BASE && memsz > 0)
      return 'a segment overlaps the boot information area (0x9000–0xa000)';
    if (paddr < 0x1000 && memsz > 0) return 'a segment lies in the first page of memory';
    return null;
  };
  let entry: number;
  /** PT_LOAD segments (or the a.out image): physical address, file offset, sizes, virtual address. */
  const loads: [number, number, number, number, number][] = [];
  if (flags & 0x10000) {
    // The a.out kludge: addresses from the header (spec 3.1.3).
    const headerAddr = u32(at + 12);
    const loadAddr = u32(at + 16);
    let loadEnd = u32(at + 20);
    const bssEnd = u32(at + 24);
    entry = u32(at + 28);
    const src = at - (headerAddr - loadAddr);
    if (src < 0 || loadAddr > headerAddr)
      return err(ErrorCode.EBADIMAGE, 'the a.out kludge addresses are inconsistent');
    if (loadEnd === 0) loadEnd = loadAddr + (bytes.length - src);
    const filesz = loadEnd - loadAddr;
    const memsz = bssEnd ? bssEnd - loadAddr : filesz;
    loads.push([loadAddr, src, filesz, memsz, loadAddr]); // the kludge's addresses are physical
  } else {
    if (bytes.length < 52 || u32(0) !== 0x464c457f)
      return err(ErrorCode.EBADIMAGE, 'not an ELF file (and no a.out kludge in the Multiboot header)');
    if (bytes[4] !== 1 || bytes[5] !== 1) return err(ErrorCode.EBADIMAGE, 'not a 32-bit little-endian ELF file');
    if (dv.getUint16(18, true) !== 3) return err(ErrorCode.EBADIMAGE, 'the ELF file is not for i386');
    if (dv.getUint16(16, true) !== 2) return err(ErrorCode.EBADIMAGE, 'the ELF file is not an executable');
    entry = u32(24);
    const phoff = u32(28);
    const phentsize = dv.getUint16(42, true);
    const phnum = dv.getUint16(44, true);
    if (phentsize < 32 || phoff + phnum * phentsize > bytes.length)
      return err(ErrorCode.EBADIMAGE, 'the kernel is truncated: the ELF program headers run past the end');
    for (let i = 0; i < phnum; i++) {
      const p = phoff + i * phentsize;
      if (u32(p) !== 1) continue; // PT_LOAD only
      loads.push([u32(p + 12), u32(p + 4), u32(p + 16), u32(p + 20), u32(p + 8)]);
    }
    if (loads.length === 0) return err(ErrorCode.EBADIMAGE, 'the ELF file has no loadable segment');
  }
  for (const [paddr, src, filesz, memsz] of loads) {
    const why = place(paddr, src, filesz, memsz);
    if (why) return err(ErrorCode.EBADIMAGE, why);
  }
  const holder = loads.find(([, , , m, v]) => entry >= v && entry < v + m);
  if (!holder) return err(ErrorCode.EBADIMAGE, `the entry point ${hex(entry)} is not inside a loaded segment`);
  entry = entry - holder[4] + holder[0];

  // Modules, page-aligned above the kernel (and above 1 MiB), each in turn.
  if (modules.length > MULTIBOOT_MAX_MODULES)
    return err(ErrorCode.EBADIMAGE, `${modules.length} modules given; at most ${MULTIBOOT_MAX_MODULES} are taken`);
  let next = pageUp(Math.max(0x100000, ...loads.map(([p, , , m]) => p + m)));
  const placed: { start: number; end: number }[] = [];
  for (const [i, m] of modules.entries()) {
    const end = next + m.data.byteLength;
    if (end > ram)
      return err(
        ErrorCode.EBADIMAGE,
        `module ${i + 1} (${m.cmdline.split(' ')[0]}, ${m.data.byteLength} bytes) does not fit in RAM above the kernel: it would end at ${hex(end)}, the machine has ${ram >>> 20} MiB`,
      );
    placed.push({ start: next, end });
    next = pageUp(end);
  }
  const encoder = new TextEncoder();
  const strings = [cmdline, ...modules.map((m) => m.cmdline)].map((t) => encoder.encode(t));
  const stringBytes = strings.reduce((n, t) => n + t.length + 1, 0);
  if (STRINGS_AT + stringBytes > INFO_END)
    return err(
      ErrorCode.EBADIMAGE,
      `the kernel's and modules' command lines take ${stringBytes} bytes; at most ${INFO_END - STRINGS_AT} fit`,
    );

  // Nothing was written before every check passed.
  for (const [paddr, src, filesz, memsz] of loads) {
    u8.set(bytes.subarray(src, src + filesz), paddr);
    u8.fill(0, paddr + filesz, paddr + memsz);
  }
  modules.forEach((m, i) => u8.set(new Uint8Array(m.data), placed[i].start));
  writeInfo(memory, strings, placed);
  return ok({ entry, info: INFO_BASE, modules: placed });
}

/**
 * The boot information structure (spec 3.3): flags MEM | CMDLINE | MODS | MMAP. strings[0] is the
 * kernel's command line, then one per module.
 */
function writeInfo(memory: MachineMemory, strings: Uint8Array[], modules: { start: number; end: number }[]): void {
  const u8 = memory.u8;
  u8.fill(0, INFO_BASE, INFO_END);
  const dv = new DataView(memory.sab, INFO_BASE, INFO_END - INFO_BASE);
  const ram = memory.layout.ramBytes;
  const map: [number, number, number][] = [
    [0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, ram - 0x100000, 1],
  ];
  dv.setUint32(0, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6), true);
  dv.setUint32(4, 639, true); // mem_lower, KiB
  dv.setUint32(8, (ram - 0x100000) >>> 10, true); // mem_upper, KiB above 1 MiB
  const addresses: number[] = [];
  let at = STRINGS_AT;
  for (const text of strings) {
    addresses.push(at);
    u8.set(text, at);
    u8[at + text.length] = 0;
    at += text.length + 1;
  }
  dv.setUint32(16, addresses[0], true);
  dv.setUint32(20, modules.length, true);
  dv.setUint32(24, MODS_AT, true);
  modules.forEach((m, i) => {
    const o = MODS_AT - INFO_BASE + i * 16;
    dv.setUint32(o, m.start, true);
    dv.setUint32(o + 4, m.end, true);
    dv.setUint32(o + 8, addresses[i + 1], true);
  });
  dv.setUint32(44, map.length * 24, true);
  dv.setUint32(48, MMAP_AT, true);
  map.forEach(([base, len, type], i) => {
    const o = MMAP_AT - INFO_BASE + i * 24;
    dv.setUint32(o, 20, true);
    dv.setUint32(o + 4, base, true);
    dv.setUint32(o + 12, len, true);
    dv.setUint32(o + 20, type, true);
  });
}
