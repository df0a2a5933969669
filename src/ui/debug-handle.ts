/**
 * `globalThis.__hvm`: a handle for the end-to-end tests and for the curious in DevTools, holding
 * the same views the page uses (the machine's API and shared memory, the displays' refreshers,
 * the meter's samples, the view, the Linux guest's scenario driver). There is none while no machine runs (a crashed or restarting
 * worker): never a stale one.
 */
import type { Remote } from 'comlink';
import type { MachineApi, MachineHandles } from '../shared/api';
import { I32, type StatsViews } from '../shared/layout';
import type { CpuMeter } from './cpu-meter';
import type { HvmDisplay } from './hvm-display';
import type { LinuxScenarioDriver } from './linux-scenarios';
import type { ViewState } from './view-state';

export interface RunningPage {
  api: Remote<MachineApi> | null;
  worker: Worker | null;
  handles: MachineHandles;
  stats: StatsViews;
  /** The guest's screens: A (the page's display, or the A/B view's left one) and B (the right one). */
  displays: () => { a: HvmDisplay | null; b: HvmDisplay | null };
  meter: CpuMeter | null;
  view: () => ViewState;
  /** The Linux guest's scenario driver (what it typed, whether it settled). */
  linux: LinuxScenarioDriver;
}

/** Publish the handle for the running page, or take it away (null). */
export function publishDebugHandle(page: RunningPage | null): void {
  const g = globalThis as Record<string, unknown>;
  if (!page) {
    delete g.__hvm;
    return;
  }
  const { displays, meter } = page;
  g.__hvm = {
    api: page.api,
    worker: page.worker,
    handles: page.handles,
    stats: page.stats,
    I32,
    // Looked up when read: the A/B view renders its displays after the page's update.
    get display() {
      return displays().a;
    },
    get displayB() {
      return displays().b;
    },
    refresher: () => displays().a?.refresher ?? null,
    refresherB: () => displays().b?.refresher ?? null,
    samples: () => meter?.samples ?? [],
    view: page.view,
    linux: page.linux,
  };
}
