/**
 * The PC engine: the CPU, the hypervisor's p2m and the devices, wired; a Multiboot kernel loaded
 * and entered. One slice runs the CPU in chunks until the host-time budget is spent, and turns
 * HLT, the exit port and triple faults into the run loop's outcomes and the stats block's state.
 */
import { ErrorCode, type ClockKind, type FaultReport } from '../shared/api';
import { F64, I32, PAGE_SHIFT, RunState, type StatsViews } from '../shared/layout';
import { IoBus, MmioBus, type InterruptController } from './bus';
import { Cpu, RunExit } from './cpu/cpu';
import type { Engine } from './engine';
import { P2M_R, P2M_W } from './hv/p2m';
import type { Hypervisor } from './hv/hypervisor';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from './boot/multiboot';
import { DebugPorts } from './devices/debug-ports';
import { Uart16550 } from './devices/uart16550';
import type { MachineMemory } from './memory';
import type { SliceOutcome } from './runloop';

/** Instructions per run() call: small enough to check the time budget often. */
const CHUNK = 20_000;
/** The icount clock's rate: one instruction = 10 ns of machine time (a nominal 100 MIPS). */
export const ICOUNT_INSTRUCTIONS_PER_MS = 100_000;
/** Without timer devices an idle guest is polled at this period. */
const IDLE_POLL_MS = 10;

export interface PcSinks {
  serial(byte: number): void;
  debugcon(byte: number): void;
  post(code: number): void;
}

/** A kernel the loader refused: the reason, for an EBADIMAGE result. */
export class BootError extends Error {
  readonly code = ErrorCode.EBADIMAGE;
}

export interface PcOptions {
  cmdline: string;
  clock: ClockKind;
  postPort?: number;
}

export class PcEngine implements Engine {
  readonly io = new IoBus();
  readonly mmio = new MmioBus();
  readonly cpu: Cpu;
  readonly uart: Uart16550;
  readonly debug: DebugPorts;
  fault: FaultReport | null = null;
  private bootWallMs = performance.now();
  private idleClockMs = 0;
  private readonly noInterrupts: InterruptController = { hasInterrupt: () => false, acknowledge: () => 0 };

  constructor(
    private readonly memory: MachineMemory,
    hv: Hypervisor,
    private readonly stats: StatsViews,
    private readonly image: ArrayBuffer,
    private readonly options: PcOptions,
    sinks: PcSinks,
  ) {
    this.cpu = new Cpu({
      memory,
      p2m: hv.p2m,
      io: this.io,
      mmio: this.mmio,
      pic: this.noInterrupts,
      s2: hv,
      tsc: () => this.machineTimeMs() * 1e6, // a 1 GHz time-stamp counter on the machine clock
    });
    hv.attachTlb(this.cpu.tlb);
    hv.p2m.map(0, 0, memory.layout.ramBytes >>> PAGE_SHIFT, P2M_R | P2M_W);
    this.uart = new Uart16550(sinks.serial);
    this.uart.register(this.io);
    this.debug = new DebugPorts(
      {
        debugcon: sinks.debugcon,
        post: sinks.post,
        exit: (status) => {
          Atomics.store(this.stats.i32, I32.EXIT_STATUS, status);
          this.finalState = RunState.EXITED;
          this.cpu.requestStop();
        },
      },
      options.postPort ?? 0x80,
    );
    this.debug.register(this.io);
    this.boot();
  }

  private finalState: RunState | null = null;

  private boot(): void {
    this.memory.u8.fill(0, 0, this.memory.layout.ramBytes);
    const r = loadMultiboot(this.image, this.memory, this.options.cmdline);
    if (!r.ok) throw new BootError(r.message);
    this.cpu.enterProtectedModeFlat(r.value.entry, { eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: r.value.info });
    this.finalState = null;
    this.fault = null;
    this.bootWallMs = performance.now();
    this.idleClockMs = 0;
  }

  reset(): void {
    this.uart.reset();
    this.debug.reset();
    this.boot();
  }

  machineTimeMs(): number {
    if (this.options.clock === 'icount') return this.cpu.instructions / ICOUNT_INSTRUCTIONS_PER_MS + this.idleClockMs;
    return performance.now() - this.bootWallMs;
  }

  runSlice(budgetMs: number, now: number): SliceOutcome {
    const f64 = this.stats.f64;
    for (;;) {
      const before = this.cpu.instructions;
      const exit = this.cpu.run(CHUNK);
      f64[F64.INSTRUCTIONS] += this.cpu.instructions - before;
      if (exit === RunExit.STOPPED || this.finalState !== null) return this.stop(this.finalState ?? RunState.EXITED);
      if (exit === RunExit.TRIPLE_FAULT) {
        this.fault = {
          reason: 'triple fault: the processor shut down and the machine was reset',
          trace: this.cpu.trace(16),
        };
        return this.stop(RunState.TRIPLE_FAULT);
      }
      if (exit === RunExit.HLT) {
        if (!this.cpu.interruptFlag) return this.stop(RunState.HALTED);
        // Halted with IF = 1: nothing can wake it but an interrupt. Sleep until the next poll.
        f64[F64.IDLE_MS] += IDLE_POLL_MS;
        if (this.options.clock === 'icount') this.idleClockMs += IDLE_POLL_MS;
        return { next: 'sleep', ms: IDLE_POLL_MS };
      }
      if (performance.now() - now >= budgetMs) return { next: 'continue' };
    }
  }

  private stop(state: RunState): SliceOutcome {
    Atomics.store(this.stats.i32, I32.STATE, state);
    return { next: 'stop' };
  }
}
