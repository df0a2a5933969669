/**
 * The browser's own accounting of thread time, through the DevTools protocol: the reference the
 * meter is checked against. We record a trace with the 'toplevel' category over a window and sum,
 * per thread, the durations of the top-level task events (RunTask and friends): wall time the
 * thread was busy (dur) and, where the platform reports it, CPU time (tdur).
 */
import type { CDPSession, Page } from '@playwright/test';

export interface ThreadTimes {
  /** Length of the measured window, ms (from the trace's own clock). */
  windowMs: number;
  /** Renderer main thread: busy wall time and CPU time, ms. */
  mainBusyMs: number;
  mainCpuMs: number;
  /** The dedicated worker running the machine: busy wall time and CPU time, ms. */
  workerBusyMs: number;
  workerCpuMs: number;
  /**
   * Renderer main thread: wall time in animation-frame callbacks (requestAnimationFrame, where
   * the display's refresh runs), ms; null unless asked for (it needs the timeline's events).
   */
  mainFrameCallbackMs: number | null;
}

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

async function collect(client: CDPSession, run: () => Promise<void>, timeline: boolean): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  client.on('Tracing.dataCollected', (e) => {
    for (const ev of e.value) events.push(ev as unknown as TraceEvent);
  });
  const done = new Promise<void>((resolve) => client.once('Tracing.tracingComplete', () => resolve()));
  await client.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: {
      includedCategories: ['toplevel', '__metadata', ...(timeline ? ['devtools.timeline'] : [])],
      recordMode: 'recordContinuously',
    },
  });
  await run();
  await client.send('Tracing.end');
  await done;
  return events;
}

/** Busy time of the page's main thread and its worker over a window of `ms` while the page runs. */
export async function measureThreadTimes(
  page: Page,
  ms: number,
  opts: { frameCallbacks?: boolean } = {},
): Promise<ThreadTimes> {
  return measureThreadTimesWhile(page, () => page.waitForTimeout(ms), opts);
}

/** Busy time of the page's main thread and its worker while `run` runs (a trace around it). */
export async function measureThreadTimesWhile(
  page: Page,
  run: () => Promise<void>,
  opts: { frameCallbacks?: boolean } = {},
): Promise<ThreadTimes> {
  const client = await page.context().newCDPSession(page);
  const marks: number[] = [];
  const events = await collect(
    client,
    async () => {
      // Mark the window's edges in the trace itself, so both ends use the trace clock.
      marks.push(Date.now());
      await run();
      marks.push(Date.now());
    },
    opts.frameCallbacks ?? false,
  );
  await client.detach();

  const names = new Map<string, string>();
  for (const e of events)
    if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name) names.set(`${e.pid}:${e.tid}`, e.args.name);
  const tasks = events.filter((e) => e.ph === 'X' && e.cat.includes('toplevel') && e.dur !== undefined);
  if (tasks.length === 0) throw new Error('the trace holds no top-level task events');
  const t0 = Math.min(...tasks.map((e) => e.ts));
  const t1 = Math.max(...tasks.map((e) => e.ts + e.dur!));
  // Per thread, merge overlapping task intervals (top-level events can nest) before summing.
  const sum = (pattern: RegExp) => {
    const mine = tasks.filter((e) => pattern.test(names.get(`${e.pid}:${e.tid}`) ?? '')).sort((a, b) => a.ts - b.ts);
    let busy = 0;
    let cpu = 0;
    let end = -Infinity;
    for (const e of mine) {
      const s = Math.max(e.ts, end);
      const f = e.ts + e.dur!;
      if (f <= s) continue;
      const part = (f - s) / e.dur!;
      busy += f - s;
      cpu += (e.tdur ?? e.dur!) * part;
      end = f;
    }
    return { busy: busy / 1000, cpu: cpu / 1000 };
  };
  const main = sum(/^CrRendererMain$/);
  const worker = sum(/DedicatedWorker/);
  const isMain = (e: TraceEvent) => names.get(`${e.pid}:${e.tid}`) === 'CrRendererMain';
  const frameCallbacks = events.filter(
    (e) => e.ph === 'X' && e.name === 'FireAnimationFrame' && e.dur !== undefined && isMain(e),
  );
  return {
    windowMs: Math.max((t1 - t0) / 1000, marks[1] - marks[0]),
    mainBusyMs: main.busy,
    mainCpuMs: main.cpu,
    workerBusyMs: worker.busy,
    workerCpuMs: worker.cpu,
    mainFrameCallbackMs: opts.frameCallbacks ? frameCallbacks.reduce((n, e) => n + e.dur!, 0) / 1000 : null,
  };
}
