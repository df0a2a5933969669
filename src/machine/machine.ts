import {
  checkCdromImage,
  checkConfig,
  isVramClient,
  VramClient,
  err,
  ErrorCode,
  ok,
  type FaultReport,
  type HdaImage,
  type HdaState,
  type MachineConfig,
  type MachineHandles,
  type Result,
  type StatsSnapshot,
} from '../shared/api';
import {
  F64,
  I32,
  PAGE_SHIFT,
  RunState,
  SECONDS_RING_LEN,
  STATS_BYTES,
  VRAM_BAR_DEFAULT,
  statsViews,
  type StatsViews,
} from '../shared/layout';
import type { Engine } from './engine';
import { Hypervisor } from './hv/hypervisor';
import { MachineMemory } from './memory';
import { PatternEngine } from './pattern';
import {
  blobRangeFetch,
  RangeMedium,
  xhrRangeFetch,
  type BlockMedium,
  type SyncBlobReader,
} from './devices/block-medium';
import { BootError, ConfigError, PcEngine } from './pc';
import { IdleSlack } from './idle-slack';
import { RunLoop, defaultYielder, type SliceOutcome, type Yielder } from './runloop';
import { listenForHypercalls, serveHypercall } from '../shared/hypercall';

/** The page's bells and the words each announces (src/shared/layout.ts). */
const BELLS = [
  { bell: I32.DISPLAY_BELL, words: [I32.DIRTY_GEN, I32.VBE_GEN] },
  { bell: I32.PAGE_BELL, words: [I32.SERIAL_SEQ, I32.STATE, I32.FAULT_SEQ] },
] as const;

/**
 * A triple fault sooner than this (host ms) after the reset that followed the last one: the guest
 * is in a reboot loop, which shows nothing new at full speed, so the machine stops instead.
 */
export const REBOOT_LOOP_MS = 1000;

/** Host time per slice: short enough that RPCs are served within about one slice. */
export const SLICE_MS = 4;

/**
 * A slice of a kernel that overran SLICE_MS with fewer instructions retired than this was stalled,
 * not busy (SliceOutcome's `stalled`): 4 ms at 5 MIPS, below the slowest cold code measured (idle
 * Linux's wake-ups, ~8 MIPS). An idle Linux's wake-up retires 5,000–7,000; one that a garbage
 * collection or the host interrupted used to count as busy and turned the idle sleep's slack off
 * for IDLE_SETTLE_MS: bench:idle saw a still prompt at 43 wake-ups a second instead of 20 (2.26 %
 * of a core against 1.57 % in the next run).
 */
export const BUSY_SLICE_MIN_INSTRUCTIONS = 20_000;

/** Whether a slice that ran `ms` of host time and retired `instructions` ended because it was stalled. */
export function stalledSlice(instructions: number, ms: number): boolean {
  return ms >= SLICE_MS && instructions < BUSY_SLICE_MIN_INSTRUCTIONS;
}

/** The outcome of a stalled slice (shared: the run loop only reads it). */
const CONTINUE_STALLED: SliceOutcome = Object.freeze({ next: 'continue', stalled: true });

/**
 * A whole machine: memory, stats/control block, engine and run loop. No DOM and no worker
 * globals: the same class runs in the browser worker (behind comlink) and in Node (tests, CLI).
 */
/**
 * The disk image named by config.hdaUrl, opened for reads by ranges (its first chunk and size
 * fetched now): a BootError that names the URL and the reason when it cannot be a disk.
 */
function openHdaUrl(url: string): BlockMedium {
  if (typeof XMLHttpRequest === 'undefined')
    throw new BootError(`hdaUrl ${url}: reading a disk image by URL needs XMLHttpRequest (the browser's worker)`);
  try {
    return RangeMedium.open(xhrRangeFetch(url));
  } catch (e) {
    throw new BootError(`hdaUrl ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The disk image the user picked (config.hdaFile), opened for reads by slices through the
 * worker's FileReaderSync: a BootError that says why when it cannot be a disk.
 */
function openHdaFile(file: Blob): BlockMedium {
  const Reader = (globalThis as { FileReaderSync?: new () => SyncBlobReader }).FileReaderSync;
  if (Reader === undefined)
    throw new BootError("hdaFile: reading a picked disk image needs FileReaderSync (the browser's worker)");
  try {
    return RangeMedium.open(blobRangeFetch(file, new Reader()));
  } catch (e) {
    throw new BootError(`hdaFile: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class Machine {
  readonly memory: MachineMemory;
  readonly statsSab: SharedArrayBuffer;
  readonly stats: StatsViews;
  /** The hypervisor: p2m, dirty-VRAM tracking, second-stage faults (the engine's CPU calls into it). */
  readonly hv: Hypervisor;
  private readonly engine: Engine;
  /** Host time spent running slices, ms: the machine clock of an engine without one. */
  private runningMs = 0;
  private readonly loop: RunLoop;
  private serialOut = '';
  /** The PC engine when the machine runs a kernel (null for the test pattern). */
  pc: PcEngine | null = null;
  /** Host sinks for headless runs (the CLI); the worker collects serial output for serialRead. */
  onSerial: ((byte: number) => void) | null = null;
  onDebugcon: ((byte: number) => void) | null = null;
  onPost: ((code: number) => void) | null = null;

  private appendOut(byte: number): void {
    if (this.onSerial) this.onSerial(byte);
    else if (this.serialOut.length < 1 << 20) {
      this.serialOut += String.fromCharCode(byte);
      Atomics.add(this.stats.i32, I32.SERIAL_SEQ, 1);
    }
  }
  private fault: FaultReport | null = null;

  private constructor(
    readonly config: MachineConfig,
    image: ArrayBuffer,
    yielder: Yielder,
  ) {
    this.memory = new MachineMemory(config.ramMiB, config.vramMiB);
    this.statsSab = new SharedArrayBuffer(STATS_BYTES);
    this.stats = statsViews(this.statsSab);
    this.hv = new Hypervisor({ layout: this.memory.layout, stats: this.stats, now: this.machineTimeMs });
    this.hv.setVramBar(VRAM_BAR_DEFAULT >>> PAGE_SHIFT);
    this.engine = this.makeEngine(image);
    this.loop = new RunLoop(
      this.slice,
      yielder,
      yielder.mayBlock ? this.idleWait : null,
      this.idleSlackMs,
      yielder.mayBlock ? this.messageWaiting : null,
    );
    Atomics.store(this.stats.i32, I32.STATE, RunState.PAUSED);
  }

  /** Build a machine from an unchecked config; every rejection is a Result, never a throw. */
  static create(config: unknown, image: ArrayBuffer, yielder?: Yielder): Result<Machine> {
    const c = checkConfig(config);
    if (!c.ok) return c;
    if (!(image instanceof ArrayBuffer)) return err(ErrorCode.EINVAL, 'image must be an ArrayBuffer');
    try {
      return ok(new Machine(c.value, image, yielder ?? defaultYielder()));
    } catch (e) {
      if (e instanceof BootError) return err(ErrorCode.EBADIMAGE, e.message);
      if (e instanceof ConfigError) return err(ErrorCode.EINVAL, e.message);
      throw e;
    }
  }

  private makeEngine(image: ArrayBuffer): Engine {
    if (this.config.image === 'multiboot' || this.config.image === 'firmware') {
      const pc = new PcEngine(
        this.memory,
        this.hv,
        this.stats,
        image.slice(0),
        {
          kind: this.config.image,
          cmdline: this.config.cmdline,
          initrd: this.config.initrd,
          modules: this.config.modules,
          clock: this.config.clock,
          postPort: this.config.postPort,
          debugconPort: this.config.debugconPort,
          vgaBios: this.config.vgaBios,
          optionRoms: this.config.optionRoms,
          hda:
            this.config.hda ??
            (this.config.hdaUrl !== undefined
              ? openHdaUrl(this.config.hdaUrl)
              : this.config.hdaFile !== undefined
                ? openHdaFile(this.config.hdaFile)
                : undefined),
          cdrom: this.config.cdrom,
          boot: this.config.boot,
          kernel: this.config.kernel,
          kernelUnpack: this.config.kernelUnpack,
        },
        {
          serial: (b) => this.appendOut(b),
          debugcon: (b) => this.onDebugcon?.(b),
          post: (code) => this.onPost?.(code),
        },
      );
      this.pc = pc;
      return pc;
    }
    return new PatternEngine(this.memory, this.stats, (offset, length) => this.hv.markVramWritten(offset, length));
  }

  /** Machine time, ms: the engine's clock if it has one (wall or icount), else host time spent running. */
  readonly machineTimeMs = (): number => this.engine?.machineTimeMs?.() ?? this.runningMs;

  get handles(): MachineHandles {
    return { memory: this.memory.sab, stats: this.statsSab, layout: this.memory.layout };
  }

  get state(): RunState {
    return Atomics.load(this.stats.i32, I32.STATE) as RunState;
  }

  start(): Result<void> {
    const s = this.state;
    if (s !== RunState.PAUSED && s !== RunState.RUNNING)
      return err(ErrorCode.ESTATE, `cannot start a machine in state ${s}; reset it first`);
    Atomics.store(this.stats.i32, I32.CTRL_RUN, 1);
    Atomics.store(this.stats.i32, I32.STATE, RunState.RUNNING);
    this.ringBells();
    this.loop.start();
    return ok(undefined);
  }

  pause(): Result<void> {
    this.loop.pause();
    this.sleepingSince = null;
    Atomics.store(this.stats.i32, I32.CTRL_RUN, 0);
    if (this.state === RunState.RUNNING) Atomics.store(this.stats.i32, I32.STATE, RunState.PAUSED);
    this.ringBells();
    return ok(undefined);
  }

  reset(): Result<void> {
    const wasRunning = this.loop.isRunning;
    this.loop.pause();
    this.hv.reset();
    this.engine.reset();
    this.fault = null;
    Atomics.store(this.stats.i32, I32.STATE, RunState.PAUSED);
    this.ringBells();
    return wasRunning ? this.start() : ok(undefined);
  }

  /** Stop the loop and release its resources (the machine cannot run again). */
  destroy(): void {
    this.loop.close();
    this.stopListening?.();
    this.stopListening = null;
  }

  private stopListening: (() => void) | null = null;
  /** When the last slice ended in an HLT sleep (wall clock), the performance.now() it began. */
  private sleepingSince: number | null = null;

  /** Serve the shared-memory hypercall channel (src/shared/hypercall.ts) if a request is posted. */
  serveHypercalls(): boolean {
    if (!serveHypercall(this.stats, (first, nr, client) => this.trackDirtyVram(first, nr, client))) return false;
    // What the call moved (DIRTY_GEN when the idle drop engaged, or the range changed) rings its
    // bell with the answer, wherever the call was served (the idle wait, the event loop's listener
    // while paused or between slices, before a slice): the display has seen the move in its
    // answer, and a ring left for a later slice's end woke it again after it had gone to sleep.
    this.ringBells();
    return true;
  }

  /** Serve the channel whenever its doorbell rings, in every run state (the worker entry calls this). */
  listenForHypercalls(): void {
    this.stopListening ??= listenForHypercalls(this.stats, () => this.serveHypercalls());
  }

  /** RPC_SEQ as of the last return to the event loop (messages up to it have been read). */
  private rpcSeen = 0;

  /**
   * The run loop's blocking idle wait (browser worker): wait on the doorbell for up to ms, and say
   * whether a message needs the event loop. A hypercall that rings it is served here and the wait
   * goes on: the ioemu's calls (a refresh after the guest drew) do not wake the guest off its
   * sleep's grid (each such wake-up ran the guest's due tick on cold caches: 3 of the 7 a second
   * of a blinking Linux prompt left alone).
   */
  private readonly idleWait = (ms: number): boolean => {
    const i32 = this.stats.i32;
    const end = performance.now() + ms;
    for (;;) {
      const bell = Atomics.load(i32, I32.HC_DOORBELL);
      // A message posted before the doorbell was read rang it before too: look before waiting.
      if (Atomics.load(i32, I32.RPC_SEQ) !== this.rpcSeen) return this.messageWaiting();
      if (this.serveHypercalls()) continue;
      const left = end - performance.now();
      if (left <= 0) return false;
      Atomics.wait(i32, I32.HC_DOORBELL, bell, left);
    }
  };

  /** The run loop's question between busy slices (browser worker): has a message been posted since it last asked? */
  private readonly messageWaiting = (): boolean => {
    const rpc = Atomics.load(this.stats.i32, I32.RPC_SEQ);
    if (rpc === this.rpcSeen) return false;
    this.rpcSeen = rpc;
    return true;
  };

  /** One slice, callable directly from Node tests; the run loop calls it between yields. */
  readonly slice = (): SliceOutcome => {
    const t0 = performance.now();
    const f64 = this.stats.f64;
    const hvMs0 = f64[F64.HV_MS];
    let outcome: SliceOutcome;
    if (this.sleepingSince !== null) {
      // The wall time the machine really slept in HLT (a timer may fire late; never what was asked).
      f64[F64.IDLE_MS] += t0 - this.sleepingSince;
      this.sleepingSince = null;
    }
    this.serveHypercalls();
    const instructions0 = f64[F64.INSTRUCTIONS];
    try {
      outcome = this.engine.runSlice(SLICE_MS, t0);
    } catch (e) {
      // A host exception inside the machine is a bug of ours: report it, never let it escape.
      this.report({ reason: `internal error: ${String(e)}`, trace: [] });
      Atomics.store(this.stats.i32, I32.STATE, RunState.CRASHED);
      outcome = { next: 'stop' };
    }
    if (outcome.next === 'stop' && this.state === RunState.TRIPLE_FAULT) outcome = this.tripleFault(outcome);
    const t1 = performance.now();
    if (outcome.next === 'continue' && this.pc && stalledSlice(f64[F64.INSTRUCTIONS] - instructions0, t1 - t0))
      outcome = CONTINUE_STALLED;
    if (outcome.next === 'sleep' && this.config.clock === 'wall') this.sleepingSince = t1;
    this.runningMs += t1 - t0;
    // Second-stage faults taken inside the slice are hypervisor time, not guest time.
    f64[F64.GUEST_MS] += t1 - t0 - (f64[F64.HV_MS] - hvMs0);
    f64[F64.MACHINE_TIME_MS] = this.machineTimeMs();
    f64[F64.SLICES]++;
    f64[F64.PUBLISHED_AT_MS] = t1;
    Atomics.add(this.stats.i32, I32.SLICE_SEQ, 1);
    if (t1 >= this.nextSecondMs) this.publishSecond(t1);
    this.slack.observe(t1, f64[F64.INSTRUCTIONS], Atomics.load(this.stats.i32, I32.VBE_GEN));
    this.ringBells();
    return outcome;
  };

  /** The idle sleeps' slack: short while someone types or the guest works (idle-slack.ts). */
  private readonly slack = new IdleSlack();

  /** The run loop's slack for an idle sleep now, ms (IdleSlack; bench:idle's Node loop asks it too). */
  readonly idleSlackMs = (): number => this.slack.slackMs(performance.now());

  /** When the machine last reset itself after a triple fault (host ms), or null. */
  private shutdownResetAt: number | null = null;

  /** Make a fault report: lastFault() returns it, and I32.FAULT_SEQ tells the page. */
  private report(fault: FaultReport): void {
    this.fault = fault;
    Atomics.add(this.stats.i32, I32.FAULT_SEQ, 1);
  }

  /**
   * The engine stopped on a triple fault (its CPU already back at its reset state): report it,
   * and with `tripleFault: 'reset'` reset the whole machine (devices, p2m, the kernel loaded
   * again) and run on, as a PC does after the processor's shutdown cycle — unless the last such
   * reset was less than REBOOT_LOOP_MS ago: then it stops, in state TRIPLE_FAULT.
   */
  private tripleFault(stop: SliceOutcome): SliceOutcome {
    const trace = this.pc?.fault?.trace ?? [];
    const now = performance.now();
    const loop = this.shutdownResetAt !== null && now - this.shutdownResetAt < REBOOT_LOOP_MS;
    if (this.config.tripleFault !== 'reset' || loop) {
      this.report({
        reason: loop
          ? `triple fault: the processor shut down again within ${REBOOT_LOOP_MS / 1000} s of the last reset, and the machine stopped (a reboot loop)`
          : 'triple fault: the processor shut down and the machine stopped',
        trace,
      });
      return stop;
    }
    this.report({ reason: 'triple fault: the processor shut down and the machine was reset', trace });
    this.shutdownResetAt = now;
    this.hv.reset();
    this.engine.reset();
    Atomics.store(this.stats.i32, I32.STATE, RunState.RUNNING);
    return { next: 'continue' };
  }

  /** When the next entry of the seconds ring is due (worker wall time). */
  private nextSecondMs = -Infinity;

  /**
   * Copy the F64 block into the seconds ring (layout.ts, SECONDS_RING_OFFSET): the end of the first
   * slice in each second. An idle guest runs a slice at every timer tick, so entries are at most a
   * tick late, and each carries PUBLISHED_AT_MS: the meter's windows stay exact.
   */
  private publishSecond(now: number): void {
    const { i32, f64, seconds } = this.stats;
    const n = Atomics.load(i32, I32.SECONDS_SEQ);
    seconds.set(f64, (n % SECONDS_RING_LEN) * F64.COUNT);
    Atomics.store(i32, I32.SECONDS_SEQ, n + 1);
    // On a one-second grid; after a pause (no slices), a new grid from now.
    this.nextSecondMs = this.nextSecondMs + 1000 > now ? this.nextSecondMs + 1000 : now + 1000;
  }

  /** What the page's bells last announced: for each bell, the words it stands for, as they were. */
  private readonly announced = BELLS.map((b) => new Int32Array(b.words.length));

  /**
   * Ring the page's doorbells (I32.DISPLAY_BELL, I32.PAGE_BELL) for what moved since they last
   * rang: once per slice at most, so a page that sleeps until something happens (the display in
   * the dirty modes, the console) is woken within a slice of a guest write or output, and never
   * when nothing happened. Notifying a bell nobody waits on costs next to nothing.
   */
  private ringBells(): void {
    const i32 = this.stats.i32;
    // Indexed loops, not forEach: its closures were heap allocations in every slice of an idle guest.
    for (let k = 0; k < BELLS.length; k++) {
      const { bell, words } = BELLS[k];
      const last = this.announced[k];
      let moved = false;
      for (let j = 0; j < words.length; j++) {
        const v = Atomics.load(i32, words[j]);
        if (v !== last[j]) moved = true;
        last[j] = v;
      }
      if (!moved) continue;
      Atomics.add(i32, bell, 1);
      Atomics.notify(i32, bell);
    }
  }

  sendScancodes(bytes: unknown): Result<void> {
    if (!Array.isArray(bytes) || bytes.length > 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xff))
      return err(ErrorCode.EINVAL, 'scancodes must be an array of at most 64 bytes');
    if (!this.pc) return err(ErrorCode.ENOSYS, 'the test pattern has no keyboard');
    this.pc.kbc.sendScancodes(bytes as number[]);
    this.slack.input(performance.now());
    return ok(undefined);
  }

  serialWrite(text: unknown): Result<void> {
    if (typeof text !== 'string' || text.length > 65536)
      return err(ErrorCode.EINVAL, 'serial input must be a string of at most 65536 characters');
    if (!this.pc) return err(ErrorCode.ENOSYS, 'the test pattern has no UART');
    this.pc.uart.receive(Array.from(text, (ch) => ch.charCodeAt(0) & 0xff));
    this.slack.input(performance.now());
    return ok(undefined);
  }

  serialRead(): Result<string> {
    const s = this.serialOut;
    this.serialOut = '';
    return ok(s);
  }

  statsSnapshot(): StatsSnapshot {
    const { i32, f64 } = this.stats;
    return {
      state: this.state,
      exitStatus: Atomics.load(i32, I32.EXIT_STATUS),
      instructions: f64[F64.INSTRUCTIONS],
      guestMs: f64[F64.GUEST_MS],
      idleMs: f64[F64.IDLE_MS],
      hvMs: f64[F64.HV_MS],
      machineTimeMs: f64[F64.MACHINE_TIME_MS],
      slices: f64[F64.SLICES],
    };
  }

  /**
   * HVMOP_track_dirty_vram: see Hypervisor.trackDirtyVram and DESIGN.md. The hypervisor checks the
   * arguments (their types, the client, Xen's range rules): once, for every way in.
   */
  trackDirtyVram(firstPfn: unknown, nr: unknown, client: unknown = VramClient.DISPLAY): Result<Uint8Array> {
    return this.hv.trackDirtyVram(firstPfn as number, nr as number, client as VramClient);
  }

  setIdleDrop(on: unknown, client: unknown = VramClient.DISPLAY): Result<void> {
    if (typeof on !== 'boolean') return err(ErrorCode.EINVAL, 'setIdleDrop takes a boolean');
    if (!isVramClient(client)) return err(ErrorCode.EINVAL, `no dirty-VRAM client ${String(client)}`);
    this.hv.setIdleDrop(on, client);
    return ok(undefined);
  }

  setTrapWrites(on: unknown, client: unknown = VramClient.DISPLAY): Result<void> {
    if (typeof on !== 'boolean') return err(ErrorCode.EINVAL, 'setTrapWrites takes a boolean');
    if (!isVramClient(client)) return err(ErrorCode.EINVAL, `no dirty-VRAM client ${String(client)}`);
    this.hv.setTrapWrites(on, client);
    return ok(undefined);
  }

  /**
   * The primary IDE disk (hda) as the guest has left it: a copy of the medium, and whether the
   * guest wrote to it since the machine was created. Null without a disk.
   */
  hdaImage(): HdaImage | null {
    const disk = this.pc?.ide.hda;
    // A lazily read image's unread chunks are read now (MediumError if the server fails them).
    return disk ? { image: disk.image.buffer as ArrayBuffer, written: disk.dirty } : null;
  }

  /** The primary IDE disk without its bytes: written or not, bytes fetched by ranges; null without a disk. */
  hdaState(): HdaState | null {
    const disk = this.pc?.ide.hda;
    if (!disk) return null;
    const m = disk.medium;
    return {
      written: disk.dirty,
      bytesFetched: m instanceof RangeMedium ? m.bytesFetched : null,
      byteLength: m.byteLength,
    };
  }

  /**
   * Put an ISO image in the CD-ROM drive (null: take the disc out, the tray left open) while the
   * machine runs; the drive tells the guest (atapi.ts). The drive reads the buffer it is given.
   */
  changeCdrom(image: unknown): Result<void> {
    const drive = this.pc?.ide.cdrom;
    if (!drive) return err(ErrorCode.ESTATE, 'the machine has no CD-ROM drive (create it with config.cdrom)');
    if (image === null) {
      drive.eject();
      return ok(undefined);
    }
    if (!(image instanceof ArrayBuffer))
      return err(ErrorCode.EINVAL, 'changeCdrom takes an ArrayBuffer (an ISO image) or null');
    const why = checkCdromImage(image.byteLength);
    if (why) return err(ErrorCode.EINVAL, `the CD image ${why}`);
    drive.insert(new Uint8Array(image));
    return ok(undefined);
  }

  lastFault(): FaultReport | null {
    return this.fault ?? this.pc?.fault ?? null;
  }
}
