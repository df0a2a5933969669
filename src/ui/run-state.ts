/**
 * What the page says of the machine's run: the status line's words for its state (stateText),
 * and the fault reports the machine makes (a triple fault, a crash of ours), read when the page
 * bell rings and I32.FAULT_SEQ moved (MachineReportsController). The machine handles a triple
 * fault itself (resets and runs on, src/machine/machine.ts): the page only shows the report.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Remote } from 'comlink';
import type { FaultReport, MachineApi } from '../shared/api';
import { I32, RunState, type StatsViews } from '../shared/layout';

/** The status line's words for a run state (null: no machine); `paused` as the page asked. */
export function stateText(state: number | null, paused: boolean, stats: StatsViews | null): string {
  switch (state) {
    case RunState.EXITED: {
      // isa-debug-exit: the guest wrote v to port 0xF4, the status is (v << 1) | 1.
      const status = stats ? Atomics.load(stats.i32, I32.EXIT_STATUS) : 0;
      return `The guest exited: it wrote ${status >> 1} to port 0xF4 (exit status ${status}).`;
    }
    case RunState.RUNNING:
      return paused ? 'Paused.' : 'Running.';
    case RunState.PAUSED:
      return 'Paused.';
    case RunState.HALTED:
      return 'The guest halted with interrupts off.';
    case RunState.TRIPLE_FAULT:
      return 'Stopped by a triple fault.';
    case RunState.CRASHED:
      return 'The machine crashed.';
    default:
      return '';
  }
}

/** The machine's run state and its latest fault report, as the page shows them: a reactive controller. */
export class MachineReportsController implements ReactiveController {
  /** The report shown (null: none, or dismissed). */
  fault: FaultReport | null = null;
  /** The run state the page last rendered. */
  private state = -1;
  /** FAULT_SEQ (of which machine's stats) when reports were last read; a new machine starts at 0. */
  private seen: { of: Int32Array | null; seq: number } = { of: null, seq: 0 };

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {}

  /** Look at the machine: render when its state moved; read the report when it made a new one. */
  async look(api: Remote<MachineApi>, stats: StatsViews): Promise<void> {
    const state = Atomics.load(stats.i32, I32.STATE);
    // The status line shows the run state (exited, halted…): render it when it moved.
    if (state !== this.state) {
      this.state = state;
      this.host.requestUpdate();
    }
    const seq = Atomics.load(stats.i32, I32.FAULT_SEQ);
    const since = this.seen.of === stats.i32 ? this.seen.seq : 0;
    this.seen = { of: stats.i32, seq };
    if (seq === since) return;
    const f = await api.lastFault();
    this.fault = f.ok && f.value ? f.value : { reason: 'the machine stopped', trace: [] };
    this.host.requestUpdate();
  }

  dismiss(): void {
    this.fault = null;
    this.host.requestUpdate();
  }
}
