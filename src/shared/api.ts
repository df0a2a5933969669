/**
 * The whole main-thread ↔ worker boundary: one typed interface, few methods (STYLE.md: Xen's
 * device-model operations). Every argument is checked on arrival in the worker; every failure
 * comes back as a Result with a documented code, never as a host exception across the boundary.
 * No CPU objects cross to the main thread, and no DOM crosses to the worker.
 */
import {
  isValidRamMiB,
  isValidVramMiB,
  RAM_MIB_MAX,
  RAM_MIB_MIN,
  VRAM_MIB_CHOICES,
  type MemoryLayout,
  type RunState,
} from './layout';

/**
 * Error codes. EINVAL and the others keep Xen's names (and, in `errno`, Xen's numbers) where the
 * hypercall has a Xen counterpart.
 */
export const ErrorCode = {
  /** An argument is out of range, of the wrong type, or inconsistent (Xen EINVAL = 22). */
  EINVAL: 'EINVAL',
  /** The call does not fit the machine's state (e.g. start before create). */
  ESTATE: 'ESTATE',
  /** The kernel or firmware image was rejected; the message names the reason. */
  EBADIMAGE: 'EBADIMAGE',
  /** Not implemented yet by this build. */
  ENOSYS: 'ENOSYS',
  /** A bug of ours caught at the boundary; the message carries the host error. */
  EINTERNAL: 'EINTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERRNO: Record<ErrorCode, number> = {
  EINVAL: 22,
  ESTATE: 16, // EBUSY
  EBADIMAGE: 8, // ENOEXEC
  ENOSYS: 38,
  EINTERNAL: 5, // EIO
};

export type Ok<T> = { ok: true; value: T };
export type Err = { ok: false; code: ErrorCode; message: string };
export type Result<T> = Ok<T> | Err;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}
export function err(code: ErrorCode, message: string): Err {
  return { ok: false, code, message };
}

/** What kind of image `create` is handed. */
export type ImageKind =
  /**
   * A kernel loaded directly and entered in protected mode: a Linux bzImage (boot protocol 2.06+,
   * told apart by its "HdrS" header) or a Multiboot v1 ELF.
   */
  | 'multiboot'
  /** A raw firmware image (≤ 256 KiB) mapped below 4 GiB and at 0xF0000, started at F000:FFF0. */
  | 'firmware'
  /** No guest: a built-in VRAM test pattern, the memory-path proof of the foundation. */
  | 'pattern';

export type ClockKind = 'wall' | 'icount';

export interface MachineConfig {
  /** Guest RAM in MiB, RAM_MIB_MIN–RAM_MIB_MAX (4–256): isValidRamMiB. */
  ramMiB: number;
  /** VRAM in MiB, one of VRAM_MIB_CHOICES (8, 16, 32 or 64): isValidVramMiB. */
  vramMiB: number;
  /** The kernel's command line. */
  cmdline: string;
  /**
   * A Linux initrd (an initramfs), loaded with a bzImage (image "multiboot", or `kernel` with
   * image "firmware"); refused otherwise.
   */
  initrd?: ArrayBuffer;
  /**
   * With image "firmware": a Linux bzImage the firmware boots through QEMU's option ROM
   * linuxboot_dma.bin (QEMU's -bios with -kernel; the ROM must be among `optionRoms`), with
   * `cmdline` and `initrd`, handed over as fw_cfg items.
   */
  kernel?: ArrayBuffer;
  /**
   * Multiboot modules, loaded page-aligned above a Multiboot kernel in this order, each with its
   * string (QEMU's -initrd "file args,file2": the file's name and arguments). At most 16.
   */
  modules?: { cmdline: string; data: ArrayBuffer }[];
  /** Device time source: the wall clock (browser default) or the instruction count (deterministic). */
  clock: ClockKind;
  /** Image kind of the buffer passed to create(). */
  image: ImageKind;
  /** The POST-code port (default 0x80); must not collide with another device's ports. */
  postPort?: number;
  /** The debug console's port (QEMU's isa-debugcon iobase): 0xE9 by default, 0x402 for SeaBIOS. */
  debugconPort?: number;
  /** A VGA BIOS (≤ 128 KiB, QEMU's vgabios-stdvga.bin) served by the display's expansion-ROM BAR. */
  vgaBios?: ArrayBuffer;
  /** Option ROMs for the firmware to run, as fw_cfg files genroms/NAME (QEMU's -option-rom). */
  optionRoms?: { name: string; data: ArrayBuffer }[];
  /**
   * A raw hard disk image for the primary IDE channel's device 0 (QEMU's -hda): whole 512-byte
   * sectors, at most MAX_DISK_BYTES. The machine works on a copy; guest writes change the copy.
   */
  hda?: ArrayBuffer;
  /**
   * The primary disk named by URL instead (hda wins if both are given): read by HTTP range
   * requests as the guest reads it, 64 KiB chunks kept once read, guest writes in memory only
   * (devices/block-medium.ts). Images of 32 MiB or less, or from a server that ignores Range, are
   * read whole when the machine is created. Needs XMLHttpRequest (the browser's worker).
   */
  hdaUrl?: string;
  /**
   * The primary disk as a file the user picked (hda and hdaUrl win if given): read by slices as
   * the guest reads it, like hdaUrl, through the worker's FileReaderSync; guest writes in memory
   * only. Images of 32 MiB or less are read whole when the machine is created.
   */
  hdaFile?: Blob;
  /**
   * An ATAPI CD-ROM drive on the secondary IDE channel's device 0 (QEMU's -cdrom), with this CD
   * image in it (ISO 9660, whole 2048-byte sectors, at most MAX_CDROM_BYTES; read-only), or empty
   * (null: QEMU's -drive if=ide,index=2,media=cdrom). Absent: no drive. The disc can be changed
   * while the machine runs (MachineApi.changeCdrom).
   */
  cdrom?: ArrayBuffer | null;
  /**
   * What a triple fault does (the processor shuts down, SDM vol. 3, 6.15): 'reset' the machine
   * and run on, as a PC's chipset answers the shutdown cycle (and QEMU by default), or 'stop' it
   * in state TRIPLE_FAULT (QEMU's -no-reboot: the CLI's exit status 4). Default 'stop'. Either
   * way the fault is reported (lastFault, I32.FAULT_SEQ).
   */
  tripleFault?: 'reset' | 'stop';
  /**
   * The firmware's boot order (QEMU's -boot order=): up to three of a (floppy), c (first hard
   * disk), d (CD-ROM), n (network), first choice first. Default "cad", as QEMU's pc machine.
   */
  boot?: string;
  /**
   * Who decompresses a Linux bzImage loaded directly (image "multiboot"): 'host', the loader,
   * which unpacks an XZ payload and enters the kernel itself (boot/unpack.ts: the decompressor is
   * 80 % of Debian's kernel's boot instructions); 'guest', the bzImage's own decompressor entered
   * at code32_start, as the boot protocol and QEMU's -kernel do. Default 'host' (which boots
   * through the guest's decompressor a payload it cannot unpack). 'host' also hands the kernel a
   * gzip initrd of one member unpacked (boot/initrd.ts); with 'guest' the kernel unpacks it. The firmware path (`kernel`
   * with image "firmware") always runs the kernel's own setup and decompressor.
   */
  kernelUnpack?: KernelUnpack;
}

/**
 * Who decompresses a Linux bzImage (MachineConfig.kernelUnpack): 'host', the loader
 * (boot/unpack.ts), entering the kernel itself; 'guest', the bzImage's own decompressor entered at
 * code32_start, as the boot protocol describes (and as QEMU's -kernel does).
 */
export type KernelUnpack = 'host' | 'guest';

export const DISK_SECTOR_BYTES = 512;
/** The largest disk image taken: it is held in memory whole (in the browser too). */
export const MAX_DISK_BYTES = 1 << 30;

/**
 * Why a raw disk image of this many bytes cannot be used (a phrase after its name), or null. An
 * image read by ranges (config.hdaUrl) is not held whole, so MAX_DISK_BYTES does not bound it.
 */
export function checkDiskImage(bytes: number, readByRanges = false): string | null {
  if (bytes === 0) return 'is empty';
  if (bytes % DISK_SECTOR_BYTES !== 0)
    return `is ${bytes} bytes, not a whole number of 512-byte sectors (as a raw disk image is)`;
  if (bytes > MAX_DISK_BYTES && !readByRanges)
    return `is ${bytes} bytes; at most ${MAX_DISK_BYTES} (1 GiB) are taken, since the image is held in memory`;
  return null;
}

export const CDROM_SECTOR_BYTES = 2048;
/** The largest CD image taken: held in memory whole, as a disk image is. */
export const MAX_CDROM_BYTES = MAX_DISK_BYTES;

/** Why a CD image (an ISO 9660 file: whole 2048-byte sectors) of this many bytes cannot be used, or null. */
export function checkCdromImage(bytes: number): string | null {
  if (bytes === 0) return 'is empty';
  if (bytes % CDROM_SECTOR_BYTES !== 0)
    return `is ${bytes} bytes, not a whole number of 2048-byte sectors (as an ISO image is)`;
  if (bytes > MAX_CDROM_BYTES)
    return `is ${bytes} bytes; at most ${MAX_CDROM_BYTES} (1 GiB) are taken, since the image is held in memory`;
  return null;
}

/** What the main thread gets back from create(): the shared memory and where things are in it. */
export interface MachineHandles {
  memory: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  layout: MemoryLayout;
}

export interface StatsSnapshot {
  state: RunState;
  exitStatus: number;
  instructions: number;
  guestMs: number;
  idleMs: number;
  hvMs: number;
  machineTimeMs: number;
  slices: number;
}

/** A guest fault report for the UI (triple fault, crash): the last instructions, disassembled. */
export interface FaultReport {
  reason: string;
  trace: string[];
}

/** The primary IDE disk without its bytes (MachineApi.hdaState). */
export interface HdaState {
  /** The guest wrote to it since the machine was created. */
  written: boolean;
  /** Bytes of config.hdaUrl's image fetched so far; null when the image is held whole in memory. */
  bytesFetched: number | null;
  /** The image's size in bytes. */
  byteLength: number;
}

/** The primary IDE disk's medium as the guest has left it (MachineApi.hdaImage). */
export interface HdaImage {
  /** A copy of the whole image. */
  image: ArrayBuffer;
  /** The guest wrote to it since the machine was created. */
  written: boolean;
}

/**
 * The API the worker exposes through comlink. Methods return Results (never throw across).
 * Buffers that are large (kernel images, dirty bitmaps) are transferred, not copied.
 */
export interface MachineApi {
  /** Create (or re-create) the machine from a config and an image (transferred). Does not start it. */
  create(config: MachineConfig, image: ArrayBuffer): Promise<Result<MachineHandles>>;
  /** Start or resume the run loop. */
  start(): Result<void>;
  /** Pause between slices; VRAM stops changing once this resolves. */
  pause(): Result<void>;
  /** Reset the machine to its just-created state (image reloaded), keeping the shared memory. */
  reset(): Result<void>;
  /**
   * Keyboard input as the bytes a PS/2 keyboard sends: scancode set 2 (the make code; 0xF0 before
   * a break code; 0xE0 before the extended keys). The i8042 hands the guest set 1 unless the guest
   * turns translation off.
   */
  sendScancodes(bytes: number[]): Result<void>;
  /** Host → COM1 input. */
  serialWrite(text: string): Result<void>;
  /** Drain COM1 (and debug-console) output produced since the last call. */
  serialRead(): Result<string>;
  stats(): Result<StatsSnapshot>;
  /**
   * Xen's HVMOP_track_dirty_vram: bitmap of nr bits (byte[i >> 3] bit i & 7), bit i set when guest
   * frame firstPfn + i was written since the previous call over the same range. See DESIGN.md.
   * EINVAL for nr > TRACK_DIRTY_VRAM_MAX_NR, a wrapping range, or one outside the VRAM BAR. Each
   * client (VramClient, DISPLAY when absent) has its own range and bitmap; EINVAL for an unknown one.
   */
  trackDirtyVram(firstPfn: number, nr: number, client?: VramClient): Result<Uint8Array>;
  /** Switch the hypervisor's two-second idle drop on or off, for one client (DISPLAY when absent). */
  setIdleDrop(on: boolean, client?: VramClient): Result<void>;
  /**
   * Trap mode on or off: every guest write to the tracked VRAM range takes a second-stage fault
   * into the hypervisor, which records the page and lets that one write through (the design Xen
   * 3.3 rejected). The trackDirtyVram contract is unchanged. For one client (DISPLAY when absent):
   * the guest's writes fault while any client traps them.
   */
  setTrapWrites(on: boolean, client?: VramClient): Result<void>;
  /**
   * The primary IDE disk (config.hda) as the guest has left it: a copy, transferred; null when the
   * machine has no disk. Guest writes live only in the machine's memory: this is how they leave.
   */
  hdaImage(): Result<HdaImage | null>;
  /**
   * The primary IDE disk's state without its bytes: whether the guest wrote to it, and for a disk
   * read by ranges (config.hdaUrl) the bytes fetched so far. Null when the machine has no disk.
   */
  hdaState(): Result<HdaState | null>;
  /**
   * Change the disc in the CD-ROM drive while the machine runs (QEMU's monitor change / eject -f):
   * an ISO image (transferred) goes in, or null takes the disc out and leaves the tray open. The
   * guest sees the change as a real drive shows it (a unit attention, a media event). EINVAL for
   * a bad image (its reason said), ESTATE when the machine has no CD-ROM drive (config.cdrom).
   */
  changeCdrom(image: ArrayBuffer | null): Result<void>;
  /** The last fault report (triple fault or crash), if any. */
  lastFault(): Result<FaultReport | null>;
  /** Round-trip probe used to measure RPC latency while the machine runs. */
  ping(): number;
}

/**
 * The dirty-VRAM clients (QEMU's DIRTY_MEMORY_VGA / _CODE / _MIGRATION idea): each has its own
 * bitmap, tracked range, idle drop and trap switch over the hypervisor's one write-tracking
 * mechanism, so two readers never take each other's dirty bits. The page's display is DISPLAY;
 * the A/B view's second display is DISPLAY_B.
 */
export const VramClient = { DISPLAY: 0, DISPLAY_B: 1 } as const;
export type VramClient = (typeof VramClient)[keyof typeof VramClient];
/** The clients' names, by number (for messages and debugging). */
export const VRAM_CLIENT_NAMES: Record<VramClient, string> = { 0: 'display', 1: 'display-b' };
export function isVramClient(x: unknown): x is VramClient {
  return x === VramClient.DISPLAY || x === VramClient.DISPLAY_B;
}

/** Largest nr accepted by trackDirtyVram (Xen: 1 GiB of 4 KiB pages). */
export const TRACK_DIRTY_VRAM_MAX_NR = 262_144;

// ----------------------------------------------------------------------------------------------
// Argument checks, shared by the worker entry and the Node tests.

export function checkConfig(c: unknown): Result<MachineConfig> {
  if (typeof c !== 'object' || c === null) return err(ErrorCode.EINVAL, 'config must be an object');
  const o = c as Record<string, unknown>;
  const ramMiB = o.ramMiB;
  const vramMiB = o.vramMiB;
  // The same checks as the page's for its address (src/ui/view-state.ts) and the memory layout's.
  if (!isValidRamMiB(ramMiB))
    return err(
      ErrorCode.EINVAL,
      `ramMiB must be an integer from ${RAM_MIB_MIN} to ${RAM_MIB_MAX}, got ${String(ramMiB)}`,
    );
  if (!isValidVramMiB(vramMiB))
    return err(
      ErrorCode.EINVAL,
      `vramMiB must be ${VRAM_MIB_CHOICES.slice(0, -1).join(', ')} or ${VRAM_MIB_CHOICES.at(-1)}, got ${String(vramMiB)}`,
    );
  const cmdline = o.cmdline ?? '';
  if (typeof cmdline !== 'string' || cmdline.length > 4096)
    return err(ErrorCode.EINVAL, 'cmdline must be a string of at most 4096 characters');
  const clock = o.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'icount')
    return err(ErrorCode.EINVAL, `clock must be "wall" or "icount", got ${String(clock)}`);
  const image = o.image;
  if (image !== 'multiboot' && image !== 'firmware' && image !== 'pattern')
    return err(ErrorCode.EINVAL, `image must be "multiboot", "firmware" or "pattern", got ${String(image)}`);
  const initrd = o.initrd;
  if (initrd !== undefined && !(initrd instanceof ArrayBuffer))
    return err(ErrorCode.EINVAL, 'initrd must be an ArrayBuffer when given');
  const kernel = o.kernel;
  if (kernel !== undefined && (!(kernel instanceof ArrayBuffer) || image !== 'firmware'))
    return err(ErrorCode.EINVAL, 'kernel must be an ArrayBuffer, given with image "firmware"');
  if (initrd !== undefined && image !== 'multiboot' && kernel === undefined)
    return err(ErrorCode.EINVAL, `an initrd goes with a kernel image, not with image "${image}"`);
  const modules = o.modules;
  if (
    modules !== undefined &&
    (image !== 'multiboot' ||
      !Array.isArray(modules) ||
      modules.length > 16 ||
      !modules.every(
        (m) =>
          typeof m === 'object' &&
          m !== null &&
          typeof m.cmdline === 'string' &&
          m.cmdline.length <= 1024 &&
          m.data instanceof ArrayBuffer,
      ))
  )
    return err(
      ErrorCode.EINVAL,
      'modules must be at most 16 {cmdline, data} (an ArrayBuffer and a string of at most 1024 characters), with a Multiboot kernel',
    );
  // Whether a port is free is the machine's to say (its device list decides, when it is built).
  const postPort = o.postPort ?? 0x80;
  const debugconPort = o.debugconPort ?? 0xe9;
  for (const [field, port] of [
    ['postPort', postPort],
    ['debugconPort', debugconPort],
  ] as const)
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 0xffff)
      return err(ErrorCode.EINVAL, `${field} must be a free I/O port (0-0xffff, not a device's), got ${String(port)}`);
  const vgaBios = o.vgaBios;
  if (vgaBios !== undefined && (!(vgaBios instanceof ArrayBuffer) || vgaBios.byteLength > 128 * 1024))
    return err(ErrorCode.EINVAL, 'vgaBios must be an ArrayBuffer of at most 128 KiB (it is copied to 0xC0000)');
  const optionRoms = o.optionRoms;
  if (
    optionRoms !== undefined &&
    (!Array.isArray(optionRoms) ||
      optionRoms.length > 8 ||
      !optionRoms.every(
        (r) =>
          typeof r === 'object' &&
          r !== null &&
          typeof r.name === 'string' &&
          /^[\w.-]{1,40}$/.test(r.name) &&
          r.data instanceof ArrayBuffer &&
          r.data.byteLength <= 128 * 1024,
      ))
  )
    return err(ErrorCode.EINVAL, 'optionRoms must be at most 8 {name, data} with plain names and at most 128 KiB each');
  const hda = o.hda;
  if (hda !== undefined) {
    if (!(hda instanceof ArrayBuffer)) return err(ErrorCode.EINVAL, 'hda must be an ArrayBuffer (a raw disk image)');
    const why = checkDiskImage(hda.byteLength);
    if (why) return err(ErrorCode.EINVAL, `hda ${why}`);
  }
  const hdaUrl = o.hdaUrl;
  if (hdaUrl !== undefined && (typeof hdaUrl !== 'string' || hdaUrl === ''))
    return err(ErrorCode.EINVAL, 'hdaUrl must be a URL (a string) of a raw disk image');
  const hdaFile = o.hdaFile;
  if (hdaFile !== undefined && !(typeof Blob !== 'undefined' && hdaFile instanceof Blob))
    return err(ErrorCode.EINVAL, 'hdaFile must be a Blob (a File the user picked) of a raw disk image');
  const cdrom = o.cdrom;
  if (cdrom !== undefined && cdrom !== null) {
    if (!(cdrom instanceof ArrayBuffer))
      return err(ErrorCode.EINVAL, 'cdrom must be an ArrayBuffer (an ISO image), or null for an empty drive');
    const why = checkCdromImage(cdrom.byteLength);
    if (why) return err(ErrorCode.EINVAL, `cdrom ${why}`);
  }
  const boot = o.boot ?? 'cad';
  if (typeof boot !== 'string' || !/^[acdn]{1,3}$/.test(boot) || new Set(boot).size !== boot.length)
    return err(
      ErrorCode.EINVAL,
      `boot must be one to three different letters of a (floppy), c (hard disk), d (CD-ROM), n (network), got ${String(boot)}`,
    );
  const kernelUnpack = o.kernelUnpack ?? 'host';
  if (kernelUnpack !== 'host' && kernelUnpack !== 'guest')
    return err(ErrorCode.EINVAL, `kernelUnpack must be "host" or "guest", got ${String(kernelUnpack)}`);
  const tripleFault = o.tripleFault ?? 'stop';
  if (tripleFault !== 'reset' && tripleFault !== 'stop')
    return err(ErrorCode.EINVAL, `tripleFault must be "reset" or "stop", got ${String(tripleFault)}`);
  return ok({
    ...(hda !== undefined ? { hda: hda as ArrayBuffer } : {}),
    ...(hdaUrl !== undefined ? { hdaUrl: hdaUrl as string } : {}),
    ...(hdaFile !== undefined ? { hdaFile: hdaFile as Blob } : {}),
    ...(cdrom !== undefined ? { cdrom: cdrom as ArrayBuffer | null } : {}),
    tripleFault,
    kernelUnpack,
    ...(modules !== undefined ? { modules: modules as { cmdline: string; data: ArrayBuffer }[] } : {}),
    boot,
    ...(vgaBios !== undefined ? { vgaBios: vgaBios as ArrayBuffer } : {}),
    ...(optionRoms !== undefined ? { optionRoms: optionRoms as { name: string; data: ArrayBuffer }[] } : {}),
    ramMiB: ramMiB as number,
    vramMiB: vramMiB as number,
    cmdline,
    clock,
    image,
    postPort: postPort as number,
    debugconPort: debugconPort as number,
    ...(initrd ? { initrd } : {}),
    ...(kernel ? { kernel } : {}),
  });
}

export function isUint32(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffff_ffff;
}
