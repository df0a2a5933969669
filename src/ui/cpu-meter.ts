import { LitElement, css, html, nothing, unsafeCSS, type ReactiveController, type ReactiveControllerHost } from 'lit';
import uPlot from 'uplot';
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
import { uiTime } from './hvm-display';

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
}

/** A tick's word on the next one: sleep on the machine's bells for up to ms (null: tick in a second). */
interface Sleep {
  i32: Int32Array;
  ms: number;
  /** The bells as they were read before the tick looked at anything (a later ring wakes at once). */
  display: number;
  page: number;
}

/** The longest the meter sleeps while it cannot be seen (the seconds ring keeps SECONDS_RING_LEN). */
const HIDDEN_SLEEP_MS = 30_000;

/**
 * Samples once per second of wall time while the host is connected, and knows whether the meter
 * can be seen (the page is visible and the meter is on screen): drawing what nobody can see costs
 * the tab frames for nothing. While the display sleeps and the figures hold (meterChanged), a
 * tick may ask to sleep instead: no timer wakes the main thread each second, only the display bell
 * (the display wakes, so the meter does), the page bell (the machine stopped, COM1 output), the
 * hold's next redraw or the meter coming into view; the seconds in between are reported when it
 * wakes (MeterSampler.catchUp). A reactive controller.
 */
class SamplingController implements ReactiveController {
  private timer = 0;
  /** Bumped by every tick: a bell wait begun before it is stale. */
  private epoch = 0;
  /** Asleep since this epoch (-1: awake). */
  private sleepingEpoch = -1;
  /** The stats block whose page bell has a wait pending (one at a time: a wait cannot be cancelled). */
  private pageWaitOn: Int32Array | null = null;
  private onScreen = true;
  private observer: IntersectionObserver | null = null;
  /** Ticks run, and sleeps begun (for tests and the curious). */
  readonly counters = { ticks: 0, sleeps: 0 };
  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly onTick: () => Sleep | null,
    /** Called when the meter becomes visible again (to draw what it skipped). */
    private readonly onShown: () => void,
  ) {
    host.addController(this);
  }
  get visible(): boolean {
    return this.onScreen && document.visibilityState === 'visible';
  }
  get asleep(): boolean {
    return this.sleepingEpoch >= 0;
  }
  private readonly onVisibility = (): void => {
    if (this.visible) this.shown();
  };
  private shown(): void {
    this.onShown();
    if (this.asleep) this.fire(); // its hold is shorter in view: look now
  }
  hostConnected(): void {
    this.timer = window.setTimeout(this.fire, 1000);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.observer = new IntersectionObserver((entries) => {
      const was = this.visible;
      this.onScreen = entries.at(-1)?.isIntersecting ?? true;
      if (!was && this.visible) this.shown();
    });
    this.observer.observe(this.host);
  }
  hostDisconnected(): void {
    this.epoch++;
    this.sleepingEpoch = -1;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.observer?.disconnect();
    this.observer = null;
  }

  private readonly fire = (): void => {
    clearTimeout(this.timer);
    this.epoch++;
    this.sleepingEpoch = -1;
    this.counters.ticks++;
    const sleep = this.onTick();
    if (sleep) this.sleep(sleep);
    else this.timer = window.setTimeout(this.fire, 1000);
  };

  private sleep({ i32, ms, display, page }: Sleep): void {
    const epoch = this.epoch;
    this.sleepingEpoch = epoch;
    this.counters.sleeps++;
    const wake = () => {
      if (this.sleepingEpoch === epoch) this.fire();
    };
    // The display bell's wait is also the timer: it times out when the hold's redraw is due.
    const d = Atomics.waitAsync(i32, I32.DISPLAY_BELL, display, ms);
    if (!d.async) return wake();
    void d.value.then(wake);
    if (this.pageWaitOn !== i32) {
      const p = Atomics.waitAsync(i32, I32.PAGE_BELL, page);
      if (!p.async) return wake();
      this.pageWaitOn = i32;
      void p.value.then(() => {
        if (this.pageWaitOn === i32) this.pageWaitOn = null;
        if (this.sleepingEpoch >= 0) this.fire();
      });
    } else if (Atomics.load(i32, I32.PAGE_BELL) !== page) wake();
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
  readonly samples: MeterSample[] = [];
  /** Times (s) where the display mode changed, for the chart's marks. */
  private readonly marks: { t: number; mode: string }[] = [];
  private readonly sampler = new MeterSampler();
  private plot: uPlot | null = null;
  private last: MeterSample | null = null;
  /** What the chart shows now, in pixels (see chartKey): a redraw that would show the same is skipped. */
  private drawnKey = '';
  private readonly sampling: SamplingController;
  /** The time (s) of the chart's newest sample, x = 0 (the marks are drawn relative to it). */
  private chartNow = 0;

  constructor() {
    super();
    this.source = null;
    this.sampling = new SamplingController(
      this,
      () => this.tick(),
      () => {
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
    const fresh = this.sampler.catchUp(src.io, uiTime.ms, src.stats, src.label, src.client);
    const t0 = performance.now();
    const shownBefore = this.last;
    for (const s of fresh) {
      const prev = this.samples[this.samples.length - 1];
      if (prev && prev.mode !== s.mode) this.marks.push({ t: s.t - s.windowMs / 2000, mode: s.mode });
      this.samples.push(s);
      if (this.samples.length > KEEP) this.samples.shift();
      // Sampled always (the export keeps every second); drawn only when it can be seen and when
      // something moved (meterMoved). lit then touches only the table cells whose text changed,
      // and the chart redraws only if its picture would.
      if (this.sampling.visible && meterMoved(this.last, s)) {
        this.last = s;
        this.requestUpdate();
      }
      this.dispatchEvent(new CustomEvent('sample', { detail: s }));
    }
    uiTime.ms += performance.now() - t0;
    // Sleep while the display does and nothing but time moves: a running machine with the idle
    // drop engaged or off (while it is armed, the meter shows it engage), nothing drawn but the
    // hold's redraw.
    const s = fresh.at(-1);
    if (!i32 || !s || !src.displayAsleep || s.machine !== 'running' || s.idleDrop === 'armed') return null;
    if (s.refreshHz > 0 || s.hypercallsPerS > 0 || meterChanged(shownBefore, s)) return null;
    const ms = this.sampling.visible
      ? Math.max(1000, ((this.last?.t ?? s.t) + METER_HOLD_S - s.t) * 1000)
      : HIDDEN_SLEEP_MS;
    return { i32, ms, display, page };
  }

  protected override updated(): void {
    // The table's re-render is the meter's own cost too; lit renders in a microtask after tick.
    const t0 = performance.now();
    this.drawChart();
    uiTime.ms += performance.now() - t0;
  }

  /**
   * The chart's picture in pixels: the size, each series' points as rounded pixel heights on the
   * log scale (x is seconds before now, so a flat line looks the same a second later), the hidden
   * series and the marks.
   */
  private chartKey(recent: MeterSample[], width: number): string {
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

  private drawChart(): void {
    const el = this.renderRoot.querySelector<HTMLElement>('.chart');
    if (!el || !this.sampling.visible) return;
    const recent = this.samples.slice(-CHART_SECONDS);
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
    const f = (v: number | undefined, digits = 2) => (v === undefined ? '–' : v.toFixed(digits));
    // A paused or stopped machine has no guest or idle time to show: say so rather than 0.0.
    const running = !s || s.machine === 'running';
    const machineWord = s?.machine === 'paused' ? 'paused' : 'stopped';
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
        ${row('ioemu (display refresh)', SERIES[0].color, f(s?.ioemuPct, 3), '% of a core', true)}
        ${row('hypervisor (dirty tracking)', SERIES[1].color, f(s?.hvPct, 3), '%')}
        ${row('guest', SERIES[2].color, running ? f(s?.guestPct, 1) : machineWord, running ? '%' : '')}
        ${row('idle (HLT)', null, running ? f(s?.idlePct, 1) : machineWord, running ? '%' : '')}
        ${row('meter + page', SERIES[3].color, f(s?.uiPct, 3), '%')} ${row('MIPS', null, f(s?.mips, 2), '')}
        ${row('refreshes', null, f(s?.refreshHz, 1), '/s')}
        ${row('pages compared', null, f(s?.pagesComparedPerRefresh, 0), '/refresh')}
        ${row('pages dirty', null, f(s?.dirtyPagesPerRefresh, 1), '/refresh')}
        ${row('tiles repainted', null, f(s?.tilesPerRefresh, 1), '/refresh')}
        ${row('hypervisor page scans', null, f(s?.hvPagesScannedPerS, 0), '/s')}
        ${row('second-stage faults', null, f(s?.hvFaultsPerS, 0), '/s')}
        ${row('hypervisor time per fault', null, f(s?.hvUsPerFault, 2), 'µs')}
        <tr>
          <th>idle drop</th>
          <td
            colspan="2"
            title="Xen 3.3's idle drop: after two seconds without a write the hypervisor write-protects VRAM and stops scanning"
          >
            ${
              s?.hvTrap
                ? 'off (trap mode: every VRAM write faults)'
                : s?.idleDrop === 'engaged'
                  ? 'engaged: VRAM write-protected'
                  : (s?.idleDrop ?? '–')
            }
          </td>
        </tr>
      </table>
      <div class="chart" role="img" aria-label="CPU time of the last minute, log scale"></div>
      ${this.renderPerMode()}
      <button @click=${() => this.download('csv')} ?disabled=${this.samples.length === 0}>Export CSV</button>
      <button @click=${() => this.download('json')} ?disabled=${this.samples.length === 0}>Export JSON</button>
    `;
  }
}
customElements.define('cpu-meter', CpuMeter);
