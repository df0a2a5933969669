import { LitElement, css, html, nothing } from 'lit';

/**
 * `<disk-controls>`: the "BIOS + disk" guest's buttons: boot the committed disk (SeaBIOS + disk),
 * and while that guest runs, put a CD image (ISO) in the ATAPI drive and boot it (the running disk
 * stays), change the CD in the drive while the guest runs (or take it out), and, with a disk, save
 * the disk as the guest left it. A disk image of one's own comes through the page's file picker
 * and drop zone (told from a kernel by its name), as a CD can. It decides nothing: it fires
 * `disk-boot`, `disk-cd` (the file), `disk-change-cd` (the file, or null to eject) and
 * `disk-save`, and the page acts.
 */
/** The pickers' labels: boot a CD, or change the one in the running drive. */
const BOOT_CD = 'Load a CD image (ISO)';
const CHANGE_CD = 'Change the CD in the drive (ISO)';

export class DiskControls extends LitElement {
  static override properties = { hasDisk: { type: Boolean }, diskGuest: { type: Boolean }, hasCd: { type: Boolean } };
  /** The running machine has a disk (the save button shows; the controls stay within two rows at 1024 px without it). */
  hasDisk = false;
  /** SeaBIOS runs with a disk or a CD: the CD choice shows (an .iso loaded or dropped boots one from any guest). */
  diskGuest = false;
  /** A disc is in the running machine's CD-ROM drive: the eject button shows. */
  hasCd = false;

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

  /** A hidden ISO picker that fires `name` with the file picked. */
  private picker(label: string, name: string) {
    return html`<input
      type="file"
      accept=".iso"
      aria-label=${label}
      @change=${(e: Event) => {
        const input = e.target as HTMLInputElement;
        const f = input.files?.[0];
        input.value = ''; // the same file may be picked again
        if (f) this.fire(name, f);
      }}
    />`;
  }

  private pick(label: string): void {
    this.renderRoot.querySelector<HTMLInputElement>(`input[aria-label="${label}"]`)?.click();
  }

  override render() {
    return html`<button
        title="SeaBIOS boots a hard disk (IDE): Linux on a FAT disk with SYSLINUX, its text on the VGA screen (64 MiB RAM)"
        @click=${() => this.fire('disk-boot')}
      >
        BIOS + disk
      </button>
      ${
        this.diskGuest
          ? html`<button
                title="Put a CD image (ISO 9660) in the IDE CD-ROM drive and boot it through SeaBIOS (El Torito); the running disk stays, booted after the CD"
                @click=${() => this.pick(BOOT_CD)}
              >
                CD…
              </button>
              ${this.picker(BOOT_CD, 'disk-cd')}
              <button
                title="Change the CD in the running machine's drive, without a reboot: the guest sees a new disc, as it would in a PC's drive (its Linux reads it at /dev/sr0)"
                @click=${() => this.pick(CHANGE_CD)}
              >
                Change CD…
              </button>
              ${this.picker(CHANGE_CD, 'disk-change-cd')}
              ${
                this.hasCd
                  ? html`<button
                      title="Take the CD out of the running machine's drive (the tray stays open)"
                      @click=${() => this.fire('disk-change-cd', null)}
                    >
                      Eject CD
                    </button>`
                  : nothing
              }`
          : nothing
      }
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
