/**
 * The memory layout shared by both threads: declared once, here.
 *
 * Two SharedArrayBuffers cross the worker boundary:
 *  - machine memory: [ guest RAM | VRAM | firmware ROM ] — the "machine frames" the p2m points into. The main
 *    thread (ioemu) maps the VRAM part as a typed-array view, the way qemu-dm maps guest memory.
 *  - stats/control: a small block of 32-bit words (flags, generations, display state, palette)
 *    followed by 64-bit floats (counters and times for the meter).
 *
 * Words in the I32 block are read and written with Atomics where another thread may be looking;
 * the F64 block is written only by the worker and read by the main thread for the meter (a torn
 * read of a counter is harmless there: the meter differentiates over a second).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const MiB = 1 << 20;

export const RAM_MIB_MIN = 4;
export const RAM_MIB_MAX = 256;
export const RAM_MIB_DEFAULT = 32;
export const VRAM_MIB_CHOICES = [8, 16, 32, 64] as const;
export const VRAM_MIB_DEFAULT = 8;

/** Guest-physical base of the VRAM BAR before the guest reprograms PCI BAR0 (QEMU's std-vga uses 0xFD000000; 64 MiB must fit below 4 GiB and above RAM). */
export const VRAM_BAR_DEFAULT = 0xe000_0000;

/** Largest raw firmware image (the ROM region's size). */
export const ROM_BYTES = 256 * 1024;

/** Where each region sits in the machine-memory SharedArrayBuffer: [ RAM | VRAM | ROM ]. */
export interface MemoryLayout {
  /** Bytes of guest RAM, at machine offset 0. */
  readonly ramBytes: number;
  /** Machine offset of VRAM (= ramBytes). */
  readonly vramOffset: number;
  /** Bytes of VRAM. */
  readonly vramBytes: number;
  /** Machine offset of the firmware ROM (after VRAM; ROM_BYTES long, read-only to the guest). */
  readonly romOffset: number;
  /** Total size of the machine-memory SAB. */
  readonly totalBytes: number;
}

// The one check of each size, wherever it is given: the machine's config (checkConfig, so the CLI's
// flags too), the page's address (src/ui/view-state.ts), the layout below.

export function isValidRamMiB(mib: unknown): mib is number {
  return Number.isInteger(mib) && (mib as number) >= RAM_MIB_MIN && (mib as number) <= RAM_MIB_MAX;
}

export function isValidVramMiB(mib: unknown): mib is number {
  return (VRAM_MIB_CHOICES as readonly unknown[]).includes(mib);
}

export function memoryLayout(ramMiB: number, vramMiB: number): MemoryLayout {
  if (!isValidRamMiB(ramMiB)) throw new RangeError(`RAM must be ${RAM_MIB_MIN}–${RAM_MIB_MAX} MiB`);
  if (!isValidVramMiB(vramMiB)) throw new RangeError(`VRAM must be one of ${VRAM_MIB_CHOICES.join(', ')} MiB`);
  const ramBytes = ramMiB * MiB;
  const vramBytes = vramMiB * MiB;
  return {
    ramBytes,
    vramOffset: ramBytes,
    vramBytes,
    romOffset: ramBytes + vramBytes,
    totalBytes: ramBytes + vramBytes + ROM_BYTES,
  };
}

// ---------------------------------------------------------------------------------------------
// The stats/control SAB. Indices below are element indices into the named view.

/** Machine run state (I32.STATE). */
export const RunState = {
  /** No machine created yet. */
  EMPTY: 0,
  RUNNING: 1,
  PAUSED: 2,
  /** HLT with interrupts off and nothing pending: stopped for good, as QEMU reports a halted CPU. */
  HALTED: 3,
  /** The guest wrote the exit port (0xF4); I32.EXIT_STATUS holds (v << 1) | 1. */
  EXITED: 4,
  /**
   * Stopped by a triple fault (MachineConfig.tripleFault 'stop', or a reboot loop); the report
   * (MachineApi.lastFault) has the trace. A machine that resets after one runs on (RUNNING).
   */
  TRIPLE_FAULT: 5,
  /** A host error inside the machine (a bug of ours); reported, never silent. */
  CRASHED: 6,
} as const;
export type RunState = (typeof RunState)[keyof typeof RunState];

/** Int32 words, Atomics-accessible. */
export const I32 = {
  /** Run/pause flag written by the worker's API (1 run, 0 pause); the run loop obeys it between slices. */
  CTRL_RUN: 0,
  /** RunState of the machine. */
  STATE: 1,
  /** Exit status when STATE = EXITED ((v << 1) | 1, as QEMU's isa-debug-exit). */
  EXIT_STATUS: 2,
  /** Bumped once per run-loop slice: proof of life for the UI. */
  SLICE_SEQ: 3,
  /** Dirty generation: bumped whenever a tracked VRAM page becomes dirty, and on range or idle-state changes (the hypervisor writes it; an event-channel analogue). */
  DIRTY_GEN: 4,
  /** Idle drop enabled (1) or not (0), as the hypervisor sees it. */
  HV_IDLE_DROP: 5,
  /** 1 while the idle drop has write-protected the tracked range. */
  HV_DROPPED: 6,
  /** Trap mode (1) or not (0), as the hypervisor sees it: every write to the tracked range faults. */
  HV_TRAP: 7,
  // HV_IDLE_DROP, HV_DROPPED and HV_TRAP are the first display's (dirty-VRAM client 0, VramClient.DISPLAY);
  // every client's state is in HV_CLIENT_STATE below.
  /**
   * Per dirty-VRAM client k (VramClient, src/shared/api.ts), word HV_CLIENT_STATE + k: its state as
   * the hypervisor sees it, HV_CLIENT_* bits (tracking, idle drop on, dropped, trapping).
   */
  HV_CLIENT_STATE: 56,
  // 57–59: HV_CLIENT_STATE + 1 … + HV_CLIENT_SLOTS - 1.

  // The shared-memory hypercall channel (see src/shared/hypercall.ts): the ioemu's fast path to
  // trackDirtyVram, a one-slot request/response in this block plus the bitmap area, with a
  // doorbell word the worker waits on (Atomics.waitAsync) as Xen's event channel.
  /**
   * The worker's doorbell: bumped and notified by the main thread when it posts a hypercall
   * request and after every message it posts (RPC_SEQ). An idle worker blocks on this word.
   */
  HC_DOORBELL: 20,
  /** Sequence number of the posted request (the worker serves it when it differs from HC_RESP_SEQ). */
  HC_REQ_SEQ: 21,
  HC_REQ_FIRST_PFN: 22,
  HC_REQ_NR: 23,
  /** The dirty-VRAM client the request is for (VramClient). */
  HC_REQ_CLIENT: 60,
  /** Sequence number of the last request served; notified by the worker. */
  HC_RESP_SEQ: 24,
  /** 0 when served, else the ERRNO of the error (Xen's numbers: EINVAL = 22). */
  HC_RESP_ERRNO: 25,
  /**
   * Bumped by the main thread after every message it posts to the worker (then the doorbell is
   * rung): a worker blocked in an idle wait returns to its event loop to read the message.
   */
  RPC_SEQ: 26,
  /** Bumped by the worker for each byte of COM1 output it keeps for serialRead (so the page asks only when there is some). */
  SERIAL_SEQ: 27,

  // The page's doorbells (the event channel from the machine to the page). The worker bumps and
  // notifies a bell at the end of a slice in which what it announces moved, so a page with nothing
  // to do sleeps in Atomics.waitAsync instead of polling; a page may ring them itself to wake its
  // own waiter.
  /** Rung when DIRTY_GEN or VBE_GEN moved: the display has something to look at. */
  DISPLAY_BELL: 28,
  /** Rung when SERIAL_SEQ or STATE moved: COM1 output to read, or the machine stopped. */
  PAGE_BELL: 29,
  /**
   * How many per-second snapshots of the F64 block the worker has written into the seconds ring
   * (SECONDS_RING_OFFSET): entry n sits at slot n % SECONDS_RING_LEN.
   */
  SECONDS_SEQ: 30,
  /**
   * Bumped by the worker at each fault report it makes (a triple fault, a crash of ours): the page
   * reads the report (MachineApi.lastFault) when it moved, also when the machine reset itself
   * after a triple fault and runs on. Announced by the page bell.
   */
  FAULT_SEQ: 31,

  // Display state, written by the Bochs VBE device, read by the ioemu. VBE_GEN is bumped last on
  // every change, so a reader that sees the same VBE_GEN before and after reading the fields saw
  // one consistent state.
  /** Generation of the display state below (mode, geometry, offsets, palette). */
  VBE_GEN: 8,
  /** 1 when the VBE LFB mode is enabled; 0 means no graphics mode (the display shows blank). */
  VBE_ENABLED: 9,
  /** Visible width in pixels. */
  VBE_XRES: 10,
  /** Visible height in pixels. */
  VBE_YRES: 11,
  /** Bits per pixel: 8, 15, 16, 24 or 32. */
  VBE_BPP: 12,
  /** Bytes per scan line (virtual width × bytes per pixel). */
  VBE_LINE_BYTES: 13,
  /** Byte offset in VRAM of the first visible pixel (from X_OFFSET/Y_OFFSET). */
  VBE_START: 14,
  /** Virtual width and height (panning space). */
  VBE_VIRT_WIDTH: 15,
  VBE_VIRT_HEIGHT: 16,
  /** Guest-physical address of the VRAM BAR (PCI BAR0). */
  VBE_BAR0: 17,

  // The legacy VGA display (src/machine/devices/vga.ts), derived from its registers and written
  // under the same VBE_GEN seqlock; it describes what the screen shows while VBE_ENABLED is 0.
  // Offsets are VRAM byte offsets in the device's layout: plane p of plane address a lives at
  // VRAM byte a * 4 + p (see vga.ts).
  /** What the legacy display shows: a VgaMode (NONE when blanked, in a dispi mode or unsupported). */
  VGA_MODE: 32,
  /** The picture's size in pixels (text: columns × character width by the scan lines). */
  VGA_WIDTH: 33,
  VGA_HEIGHT: 34,
  /** VRAM byte offset of the first displayed character cell or pixel (CRTC start address × 4). */
  VGA_START: 35,
  /** VRAM bytes from one character row (text) or pixel row (graphics) to the next (CRTC offset × 8). */
  VGA_LINE_BYTES: 36,
  /** Text: character cell width (8 or 9 dots) and height (scan lines), columns and rows. */
  VGA_CHAR_WIDTH: 37,
  VGA_CHAR_HEIGHT: 38,
  VGA_COLS: 39,
  VGA_ROWS: 40,
  /** Text: the cursor's plane address (CRTC cursor location), or -1 when the cursor is off. */
  VGA_CURSOR: 41,
  /** Text: the cursor's first and last scan line in the cell. */
  VGA_CURSOR_START: 42,
  VGA_CURSOR_END: 43,
  /** Text: plane-2 addresses of character maps A (attribute bit 3 set) and B (sequencer reg 3). */
  VGA_FONT_A: 44,
  VGA_FONT_B: 45,
  /** Text: VGA_FLAG_* bits (blink, line graphics). */
  VGA_FLAGS: 46,
  /**
   * Graphics in the CRTC's CGA compatibility (modes 04h–06h): the VRAM address bit that odd pixel
   * lines set (their bank: 0x4000 in word mode, 0x8000 in byte mode); line y is memory row y >> 1
   * of bank y & 1. 0: rows follow one another (every other mode).
   */
  VGA_BANK_BIT: 47,
  /**
   * Words 52–55: 16 bytes, byte i = the DAC index a 4-bit pixel or text colour i shows (attribute
   * palette, colour plane enable and colour select applied), byte i in word 52 + (i >> 2) at bits (i & 3) * 8.
   */
  VGA_ATTR_MAP: 52,

  /** 256 palette entries for 8 bpp, each 0x00RRGGBB with 8-bit components (DAC 6-bit values scaled). */
  PALETTE: 64,
  PALETTE_ENTRIES: 256,

  /** Number of I32 words. */
  COUNT: 64 + 256,
} as const;

/** What the legacy VGA display shows (I32.VGA_MODE). */
export const VgaMode = {
  /** Nothing: blanked (screen off, palette address source clear), a dispi mode, or a mode not rendered. */
  NONE: 0,
  /** Alphanumeric: character cells (plane 0), attributes (plane 1), font (plane 2). */
  TEXT: 1,
  /** 16-colour planar graphics (modes 0Dh–12h): one bit per pixel in each of the four planes. */
  PLANAR16: 2,
  /** 256-colour graphics (mode 13h and its unchained forms): one byte per pixel, through the DAC. */
  LINEAR256: 3,
  /**
   * CGA 4-colour graphics (modes 04h/05h, the graphics controller's shift register interleave):
   * 2-bit pixels, four to a byte, most significant first, planes 0 then 1 (2 and 3 the high bits).
   */
  CGA4: 4,
} as const;
export type VgaMode = (typeof VgaMode)[keyof typeof VgaMode];

/** I32.VGA_FLAGS bits. */
export const VGA_FLAG_BLINK = 1;
export const VGA_FLAG_LINE_GRAPHICS = 2;

/** Words reserved for I32.HV_CLIENT_STATE + k: room for this many dirty-VRAM clients. */
export const HV_CLIENT_SLOTS = 4;
/** Bits of I32.HV_CLIENT_STATE + k. */
export const HV_CLIENT_TRACKING = 1;
export const HV_CLIENT_IDLE_DROP = 2;
export const HV_CLIENT_DROPPED = 4;
export const HV_CLIENT_TRAP = 8;

/** Float64 counters and times (ms for times), written by the worker. */
export const F64 = {
  /** Retired guest instructions (each REP iteration counts one). */
  INSTRUCTIONS: 0,
  /** Worker wall time spent running guest instructions, ms. */
  GUEST_MS: 1,
  /** Worker wall time the guest spent halted (HLT), ms. */
  IDLE_MS: 2,
  /** Worker wall time spent in dirty tracking (hypercalls, scans, second-stage faults, flushes), ms. */
  HV_MS: 3,
  /** Worker performance.now() when the counters were last published, ms. */
  PUBLISHED_AT_MS: 4,
  /** Machine clock (device time), ms since boot. */
  MACHINE_TIME_MS: 5,
  HV_HYPERCALLS: 6,
  HV_PAGES_SCANNED: 7,
  HV_PAGES_DIRTY: 8,
  HV_S2_FAULTS: 9,
  HV_TLB_INVALIDATED: 10,
  HV_IDLE_DROPS: 11,
  HV_REARMS: 12,
  /** Run-loop slices executed. */
  SLICES: 13,
  /** Worker wall time inside second-stage faults (part of HV_MS), ms: the guest's price of trap mode. */
  HV_FAULT_MS: 14,
  /** Interrupts delivered per IRQ line 0–15. */
  IRQ_COUNT: 16,
  /** Number of F64 slots. */
  COUNT: 32,
} as const;

/** Byte offset of the F64 block in the stats SAB (8-aligned). */
export const STATS_F64_OFFSET = I32.COUNT * 4;
/** Byte offset and size of the hypercall channel's bitmap (room for TRACK_DIRTY_VRAM_MAX_NR bits). */
export const HC_BITMAP_OFFSET = STATS_F64_OFFSET + F64.COUNT * 8;
export const HC_BITMAP_BYTES = 262_144 / 8;
/**
 * The seconds ring: once per second of its wall time the worker copies the whole F64 block into
 * the next slot (I32.SECONDS_SEQ counts them), so the meter can leave the main thread asleep for
 * seconds at a time and still report every second, from the worker's own figures.
 */
export const SECONDS_RING_OFFSET = HC_BITMAP_OFFSET + HC_BITMAP_BYTES;
export const SECONDS_RING_LEN = 64;
/** Total bytes of the stats/control SAB. */
export const STATS_BYTES = SECONDS_RING_OFFSET + SECONDS_RING_LEN * F64.COUNT * 8;

/** Typed views over the stats/control SAB, made the same way on both threads. */
export interface StatsViews {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** The hypercall channel's bitmap area. */
  readonly bitmap: Uint8Array;
  /** The seconds ring: SECONDS_RING_LEN snapshots of the F64 block, F64.COUNT values each. */
  readonly seconds: Float64Array;
}

export function statsViews(sab: SharedArrayBuffer | ArrayBuffer): StatsViews {
  return {
    i32: new Int32Array(sab, 0, I32.COUNT),
    f64: new Float64Array(sab, STATS_F64_OFFSET, F64.COUNT),
    bitmap: new Uint8Array(sab, HC_BITMAP_OFFSET, HC_BITMAP_BYTES),
    seconds: new Float64Array(sab, SECONDS_RING_OFFSET, SECONDS_RING_LEN * F64.COUNT),
  };
}
