import { LitElement, css, html, type PropertyValues } from 'lit';
import { I32, type MemoryLayout, type StatsViews } from '../shared/layout';

/**
 * The seed of the display: paints the visible part of VRAM (32 bpp only) onto a canvas every
 * animation frame, reading VRAM through a typed-array view on the machine-memory SAB. The ioemu
 * (refresh strategies, tiles, every depth) replaces it.
 */
export class VramCanvas extends LitElement {
  static override properties = {
    memory: { attribute: false },
    layout: { attribute: false },
    stats: { attribute: false },
  };
  static override styles = css`
    canvas {
      image-rendering: pixelated;
      background: #000;
      max-width: 100%;
    }
  `;

  declare memory: SharedArrayBuffer | null;
  declare layout: MemoryLayout | null;
  declare stats: StatsViews | null;
  private raf = 0;
  private image: ImageData | null = null;

  constructor() {
    super();
    this.memory = null;
    this.layout = null;
    this.stats = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const loop = () => {
      this.paint();
      this.raf = requestAnimationFrame(loop);
    };
    this.raf = requestAnimationFrame(loop);
  }

  override disconnectedCallback(): void {
    cancelAnimationFrame(this.raf);
    super.disconnectedCallback();
  }

  protected override updated(_changed: PropertyValues): void {
    this.image = null;
  }

  /** Convert the visible 32-bpp frame to RGBA and upload it. */
  paint(): void {
    const canvas = this.renderRoot.querySelector('canvas');
    if (!canvas || !this.memory || !this.layout || !this.stats) return;
    const i32 = this.stats.i32;
    const w = Atomics.load(i32, I32.VBE_XRES);
    const h = Atomics.load(i32, I32.VBE_YRES);
    const line = Atomics.load(i32, I32.VBE_LINE_BYTES);
    const start = Atomics.load(i32, I32.VBE_START);
    if (!Atomics.load(i32, I32.VBE_ENABLED) || Atomics.load(i32, I32.VBE_BPP) !== 32 || w === 0) return;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      this.image = null;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    this.image ??= ctx.createImageData(w, h);
    const src = new Uint8Array(this.memory, this.layout.vramOffset, this.layout.vramBytes);
    const dst = this.image.data;
    for (let y = 0; y < h; y++) {
      let s = start + y * line;
      let d = y * w * 4;
      for (let x = 0; x < w; x++, s += 4, d += 4) {
        dst[d] = src[s + 2];
        dst[d + 1] = src[s + 1];
        dst[d + 2] = src[s];
        dst[d + 3] = 255;
      }
    }
    ctx.putImageData(this.image, 0, 0);
  }

  override render() {
    return html`<canvas aria-label="guest display"></canvas>`;
  }
}
customElements.define('vram-canvas', VramCanvas);
