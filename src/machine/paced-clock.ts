/**
 * The wall clock as a guest sees it: real time, advanced by the instructions the CPU retires.
 *
 * Reading performance.now() for every PIT or TSC read gave a guest a clock that stands still
 * between host timer ticks (5 µs in a cross-origin-isolated page) and leaps across every slice
 * boundary and host stall. Linux's PIT calibration of the TSC (arch/x86/kernel/tsc.c) rejects
 * exactly that: it loops reading port 61h and the TSC and gives up when one iteration took ten
 * times the shortest one, or when two reads gave the same TSC. Here machine time moves by a fixed
 * step per instruction, so every read differs and equal work takes equal time; the step follows
 * the host's measured speed, slewed so that machine time catches up with the wall (at most twice
 * or half the host's pace, as NTP slews rather than steps). Only a halted CPU (it measures
 * nothing while it sleeps) or a lag past MAX_LAG_MS (the page was paused or the worker stalled)
 * makes machine time step to the wall.
 */

/**
 * Lag past which machine time steps to the wall instead of slewing, ms: a paused page or a host
 * that stopped the worker for a second; shorter stalls (a GC, a busy machine) are slewed away.
 */
export const MAX_LAG_MS = 1000;
/** The wall time over which a lag is made up by slewing, ms. */
const SLEW_MS = 20;
/** The first guess of the host's pace before any measurement: 100 instructions per µs. */
const INITIAL_MS_PER_INSTRUCTION = 1e-5;

export class PacedWallClock {
  private baseMs = 0;
  private baseInstructions: number;
  private msPerInstruction = INITIAL_MS_PER_INSTRUCTION;
  /** The host's pace, smoothed (wall ms per retired instruction). */
  private hostMsPerInstruction = INITIAL_MS_PER_INSTRUCTION;
  private lastWall: number;
  private lastInstructions: number;
  /** The wall time that is machine time 0. */
  private readonly origin: number;

  constructor(
    private readonly instructions: () => number,
    private readonly wallMs: () => number = () => performance.now(),
  ) {
    this.origin = this.wallMs();
    this.baseInstructions = this.lastInstructions = this.instructions();
    this.lastWall = this.origin;
  }

  /** Machine time, ms since the clock began: strictly increasing with every retired instruction. */
  now(): number {
    return this.baseMs + (this.instructions() - this.baseInstructions) * this.msPerInstruction;
  }

  /** The wall's time on the machine's scale. */
  private wall(): number {
    return this.wallMs() - this.origin;
  }

  /**
   * Between runs of instructions (a chunk): measure the host's pace and set the step so that
   * machine time heads for the wall; step to the wall when the lag is past MAX_LAG_MS.
   */
  resync(): void {
    const t = this.now();
    const wall = this.wall();
    const n = this.instructions();
    const ran = n - this.lastInstructions;
    if (ran >= 1000) {
      const pace = (wall + this.origin - this.lastWall) / ran;
      // Smoothed, and no more than 1.5× either way per measurement: one host hiccup (a GC, a
      // de-scheduled worker) must not make one stretch of guest code look ten times slower.
      const bounded = Math.min(this.hostMsPerInstruction * 1.5, Math.max(this.hostMsPerInstruction / 1.5, pace));
      this.hostMsPerInstruction = 0.75 * this.hostMsPerInstruction + 0.25 * bounded;
      this.lastWall = wall + this.origin;
      this.lastInstructions = n;
    }
    const lag = wall - t;
    if (lag > MAX_LAG_MS) return this.stepTo(wall);
    this.baseMs = t;
    this.baseInstructions = n;
    // The step moves by at most a quarter per chunk, so that equal work keeps taking nearly equal
    // time across chunks (Linux compares loop iterations: none may take ten times another).
    const target = this.hostMsPerInstruction * Math.min(2, Math.max(0.5, 1 + lag / SLEW_MS));
    this.msPerInstruction = Math.min(this.msPerInstruction * 1.25, Math.max(this.msPerInstruction / 1.25, target));
  }

  /** The CPU halted (or sat paused): machine time steps forward to the wall, never back. */
  stepToWall(): void {
    this.stepTo(Math.max(this.wall(), this.now()));
  }

  private stepTo(ms: number): void {
    this.baseMs = ms;
    this.baseInstructions = this.instructions();
    this.lastWall = this.wallMs();
    this.lastInstructions = this.baseInstructions;
  }
}
