/**
 * The Linux/x86 boot protocol (Documentation/x86/boot.rst), 32-bit entry: a bzImage's setup
 * header is read, the protected-mode kernel is loaded at 1 MiB, the initrd near the top of RAM,
 * and boot_params (the "zero page", Documentation/x86/zero-page.rst) is filled the way a boot
 * loader that skips the real-mode setup code must: the setup header copied in, the command line,
 * the initrd, the E820 map and screen_info describing the Bochs LFB as a VESA linear framebuffer
 * (so vesafb and fbcon draw into VRAM). Entry is at code32_start in flat 32-bit protected mode
 * with __BOOT_CS = 0x10 / __BOOT_DS = 0x18 from a GDT, ESI = boot_params and EBP = EDI = EBX = 0,
 * interrupts and paging off. Or, asked to unpack on the host (KernelUnpack, unpack.ts), the
 * loader decompresses the kernel itself and the stub enters it at its ELF entry instead, in the
 * same state: the guest's decompressor is 80 % of Debian's kernel's boot instructions.
 *
 * Every rejection names its reason, and nothing is written to guest memory before every check
 * has passed.
 */
import {
  VBE_DISPI,
  VBE_DISPI_DATA_PORT,
  VBE_DISPI_ENABLED,
  VBE_DISPI_INDEX_PORT,
  VBE_DISPI_LFB_ENABLED,
} from '../devices/vbe';
import { err, ErrorCode, ok, type KernelUnpack, type Result } from '../../shared/api';
import type { IoBus } from '../bus';
import { FwCfgKey } from '../devices/fw-cfg';
import type { MachineMemory } from '../memory';
import { e820Map, type E820Entry } from './bios';
import { unpackInitrd } from './initrd';
import { unpackKernel } from './unpack';

/** "HdrS" at 0x202: the setup header's magic (boot protocol 2.00+). */
export const HDRS_MAGIC = 0x53726448;
/** The oldest protocol this loader accepts: 2.06 gives cmdline_size, 2.03 initrd_addr_max. */
export const MIN_PROTOCOL = 0x0206;

/** Guest-physical places of what the loader writes below 1 MiB. */
export const GDT_AT = 0x7000;
/** Flat-mode entry stub: loads the GDT and the boot selectors, then jumps to code32_start. */
export const ENTRY_STUB_AT = 0x7030;
/** The stack the stub runs on (the kernel sets its own at once); grows down from the GDT page. */
export const ENTRY_STACK_TOP = 0x7000;
export const BOOT_PARAMS_AT = 0x8000;
/** The real-mode setup code's copy (not run on the 32-bit entry; a kernel may look at it). */
export const SETUP_AT = 0x10000;
export const CMDLINE_AT = 0x20000;
/**
 * The setup_data list (boot protocol 2.09+): one SETUP_RNG_SEED entry, in the page after
 * boot_params (below 64 KiB, which the kernel keeps reserved anyway).
 */
export const SETUP_DATA_AT = 0x9000;
/** setup_data's type for a seed of the kernel's random number generator (arch/x86/include/uapi/asm/bootparam.h). */
export const SETUP_RNG_SEED = 9;
/** The seed's size: what QEMU hands a kernel (32 bytes, 256 bits: enough to initialise Linux's CRNG). */
export const RNG_SEED_BYTES = 32;
/** The protected-mode kernel's load address for a bzImage (boot.rst: "loaded high"). */
export const KERNEL_AT = 0x100000;

export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
/** type_of_loader: 0xFF, "undefined" (boot.rst: no registered ID). */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** screen_info.orig_video_isVGA for a VESA linear framebuffer (include/uapi/linux/screen_info.h). */
export const VIDEO_TYPE_VLFB = 0x23;

const LOADED_HIGH = 0x01;
const QUIET_FLAG = 0x20;
const KEEP_SEGMENTS = 0x40;
const CAN_USE_HEAP = 0x80;

/** Offsets in boot_params (and, from 0x1F1, in the bzImage's setup header). */
const BP = {
  // screen_info (0x000, 64 bytes)
  ORIG_VIDEO_ISVGA: 0x0f,
  LFB_WIDTH: 0x12,
  LFB_HEIGHT: 0x14,
  LFB_DEPTH: 0x16,
  LFB_BASE: 0x18,
  LFB_SIZE: 0x1c,
  LFB_LINELENGTH: 0x24,
  RED_SIZE: 0x26,
  PAGES: 0x32,
  ALT_MEM_K: 0x1e0,
  E820_ENTRIES: 0x1e8,
  // setup header
  SETUP_SECTS: 0x1f1,
  SYSSIZE: 0x1f4,
  BOOT_FLAG: 0x1fe,
  JUMP: 0x200,
  HEADER: 0x202,
  VERSION: 0x206,
  TYPE_OF_LOADER: 0x210,
  LOADFLAGS: 0x211,
  CODE32_START: 0x214,
  RAMDISK_IMAGE: 0x218,
  RAMDISK_SIZE: 0x21c,
  HEAP_END_PTR: 0x224,
  CMD_LINE_PTR: 0x228,
  INITRD_ADDR_MAX: 0x22c,
  KERNEL_ALIGNMENT: 0x230,
  RELOCATABLE_KERNEL: 0x234,
  CMDLINE_SIZE: 0x238,
  SETUP_DATA: 0x250,
  PREF_ADDRESS: 0x258,
  INIT_SIZE: 0x260,
  E820_TABLE: 0x2d0,
} as const;
const E820_MAX_ENTRIES = 128;
const BOOT_PARAMS_SIZE = 0x1000;

/** The framebuffer the loader set up (through the dispi registers) and describes to the kernel. */
export interface LinuxFramebuffer {
  /** Guest-physical address of the LFB (the VRAM BAR). */
  base: number;
  vramBytes: number;
  width: number;
  height: number;
  /** 15, 16, 24 or 32. */
  bpp: number;
}

/** The mode the loader sets when it boots Linux: what a distribution's `vga=` would commonly ask. */
export const DEFAULT_LINUX_MODE = { width: 1024, height: 768, bpp: 32 } as const;

export interface LinuxBootOptions {
  cmdline: string;
  initrd?: ArrayBuffer;
  framebuffer: LinuxFramebuffer;
  /** Default 'guest'; 'host' falls back to 'guest' for a payload it cannot unpack. */
  unpack?: KernelUnpack;
  /**
   * A seed for the kernel's random number generator, handed over as a SETUP_RNG_SEED setup_data
   * entry (protocol 2.09+), as QEMU's -kernel does: the kernel mixes it into its input pool at
   * setup_arch and, trusting the boot loader (Debian's default), credits it, so its CRNG is ready
   * from the start. Without one the CRNG stayed uninitialised through the whole boot and every
   * random number the kernel took (each new slab's freelist shuffle) hashed the whole input pool
   * again: 32 M of the boot's 597 M instructions in BLAKE2s.
   */
  rngSeed?: Uint8Array;
}

/** What the loader found in the header and where it put things (for the CPU entry and the tests). */
export interface LinuxBootState {
  /** The protocol version, e.g. 0x020f. */
  protocol: number;
  code32Start: number;
  bootParams: number;
  /** Where the CPU starts: the entry stub, which ends in a far jump to `entry`. */
  stub: number;
  /** Where the stub jumps: code32_start (the guest's decompressor) or the unpacked kernel's entry. */
  entry: number;
  /** Who decompressed the kernel, and why not the host when it was asked to. */
  unpacked: { by: KernelUnpack; bytes: number } | { by: 'guest'; reason: string };
  stackTop: number;
  initrd: { addr: number; size: number } | null;
  /** Who unpacks the initrd: the loader (what `initrd` holds is its cpio) or the kernel. */
  initrdUnpackedBy: KernelUnpack | null;
  e820: E820Entry[];
  /** Where the SETUP_RNG_SEED entry was written (null: no seed given, or protocol before 2.09). */
  rngSeed: number | null;
}

/** A bzImage (boot protocol 2.00+) is recognised by "HdrS" at 0x202, as QEMU's -kernel does. */
export function isBzImage(image: ArrayBuffer): boolean {
  return image.byteLength >= BP.HEADER + 4 && new DataView(image).getUint32(BP.HEADER, true) === HDRS_MAGIC;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const mib = (n: number): string => `${Math.ceil(n / 0x100000)} MiB`;

/** A bzImage whose header passed every check, and where its parts go. */
export interface CheckedBzImage {
  bytes: Uint8Array;
  protocol: number;
  /** The header's loadflags as the image has them. */
  loadflags: number;
  /** The setup header's end (0x202 + the jump's displacement): what a loader copies into boot_params. */
  headerEnd: number;
  /** The real-mode part's bytes ((setup_sects + 1) × 512); the protected-mode kernel follows it. */
  setupBytes: number;
  code32Start: number;
  /** Where the kernel runs once decompressed (protocol 2.10+: pref_address, aligned), else -1. */
  runAt: number;
  /** The end of the area the kernel loads and decompresses into. */
  kernelEnd: number;
  cmdline: Uint8Array;
  initrd: { addr: number; size: number } | null;
}

/**
 * The checks every loader of a bzImage makes, and the initrd's place: as high as allowed (boot.rst:
 * below initrd_addr_max and `initrdTop`, the top of the RAM the loader may use), page-aligned, and
 * clear of the kernel's decompression area so the decompressor cannot overwrite it.
 */
export function checkBzImage(
  image: ArrayBuffer,
  ramBytes: number,
  cmdlineText: string,
  initrdBytes: Uint8Array | null,
  initrdTop = ramBytes,
): Result<CheckedBzImage> {
  const bytes = new Uint8Array(image);
  const dv = new DataView(image);
  const bad = (why: string) => err(ErrorCode.EBADIMAGE, why);
  if (!isBzImage(image)) return bad('not a Linux bzImage: no "HdrS" setup header at 0x202');
  const protocol = dv.getUint16(BP.VERSION, true);
  const version = `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, '0')}`;
  if (protocol < MIN_PROTOCOL)
    return bad(`the kernel speaks boot protocol ${version}; this loader needs 2.06 or newer (Linux 2.6.22+)`);
  if (dv.getUint16(BP.BOOT_FLAG, true) !== 0xaa55) return bad('the setup header has no 0xAA55 boot flag at 0x1FE');
  const loadflags = bytes[BP.LOADFLAGS];
  if (!(loadflags & LOADED_HIGH))
    return bad('the kernel is a zImage (loaded low, below 640 KiB): only bzImages are supported');
  // The header runs from 0x1F1 to 0x202 + the byte at 0x201 (the short jump's displacement).
  const headerEnd = BP.HEADER + bytes[BP.JUMP + 1];
  const setupSects = bytes[BP.SETUP_SECTS] || 4;
  const setupBytes = (setupSects + 1) * 512;
  if (headerEnd > BOOT_PARAMS_SIZE || headerEnd > bytes.length || setupBytes > bytes.length)
    return bad('the kernel is truncated: the file ends inside the real-mode setup code');
  const syssize = dv.getUint32(BP.SYSSIZE, true) * 16;
  const pmBytes = bytes.length - setupBytes;
  if (syssize > pmBytes)
    return bad(
      `the kernel is truncated: the header says the protected-mode part is ${syssize} bytes, the file holds ${pmBytes}`,
    );
  const code32Start = dv.getUint32(BP.CODE32_START, true);
  const ram = ramBytes;
  const cmdlineMax = dv.getUint32(BP.CMDLINE_SIZE, true);
  const cmdline = new TextEncoder().encode(cmdlineText);
  if (cmdline.length > cmdlineMax)
    return bad(`the command line is ${cmdline.length} bytes; this kernel takes at most ${cmdlineMax}`);

  // Where the kernel will run: a bzImage decompresses itself to pref_address (a non-relocatable
  // kernel: LOAD_PHYSICAL_ADDR; a relocatable one loaded below it moves up to it) and needs
  // init_size bytes there (boot.rst, protocol 2.10 fields). Older kernels: the image's own size.
  let kernelEnd = KERNEL_AT + pmBytes;
  let runAt = -1;
  if (protocol >= 0x020a) {
    const align = dv.getUint32(BP.KERNEL_ALIGNMENT, true) || 1;
    const pref = Number(dv.getBigUint64(BP.PREF_ADDRESS, true));
    const alignedLoad = Math.ceil(KERNEL_AT / align) * align;
    runAt = bytes[BP.RELOCATABLE_KERNEL] ? Math.max(alignedLoad, pref) : pref;
    kernelEnd = Math.max(kernelEnd, runAt + dv.getUint32(BP.INIT_SIZE, true));
  }
  if (kernelEnd > ram)
    return bad(
      `the kernel needs ${mib(kernelEnd)} of RAM to load and decompress (up to ${hex(kernelEnd)}); the machine has ${mib(ram)}`,
    );

  let initrd: CheckedBzImage['initrd'] = null;
  if (initrdBytes) {
    if (initrdBytes.length === 0) return bad('the initrd is empty');
    const top = Math.min(initrdTop, dv.getUint32(BP.INITRD_ADDR_MAX, true) + 1);
    const addr = Math.floor((top - initrdBytes.length) / 0x1000) * 0x1000;
    if (addr < kernelEnd)
      return bad(
        `the initrd (${mib(initrdBytes.length)}) does not fit in RAM above the kernel (which uses up to ${hex(kernelEnd)}): the machine needs at least ${mib(kernelEnd + initrdBytes.length + 0xfff + ram - initrdTop)}`,
      );
    initrd = { addr, size: initrdBytes.length };
  }
  return ok({ bytes, protocol, loadflags, headerEnd, setupBytes, code32Start, runAt, kernelEnd, cmdline, initrd });
}

export function loadLinux(
  image: ArrayBuffer,
  memory: MachineMemory,
  options: LinuxBootOptions,
): Result<LinuxBootState> {
  const ram = memory.layout.ramBytes;
  const packed = options.initrd ? new Uint8Array(options.initrd) : null;
  // The initrd unpacked by the loader too (initrd.ts) when it unpacks the kernel, if it is one
  // gzip member and fits unpacked; otherwise the file as given, and the kernel unpacks it.
  const unpackedInitrd = packed && options.unpack === 'host' ? unpackInitrd(packed, ram) : null;
  let initrdBytes: Uint8Array | null = packed;
  let checked = checkBzImage(image, ram, options.cmdline, packed);
  if (unpackedInitrd instanceof Uint8Array) {
    const withUnpacked = checkBzImage(image, ram, options.cmdline, unpackedInitrd);
    if (withUnpacked.ok) [checked, initrdBytes] = [withUnpacked, unpackedInitrd];
  }
  if (!checked.ok) return checked;
  const { bytes, protocol, loadflags, headerEnd, setupBytes, code32Start, runAt, kernelEnd, cmdline, initrd } =
    checked.value;
  const fb = options.framebuffer;
  const e820 = e820Map(ram, fb.base, fb.vramBytes);
  // Unpacked by the loader, or why not (a string); null when the guest's decompressor is asked for.
  const tried =
    options.unpack !== 'host'
      ? null
      : runAt < 0
        ? 'boot protocol before 2.10 does not say where the kernel runs'
        : unpackKernel(bytes, setupBytes, runAt, kernelEnd);
  const kernel = typeof tried === 'string' ? null : tried;

  // Every check passed: write.
  const u8 = memory.u8;
  u8.set(bytes.subarray(0, setupBytes), SETUP_AT);
  if (kernel === null) u8.set(bytes.subarray(setupBytes), KERNEL_AT);
  else
    for (const s of kernel.segments) {
      u8.set(s.data, s.paddr);
      u8.fill(0, s.paddr + s.data.length, s.paddr + s.memsz);
    }
  if (initrd && initrdBytes) u8.set(initrdBytes, initrd.addr);
  u8.set(cmdline, CMDLINE_AT);
  u8[CMDLINE_AT + cmdline.length] = 0;

  u8.fill(0, BOOT_PARAMS_AT, BOOT_PARAMS_AT + BOOT_PARAMS_SIZE);
  u8.set(bytes.subarray(BP.SETUP_SECTS, headerEnd), BOOT_PARAMS_AT + BP.SETUP_SECTS);
  const bp = new DataView(memory.sab, BOOT_PARAMS_AT, BOOT_PARAMS_SIZE);
  bp.setUint8(BP.TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
  // The heap flag as a loader that ran the setup code would leave it; no quiet boot; KEEP_SEGMENTS
  // is obsolete (and ignored since Linux 5.8), so it stays clear.
  bp.setUint8(BP.LOADFLAGS, (loadflags | CAN_USE_HEAP) & ~(QUIET_FLAG | KEEP_SEGMENTS));
  // The setup heap ends where the command line begins (boot.rst: the offset from the real-mode
  // code's start, minus 0x200).
  bp.setUint16(BP.HEAP_END_PTR, CMDLINE_AT - SETUP_AT - 0x200, true);
  bp.setUint32(BP.CMD_LINE_PTR, CMDLINE_AT, true);
  bp.setUint32(BP.RAMDISK_IMAGE, initrd?.addr ?? 0, true);
  bp.setUint32(BP.RAMDISK_SIZE, initrd?.size ?? 0, true);
  bp.setUint32(BP.ALT_MEM_K, (ram - 0x100000) >>> 10, true);
  bp.setUint8(BP.E820_ENTRIES, Math.min(e820.length, E820_MAX_ENTRIES));
  e820.forEach((e, i) => {
    const o = BP.E820_TABLE + i * 20;
    bp.setBigUint64(o, BigInt(e.addr), true);
    bp.setBigUint64(o + 8, BigInt(e.size), true);
    bp.setUint32(o + 16, e.type, true);
  });
  writeScreenInfo(bp, fb);
  const seeded = options.rngSeed !== undefined && protocol >= 0x0209;
  if (seeded) writeRngSeed(memory, bp, options.rngSeed!);
  const entry = kernel?.entry ?? code32Start;
  writeEntryStub(memory, entry);
  return ok({
    protocol,
    code32Start,
    bootParams: BOOT_PARAMS_AT,
    stub: ENTRY_STUB_AT,
    entry,
    unpacked:
      kernel !== null
        ? { by: 'host', bytes: kernel.bytes }
        : typeof tried === 'string'
          ? { by: 'guest', reason: tried }
          : { by: 'guest', bytes: bytes.length - setupBytes },
    stackTop: ENTRY_STACK_TOP,
    initrd,
    initrdUnpackedBy: initrd === null ? null : initrdBytes === packed ? 'guest' : 'host',
    e820,
    rngSeed: seeded ? SETUP_DATA_AT : null,
  });
}

/**
 * One setup_data entry (struct setup_data: u64 next, u32 type, u32 len, then the data) holding
 * the seed, as the only entry of boot_params' list.
 */
function writeRngSeed(memory: MachineMemory, bp: DataView, seed: Uint8Array): void {
  const sd = new DataView(memory.sab, SETUP_DATA_AT, 16 + seed.length);
  sd.setBigUint64(0, 0n, true);
  sd.setUint32(8, SETUP_RNG_SEED, true);
  sd.setUint32(12, seed.length, true);
  memory.u8.set(seed, SETUP_DATA_AT + 16);
  bp.setBigUint64(BP.SETUP_DATA, BigInt(SETUP_DATA_AT), true);
}

/** type_of_loader for QEMU (boot.rst's ID 0xB), as QEMU's -kernel writes it for its option ROM. */
export const LOADER_TYPE_QEMU = 0xb0;
/**
 * RAM the initrd stays clear of at the top: the room QEMU's pc machine keeps there for the
 * firmware's ACPI tables (128 KiB) and its other data structures (32 KiB), its acpi_data_size.
 */
export const FIRMWARE_TABLES_BYTES = 0x28000;

/** The fw_cfg items of a kernel for firmware's Linux-boot path (QEMU's -bios with -kernel). */
export interface LinuxBootItems {
  /** [key, bytes] for each item: the addresses and sizes as little-endian u32, then the data. */
  items: [number, Uint8Array][];
  /** The real-mode part with its header patched as the loader would (SETUP_DATA). */
  setup: Uint8Array;
  initrd: { addr: number; size: number } | null;
}

/**
 * What QEMU's x86_load_linux hands the firmware for a bzImage (the option ROM linuxboot_dma.bin
 * copies each part to its address by fw_cfg DMA and enters the real-mode setup code): the
 * real-mode part at SETUP_AT with its header patched (type_of_loader, CAN_USE_HEAP with the heap
 * ending where the command line begins, cmd_line_ptr, the initrd's place and size), the
 * protected-mode kernel at KERNEL_AT, the NUL-terminated command line at CMDLINE_AT, the initrd
 * as high as the header and the firmware's tables allow. The same checks as the direct loader's.
 */
export function linuxBootItems(
  image: ArrayBuffer,
  ramBytes: number,
  cmdline: string,
  initrd?: ArrayBuffer,
): Result<LinuxBootItems> {
  const initrdBytes = initrd ? new Uint8Array(initrd) : null;
  const checked = checkBzImage(image, ramBytes, cmdline, initrdBytes, ramBytes - FIRMWARE_TABLES_BYTES);
  if (!checked.ok) return checked;
  const c = checked.value;
  const setup = c.bytes.slice(0, c.setupBytes);
  const hdr = new DataView(setup.buffer);
  hdr.setUint8(BP.TYPE_OF_LOADER, LOADER_TYPE_QEMU);
  hdr.setUint8(BP.LOADFLAGS, c.loadflags | CAN_USE_HEAP);
  hdr.setUint16(BP.HEAP_END_PTR, CMDLINE_AT - SETUP_AT - 0x200, true);
  hdr.setUint32(BP.CMD_LINE_PTR, CMDLINE_AT, true);
  hdr.setUint32(BP.RAMDISK_IMAGE, c.initrd?.addr ?? 0, true);
  hdr.setUint32(BP.RAMDISK_SIZE, c.initrd?.size ?? 0, true);
  const u32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  const cmdlineData = new Uint8Array(c.cmdline.length + 1);
  cmdlineData.set(c.cmdline);
  const kernel = c.bytes.subarray(c.setupBytes);
  const items: [number, Uint8Array][] = [
    [FwCfgKey.SETUP_ADDR, u32(SETUP_AT)],
    [FwCfgKey.SETUP_SIZE, u32(setup.length)],
    [FwCfgKey.SETUP_DATA, setup],
    [FwCfgKey.KERNEL_ADDR, u32(KERNEL_AT)],
    [FwCfgKey.KERNEL_SIZE, u32(kernel.length)],
    [FwCfgKey.KERNEL_DATA, kernel],
    [FwCfgKey.CMDLINE_ADDR, u32(CMDLINE_AT)],
    [FwCfgKey.CMDLINE_SIZE, u32(cmdlineData.length)],
    [FwCfgKey.CMDLINE_DATA, cmdlineData],
  ];
  // No initrd: QEMU leaves the initrd items out, and the ROM then copies nothing (its size reads 0).
  if (c.initrd && initrdBytes)
    items.push(
      [FwCfgKey.INITRD_ADDR, u32(c.initrd.addr)],
      [FwCfgKey.INITRD_SIZE, u32(c.initrd.size)],
      [FwCfgKey.INITRD_DATA, initrdBytes],
    );
  return ok({ items, setup, initrd: c.initrd });
}

/** The direct-colour field layout of each Bochs VBE depth: [red, green, blue, reserved] as [size, pos]. */
export function colourFields(bpp: number): [number, number][] {
  switch (bpp) {
    case 15:
      return [
        [5, 10],
        [5, 5],
        [5, 0],
        [1, 15],
      ];
    case 16:
      return [
        [5, 11],
        [6, 5],
        [5, 0],
        [0, 0],
      ];
    case 24:
      return [
        [8, 16],
        [8, 8],
        [8, 0],
        [0, 0],
      ];
    default:
      return [
        [8, 16],
        [8, 8],
        [8, 0],
        [8, 24],
      ];
  }
}

/** screen_info (include/uapi/linux/screen_info.h) for a VESA LFB; lfb_size counts 64 KiB units for VLFB. */
function writeScreenInfo(bp: DataView, fb: LinuxFramebuffer): void {
  const line = fb.width * (fb.bpp === 15 ? 2 : fb.bpp >>> 3);
  bp.setUint8(BP.ORIG_VIDEO_ISVGA, VIDEO_TYPE_VLFB);
  bp.setUint16(BP.LFB_WIDTH, fb.width, true);
  bp.setUint16(BP.LFB_HEIGHT, fb.height, true);
  bp.setUint16(BP.LFB_DEPTH, fb.bpp, true);
  bp.setUint32(BP.LFB_BASE, fb.base, true);
  bp.setUint32(BP.LFB_SIZE, fb.vramBytes >>> 16, true);
  bp.setUint16(BP.LFB_LINELENGTH, line, true);
  colourFields(fb.bpp).forEach(([size, pos], i) => {
    bp.setUint8(BP.RED_SIZE + i * 2, size);
    bp.setUint8(BP.RED_SIZE + i * 2 + 1, pos);
  });
  bp.setUint16(BP.PAGES, Math.floor(fb.vramBytes / (line * fb.height)), true);
}

/**
 * The GDT with flat __BOOT_CS (0x10, code, 4 GiB) and __BOOT_DS (0x18, data, 4 GiB) and a stub
 * that loads it: `lgdt [ptr]; mov eax, 0x18; mov ds/es/fs/gs/ss, ax; jmp 0x10:entry` (code32_start,
 * or the entry of a kernel the loader unpacked).
 * The CPU is entered flat at the stub with ESI, EBP, EDI, EBX already as the protocol wants; the
 * stub touches only EAX, which the protocol leaves undefined.
 */
function writeEntryStub(memory: MachineMemory, entry: number): void {
  const u8 = memory.u8;
  u8.fill(0, GDT_AT, ENTRY_STUB_AT + 0x40);
  const dv = new DataView(memory.sab, GDT_AT, ENTRY_STUB_AT + 0x40 - GDT_AT);
  // Descriptors: limit 0xFFFFF, G = 1, D = 1, P = 1, DPL 0; type 0xA (code r/x) and 0x2 (data r/w), accessed.
  dv.setUint32(BOOT_CS, 0x0000ffff, true);
  dv.setUint32(BOOT_CS + 4, 0x00cf9b00, true);
  dv.setUint32(BOOT_DS, 0x0000ffff, true);
  dv.setUint32(BOOT_DS + 4, 0x00cf9300, true);
  const ptr = 0x20;
  dv.setUint16(ptr, BOOT_DS + 7, true);
  dv.setUint32(ptr + 2, GDT_AT, true);
  const code = [
    ...[0x0f, 0x01, 0x15, ...le32(GDT_AT + ptr)], // lgdt [GDT_AT + ptr]
    ...[0xb8, ...le32(BOOT_DS)], // mov eax, __BOOT_DS
    ...[0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xe0, 0x8e, 0xe8, 0x8e, 0xd0], // mov ds, es, fs, gs, ss
    ...[0xea, ...le32(entry), BOOT_CS, 0x00], // jmp far __BOOT_CS:entry
  ];
  u8.set(code, ENTRY_STUB_AT);
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/**
 * Set a linear-framebuffer mode through the Bochs dispi registers, as the VBE BIOS's set-mode call
 * would before a loader describes it in screen_info: disable, set geometry, enable with the LFB.
 */
export function setDispiMode(io: IoBus, width: number, height: number, bpp: number): void {
  const w = (index: number, value: number): void => {
    io.write(VBE_DISPI_INDEX_PORT, 2, index);
    io.write(VBE_DISPI_DATA_PORT, 2, value);
  };
  w(VBE_DISPI.ENABLE, 0); // geometry changes only while disabled
  w(VBE_DISPI.XRES, width);
  w(VBE_DISPI.YRES, height);
  w(VBE_DISPI.BPP, bpp);
  w(VBE_DISPI.ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
}
