/**
 * When the meter samples: once per second of wall time, or asleep on the machine's bells while
 * nothing moves (SamplingController, a reactive controller of <cpu-meter>).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { I32 } from '../shared/layout';

/** A tick's word on the next one: sleep on the machine's bells for up to ms (null: tick in a second). */
export interface Sleep {
  i32: Int32Array;
  ms: number;
  /** The bells as they were read before the tick looked at anything (a later ring wakes at once). */
  display: number;
  page: number;
}

/** The longest the meter sleeps while it cannot be seen (the seconds ring keeps SECONDS_RING_LEN). */
export const HIDDEN_SLEEP_MS = 30_000;

/**
 * Samples once per second of wall time while the host is connected, and knows whether the meter
 * can be seen (the page is visible and the meter is on screen): drawing what nobody can see costs
 * the tab frames for nothing. While the display sleeps and the figures hold (meterChanged), a
 * tick may ask to sleep instead: no timer wakes the main thread each second, only the display bell
 * (the display wakes, so the meter does), the page bell (the machine stopped, COM1 output), the
 * hold's next redraw or the meter coming into view; the seconds in between are reported when it
 * wakes (MeterSampler.catchUp). A reactive controller.
 */
export class SamplingController implements ReactiveController {
  private timer = 0;
  /** Bumped by every tick: a bell wait begun before it is stale. */
  private epoch = 0;
  /** Asleep since this epoch (-1: awake). */
  private sleepingEpoch = -1;
  /** The stats block whose page bell has a wait pending (one at a time: a wait cannot be cancelled). */
  private pageWaitOn: Int32Array | null = null;
  private onScreen = true;
  private observer: IntersectionObserver | null = null;
  /** Ticks run, and sleeps begun (for tests and the curious). */
  readonly counters = { ticks: 0, sleeps: 0 };
  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly onTick: () => Sleep | null,
    /** Called when the meter becomes visible again (to draw what it skipped). */
    private readonly onShown: () => void,
  ) {
    host.addController(this);
  }
  get visible(): boolean {
    return this.onScreen && document.visibilityState === 'visible';
  }
  get asleep(): boolean {
    return this.sleepingEpoch >= 0;
  }
  private readonly onVisibility = (): void => {
    if (this.visible) this.shown();
  };
  private shown(): void {
    this.onShown();
    if (this.asleep) this.fire(); // its hold is shorter in view: look now
  }
  hostConnected(): void {
    this.timer = window.setTimeout(this.fire, 1000);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.observer = new IntersectionObserver((entries) => {
      const was = this.visible;
      this.onScreen = entries.at(-1)?.isIntersecting ?? true;
      if (!was && this.visible) this.shown();
    });
    this.observer.observe(this.host);
  }
  hostDisconnected(): void {
    this.epoch++;
    this.sleepingEpoch = -1;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.observer?.disconnect();
    this.observer = null;
  }

  private readonly fire = (): void => {
    clearTimeout(this.timer);
    this.epoch++;
    this.sleepingEpoch = -1;
    this.counters.ticks++;
    const sleep = this.onTick();
    if (sleep) this.sleep(sleep);
    else this.timer = window.setTimeout(this.fire, 1000);
  };

  private sleep({ i32, ms, display, page }: Sleep): void {
    const epoch = this.epoch;
    this.sleepingEpoch = epoch;
    this.counters.sleeps++;
    const wake = () => {
      if (this.sleepingEpoch === epoch) this.fire();
    };
    // The display bell's wait is also the timer: it times out when the hold's redraw is due.
    const d = Atomics.waitAsync(i32, I32.DISPLAY_BELL, display, ms);
    if (!d.async) return wake();
    void d.value.then(wake);
    if (this.pageWaitOn !== i32) {
      const p = Atomics.waitAsync(i32, I32.PAGE_BELL, page);
      if (!p.async) return wake();
      this.pageWaitOn = i32;
      void p.value.then(() => {
        if (this.pageWaitOn === i32) this.pageWaitOn = null;
        if (this.sleepingEpoch >= 0) this.fire();
      });
    } else if (Atomics.load(i32, I32.PAGE_BELL) !== page) wake();
  }
}
