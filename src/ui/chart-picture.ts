/**
 * What the meter's chart shows, in pixels, and whether a redraw would show something else: the
 * chart is redrawn only when its picture changes by more than the eye can tell, so an idle page
 * does not repaint (and re-raster, and composite) a chart that looks the same.
 */
import type { MeterSample } from './meter-sampler';

/** The chart's series, in the table's colours. */
export const SERIES = [
  { key: 'ioemuPct', label: 'ioemu', color: '#ff7a45' },
  { key: 'hvPct', label: 'hypervisor', color: '#ffd400' },
  { key: 'guestPct', label: 'guest', color: '#5ab0ff' },
  { key: 'uiPct', label: 'meter + page', color: '#9e9e9e' },
] as const;

/** The seconds the chart shows. */
export const CHART_SECONDS = 60;
/** The chart's height in CSS pixels (axes included). */
export const CHART_HEIGHT = 220;
/** The chart's floor (% of a core): its log scale cannot show 0. */
export const Y_FLOOR = 0.001;
/**
 * How far (CSS pixels, up or down) a point may sit from where it is drawn before the chart is
 * redrawn: a line two pixels wide moved by a pixel or two is not a different picture.
 */
export const NOISE_PX = 2;

/** Where v sits on the chart's log scale, 0 (floor) to 1 (100 %). */
export function logPos(v: number): number {
  const lo = Math.log10(Y_FLOOR);
  return (Math.log10(Math.max(Y_FLOOR, Math.min(100, v))) - lo) / (2 - lo);
}

/** The chart's picture: what decides what it looks like. */
export interface ChartPicture {
  width: number;
  /** Each series shown (1) or toggled off (0). */
  shown: string;
  /** The mode marks in the window, as "seconds before the newest sample, mode". */
  marks: string;
  /**
   * Per series, each sample's height in pixels, newest first: x is seconds before the newest
   * sample, so the i-th newest sample sits at the same x in every picture.
   */
  heights: number[][];
}

export function chartPicture(
  recent: readonly MeterSample[],
  marks: readonly { t: number; mode: string }[],
  width: number,
  hidden: ReadonlySet<number>,
): ChartPicture {
  const newest = recent.at(-1)?.t ?? 0;
  const rev = [...recent].reverse();
  return {
    width,
    shown: SERIES.map((_, i) => (hidden.has(i) ? 0 : 1)).join(''),
    marks: marks
      .filter((m) => m.t >= newest - CHART_SECONDS)
      .map((m) => `${Math.round(m.t - newest)} ${m.mode}`)
      .join('|'),
    heights: SERIES.map((k) => rev.map((s) => logPos(s[k.key]) * CHART_HEIGHT)),
  };
}

/**
 * Whether b would look like a (drawn): the same size, series and marks, as many samples, and no
 * shown series' point more than NOISE_PX from where a has it. A flat line a second later is the
 * same picture; a step, a spike moving left, a new mark or a resize is not.
 */
export function samePicture(a: ChartPicture | null, b: ChartPicture): boolean {
  if (!a || a.width !== b.width || a.shown !== b.shown || a.marks !== b.marks) return false;
  return b.heights.every((hs, k) => {
    if (hs.length !== a.heights[k].length) return false;
    return b.shown[k] === '0' || hs.every((h, i) => Math.abs(h - a.heights[k][i]) <= NOISE_PX);
  });
}
