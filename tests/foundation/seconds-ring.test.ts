/**
 * The worker's seconds ring (layout.ts, SECONDS_RING_OFFSET): once per second of wall time the
 * machine copies its F64 counters into the next slot, so that the meter may leave the page's main
 * thread asleep for seconds and still report each one (MeterSampler.catchUp).
 */
import { describe, expect, it } from 'vitest';
import { F64, I32, SECONDS_RING_LEN } from '../../src/shared/layout';
import { Guest } from '../guest/hvmos-run';

describe('the seconds ring', () => {
  it('holds one snapshot of the counters per second of wall time, each as the counters stood then', () => {
    const g = new Guest('workload=static');
    const m = g.m;
    // A wall-clock machine would be better still, but the icount Guest's slices publish the same
    // way: the ring follows the host's clock (PUBLISHED_AT_MS), whatever the machine's clock.
    const word = new Int32Array(new SharedArrayBuffer(4));
    const t0 = performance.now();
    while (performance.now() - t0 < 3300) {
      m.slice();
      Atomics.wait(word, 0, 0, 5);
    }
    const seq = Atomics.load(m.stats.i32, I32.SECONDS_SEQ);
    expect(seq).toBeGreaterThanOrEqual(3);
    expect(seq).toBeLessThanOrEqual(SECONDS_RING_LEN);
    const entry = (n: number) => m.stats.seconds.subarray(n * F64.COUNT, (n + 1) * F64.COUNT);
    for (let n = 1; n < seq; n++) {
      // On a one-second grid from the first (an entry comes with the first slice past its second).
      expect(entry(n)[F64.PUBLISHED_AT_MS] - entry(0)[F64.PUBLISHED_AT_MS]).toBeGreaterThanOrEqual(1000 * n);
      expect(entry(n)[F64.INSTRUCTIONS]).toBeGreaterThan(entry(n - 1)[F64.INSTRUCTIONS]);
    }
    // The newest entry is the counters as published at the end of that slice, not later.
    expect(entry(seq - 1)[F64.PUBLISHED_AT_MS]).toBeLessThanOrEqual(m.stats.f64[F64.PUBLISHED_AT_MS]);
    expect(entry(seq - 1)[F64.INSTRUCTIONS]).toBeLessThanOrEqual(m.stats.f64[F64.INSTRUCTIONS]);
  });
});
