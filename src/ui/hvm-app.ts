import { LitElement, css, html } from 'lit';
import { RAM_MIB_DEFAULT, VRAM_MIB_DEFAULT, I32 } from '../shared/layout';
import { MachineConnection } from './machine-connection';
import './vram-canvas';

/** Why the page cannot run, in words a user can act on; null when all is well. */
export function isolationProblem(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated)
    return (
      'This page is not cross-origin isolated, so the browser withholds SharedArrayBuffer, which the ' +
      'emulator needs for guest memory. Serve it with the headers Cross-Origin-Opener-Policy: same-origin ' +
      'and Cross-Origin-Embedder-Policy: require-corp (npm start does), or allow the bundled ' +
      'coi-serviceworker.js to install and reload the page.'
    );
  return null;
}

export class HvmApp extends LitElement {
  static override styles = css`
    :host {
      display: block;
      padding: 1rem;
    }
    .banner {
      background: #5c1a1a;
      border: 1px solid #c44;
      padding: 0.75rem 1rem;
      border-radius: 6px;
      max-width: 60rem;
    }
    .status {
      opacity: 0.7;
      font-size: 0.9rem;
      margin: 0.5rem 0;
    }
  `;

  private readonly problem = isolationProblem();
  private readonly connection: MachineConnection | null = this.problem
    ? null
    : new MachineConnection(this, () => ({
        config: { ramMiB: RAM_MIB_DEFAULT, vramMiB: VRAM_MIB_DEFAULT, cmdline: '', clock: 'wall', image: 'pattern' },
        image: new ArrayBuffer(0),
      }));

  override updated(): void {
    // A handle for the end-to-end tests and for the curious in DevTools: the same views the page uses.
    const s = this.connection?.status;
    if (s?.kind === 'running')
      (globalThis as Record<string, unknown>).__hvm = {
        api: this.connection!.api,
        handles: s.handles,
        stats: s.stats,
        I32,
      };
  }

  override render() {
    if (this.problem)
      return html`<div class="banner" role="alert"><strong>Cannot start.</strong> ${this.problem}</div>`;
    const s = this.connection!.status;
    switch (s.kind) {
      case 'idle':
      case 'starting':
        return html`<p class="status">Starting the machine…</p>`;
      case 'error':
        return html`<div class="banner" role="alert"><strong>The machine failed.</strong> ${s.message}</div>`;
      case 'running':
        return html`<p class="status">Machine running (test pattern).</p>
          <vram-canvas .memory=${s.handles.memory} .layout=${s.handles.layout} .stats=${s.stats}></vram-canvas>`;
    }
  }
}
customElements.define('hvm-app', HvmApp);
