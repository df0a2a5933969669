/**
 * When the display refreshes: the ioemu's refresh loop, event-driven.
 *
 * At the display's rate (30 Hz by default) while something changes: a timer wakes the loop 6 ms
 * before the next refresh is due. A refresh that paints at once (poll: it compares and converts
 * in one go) runs in an animation frame. One that waits for an answer first (the dirty modes'
 * hypercall: `RefreshTarget.paintsLate`) runs in the task that woke the loop and asks for no
 * frame: its paint changes the canvas, and the change brings the one frame that shows it — in a
 * frame callback, an answer that came after the callback had returned made the paint a second
 * frame. A frame costs Chromium's
 * renderer, compositor and GPU process several ms of CPU whatever the callback does, and every
 * wake-up of the main thread costs too, so when the refresher says nothing can have changed (the
 * dirty modes, once the dirty generation and the display state stand still:
 * `DisplayRefresher.sleepFor`) the loop does not wake at all: it waits in Atomics.waitAsync on
 * the machine's display bell (I32.DISPLAY_BELL), which the worker rings at the end of a slice in
 * which a tracked page became dirty or the display state changed. The refresh after a wake runs
 * at once, so a write after a long quiet period is on the screen within one refresh period. Poll
 * mode never sleeps (looking is its whole method). A hidden page always waits for a frame (the
 * browser gives none while it is hidden), so it refreshes nothing nobody sees. A change the page
 * makes (a mode switch, the overlay: `wake`) repaints at the next frame.
 *
 * No DOM here: timers and frames come from a `FrameHost`, so the loop runs in Node tests too.
 */

/** Timers and frames: the browser's (setTimeout, requestAnimationFrame) or a test's. */
export interface FrameHost {
  now(): number;
  /** The page can be seen (a hidden one gets no frames): refreshes then run without waiting for one. */
  visible(): boolean;
  setTimer(cb: () => void, ms: number): unknown;
  clearTimer(id: unknown): void;
  requestFrame(cb: () => void): unknown;
  cancelFrame(id: unknown): void;
}

/** What the loop drives: one refresh, and the refresher's word on skipping and sleeping. */
export interface RefreshTarget {
  /** Run one refresh (resolves when it is done). */
  refresh(): Promise<unknown>;
  /** True when the refresh due now would paint nothing, so it may run without a frame. */
  wouldSkip(now: number): boolean;
  /**
   * True when a refresh waits for an answer (a hypercall) before it paints: it runs in the task
   * that woke the loop, not in a frame callback. Absent: false.
   */
  paintsLate?(): boolean;
  /**
   * null: keep refreshing at the rate. Otherwise nothing can change on the screen until the bell
   * rings: sleep at most this many ms (Infinity: until rung).
   */
  sleepFor(now: number): number | null;
}

/** The word the machine rings (Atomics.notify) when the display has something to look at. */
export interface DisplayBell {
  i32: Int32Array;
  index: number;
}

export const browserFrameHost: FrameHost = {
  now: () => performance.now(),
  visible: () => document.visibilityState === 'visible',
  setTimer: (cb, ms) => setTimeout(cb, ms),
  clearTimer: (id) => clearTimeout(id as number),
  requestFrame: (cb) => requestAnimationFrame(cb),
  cancelFrame: (id) => cancelAnimationFrame(id as number),
};

/** Ring a bell from this side: wakes whoever waits on it (used to release our own waiter). */
export function ringBell(bell: DisplayBell): void {
  Atomics.add(bell.i32, bell.index, 1);
  Atomics.notify(bell.i32, bell.index);
}

export class RefreshScheduler {
  hz = 30;
  /** Times the loop went to sleep on the bell, and woke from it (for tests and the curious). */
  readonly counters = { sleeps: 0, wakes: 0 };
  private running = false;
  private frameId: unknown = null;
  private timerId: unknown = null;
  private last = -Infinity;
  /** The bell waited on while asleep (null: awake). */
  private sleepingOn: DisplayBell | null = null;
  /** Bumped whenever a pending wait or refresh completion must be ignored (stop, wake). */
  private epoch = 0;
  private bell: DisplayBell | null = null;

  constructor(
    private readonly host: FrameHost,
    private readonly target: RefreshTarget,
  ) {}

  get asleep(): boolean {
    return this.sleepingOn !== null;
  }

  /** The machine's display bell (null: none, so never sleep). A new bell wakes the loop. */
  setBell(bell: DisplayBell | null): void {
    if (bell?.i32 === this.bell?.i32 && bell?.index === this.bell?.index) return;
    this.bell = bell;
    if (this.running) this.wake();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.frameId = this.host.requestFrame(this.frame);
  }

  stop(): void {
    this.running = false;
    this.cancelPending();
  }

  /**
   * Something the page changed (a mode switch, the overlay, a new refresher): refresh at the next
   * frame, whatever the loop was doing.
   */
  wake(): void {
    if (!this.running) return;
    this.cancelPending();
    this.frameId = this.host.requestFrame(this.frame);
  }

  private cancelPending(): void {
    this.epoch++;
    if (this.frameId !== null) this.host.cancelFrame(this.frameId);
    if (this.timerId !== null) this.host.clearTimer(this.timerId);
    this.frameId = this.timerId = null;
    // A waitAsync cannot be cancelled: release it by ringing (its epoch is stale, so it does nothing).
    const s = this.sleepingOn;
    this.sleepingOn = null;
    if (s) ringBell(s);
  }

  private readonly frame = (): void => {
    this.frameId = null;
    this.run();
  };

  private run(): void {
    const now = this.host.now();
    const period = 1000 / this.hz;
    const due = this.last + period;
    // Within half a 60 Hz frame of the due time counts as due (frames land on the screen's grid,
    // or — headless — whenever asked). The schedule keeps the exact period unless it fell behind.
    if (now < due - 8) return this.plan();
    this.last = now - due > period ? now : due;
    const epoch = this.epoch;
    void this.target.refresh().then(() => {
      if (this.running && epoch === this.epoch) this.plan();
    });
  }

  /** After a refresh (or when one was not due yet): sleep on the bell, or wait for the next one. */
  private plan(): void {
    const bell = this.bell;
    if (bell) {
      // Read the bell before asking: a change after this load rings it, so the wait returns at once.
      const seen = Atomics.load(bell.i32, bell.index);
      const ms = this.target.sleepFor(this.host.now());
      if (ms !== null) return this.sleep(bell, seen, ms);
    }
    const period = 1000 / this.hz;
    const wait = Math.max(0, this.last + period - this.host.now() - 6);
    this.timerId = this.host.setTimer(() => {
      this.timerId = null;
      this.runOrWaitForFrame();
    }, wait);
  }

  /**
   * Refresh in this task when it would paint nothing, or paints late in a visible page; else at
   * the next frame (none comes while the page is hidden).
   */
  private runOrWaitForFrame(): void {
    if (this.target.wouldSkip(this.host.now()) || (this.host.visible() && this.target.paintsLate?.())) this.run();
    else this.frameId = this.host.requestFrame(this.frame);
  }

  private sleep(bell: DisplayBell, seen: number, ms: number): void {
    const epoch = this.epoch;
    this.counters.sleeps++;
    const w = Atomics.waitAsync(bell.i32, bell.index, seen, ms === Infinity ? undefined : ms);
    if (!w.async) return this.woken(epoch); // rung since the load
    this.sleepingOn = bell;
    void w.value.then(() => this.woken(epoch));
  }

  private woken(epoch: number): void {
    if (!this.running || epoch !== this.epoch) return;
    this.sleepingOn = null;
    this.counters.wakes++;
    // Usually the period has long passed and the refresh runs now; a wake within a period of the
    // last refresh waits for its due time (run() plans it), so the rate still holds.
    this.runOrWaitForFrame();
  }
}
