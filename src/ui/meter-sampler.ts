/**
 * The meter's arithmetic, apart from any DOM: once per second of wall time, turn cumulative
 * counters (the ioemu's own, on this thread; the worker's, in the stats SAB) into rates over the
 * seconds that really elapsed. A figure is "% of one core": ms of thread time per ms of wall time.
 */
import { VramClient } from '../shared/api';
import {
  F64,
  HV_CLIENT_DROPPED,
  HV_CLIENT_IDLE_DROP,
  HV_CLIENT_TRAP,
  I32,
  RunState,
  SECONDS_RING_LEN,
  type StatsViews,
} from '../shared/layout';
import { newIoemuCounters, type IoemuCounters } from '../ioemu/refresh';

export interface MeterSample {
  /** Seconds since the meter started (end of the window). */
  t: number;
  /** Wall ms the window lasted. */
  windowMs: number;
  /** What was measured: display mode, workload, VRAM MiB, refresh rate asked. */
  mode: string;
  workload: string;
  vramMiB: number;
  hz: number;
  /** Main-thread time in the display refresh (the ioemu). */
  ioemuPct: number;
  /** Main-thread time of the page's own chrome: meter drawing, overlay. */
  uiPct: number;
  /** Worker: dirty tracking, guest instructions, HLT. */
  hvPct: number;
  guestPct: number;
  idlePct: number;
  mips: number;
  refreshHz: number;
  /** Per refresh: pages compared (poll), pages found changed or reported dirty, tiles repainted. */
  pagesComparedPerRefresh: number;
  dirtyPagesPerRefresh: number;
  tilesPerRefresh: number;
  hypercallsPerS: number;
  /** Pages the hypervisor scanned per second (0 once the idle drop engaged). */
  hvPagesScannedPerS: number;
  /** Second-stage faults per second (trap mode: one per guest store to the tracked range). */
  hvFaultsPerS: number;
  /** Hypervisor µs per second-stage fault over the window (0 when none was taken): what each costs the guest. */
  hvUsPerFault: number;
  /** The hypervisor's idle drop at the end of the window: off, armed (on, VRAM writable) or engaged (VRAM write-protected). */
  idleDrop: 'off' | 'armed' | 'engaged';
  /** The machine at the end of the window: running, paused (by the page), or stopped (exited, halted, crashed). */
  machine: 'running' | 'paused' | 'stopped' | 'none';
  /** Trap mode at the end of the window (I32.HV_TRAP): every guest write to the tracked VRAM faults. */
  hvTrap: boolean;
}

interface Snapshot {
  at: number;
  io: IoemuCounters;
  uiMs: number;
  f64: Float64Array;
}

const pct = (ms: number, windowMs: number) => (windowMs > 0 ? (100 * ms) / windowMs : 0);

function machineState(stats: StatsViews | null): MeterSample['machine'] {
  if (!stats) return 'none';
  const st = Atomics.load(stats.i32, I32.STATE);
  return st === RunState.RUNNING ? 'running' : st === RunState.PAUSED ? 'paused' : 'stopped';
}

export class MeterSampler {
  private prev: Snapshot | null = null;
  private prevSources: [IoemuCounters | null, StatsViews | null] = [null, null];
  private readonly t0 = performance.now();

  /** Take a snapshot; return the sample for the window since the previous one (null on the first). */
  sample(
    io: IoemuCounters | null,
    uiMs: number,
    stats: StatsViews | null,
    label: { mode: string; workload: string; vramMiB: number; hz: number },
    /** Whose idle drop and trap state to report: the display's dirty-VRAM client. */
    client: VramClient = VramClient.DISPLAY,
  ): MeterSample | null {
    const now: Snapshot = {
      at: performance.now(),
      io: io ? { ...io } : newIoemuCounters(),
      uiMs,
      f64: stats ? stats.f64.slice() : new Float64Array(F64.COUNT),
    };
    const p = this.prev;
    const [pio, pstats] = this.prevSources;
    this.prev = now;
    this.prevSources = [io, stats];
    // A new machine or refresher restarts its counters: start a new window rather than report nonsense.
    if (!p || io !== pio || stats !== pstats || now.f64[F64.INSTRUCTIONS] < p.f64[F64.INSTRUCTIONS]) return null;
    return this.between(p, now, stats, label, client);
  }

  /**
   * Like sample(), after a look that may come seconds after the previous one (the meter leaves the
   * main thread asleep while nothing moves): one sample per second of the gap, the worker's figures
   * from the seconds ring (layout.ts: the worker's own snapshot of its counters once a second),
   * this thread's (the ioemu, the page) all in the last one — the meter sleeps only while the
   * display does, so they did not move before it woke. A look within about a second of the
   * previous one gives the one sample sample() gives.
   */
  catchUp(
    io: IoemuCounters | null,
    uiMs: number,
    stats: StatsViews | null,
    label: { mode: string; workload: string; vramMiB: number; hz: number },
    client: VramClient = VramClient.DISPLAY,
  ): MeterSample[] {
    const p = this.prev;
    const last = this.sample(io, uiMs, stats, label, client);
    const now = this.prev;
    if (!last || !p || !now || !stats) return last ? [last] : [];
    const pPub = p.f64[F64.PUBLISHED_AT_MS];
    const nPub = now.f64[F64.PUBLISHED_AT_MS];
    if (nPub - pPub < 1500) return [last];
    // The entries strictly inside the gap, half a second from either end (no sliver of a window).
    // The oldest slot is skipped: the worker may be writing it over right now.
    const seq = Atomics.load(stats.i32, I32.SECONDS_SEQ);
    const mids: Snapshot[] = [];
    for (let n = Math.max(0, seq - SECONDS_RING_LEN + 1); n < seq; n++) {
      const at = (n % SECONDS_RING_LEN) * F64.COUNT;
      const f64 = stats.seconds.slice(at, at + F64.COUNT);
      const pub = f64[F64.PUBLISHED_AT_MS];
      // This thread's clock at that moment: the worker published `now` just before it was read.
      if (pub > pPub + 500 && pub < nPub - 500) mids.push({ at: now.at - (nPub - pub), io: p.io, uiMs: p.uiMs, f64 });
    }
    if (mids.length === 0) return [last];
    const chain = [p, ...mids, now];
    return chain.slice(1).map((q, i) => this.between(chain[i], q, stats, label, client));
  }

  /** The sample for the window from snapshot p to snapshot now. */
  private between(
    p: Snapshot,
    now: Snapshot,
    stats: StatsViews | null,
    label: { mode: string; workload: string; vramMiB: number; hz: number },
    client: VramClient,
  ): MeterSample {
    const w = now.at - p.at;
    const d = (k: number) => now.f64[k] - p.f64[k];
    // The worker's figures over the worker's own window (its counters are published at the end of
    // each slice, not when this thread looks): over this thread's window a slice published just
    // after one look and just before the next would count twice as long, past 100 % of a core.
    const ww = d(F64.PUBLISHED_AT_MS);
    const worker = (ms: number) => (ww > 0 ? Math.min(100, pct(ms, ww)) : 0);
    const refreshes = now.io.refreshes - p.io.refreshes;
    const hv = stats ? Atomics.load(stats.i32, I32.HV_CLIENT_STATE + client) : 0;
    const per = (x: number) => (refreshes > 0 ? x / refreshes : 0);
    return {
      t: (now.at - this.t0) / 1000,
      windowMs: w,
      ...label,
      ioemuPct: pct(now.io.workMs - p.io.workMs, w),
      uiPct: pct(now.uiMs - p.uiMs, w),
      hvPct: worker(d(F64.HV_MS)),
      guestPct: worker(d(F64.GUEST_MS)),
      idlePct: worker(d(F64.IDLE_MS)),
      mips: w > 0 ? d(F64.INSTRUCTIONS) / w / 1000 : 0,
      refreshHz: w > 0 ? (1000 * refreshes) / w : 0,
      pagesComparedPerRefresh: per(now.io.pagesCompared - p.io.pagesCompared),
      dirtyPagesPerRefresh: per(now.io.pagesChanged - p.io.pagesChanged),
      tilesPerRefresh: per(now.io.tilesRepainted - p.io.tilesRepainted),
      hypercallsPerS: w > 0 ? (1000 * (now.io.hypercalls - p.io.hypercalls)) / w : 0,
      hvPagesScannedPerS: w > 0 ? (1000 * d(F64.HV_PAGES_SCANNED)) / w : 0,
      hvFaultsPerS: w > 0 ? (1000 * d(F64.HV_S2_FAULTS)) / w : 0,
      hvUsPerFault: d(F64.HV_S2_FAULTS) > 0 ? (1000 * d(F64.HV_FAULT_MS)) / d(F64.HV_S2_FAULTS) : 0,
      idleDrop: !(hv & HV_CLIENT_IDLE_DROP) ? 'off' : hv & HV_CLIENT_DROPPED ? 'engaged' : 'armed',
      machine: machineState(stats),
      hvTrap: (hv & HV_CLIENT_TRAP) !== 0,
    };
  }
}

/** The samples as CSV, one row per second, columns in MeterSample's order. */
export function samplesToCsv(samples: MeterSample[]): string {
  if (samples.length === 0) return '';
  const keys = Object.keys(samples[0]) as (keyof MeterSample)[];
  const cell = (v: unknown) => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : JSON.stringify(v));
  return [keys.join(','), ...samples.map((s) => keys.map((k) => cell(s[k])).join(','))].join('\n') + '\n';
}

/** The longest the meter holds its figures while nothing moves, s. */
export const METER_HOLD_S = 10;

/**
 * Whether a new sample must be drawn, given the one on the screen. Every frame costs the tab
 * (Chromium's renderer, compositor and GPU process) several ms of CPU, so while nothing moves —
 * the display asleep: no refresh, no hypercall, no page scan — the meter holds its figures for up
 * to METER_HOLD_S seconds instead of redrawing each second's noise of the guest's idle time. Any
 * display work, a label or idle-drop change, or a real change of the guest's load draws at once.
 * Every second is still sampled and exported.
 */
export function meterMoved(shown: MeterSample | null, s: MeterSample): boolean {
  return meterChanged(shown, s) || s.t - shown!.t >= METER_HOLD_S;
}

/** meterMoved without the hold's time limit: something other than time itself moved. */
export function meterChanged(shown: MeterSample | null, s: MeterSample): boolean {
  if (!shown) return true;
  if (s.mode !== shown.mode || s.workload !== shown.workload || s.vramMiB !== shown.vramMiB || s.hz !== shown.hz)
    return true;
  if (s.refreshHz > 0 || s.hypercallsPerS > 0 || s.hvPagesScannedPerS > 0 || s.ioemuPct > 0) return true;
  if (shown.refreshHz > 0 || shown.hypercallsPerS > 0 || shown.ioemuPct > 0) return true; // show it went quiet
  if (s.idleDrop !== shown.idleDrop || s.machine !== shown.machine || s.hvTrap !== shown.hvTrap) return true;
  if (Math.abs(s.guestPct - shown.guestPct) > 1) return true;
  return Math.abs(s.mips - shown.mips) > Math.max(1, 0.25 * shown.mips);
}

/**
 * The ioemu's mean per display mode over the samples given, leaving out each mode's first two
 * seconds (the switch's full repaint) and seconds the machine did not run; and poll's mean over
 * dirty + idle drop's, the seed's ratio, when both were measured.
 */
export function perModeMeans(samples: readonly MeterSample[]): {
  rows: { mode: string; pct: number; seconds: number }[];
  ratio: number | null;
} {
  const acc = new Map<string, { sum: number; n: number }>();
  let since = -Infinity;
  let prevMode = '';
  for (const s of samples) {
    if (s.mode !== prevMode) {
      since = s.t;
      prevMode = s.mode;
    }
    if (s.t - since < 2 || s.machine !== 'running') continue;
    const a = acc.get(s.mode) ?? { sum: 0, n: 0 };
    a.sum += s.ioemuPct;
    a.n++;
    acc.set(s.mode, a);
  }
  const rows = [...acc].map(([mode, a]) => ({ mode, pct: a.sum / a.n, seconds: a.n }));
  const poll = rows.find((r) => r.mode === 'poll');
  const idle = rows.find((r) => r.mode === 'dirty-idle');
  return { rows, ratio: poll && idle && idle.pct > 0 ? poll.pct / idle.pct : null };
}
