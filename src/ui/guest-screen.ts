/**
 * The guest's screen as the page shows it: one `<hvm-display>`, or the A/B view's two
 * (`<hvm-ab-view>`), inside a drop zone for kernel files. A template: the page holds the state
 * (the view, the overlay, the fit box, whether a file is being dragged over) and acts on what it
 * is told (keys for the guest, a display's mode, a dropped file).
 */
import { html } from 'lit';
import type { MemoryLayout, StatsViews } from '../shared/layout';
import type { DirtyVramOps, DisplayModeName, RefresherOptions } from '../ioemu/refresh';
import type { AbSide } from './ab-view';
import type { Overlay } from './hvm-controls';
import type { ViewState } from './view-state';

/** Each A/B side's mode with its own dirty-VRAM client: the same object while unchanged (a new one re-renders its display). */
export class AbSides {
  private sides: Partial<Record<'a' | 'b', AbSide>> = {};
  constructor(
    /** The page's display's client (A in the A/B view). */
    readonly a: DirtyVramOps,
    readonly b: DirtyVramOps,
  ) {}
  side(which: 'a' | 'b', mode: DisplayModeName): AbSide {
    if (this.sides[which]?.mode !== mode) this.sides[which] = { mode, ops: this[which] };
    return this.sides[which]!;
  }
}

export interface ScreenState {
  memory: SharedArrayBuffer;
  layout: MemoryLayout;
  stats: StatsViews;
  view: ViewState;
  overlay: Overlay;
  options: RefresherOptions;
  sides: AbSides;
  /** The box the picture is scaled into (screen-fit.ts). */
  fit: { width: number; height: number };
  /** A file is dragged over the screen. */
  dropping: boolean;
}

export interface ScreenEvents {
  /** Scancodes for the guest's keyboard. */
  keys(bytes: number[]): void;
  /** A display's mode changed in the A/B view. */
  view(patch: Partial<ViewState>): void;
  dropping(on: boolean): void;
  /** A file was dropped on the screen. */
  file(f: File): void;
}

export function guestScreen(s: ScreenState, on: ScreenEvents) {
  const keys = (e: CustomEvent<number[]>) => on.keys(e.detail);
  const v = s.view;
  const screen = v.ab
    ? html`<hvm-ab-view
        .memory=${s.memory}
        .layout=${s.layout}
        .stats=${s.stats}
        .a=${s.sides.side('a', v.mode)}
        .b=${s.sides.side('b', v.ab)}
        .hz=${v.hz}
        .overlay=${s.overlay === 'tiles'}
        .heat=${s.overlay === 'heat'}
        .options=${s.options}
        .label=${{ workload: v.workload, vramMiB: v.vram }}
        .fitWidth=${s.fit.width}
        .fitHeight=${s.fit.height}
        @ab-mode=${(e: CustomEvent<{ side: 'a' | 'b'; mode: DisplayModeName }>) =>
          on.view(e.detail.side === 'a' ? { mode: e.detail.mode } : { ab: e.detail.mode })}
        @guest-keys=${keys}
      ></hvm-ab-view>`
    : html`<hvm-display
        .memory=${s.memory}
        .layout=${s.layout}
        .stats=${s.stats}
        .ops=${s.sides.a}
        .mode=${v.mode}
        .hz=${v.hz}
        .overlay=${s.overlay === 'tiles'}
        .heat=${s.overlay === 'heat'}
        .options=${s.options}
        .fitWidth=${s.fit.width}
        .fitHeight=${s.fit.height}
        @guest-keys=${keys}
      ></hvm-display>`;
  return html`<div
    class="screen ${s.dropping ? 'drop' : ''}"
    @dragover=${(e: DragEvent) => {
      e.preventDefault();
      on.dropping(true);
    }}
    @dragleave=${() => on.dropping(false)}
    @drop=${(e: DragEvent) => {
      e.preventDefault();
      on.dropping(false);
      const f = e.dataTransfer?.files[0];
      if (f) on.file(f);
    }}
  >
    ${screen}
  </div>`;
}
