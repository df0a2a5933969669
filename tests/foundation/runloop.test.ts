import { describe, expect, it } from 'vitest';
import {
  IDLE_SLACK_MS,
  MAX_BLOCK_MS,
  MAX_BUSY_MS,
  RunLoop,
  immediateYielder,
  messageChannelYielder,
  type SliceOutcome,
  type Yielder,
} from '../../src/machine/runloop';

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
};

describe('run loop (Node yielder)', () => {
  it('runs slices back to back and lets timers in between them', async () => {
    /** When each slice started. */
    const starts: number[] = [];
    const loop = new RunLoop(() => {
      starts.push(performance.now());
      const end = performance.now() + 2;
      while (performance.now() < end);
      return { next: 'continue' };
    }, immediateYielder());
    loop.start();
    // Slice after slice (2 ms each, each one a task of its own)…
    await until(() => starts.length >= 3);
    // …and a timer scheduled while the loop spins still fires: the loop yields to the event loop…
    const due = performance.now() + 20;
    const timerSawSlices = await new Promise<number>((r) => setTimeout(() => r(starts.length), 20));
    loop.close();
    // …and soon: once the timer is due, it fires before the loop has run more than a slice or two
    // (each slice yields to the event loop, whose next turn runs due timers). Counted in slices
    // begun after the due time, not in ms: a loaded host may run the timer late, and the loop
    // with it, but it cannot make the loop run slices ahead of a due timer.
    const afterDue = starts.slice(0, timerSawSlices).filter((t) => t >= due).length;
    expect(afterDue).toBeLessThanOrEqual(3);
  });
});

describe.each([
  ['MessageChannel', messageChannelYielder],
  ['setImmediate', immediateYielder],
] as [string, () => Yielder][])('run loop with the %s yielder', (_name, yielder) => {
  it('runs no slice after pause, and resumes on start', async () => {
    let slices = 0;
    const loop = new RunLoop(() => (slices++, { next: 'continue' }), yielder());
    loop.start();
    await until(() => slices > 5);
    loop.pause();
    const at = slices;
    await new Promise((r) => setTimeout(r, 30));
    expect(slices).toBe(at);
    loop.start();
    await until(() => slices > at + 5);
    loop.close();
  });

  it('sleeps until the deadline a slice asks for, and wake() ends the sleep early', async () => {
    const times: number[] = [];
    let outcome: SliceOutcome = { next: 'sleep', ms: 10_000 };
    const loop = new RunLoop(() => (times.push(performance.now()), outcome), yielder());
    loop.start();
    await until(() => times.length === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(times.length).toBe(1); // still asleep
    outcome = { next: 'stop' };
    loop.wake();
    await until(() => times.length === 2);
    expect(loop.isRunning).toBe(false); // 'stop' ends the loop
    loop.close();
  });
});

describe('run loop with a blocking idle wait (as in a browser worker)', () => {
  /** A yielder that counts how often the loop goes back to the event loop, and how. */
  function countingYielder() {
    const inner = immediateYielder();
    const counts = { posts: 0, sleeps: 0 };
    const y: Yielder = {
      post: (cb) => (counts.posts++, inner.post(cb)),
      sleep: (ms, cb) => (counts.sleeps++, inner.sleep(ms, cb)),
      close: () => inner.close(),
      mayBlock: true,
    };
    return { y, counts };
  }
  const word = new Int32Array(new SharedArrayBuffer(4));

  it('runs the slices of an idle machine in one task, going back to the event loop only every MAX_BLOCK_MS', async () => {
    const { y, counts } = countingYielder();
    let slices = 0;
    let waits = 0;
    const loop = new RunLoop(
      () => (slices++, { next: 'sleep', ms: 2 }),
      y,
      (ms) => (waits++, Atomics.wait(word, 0, 0, ms), false),
    );
    loop.start();
    await until(() => counts.sleeps >= 2, 5000);
    loop.close();
    // Each timer sleep follows MAX_BLOCK_MS / 2 ms of blocking waits in one task.
    expect(waits).toBeGreaterThanOrEqual(counts.sleeps * (MAX_BLOCK_MS / 2) - MAX_BLOCK_MS / 2);
    expect(slices).toBe(waits + counts.sleeps);
    expect(counts.posts).toBe(1); // start()'s own post only
  });

  /**
   * Whether a sleep of ms that the wait saw begin at host time t ends on the slack's grid (a
   * multiple of it): within 0.5 ms, the loop having read the clock a moment before the wait.
   */
  const onGrid = (t: number, ms: number, slack: number) => {
    const r = (t + ms) % slack;
    return r < 0.5 || slack - r < 0.5;
  };

  it('sleeps to the grid of its slack: never before the deadline, on a multiple of the slack, one wake-up a slot', async () => {
    const { y } = countingYielder();
    const asked = [2, 50, 0.5, 0];
    const sleeps: { t: number; ms: number; asked: number }[] = [];
    let n = 0;
    let last = 0;
    const loop = new RunLoop(
      () => ({ next: 'sleep', ms: (last = asked[n++ % asked.length]) }),
      y,
      (ms) => (sleeps.push({ t: performance.now(), ms, asked: last }), Atomics.wait(word, 0, 0, ms), false),
      20,
    );
    loop.start();
    await until(() => sleeps.length >= 8);
    loop.close();
    for (const s of sleeps) {
      expect(s.ms).toBeGreaterThanOrEqual(s.asked - 1e-6);
      expect(s.ms).toBeLessThanOrEqual(s.asked + 20);
      expect(onGrid(s.t, s.ms, 20), `a sleep of ${s.ms} ms from ${s.t}`).toBe(true);
    }
    // Each wake-up in a slot of its own: the ends of the sleeps are whole slots apart.
    const ends = sleeps.map((s) => Math.round((s.t + s.ms) / 20));
    for (let i = 1; i < ends.length; i++) expect(ends[i]).toBeGreaterThan(ends[i - 1]);
  });

  it('takes the slack from a function when given one, asked at each sleep', async () => {
    const { y } = countingYielder();
    const slacks = [20, 50, 20, 50];
    const sleeps: { t: number; ms: number; slack: number }[] = [];
    let k = 0;
    let slack = 0;
    const loop = new RunLoop(
      () => ({ next: 'sleep', ms: 1 }),
      y,
      (ms) => (sleeps.push({ t: performance.now(), ms, slack }), false),
      () => (slack = slacks[k++ % slacks.length]),
    );
    loop.start();
    await until(() => sleeps.length >= 4);
    loop.close();
    expect(sleeps.slice(0, 4).map((s) => s.slack)).toEqual(slacks);
    for (const s of sleeps.slice(0, 4))
      expect(onGrid(s.t, s.ms, s.slack), `a sleep of ${s.ms} ms on a ${s.slack}-ms grid`).toBe(true);
  });

  it('sleeps exactly as asked within IDLE_SETTLE_MS of a slice that used its whole budget (a busy guest)', async () => {
    const { y } = countingYielder();
    const waited: number[] = [];
    let n = 0;
    const loop = new RunLoop(
      () => (n++ === 0 ? { next: 'continue' } : { next: 'sleep', ms: 2 }),
      y,
      (ms) => (waited.push(ms), false),
      20,
    );
    loop.start();
    await until(() => waited.length >= 3);
    loop.close();
    expect(waited.slice(0, 3)).toEqual([2, 2, 2]);
  });

  it('gives a slack above IDLE_SLACK_MS (a quiet guest left alone) at once, busy slices or not', async () => {
    const { y } = countingYielder();
    const waited: { t: number; ms: number }[] = [];
    let n = 0;
    const long = IDLE_SLACK_MS * 5;
    const loop = new RunLoop(
      () => (n++ % 2 === 0 ? { next: 'continue' } : { next: 'sleep', ms: 2 }),
      y,
      (ms) => (waited.push({ t: performance.now(), ms }), false),
      () => long,
    );
    loop.start();
    await until(() => waited.length >= 3);
    loop.close();
    // On the long grid after every busy slice; at IDLE_SLACK_MS they would be 2 ms each.
    for (const w of waited.slice(0, 3)) expect(onGrid(w.t, w.ms, long), `a sleep of ${w.ms} ms`).toBe(true);
  });

  it('keeps the slack after a slice that overran its budget stalled (not busy)', async () => {
    const { y } = countingYielder();
    const waited: { t: number; ms: number }[] = [];
    let n = 0;
    const loop = new RunLoop(
      () => (n++ === 0 ? { next: 'continue', stalled: true } : { next: 'sleep', ms: 2 }),
      y,
      (ms) => (waited.push({ t: performance.now(), ms }), Atomics.wait(word, 0, 0, ms), false),
      20,
    );
    loop.start();
    await until(() => waited.length >= 3);
    loop.close();
    // On the slack's grid (a busy slice would have made them 2 ms each: the test before).
    for (const w of waited.slice(0, 3)) expect(onGrid(w.t, w.ms, 20), `a sleep of ${w.ms} ms`).toBe(true);
    expect(waited.slice(1, 3).every((w) => w.ms > 2)).toBe(true);
  });

  it('goes back to the event loop as soon as the wait says a message needs it', async () => {
    const { y, counts } = countingYielder();
    let waits = 0;
    const loop = new RunLoop(
      () => ({ next: 'sleep', ms: 1 }),
      y,
      () => ++waits % 5 === 0, // every fifth wait was cut short by a message
    );
    loop.start();
    await until(() => waits >= 50);
    loop.close();
    // One post per message (plus start's), no timer sleeps: the loop never waited for a timer.
    expect(counts.posts).toBeGreaterThanOrEqual(Math.floor(waits / 5));
    expect(counts.posts).toBeLessThanOrEqual(Math.floor(waits / 5) + 1);
    expect(counts.sleeps).toBe(0);
  });

  it('runs busy slices one after another in one task, going back to the event loop for each message', async () => {
    const { y, counts } = countingYielder();
    let slices = 0;
    let asked = 0;
    const loop = new RunLoop(
      () => (slices++, { next: 'continue' }),
      y,
      () => false,
      0,
      () => ++asked % 5 === 0, // a message came in before every fifth question
    );
    loop.start();
    await until(() => slices >= 50);
    loop.close();
    // One post per message (plus start's): the slices in between ran in the task.
    expect(counts.posts).toBeGreaterThanOrEqual(Math.floor(asked / 5));
    expect(counts.posts).toBeLessThanOrEqual(Math.floor(asked / 5) + 1);
    expect(slices).toBeGreaterThanOrEqual(4 * (counts.posts - 1));
  });

  it('lets the event loop run at least every MAX_BUSY_MS while busy slices find no message', async () => {
    const { y, counts } = countingYielder();
    const sliceMs = 5;
    let slices = 0;
    const loop = new RunLoop(
      () => {
        slices++;
        const end = performance.now() + sliceMs;
        while (performance.now() < end);
        return { next: 'continue' };
      },
      y,
      () => false,
      0,
      () => false,
    );
    loop.start();
    await until(() => counts.posts >= 4, 5000);
    loop.close();
    // A task begins at most MAX_BUSY_MS / sliceMs slices after its first: a slow host only makes fewer.
    expect(slices).toBeLessThanOrEqual(counts.posts * (MAX_BUSY_MS / sliceMs + 1));
  });
});
