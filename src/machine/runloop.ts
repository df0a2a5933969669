/**
 * The worker's run loop: the machine runs in slices of a few milliseconds and yields between them
 * with a MessageChannel self-post. Not setTimeout(0) (clamped to 4 ms after nesting), not
 * microtasks or scheduler.yield (they starve comlink's message handling). A machine with nothing
 * to do until a timer deadline sleeps with a real timer instead, so an idle guest costs nothing.
 * Works the same in a browser worker and in Node (both have MessageChannel).
 *
 * In a browser worker an idle machine does better still: it blocks in Atomics.wait until the
 * deadline (an `IdleWait`) and runs the next slice in the same task. Every return to Chromium's
 * event loop — a timer firing, a message — costs a worker about 200–350 µs of CPU on these
 * machines whatever the task does: at a 100 Hz guest tick an empty loop cost 1.8–2.7 % of a core
 * with a 10 ms setTimeout, 3.5 % with Atomics.wait plus a MessageChannel post, against 0.7–1.2 %
 * for blocking waits that stay in one task (measured through /proc: `npm run bench:idle`). The
 * main thread rings the worker's doorbell after every message it posts, so a blocked worker
 * returns to its event loop at once to read it; it also does so at least every MAX_BLOCK_MS.
 * A busy machine in a browser worker likewise runs slice after slice in one task while no message
 * waits (the doorbell's RPC_SEQ says when one does), for up to MAX_BUSY_MS: Linux's boot in the
 * page spent about 5 % of its worker's CPU posting to itself and returning to the event loop
 * after every 4-ms slice (Chromium's CPU profile of the worker: MessagePort.postMessage 4.1 %).
 */

export type SliceOutcome =
  /**
   * More work now: yield once to the event loop, then run the next slice. `stalled`: the slice
   * overran its budget without a busy slice's work in it (the host stopped the thread, or a
   * garbage collection ran inside it): it does not count as the machine being busy (IDLE_SETTLE_MS).
   */
  | { next: 'continue'; stalled?: boolean }
  /** Nothing to do until a deadline (HLT): sleep this many ms unless woken. */
  | { next: 'sleep'; ms: number }
  /** The machine stopped for good (exit, halt, triple fault): the loop ends. */
  | { next: 'stop' };

/**
 * Block the thread for up to ms (Atomics.wait on the worker's doorbell), serving what can be
 * served without the event loop. True when something needs the event loop (a message arrived):
 * the run loop then yields before the next slice.
 */
export type IdleWait = (ms: number) => boolean;

/**
 * The longest a run loop stays in one task blocking in idle waits before it lets the event loop
 * run (for what is not a message: V8's own tasks, a garbage collection's finishing steps). Each
 * return costs a worker a task's 200–350 µs: the idle Linux's worker spent beside its guest time
 * 0.41, 0.57 and 0.56 % of a core at 200 ms, 0.37, 0.39 and 0.62 % at 1,000 ms (/proc, three
 * alternated pairs of page loads, 12:53–13:02, load 2–5; medians 0.56 and 0.39).
 */
export const MAX_BLOCK_MS = 1000;

/**
 * An idle machine sleeps at least this long (timer slack, as Linux's `timer_slack_ns` and the
 * browsers' timer coalescing), to the next multiple of it in host time (idleSleepMs): a periodic
 * timer's edges that fall due meanwhile run together in the next slice, each at its own machine
 * time (the wall clock's halted CPU steps from one edge to the next: PcEngine.runSlice), only later
 * in host time; a one-shot count that fell due fires once, late, the guest seeing the time that
 * passed (Device.nextStrictDeadlineMs). Each wake-up of a worker costs it 60–100 µs of CPU
 * whatever the slice does, and the guest's own work on a wake-up runs on cold host caches.
 * Debian's kernel ticks at 250 Hz when idle (HZ_PERIODIC); with its high-resolution timers on (the
 * page's command line), each tick is a one-shot count, and the kernel takes the ticks a late
 * interrupt covers at once (jiffies from the clocksource), so an idle Linux runs its tick path once
 * a wake-up: 20 wake-ups a second at 50 ms against 250 ticks (README, issue 16). Anything the page
 * sends (keys, RPCs, hypercalls) rings the doorbell and ends a sleep at once, so input is not
 * delayed; what the guest does on its own timers shows up to this much later, on the grid, so a
 * blinking cursor keeps a steady beat. A machine unattended and quiet sleeps on a longer grid
 * (idle-slack.ts, UNATTENDED_SLACK_MS).
 */
export const IDLE_SLACK_MS = 50;

/**
 * The slack applies once the machine has been idle this long: no slice since has used its whole
 * budget (a stalled one aside: SliceOutcome). A booting guest alternates work with short sleeps
 * (msleep, waits on devices), and stretching each of those to the slack made Linux's boot in Node
 * on the wall clock take 41.9 s and 38.4 CPU-s to the prompt instead of 30.3 s and 27.4 (bench:boot).
 */
export const IDLE_SETTLE_MS = 1000;

/**
 * How long an idle machine that asked to sleep askedMs at host time now sleeps with slackMs of
 * slack: to the first multiple of slackMs (host ms) at or after its deadline. Wake-ups land on
 * that grid, at most one per slackMs, whatever each slice took, so a guest's periodic output
 * that the slack divides keeps its period.
 */
export function idleSleepMs(now: number, askedMs: number, slackMs: number): number {
  if (slackMs <= 0) return Math.max(0, askedMs);
  return Math.max(0, Math.ceil((now + Math.max(0, askedMs)) / slackMs) * slackMs - now);
}

/**
 * The longest a run loop stays in one task running busy slices while no message waits, ms: the
 * event loop still runs 20 times a second for what is not a message (V8's own tasks, say).
 */
export const MAX_BUSY_MS = 50;

/** Whether a message has been posted to the thread since the last call said so (a browser worker's doorbell). */
export type MessagePending = () => boolean;

export interface Yielder {
  /** Run cb after the event loop has had a turn (pending messages served first). */
  post(cb: () => void): void;
  /** Run cb after ms milliseconds; returns a cancel function. */
  sleep(ms: number, cb: () => void): () => void;
  /** Release resources (the MessageChannel ports). */
  close(): void;
  /** The thread may block in Atomics.wait while idle (a browser worker; not Node's main thread). */
  readonly mayBlock?: boolean;
}

/**
 * The browser's yielder: a MessageChannel self-post, one macrotask per slice with no clamp.
 * (In Node a MessagePort drains up to ~1000 queued messages before timers run, which would starve
 * them for seconds, so Node uses setImmediate instead: see defaultYielder.)
 */
export function messageChannelYielder(): Yielder {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => {
    const cb = queue.shift();
    if (cb) cb();
  };
  return {
    post(cb) {
      queue.push(cb);
      channel.port2.postMessage(null);
    },
    sleep(ms, cb) {
      const t = setTimeout(cb, ms);
      return () => clearTimeout(t);
    },
    close() {
      channel.port1.onmessage = null;
      channel.port1.close();
      channel.port2.close();
    },
  };
}

/** Node's yielder: setImmediate runs after I/O and timers of the current loop turn. */
export function immediateYielder(): Yielder {
  return {
    post(cb) {
      setImmediate(cb);
    },
    sleep(ms, cb) {
      const t = setTimeout(cb, ms);
      return () => clearTimeout(t);
    },
    close() {},
  };
}

/** MessageChannel in a browser (worker), setImmediate in Node. */
export function defaultYielder(): Yielder {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (isNode && typeof setImmediate === 'function') return immediateYielder();
  // Atomics.wait may block a worker, never a page's main thread.
  const inWorker = 'WorkerGlobalScope' in globalThis;
  return { ...messageChannelYielder(), mayBlock: inWorker };
}

export class RunLoop {
  private running = false;
  private scheduled = false;
  private cancelSleep: (() => void) | null = null;
  /** When a slice last used its whole budget (performance.now()): see IDLE_SETTLE_MS. */
  private busyAt = -Infinity;

  /**
   * @param slackMs the grid of the sleeps once idle for IDLE_SETTLE_MS (idleSleepMs; a machine's
   *   IdleSlack, IDLE_SLACK_MS or longer), or a function giving it; 0 sleeps exactly as asked.
   */
  constructor(
    private readonly slice: () => SliceOutcome,
    private readonly yielder: Yielder,
    private readonly idleWait: IdleWait | null = null,
    private readonly slackMs: number | (() => number) = 0,
    private readonly messagePending: MessagePending | null = null,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Stop between slices: no slice starts after this returns. */
  pause(): void {
    this.running = false;
    this.cancelSleep?.();
    this.cancelSleep = null;
  }

  /** End a sleep early (input arrived, an RPC changed something): the next slice runs at once. */
  wake(): void {
    if (!this.running || !this.cancelSleep) return;
    this.cancelSleep();
    this.cancelSleep = null;
    this.schedule();
  }

  close(): void {
    this.pause();
    this.yielder.close();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.yielder.post(this.tick);
  }

  private readonly tick = (): void => {
    this.scheduled = false;
    let blockedMs = 0;
    const began = this.messagePending !== null ? performance.now() : 0;
    for (;;) {
      if (!this.running) return;
      const outcome = this.slice();
      if (!this.running) return;
      switch (outcome.next) {
        case 'continue': {
          const at = performance.now();
          if (outcome.stalled !== true) this.busyAt = at;
          // Run the next slice in this same task while no message waits (see the header).
          if (this.messagePending !== null && at - began < MAX_BUSY_MS && !this.messagePending()) continue;
          this.schedule();
          return;
        }
        case 'stop':
          this.running = false;
          return;
        case 'sleep': {
          const now = performance.now();
          const slack = typeof this.slackMs === 'number' ? this.slackMs : this.slackMs();
          // A slack longer than IDLE_SLACK_MS is given only to a quiet guest (idle-slack.ts), whose
          // slices that overran are its timers' work gathered over the long sleep: it applies
          // without waiting IDLE_SETTLE_MS, or each such slice would bring a second of sleeps
          // exactly as asked (250 wake-ups a second for Debian's tick).
          const settled = slack > IDLE_SLACK_MS || now - this.busyAt >= IDLE_SETTLE_MS;
          const ms = settled ? idleSleepMs(now, outcome.ms, slack) : Math.max(0, outcome.ms);
          if (this.idleWait && blockedMs + ms <= MAX_BLOCK_MS) {
            // Block until the deadline and run the next slice in this same task (see the header).
            blockedMs += ms;
            if (this.idleWait(ms)) {
              this.schedule();
              return;
            }
            continue;
          }
          // The timer's callback is already a task of its own: run the slice in it (posting would
          // cost a second task per wake-up, which is most of an idle guest's cost).
          this.cancelSleep = this.yielder.sleep(ms, () => {
            this.cancelSleep = null;
            if (!this.scheduled) this.tick();
          });
          return;
        }
      }
    }
  };
}
