/**
 * The meter's chart (uPlot): the last minute of ioemu, hypervisor, guest and the page's own
 * figures on a log scale (poll's ~7 % and dirty tracking's ~0.01 % are three decades apart), the
 * Xen 3.3 figures as reference lines, a mark where the display mode changed; a series is toggled
 * by clicking its name. Redrawn only when its picture in pixels would change.
 */
import uPlot from 'uplot';
import type { DisplayModeName } from '../ioemu/refresh';
import type { MeterSample } from './meter-sampler';
import { MODE_NAME } from './mode-names';

/** The series, in the table's colours. */
export const SERIES = [
  { key: 'ioemuPct', label: 'ioemu', color: '#ff7a45' },
  { key: 'hvPct', label: 'hypervisor', color: '#ffd400' },
  { key: 'guestPct', label: 'guest', color: '#5ab0ff' },
  { key: 'uiPct', label: 'meter + page', color: '#9e9e9e' },
] as const;

const CHART_SECONDS = 60;
const CHART_HEIGHT = 220;
/** The chart's floor (% of a core): its log scale cannot show 0. */
const Y_FLOOR = 0.001;
/** The seed's result (Xen 3.3's release notes): an idle HVM guest's ioemu, polling and with dirty tracking. */
const XEN_REFERENCE = [
  { pct: 7, label: 'Xen ≤ 3.2, polling ~7 %' },
  { pct: 0.3, label: 'Xen 3.3 ~0.3 %' },
];

/** Where v sits on the chart's log scale, 0 (floor) to 1 (100 %). */
function logPos(v: number): number {
  const lo = Math.log10(Y_FLOOR);
  return (Math.log10(Math.max(Y_FLOOR, Math.min(100, v))) - lo) / (2 - lo);
}

export class MeterChart {
  /** Times (s) where the display mode changed, for the chart's marks. */
  readonly marks: { t: number; mode: string }[] = [];
  private plot: uPlot | null = null;
  /** What the chart shows now, in pixels (see chartKey): a redraw that would show the same is skipped. */
  private drawnKey = '';
  /** The time (s) of the chart's newest sample, x = 0 (the marks are drawn relative to it). */
  private chartNow = 0;

  /**
   * The chart's picture in pixels: the size, each series' points as rounded pixel heights on the
   * log scale (x is seconds before now, so a flat line looks the same a second later), the hidden
   * series and the marks.
   */
  private chartKey(recent: readonly MeterSample[], width: number): string {
    const px = (v: number) => Math.round(logPos(v) * CHART_HEIGHT);
    const last = recent.at(-1)?.t ?? 0;
    const marks = this.marks
      .filter((m) => m.t >= last - CHART_SECONDS)
      .map((m) => `${Math.round(m.t - last)}${m.mode}`);
    const shown = this.plot ? this.plot.series.map((x) => (x.show ? 1 : 0)).join('') : '';
    return [
      width,
      shown,
      recent.length,
      ...SERIES.map((k) => recent.map((s) => px(s[k.key])).join(',')),
      ...marks,
    ].join('|');
  }

  /** Draw the last minute of `samples` into `el` (nothing when the picture would be the same). */
  draw(el: HTMLElement, samples: readonly MeterSample[]): void {
    const recent = samples.slice(-CHART_SECONDS);
    const now = recent.at(-1)?.t ?? 0;
    // A log scale cannot show 0: figures below the floor sit on it (the table gives them exactly).
    const data: uPlot.AlignedData = [
      recent.map((s) => s.t - now),
      ...SERIES.map((k) => recent.map((s) => Math.max(Y_FLOOR, s[k.key]))),
    ];
    const width = Math.max(280, el.clientWidth || 360);
    const key = this.chartKey(recent, width);
    if (this.plot && key === this.drawnKey) return;
    this.drawnKey = key;
    this.chartNow = now;
    if (!this.plot) {
      const marks = this.marks;
      this.plot = new uPlot(
        {
          width,
          height: CHART_HEIGHT,
          // The legend toggles a series (click its name); values are in the table above.
          legend: { show: true, live: false },
          cursor: { show: false },
          scales: {
            x: { time: false, range: () => [-CHART_SECONDS + 1, 0] },
            // Log: poll's ~7 % and dirty tracking's ~0.01 % are three decades apart.
            y: { distr: 3, range: () => [Y_FLOOR, 100] },
          },
          axes: [
            { stroke: '#aaa', grid: { stroke: '#333' }, label: 's (before now)' },
            {
              stroke: '#aaa',
              grid: { stroke: '#333' },
              label: '% of a core (log)',
              size: 56,
              // Decades only (1e-3 … 100), written plainly; uPlot passes null for ticks it leaves out.
              values: (_u, vals) => vals.map((v) => (v == null ? '' : v >= 1 ? String(v) : String(+v.toPrecision(1)))),
            },
          ],
          series: [{}, ...SERIES.map((k) => ({ label: k.label, stroke: k.color, width: 2 }))],
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
                  // Alternate the label's row so that marks close together do not overprint.
                  ctx.fillText(
                    MODE_NAME[m.mode as DisplayModeName] ?? m.mode,
                    x + 3 * dpr,
                    u.bbox.top + (12 + 13 * (labelRow++ % 3)) * dpr,
                  );
                }
                ctx.restore();
              },
            ],
            // A series toggled in the legend is a new picture.
            setSeries: [() => (this.drawnKey = '')],
          },
        },
        data,
        el,
      );
    } else {
      if (this.plot.width !== width) this.plot.setSize({ width, height: CHART_HEIGHT });
      this.plot.setData(data);
    }
  }
}
