/**
 * The serial console (COM1): what the guest wrote, read from the machine when the page bell says
 * there is some (`SerialConsoleController`), shown with a line to send (`<serial-console>`).
 * Where a new machine's output begins (a kernel loaded, a reboot, a restart) a marker line says
 * what booted; the old output stays above it.
 */
import { LitElement, html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import type { Remote } from 'comlink';
import type { MachineApi } from '../shared/api';
import { I32, type StatsViews } from '../shared/layout';
import { consoleText } from './console-text';

/** The most of the guest's output the page keeps. */
const KEEP_CHARS = 64 * 1024;

/** The console's text, kept up to date from the running machine: a reactive controller of the page. */
export class SerialConsoleController implements ReactiveController {
  text = '';
  /** SERIAL_SEQ (of which machine's stats) when COM1 output was last read. */
  private seen: { of: Int32Array | null; seq: number } = { of: null, seq: 0 };

  constructor(
    private readonly host: ReactiveControllerHost,
    /** Output arrived: `before` is the tail of what was there (a line may continue in `added`). */
    private readonly onOutput: (before: string, added: string) => void,
    /** A new machine's output begins (before any of it is read). */
    private readonly onNewMachine: () => void = () => {},
  ) {
    host.addController(this);
  }

  hostConnected(): void {}

  /**
   * Read the machine's COM1 output if there is some (each message wakes an idle worker, so only
   * then). `booted` names a new machine for the marker line.
   */
  async drain(api: Remote<MachineApi>, stats: StatsViews, booted: () => string): Promise<void> {
    const seq = Atomics.load(stats.i32, I32.SERIAL_SEQ);
    const newMachine = this.seen.of !== stats.i32;
    if (newMachine && this.seen.of !== null && this.text) {
      this.text += `${this.text.endsWith('\n') ? '' : '\n'}──── ${booted()} ────\n`;
      this.host.requestUpdate();
    }
    if (newMachine) this.onNewMachine();
    const fresh = newMachine || seq !== this.seen.seq;
    const out = fresh ? await api.serialRead() : null;
    this.seen = { of: stats.i32, seq };
    if (out?.ok && out.value) {
      const before = this.text.slice(-64);
      this.text = (this.text + out.value).slice(-KEEP_CHARS);
      this.onOutput(before, out.value);
      this.host.requestUpdate();
    }
  }
}

/**
 * `<serial-console>`: the output (terminal control sequences left out, console-text.ts), kept
 * scrolled to its end, and a line to send, in a `serial-send` event. Under it, what the running
 * guest reads there (`guest`): the toy guest's commands, or the Linux guest's shell. It renders into the page's tree (no shadow root of its
 * own), so the page's styles lay it out with the screen.
 */
export class SerialConsole extends LitElement {
  static override properties = { text: {}, guest: {} };
  declare text: string;
  /** Which guest runs, for the hint under the input: the toy guest, the Linux guest, or another. */
  declare guest: 'hvmos' | 'linux' | 'other';

  constructor() {
    super();
    this.text = '';
    this.guest = 'other';
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  protected override updated(changed: Map<string, unknown>): void {
    const pre = this.querySelector('pre');
    if (changed.has('text') && pre) requestAnimationFrame(() => (pre.scrollTop = pre.scrollHeight));
  }

  override render() {
    return html`<section class="console" aria-label="Serial console (COM1)">
      <h2>Serial console (COM1)</h2>
      <pre>${consoleText(this.text)}</pre>
      <form
        @submit=${(e: Event) => {
          e.preventDefault();
          const input = (e.target as HTMLFormElement).querySelector('input')!;
          this.dispatchEvent(new CustomEvent('serial-send', { detail: `${input.value}\n` }));
          input.value = '';
        }}
      >
        <input
          aria-label="Send to the guest's serial port"
          aria-describedby="com1-commands"
          placeholder=${
            this.guest === 'hvmos'
              ? 'type a line for COM1, e.g. help or workload plasma'
              : this.guest === 'linux'
                ? 'type a line for COM1, e.g. uname -a'
                : 'type a line for COM1'
          }
        />
        <button type="submit">Send</button>
      </form>
      ${
        this.guest === 'hvmos'
          ? html`<p class="hint" id="com1-commands">
              hvmos reads: <code>help</code>, <code>workload NAME</code>, <code>tick SECONDS</code>,
              <code>mode WxHxBPP</code>; any other line is text in the typing workload.
            </p>`
          : this.guest === 'linux'
            ? html`<p class="hint" id="com1-commands">
                A BusyBox shell: the page types the Workload control's scenario here once it shows its prompt.
              </p>`
            : nothing
      }
    </section>`;
  }
}
customElements.define('serial-console', SerialConsole);
