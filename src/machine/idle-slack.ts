/**
 * How much slack an idle machine's sleeps get (runloop.ts, IDLE_SLACK_MS): the worker's wake-ups
 * are most of an idle guest's cost, and a guest whose kernel ticks periodically (Debian's 686
 * Linux at 250 Hz: HZ_PERIODIC) asks to wake every 4 ms whether it has work or not.
 *
 * Attended or working: IDLE_SLACK_MS (50). Unattended and quiet: UNATTENDED_SLACK_MS (250), when
 *  - the guest has had no input (keys, serial) for ATTENDED_MS (10 s, GTK's cursor-blink timeout
 *    after which a desktop's text cursor stops blinking): someone typing sees a guest timer
 *    (`sleep 1; echo done`) fire within 50 ms of its time, and
 *  - over the last second the guest retired fewer than QUIET_INSTRUCTIONS_PER_S instructions and
 *    moved no display register (VBE_GEN: panning, a mode): an idle Linux at its prompt retires
 *    70–220 thousand a second (its tick and a blinking cursor), the toy guest's idle workloads
 *    under 10 thousand, while every moving scenario retires millions (the toy guest's sprite 2.0 M,
 *    its scroll 52 M; Linux's scrolling log and `top` 4–8 M; measured in Node, 2026-12-04). A
 *    guest that starts working gets the short slack back within a second, and one whose slice
 *    uses its whole budget sleeps without slack at once (IDLE_SETTLE_MS).
 *
 * The sleeps end on a grid of the slack in host time (idleSleepMs), so what a guest does on its
 * own timers keeps a steady beat, in steps of the slack: a timer re-armed every T ms is seen every
 * ceil(T / slack) × slack ms. fbcon's cursor is re-armed 51 jiffies (204 ms: the timer wheel
 * rounds up) after each toggle, so it toggles every 250 ms on both grids (every 400 ms on a 200-ms
 * grid, which is why the long slack is 250); the toy guest's 250-ms cursor and 1-s clock keep
 * their periods (Node, tracked VRAM at each wake-up, 2026-12-04).
 */
import { IDLE_SLACK_MS } from './runloop';

/** The slack once unattended and quiet, ms: a divisor of 1 s, and a step fbcon's 204-ms blink fits. */
export const UNATTENDED_SLACK_MS = 250;

/** Input within this long (host ms) keeps the short slack. */
export const ATTENDED_MS = 10_000;

/** More instructions than this over the last second: the guest is working, not idle. */
export const QUIET_INSTRUCTIONS_PER_S = 1_000_000;

export class IdleSlack {
  private inputAt = -Infinity;
  private quiet = false;
  private windowAt = -Infinity;
  private instructions0 = 0;
  private vbeGen0 = 0;

  /** The guest was given input (a key, serial bytes) at host time now. */
  input(now: number): void {
    this.inputAt = now;
  }

  /**
   * After each slice: the machine's running instruction count and VBE_GEN. Once a second (host
   * time) this says whether the second just ended was quiet.
   */
  observe(now: number, instructions: number, vbeGen: number): void {
    const elapsed = now - this.windowAt;
    if (elapsed < 1000) return;
    // The first call only starts the window (windowAt was -Infinity: elapsed is Infinity).
    this.quiet =
      elapsed !== Infinity &&
      ((instructions - this.instructions0) * 1000) / elapsed < QUIET_INSTRUCTIONS_PER_S &&
      vbeGen === this.vbeGen0;
    this.windowAt = now;
    this.instructions0 = instructions;
    this.vbeGen0 = vbeGen;
  }

  /** The idle sleep's slack at host time now, ms. */
  slackMs(now: number): number {
    return this.quiet && now - this.inputAt >= ATTENDED_MS ? UNATTENDED_SLACK_MS : IDLE_SLACK_MS;
  }
}
