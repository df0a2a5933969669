/**
 * The guest's workload, both ways: what the page asks the running guest to show (the toy guest's
 * workload and its clock's period, typed on COM1 as hvmos's commands; the Linux guest's display
 * scenario, typed into its shell by linux-scenarios.ts), and what the guest says it shows (hvmos
 * names on COM1 every workload and video mode it starts, also those switched by its keys or a
 * command typed in the console: the control and the URL follow).
 */
import { hvmosAnnouncements } from './console-text';
import { LinuxScenarioDriver, isLinuxScenario } from './linux-scenarios';
import { isVideoMode, isWorkload, type ViewState } from './view-state';

export class GuestWorkload {
  /** Types the Linux guest's display scenario (the view's workload) into its serial shell. */
  readonly linux: LinuxScenarioDriver;

  constructor(
    private readonly view: () => ViewState,
    private readonly setView: (patch: Partial<ViewState>) => void,
    /** A line for the guest's COM1. */
    private readonly serialWrite: (line: string) => void,
    /** Keys for the guest's keyboard (scancodes). */
    sendScancodes: (bytes: number[]) => void,
    /** Debian's Linux runs (its scenarios, not hvmos's workloads). */
    private readonly linuxGuest: () => boolean,
  ) {
    this.linux = new LinuxScenarioDriver(serialWrite, sendScancodes);
  }

  /** A new machine's output begins: the Linux guest's shell starts over. */
  newMachine(): void {
    this.linux.restart();
  }

  /** The user chose a workload. */
  choose(name: string): void {
    this.setView({ workload: name });
    if (!this.linuxGuest()) this.serialWrite(`workload ${name}\n`);
    else if (isLinuxScenario(name)) this.linux.choose(name);
  }

  /** The user chose the clock workload's period (s). */
  tick(seconds: number): void {
    this.setView({ tick: seconds });
    this.serialWrite(`tick ${seconds}\n`);
  }

  /** COM1 output arrived (`before`: the tail of what was there): follow what hvmos announced. */
  output(before: string, added: string): void {
    const { workload, mode } = hvmosAnnouncements(before, added);
    const v = this.view();
    // A mode the guest set at run time (`mode WxHxBPP` on COM1) goes into the URL, so the view
    // shared boots in it; the machine is not rebuilt for it.
    if (mode !== null && mode !== v.res && isVideoMode(mode)) this.setView({ res: mode });
    if (workload !== null && workload !== v.workload && isWorkload(workload)) this.setView({ workload });
    const wanted = this.view().workload;
    if (this.linuxGuest() && isLinuxScenario(wanted)) {
      this.linux.wanted = wanted;
      this.linux.serialOutput(added);
    }
  }
}
