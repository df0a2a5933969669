import { describe, expect, it } from 'vitest';
import {
  CHART_HEIGHT,
  CHART_STEP_S,
  NOISE_PX,
  chartPicture,
  logPos,
  redrawDue,
  samePicture,
} from '../../src/ui/chart-picture';
import type { MeterSample } from '../../src/ui/meter-sampler';

/** Seconds t0…t0+n-1 with the figures f(t) gives (the chart reads only these four). */
const seconds = (t0: number, n: number, f: (t: number) => number[]): MeterSample[] =>
  Array.from({ length: n }, (_, i) => {
    const t = t0 + i;
    const [ioemuPct, hvPct, guestPct, uiPct] = f(t);
    return { t, ioemuPct, hvPct, guestPct, uiPct } as MeterSample;
  });
const none = new Set<number>();

describe("the meter chart's picture", () => {
  it('is the same a second later when every line is flat: an idle page does not redraw it', () => {
    const flat = () => [0.004, 0.01, 0.5, 0.1];
    const a = chartPicture(seconds(0, 60, flat), [], 600, none);
    const b = chartPicture(seconds(1, 60, flat), [], 600, none);
    expect(samePicture(a, b)).toBe(true);
  });

  it('is the same when a point moves by no more than NOISE_PX, and new when it moves further', () => {
    // The figure that moves a point by p pixels on the log scale: v · 10^(5p/height) (5 decades).
    const moved = (v: number, px: number) => v * 10 ** ((5 * px) / CHART_HEIGHT);
    const base = chartPicture(
      seconds(0, 60, () => [0.004, 0.01, 0.5, 0.1]),
      [],
      600,
      none,
    );
    const near = chartPicture(
      seconds(0, 60, (t) => [0.004, 0.01, t === 59 ? moved(0.5, NOISE_PX - 0.5) : 0.5, 0.1]),
      [],
      600,
      none,
    );
    const far = chartPicture(
      seconds(0, 60, (t) => [0.004, 0.01, t === 59 ? moved(0.5, NOISE_PX + 0.5) : 0.5, 0.1]),
      [],
      600,
      none,
    );
    expect((logPos(moved(0.5, 1)) - logPos(0.5)) * CHART_HEIGHT).toBeCloseTo(1);
    expect(samePicture(base, near)).toBe(true);
    expect(samePicture(base, far)).toBe(false);
  });

  it('is new when a step moves left, the window fills, a mark moves, the size changes or a series is toggled', () => {
    const step = (at: number) => (t: number) => [t >= at ? 7 : 0.01, 0.01, 0.5, 0.1];
    const a = chartPicture(seconds(0, 60, step(30)), [], 600, none);
    expect(samePicture(a, chartPicture(seconds(1, 60, step(30)), [], 600, none))).toBe(false); // the step, a second older
    const flat = () => [0.01, 0.01, 0.5, 0.1];
    expect(
      samePicture(chartPicture(seconds(0, 20, flat), [], 600, none), chartPicture(seconds(0, 21, flat), [], 600, none)),
    ).toBe(false);
    const marked = (t0: number) => chartPicture(seconds(t0, 60, flat), [{ t: 40, mode: 'poll' }], 600, none);
    expect(samePicture(marked(0), marked(1))).toBe(false);
    const p = chartPicture(seconds(0, 60, flat), [], 600, none);
    expect(samePicture(p, chartPicture(seconds(0, 60, flat), [], 560, none))).toBe(false);
    expect(samePicture(p, chartPicture(seconds(0, 60, flat), [], 600, new Set([2])))).toBe(false);
    expect(samePicture(null, p)).toBe(false);
  });

  it('ignores what a hidden series does', () => {
    const hidden = new Set([0]);
    const a = chartPicture(
      seconds(0, 60, () => [0.01, 0.01, 0.5, 0.1]),
      [],
      600,
      hidden,
    );
    const b = chartPicture(
      seconds(0, 60, (t) => [t === 59 ? 7 : 0.01, 0.01, 0.5, 0.1]),
      [],
      600,
      hidden,
    );
    expect(samePicture(a, b)).toBe(true);
  });
});

describe('when the meter chart is redrawn', () => {
  /** A steady page: the figures jitter by a factor of up to 3 each second (the clock workload's ioemu). */
  const jitter = (t: number) => [[0.03, 0.09, 0.05][t % 3], 0.005, [0.3, 0.5][t % 2], [0.1, 0.25][t % 2]];

  it('a steady page with jittering figures: once every CHART_STEP_S seconds, not every second', () => {
    let drawn = chartPicture(seconds(0, 60, jitter), [], 600, none);
    const at: number[] = [];
    for (let t0 = 1; t0 <= 20; t0++) {
      const next = chartPicture(seconds(t0, 60, jitter), [], 600, none);
      if (!redrawDue(drawn, next)) continue;
      at.push(t0);
      drawn = next;
    }
    expect(at).toEqual([1, 2, 3, 4].map((k) => k * CHART_STEP_S));
  });

  it('never when the picture is the same', () => {
    const flat = () => [0.01, 0.01, 0.5, 0.1];
    const a = chartPicture(seconds(0, 60, flat), [], 600, none);
    expect(redrawDue(a, chartPicture(seconds(CHART_STEP_S * 3, 60, flat), [], 600, none))).toBe(false);
  });

  it('at once for a figure that moves a decade, a new mode mark, a toggle or a resize', () => {
    const a = chartPicture(seconds(0, 60, jitter), [], 600, none);
    // A switch to poll: the ioemu's newest point from 0.03 % to 5 %.
    const poll = chartPicture(
      seconds(1, 60, (t) => (t === 60 ? [5, 0.005, 0.3, 0.1] : jitter(t))),
      [],
      600,
      none,
    );
    expect(redrawDue(a, poll)).toBe(true);
    const marked = chartPicture(seconds(1, 60, jitter), [{ t: 60, mode: 'poll' }], 600, none);
    expect(redrawDue(a, marked)).toBe(true);
    expect(redrawDue(a, chartPicture(seconds(1, 60, jitter), [], 600, new Set([1])))).toBe(true);
    expect(redrawDue(a, chartPicture(seconds(1, 60, jitter), [], 500, none))).toBe(true);
    // The same second's jitter alone waits for the step.
    expect(redrawDue(a, chartPicture(seconds(1, 60, jitter), [], 600, none))).toBe(false);
  });
});
