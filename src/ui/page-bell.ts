/** The page bell's watcher: COM1 output and run-state changes wake the page, no polling. */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { I32 } from '../shared/layout';

/**
 * The page's side of the machine's page bell (I32.PAGE_BELL): the worker rings it at the end of a
 * slice in which COM1 output arrived or the run state changed, and this controller then runs
 * `onRing` (drain COM1, notice a stopped machine) — instead of asking four times a second whether
 * anything happened, which woke the main thread whether or not it had. `onRing` also runs once
 * when a machine is first watched. Output that streams is read at most every `minGapMs`.
 */
export class PageBellController implements ReactiveController {
  private i32: Int32Array | null = null;
  /** Bumped to end a watch loop (a new machine, or the host went away). */
  private epoch = 0;

  constructor(
    host: ReactiveControllerHost,
    private readonly onRing: () => Promise<void>,
    private readonly minGapMs = 100,
  ) {
    host.addController(this);
  }

  /** Watch this machine's stats block (null: none). Watching the same one again does nothing. */
  watch(i32: Int32Array | null): void {
    if (i32 === this.i32) return;
    this.stop();
    this.i32 = i32;
    if (i32) void this.loop(i32, this.epoch);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.stop();
  }

  private stop(): void {
    this.epoch++;
    const old = this.i32;
    this.i32 = null;
    // A waitAsync cannot be cancelled: ring the bell ourselves so the old loop wakes and ends.
    if (old) {
      Atomics.add(old, I32.PAGE_BELL, 1);
      Atomics.notify(old, I32.PAGE_BELL);
    }
  }

  private async loop(i32: Int32Array, epoch: number): Promise<void> {
    while (epoch === this.epoch) {
      // Read the bell before looking: whatever happens after this load rings it again.
      const seen = Atomics.load(i32, I32.PAGE_BELL);
      const t0 = performance.now();
      await this.onRing();
      if (epoch !== this.epoch) return;
      const w = Atomics.waitAsync(i32, I32.PAGE_BELL, seen);
      if (w.async) await w.value;
      const gap = this.minGapMs - (performance.now() - t0);
      if (gap > 0 && epoch === this.epoch) await new Promise((r) => setTimeout(r, gap));
    }
  }
}
