/**
 * The ioemu's display refresh: one call of `refresh()` per display refresh finds what changed in
 * VRAM since the last one, converts the changed tiles to RGBA and hands them to the surface to
 * upload. How it finds the changes is the display mode (DESIGN.md, "Display modes"):
 *
 *  - poll: compare VRAM with the ioemu's own copy, page by page, word-wide, and copy what differs
 *    (pre-3.3 ioemu). By default the whole VRAM, as that ioemu did (so its cost grows with the
 *    VRAM size); `pollScope = 'displayed'` compares only the displayed range. The picture is
 *    converted from the copy, not from VRAM: the guest writes while we compare and convert, and a
 *    picture converted from VRAM could show a value the copy never held — when VRAM later goes
 *    back to the copy's value (a sprite moving off the background), no compare would see a
 *    difference and the stale pixels would stay. Painting the copy keeps picture = copy.
 *  - dirty: ask the hypervisor (`trackDirtyVram` over the displayed range) which pages were
 *    written since the last call; idle drop off.
 *  - dirty-idle: the same with the hypervisor's two-second idle drop on (Xen 3.3).
 *  - trap: the same calls, but the hypervisor write-protects the range and takes a fault on every
 *    guest write to it (the design Xen 3.3 rejected): the ioemu's cost is dirty's, the guest pays.
 *
 * The legacy VGA modes live in VRAM too (the VGA's planes, interleaved): 256- and 16-colour
 * pictures map pages to rows like dispi ones; a text screen is compared cell by cell (and its
 * fonts byte by byte) whenever a page of it changed, and only the cells that differ are repainted,
 * as qemu's text refresh does; its cursor and blinking characters repaint on the ioemu's clock.
 *
 * No DOM here: the surface is an interface, so the whole refresh runs in Node tests too. The time
 * spent in the refresh's own work (compare, hypercall marshalling, bitmap walk, conversion,
 * upload) is measured around that work and accumulated in `counters.workMs` (the meter's ioemu
 * line); the time spent waiting for the worker's answer is not the main thread's and is not
 * counted.
 */
import type { Result, VramClient } from '../shared/api';
import { HV_CLIENT_DROPPED, PAGE_SHIFT, PAGE_SIZE, type StatsViews, I32 } from '../shared/layout';
import {
  displayedPages,
  isShowable,
  lineAddress,
  readDisplayState,
  vramBytesPerPixel,
  type DisplayState,
} from './display-state';
import { blinkPhaseAt, convertAnyRect, nextBlinkChangeIn, type BlinkPhase } from './vga-convert';

export type DisplayModeName = 'poll' | 'dirty' | 'dirty-idle' | 'trap';
export const DISPLAY_MODES: readonly DisplayModeName[] = ['poll', 'dirty', 'dirty-idle', 'trap'];

/**
 * What the ioemu needs of the hypervisor: the device-model operations it calls, as one dirty-VRAM
 * client (each display its own: two displays never take each other's dirty bits).
 */
export interface DirtyVramOps {
  /** Which client these operations act for (its state word is I32.HV_CLIENT_STATE + client). */
  readonly client: VramClient;
  trackDirtyVram(firstPfn: number, nr: number): Promise<Result<Uint8Array>>;
  setIdleDrop(on: boolean): Promise<Result<void>>;
  setTrapWrites(on: boolean): Promise<Result<void>>;
}

/** Where the pixels go: an RGBA frame the refresher converts into, and a rectangle upload. */
export interface Surface {
  /** Make the frame width × height (contents undefined until repainted). */
  resize(width: number, height: number): void;
  /** The frame, one 0xAABBGGRR word per pixel, width × height. */
  readonly frame32: Uint32Array;
  /** Push the rectangle of the frame to the screen. */
  upload(x: number, y: number, w: number, h: number): void;
  /** No graphics mode: show nothing (the UI says why). */
  blank(): void;
}

/** Cumulative counters; the meter differentiates them per second. */
export interface IoemuCounters {
  /** Main-thread ms in refresh work (compare, marshalling, bitmap walk, conversion, upload). */
  workMs: number;
  refreshes: number;
  /** Pages compared with the copy (poll). */
  pagesCompared: number;
  /** Pages the hypervisor reported dirty (dirty modes) or found changed (poll). */
  pagesChanged: number;
  /** trackDirtyVram calls made, and those skipped because the dirty generation had not moved. */
  hypercalls: number;
  hypercallsSkipped: number;
  tilesRepainted: number;
  fullRepaints: number;
}

export const TILE_W = 64;
export const TILE_H = 16;

export interface RefresherOptions {
  /** Skip the hypercall when I32.DIRTY_GEN has not moved since the last one (see the hypervisor README). */
  skipUnmovedGen?: boolean;
  pollScope?: 'vram' | 'displayed';
  /** The clock (ms) of the text cursor's and blinking characters' phases: performance.now() by default. */
  blinkClock?: () => number;
}

/** How often a generation-skipping client still calls in dirty-idle mode, so the hypervisor's idle clock is evaluated. */
const SKIP_MAX_MS = 1000;

/** A fresh set of counters, all zero. */
export function newIoemuCounters(): IoemuCounters {
  return {
    workMs: 0,
    refreshes: 0,
    pagesCompared: 0,
    pagesChanged: 0,
    hypercalls: 0,
    hypercallsSkipped: 0,
    tilesRepainted: 0,
    fullRepaints: 0,
  };
}

export class DisplayRefresher {
  readonly counters: IoemuCounters = newIoemuCounters();
  /** Tile flags of the last refresh (for the dirty-tile overlay): tilesX × tilesY, 1 = repainted. */
  tiles = new Uint8Array(0);
  tilesX = 0;
  tilesY = 0;
  /** The state shown by the last refresh (null: nothing showable). */
  shown: DisplayState | null = null;
  /** The last refresh repainted everything (a mode switch, a new range or state): its tiles say nothing of writes. */
  lastFull = false;

  private modeName: DisplayModeName = 'poll';
  private readonly vram32: Uint32Array;
  private readonly vramI32: Int32Array;
  /** Poll's copy of VRAM (three views of one buffer): compared word-wide, converted from. */
  private shadow: Int32Array | null = null;
  private shadow8: Uint8Array = new Uint8Array(0);
  private shadow32: Uint32Array = new Uint32Array(0);
  private palette = new Int32Array(256);
  /** The palette the picture on the surface was painted with (a new display generation may keep it). */
  private paintedPalette = new Int32Array(256);
  private needFull = true;
  /** Text modes: the cursor and blink phases painted, each cell's character and attribute, the fonts. */
  private phase: BlinkPhase = { cursorOn: true, blinkOn: true };
  private cells = new Uint16Array(0);
  private fonts = new Uint8Array(2 * 8192);
  /** A page of the text screen (or its fonts) changed since the cells were last compared. */
  private textTouched = false;
  /** The range the hypervisor tracks for us ([firstPfn, nr]), or null. */
  private tracked: { firstPfn: number; nr: number } | null = null;
  private lastGen = -1;
  private lastCallAt = -Infinity;
  private busy = false;
  /** release() was called: no more hypercalls from this refresher. */
  private released = false;
  /** Tiles the last refresh repainted (so an idle refresh need not clear the flags again). */
  private lastTiles = 0;
  readonly options: Required<RefresherOptions>;

  constructor(
    private readonly vram: Uint8Array,
    private readonly stats: StatsViews,
    private readonly surface: Surface,
    private readonly hv: DirtyVramOps,
    options: RefresherOptions = {},
  ) {
    this.vram32 = new Uint32Array(vram.buffer, vram.byteOffset, vram.byteLength >> 2);
    this.vramI32 = new Int32Array(vram.buffer, vram.byteOffset, vram.byteLength >> 2);
    this.options = { skipUnmovedGen: false, pollScope: 'vram', blinkClock: () => performance.now(), ...options };
  }

  get mode(): DisplayModeName {
    return this.modeName;
  }

  /** Switch the display mode, live. The next refresh repaints everything. */
  async setMode(mode: DisplayModeName): Promise<void> {
    this.modeName = mode;
    this.needFull = true;
    if (mode === 'poll') {
      this.shadow = null; // re-copied at the next refresh
      if (this.tracked) {
        this.tracked = null;
        await this.hv.trackDirtyVram(0, 0); // nr = 0 stops tracking
      }
    } else {
      this.shadow = null;
      this.tracked = null; // a new range (re)starts tracking: all pages reported dirty once
    }
    await this.hv.setTrapWrites(mode === 'trap');
    await this.hv.setIdleDrop(mode === 'dirty-idle');
  }

  /**
   * The display goes away while the machine runs on (the A/B view closed): its client stops
   * tracking and switches its idle drop and trap off, so the guest no longer pays for it.
   */
  async release(): Promise<void> {
    this.released = true;
    this.tracked = null;
    this.shown = null;
    await this.hv.trackDirtyVram(0, 0);
    await this.hv.setTrapWrites(false);
    await this.hv.setIdleDrop(false);
  }

  /**
   * One display refresh. Returns false when a refresh was still in flight (the caller's clock
   * ticked faster than the worker answered): the refresh is skipped, not queued.
   */
  async refresh(): Promise<boolean> {
    if (this.busy || this.released) return false;
    this.busy = true;
    try {
      await this.refreshInner();
    } finally {
      this.busy = false;
    }
    return true;
  }

  private async refreshInner(): Promise<void> {
    const c = this.counters;
    let t0 = performance.now();
    c.refreshes++;
    this.lastFull = false;
    if (this.quiet(t0)) {
      // Nothing moved: same display state, same dirty generation, nothing to repaint (the common
      // case of an idle guest). Clear the overlay's flags only if the last refresh set some.
      if (this.lastTiles) this.tiles.fill(0);
      this.lastTiles = 0;
      c.hypercallsSkipped++;
      c.workMs += performance.now() - t0;
      return;
    }
    // Only a text cursor or blink phase is due: nothing was written, no hypercall is needed.
    const blinkOnly = this.quiet(t0, true);
    // The display state only moves with VBE_GEN: re-read it (palette included) only then.
    const s =
      this.shown?.gen === Atomics.load(this.stats.i32, I32.VBE_GEN)
        ? this.shown
        : readDisplayState(this.stats, this.palette);
    if (!isShowable(s, this.vram.byteLength)) {
      if (this.shown !== null || this.needFull) this.surface.blank();
      this.shown = null;
      this.needFull = true;
      this.tiles.fill(0);
      if (this.tracked) {
        this.tracked = null;
        const stop = this.hv.trackDirtyVram(0, 0);
        c.workMs += performance.now() - t0;
        await stop;
      } else c.workMs += performance.now() - t0;
      return;
    }
    const prev = this.shown;
    // A new generation repaints everything, unless only a text cursor moved (the BIOS moves it
    // with every character it prints): then the two cells it left and entered are enough.
    const cursorOnly = prev !== null && prev.gen !== s.gen && this.onlyCursorMoved(prev, s);
    if (!prev || (prev.gen !== s.gen && !cursorOnly)) this.needFull = true;
    if (!prev || prev.width !== s.width || prev.height !== s.height) {
      this.surface.resize(s.width, s.height);
      this.tilesX = Math.ceil(s.width / TILE_W);
      this.tilesY = Math.ceil(s.height / TILE_H);
      this.tiles = new Uint8Array(this.tilesX * this.tilesY);
      this.needFull = true;
    }
    this.shown = s;
    let full = this.needFull;
    this.needFull = false;
    this.tiles.fill(0);
    if (cursorOnly) {
      this.markCell(prev.text!.cursor, s);
      this.markCell(s.text!.cursor, s);
    }
    const shownPages = displayedPages(s);

    if (this.modeName === 'poll') {
      full = this.pollCompare(shownPages, full);
    } else if (!blinkOnly) {
      const firstPfn = (s.bar0 >>> PAGE_SHIFT) + shownPages.first;
      const nr = shownPages.nr;
      // Load the generation before the call: a write after this load moves it again (next refresh calls).
      this.lastGen = Atomics.load(this.stats.i32, I32.DIRTY_GEN);
      this.lastCallAt = t0;
      this.tracked = { firstPfn, nr };
      c.hypercalls++;
      const pending = this.hv.trackDirtyVram(firstPfn, nr);
      c.workMs += performance.now() - t0;
      const r = await pending;
      t0 = performance.now();
      if (this.shown !== s) {
        // The state moved on while we waited (a mode switch or a newer refresh): repaint all next time.
        this.needFull = true;
        c.workMs += performance.now() - t0;
        return;
      }
      if (!r.ok) {
        // The range was refused (it should not be: isShowable keeps it inside VRAM); fall back to a full repaint.
        this.tracked = null;
        this.needFull = true;
      } else if (!full) this.markBitmap(r.value, shownPages.first, nr, s);
    }
    const [src, src32] = this.modeName === 'poll' ? [this.shadow8, this.shadow32] : [this.vram, this.vram32];
    if (s.kind === 'text') full = this.compareText(s, src, full, this.options.blinkClock());
    if (full) {
      this.tiles.fill(1);
      this.paintedPalette.set(this.palette);
      c.fullRepaints++;
      this.lastFull = true;
    }
    this.lastTiles = this.repaintTiles(s, src, src32);
    c.tilesRepainted += this.lastTiles;
    c.workMs += performance.now() - t0;
  }

  /**
   * True when a refresh now would change nothing on the screen (the generation-skip test below
   * holds): the display's loop then runs it without asking the browser for a frame.
   */
  wouldSkip(now: number): boolean {
    return !this.busy && this.quiet(now);
  }

  /**
   * The generation-skip test (dirty modes with skipUnmovedGen): true when the display state and
   * the dirty generation are where the last hypercall left them, so the bitmap would be all zeros
   * (see "The dirty-generation word" in src/machine/hv/README.md). In dirty-idle mode a call is
   * still made once a second until the drop engages, so the hypervisor's idle clock is evaluated.
   * A text screen's cursor or blink phase coming due makes a refresh needed (ignoreBlink: true
   * when that is all), but no call.
   */
  private quiet(now: number, ignoreBlink = false): boolean {
    if (!this.options.skipUnmovedGen || this.modeName === 'poll' || this.needFull || !this.shown || !this.tracked)
      return false;
    const i32 = this.stats.i32;
    return (
      Atomics.load(i32, I32.VBE_GEN) === this.shown.gen &&
      Atomics.load(i32, I32.DIRTY_GEN) === this.lastGen &&
      (this.modeName !== 'dirty-idle' || this.idleClockDone(now)) &&
      (ignoreBlink || !this.blinkDue())
    );
  }

  /**
   * Dirty-idle's once-a-second call is for the hypervisor's idle clock (Xen evaluates the drop in
   * the hypercall): none is needed while the drop is engaged (the first write faults, re-arms and
   * moves DIRTY_GEN) or within a second of the last call.
   */
  private idleClockDone(now: number): boolean {
    return this.hvDropped() || now - this.lastCallAt < SKIP_MAX_MS;
  }

  /** Whether the hypervisor's idle drop holds this client's range write-protected. */
  private hvDropped(): boolean {
    return (Atomics.load(this.stats.i32, I32.HV_CLIENT_STATE + this.hv.client) & HV_CLIENT_DROPPED) !== 0;
  }

  /**
   * How long the display's loop may sleep on the machine's display bell (src/ioemu/scheduler.ts):
   * null while refreshes must go on at the rate (poll, something moved, a refresh in flight);
   * otherwise the bell announces every change that could matter (DIRTY_GEN, VBE_GEN), so sleep
   * until it rings — in dirty-idle before the drop engaged, at most until the idle clock's next
   * call is due.
   */
  sleepFor(now: number): number | null {
    if (this.busy || !this.quiet(now)) return null;
    let ms = Infinity;
    if (this.modeName === 'dirty-idle' && !this.hvDropped()) ms = Math.max(0, this.lastCallAt + SKIP_MAX_MS - now);
    if (this.shown?.kind === 'text') ms = Math.min(ms, nextBlinkChangeIn(this.options.blinkClock()));
    return ms;
  }

  /**
   * Poll: compare pages with the copy; a page that differs is copied and its tiles marked. On a
   * full repaint, or with no copy yet, the compared range is copied whole (the picture is
   * converted from the copy) and true is returned: everything must be repainted.
   */
  protected pollCompare(shownPages: { first: number; nr: number }, full: boolean): boolean {
    const c = this.counters;
    const v = this.vramI32;
    const pages = this.vram.byteLength >>> PAGE_SHIFT;
    if (!this.shadow || this.shadow.length !== v.length) {
      this.shadow = new Int32Array(v.length);
      this.shadow8 = new Uint8Array(this.shadow.buffer);
      this.shadow32 = new Uint32Array(this.shadow.buffer);
      full = true;
    }
    const sh = this.shadow;
    const s = this.shown!;
    const [p0, p1] =
      this.options.pollScope === 'vram' ? [0, pages] : [shownPages.first, shownPages.first + shownPages.nr];
    const words = PAGE_SIZE >> 2;
    if (full) {
      sh.set(v.subarray(p0 * words, p1 * words), p0 * words);
      return true;
    }
    c.pagesCompared += p1 - p0;
    for (let p = p0; p < p1; p++) {
      const base = p * words;
      const end = base + words;
      let i = base;
      while (i < end && v[i] === sh[i]) i++;
      if (i === end) continue;
      sh.set(v.subarray(base, end), base);
      c.pagesChanged++;
      this.markPage(p, s);
    }
    return false;
  }

  private markBitmap(bitmap: Uint8Array, firstPage: number, nr: number, s: DisplayState): void {
    for (let byte = 0; byte < bitmap.length; byte++) {
      const b = bitmap[byte];
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const i = (byte << 3) | bit;
        if (i < nr && b & (1 << bit)) {
          this.counters.pagesChanged++;
          this.markPage(firstPage + i, s);
        }
      }
    }
  }

  /** Mark the tiles that VRAM page p covers on the screen. */
  private markPage(p: number, s: DisplayState): void {
    if (s.kind === 'text') {
      const shown = displayedPages(s);
      if (p >= shown.first && p < shown.first + shown.nr) this.textTouched = true;
      return;
    }
    const bytesPerPixel = vramBytesPerPixel(s);
    if (s.bankBit) return this.markBankedPage(p, s, bytesPerPixel);
    const visible = s.height * s.lineBytes;
    const r0 = Math.max(0, p * PAGE_SIZE - s.start);
    const r1 = Math.min(visible, (p + 1) * PAGE_SIZE - s.start);
    if (r1 <= r0) return;
    const y0 = Math.floor(r0 / s.lineBytes);
    const y1 = Math.floor((r1 - 1) / s.lineBytes);
    let x0 = 0;
    let x1 = s.width - 1;
    if (y0 === y1) {
      x0 = Math.floor((r0 - y0 * s.lineBytes) / bytesPerPixel);
      x1 = Math.min(s.width - 1, Math.floor((r1 - 1 - y0 * s.lineBytes) / bytesPerPixel));
      if (x0 > x1) return; // the page only covers the line's padding beyond the visible width
    }
    const tx0 = Math.floor(x0 / TILE_W);
    const tx1 = Math.floor(x1 / TILE_W);
    for (let ty = Math.floor(y0 / TILE_H), ty1 = Math.floor(y1 / TILE_H); ty <= ty1; ty++)
      this.tiles.fill(1, ty * this.tilesX + tx0, ty * this.tilesX + tx1 + 1);
  }

  /** markPage for CGA's banked lines (lineAddress): the tiles of each line whose bytes the page holds. */
  private markBankedPage(p: number, s: DisplayState, bytesPerPixel: number): void {
    const rowBytes = Math.ceil(s.width * bytesPerPixel);
    const page0 = p * PAGE_SIZE;
    const page1 = page0 + PAGE_SIZE;
    for (let y = 0; y < s.height; y++) {
      const a = lineAddress(s, y);
      const r0 = Math.max(a, page0);
      const r1 = Math.min(a + rowBytes, page1);
      if (r1 <= r0) continue;
      const tx0 = Math.floor(Math.floor((r0 - a) / bytesPerPixel) / TILE_W);
      const tx1 = Math.floor(Math.min(s.width - 1, Math.floor((r1 - 1 - a) / bytesPerPixel)) / TILE_W);
      const ty = Math.floor(y / TILE_H);
      this.tiles.fill(1, ty * this.tilesX + tx0, ty * this.tilesX + tx1 + 1);
    }
  }

  /**
   * True when the text cursor or the blinking characters are due to change phase (the ioemu's
   * clock): a refresh must run even though nothing was written.
   */
  private blinkDue(): boolean {
    const t = this.shown?.text;
    if (!t) return false;
    const p = blinkPhaseAt(this.options.blinkClock());
    return (t.cursor >= 0 && p.cursorOn !== this.phase.cursorOn) || (t.blink && p.blinkOn !== this.phase.blinkOn);
  }

  /** Same picture, except the text cursor's place (or its being on): a cheap repaint of two cells. */
  private onlyCursorMoved(prev: DisplayState, s: DisplayState): boolean {
    const a = prev.text;
    const b = s.text;
    if (!a || !b || prev.kind !== s.kind) return false;
    if (prev.width !== s.width || prev.height !== s.height || prev.start !== s.start) return false;
    if (prev.lineBytes !== s.lineBytes || prev.bar0 !== s.bar0) return false;
    for (let i = 0; i < 16; i++) if (prev.attrMap[i] !== s.attrMap[i]) return false;
    for (let i = 0; i < 256; i++) if (this.palette[i] !== this.paintedPalette[i]) return false;
    return (
      a.cols === b.cols &&
      a.rows === b.rows &&
      a.charWidth === b.charWidth &&
      a.charHeight === b.charHeight &&
      a.cursorStart === b.cursorStart &&
      a.cursorEnd === b.cursorEnd &&
      a.fontA === b.fontA &&
      a.fontB === b.fontB &&
      a.blink === b.blink &&
      a.lineGraphics === b.lineGraphics
    );
  }

  /**
   * A text screen's refresh: if a page of it changed, compare the fonts (a change repaints all:
   * returns true) and the cells with what was painted, marking the cells that differ; mark the
   * cursor's cell and the blinking characters when their phase changed. On a full repaint, take
   * the cells and fonts as painted.
   */
  private compareText(s: DisplayState, src: Uint8Array, full: boolean, now: number): boolean {
    const t = s.text!;
    const phase = blinkPhaseAt(now);
    const n = t.cols * t.rows;
    if (this.cells.length !== n) {
      this.cells = new Uint16Array(n);
      full = true;
    }
    const touched = this.textTouched;
    this.textTouched = false;
    if (full || (touched && this.fontsChanged(t.fontA, t.fontB, src))) {
      this.copyFonts(t.fontA, t.fontB, src);
      this.forEachCell(s, src, (i, v) => (this.cells[i] = v));
      this.phase = phase;
      return true;
    }
    if (touched)
      this.forEachCell(s, src, (i, v, at) => {
        if (this.cells[i] === v) return;
        this.cells[i] = v;
        this.markCell(at, s);
      });
    if (phase.cursorOn !== this.phase.cursorOn) this.markCell(t.cursor, s);
    if (phase.blinkOn !== this.phase.blinkOn && t.blink)
      this.forEachCell(s, src, (i, _v, at) => {
        if (this.cells[i] & 0x8000) this.markCell(at, s);
      });
    this.phase = phase;
    return false;
  }

  /** Each cell of the text screen: its index, character | attribute << 8, and VRAM offset. */
  private forEachCell(s: DisplayState, src: Uint8Array, f: (i: number, v: number, at: number) => void): void {
    const t = s.text!;
    for (let row = 0, i = 0; row < t.rows; row++)
      for (let col = 0, at = s.start + row * s.lineBytes; col < t.cols; col++, i++, at += 4)
        f(i, at + 1 < src.length ? src[at] | (src[at + 1] << 8) : 0, at);
  }

  private fontsChanged(fontA: number, fontB: number, src: Uint8Array): boolean {
    const f = this.fonts;
    for (let k = 0; k < 8192; k++)
      if (src[(fontA + k) * 4 + 2] !== f[k] || src[(fontB + k) * 4 + 2] !== f[8192 + k]) return true;
    return false;
  }

  private copyFonts(fontA: number, fontB: number, src: Uint8Array): void {
    for (let k = 0; k < 8192; k++) {
      this.fonts[k] = src[(fontA + k) * 4 + 2];
      this.fonts[8192 + k] = src[(fontB + k) * 4 + 2];
    }
  }

  /** Mark the tiles of the text cell whose plane-0 byte is VRAM offset `at` (nothing if off screen). */
  private markCell(at: number, s: DisplayState): void {
    const t = s.text;
    if (!t || at < s.start) return;
    const row = Math.floor((at - s.start) / s.lineBytes);
    const col = ((at - s.start - row * s.lineBytes) >> 2) | 0;
    if (row >= t.rows || col >= t.cols) return;
    const x0 = col * t.charWidth;
    const y0 = row * t.charHeight;
    const x1 = Math.min(s.width, x0 + t.charWidth) - 1;
    const y1 = Math.min(s.height, y0 + t.charHeight) - 1;
    if (x1 < x0 || y1 < y0) return;
    for (let ty = Math.floor(y0 / TILE_H); ty <= Math.floor(y1 / TILE_H); ty++)
      for (let tx = Math.floor(x0 / TILE_W); tx <= Math.floor(x1 / TILE_W); tx++) this.tiles[ty * this.tilesX + tx] = 1;
  }

  /**
   * Convert and upload the marked tiles: one dirty-rectangle upload per horizontal run of tiles,
   * or, when most of the screen changed, one upload of the whole picture (bench:upload: a
   * putImageData per run wins up to about half the screen, the whole frame beyond).
   */
  private repaintTiles(s: DisplayState, src: Uint8Array, src32: Uint32Array): number {
    const out = this.surface.frame32;
    const total = this.tilesX * this.tilesY;
    let marked = 0;
    for (let i = 0; i < total; i++) marked += this.tiles[i];
    if (marked === 0) return 0;
    const whole = marked * 2 >= total;
    for (let ty = 0; ty < this.tilesY; ty++) {
      const y0 = ty * TILE_H;
      const y1 = Math.min(s.height, y0 + TILE_H);
      let tx = 0;
      while (tx < this.tilesX) {
        if (!this.tiles[ty * this.tilesX + tx]) {
          tx++;
          continue;
        }
        const run0 = tx;
        while (tx < this.tilesX && this.tiles[ty * this.tilesX + tx]) tx++;
        const x0 = run0 * TILE_W;
        const x1 = Math.min(s.width, tx * TILE_W);
        convertAnyRect(src, src32, s, this.palette, out, x0, x1, y0, y1, this.phase);
        if (!whole) this.surface.upload(x0, y0, x1 - x0, y1 - y0);
      }
    }
    if (whole) this.surface.upload(0, 0, s.width, s.height);
    return marked;
  }
}
