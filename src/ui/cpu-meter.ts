import { LitElement, css, html, unsafeCSS, type ReactiveController, type ReactiveControllerHost } from 'lit';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import type { IoemuCounters } from '../ioemu/refresh';
import type { StatsViews } from '../shared/layout';
import { MeterSampler, samplesToCsv, type MeterSample } from './meter-sampler';
import { uiTime } from './hvm-display';

export interface MeterSource {
  io: IoemuCounters | null;
  stats: StatsViews | null;
  label: { mode: string; workload: string; vramMiB: number; hz: number };
}

/** Samples once per second of wall time while the host is connected (a reactive controller). */
class SamplingController implements ReactiveController {
  private timer = 0;
  constructor(
    host: ReactiveControllerHost,
    private readonly onTick: () => void,
  ) {
    host.addController(this);
  }
  hostConnected(): void {
    this.timer = window.setInterval(this.onTick, 1000);
  }
  hostDisconnected(): void {
    clearInterval(this.timer);
  }
}

const SERIES = [
  { key: 'ioemuPct', label: 'ioemu', color: '#ff7a45' },
  { key: 'hvPct', label: 'hypervisor', color: '#ffd400' },
  { key: 'guestPct', label: 'guest', color: '#5ab0ff' },
  { key: 'uiPct', label: 'meter + page', color: '#9e9e9e' },
] as const;

/** Keep an hour of samples for export; the chart shows the last minute. */
const KEEP = 3600;
const CHART_SECONDS = 60;

/**
 * `<cpu-meter>`: per second, % of one core for the ioemu (main thread, measured around the
 * refresh work), the hypervisor and the guest (worker accounting in the stats SAB), idle, MIPS,
 * and the display's per-refresh figures; a chart of the last minute with a mark at each mode
 * change; export as CSV or JSON. Its own drawing is measured and shown on its own line.
 */
export class CpuMeter extends LitElement {
  static override properties = { source: { attribute: false } };
  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host {
        display: block;
        font-variant-numeric: tabular-nums;
      }
      table {
        border-collapse: collapse;
        width: 100%;
        font-size: 0.9rem;
      }
      th {
        text-align: left;
        font-weight: normal;
        opacity: 0.8;
        padding: 0.1rem 0.5rem 0.1rem 0;
      }
      td {
        text-align: right;
        padding: 0.1rem 0;
      }
      td.big {
        font-size: 1.25rem;
        font-weight: 600;
      }
      .swatch {
        display: inline-block;
        width: 0.7rem;
        height: 0.7rem;
        border-radius: 2px;
        margin-right: 0.4rem;
      }
      .chart {
        margin-top: 0.5rem;
      }
      .what {
        opacity: 0.7;
        font-size: 0.8rem;
        margin: 0.25rem 0;
      }
      button {
        font: inherit;
        font-size: 0.8rem;
      }
    `,
  ];

  declare source: (() => MeterSource) | null;
  readonly samples: MeterSample[] = [];
  /** Times (s) where the display mode changed, for the chart's marks. */
  private readonly marks: { t: number; mode: string }[] = [];
  private readonly sampler = new MeterSampler();
  private plot: uPlot | null = null;
  private last: MeterSample | null = null;

  constructor() {
    super();
    this.source = null;
    new SamplingController(this, () => this.tick());
  }

  private tick(): void {
    const src = this.source?.();
    if (!src) return;
    const s = this.sampler.sample(src.io, uiTime.ms, src.stats, src.label);
    const t0 = performance.now();
    if (s) {
      const prev = this.samples[this.samples.length - 1];
      if (prev && prev.mode !== s.mode) this.marks.push({ t: s.t - s.windowMs / 2000, mode: s.mode });
      this.samples.push(s);
      if (this.samples.length > KEEP) this.samples.shift();
      this.last = s;
      this.requestUpdate();
      this.drawChart();
      this.dispatchEvent(new CustomEvent('sample', { detail: s }));
    }
    uiTime.ms += performance.now() - t0;
  }

  protected override updated(): void {
    // The table's re-render is the meter's own cost too; lit renders in a microtask after tick.
    const t0 = performance.now();
    this.drawChart();
    uiTime.ms += performance.now() - t0;
  }

  private drawChart(): void {
    const el = this.renderRoot.querySelector<HTMLElement>('.chart');
    if (!el) return;
    const recent = this.samples.slice(-CHART_SECONDS);
    const data: uPlot.AlignedData = [recent.map((s) => s.t), ...SERIES.map((k) => recent.map((s) => s[k.key]))];
    const width = Math.max(240, el.clientWidth || 360);
    if (!this.plot) {
      const marks = this.marks;
      this.plot = new uPlot(
        {
          width,
          height: 160,
          legend: { show: false },
          cursor: { show: false },
          scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
          axes: [
            { stroke: '#aaa', grid: { stroke: '#333' }, label: 's' },
            { stroke: '#aaa', grid: { stroke: '#333' }, label: '% of a core', size: 50 },
          ],
          series: [{}, ...SERIES.map((k) => ({ label: k.label, stroke: k.color, width: 2 }))],
          hooks: {
            draw: [
              (u) => {
                const ctx = u.ctx;
                ctx.save();
                ctx.strokeStyle = '#e0e0e0';
                ctx.fillStyle = '#e0e0e0';
                ctx.setLineDash([4, 4]);
                ctx.font = `${11 * devicePixelRatio}px system-ui`;
                for (const m of marks) {
                  const x = u.valToPos(m.t, 'x', true);
                  if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
                  ctx.beginPath();
                  ctx.moveTo(x, u.bbox.top);
                  ctx.lineTo(x, u.bbox.top + u.bbox.height);
                  ctx.stroke();
                  ctx.fillText(m.mode, x + 3, u.bbox.top + 12 * devicePixelRatio);
                }
                ctx.restore();
              },
            ],
          },
        },
        data,
        el,
      );
    } else {
      if (this.plot.width !== width) this.plot.setSize({ width, height: 160 });
      this.plot.setData(data);
    }
  }

  private download(kind: 'csv' | 'json'): void {
    const body = kind === 'csv' ? samplesToCsv(this.samples) : JSON.stringify(this.samples, null, 1);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([body], { type: kind === 'csv' ? 'text/csv' : 'application/json' }));
    a.download = `hvm-meter-${new Date().toISOString().replace(/[:.]/g, '-')}.${kind}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  override render() {
    const s = this.last;
    const f = (v: number | undefined, digits = 2) => (v === undefined ? '–' : v.toFixed(digits));
    const row = (label: string, color: string | null, v: string, unit: string, big = false) =>
      html`<tr>
        <th>${color ? html`<span class="swatch" style="background:${color}"></span>` : ''}${label}</th>
        <td class=${big ? 'big' : ''}>${v}</td>
        <td>&nbsp;${unit}</td>
      </tr>`;
    return html`
      <p class="what" aria-live="polite">
        ${
          s
            ? html`Measured: <strong>${s.mode}</strong>, workload ${s.workload}, ${s.vramMiB} MiB VRAM, ${s.hz} Hz`
            : 'Measuring… (the first figures appear after two seconds)'
        }
      </p>
      <table aria-label="CPU time per second of wall time">
        ${row('ioemu (display refresh)', SERIES[0].color, f(s?.ioemuPct, 3), '% of a core', true)}
        ${row('hypervisor (dirty tracking)', SERIES[1].color, f(s?.hvPct, 3), '%')}
        ${row('guest', SERIES[2].color, f(s?.guestPct, 1), '%')} ${row('idle (HLT)', null, f(s?.idlePct, 1), '%')}
        ${row('meter + page', SERIES[3].color, f(s?.uiPct, 3), '%')} ${row('MIPS', null, f(s?.mips, 2), '')}
        ${row('refreshes', null, f(s?.refreshHz, 1), '/s')}
        ${row('pages compared', null, f(s?.pagesComparedPerRefresh, 0), '/refresh')}
        ${row('pages dirty', null, f(s?.dirtyPagesPerRefresh, 1), '/refresh')}
        ${row('tiles repainted', null, f(s?.tilesPerRefresh, 1), '/refresh')}
        ${row('hypervisor page scans', null, f(s?.hvPagesScannedPerS, 0), '/s')}
        <tr>
          <th>idle drop</th>
          <td
            colspan="2"
            title="Xen 3.3's idle drop: after two seconds without a write the hypervisor write-protects VRAM and stops scanning"
          >
            ${s?.idleDrop === 'engaged' ? 'engaged: VRAM write-protected' : (s?.idleDrop ?? '–')}
          </td>
        </tr>
      </table>
      <div class="chart" role="img" aria-label="CPU time of the last minute"></div>
      <button @click=${() => this.download('csv')} ?disabled=${this.samples.length === 0}>Export CSV</button>
      <button @click=${() => this.download('json')} ?disabled=${this.samples.length === 0}>Export JSON</button>
    `;
  }
}
customElements.define('cpu-meter', CpuMeter);
