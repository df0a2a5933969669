import { LitElement, css, html } from 'lit';
import { DISK_GUEST } from './guests';

/**
 * `<disk-controls>`: the "BIOS + disk" guest's buttons. Boot the committed disk, pick a disk image
 * of one's own (a file input; a dropped file reaches the page's screen instead), and save the
 * running machine's disk as the guest left it. It decides nothing: it fires `disk-boot`,
 * `disk-file` (detail: the File) and `disk-save`, and the page acts.
 */
export class DiskControls extends LitElement {
  static override properties = { hasDisk: { type: Boolean } };
  /** The running machine has a disk (the save button's enable). */
  hasDisk = false;

  static override styles = css`
    :host {
      display: contents;
    }
    button {
      font: inherit;
      font-size: 0.85rem;
    }
    input[type='file'] {
      display: none;
    }
  `;

  private fire(name: string, detail?: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  override render() {
    return html`<button
        title="SeaBIOS boots a hard disk (IDE): Linux on a FAT disk with SYSLINUX, its text on the VGA screen (64 MiB RAM)"
        @click=${() => this.fire('disk-boot')}
      >
        Boot ${DISK_GUEST.name}
      </button>
      <button
        title="Boot a raw disk image of your own with SeaBIOS (.img, .raw, .hdd, .dsk); or drop it on the screen. The guest's writes stay in memory"
        @click=${() => this.renderRoot.querySelector<HTMLInputElement>('input[type=file]')?.click()}
      >
        Load a disk…
      </button>
      <input
        type="file"
        aria-label="Load a disk image of your own"
        @change=${(e: Event) => {
          const input = e.target as HTMLInputElement;
          const f = input.files?.[0];
          input.value = ''; // the same file again is a new choice
          if (f) this.fire('disk-file', f);
        }}
      />
      <button
        ?disabled=${!this.hasDisk}
        title="Save the running machine's disk as the guest has left it (its writes are kept in memory only)"
        @click=${() => this.fire('disk-save')}
      >
        Save the disk
      </button>`;
  }
}

customElements.define('disk-controls', DiskControls);
