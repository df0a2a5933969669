/**
 * The meter: `<cpu-meter>` samples once a second (meter-sampler.ts, meter-sampling.ts) and shows
 * the figures as a table (meter-rows.ts), a chart of the last minute (meter-chart.ts), per-mode
 * means, and exports them.
 */
import { LitElement, css, html, nothing, unsafeCSS } from 'lit';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import type { DisplayModeName, IoemuCounters } from '../ioemu/refresh';
import { MODE_NAME } from './mode-names';
import { I32, type StatsViews } from '../shared/layout';
import type { VramClient } from '../shared/api';
import {
  METER_HOLD_S,
  MeterSampler,
  meterChanged,
  meterMoved,
  perModeMeans,
  samplesToCsv,
  type MeterSample,
} from './meter-sampler';
import { addPageTime, pageTimeMs } from './page-time';
import { MeterChart, SERIES } from './meter-chart';
import { meterRows, type MeterPart } from './meter-rows';
import { HIDDEN_SLEEP_MS, SamplingController, type Sleep } from './meter-sampling';

export interface MeterSource {
  io: IoemuCounters | null;
  stats: StatsViews | null;
  label: { mode: string; workload: string; vramMiB: number; hz: number };
  /** The display's dirty-VRAM client (whose idle drop and trap state the meter shows); DISPLAY if absent. */
  client?: VramClient;
  /**
   * The display waits on its bell (I32.DISPLAY_BELL): nothing on the screen can change, and the
   * ioemu does no work, until the bell rings.
   */
  displayAsleep?: boolean;
  /** Run a callback once right after the display's next repaint (HvmDisplay.afterNextPaint). */
  afterNextPaint?: (cb: () => void) => void;
}

/** Keep an hour of samples for export; the chart shows the last minute. */
const KEEP = 3600;

/**
 * `<cpu-meter>`: per second, % of one core for the ioemu (main thread, measured around the
 * refresh work), the hypervisor and the guest (worker accounting in the stats SAB), idle, MIPS,
 * and the display's per-refresh figures; a chart of the last minute with a mark at each mode
 * change; export as CSV or JSON. Its own drawing is measured and shown on its own line.
 */
export class CpuMeter extends LitElement {
  static override properties = { source: { attribute: false }, rows: {} };
  static override styles = [
    unsafeCSS(uplotCss),
    css`
      :host {
        display: block;
        font-variant-numeric: tabular-nums;
        /* A figure that changes re-lays out and repaints the meter, not the page around it. */
        contain: content;
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
      .series {
        display: flex;
        flex-wrap: wrap;
        gap: 0.3rem;
        justify-content: center;
        margin: 0.2rem 0 0.4rem;
      }
      .series button[aria-pressed='false'] {
        opacity: 0.55;
        text-decoration: line-through;
      }
      table.per-mode {
        margin: 0.4rem 0;
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
  /** Which rows the table shows (meter-rows.ts): all, or a display's own (the A/B view shows the shared ones once). */
  declare rows: MeterPart;
  readonly samples: MeterSample[] = [];
  private readonly sampler = new MeterSampler();
  private readonly chart = new MeterChart();
  private last: MeterSample | null = null;
  /** A sample to draw at the display's next repaint (see drawSoon), or null. */
  private pending: MeterSample | null = null;
  /** When a callback was registered with the display's next repaint (-Infinity: none waits). */
  private waitingForPaintSince = -Infinity;
  private readonly sampling: SamplingController;

  constructor() {
    super();
    this.source = null;
    this.rows = 'all';
    this.sampling = new SamplingController(
      this,
      () => this.tick(),
      () => {
        this.pending = null;
        this.last = this.samples.at(-1) ?? null;
        this.requestUpdate();
      },
    );
  }

  /** Ticks run and sleeps begun by the sampling loop. */
  get samplingCounters(): { readonly ticks: number; readonly sleeps: number } {
    return this.sampling.counters;
  }

  private tick(): Sleep | null {
    const src = this.source?.();
    if (!src) return null;
    const i32 = src.stats?.i32;
    // The bells before looking: a ring after these loads ends the sleep planned below at once.
    const display = i32 ? Atomics.load(i32, I32.DISPLAY_BELL) : 0;
    const page = i32 ? Atomics.load(i32, I32.PAGE_BELL) : 0;
    const fresh = this.sampler.catchUp(src.io, pageTimeMs(), src.stats, src.label, src.client);
    const t0 = performance.now();
    const shownBefore = this.last;
    // A draw still waiting for the display's repaint is due now (a newer sample may replace it).
    const pending = this.sampling.visible ? this.pending : null;
    this.pending = null;
    let toDraw = pending;
    for (const s of fresh) {
      const prev = this.samples[this.samples.length - 1];
      if (prev && prev.mode !== s.mode) this.chart.marks.push({ t: s.t - s.windowMs / 2000, mode: s.mode });
      this.samples.push(s);
      if (this.samples.length > KEEP) this.samples.shift();
      // Sampled always (the export keeps every second); drawn only when it can be seen and when
      // something moved (meterMoved). lit then touches only the table cells whose text changed,
      // and the chart redraws only if its picture would.
      if (this.sampling.visible && meterMoved(toDraw ?? this.last, s)) toDraw = s;
      this.dispatchEvent(new CustomEvent('sample', { detail: s }));
    }
    if (toDraw) this.drawSoon(toDraw, src, pending);
    const s = fresh.at(-1);
    addPageTime(performance.now() - t0);
    // Sleep while the display does and nothing but time moves: a running machine with the idle
    // drop engaged or off (while it is armed, the meter shows it engage), nothing drawn but the
    // hold's redraw.
    if (!i32 || !s || !src.displayAsleep || s.machine !== 'running' || s.idleDrop === 'armed') return null;
    if (s.refreshHz > 0 || s.hypercallsPerS > 0 || meterChanged(shownBefore, s)) return null;
    const ms = this.sampling.visible
      ? Math.max(1000, ((this.last?.t ?? s.t) + METER_HOLD_S - s.t) * 1000)
      : HIDDEN_SLEEP_MS;
    return { i32, ms, display, page };
  }

  private draw(s: MeterSample): void {
    this.pending = null;
    this.last = s;
    this.requestUpdate();
  }

  /**
   * Draw sample s: while the display repaints (a clock each second, typing, a busy screen), at its
   * next repaint, so that the meter's figures and chart change in the frame that repaint makes
   * anyway rather than in a frame of their own; a draw still waiting at the next tick is made then
   * (s === pending: still waiting from the last tick). At once when the display repainted nothing in
   * the last two seconds.
   */
  private drawSoon(s: MeterSample, src: MeterSource, pending: MeterSample | null): void {
    // Repainting: in either of the last two seconds (a repaint a second lands in alternate windows
    // while the meter's ticks and the repaints keep about the same phase).
    const repainting = this.samples.slice(-2).some((x) => x.tilesPerRefresh > 0);
    if (!src.afterNextPaint || !repainting || s === pending) return this.draw(s);
    this.pending = s;
    // One callback at a time; one older than two seconds belongs to a display that went away
    // (a new machine, the A/B view toggled) or stopped painting: register again.
    const now = performance.now();
    if (now - this.waitingForPaintSince < 2000) return;
    this.waitingForPaintSince = now;
    src.afterNextPaint(() => {
      this.waitingForPaintSince = -Infinity;
      if (this.pending && this.sampling.visible) this.draw(this.pending);
      else this.pending = null;
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart.unwatch();
  }

  /** Redraws of the chart (for tests and the curious): none while the page is idle. */
  get chartRedraws(): number {
    return this.chart.redraws;
  }

  protected override updated(): void {
    // The table's re-render is the meter's own cost too; lit renders in a microtask after tick.
    const t0 = performance.now();
    const el = this.renderRoot.querySelector<HTMLElement>('.chart');
    if (el && this.sampling.visible) this.chart.draw(el, this.samples);
    addPageTime(performance.now() - t0);
  }

  private renderPerMode() {
    const { rows, ratio } = perModeMeans(this.samples);
    if (!rows.length) return nothing;
    return html`<table class="per-mode" aria-label="ioemu per display mode, mean of the seconds measured">
      <tr>
        <th>ioemu, mean per mode</th>
        <td></td>
        <td></td>
      </tr>
      ${rows.map(
        (r) =>
          html`<tr>
            <th>${MODE_NAME[r.mode as DisplayModeName] ?? r.mode}</th>
            <td>${r.pct < 0.01 ? r.pct.toFixed(4) : r.pct.toFixed(3)} %</td>
            <td>&nbsp;${r.seconds} s</td>
          </tr>`,
      )}
      ${
        ratio === null
          ? nothing
          : html`<tr>
              <th>poll / dirty + idle drop</th>
              <td class="big">${ratio >= 100 ? ratio.toFixed(0) : ratio.toFixed(1)}×</td>
              <td>&nbsp;(Xen 3.3: ~23×)</td>
            </tr>`
      }
    </table>`;
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
    return html`
      <p class="what" aria-live="polite">
        ${
          s
            ? html`Measured: <strong>${MODE_NAME[s.mode as DisplayModeName] ?? s.mode}</strong>, workload ${s.workload},
                ${s.vramMiB} MiB VRAM, ${s.hz}
                Hz${
                  s.machine !== 'running'
                    ? html` — <strong>the machine is ${s.machine === 'paused' ? 'paused' : 'stopped'}</strong>: it runs
                        no instructions`
                    : s.refreshHz === 0 && s.mode !== 'poll'
                      ? html` — the display sleeps (nothing to repaint), so the figures are redrawn every
                        ${METER_HOLD_S} s`
                      : ''
                }`
            : 'Measuring… (the first figures appear after two seconds)'
        }
      </p>
      <table aria-label="CPU time per second of wall time">
        ${meterRows(s, this.rows)}
      </table>
      <div class="chart" role="img" aria-label="CPU time of the last minute, log scale"></div>
      <div class="series" role="group" aria-label="Series shown in the chart">
        ${SERIES.map(
          (k, i) =>
            html`<button
              aria-pressed=${this.chart.hidden.has(i) ? 'false' : 'true'}
              title="Show or hide ${k.label} in the chart"
              @click=${() => {
                this.chart.toggle(i);
                this.requestUpdate();
              }}
            >
              <span class="swatch" style="background:${k.color}"></span>${k.label}
            </button>`,
        )}
      </div>
      ${this.renderPerMode()}
      <button @click=${() => this.download('csv')} ?disabled=${this.samples.length === 0}>Export CSV</button>
      <button @click=${() => this.download('json')} ?disabled=${this.samples.length === 0}>Export JSON</button>
    `;
  }
}
customElements.define('cpu-meter', CpuMeter);
