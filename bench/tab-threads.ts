/**
 * The whole tab's CPU, from the kernel's own accounting (Linux /proc): every thread of every
 * process of the Chromium this benchmark launched (the descendants of our own process, so another
 * browser on the machine is not counted), split by what the thread does. Times are the scheduler's
 * own run time per thread (/proc/…/schedstat, ns: exact, where utime + stime are sampled at 100 Hz
 * and charge a thread that runs 50 µs at the tick a whole 10 ms); where schedstat is missing,
 * utime + stime. Wake-ups are the renderer main thread's voluntary context switches (each one is
 * the thread going to sleep with nothing to do and later being woken: timers, frames, messages).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Where a thread's time is counted. The renderer's thread pool (`rendererPool`, its ThreadPool…
 * workers) runs V8's concurrent work for both of the renderer's isolates — compiling (Maglev,
 * TurboFan) and garbage collection for the machine's worker as well as for the page — and the
 * compositor's raster tasks: counted apart from the renderer's other threads, it shows what an
 * idle guest's code still costs the tab when nothing is drawn.
 */
export type ThreadGroup =
  'worker' | 'rendererMain' | 'compositor' | 'rendererPool' | 'rendererOther' | 'gpu' | 'browser' | 'utility';

export const THREAD_GROUPS: readonly ThreadGroup[] = [
  'worker',
  'rendererMain',
  'compositor',
  'rendererPool',
  'rendererOther',
  'gpu',
  'browser',
  'utility',
];

export interface TabSnapshot {
  /** CPU ms per thread ("pid/tid"), with its group and name. */
  threads: Map<string, { group: ThreadGroup; comm: string; ms: number }>;
  /** Voluntary context switches of the renderer processes' main threads. */
  mainWakeups: number;
  /** performance.now() when taken. */
  at: number;
}

export interface TabCpu {
  /** % of one core per group over the window. */
  pct: Record<ThreadGroup, number>;
  /** % of one core per kind of thread ("process kind:thread name"), the largest first. */
  byThread: Record<string, number>;
  /** Everything but the machine's worker, % of one core. */
  tabExceptWorkerPct: number;
  /** Renderer main-thread wake-ups per second. */
  mainWakeupsPerS: number;
  seconds: number;
}

// Linux reports thread times in stat in USER_HZ ticks, 100 per second on every architecture we run on.
const USER_HZ = 100;

/** CPU ms of one thread: schedstat's run time (ns), or stat's utime + stime. */
function threadCpuMs(dir: string): number | null {
  const sched = readProc(`${dir}/schedstat`);
  if (sched) return Number(sched.split(' ')[0]) / 1e6;
  const stat = readProc(`${dir}/stat`);
  if (!stat) return null;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ; // utime, stime (fields 14 and 15 of stat)
}

export function procAvailable(): boolean {
  return existsSync('/proc/self/task');
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process or thread went away
  }
}

/** The pids of every descendant of `root` (not root itself). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const stat = readProc(`/proc/${p}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(p));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function processGroup(cmdline: string): 'renderer' | 'gpu' | 'utility' | 'browser' | null {
  if (!/chrom/i.test(cmdline)) return null;
  if (cmdline.includes('--type=renderer')) return 'renderer';
  if (cmdline.includes('--type=gpu-process')) return 'gpu';
  if (cmdline.includes('--type=')) return 'utility'; // network, storage, zygote, crashpad…
  return 'browser';
}

/** One reading of every thread of the browser(s) started by this process. */
export function tabSnapshot(): TabSnapshot {
  const threads = new Map<string, { group: ThreadGroup; comm: string; ms: number }>();
  let mainWakeups = 0;
  for (const pid of descendants(process.pid)) {
    const cmd = readProc(`/proc/${pid}/cmdline`);
    const kind = cmd === null ? null : processGroup(cmd.replaceAll('\0', ' '));
    if (kind === null) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const t = threadCpuMs(`/proc/${pid}/task/${tid}`);
      const comm = readProc(`/proc/${pid}/task/${tid}/comm`)?.trim() ?? '';
      if (t === null) continue;
      let group: ThreadGroup;
      if (kind === 'renderer') {
        if (comm.startsWith('DedicatedWorker')) group = 'worker';
        else if (Number(tid) === pid) {
          group = 'rendererMain';
          const status = readProc(`/proc/${pid}/task/${tid}/status`) ?? '';
          mainWakeups += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
        } else if (comm.startsWith('Compositor'))
          group = 'compositor'; // Compositor, CompositorTileW (raster)
        else if (comm.startsWith('ThreadPool')) group = 'rendererPool';
        else group = 'rendererOther';
      } else group = kind;
      threads.set(`${pid}/${tid}`, { group, comm: `${kind}:${comm}`, ms: t });
    }
  }
  return { threads, mainWakeups, at: performance.now() };
}

/**
 * The difference of two snapshots as % of one core per group: per thread, so that a thread that
 * ended in between (its time leaves the process's total) counts for nothing rather than less than
 * nothing; a thread that began counts whole.
 */
export function tabCpu(a: TabSnapshot, b: TabSnapshot): TabCpu {
  const seconds = (b.at - a.at) / 1000;
  const pct = Object.fromEntries(THREAD_GROUPS.map((g) => [g, 0])) as Record<ThreadGroup, number>;
  const byThread = new Map<string, number>();
  for (const [id, t] of b.threads) {
    const d = (t.ms - (a.threads.get(id)?.ms ?? 0)) / 10 / seconds;
    pct[t.group] += d;
    byThread.set(t.comm, (byThread.get(t.comm) ?? 0) + d);
  }
  return {
    pct,
    byThread: Object.fromEntries([...byThread].filter(([, v]) => v >= 0.01).sort((x, y) => y[1] - x[1])),
    tabExceptWorkerPct: THREAD_GROUPS.filter((g) => g !== 'worker').reduce((s, g) => s + pct[g], 0),
    mainWakeupsPerS: (b.mainWakeups - a.mainWakeups) / seconds,
    seconds,
  };
}
