/**
 * The ioemu's canvas: where the refresher's pixels go in the browser. The UI hands the ioemu a
 * canvas and the machine's shared memory; the ioemu maps VRAM, makes the surface and the
 * refresher (`canvasRefresher`), and the UI drives it without holding either part.
 */
import type { MemoryLayout, StatsViews } from '../shared/layout';
import { DisplayRefresher, type DirtyVramOps, type RefresherOptions, type Surface } from './refresh';

/**
 * The canvas as the refresher's surface: one persistent ImageData the size of the picture; the
 * refresher converts changed tiles into it and each run of tiles is pushed with the dirty-rect
 * form of putImageData (measured against alternatives: see the README's "Display" section).
 */
export class CanvasSurface implements Surface {
  private image: ImageData | null = null;
  frame32 = new Uint32Array(0);
  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** Called after the picture changed size (the display scales it to its box again). */
    private readonly onResize: () => void,
  ) {}
  private get ctx(): CanvasRenderingContext2D {
    return this.canvas.getContext('2d')!;
  }
  resize(width: number, height: number): void {
    this.canvas.width = width;
    this.canvas.height = height;
    this.image = new ImageData(width, height);
    this.frame32 = new Uint32Array(this.image.data.buffer);
    this.onResize();
  }
  upload(x: number, y: number, w: number, h: number): void {
    this.ctx.putImageData(this.image!, 0, 0, x, y, w, h);
  }
  blank(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }
}

/** What the ioemu maps of a machine: its memory (RAM | VRAM), where VRAM is in it, its stats block. */
export interface MachineMemoryView {
  memory: SharedArrayBuffer;
  layout: MemoryLayout;
  stats: StatsViews;
}

/**
 * A refresher painting into `canvas`: VRAM mapped as a view of the machine's memory (as qemu-dm
 * maps guest memory), the hypervisor reached through `ops`. `onResize` runs after the picture
 * changed size.
 */
export function canvasRefresher(
  canvas: HTMLCanvasElement,
  machine: MachineMemoryView,
  ops: DirtyVramOps,
  options: RefresherOptions,
  onResize: () => void,
): DisplayRefresher {
  const vram = new Uint8Array(machine.memory, machine.layout.vramOffset, machine.layout.vramBytes);
  return new DisplayRefresher(vram, machine.stats, new CanvasSurface(canvas, onResize), ops, options);
}
