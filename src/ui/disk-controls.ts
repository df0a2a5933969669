import { LitElement, css, html, nothing } from 'lit';

/**
 * `<disk-controls>`: the "BIOS + disk" guest's buttons: boot the committed disk (SeaBIOS + disk)
 * and, while a machine with a disk runs, save its disk as the guest left it. A disk image of one's
 * own comes through the page's file picker and drop zone (told from a kernel by its name). It
 * decides nothing: it fires `disk-boot` and `disk-save`, and the page acts.
 */
export class DiskControls extends LitElement {
  static override properties = { hasDisk: { type: Boolean } };
  /** The running machine has a disk (the save button shows; the controls stay within two rows at 1024 px without it). */
  hasDisk = false;

  static override styles = css`
    :host {
      display: contents;
    }
    button {
      font: inherit;
      font-size: 0.85rem;
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
        BIOS + disk
      </button>
      ${
        this.hasDisk
          ? html`<button
              title="Save the running machine's disk as the guest has left it (its writes are kept in memory only)"
              @click=${() => this.fire('disk-save')}
            >
              Save disk
            </button>`
          : nothing
      }`;
  }
}

customElements.define('disk-controls', DiskControls);
