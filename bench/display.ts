/**
 * `npm run bench:display`: the seed's result, measured in a real browser. Builds the app, serves
 * it (vite preview), and drives Debian's Chromium through the matrix workload × display mode ×
 * VRAM size at 30 Hz. For each cell it boots the toy guest, warms up (long enough for the idle
 * drop to engage), then over one window records the meter's own figures (the same the page
 * shows) and the browser's thread times through the DevTools protocol.
 *
 * Prints a table (with the poll / dirty-idle ratio per workload, and what trap mode costs the
 * guest) and writes bench-results/display.json (an array of records) and, per VRAM size,
 * bench-results/display-NMiB.svg (the ioemu's cost per workload and mode, log scale) and
 * bench-results/display-mips-NMiB.svg (the guest's MIPS per workload and mode: trap's price).
 *
 * Debian's Linux (`?guest=linux`) gets rows too, named linux-SCENARIO (display-linux.ts): it boots
 * once per VRAM size (minutes), then the page's controls switch its scenario and the display mode
 * live, each window measured after the warm-up.
 *
 * Options: --seconds N (window, default 10), --warmup N (default 5), --workloads a,b
 * --modes a,b --vram 8,64 --hz 30 --port 4174 --merge FILE (start from the records of an earlier
 * bench-results/display.json, replacing the cells measured again: e.g. re-measure a few cells with
 * a longer warm-up and print the whole table); --guests hvmos,linux (default both),
 * --scenarios blink,noblink,top,log,fb (Linux's), --linux-modes poll,dirty,dirty-idle,
 * --boot-timeout SECONDS (Linux's boot, default 900).
 */
import { cpus } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { withPreview } from './preview';
import { textTable } from './table';
import { measureThreadTimes } from './cdp-threads';
import { procAvailable, tabCpu, tabSnapshot } from './tab-threads';
import type { MeterSample } from '../src/ui/meter-sampler';
import { bootLinux, chooseMode, chooseScenario, LINUX_MODES, linuxScenarios, linuxWorkload } from './display-linux';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const SECONDS = Number(arg('seconds', '10'));
const WARMUP = Number(arg('warmup', '5'));
const WORKLOADS = arg('workloads', 'static,clock,typing,scroll,sprite,plasma').split(',');
const MODES = arg('modes', 'poll,dirty,dirty-idle,trap').split(',');
const VRAMS = arg('vram', '8,64').split(',').map(Number);
const HZ = Number(arg('hz', '30'));
const PORT = Number(arg('port', '4174'));
const MERGE = arg('merge', '');
const GUESTS = arg('guests', 'hvmos,linux').split(',');
const SCENARIOS = linuxScenarios(arg('scenarios', 'blink,noblink,top,log,fb'));
const LINUX_MODE_LIST = arg('linux-modes', LINUX_MODES.join(',')).split(',');
const BOOT_TIMEOUT_S = Number(arg('boot-timeout', '900'));

/** The meter's figures that a cell averages over its window's one-second samples. */
const AVERAGED = [
  'ioemuPct',
  'uiPct',
  'hvPct',
  'guestPct',
  'idlePct',
  'mips',
  'refreshHz',
  'pagesComparedPerRefresh',
  'dirtyPagesPerRefresh',
  'tilesPerRefresh',
  'hvPagesScannedPerS',
  'hvFaultsPerS',
  'hvUsPerFault',
] as const satisfies readonly (keyof MeterSample)[];

export type DisplayRecord = { workload: string; mode: string; vramMiB: number } & Record<
  (typeof AVERAGED)[number],
  number
> & {
    /** The browser's own accounting (DevTools protocol trace) over the same window: the main thread's busy % of a core. */
    cdpMainPct: number;
    /**
     * The worker's CPU time, % of a core (the trace's thread time): not its busy wall time, since
     * an idle machine blocks its worker in Atomics.wait inside one long task (src/machine/runloop.ts).
     */
    cdpWorkerPct: number;
    /**
     * Every Chromium thread but the machine's worker, % of a core, from /proc (tab-threads.ts),
     * over the same window; null off Linux. The page's whole cost, as the seed measured its
     * device-model process.
     */
    tabExceptWorkerPct: number | null;
    windowS: number;
    /** Seconds from the first picture to the window (cells merged from several runs may differ). */
    warmupS: number;
  };

type Sample = Record<string, number | string>;

async function measureCell(page: Page, workload: string, mode: string, vramMiB: number): Promise<DisplayRecord> {
  await page.goto(`http://localhost:${PORT}/?workload=${workload}&mode=${mode}&vram=${vramMiB}&hz=${HZ}`);
  await page.waitForFunction(() => (globalThis as any).__hvm?.refresher()?.shown, null, { timeout: 30_000 });
  return measureWindow(page, workload, mode, vramMiB);
}

/** After the warm-up, one window of the page as it runs now: the meter's samples, the trace's and /proc's thread times. */
async function measureWindow(page: Page, workload: string, mode: string, vramMiB: number): Promise<DisplayRecord> {
  await page.waitForTimeout(WARMUP * 1000);
  const n0: number = await page.evaluate(() => (globalThis as any).__hvm.samples().length);
  const tab0 = procAvailable() ? tabSnapshot() : null;
  const cdp = await measureThreadTimes(page, SECONDS * 1000);
  const tab = tab0 ? tabCpu(tab0, tabSnapshot()) : null;
  await page.waitForTimeout(1100);
  const samples: Sample[] = await page.evaluate(([n0, n]) => (globalThis as any).__hvm.samples().slice(n0, n0 + n), [
    n0,
    SECONDS,
  ] as const);
  if (samples.length === 0) throw new Error(`no meter samples for ${workload}/${mode}/${vramMiB}`);
  const avg = (k: string) => samples.reduce((a, s) => a + (s[k] as number), 0) / samples.length;
  return {
    workload,
    mode,
    vramMiB,
    ...(Object.fromEntries(AVERAGED.map((k) => [k, avg(k)])) as Record<(typeof AVERAGED)[number], number>),
    cdpMainPct: (100 * cdp.mainBusyMs) / cdp.windowMs,
    cdpWorkerPct: (100 * cdp.workerCpuMs) / cdp.windowMs,
    tabExceptWorkerPct: tab ? tab.tabExceptWorkerPct : null,
    windowS: cdp.windowMs / 1000,
    warmupS: WARMUP,
  };
}

/** An about:blank page in the same browser over a window as long as a cell's: the tab's floor. */
async function measureBlank(page: Page): Promise<number | null> {
  if (!procAvailable()) return null;
  await page.goto('about:blank');
  await page.waitForTimeout(WARMUP * 1000);
  const a = tabSnapshot();
  await page.waitForTimeout(SECONDS * 1000);
  return tabCpu(a, tabSnapshot()).tabExceptWorkerPct;
}

/** The workloads, modes and VRAM sizes the records hold (a merged file may hold more than this run measured). */
const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];
const workloadsOf = (rs: DisplayRecord[]) => distinct(rs.map((r) => r.workload));
const modesOf = (rs: DisplayRecord[]) => distinct(rs.map((r) => r.mode));
const vramsOf = (rs: DisplayRecord[]) => distinct(rs.map((r) => r.vramMiB));

const fmt = (v: number, d = 2) => (v >= 100 ? v.toFixed(0) : v.toFixed(d));

function table(records: DisplayRecord[]): string {
  const head = [
    'workload',
    'mode',
    'VRAM',
    'ioemu %',
    'CDP main %',
    'tab − worker %',
    'hv %',
    'guest %',
    'idle %',
    'MIPS',
    'refresh/s',
    'pages cmp',
    'dirty pg',
    'tiles',
    'hv scans/s',
    'hv share',
    'faults/s',
    'µs/fault',
  ];
  const rows = records.map((r) => [
    r.workload,
    r.mode,
    `${r.vramMiB}`,
    fmt(r.ioemuPct, 3),
    fmt(r.cdpMainPct),
    r.tabExceptWorkerPct === null ? '–' : fmt(r.tabExceptWorkerPct),
    fmt(r.hvPct, 3),
    fmt(r.guestPct, 1),
    fmt(r.idlePct, 1),
    fmt(r.mips),
    fmt(r.refreshHz, 1),
    fmt(r.pagesComparedPerRefresh, 0),
    fmt(r.dirtyPagesPerRefresh, 1),
    fmt(r.tilesPerRefresh, 1),
    fmt(r.hvPagesScannedPerS, 0),
    `${fmt(hvShare(r), 1)} %`,
    fmt(r.hvFaultsPerS, 0),
    r.hvFaultsPerS > 0 ? fmt(r.hvUsPerFault, 2) : '–',
  ]);
  return textTable(head, rows, 2);
}

/** The hypervisor's share of the worker's busy time (hypervisor + guest): where trap mode's cost shows. */
const hvShare = (r: DisplayRecord) => (100 * r.hvPct) / Math.max(r.hvPct + r.guestPct, 1e-9);

/**
 * a / b as "N×"; when b's mode did no measurable refresh work in the window (a still screen whose
 * refreshes were all skipped), "all of it": a ratio over 0 would print as millions.
 */
const times = (a: number, b: number) => (b < 0.0005 ? `all of it (${fmt(a, 3)} % vs < 0.0005 %)` : `${fmt(a / b, 1)}×`);

function ratios(records: DisplayRecord[]): string[] {
  const out: string[] = [];
  for (const v of vramsOf(records))
    for (const w of workloadsOf(records)) {
      const p = records.find((r) => r.workload === w && r.mode === 'poll' && r.vramMiB === v);
      const d = records.find((r) => r.workload === w && r.mode === 'dirty-idle' && r.vramMiB === v);
      const dd = records.find((r) => r.workload === w && r.mode === 'dirty' && r.vramMiB === v);
      if (p && d)
        out.push(
          `${w} @ ${v} MiB: poll / dirty-idle ioemu = ${times(p.ioemuPct, d.ioemuPct)}${dd ? `, poll / dirty = ${times(p.ioemuPct, dd.ioemuPct)}` : ''}`,
        );
      const t = records.find((r) => r.workload === w && r.mode === 'trap' && r.vramMiB === v);
      if (dd && t)
        out.push(
          `${w} @ ${v} MiB: trap guest ${fmt(t.mips)} MIPS vs dirty ${fmt(dd.mips)} (${fmt(t.mips / Math.max(dd.mips, 1e-6), 2)}×), hv share ${fmt(hvShare(t), 1)} %, ${fmt(t.hvFaultsPerS, 0)} faults/s at ${fmt(t.hvUsPerFault, 2)} µs`,
        );
    }
  return out;
}

/** The headline checks of the issue, as statements with their figures (not asserts: a benchmark reports). */
function targets(records: DisplayRecord[]): string[] {
  const get = (w: string, m: string, v: number) =>
    records.find((r) => r.workload === w && r.mode === m && r.vramMiB === v);
  const out: string[] = [];
  const p8 = get('clock', 'poll', 8);
  const d8 = get('clock', 'dirty-idle', 8);
  if (p8 && d8) {
    const ratio = p8.ioemuPct / Math.max(d8.ioemuPct, 1e-6);
    out.push(
      `clock 8 MiB poll / dirty-idle ioemu: ${fmt(ratio, 1)}× (target ≥ 100×: ${ratio >= 100 ? 'met' : 'MISSED'})`,
    );
    out.push(
      `clock 8 MiB dirty-idle ioemu: ${fmt(d8.ioemuPct, 3)} % (target ≤ 0.1 %: ${d8.ioemuPct <= 0.1 ? 'met' : 'MISSED'})`,
    );
  }
  const p64 = get('clock', 'poll', 64);
  const d64 = get('clock', 'dirty-idle', 64);
  if (p8 && p64 && d8 && d64) {
    const dirtyChange =
      (100 * Math.abs(d64.ioemuPct + d64.hvPct - (d8.ioemuPct + d8.hvPct))) / (d8.ioemuPct + d8.hvPct);
    out.push(
      `clock 8 → 64 MiB: dirty-idle ioemu + hv changes ${fmt(dirtyChange, 1)} % (target < 10 %), poll grows ${fmt(p64.ioemuPct / p8.ioemuPct, 1)}× (expected about 8×)`,
    );
  }
  return out;
}

/** What a chart shows: a record field, its axis, and a log (ioemu %) or linear (MIPS) scale. */
interface ChartMetric {
  key: 'ioemuPct' | 'mips';
  axis: string;
  unit: string;
  log: boolean;
}
const IOEMU_CHART: ChartMetric = { key: 'ioemuPct', axis: 'ioemu, % of one core (log)', unit: '%', log: true };
const MIPS_CHART: ChartMetric = { key: 'mips', axis: 'guest MIPS', unit: 'MIPS', log: false };

/** A grouped bar chart of one metric per workload and mode, as SVG. */
function chart(records: DisplayRecord[], vramMiB: number, title: string, metric = IOEMU_CHART): string {
  const W = 760;
  const H = 340;
  const L = 60;
  const B = 50;
  const T = 40;
  const colors: Record<string, string> = {
    poll: '#d9534f',
    dirty: '#f0ad4e',
    'dirty-idle': '#5cb85c',
    trap: '#8e44ad',
  };
  const lo = metric.log ? 0.001 : 0;
  const top = Math.max(...records.filter((r) => r.vramMiB === vramMiB).map((r) => r[metric.key]), 1);
  const hi = metric.log ? 100 : 10 ** Math.ceil(Math.log10(top));
  const y = (v: number) =>
    metric.log
      ? T + (H - T - B) * (1 - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)))
      : T + (H - T - B) * (1 - v / hi);
  const workloads = workloadsOf(records);
  const modes = modesOf(records);
  const groupW = (W - L - 20) / workloads.length;
  const barW = (groupW * 0.8) / modes.length;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`,
  ];
  const ticks = metric.log ? [-3, -2, -1, 0, 1, 2].map((e) => 10 ** e) : [0, 0.2, 0.4, 0.6, 0.8, 1].map((f) => f * hi);
  for (const v of ticks) {
    const yy = y(v);
    parts.push(`<line x1="${L}" x2="${W - 20}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${yy + 4}" text-anchor="end">${+v.toPrecision(3)}</text>`);
  }
  parts.push(
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">${metric.axis}</text>`,
  );
  workloads.forEach((w, i) => {
    const gx = L + i * groupW + groupW * 0.1;
    modes.forEach((m, j) => {
      const r = records.find((x) => x.workload === w && x.mode === m && x.vramMiB === vramMiB);
      if (!r) return;
      const yy = y(r[metric.key]);
      parts.push(
        `<rect x="${gx + j * barW}" y="${yy}" width="${barW - 2}" height="${H - B - yy}" fill="${colors[m] ?? '#888'}"><title>${w} ${m}: ${r[metric.key].toFixed(3)} ${metric.unit}</title></rect>`,
      );
    });
    parts.push(`<text x="${gx + groupW * 0.4}" y="${H - B + 16}" text-anchor="middle">${w}</text>`);
  });
  modes.forEach((m, j) => {
    parts.push(`<rect x="${L + j * 120}" y="${H - 22}" width="12" height="12" fill="${colors[m] ?? '#888'}"/>`);
    parts.push(`<text x="${L + j * 120 + 16}" y="${H - 12}">${m}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * The whole tab (all Chromium threads but the worker) over an about:blank page measured in the
 * same run (the lower of the two blank windows, before and after the cells): poll / dirty-idle.
 */
function wholeTab(records: DisplayRecord[], blank: number[]): string[] {
  if (!blank.length) return [];
  const floor = Math.min(...blank);
  const out = [
    `whole tab except the worker, about:blank: ${blank.map((b) => fmt(b)).join(' and ')} % (floor ${fmt(floor)})`,
  ];
  for (const v of VRAMS)
    for (const w of workloadsOf(records)) {
      const p = records.find((r) => r.workload === w && r.mode === 'poll' && r.vramMiB === v);
      const d = records.find((r) => r.workload === w && r.mode === 'dirty-idle' && r.vramMiB === v);
      if (p?.tabExceptWorkerPct == null || d?.tabExceptWorkerPct == null) continue;
      const pa = p.tabExceptWorkerPct - floor;
      const da = d.tabExceptWorkerPct - floor;
      out.push(
        `${w} @ ${v} MiB, whole tab above about:blank: poll ${fmt(pa)}, dirty-idle ${fmt(da)} points → ${fmt(pa / Math.max(da, 0.01), 1)}×`,
      );
    }
  return out;
}

async function main(): Promise<void> {
  const records: DisplayRecord[] = MERGE ? (JSON.parse(readFileSync(MERGE, 'utf8')) as DisplayRecord[]) : [];
  const blank: number[] = [];
  const exe = await withPreview('bench:display', PORT, async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const put = (r: DisplayRecord) => {
      const old = records.findIndex((x) => x.workload === r.workload && x.mode === r.mode && x.vramMiB === r.vramMiB);
      if (old >= 0) records[old] = r;
      else records.push(r);
      // Saved as it goes: a Linux run takes long, and a late failure should not lose it.
      mkdirSync('bench-results', { recursive: true });
      writeFileSync('bench-results/display.json', `${JSON.stringify(records, null, 1)}\n`);
      console.log(
        `  ${r.workload.padEnd(7)} ${r.mode.padEnd(10)} ${String(r.vramMiB).padStart(2)} MiB: ioemu ${fmt(r.ioemuPct, 3)} %, CDP main ${fmt(r.cdpMainPct)} %, hv ${fmt(r.hvPct, 3)} %, guest ${fmt(r.guestPct, 1)} %, ${fmt(r.mips)} MIPS, ${fmt(r.hvFaultsPerS, 0)} faults/s`,
      );
    };
    if (GUESTS.includes('hvmos')) {
      // One throwaway cell first: the first boot of a fresh browser runs cold (JIT, caches) and
      // would make the first measured cell look worse than it is.
      await measureCell(page, WORKLOADS[0], MODES[0], VRAMS[0]);
    }
    const b = await measureBlank(page);
    if (b !== null) blank.push(b);
    if (GUESTS.includes('hvmos'))
      for (const v of VRAMS) for (const w of WORKLOADS) for (const m of MODES) put(await measureCell(page, w, m, v));
    if (GUESTS.includes('linux') && SCENARIOS.length)
      for (const v of VRAMS) {
        const bootS = await bootLinux(page, PORT, {
          vramMiB: v,
          hz: HZ,
          mode: LINUX_MODE_LIST[0],
          timeoutMs: BOOT_TIMEOUT_S * 1000,
        });
        console.log(`  Linux, ${v} MiB VRAM: shell prompt after ${fmt(bootS, 0)} s`);
        for (const s of SCENARIOS) {
          await chooseScenario(page, s);
          for (const m of LINUX_MODE_LIST) {
            await chooseMode(page, m);
            put(await measureWindow(page, linuxWorkload(s), m, v));
          }
        }
      }
    const b2 = await measureBlank(page);
    if (b2 !== null) blank.push(b2);
  });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`;
  const date = new Date().toISOString();
  console.log(
    `\nbench:display — ${date}, ${machine}, Chromium ${exe}, ${HZ} Hz, window ${SECONDS} s after ${WARMUP} s warm-up\n`,
  );
  console.log(table(records));
  console.log('');
  for (const l of ratios(records)) console.log(l);
  for (const l of targets(records)) console.log(l);
  for (const l of wholeTab(records, blank)) console.log(l);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/display.json', `${JSON.stringify(records, null, 1)}\n`);
  if (blank.length) writeFileSync('bench-results/display-blank.json', `${JSON.stringify({ blank }, null, 1)}\n`);
  for (const v of vramsOf(records)) {
    writeFileSync(
      `bench-results/display-${v}MiB.svg`,
      chart(records, v, `ioemu cost per workload and display mode, ${v} MiB VRAM, ${HZ} Hz (${date.slice(0, 10)})`),
    );
    writeFileSync(
      `bench-results/display-mips-${v}MiB.svg`,
      chart(
        records,
        v,
        `guest MIPS per workload and display mode, ${v} MiB VRAM, ${HZ} Hz (${date.slice(0, 10)})`,
        MIPS_CHART,
      ),
    );
  }
  console.log(
    `\nwrote bench-results/display.json, bench-results/display-{${VRAMS.join(',')}}MiB.svg and display-mips-{${VRAMS.join(',')}}MiB.svg`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
