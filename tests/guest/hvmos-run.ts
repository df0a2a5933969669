/**
 * Booting hvmos headless for the tests: the Node Machine with the icount clock (deterministic), a
 * command line, and helpers to run to a guest time or to the end and read COM1.
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { I32, RunState } from '../../src/shared/layout';

export const HVMOS_PATH = 'public/guest/hvmos.elf';
/** The status the exit port gives for a value v written to port 0xF4. */
export const exitStatus = (v: number): number => ((v << 1) | 1) & 0xff;
/** hvmos's exit codes (guest/hvmos/hvmos.h). */
export const EXIT_OK = 0x00;
export const EXIT_EXCEPTION = 0x40;
export const EXIT_BAD_MODE = 0x22;

export class Guest {
  readonly m: Machine;
  serial = '';

  constructor(cmdline: string) {
    const b = readFileSync(HVMOS_PATH);
    const image = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    const r = Machine.create(
      { ramMiB: 32, vramMiB: 8, cmdline, clock: 'icount', image: 'multiboot' },
      image,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    this.m = r.value;
    this.m.onSerial = (byte) => (this.serial += String.fromCharCode(byte));
  }

  get state(): RunState {
    return Atomics.load(this.m.stats.i32, I32.STATE) as RunState;
  }
  get status(): number {
    return Atomics.load(this.m.stats.i32, I32.EXIT_STATUS);
  }

  /**
   * Runs until the machine stops or its clock reaches ms (guest time); true if it stopped. On the
   * icount clock an idle guest covers seconds of guest time in one host-timed slice, so this runs
   * the engine with a zero host budget: one chunk (at most up to the next timer edge) at a time.
   */
  runUntil(ms: number): boolean {
    const pc = this.m.pc;
    if (!pc) throw new Error('not a PC machine');
    while (this.m.machineTimeMs() < ms) if (pc.runSlice(0, performance.now()).next === 'stop') return true;
    return false;
  }

  /** Runs to the end; the state must be EXITED (a triple fault or crash is reported with the trace). */
  runToExit(onSlice?: () => void): number {
    for (let i = 0; i < 1_000_000 && this.m.slice().next !== 'stop'; i++) onSlice?.();
    if (this.state !== RunState.EXITED)
      throw new Error(`the guest stopped in state ${this.state}: ${this.m.lastFault()?.reason ?? ''}\n${this.serial}`);
    return this.status;
  }

  destroy(): void {
    this.m.destroy();
  }
}
