/**
 * `<hvm-controls>`: the page's row of controls (display mode, the toy guest's workload and clock,
 * or the Linux guest's display scenario, refresh rate, VRAM and RAM, overlay, A/B, Pause, Reset,
 * Boot Linux, the disk guest's buttons (disk-controls.ts), Load a kernel). It shows
 * the view it is given and says what the user asked for in a `control` event (ControlAction):
 * the page changes the view, reboots, or boots. It renders into the page's tree (no shadow root
 * of its own), so the page's styles lay the row out.
 */
import { LitElement, html, nothing } from 'lit';
import { DISPLAY_MODES, type DisplayModeName } from '../ioemu/refresh';
import { VRAM_MIB_CHOICES } from '../shared/layout';
import { MODE_NAME } from './mode-names';
import { workloadChoices, type Overlay, type ViewState } from './view-state';
import './disk-controls';

const HZ_CHOICES = [10, 15, 20, 30, 45, 60];
const RAM_CHOICES = [16, 32, 64, 128, 256];
/** How each mode works, in the control's tooltip (its label is the mode's one name, mode-names.ts). */
const MODE_HOW: Record<DisplayModeName, string> = {
  poll: 'compare VRAM with a copy at every refresh (ioemu before Xen 3.3)',
  dirty: 'ask the hypervisor which pages the guest wrote (trackDirtyVram)',
  'dirty-idle': 'dirty, and after two quiet seconds the hypervisor write-protects VRAM and stops scanning (Xen 3.3)',
  trap: 'every guest write to VRAM faults into the hypervisor (the design Xen 3.3 rejected)',
};

export type { Overlay } from './view-state';

/** What the user asked for, in a `control` event. */
export type ControlAction =
  /** A change of the view that needs no reboot (display mode, refresh rate, skip, A/B). */
  | { kind: 'view'; patch: Partial<ViewState> }
  /** A change the machine is rebuilt for (VRAM, RAM). */
  | { kind: 'reboot'; patch: Partial<ViewState> }
  /** The toy guest's workload, or its clock's period. */
  | { kind: 'workload'; name: string }
  | { kind: 'tick'; seconds: number }
  | { kind: 'overlay'; overlay: Overlay }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'reset' }
  | { kind: 'boot-linux' }
  /** The disk guest: boot the committed disk, save the running disk (a disk image of one's own comes as a file). */
  | { kind: 'boot-disk' }
  | { kind: 'save-disk' }
  /** A CD image (ISO) for the disk guest's ATAPI drive: boot it, or put it in (null: take it out) while the guest runs. */
  | { kind: 'load-cd'; file: File }
  | { kind: 'change-cd'; file: File | null }
  | { kind: 'load-file'; file: File };

export class HvmControls extends LitElement {
  static override properties = {
    view: { attribute: false },
    overlay: {},
    running: { type: Boolean },
    paused: { type: Boolean },
    toyGuest: { type: Boolean },
    linuxGuest: { type: Boolean },
    hasDisk: { type: Boolean },
    diskGuest: { type: Boolean },
    hasCd: { type: Boolean },
    kernelName: {},
  };
  declare view: ViewState;
  declare overlay: Overlay;
  /** A machine runs: Pause and Reset act on it. */
  declare running: boolean;
  declare paused: boolean;
  /** The toy guest runs: its workload and clock controls are on. */
  declare toyGuest: boolean;
  /** Debian's Linux runs: the workload control offers its display scenarios. */
  declare linuxGuest: boolean;
  /** The running machine has a disk (the save button's enable). */
  declare hasDisk: boolean;
  /** The running machine has a disk or a CD (the CD choice shows). */
  declare diskGuest: boolean;
  /** A disc is in the running machine's CD-ROM drive (the eject button shows). */
  declare hasCd: boolean;
  declare kernelName: string;

  constructor() {
    super();
    this.overlay = 'none';
    this.running = false;
    this.paused = false;
    this.toyGuest = true;
    this.linuxGuest = false;
    this.hasDisk = false;
    this.diskGuest = false;
    this.hasCd = false;
    this.kernelName = '';
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  private act(action: ControlAction): void {
    this.dispatchEvent(new CustomEvent<ControlAction>('control', { detail: action }));
  }

  override render() {
    const v = this.view;
    // Pause and Reset act on a machine: with none running they do nothing, so they are off.
    const running = this.running;
    return html`<div class="controls">
      <fieldset>
        <legend>Display mode</legend>
        ${DISPLAY_MODES.map(
          (m) =>
            html`<label title=${MODE_HOW[m]}
              ><input
                type="radio"
                name="mode"
                value=${m}
                .checked=${v.mode === m}
                @change=${() => this.act({ kind: 'view', patch: { mode: m } })}
              />
              ${MODE_NAME[m]}</label
            >`,
        )}
      </fieldset>
      <label
        title=${
          this.toyGuest || this.linuxGuest
            ? nothing
            : `Workloads belong to the toy guest (hvmos) and to Debian's Linux; ${this.kernelName} runs`
        }
        >Workload
        <select
          aria-label="Workload"
          ?disabled=${!this.toyGuest && !this.linuxGuest}
          @change=${(e: Event) => this.act({ kind: 'workload', name: (e.target as HTMLSelectElement).value })}
          .value=${v.workload}
        >
          ${workloadChoices(this.linuxGuest).map(
            (c) =>
              html`<option value=${c.value} title=${c.title} ?selected=${v.workload === c.value}>${c.label}</option>`,
          )}
        </select></label
      >
      <label
        title=${
          this.toyGuest
            ? 'How often the clock workload redraws: every second it never lets the two-second idle drop engage'
            : `The clock period belongs to the toy guest (hvmos); ${this.kernelName} runs`
        }
        >Clock
        <select
          aria-label="Clock period"
          ?disabled=${!this.toyGuest}
          @change=${(e: Event) => this.act({ kind: 'tick', seconds: Number((e.target as HTMLSelectElement).value) })}
        >
          ${[1, 5, 60].map((t) => html`<option value=${t} ?selected=${v.tick === t}>${t} s</option>`)}
        </select></label
      >
      <label
        >Refresh
        <select
          aria-label="Refresh rate"
          @change=${(e: Event) => this.act({ kind: 'view', patch: { hz: Number((e.target as HTMLSelectElement).value) } })}
        >
          ${HZ_CHOICES.map((h) => html`<option value=${h} ?selected=${v.hz === h}>${h} Hz</option>`)}
        </select></label
      >
      <label
        >VRAM
        <select
          aria-label="VRAM size (reboots)"
          @change=${(e: Event) => this.act({ kind: 'reboot', patch: { vram: Number((e.target as HTMLSelectElement).value) } })}
        >
          ${VRAM_MIB_CHOICES.map((m) => html`<option value=${m} ?selected=${v.vram === m}>${m} MiB</option>`)}
        </select></label
      >
      <label
        >RAM
        <select
          aria-label="RAM size (reboots)"
          @change=${(e: Event) => this.act({ kind: 'reboot', patch: { mem: Number((e.target as HTMLSelectElement).value) } })}
        >
          ${RAM_CHOICES.map((m) => html`<option value=${m} ?selected=${v.mem === m}>${m} MiB</option>`)}
        </select></label
      >
      <label
        title="Over the screen: the tiles each refresh repainted (flashing), or a heat map of where the guest writes (each tile's count of refreshes that found it written, halving every 1.5 s)"
        >Overlay
        <select
          aria-label="Overlay"
          @change=${(e: Event) =>
            this.act({ kind: 'overlay', overlay: (e.target as HTMLSelectElement).value as Overlay })}
        >
          <option value="none" ?selected=${this.overlay === 'none'}>none</option>
          <option value="tiles" ?selected=${this.overlay === 'tiles'}>repainted tiles</option>
          <option value="heat" ?selected=${this.overlay === 'heat'}>heat map</option>
        </select></label
      >
      <label
        title="Dirty modes: do not call the hypervisor while its dirty-generation word has not moved (nothing tracked was written)"
        ><input
          type="checkbox"
          .checked=${v.gen}
          @change=${(e: Event) => this.act({ kind: 'view', patch: { gen: (e.target as HTMLInputElement).checked } })}
        />
        Skip unchanged</label
      >
      <label
        title="A second display of the same guest, side by side, in another mode: each with its own meter, and the ratio live"
        ><input
          type="checkbox"
          aria-label="A/B: two displays side by side"
          .checked=${v.ab !== null}
          @change=${(e: Event) =>
            this.act({
              kind: 'view',
              patch: {
                ab: (e.target as HTMLInputElement).checked ? (v.mode === 'poll' ? 'dirty-idle' : 'poll') : null,
              },
            })}
        />
        A/B side by side</label
      >
      <button ?disabled=${!running} @click=${() => this.act({ kind: this.paused ? 'resume' : 'pause' })}>
        ${this.paused ? 'Resume' : 'Pause'}
      </button>
      <button
        ?disabled=${!running}
        title="Restart the same kernel with the same settings (the RTC reads the time now)"
        @click=${() => this.act({ kind: 'reset' })}
      >
        Reset
      </button>
      <button
        title="Boot Debian's i386 Linux 6.1 with a BusyBox shell on the screen and on COM1 (64 MiB RAM)"
        @click=${() => this.act({ kind: 'boot-linux' })}
      >
        Boot Linux
      </button>
      <disk-controls
        ?hasDisk=${this.hasDisk}
        ?diskGuest=${this.diskGuest}
        ?hasCd=${this.hasCd}
        @disk-boot=${() => this.act({ kind: 'boot-disk' })}
        @disk-save=${() => this.act({ kind: 'save-disk' })}
        @disk-cd=${(e: CustomEvent<File>) => this.act({ kind: 'load-cd', file: e.detail })}
        @disk-change-cd=${(e: CustomEvent<File | null>) => this.act({ kind: 'change-cd', file: e.detail })}
      ></disk-controls>
      <button
        title="Boot a kernel of your own: a Multiboot ELF, a Linux bzImage or a raw firmware image (.bin, .rom); or a raw disk image (.img, .raw, .hdd, .dsk) or a CD image (.iso) that SeaBIOS boots. Or drop it on the screen"
        @click=${() => this.querySelector<HTMLInputElement>('input[type=file]')?.click()}
      >
        Load a kernel…
      </button>
      <input
        type="file"
        aria-label="Load your own kernel (Multiboot ELF)"
        @change=${(e: Event) => {
          const f = (e.target as HTMLInputElement).files?.[0];
          if (f) this.act({ kind: 'load-file', file: f });
        }}
      />
    </div>`;
  }
}
customElements.define('hvm-controls', HvmControls);
