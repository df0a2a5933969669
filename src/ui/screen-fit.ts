/**
 * How big the guest's screen is drawn: the box it is scaled into (fitBox), measured from the
 * window and the page around the screen, again at each render, on every window resize, when what
 * stands under or above the screen changes height and when the picture changes size
 * (FitController, a reactive controller of the page).
 *
 * What stands under the screen (the status line, the console's hint) is as wide as the scaled
 * screen, so its height depends on the screen's width, and the screen's height on it: a wider
 * screen can leave a line of text unwrapped that a narrower one wraps. Measured as it happened to
 * be laid out, that loop has two resting places a wrapped line apart (which one depended on the
 * order the page's parts rendered in) and the screen jumped between them. fitBox solves it: the
 * largest screen for which the text under it, laid out at that screen's width, still fits
 * (greatestFit).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** The meter column's least width (20rem). */
const ASIDE_MIN_PX = 320;
/** The least screen height (CSS px) for which the serial console is kept in the window under it. */
const MIN_SCREEN_PX = 400;
/** The drop zone's dashed border around the screen, both sides (app-styles.ts: .screen). */
const BORDER = 4;
/**
 * The page's own padding under its content (app-styles.ts, :host): counted in, so that the page
 * fits the window rather than overflow it by its padding (a vertical scroll bar that then takes
 * its width from the layout).
 */
const PAGE_BOTTOM_PX = 8;

/** A picture's size in pixels. */
export interface Picture {
  width: number;
  height: number;
}

/**
 * The width of the largest screen that fits: the picture scaled (aspect kept) into `width` ×
 * (`height` − what stands under it), where what stands under it, `belowAt(w)`, is laid out at the
 * screen's own width w and is no shorter at a narrower one. Starting from the widest screen and
 * narrowing, each step wraps at least as much text as the one before, so the steps stop at the
 * largest width that is its own answer — whatever the page showed before. Null: the screen would
 * be lower than `least`.
 */
export function greatestFit(
  width: number,
  height: number,
  picture: Picture,
  belowAt: (w: number) => number,
  least = 0,
): number | null {
  let w = width;
  // Each step wraps more lines or stops; a few lines of text bound the steps.
  for (let step = 0; step < 16; step++) {
    const h = height - belowAt(w);
    if (h < least) return null;
    const next = Math.floor(picture.width * Math.min(width / picture.width, h / picture.height));
    if (next >= w) return w;
    w = next;
  }
  return w;
}

/**
 * The box the guest's screen is scaled into, measured from the window and the page around the
 * screen (fitBox) at each render, on every window resize, when the parts above and under the
 * screen change height (`observed`), and when the picture changes size (a `picture-resize` event
 * from the display): a reactive controller.
 */
export class FitController implements ReactiveController {
  width = 0;
  height = 0;
  private readonly resizes = new ResizeObserver(() => this.measure());
  private watched: Element[] = [];
  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly box: () => { width: number; height: number } | null,
    /** What moves the screen or stands under it: measured again when their size changes. */
    private readonly observed: () => (Element | null)[],
  ) {
    host.addController(this);
  }
  hostConnected(): void {
    addEventListener('resize', this.onResize);
    this.host.addEventListener('picture-resize', this.onResize);
  }
  hostDisconnected(): void {
    removeEventListener('resize', this.onResize);
    this.host.removeEventListener('picture-resize', this.onResize);
    this.resizes.disconnect();
    this.watched = [];
  }
  hostUpdated(): void {
    const now = this.observed().filter((e): e is Element => e !== null);
    if (now.length === this.watched.length && now.every((e, i) => e === this.watched[i])) return;
    this.resizes.disconnect();
    for (const e of now) this.resizes.observe(e);
    this.watched = now;
  }
  private readonly onResize = (): void => this.measure();
  /** Measure again; a new box re-renders the host (an unchanged one does nothing). */
  measure(): void {
    const b = this.box();
    if (!b || (b.width === this.width && b.height === this.height)) return;
    this.width = b.width;
    this.height = b.height;
    this.host.requestUpdate();
  }
}

/** `el`'s height laid out at width w (CSS px), its own width given back after. */
function heightAt(el: HTMLElement, w: number): number {
  const before = el.style.width;
  el.style.width = `${w}px`;
  const h = el.offsetHeight;
  el.style.width = before;
  return h;
}

/**
 * The screen's box: at 1366×900 the whole screen (the guest's taskbar at its bottom) and the
 * serial console under it fit in the window; the meter's column takes the width left. Side by
 * side (A/B), each screen gets half the width and leaves the meters' headline rows in view.
 * `layout` is the page's grid, `screen` the (first) display, `below` what stands under it (the
 * status line and the console), as wide as the screen's column; `picture` the screen's picture
 * (null before the guest has one).
 */
export function fitBox(
  layout: HTMLElement,
  screen: HTMLElement,
  below: HTMLElement | null,
  ab: boolean,
  picture: Picture | null,
): { width: number; height: number } {
  const W = layout.clientWidth;
  const top = screen.getBoundingClientRect().top + scrollY;
  if (ab) return { width: Math.floor((W - 16) / 2), height: Math.max(200, innerHeight - top - 110) };
  const narrow = innerWidth <= 900;
  const width = (narrow ? W : W - ASIDE_MIN_PX - 16) - BORDER;
  const room = innerHeight - top - 8 - PAGE_BOTTOM_PX - BORDER;
  // In a short window a screen above a console would be too small to read: the console goes
  // below the fold first.
  const short = Math.max(240, Math.min(MIN_SCREEN_PX, innerHeight - top - 30));
  // One column (narrow): the text under the screen is as wide as the page, whatever the screen's size.
  if (narrow || !below || !picture?.width || !picture.height) {
    const withConsole = room - (below?.offsetHeight ?? 0);
    return { width, height: withConsole >= MIN_SCREEN_PX ? withConsole : short };
  }
  const w = greatestFit(width, room, picture, (w) => heightAt(below, w + BORDER), MIN_SCREEN_PX);
  if (w === null) return { width, height: short };
  return { width, height: room - heightAt(below, w + BORDER) };
}
