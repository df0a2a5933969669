/**
 * npm run bench:hv — what dirty-VRAM tracking costs the guest, as an interleaved A/B in CPU time.
 *
 * Two machines run the toy guest's `scroll` workload (a terminal scrolling continuously: memmove
 * of the framebuffer, many pages dirty every frame) in Node on the icount clock, side by side: A
 * with tracking off, B with a client calling trackDirtyVram at 30 Hz of machine time over the
 * displayed range (display start to start + height × line length, page-aligned, as the ioemu does).
 * They advance in segments of the same instruction count (the engine stops exactly at a limit),
 * in alternating order (AB, BA, …), each segment timed in process CPU time: on icount both
 * execute the same instructions and B's client calls at the same points, so a segment's B/A is
 * the cost of tracking alone, and drift on a shared host hits both sides of a pair alike. The
 * overhead is the ratio of the sums; its spread is the 95 % interval of the per-segment ratios'
 * mean, and the run goes on (to --max-segments) until that is within ±0.5 points.
 * Then a third machine runs trap mode (every store to the displayed range faults) for two
 * segments: the cost the seed's design moved onto the guest, without a browser.
 * Prints tables and writes bench-results/hv.json:
 *   mipsTrackingOff, mipsTrackingOn  — guest instructions per µs of CPU time, over all segments
 *   trackingOverheadPct              — (CPU time on / CPU time off − 1) × 100   (bar: ≤ 3)
 *   trackingOverheadCi95Pct          — half-width of its 95 % interval, points
 *   hvPct                            — hypervisor time (F64.HV_MS, host time) as % of B's host time
 *   trap: { mips, slowdown, faultsPerS, usPerFault, hvPct }
 *   perCallUs                        — the hypervisor's own cost per call, without a guest
 *
 * Options: --kernel FILE (default public/guest/hvmos.elf), --workload NAME (scroll),
 * --segment-instructions (2e7), --min-segments (20), --max-segments (200), --warmup-seconds of
 * guest time (1: the guest's boot and the JIT's warm-up, not counted), --hz H (30).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MachineConfig } from '../src/shared/api';
import { F64, I32, PAGE_SIZE, STATS_BYTES, VRAM_BAR_DEFAULT, statsViews, PAGE_SHIFT } from '../src/shared/layout';
import { Hypervisor } from '../src/machine/hv/hypervisor';
import { Machine } from '../src/machine/machine';
import { MachineMemory } from '../src/machine/memory';
import { textTable } from './table';

const { values: opts } = parseArgs({
  options: {
    kernel: { type: 'string', default: 'public/guest/hvmos.elf' },
    workload: { type: 'string', default: 'scroll' },
    'segment-instructions': { type: 'string', default: '2e7' },
    'min-segments': { type: 'string', default: '20' },
    'max-segments': { type: 'string', default: '200' },
    'warmup-seconds': { type: 'string', default: '1' },
    hz: { type: 'string', default: '30' },
  },
});
const perSegment = Number(opts['segment-instructions']);
const minSegments = Number(opts['min-segments']);
const maxSegments = Number(opts['max-segments']);
const warmupSeconds = Number(opts['warmup-seconds']);
const periodMs = 1000 / Number(opts.hz);
/** The interval the run aims for, points either side of the overhead. */
const TARGET_CI_POINTS = 0.5;

/** CPU time of this process, µs (the machines run on this thread; nothing else does). */
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** One machine of the A/B: the toy guest's workload, with or without a tracking client. */
class Side {
  readonly m: Machine;
  cpuUs = 0;
  /** Host (wall) time of the same runs: the hypervisor's own time (F64.HV_MS) is wall time. */
  wallMs = 0;
  private nextCall = 0;

  constructor(
    image: ArrayBuffer,
    readonly tracking: boolean,
    trap = false,
  ) {
    const config: MachineConfig = {
      ramMiB: 32,
      vramMiB: 8,
      cmdline: `workload=${opts.workload}`,
      clock: 'icount',
      image: 'multiboot',
    };
    const made = Machine.create(config, image.slice(0));
    if (!made.ok) throw new Error(`${made.code}: ${made.message}`);
    this.m = made.value;
    if (trap) this.m.setTrapWrites(true);
  }

  get instructions(): number {
    return this.m.stats.f64[F64.INSTRUCTIONS];
  }

  /** Run to exactly `limit` instructions; the client calls at its rate of machine time. */
  runTo(limit: number): void {
    const pc = this.m.pc;
    if (!pc) throw new Error('the machine has no PC engine');
    pc.instructionLimit = limit;
    const t0 = cpuUs();
    const w0 = performance.now();
    while (this.instructions < limit) {
      if (this.m.slice().next === 'stop') throw new Error(`the guest stopped early (state ${this.m.state})`);
      if (this.tracking) this.track();
    }
    this.cpuUs += cpuUs() - t0;
    this.wallMs += performance.now() - w0;
  }

  private track(): void {
    const now = this.m.machineTimeMs();
    if (now < this.nextCall) return;
    this.nextCall = now + periodMs;
    const { i32 } = this.m.stats;
    if (!Atomics.load(i32, I32.VBE_ENABLED)) return; // no graphics mode yet: nothing to track
    const start = Atomics.load(i32, I32.VBE_START);
    const bytes = Atomics.load(i32, I32.VBE_YRES) * Atomics.load(i32, I32.VBE_LINE_BYTES);
    const bar = Atomics.load(i32, I32.VBE_BAR0) >>> 0;
    const first = Math.floor((bar + start) / PAGE_SIZE);
    const nr = Math.ceil((bar + start + bytes) / PAGE_SIZE) - first;
    const r = this.m.trackDirtyVram(first, nr);
    if (!r.ok) throw new Error(`trackDirtyVram(${first}, ${nr}): ${r.code} ${r.message}`);
  }

  /** The stats since the last reset, for the table. */
  counters(): {
    hvMs: number;
    hypercalls: number;
    pagesDirty: number;
    tlbInvalidated: number;
    faults: number;
    faultMs: number;
  } {
    const f64 = this.m.stats.f64;
    return {
      hvMs: f64[F64.HV_MS],
      hypercalls: f64[F64.HV_HYPERCALLS],
      pagesDirty: f64[F64.HV_PAGES_DIRTY],
      tlbInvalidated: f64[F64.HV_TLB_INVALIDATED],
      faults: f64[F64.HV_S2_FAULTS],
      faultMs: f64[F64.HV_FAULT_MS],
    };
  }
}

/**
 * The hypervisor's own cost per trackDirtyVram call, without a guest: frames are dirtied the way
 * the MMU dirties them (P2m.setDirty) and the TLB invalidation is a no-op, so this is hypervisor
 * work only (argument checks, the harvest, the bitmap). Over the 640×480×32 screen (300 frames),
 * 1024×768×32 (768) and all of a 64 MiB VRAM (16,384): every frame dirty, none dirty, and dropped.
 */
function perCallMicrobench(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [vramMiB, nr] of [
    [8, 300],
    [8, 768],
    [64, 16_384],
  ]) {
    const memory = new MachineMemory(4, vramMiB);
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const clock = { ms: 0 };
    const hv = new Hypervisor({ layout: memory.layout, stats, now: () => clock.ms });
    const bar = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
    hv.setVramBar(bar);
    const N = 500;
    const time = (before: () => void) => {
      let total = 0;
      for (let k = 0; k < N; k++) {
        before();
        const t0 = performance.now();
        hv.trackDirtyVram(bar, nr);
        total += performance.now() - t0;
      }
      return round((total / N) * 1000, 2);
    };
    hv.trackDirtyVram(bar, nr);
    const allDirty = time(() => {
      for (let i = 0; i < nr; i++) hv.p2m.setDirty(bar + i);
    });
    const noneDirty = time(() => {});
    hv.setIdleDrop(true);
    clock.ms += 10_000;
    hv.trackDirtyVram(bar, nr);
    const dropped = time(() => {});
    out[`nr=${nr}`] = { allDirtyUs: allDirty, noneDirtyUs: noneDirty, droppedUs: dropped };
  }
  return out;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Half-width of the 95 % interval of the mean of xs (normal approximation; n is tens or more). */
function ci95(xs: number[]): number {
  const m = mean(xs);
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  return (1.96 * sd) / Math.sqrt(xs.length);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function main(): Promise<void> {
  perCallMicrobench(); // warm-up: let the JIT settle before the figures we keep
  const perCallUs = perCallMicrobench();
  console.log('hypervisor cost per trackDirtyVram call, µs (no guest; TLB invalidation not included):');
  console.table(perCallUs);

  const b = readFileSync(opts.kernel!);
  const image = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const subject = `${opts.kernel} workload=${opts.workload}`;
  const off = new Side(image, false);
  const on = new Side(image, true);
  // Warm-up: the guest boots and starts its workload, the JIT settles; not counted. The workload
  // paces itself on the guest's clock (it sleeps in HLT between frames), so machine time is not
  // instructions: A runs the warm-up's machine time, and B to the same instruction count.
  while (off.m.machineTimeMs() < warmupSeconds * 1000) off.runTo(off.instructions + perSegment / 10);
  const warm = off.instructions;
  on.runTo(warm);
  const ms0 = off.m.machineTimeMs();
  const base = { off: off.counters(), on: on.counters() };
  off.cpuUs = on.cpuUs = 0;
  off.wallMs = on.wallMs = 0;
  const ratios: number[] = [];
  let target = warm;
  for (let k = 0; ; k++) {
    target += perSegment;
    const a0 = off.cpuUs;
    const b0 = on.cpuUs;
    for (const side of k % 2 ? [on, off] : [off, on]) side.runTo(target);
    ratios.push((on.cpuUs - b0) / (off.cpuUs - a0));
    if (ratios.length >= maxSegments) break;
    if (ratios.length >= minSegments && ci95(ratios) * 100 <= TARGET_CI_POINTS) break;
  }
  const instructions = target - warm;
  const guestMs = off.m.machineTimeMs() - ms0;
  const onCounters = on.counters();
  const hvMs = onCounters.hvMs - base.on.hvMs;
  const hypercalls = onCounters.hypercalls - base.on.hypercalls;
  const pagesDirty = onCounters.pagesDirty - base.on.pagesDirty;
  off.m.destroy();
  on.m.destroy();

  // Trap mode, after the same warm-up.
  const trapSide = new Side(image, true, true);
  trapSide.runTo(warm);
  const t0 = trapSide.counters();
  trapSide.cpuUs = 0;
  trapSide.wallMs = 0;
  // Two segments' worth: at a fault per store it runs some fifty times slower.
  const trapInstructions = 2 * perSegment;
  trapSide.runTo(warm + trapInstructions);
  const t1 = trapSide.counters();
  trapSide.m.destroy();
  const trapFaults = t1.faults - t0.faults;

  const mipsOff = instructions / off.cpuUs;
  const mipsOn = instructions / on.cpuUs;
  const mipsTrap = trapInstructions / trapSide.cpuUs;
  const result = {
    subject,
    timing: 'interleaved segments of equal instruction counts, process CPU time',
    segments: ratios.length,
    instructionsPerSegment: perSegment,
    guestSeconds: round(guestMs / 1000, 2),
    clientHz: Number(opts.hz),
    mipsTrackingOff: round(mipsOff, 2),
    mipsTrackingOn: round(mipsOn, 2),
    trackingOverheadPct: round((on.cpuUs / off.cpuUs - 1) * 100, 2),
    trackingOverheadCi95Pct: round(ci95(ratios) * 100, 2),
    segmentOverheadMedianPct: round((quantile(ratios, 0.5) - 1) * 100, 2),
    segmentOverheadIqrPct: [round((quantile(ratios, 0.25) - 1) * 100, 2), round((quantile(ratios, 0.75) - 1) * 100, 2)],
    hvPct: round((hvMs * 100) / on.wallMs, 3),
    hvMs: round(hvMs, 2),
    hypercalls,
    dirtyPagesPerCall: hypercalls ? round(pagesDirty / hypercalls, 1) : 0,
    tlbInvalidated: onCounters.tlbInvalidated - base.on.tlbInvalidated,
    trap: {
      mips: round(mipsTrap, 2),
      slowdown: round(mipsOn / mipsTrap, 1),
      faultsPerS: Math.round((trapFaults * 1e6) / trapSide.cpuUs),
      usPerFault: round((1000 * (t1.faultMs - t0.faultMs)) / Math.max(trapFaults, 1), 3),
      hvPct: round(((t1.hvMs - t0.hvMs) * 100) / trapSide.wallMs, 1),
    },
    perCallUs,
  };
  console.log(
    `bench:hv: ${subject}, ${result.segments} segments of ${perSegment / 1e6} M instructions (${result.guestSeconds} s of guest time)`,
  );
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log(
    textTable(
      ['run', 'CPU s', 'MIPS (CPU time)', 'hv ms', 'calls', 'dirty/call', 'faults'],
      [
        ['tracking off', f(off.cpuUs / 1e6), f(mipsOff), '0', '0', '-', '0'],
        [
          'tracking on (30 Hz)',
          f(on.cpuUs / 1e6),
          f(mipsOn),
          f(hvMs),
          String(hypercalls),
          f(result.dirtyPagesPerCall, 1),
          '0',
        ],
        [
          'trap mode (2 segments)',
          f(trapSide.cpuUs / 1e6),
          f(mipsTrap),
          f(t1.hvMs - t0.hvMs),
          '-',
          '-',
          String(trapFaults),
        ],
      ],
    ),
  );
  console.log(
    textTable(
      ['figure', 'value'],
      [
        ['tracking overhead % (bar ≤ 3)', `${f(result.trackingOverheadPct)} ± ${f(result.trackingOverheadCi95Pct)}`],
        [
          'per segment: median % [quartiles]',
          `${f(result.segmentOverheadMedianPct)} [${result.segmentOverheadIqrPct.map((x) => f(x)).join(', ')}]`,
        ],
        ['hypervisor % of the tracked host time', f(result.hvPct, 3)],
        ['trap slowdown vs tracking on', `${f(result.trap.slowdown, 1)}×`],
        ['trap: faults per CPU second', String(result.trap.faultsPerS)],
        ['trap: hypervisor µs per fault', f(result.trap.usPerFault, 3)],
        ['trap: hypervisor % of host time', f(result.trap.hvPct, 1)],
      ],
    ),
  );
  writeResult(result);
  console.log(`wrote bench-results/hv.json (bar: trackingOverheadPct ≤ 3 → ${result.trackingOverheadPct})`);
}

function writeResult(result: object): void {
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/hv.json', JSON.stringify(result, null, 2) + '\n');
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

await main();
