/**
 * `npm run bench:boot`: how long Debian's Linux (public/guest/linux/) takes to its shell prompt.
 *
 *  - Node, icount clock: instructions and host seconds to the kernel's banner and to the prompt,
 *    with MIPS per phase; with the kernel unpacked by the loader (kernelUnpack 'host', the default)
 *    and by its own XZ decompressor in the guest ('guest', the boot protocol's way: the
 *    instructions to the banner are the decompressor's work).
 *  - Node, wall clock: the same on real time (the guest's delays are real), the default unpacking.
 *  - Chromium (the built app, `?guest=linux`, and `&unpack=guest`): page load to the prompt on
 *    COM1, from the page's own serial console.
 *
 * `start s` is the time before the first instruction: Machine.create in Node (with 'host', the
 * loader's XZ unpacking), page load to the machine's start in the page (the app, the kernel's
 * fetch, the worker, Machine.create; polled every 20 ms). Node's other times count from the
 * machine's start, the page's from page load.
 *
 * With the wall times, the CPU time the runs took to the prompt (Linux's /proc, per thread): the
 * thread that runs the machine (Node's main thread, the page's worker) and every other thread of
 * the run (V8's compiler and GC threads; in Chromium the whole browser besides the worker). On a
 * host shared with other work the wall times stretch; the CPU times say what the boot itself cost.
 *
 * Prints a table and writes bench-results/boot.json. Options: --only node|browser, --limit S (give
 * up after S seconds per run, default 900), --port 4178.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { withPreview } from './preview';
import { procAvailable, tabSnapshot, THREAD_GROUPS, type TabSnapshot, type ThreadGroup } from './tab-threads';
import { textTable } from './table';
import { Machine } from '../src/machine/machine';
import { immediateYielder } from '../src/machine/runloop';
import { F64 } from '../src/shared/layout';
import type { ClockKind, KernelUnpack } from '../src/shared/api';
import { LINUX_GUEST } from '../src/ui/guests';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const ONLY = arg('only', '');
const LIMIT_S = Number(arg('limit', '900'));
const PORT = Number(arg('port', '4178'));
/** The page's own command line (kernel messages on tty0 and COM1), so Node and the page boot alike. */
const CMDLINE = LINUX_GUEST.cmdline;
const PROMPT = /\/ # /;
const BANNER = /Linux version /;

const file = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

interface Row {
  run: string;
  /** Who decompressed the kernel (MachineConfig.kernelUnpack). */
  unpack: KernelUnpack;
  /**
   * Seconds before the first instruction: in Node, Machine.create (the loader's unpacking of the
   * kernel with 'host'); in the page, from page load (the app's start, the kernel's fetch, the
   * worker's start and Machine.create). Node's banner and prompt times count from after it, the
   * page's from page load.
   */
  startS: number | null;
  bannerS: number | null;
  promptS: number | null;
  bannerInstructions: number | null;
  promptInstructions: number | null;
  /** CPU seconds to the prompt of the thread running the machine (Node's main thread, the page's worker). */
  machineCpuS: number | null;
  /** CPU seconds to the prompt of every other thread of the run. */
  otherCpuS: number | null;
  /** The page's other threads by what they do (tab-threads.ts's groups), CPU seconds; null in Node. */
  otherByGroup: Partial<Record<ThreadGroup, number>> | null;
}

/** CPU ms of this process's threads: its main thread, and the rest (Linux's schedstat, ns). */
function ownThreadsMs(): { main: number; other: number } | null {
  if (!procAvailable()) return null;
  let main = 0;
  let other = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    let ms: number;
    try {
      ms = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      continue; // the thread ended
    }
    if (Number(tid) === process.pid) main += ms;
    else other += ms;
  }
  return { main, other };
}

/**
 * CPU seconds of the page's worker and of the rest of the browser between two snapshots, the rest
 * also by group: V8's compiles of block functions run in the renderer's thread pool, the display's
 * refreshes on its main thread, their frames in the compositor and the GPU process.
 */
function tabSeconds(
  a: TabSnapshot,
  b: TabSnapshot,
): { worker: number; other: number; byGroup: Partial<Record<ThreadGroup, number>> } {
  let worker = 0;
  let other = 0;
  const byGroup: Partial<Record<ThreadGroup, number>> = {};
  for (const [id, t] of b.threads) {
    const d = (t.ms - (a.threads.get(id)?.ms ?? 0)) / 1000;
    if (t.group === 'worker') worker += d;
    else {
      other += d;
      byGroup[t.group] = (byGroup[t.group] ?? 0) + d;
    }
  }
  return { worker, other, byGroup };
}

function node(clock: ClockKind, unpack: KernelUnpack): Row {
  const tCreate = performance.now();
  const r = Machine.create(
    {
      ramMiB: LINUX_GUEST.minRamMiB,
      vramMiB: 8,
      cmdline: CMDLINE,
      clock,
      image: 'multiboot',
      initrd: file(`public/${LINUX_GUEST.initrd}`),
      kernelUnpack: unpack,
    },
    file(`public/${LINUX_GUEST.kernel}`),
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  const m = r.value;
  let serial = '';
  m.onSerial = (b) => (serial += String.fromCharCode(b));
  const t0 = performance.now();
  const cpu0 = ownThreadsMs();
  const row: Row = {
    run: `Node, ${clock} clock, ${unpack} unpacks`,
    unpack,
    startS: (t0 - tCreate) / 1000,
    bannerS: null,
    promptS: null,
    bannerInstructions: null,
    promptInstructions: null,
    machineCpuS: null,
    otherCpuS: null,
    otherByGroup: null,
  };
  while (performance.now() - t0 < LIMIT_S * 1000) {
    const out = m.slice();
    const s = (performance.now() - t0) / 1000;
    const n = m.stats.f64[F64.INSTRUCTIONS];
    if (row.bannerS === null && BANNER.test(serial)) [row.bannerS, row.bannerInstructions] = [s, n];
    if (PROMPT.test(serial)) {
      [row.promptS, row.promptInstructions] = [s, n];
      const cpu = ownThreadsMs();
      if (cpu0 && cpu)
        [row.machineCpuS, row.otherCpuS] = [(cpu.main - cpu0.main) / 1000, (cpu.other - cpu0.other) / 1000];
      break;
    }
    if (out.next === 'stop') break;
    if (out.next === 'sleep') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, out.ms);
  }
  m.destroy();
  return row;
}

async function browser(unpack: KernelUnpack): Promise<Row> {
  const query = `?guest=linux${unpack === 'guest' ? '&unpack=guest' : ''}`;
  const row: Row = {
    run: `Chromium, page (${query})`,
    unpack,
    startS: null,
    bannerS: null,
    promptS: null,
    bannerInstructions: null,
    promptInstructions: null,
    machineCpuS: null,
    otherCpuS: null,
    otherByGroup: null,
  };
  await withPreview('boot', PORT, async (b) => {
    const page = await b.newPage({ viewport: { width: 1366, height: 900 } });
    const t0 = Date.now();
    const tab0 = procAvailable() ? tabSnapshot() : null;
    await page.goto(`http://localhost:${PORT}/${query}`);
    // COM1's text as the page shows it (the console sits in <serial-console>'s shadow root, which
    // the locator pierces); the statistics from the app's connection.
    const stats = () =>
      page.evaluate(() => {
        const app = document.querySelector('hvm-app') as unknown as {
          connection?: { status?: { stats?: { f64: Float64Array } } };
        };
        return Array.from(app.connection?.status?.stats?.f64 ?? []);
      });
    const look = async () => ({ serial: await page.locator('section.console pre').innerText(), stats: await stats() });
    // The first instruction, polled finer than the rest (the statistics only).
    while (Date.now() - t0 < LIMIT_S * 1000) {
      if (((await stats())[F64.INSTRUCTIONS] ?? 0) > 0) {
        row.startS = (Date.now() - t0) / 1000;
        break;
      }
      await page.waitForTimeout(20);
    }
    while (Date.now() - t0 < LIMIT_S * 1000) {
      await page.waitForTimeout(250);
      const { serial, stats } = await look();
      const s = (Date.now() - t0) / 1000;
      const n = stats[F64.INSTRUCTIONS] ?? 0;
      if (row.bannerS === null && BANNER.test(serial)) [row.bannerS, row.bannerInstructions] = [s, n];
      if (PROMPT.test(serial)) {
        [row.promptS, row.promptInstructions] = [s, n];
        if (tab0)
          ({
            worker: row.machineCpuS,
            other: row.otherCpuS,
            byGroup: row.otherByGroup,
          } = tabSeconds(tab0, tabSnapshot()));
        break;
      }
    }
  });
  return row;
}

const rows: Row[] = [];
if (ONLY !== 'browser') rows.push(node('icount', 'host'), node('icount', 'guest'), node('wall', 'host'));
if (ONLY !== 'node') rows.push(await browser('host'), await browser('guest'));

const f = (v: number | null, d = 1) => (v === null ? '—' : v.toFixed(d));
const g = (v: number | null) => (v === null ? '—' : (v / 1e9).toFixed(2));
const mips = (n: number | null, s: number | null) =>
  n === null || s === null || s === 0 ? '—' : (n / s / 1e6).toFixed(1);
console.log(`Debian's Linux to its shell prompt (command line: ${CMDLINE}); gave up after ${LIMIT_S} s`);
console.log(
  textTable(
    [
      'run',
      'start s',
      'banner s',
      'banner G instr',
      'MIPS to banner',
      'prompt s',
      'prompt G instr',
      'MIPS banner→prompt',
      'machine thread CPU s',
      'other threads CPU s',
    ],
    rows.map((r) => [
      r.run,
      f(r.startS, 2),
      f(r.bannerS),
      g(r.bannerInstructions),
      mips(r.bannerInstructions, r.bannerS),
      f(r.promptS),
      g(r.promptInstructions),
      r.promptInstructions !== null && r.bannerInstructions !== null && r.promptS !== null && r.bannerS !== null
        ? mips(r.promptInstructions - r.bannerInstructions, r.promptS - r.bannerS)
        : '—',
      f(r.machineCpuS),
      f(r.otherCpuS),
    ]),
  ),
);
for (const r of rows)
  if (r.otherByGroup)
    console.log(
      `${r.run}, other threads by group (CPU s): ${THREAD_GROUPS.filter((k) => r.otherByGroup![k] !== undefined)
        .map((k) => `${k} ${r.otherByGroup![k]!.toFixed(1)}`)
        .join(', ')}`,
    );
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/boot.json',
  JSON.stringify({ date: new Date().toISOString(), cmdline: CMDLINE, rows }, null, 2),
);
