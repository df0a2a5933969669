/**
 * `<hvm-app>`: the page. It holds the view (view-state.ts, in the address bar) and the machine's
 * connection (machine-connection.ts), and wires the rooms: the controls (hvm-controls.ts), whose
 * requests it carries out; the guest's screen (guest-screen.ts: one display or the A/B view,
 * hvm-display.ts and ab-view.ts, in a drop zone for files) with the ioemu's hypercall client
 * (src/ioemu/hypercall-client.ts); the meter (cpu-meter.ts); the serial console
 * (serial-console.ts); the guest's workload (guest-workload.ts); what boots (guest-loader.ts);
 * the machine's state and fault reports (run-state.ts); the banners (banners.ts); the screen's
 * fit (screen-fit.ts); its look (app-styles.ts). When the machine rings the page bell, the
 * console and the reports look.
 */
import { LitElement, html, nothing } from 'lit';
import { VramClient } from '../shared/api';
import { I32, RunState } from '../shared/layout';
import type { RefresherOptions } from '../ioemu/refresh';
import { HypervisorClient } from '../ioemu/hypercall-client';
import { appStyles } from './app-styles';
import { AbSides, guestScreen } from './guest-screen';
import { crashed, errorBanner, faultBanner, isFirstVisit, isolationProblem, replacedNotice, tryThis } from './banners';
import { publishDebugHandle } from './debug-handle';
import { FitController, fitBox } from './screen-fit';
import { GuestLoader } from './guest-loader';
import { GuestWorkload } from './guest-workload';
import { DISK_GUEST, LINUX_GUEST } from './guests';
import { isCdImageName, isDiskImageName, saveFile } from './disk-guest';
import { MachineConnection } from './machine-connection';
import { PageBellController } from './page-bell';
import { MachineReportsController, stateText } from './run-state';
import { SerialConsoleController } from './serial-console';
import {
  DEFAULT_KERNEL,
  readViewState,
  replacedValues,
  workloadFor,
  writeViewState,
  type ViewState,
} from './view-state';
import type { ControlAction } from './hvm-controls';
import type { CpuMeter, MeterSource } from './cpu-meter';
import type { HvmDisplay } from './hvm-display';
import type { HvmAbView } from './ab-view';
import './ab-view';
import './cpu-meter';
import './hvm-controls';
import './hvm-display';
import './serial-console';

export class HvmApp extends LitElement {
  static override styles = appStyles;

  private readonly problem = isolationProblem();
  private readonly fit = new FitController(
    this,
    () => {
      const layout = this.renderRoot.querySelector<HTMLElement>('.layout');
      const screen = this.displays().a;
      const below = this.renderRoot.querySelector<HTMLElement>('.below');
      return layout && screen ? fitBox(layout, screen, below, this.view.ab !== null, screen.picture) : null;
    },
    // The controls' rows move the screen; the status line and the console stand under it.
    () => [this.renderRoot.querySelector('hvm-controls'), this.renderRoot.querySelector('.below')],
  );
  /** A first visit (nothing in localStorage yet): the page shows a "try this" line. */
  private firstVisit = isFirstVisit();

  private view: ViewState = readViewState(location.search);
  private paused = false;
  private error: string | null = null;
  /** COM1's output, read when the machine rings the page bell. */
  private readonly serial = new SerialConsoleController(
    this,
    (before, added) => this.workload.output(before, added),
    () => this.workload.newMachine(),
  );
  /** The guest's workload: asked for on COM1, followed from what the guest says there. */
  private readonly workload = new GuestWorkload(
    () => this.view,
    (patch) => this.setView(patch),
    (line) => void this.connection?.api?.serialWrite(line),
    (keys) => void this.connection?.api?.sendScancodes(keys),
    () => this.guest.linuxGuest,
  );
  /** What to boot and how (the URL's kernel, Linux, a file), and what runs now. */
  private readonly guest = new GuestLoader((m) => this.showError(m));
  /** A file is dragged over the screen (its drop zone shows). */
  private dropping = false;
  /** COM1 output and the run state arrive when the machine rings the page bell (no polling). */
  private readonly bell = new PageBellController(this, () => this.poll());
  /** The machine's run state and fault reports, as the page shows them. */
  private readonly reports = new MachineReportsController(this);

  private readonly connection: MachineConnection | null = this.problem
    ? null
    : new MachineConnection(
        this,
        () => this.guest.firstImage(this.view),
        (m) => this.showError(m),
      );

  /** What the address asked for that the page replaced (said once, in a notice). */
  private replaced: string[] = replacedValues(location.search, this.view);

  /** The ioemu's hypercall client: the displays' dirty-VRAM operations, through the machine that runs. */
  private readonly hypervisor = new HypervisorClient(() => {
    const c = this.connection;
    if (!c?.api) return null;
    return { api: c.api, stats: c.status.kind === 'running' ? c.status.stats : null };
  }, this.view.hc === 'comlink');
  /** The displays' dirty-VRAM clients: the page's display (A/B: A) and the A/B view's B. */
  private readonly sides = new AbSides(
    this.hypervisor.ops(VramClient.DISPLAY),
    this.hypervisor.ops(VramClient.DISPLAY_B),
  );

  private showError(message: string): void {
    this.error = message;
    this.requestUpdate();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // The whole view in the address bar from the start, so it can be shared as it is.
    if (!this.problem && this.view.kernel !== 'pattern') history.replaceState(null, '', writeViewState(this.view));
  }

  /** When the machine rings the page bell: drain COM1, and look at its state and fault reports. */
  private async poll(): Promise<void> {
    const c = this.connection;
    const s = c?.status;
    if (!c?.api || s?.kind !== 'running') return;
    await this.serial.drain(
      c.api,
      s.stats,
      () => `${this.guest.kernelName} booted, RAM ${this.view.mem} MiB, VRAM ${this.view.vram} MiB`,
    );
    await this.reports.look(c.api, s.stats);
  }

  private setView(patch: Partial<ViewState>): void {
    this.view = { ...this.view, ...patch };
    history.replaceState(null, '', writeViewState(this.view));
    this.requestUpdate();
  }

  /** What the user asked for in the controls. */
  private async control(a: ControlAction): Promise<void> {
    const api = this.connection?.api;
    switch (a.kind) {
      case 'view':
        return this.setView(a.patch);
      case 'reboot':
        return this.reboot(a.patch);
      case 'workload':
        return this.workload.choose(a.name);
      case 'tick':
        return this.workload.tick(a.seconds);
      case 'overlay':
        return this.setView({ overlay: a.overlay });
      case 'pause':
      case 'resume': {
        const r = a.kind === 'resume' ? await api?.start() : await api?.pause();
        if (r?.ok) this.paused = a.kind === 'pause';
        else if (r) this.showError(r.message);
        return this.requestUpdate();
      }
      case 'reset': {
        this.reports.fault = null;
        this.paused = false;
        const r = await this.connection?.rebootSame((c) => this.guest.config(this.view, c.image, c));
        if (r && !r.ok) this.showError(r.message);
        return this.requestUpdate();
      }
      case 'boot-linux':
        return this.bootLinux();
      case 'boot-disk':
        return this.bootDisk();
      case 'save-disk':
        return this.saveDisk();
      case 'load-file':
        return this.loadFile(a.file);
      case 'load-cd':
        return this.loadCd(a.file);
      case 'change-cd':
        return this.changeCd(a.file);
    }
  }

  /** Debian's Linux from the page's server, with RAM enough for it. */
  private async bootLinux(): Promise<void> {
    this.error = null;
    this.reports.fault = null;
    this.paused = false;
    this.setView({
      kernel: LINUX_GUEST.id,
      mem: Math.max(this.view.mem, LINUX_GUEST.minRamMiB),
      workload: workloadFor(LINUX_GUEST.id, this.view.workload),
    });
    await this.connection?.restart();
  }

  /** After a kernel that would not boot: the toy guest, with the view's settings. */
  private async bootToyGuest(): Promise<void> {
    this.error = null;
    this.setView({ kernel: DEFAULT_KERNEL, workload: workloadFor(DEFAULT_KERNEL, this.view.workload) });
    await this.connection?.restart();
  }

  /** RAM, VRAM or video mode changed: the machine is rebuilt with the same kernel (a loaded file stays loaded). */
  private async reboot(patch: Partial<ViewState>): Promise<void> {
    this.setView(patch);
    this.reports.fault = null;
    this.error = null;
    this.paused = false;
    const r = await this.connection?.rebootSame((c) => this.guest.config(this.view, c.image, c));
    if (r && !r.ok) this.showError(r.message);
  }

  /** SeaBIOS and the committed disk (public/guest/disk/linux.img), with RAM enough for its Linux. */
  private async bootDisk(): Promise<void> {
    this.error = null;
    this.reports.fault = null;
    this.paused = false;
    this.setView({
      kernel: DISK_GUEST.id,
      hda: null,
      cdrom: null,
      mem: Math.max(this.view.mem, DISK_GUEST.minRamMiB),
    });
    await this.connection?.restart();
  }

  /** SeaBIOS boots a disk image of one's own (picked or dropped); a bad one leaves the running guest. */
  private async loadDisk(file: File): Promise<void> {
    this.error = null;
    const r = await this.guest.bootDiskFile(
      file,
      () => {
        const mem = Math.max(this.view.mem, DISK_GUEST.minRamMiB);
        if (mem !== this.view.mem) this.setView({ mem });
        return this.view;
      },
      (config, image) => this.connection!.boot(config, image),
    );
    if (!r.ok) return this.showError(`${r.message} The running guest was left as it was.`);
    this.reports.fault = null;
    this.paused = false;
    this.requestUpdate();
  }

  /**
   * SeaBIOS boots a CD image of one's own (picked or dropped) from the ATAPI drive, the running
   * disk guest's disk kept beside it; a bad one leaves the running guest.
   */
  private async loadCd(file: File): Promise<void> {
    this.error = null;
    const r = await this.guest.bootCdFile(
      file,
      () => this.view,
      (config, image) => this.connection!.boot(config, image),
      async () => (await this.connection?.carriedDisk()) ?? null,
    );
    if (!r.ok) return this.showError(`${r.message} The running guest was left as it was.`);
    this.reports.fault = null;
    this.paused = false;
    this.requestUpdate();
  }

  /** Put a CD image in the running guest's drive, or take the disc out (null), without a reboot. */
  private async changeCd(file: File | null): Promise<void> {
    this.error = null;
    const r = await this.guest.changeCd(file, (image) => this.connection!.changeCd(image));
    if (!r.ok) return this.showError(`${r.message} The disc in the drive was left as it was.`);
    this.requestUpdate();
  }

  /** Save the disk as the guest left it (guest writes live only in the worker's memory). */
  private async saveDisk(): Promise<void> {
    const image = await this.connection?.currentDisk();
    if (image) saveFile(image, this.guest.diskName ?? 'disk.img');
    else this.showError('The running machine has no disk to save.');
  }

  private async loadFile(file: File): Promise<void> {
    if (isDiskImageName(file.name)) return this.loadDisk(file);
    if (isCdImageName(file.name)) return this.loadCd(file);
    this.error = null;
    const r = await this.guest.bootFile(file, this.view, (config, image) => this.connection!.boot(config, image));
    if (!r.ok) return this.showError(`${r.message} The running guest was left as it was.`);
    this.reports.fault = null;
    this.paused = false;
    this.requestUpdate();
  }

  private meterSource = (): MeterSource => {
    const s = this.connection?.status;
    return {
      io: this.displays().a?.refresher?.counters ?? null,
      stats: s?.kind === 'running' ? s.stats : null,
      label: { mode: this.view.mode, workload: this.view.workload, vramMiB: this.view.vram, hz: this.view.hz },
      client: VramClient.DISPLAY,
      displayAsleep: this.displays().a?.scheduler.asleep ?? false,
      afterNextPaint: (cb) => this.displays().a?.afterNextPaint(cb),
    };
  };

  /** The guest's screen(s): A (the page's display, or the A/B view's left one) and B (the A/B view's right one). */
  private displays(): { a: HvmDisplay | null; b: HvmDisplay | null } {
    const ab = this.renderRoot.querySelector<HvmAbView>('hvm-ab-view');
    if (ab) return ab.displays;
    return { a: this.renderRoot.querySelector<HvmDisplay>('hvm-display'), b: null };
  }

  override updated(): void {
    this.fit.measure();
    const s = this.connection?.status;
    this.bell.watch(s?.kind === 'running' ? s.stats.i32 : null);
    publishDebugHandle(
      s?.kind === 'running'
        ? {
            api: this.connection!.api,
            worker: this.connection!.worker,
            handles: s.handles,
            stats: s.stats,
            displays: () => this.displays(),
            meter: this.renderRoot.querySelector<CpuMeter>('cpu-meter'),
            view: () => this.view,
            linux: this.workload.linux,
          }
        : null,
    );
  }

  private options: { key: string; value: RefresherOptions } | null = null;
  /** The same object while the choice is the same (a new one rebuilds the refresher). */
  private refresherOptions(): RefresherOptions {
    const key = `${this.view.gen} ${this.view.scope}`;
    if (this.options?.key !== key)
      this.options = { key, value: { skipUnmovedGen: this.view.gen, pollScope: this.view.scope } };
    return this.options.value;
  }

  override render() {
    if (this.problem)
      return html`<div class="banner" role="alert"><strong>Cannot start.</strong> ${this.problem}</div>`;
    const s = this.connection!.status;
    const state = s.kind === 'running' ? Atomics.load(s.stats.i32, I32.STATE) : null;
    return html`
      <header>
        <h1>What a display costs: polling VRAM vs. hypervisor dirty tracking</h1>
        <p class="lede">
          An x86 guest runs in a worker; its screen is refreshed by comparing video RAM with a copy (poll) or by asking
          the hypervisor which pages were written (dirty), and the meter shows what each costs, live.
        </p>
      </header>
      ${this.firstVisit ? tryThis(() => ((this.firstVisit = false), this.requestUpdate())) : nothing}
      ${s.kind === 'crashed' ? crashed(s.message, () => void this.connection!.restart()) : nothing}
      ${this.error ? errorBanner(this.error, () => ((this.error = null), this.requestUpdate())) : nothing}
      ${this.replaced.length ? replacedNotice(this.replaced, () => ((this.replaced = []), this.requestUpdate())) : nothing}
      ${
        this.reports.fault
          ? faultBanner(
              this.reports.fault,
              // A machine that stopped (a crash, a reboot loop) is restarted; one that runs on, dismissed.
              state === RunState.CRASHED || state === RunState.TRIPLE_FAULT
                ? { label: 'Restart the machine', act: () => void this.reboot({}) }
                : { label: 'Dismiss', act: () => this.reports.dismiss() },
            )
          : nothing
      }
      <hvm-controls
        .view=${this.view}
        .overlay=${this.view.overlay}
        .running=${this.connection?.status.kind === 'running'}
        .paused=${this.paused}
        .toyGuest=${this.guest.toyGuest}
        .linuxGuest=${this.guest.linuxGuest}
        .hasDisk=${s.kind === 'running' && (s.config.hda !== undefined || s.config.hdaUrl !== undefined || s.config.hdaFile !== undefined)}
        .diskGuest=${s.kind === 'running' && (s.config.hda !== undefined || s.config.hdaUrl !== undefined || s.config.hdaFile !== undefined || s.config.cdrom !== undefined)}
        .hasCd=${s.kind === 'running' && !!s.config.cdrom}
        .kernelName=${this.guest.kernelName}
        @control=${(e: CustomEvent<ControlAction>) => void this.control(e.detail)}
      ></hvm-controls>
      <div class="layout ${this.view.ab ? 'ab' : ''}">
        <main>
          ${
            s.kind === 'running'
              ? guestScreen(
                  {
                    memory: s.handles.memory,
                    layout: s.handles.layout,
                    stats: s.stats,
                    view: this.view,
                    overlay: this.view.overlay,
                    options: this.refresherOptions(),
                    sides: this.sides,
                    fit: this.fit,
                    dropping: this.dropping,
                  },
                  {
                    keys: (bytes) => void this.connection?.api?.sendScancodes(bytes),
                    view: (patch) => this.setView(patch),
                    dropping: (on) => ((this.dropping = on), this.requestUpdate()),
                    file: (f) => void this.loadFile(f),
                  },
                )
              : s.kind === 'starting'
                ? html`<p class="status">Starting the machine…</p>`
                : html`<p class="status">
                    No machine running.
                    <button @click=${() => void this.bootToyGuest()}>Boot the toy guest</button>
                    or load a kernel of your own.
                  </p>`
          }
          <div class="below">
            <p class="status" aria-live="polite">
              ${this.guest.kernelName ? html`Guest: ${this.guest.kernelName}. ` : nothing}${stateText(state, this.paused, s.kind === 'running' ? s.stats : null)}
              Click the screen to type to the guest; drop a kernel, a disk or a CD image on it to boot it.
            </p>
            <serial-console
              .text=${this.serial.text}
              .guest=${this.guest.toyGuest ? 'hvmos' : this.guest.linuxGuest ? 'linux' : 'other'}
              @serial-send=${(e: CustomEvent<string>) => void this.connection?.api?.serialWrite(e.detail)}
            ></serial-console>
          </div>
        </main>
        ${
          this.view.ab
            ? nothing
            : html`<aside>
                <h2>CPU time, % of one core</h2>
                <cpu-meter .source=${this.meterSource}></cpu-meter>
              </aside>`
        }
      </div>
    `;
  }
}
customElements.define('hvm-app', HvmApp);
