/**
 * The A/B view: two displays of the same running guest side by side, each in its own mode with
 * its own dirty-VRAM client and meter, the live ratio of their ioemu cost (abRatio) above them and
 * the figures they share once under them.
 */
import { LitElement, css, html, nothing } from 'lit';
import type { MemoryLayout, StatsViews } from '../shared/layout';
import { DISPLAY_MODES, type DirtyVramOps, type DisplayModeName, type RefresherOptions } from '../ioemu/refresh';
import type { MeterSample } from './meter-sampler';
import type { MeterSource } from './cpu-meter';
import type { HvmDisplay } from './hvm-display';
import { MODE_NAME } from './mode-names';
import { meterRows } from './meter-rows';
import './hvm-display';
import './cpu-meter';

/** Seconds of each display's ioemu figure the live ratio averages. */
export const AB_WINDOW_S = 10;
/** Seconds left out after a mode switch (its full repaint is not the mode's steady cost). */
const SETTLE_S = 2;

/** One side of the comparison. */
export interface AbSide {
  mode: DisplayModeName;
  ops: DirtyVramOps;
}

/**
 * The ratio of two displays' ioemu cost over their last seconds: the mean of each over the samples
 * taken since its mode last changed (leaving out the switch's first seconds), at most AB_WINDOW_S
 * of them, and the dearer over the cheaper. null until both have a second to show; ratio null
 * when the cheaper one measured no time at all.
 */
export function abRatio(
  a: readonly MeterSample[],
  b: readonly MeterSample[],
): { a: number; b: number; seconds: number; ratio: number | null; dearer: 'a' | 'b' } | null {
  const steady = (xs: readonly MeterSample[]) => {
    const mode = xs.at(-1)?.mode;
    let k = xs.length;
    while (k > 0 && xs[k - 1].mode === mode) k--;
    const since = xs[k]?.t ?? 0;
    return xs
      .slice(k)
      .filter((s) => s.t - since >= SETTLE_S && s.machine === 'running')
      .slice(-AB_WINDOW_S);
  };
  const sa = steady(a);
  const sb = steady(b);
  if (!sa.length || !sb.length) return null;
  const mean = (xs: MeterSample[]) => xs.reduce((n, s) => n + s.ioemuPct, 0) / xs.length;
  const ma = mean(sa);
  const mb = mean(sb);
  const dearer = ma >= mb ? 'a' : 'b';
  const lo = Math.min(ma, mb);
  return {
    a: ma,
    b: mb,
    seconds: Math.min(sa.length, sb.length),
    ratio: lo > 0 ? Math.max(ma, mb) / lo : null,
    dearer,
  };
}

/**
 * `<hvm-ab-view>`: two displays of the same running guest side by side, each in its own display
 * mode with its own dirty-VRAM client (so neither takes the other's dirty bits) and its own meter
 * column (the display's own figures), the figures they share (the guest, the hypervisor) once
 * under both, and above them the live ratio of their ioemu cost.
 */
export class HvmAbView extends LitElement {
  static override properties = {
    memory: { attribute: false },
    layout: { attribute: false },
    stats: { attribute: false },
    a: { attribute: false },
    b: { attribute: false },
    hz: { type: Number },
    overlay: { type: Boolean },
    heat: { type: Boolean },
    options: { attribute: false },
    label: { attribute: false },
    fitWidth: { type: Number },
    fitHeight: { type: Number },
  };
  static override styles = css`
    :host {
      display: block;
    }
    .ratio {
      margin: 0 0 0.5rem;
      padding: 0.35rem 0.75rem;
      background: #171b21;
      border: 1px solid #2a2f37;
      border-radius: 8px;
      font-variant-numeric: tabular-nums;
    }
    .ratio strong {
      font-size: 1.25rem;
    }
    .cols {
      display: grid;
      grid-template-columns: repeat(2, minmax(0, 1fr));
      gap: 1rem;
      align-items: start;
    }
    section {
      min-width: 0;
    }
    h2 {
      font-size: 1rem;
      margin: 0 0 0.3rem;
      display: flex;
      gap: 0.5rem;
      align-items: center;
    }
    select {
      font: inherit;
      font-size: 0.9rem;
    }
    /* As wide as a column: the shared figures read as the row under both. */
    table.shared {
      width: calc(50% - 0.5rem);
      margin-top: 0.5rem;
      background: #171b21;
      border: 1px solid #2a2f37;
      border-radius: 8px;
      padding: 0.5rem;
      font-size: 0.9rem;
      font-variant-numeric: tabular-nums;
    }
    table.shared caption {
      text-align: left;
      opacity: 0.8;
      padding: 0 0 0.2rem;
    }
    table.shared th {
      text-align: left;
      font-weight: normal;
      opacity: 0.8;
      padding: 0.1rem 0.5rem 0.1rem 0;
    }
    table.shared td {
      text-align: right;
      padding: 0.1rem 0;
    }
    .swatch {
      display: inline-block;
      width: 0.7rem;
      height: 0.7rem;
      border-radius: 2px;
      margin-right: 0.4rem;
    }
    cpu-meter {
      margin-top: 0.5rem;
      background: #171b21;
      border: 1px solid #2a2f37;
      border-radius: 8px;
      padding: 0.5rem;
    }
  `;

  declare memory: SharedArrayBuffer | null;
  declare layout: MemoryLayout | null;
  declare stats: StatsViews | null;
  declare a: AbSide | null;
  declare b: AbSide | null;
  declare hz: number;
  declare overlay: boolean;
  declare heat: boolean;
  declare options: RefresherOptions;
  declare label: { workload: string; vramMiB: number };
  declare fitWidth: number;
  declare fitHeight: number;
  private readonly samples: { a: MeterSample[]; b: MeterSample[] } = { a: [], b: [] };

  constructor() {
    super();
    this.memory = null;
    this.layout = null;
    this.stats = null;
    this.a = null;
    this.b = null;
    this.hz = 30;
    this.overlay = false;
    this.heat = false;
    this.options = {};
    this.label = { workload: '', vramMiB: 0 };
    this.fitWidth = 0;
    this.fitHeight = 0;
  }

  /** The two displays (A left, B right), for the page's debug handle and the tests. */
  get displays(): { a: HvmDisplay | null; b: HvmDisplay | null } {
    return {
      a: this.renderRoot.querySelector<HvmDisplay>('hvm-display.a'),
      b: this.renderRoot.querySelector<HvmDisplay>('hvm-display.b'),
    };
  }

  private source(side: 'a' | 'b'): () => MeterSource {
    return () => {
      const d = this.displays[side];
      const s = this[side];
      return {
        io: d?.refresher?.counters ?? null,
        stats: this.stats,
        label: { mode: s?.mode ?? '', workload: this.label.workload, vramMiB: this.label.vramMiB, hz: this.hz },
        client: s?.ops.client,
        // As the main view's meter: asleep with its display (the bell both displays wait on wakes it).
        displayAsleep: d?.scheduler.asleep ?? false,
        afterNextPaint: (cb) => this.displays[side]?.afterNextPaint(cb),
      };
    };
  }
  private readonly sources = { a: this.source('a'), b: this.source('b') };

  private onSample(side: 'a' | 'b', s: MeterSample): void {
    const xs = this.samples[side];
    xs.push(s);
    if (xs.length > 120) xs.shift();
    this.requestUpdate();
  }

  private renderRatio() {
    const r = abRatio(this.samples.a, this.samples.b);
    const name = (side: 'a' | 'b') => MODE_NAME[this[side]?.mode ?? 'poll'];
    const pct = (v: number) => (v < 0.01 ? v.toFixed(4) : v.toFixed(3));
    if (!r)
      return html`<p class="ratio" role="status">
        Measuring both displays… (the ratio appears once each has ${SETTLE_S + 1} s in its mode)
      </p>`;
    const cheaper = r.dearer === 'a' ? 'b' : 'a';
    return html`<p class="ratio" role="status" aria-label="ioemu cost ratio of the two displays">
      ioemu, mean of the last ${r.seconds} s: A (${name('a')}) ${pct(r.a)} % · B (${name('b')}) ${pct(r.b)} % →
      ${
        r.ratio === null
          ? html`<strong class="value">${r.dearer.toUpperCase()} only</strong> (${name(cheaper)} measured no time)`
          : html`${r.dearer.toUpperCase()} / ${cheaper.toUpperCase()} =
              <strong class="value">${r.ratio >= 100 ? r.ratio.toFixed(0) : r.ratio.toFixed(1)}×</strong>`
      }
      (Xen 3.3: ~23×)
    </p>`;
  }

  private renderSide(side: 'a' | 'b') {
    const s = this[side];
    if (!s || !this.memory || !this.layout || !this.stats) return nothing;
    return html`<section aria-label="Display ${side.toUpperCase()}: ${MODE_NAME[s.mode]}">
      <h2>
        ${side.toUpperCase()}
        <select
          aria-label="Display ${side.toUpperCase()} mode"
          @change=${(e: Event) =>
            this.dispatchEvent(
              new CustomEvent('ab-mode', {
                detail: { side, mode: (e.target as HTMLSelectElement).value as DisplayModeName },
              }),
            )}
        >
          ${DISPLAY_MODES.map((m) => html`<option value=${m} ?selected=${m === s.mode}>${MODE_NAME[m]}</option>`)}
        </select>
      </h2>
      <hvm-display
        class=${side}
        .memory=${this.memory}
        .layout=${this.layout}
        .stats=${this.stats}
        .ops=${s.ops}
        .mode=${s.mode}
        .hz=${this.hz}
        .overlay=${this.overlay}
        .heat=${this.heat}
        .options=${this.options}
        .fitWidth=${this.fitWidth}
        .fitHeight=${this.fitHeight}
        .releaseOnDisconnect=${side === 'b'}
      ></hvm-display>
      <cpu-meter
        rows="display"
        .source=${this.sources[side]}
        @sample=${(e: CustomEvent<MeterSample>) => this.onSample(side, e.detail)}
      ></cpu-meter>
    </section>`;
  }

  /** The figures both displays share (the guest, the hypervisor, the page's own drawing): once, from A's meter. */
  private renderShared() {
    const s = this.samples.a.at(-1) ?? null;
    return html`<table class="shared" aria-label="The guest's and the hypervisor's CPU time, shared by A and B">
      <caption>
        The guest and the hypervisor (one machine under both displays)
      </caption>
      ${meterRows(s, 'shared')}
    </table>`;
  }

  override render() {
    return html`${this.renderRatio()}
      <div class="cols">${this.renderSide('a')} ${this.renderSide('b')}</div>
      ${this.renderShared()}`;
  }
}
customElements.define('hvm-ab-view', HvmAbView);
