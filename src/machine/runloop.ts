/**
 * The worker's run loop: the machine runs in slices of a few milliseconds and yields between them
 * with a MessageChannel self-post. Not setTimeout(0) (clamped to 4 ms after nesting), not
 * microtasks or scheduler.yield (they starve comlink's message handling). A machine with nothing
 * to do until a timer deadline sleeps with a real timer instead, so an idle guest costs nothing.
 * Works the same in a browser worker and in Node (both have MessageChannel).
 */

export type SliceOutcome =
  /** More work now: yield once to the event loop, then run the next slice. */
  | { next: 'continue' }
  /** Nothing to do until a deadline (HLT): sleep this many ms unless woken. */
  | { next: 'sleep'; ms: number }
  /** The machine stopped for good (exit, halt, triple fault): the loop ends. */
  | { next: 'stop' };

export interface Yielder {
  /** Run cb after the event loop has had a turn (pending messages served first). */
  post(cb: () => void): void;
  /** Run cb after ms milliseconds; returns a cancel function. */
  sleep(ms: number, cb: () => void): () => void;
  /** Release resources (the MessageChannel ports). */
  close(): void;
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
  return isNode && typeof setImmediate === 'function' ? immediateYielder() : messageChannelYielder();
}

export class RunLoop {
  private running = false;
  private scheduled = false;
  private cancelSleep: (() => void) | null = null;

  constructor(
    private readonly slice: () => SliceOutcome,
    private readonly yielder: Yielder,
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
    if (!this.running) return;
    const outcome = this.slice();
    if (!this.running) return;
    switch (outcome.next) {
      case 'continue':
        this.schedule();
        break;
      case 'sleep':
        // The timer's callback is already a task of its own: run the slice in it (posting would
        // cost a second task per wake-up, which is most of an idle guest's cost).
        this.cancelSleep = this.yielder.sleep(Math.max(0, outcome.ms), () => {
          this.cancelSleep = null;
          if (!this.scheduled) this.tick();
        });
        break;
      case 'stop':
        this.running = false;
        break;
    }
  };
}
