/**
 * The meter's chart (uPlot): the last minute of ioemu, hypervisor, guest and the page's own
 * figures on a log scale (poll's ~7 % and dirty tracking's ~0.01 % are three decades apart), the
 * Xen 3.3 figures as reference lines, a mark where the display mode changed; each series can be
 * toggled (the meter's buttons under the chart). Redrawn only when its picture would change, and
 * while only jitter and time move it, every few seconds (chart-picture.ts); resized with its box
 * even while the meter sleeps.
 */
import uPlot from 'uplot';
import type { DisplayModeName } from '../ioemu/refresh';
import type { MeterSample } from './meter-sampler';
import { MODE_NAME } from './mode-names';
import {
  CHART_HEIGHT,
  CHART_SECONDS,
  SERIES,
  Y_FLOOR,
  chartPicture,
  redrawDue,
  type ChartPicture,
} from './chart-picture';

export { SERIES };

/** The seed's result (Xen 3.3's release notes): an idle HVM guest's ioemu, polling and with dirty tracking. */
const XEN_REFERENCE = [
  { pct: 7, label: 'Xen ≤ 3.2, polling ~7 %' },
  { pct: 0.3, label: 'Xen 3.3 ~0.3 %' },
];
/** The log scale's decades, 0.001 … 100 %: its ticks and grid lines (one line per decade, no bands). */
const DECADES = [0.001, 0.01, 0.1, 1, 10, 100];

export class MeterChart {
  /** Times (s) where the display mode changed, for the chart's marks. */
  readonly marks: { t: number; mode: string }[] = [];
  /** The series (indices into SERIES) toggled off. */
  readonly hidden = new Set<number>();
  /** Redraws made (for tests and the curious): an idle page makes none. */
  redraws = 0;
  private plot: uPlot | null = null;
  /** What the chart shows now (see chartPicture): a redraw that would look the same is skipped. */
  private drawn: ChartPicture | null = null;
  /** The time (s) of the drawn chart's newest sample, x = 0 (the marks are drawn relative to it). */
  private chartNow = 0;
  /** The chart's box, watched for its width: the meter may sleep while the page around it moves. */
  private box: HTMLElement | null = null;
  private resizes: ResizeObserver | null = null;

  /** The width the chart takes in its box. */
  private static widthOf(el: HTMLElement): number {
    return Math.max(240, Math.floor(el.clientWidth) || 360);
  }

  /**
   * Follow el's width: a column that narrows while the meter sleeps (a scroll bar that appears, a
   * window made smaller, the A/B view) must not leave the chart wider than its box, clipped.
   */
  private watch(el: HTMLElement): void {
    if (this.box === el) return;
    this.unwatch();
    this.box = el;
    this.resizes = new ResizeObserver(() => {
      const width = MeterChart.widthOf(el);
      if (!this.plot || !this.drawn || this.plot.width === width) return;
      this.plot.setSize({ width, height: CHART_HEIGHT });
      this.drawn = { ...this.drawn, width };
      this.redraws++;
    });
    this.resizes.observe(el);
  }

  /** Stop following the box (the meter left the page). */
  unwatch(): void {
    this.resizes?.disconnect();
    this.resizes = null;
    this.box = null;
  }

  /** Show or hide series i (an index into SERIES). */
  toggle(i: number): void {
    if (this.hidden.has(i)) this.hidden.delete(i);
    else this.hidden.add(i);
    if (!this.plot) return;
    this.plot.setSeries(i + 1, { show: !this.hidden.has(i) });
    if (this.drawn) this.drawn = { ...this.drawn, shown: SERIES.map((_, k) => (this.hidden.has(k) ? 0 : 1)).join('') };
    this.redraws++;
  }

  /** Draw the last minute of `samples` into `el` (nothing when the picture would be the same). */
  draw(el: HTMLElement, samples: readonly MeterSample[]): void {
    this.watch(el);
    const recent = samples.slice(-CHART_SECONDS);
    const width = MeterChart.widthOf(el);
    const picture = chartPicture(recent, this.marks, width, this.hidden);
    if (this.plot && !redrawDue(this.drawn, picture)) return;
    this.drawn = picture;
    this.redraws++;
    const now = recent.at(-1)?.t ?? 0;
    this.chartNow = now;
    // A log scale cannot show 0: figures below the floor sit on it (the table gives them exactly).
    const data: uPlot.AlignedData = [
      recent.map((s) => s.t - now),
      ...SERIES.map((k) => recent.map((s) => Math.max(Y_FLOOR, s[k.key]))),
    ];
    if (this.plot) {
      if (this.plot.width !== width) this.plot.setSize({ width, height: CHART_HEIGHT });
      this.plot.setData(data);
      return;
    }
    const marks = this.marks;
    this.plot = new uPlot(
      {
        width,
        height: CHART_HEIGHT,
        // The meter's own buttons toggle the series (uPlot's legend cannot be reached by keyboard).
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: false, range: () => [-CHART_SECONDS + 1, 0] },
          // Log: poll's ~7 % and dirty tracking's ~0.01 % are three decades apart.
          y: { distr: 3, range: () => [Y_FLOOR, 100] },
        },
        axes: [
          // Seconds before the newest point shown: a steady chart steps every CHART_STEP_S (chart-picture.ts).
          { stroke: '#aaa', grid: { stroke: '#333' }, label: 's (before the newest point)' },
          {
            stroke: '#aaa',
            grid: { stroke: '#333' },
            label: '% of a core (log)',
            size: 56,
            splits: () => DECADES,
            space: 14, // a label per decade (uPlot's default, 30 px, left every other one out)
            // Written plainly; uPlot passes null for a tick it leaves out for want of room.
            values: (_u, vals) => vals.map((v) => (v == null ? '' : v >= 1 ? String(v) : String(+v.toPrecision(1)))),
          },
        ],
        series: [
          {},
          ...SERIES.map((k, i) => ({ label: k.label, stroke: k.color, width: 2, show: !this.hidden.has(i) })),
        ],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              const dpr = devicePixelRatio;
              ctx.save();
              ctx.font = `${11 * dpr}px system-ui`;
              ctx.textAlign = 'left'; // the axes leave it right-aligned
              ctx.textBaseline = 'alphabetic';
              // The seed's figures: Xen's ioemu polling (~7 %) and with dirty tracking (~0.3 %).
              ctx.setLineDash([2 * dpr, 4 * dpr]);
              for (const r of XEN_REFERENCE) {
                const y = u.valToPos(r.pct, 'y', true);
                ctx.strokeStyle = ctx.fillStyle = '#8fbf8f';
                ctx.beginPath();
                ctx.moveTo(u.bbox.left, y);
                ctx.lineTo(u.bbox.left + u.bbox.width, y);
                ctx.stroke();
                ctx.fillText(r.label, u.bbox.left + 4 * dpr, y - 3 * dpr);
              }
              ctx.strokeStyle = ctx.fillStyle = '#e0e0e0';
              ctx.setLineDash([4 * dpr, 4 * dpr]);
              let labelRow = 0;
              for (const m of marks) {
                const x = u.valToPos(m.t - this.chartNow, 'x', true);
                if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
                ctx.beginPath();
                ctx.moveTo(x, u.bbox.top);
                ctx.lineTo(x, u.bbox.top + u.bbox.height);
                ctx.stroke();
                // Alternate the label's row so that marks close together do not overprint; a
                // label that would run past the plot's right edge goes left of its mark.
                const name = MODE_NAME[m.mode as DisplayModeName] ?? m.mode;
                const w = ctx.measureText(name).width;
                const right = x + 3 * dpr + w <= u.bbox.left + u.bbox.width;
                ctx.fillText(
                  name,
                  right ? x + 3 * dpr : x - 3 * dpr - w,
                  u.bbox.top + (12 + 13 * (labelRow++ % 3)) * dpr,
                );
              }
              ctx.restore();
            },
          ],
        },
      },
      data,
      el,
    );
  }
}
