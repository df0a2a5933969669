/**
 * The guest's screen: `<hvm-display>` drives the ioemu's refresher for one canvas (made by the
 * ioemu, src/ioemu/canvas-surface.ts) in the ioemu's refresh loop (a reactive controller), draws
 * the overlay or heat map over it, and gives the guest the keyboard while it has focus.
 */
import { LitElement, css, html, type ReactiveController, type ReactiveControllerHost } from 'lit';
import type { MemoryLayout, StatsViews } from '../shared/layout';
import {
  TILE_H,
  TILE_W,
  type DirtyVramOps,
  type DisplayModeName,
  type DisplayRefresher,
  type RefresherOptions,
} from '../ioemu/refresh';
import { canvasRefresher } from '../ioemu/canvas-surface';
import { browserFrameHost, RefreshScheduler, type RefreshTarget } from '../ioemu/scheduler';
import { I32 } from '../shared/layout';
import { scancodesFor } from './scancodes';
import { HeatMap } from './heat-map';
import { addPageTime } from './page-time';

/** Either modifier of the release chord (Ctrl+Alt), pressed last. */
const RELEASE_KEYS = new Set(['ControlLeft', 'ControlRight', 'AltLeft', 'AltRight']);

/**
 * The ioemu's refresh loop (src/ioemu/scheduler.ts: at the display's rate while something changes,
 * asleep on the machine's display bell while nothing can) as a reactive controller: it starts when
 * the host connects and stops when it disconnects.
 */
class RefreshController implements ReactiveController {
  readonly scheduler: RefreshScheduler;
  constructor(host: ReactiveControllerHost, target: RefreshTarget) {
    host.addController(this);
    this.scheduler = new RefreshScheduler(browserFrameHost, target);
  }
  hostConnected(): void {
    this.scheduler.start();
  }
  hostDisconnected(): void {
    this.scheduler.stop();
  }
}

/**
 * `<hvm-display>`: the guest's screen. Owns the ioemu's refresher for the machine it is given
 * (memory, layout, stats, the hypervisor operations) and forwards keys as PS/2 scancodes in a
 * `guest-keys` event while it has focus.
 */
export class HvmDisplay extends LitElement {
  static override properties = {
    memory: { attribute: false },
    layout: { attribute: false },
    stats: { attribute: false },
    ops: { attribute: false },
    mode: {},
    hz: { type: Number },
    overlay: { type: Boolean },
    heat: { type: Boolean },
    options: { attribute: false },
    fitWidth: { type: Number },
    fitHeight: { type: Number },
    releaseOnDisconnect: { type: Boolean },
  };
  static override styles = css`
    :host {
      display: inline-block;
      position: relative;
      line-height: 0;
      max-width: 100%;
    }
    canvas.screen {
      /* Smooth when the picture is shrunk to fit (pixelated would drop whole rows of text). */
      image-rendering: auto;
      background: #000;
      max-width: 100%;
      height: auto;
      outline: none;
    }
    canvas.screen:focus-visible {
      box-shadow: 0 0 0 2px #6aa9ff;
    }
    /* Over the screen's top edge: a shell writes its newest line at the bottom. */
    .hint {
      position: absolute;
      left: 0;
      right: 0;
      top: 0;
      line-height: 1.4;
      padding: 0.2rem 0.5rem;
      font:
        0.8rem system-ui,
        sans-serif;
      color: #fff;
      background: rgba(20, 40, 80, 0.85);
      pointer-events: none;
    }
    .hint[hidden] {
      display: none;
    }
    canvas.overlay {
      position: absolute;
      left: 0;
      top: 0;
      width: 100%;
      height: 100%;
      pointer-events: none;
    }
  `;

  declare memory: SharedArrayBuffer | null;
  declare layout: MemoryLayout | null;
  declare stats: StatsViews | null;
  declare ops: DirtyVramOps | null;
  declare mode: DisplayModeName;
  declare hz: number;
  declare overlay: boolean;
  /** The dirty heat map (heat-map.ts) over the picture: where the guest writes, fading. */
  declare heat: boolean;
  readonly heatMap = new HeatMap();
  declare options: RefresherOptions;
  /**
   * The box (CSS px) the picture is scaled into, keeping its aspect ratio, up or down (an 800×600
   * guest fills the same box as a 1024×768 one); 0: the picture's own size, shrunk to the width.
   */
  declare fitWidth: number;
  declare fitHeight: number;
  /**
   * When the element goes away while the machine runs on (the A/B view's second display), its
   * dirty-VRAM client stops tracking and its idle drop and trap go off (DisplayRefresher.release).
   */
  declare releaseOnDisconnect: boolean;
  refresher: DisplayRefresher | null = null;
  private readonly loop = new RefreshController(this, {
    refresh: () => this.tick(),
    wouldSkip: (now) => !this.fading() && (this.refresher?.wouldSkip(now) ?? false),
    // Poll paints in the refresh's own task; the dirty modes after their hypercall's answer.
    paintsLate: () => (this.refresher?.mode ?? 'poll') !== 'poll',
    // The overlay fades on every refresh, so it keeps the loop awake; so does a heat map still warm.
    sleepFor: (now) => (this.fading() ? null : (this.refresher?.sleepFor(now) ?? null)),
  });

  /** An overlay that changes by itself at each refresh (a fading picture) is on. */
  private fading(): boolean {
    return this.overlay || (this.heat && this.heatMap.hotTiles > 0);
  }

  /** The refresh loop's own counters (sleeps on the display bell, wakes), for tests. */
  get scheduler(): RefreshScheduler {
    return this.loop.scheduler;
  }

  constructor() {
    super();
    this.memory = null;
    this.layout = null;
    this.stats = null;
    this.ops = null;
    this.mode = 'dirty-idle';
    this.hz = 30;
    this.overlay = false;
    this.heat = false;
    this.options = {};
    this.fitWidth = 0;
    this.fitHeight = 0;
    this.releaseOnDisconnect = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.releaseOnDisconnect) void this.refresher?.release();
  }

  /** The picture's size in pixels (null before the guest has one). */
  picture: { width: number; height: number } | null = null;

  /** Scale the picture into the fit box (see fitWidth). */
  private applyFit(): void {
    const screen = this.renderRoot.querySelector<HTMLCanvasElement>('canvas.screen');
    if (!screen) return;
    const { width: w, height: h } = screen;
    if (!this.fitWidth || !this.fitHeight || !w || !h) {
      screen.style.width = screen.style.height = screen.style.maxWidth = '';
      return;
    }
    const scale = Math.min(this.fitWidth / w, this.fitHeight / h);
    screen.style.maxWidth = 'none';
    screen.style.width = `${Math.floor(w * scale)}px`;
    screen.style.height = `${Math.floor(h * scale)}px`;
  }

  override updated(changed: Map<string, unknown>): void {
    const loop = this.loop.scheduler;
    loop.hz = this.hz;
    const screen = this.renderRoot.querySelector<HTMLCanvasElement>('canvas.screen')!;
    if (changed.has('memory') || changed.has('stats') || changed.has('ops') || changed.has('options')) {
      this.refresher = null;
      this.picture = null;
      if (this.memory && this.layout && this.stats && this.ops) {
        this.refresher = canvasRefresher(
          screen,
          { memory: this.memory, layout: this.layout, stats: this.stats },
          this.ops,
          this.options,
          () => {
            this.picture = { width: screen.width, height: screen.height };
            this.applyFit();
            // The page measures the screen's box again: the text under the screen wraps at its width.
            this.dispatchEvent(new Event('picture-resize', { bubbles: true, composed: true }));
          },
        );
        void this.refresher.setMode(this.mode);
        this.dispatchEvent(new CustomEvent('refresher-changed', { bubbles: true, composed: true }));
      }
      loop.setBell(this.stats ? { i32: this.stats.i32, index: I32.DISPLAY_BELL } : null);
      loop.wake();
    } else if (changed.has('mode') && this.refresher) {
      // Repaint at once in the new mode, even if the loop was asleep.
      void this.refresher.setMode(this.mode).then(() => loop.wake());
    }
    if (changed.has('overlay') || changed.has('heat')) {
      this.drawOverlay();
      loop.wake();
    }
    if (changed.has('hz')) loop.wake();
    if (changed.has('fitWidth') || changed.has('fitHeight')) this.applyFit();
  }

  /** Called once after the next refresh that repaints something (afterNextPaint). */
  private paintWaiters: (() => void)[] = [];

  /**
   * Run `cb` once, right after the next refresh that repaints part of the screen (in the same
   * task, so whatever it changes on the page goes into the frame that shows the repaint, not a
   * frame of its own: each frame costs the tab several ms of CPU).
   */
  afterNextPaint(cb: () => void): void {
    this.paintWaiters.push(cb);
  }

  private async tick(): Promise<void> {
    const r = this.refresher;
    if (!r) return;
    const tiles = r.counters.tilesRepainted;
    const ran = await r.refresh();
    if (r.counters.tilesRepainted !== tiles && this.paintWaiters.length) {
      const waiters = this.paintWaiters;
      this.paintWaiters = [];
      for (const cb of waiters) cb();
    }
    if (ran && this.heat) this.heatMap.add(r.tiles, r.tilesX, r.tilesY, r.lastFull, performance.now());
    if (ran && (this.overlay || this.heat)) this.drawOverlay();
  }

  /** Flash the tiles the last refresh repainted (its cost is the page's, not the ioemu's). */
  private drawOverlay(): void {
    const t0 = performance.now();
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>('canvas.overlay');
    const r = this.refresher;
    if (!canvas) return;
    const ctx = canvas.getContext('2d')!;
    if ((!this.overlay && !this.heat) || !r?.shown) {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (canvas.width !== r.shown.width || canvas.height !== r.shown.height) {
      canvas.width = r.shown.width;
      canvas.height = r.shown.height;
    }
    if (this.heat) {
      // The heat map replaces the picture of the overlay each time: one colour per warm tile.
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      const h = this.heatMap;
      for (let ty = 0; ty < h.tilesY; ty++)
        for (let tx = 0; tx < h.tilesX; tx++) {
          const v = h.counts[ty * h.tilesX + tx];
          if (v === 0) continue;
          ctx.fillStyle = HeatMap.color(HeatMap.heat(v));
          ctx.fillRect(tx * TILE_W, ty * TILE_H, TILE_W, TILE_H);
        }
      addPageTime(performance.now() - t0);
      return;
    }
    // Fade the previous flashes, then mark this refresh's tiles.
    ctx.globalCompositeOperation = 'destination-out';
    ctx.fillStyle = 'rgba(0,0,0,0.35)';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.globalCompositeOperation = 'source-over';
    ctx.fillStyle = 'rgba(255, 80, 40, 0.45)';
    for (let ty = 0; ty < r.tilesY; ty++)
      for (let tx = 0; tx < r.tilesX; tx++)
        if (r.tiles[ty * r.tilesX + tx]) ctx.fillRect(tx * TILE_W, ty * TILE_H, TILE_W - 1, TILE_H - 1);
    addPageTime(performance.now() - t0);
  }

  /** Keys whose make code the guest got and whose break it has not: released with the keyboard. */
  private readonly held = new Set<string>();

  private key(e: KeyboardEvent, down: boolean): void {
    // Ctrl+Alt gives the keyboard back to the page (QEMU's and VirtualBox's habit): the screen
    // takes every other key, Tab and Escape included, while it has focus.
    if (down && e.ctrlKey && e.altKey && RELEASE_KEYS.has(e.code)) {
      e.preventDefault();
      this.releaseKeyboard();
      return;
    }
    const bytes = scancodesFor(e.code, down);
    if (!bytes) return;
    e.preventDefault();
    // The host's auto-repeat of a held key: the emulated keyboard's typematic is off (i8042.ts),
    // so a held key is one make code until its break.
    if (e.repeat) return;
    if (down) this.held.add(e.code);
    else this.held.delete(e.code);
    this.dispatchEvent(new CustomEvent('guest-keys', { detail: bytes, bubbles: true, composed: true }));
  }

  /** Let go of the keyboard: the guest sees every key it holds released, and focus leaves the screen. */
  releaseKeyboard(): void {
    const breaks = [...this.held].flatMap((code) => scancodesFor(code, false) ?? []);
    this.held.clear();
    if (breaks.length)
      this.dispatchEvent(new CustomEvent('guest-keys', { detail: breaks, bubbles: true, composed: true }));
    this.renderRoot.querySelector<HTMLCanvasElement>('canvas.screen')?.blur();
    this.dispatchEvent(new CustomEvent('keyboard-released', { bubbles: true, composed: true }));
  }

  private focused = false;

  private setFocused(on: boolean): void {
    this.focused = on;
    // A key held when focus leaves would stay down in the guest: release what it holds.
    if (!on && this.held.size) this.releaseKeyboard();
    this.requestUpdate();
  }

  override render() {
    return html`<canvas
        class="screen"
        tabindex="0"
        role="application"
        aria-roledescription="guest screen"
        aria-label="Guest display: takes the keyboard while focused"
        aria-describedby="release-hint"
        title="Click here to type to the guest; Ctrl+Alt gives the keyboard back"
        @keydown=${(e: KeyboardEvent) => this.key(e, true)}
        @keyup=${(e: KeyboardEvent) => this.key(e, false)}
        @focus=${() => this.setFocused(true)}
        @blur=${() => this.setFocused(false)}
      ></canvas
      ><canvas class="overlay" aria-hidden="true"></canvas>
      <div id="release-hint" class="hint" ?hidden=${!this.focused}>
        The guest has the keyboard (Tab too): press Ctrl+Alt to give it back
      </div>`;
  }
}
customElements.define('hvm-display', HvmDisplay);
