/**
 * How big the guest's screen is drawn: the box it is scaled into (fitBox), measured from the
 * window and the page around the screen, again at each render and on every window resize
 * (FitController, a reactive controller of the page).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** The meter column's least width (20rem). */
const ASIDE_MIN_PX = 320;
/** The least screen height (CSS px) for which the serial console is kept in the window under it. */
const MIN_SCREEN_PX = 400;

/**
 * The box the guest's screen is scaled into, measured from the window and the page around the
 * screen (fitBox) at each render and on every window resize: a reactive controller.
 */
export class FitController implements ReactiveController {
  width = 0;
  height = 0;
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly box: () => { width: number; height: number } | null,
  ) {
    host.addController(this);
  }
  hostConnected(): void {
    addEventListener('resize', this.onResize);
  }
  hostDisconnected(): void {
    removeEventListener('resize', this.onResize);
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

/**
 * The screen's box: at 1366×900 the whole screen (the guest's taskbar at its bottom) and the
 * serial console under it fit in the window; the meter's column takes the width left. Side by
 * side (A/B), each screen gets half the width and leaves the meters' headline rows in view.
 * `layout` is the page's grid, `screen` the (first) display, `below` what stands under it (the
 * status line and the console).
 */
export function fitBox(
  layout: HTMLElement,
  screen: HTMLElement,
  below: HTMLElement | null,
  ab: boolean,
): { width: number; height: number } {
  const W = layout.clientWidth;
  const top = screen.getBoundingClientRect().top + scrollY;
  const BORDER = 4; // the drop zone's dashed border, both sides
  if (ab) return { width: Math.floor((W - 16) / 2), height: Math.max(200, innerHeight - top - 110) };
  const narrow = innerWidth <= 900;
  const withConsole = innerHeight - top - (below?.offsetHeight ?? 0) - 8 - BORDER;
  return {
    width: (narrow ? W : W - ASIDE_MIN_PX - 16) - BORDER,
    // In a short window a screen above a console would be too small to read: the console goes
    // below the fold first.
    height: withConsole >= MIN_SCREEN_PX ? withConsole : Math.max(240, Math.min(MIN_SCREEN_PX, innerHeight - top - 30)),
  };
}
