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
 * or half the host's pace, as NTP slews rather than steps). A halted CPU (it measures nothing
 * while it sleeps) steps machine time toward the wall, but never past the next device deadline
 * the engine names that must come at its own time: a periodic timer edge is never skipped, so a
 * guest counting PIT ticks (Linux's jiffies, the watchdog that checks its TSC against them) sees
 * every one, as KVM's PIT reinjects ticks a busy host delayed; a one-shot count that fell due
 * while the CPU slept fires late instead (Device.nextStrictDeadlineMs). A lag past MAX_LAG_MS (the page was paused, the worker stalled) is not made
 * up at all: the guest does not see that time, as a QEMU guest does not see the time its VM was
 * stopped (its virtual clock stands still), and nothing has to be replayed.
 */

/**
 * Lag past which the wall's lead is dropped instead of slewed away, ms: a paused page or a host
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
  /** The wall time that is machine time 0, moved forward by every lag dropped (see MAX_LAG_MS). */
  private origin: number;
  /** The wall time dropped so far (pauses, stalls past MAX_LAG_MS), ms. */
  droppedMs = 0;

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

  /** Machine time a further instruction adds at the current step, ms. */
  get stepMs(): number {
    return this.msPerInstruction;
  }

  /**
   * Between runs of instructions (a chunk): measure the host's pace and set the step so that
   * machine time heads for the wall; a lag past MAX_LAG_MS is dropped.
   */
  resync(): void {
    const t = this.now();
    if (this.dropLongLag(t)) return;
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
    this.baseMs = t;
    this.baseInstructions = n;
    // The step moves by at most a quarter per chunk, so that equal work keeps taking nearly equal
    // time across chunks (Linux compares loop iterations: none may take ten times another).
    const target = this.hostMsPerInstruction * Math.min(2, Math.max(0.5, 1 + lag / SLEW_MS));
    this.msPerInstruction = Math.min(this.msPerInstruction * 1.25, Math.max(this.msPerInstruction / 1.25, target));
  }

  /**
   * The CPU halted: machine time steps forward to the wall, never back, and never past `limitMs`
   * (the next device deadline: the engine delivers it and the guest runs before time goes on).
   */
  stepToWall(limitMs = Infinity): void {
    const t = this.now();
    if (this.dropLongLag(t)) return;
    this.stepTo(Math.max(t, Math.min(this.wall(), limitMs)));
  }

  /** A lag past MAX_LAG_MS: the wall's lead is dropped, machine time goes on from where it is. */
  private dropLongLag(t: number): boolean {
    const lag = this.wall() - t;
    if (lag <= MAX_LAG_MS) return false;
    this.origin += lag;
    this.droppedMs += lag;
    this.stepTo(t);
    return true;
  }

  private stepTo(ms: number): void {
    this.baseMs = ms;
    this.baseInstructions = this.instructions();
    this.lastWall = this.wallMs();
    this.lastInstructions = this.baseInstructions;
  }
}
