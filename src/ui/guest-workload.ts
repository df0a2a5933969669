/**
 * The guest's workload, both ways: what the page asks the running guest to show (the toy guest's
 * workload and its clock's period, typed on COM1 as hvmos's commands), and what the guest says it
 * shows (hvmos names on COM1 every workload and video mode it starts, also those switched by its
 * keys or a command typed in the console: the control and the URL follow).
 */
import { hvmosAnnouncements } from './console-text';
import { isVideoMode, isWorkload, type ViewState } from './view-state';

export class GuestWorkload {
  constructor(
    private readonly view: () => ViewState,
    private readonly setView: (patch: Partial<ViewState>) => void,
    /** A line for the guest's COM1. */
    private readonly serialWrite: (line: string) => void,
  ) {}

  /** The user chose a workload. */
  choose(name: string): void {
    this.setView({ workload: name });
    this.serialWrite(`workload ${name}\n`);
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
  }
}
