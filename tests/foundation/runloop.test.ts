import { describe, expect, it } from 'vitest';
import {
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
    let slices = 0;
    const loop = new RunLoop(() => {
      slices++;
      const end = performance.now() + 2;
      while (performance.now() < end);
      return { next: 'continue' };
    }, immediateYielder());
    loop.start();
    // A timer scheduled while the loop spins must still fire: the loop yields to the event loop.
    const timerSawSlices = await new Promise<number>((r) => setTimeout(() => r(slices), 20));
    loop.close();
    expect(timerSawSlices).toBeGreaterThan(1);
    // …and soon: with 2 ms slices, a 20 ms timer cannot have waited for hundreds of slices.
    expect(timerSawSlices).toBeLessThan(200);
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
