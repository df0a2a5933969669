/**
 * What the meter's chart shows, in pixels, and when it is redrawn: only when its picture changes
 * by more than the eye can tell, and while it changes only by the small moves of a steady page
 * (the figures' jitter, the seconds sliding left), once every CHART_STEP_S. So an idle page does
 * not repaint (re-raster, upload, composite) a chart each second that tells nothing new, and a
 * real change — a mode switch, a figure that moves by a decade, a toggle, a resize — shows at once.
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

/**
 * While only small moves changed the picture, it is redrawn once every this many seconds of
 * samples: the chart's newest point is then at most this old (the table above it is live).
 */
export const CHART_STEP_S = 5;
/** A point that moves this far (CSS pixels, a decade on the log scale) is a change shown at once. */
export const STEP_PX = CHART_HEIGHT / 5;

/** Where v sits on the chart's log scale, 0 (floor) to 1 (100 %). */
export function logPos(v: number): number {
  const lo = Math.log10(Y_FLOOR);
  return (Math.log10(Math.max(Y_FLOOR, Math.min(100, v))) - lo) / (2 - lo);
}

/** The chart's picture: what decides what it looks like. */
export interface ChartPicture {
  /** The newest sample's time (s). */
  newest: number;
  width: number;
  /** Each series shown (1) or toggled off (0). */
  shown: string;
  /** The mode marks in the window, as "seconds before the newest sample, mode". */
  marks: string;
  /** The same marks by their own time: which marks there are, wherever they sit. */
  markSet: string;
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
  const shownMarks = marks.filter((m) => m.t >= newest - CHART_SECONDS);
  return {
    newest,
    width,
    shown: SERIES.map((_, i) => (hidden.has(i) ? 0 : 1)).join(''),
    marks: shownMarks.map((m) => `${Math.round(m.t - newest)} ${m.mode}`).join('|'),
    markSet: shownMarks.map((m) => `${m.t} ${m.mode}`).join('|'),
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

/**
 * Whether the chart showing a must be redrawn to show b: not when b looks the same
 * (samePicture); at once when the size, the series shown or the set of mode marks differs, or when
 * a shown series' newest point moved STEP_PX or more from a's newest; otherwise (the figures'
 * jitter, the seconds sliding left) once CHART_STEP_S seconds of samples have passed since a.
 */
export function redrawDue(a: ChartPicture | null, b: ChartPicture): boolean {
  if (samePicture(a, b)) return false;
  if (!a || a.width !== b.width || a.shown !== b.shown || a.markSet !== b.markSet) return true;
  const stepped = b.heights.some((hs, k) => {
    const was = a.heights[k][0];
    return b.shown[k] === '1' && hs.length > 0 && (was === undefined || Math.abs(hs[0] - was) >= STEP_PX);
  });
  return stepped || b.newest - a.newest >= CHART_STEP_S;
}
