import { I32, VRAM_BAR_DEFAULT, type StatsViews } from '../shared/layout';
import type { MachineMemory } from './memory';
import type { Engine } from './engine';
import type { SliceOutcome } from './runloop';

/** Geometry of the test pattern: 640×480 at 32 bpp (Bochs byte order B, G, R, X). */
export const PATTERN_WIDTH = 640;
export const PATTERN_HEIGHT = 480;

/** The pattern's pixel at (x, y) in frame f, as 0x00RRGGBB: the tests recompute it independently. */
export function patternPixel(x: number, y: number, f: number): number {
  const r = (x + f) & 0xff;
  const g = (y * 2 + f) & 0xff;
  const b = (x ^ y) & 0xff;
  return (r << 16) | (g << 8) | b;
}

/**
 * The foundation's placeholder guest: writes the pattern into VRAM row by row, a frame after
 * another, for as long as each slice lasts, and publishes a 640×480×32 display state the way the
 * VBE device will. It proves the memory path (worker → SAB → main thread → canvas) before the
 * CPU exists; it stays as a built-in image for tests of the display path.
 */
export class PatternEngine implements Engine {
  private frame = 0;
  private row = 0;
  private readonly words: Uint32Array;

  constructor(
    private readonly memory: MachineMemory,
    private readonly stats: StatsViews,
    /** Told about every VRAM byte range it writes (the hypervisor marks those frames dirty, as for DMA). */
    private readonly onVramWrite: (offset: number, length: number) => void = () => {},
  ) {
    this.words = new Uint32Array(memory.sab, memory.layout.vramOffset, memory.layout.vramBytes >>> 2);
    this.reset();
  }

  reset(): void {
    this.frame = 0;
    this.row = 0;
    this.memory.vram.fill(0);
    this.onVramWrite(0, this.memory.vram.length);
    const i32 = this.stats.i32;
    Atomics.store(i32, I32.VBE_ENABLED, 1);
    Atomics.store(i32, I32.VBE_XRES, PATTERN_WIDTH);
    Atomics.store(i32, I32.VBE_YRES, PATTERN_HEIGHT);
    Atomics.store(i32, I32.VBE_BPP, 32);
    Atomics.store(i32, I32.VBE_LINE_BYTES, PATTERN_WIDTH * 4);
    Atomics.store(i32, I32.VBE_START, 0);
    Atomics.store(i32, I32.VBE_VIRT_WIDTH, PATTERN_WIDTH);
    Atomics.store(i32, I32.VBE_VIRT_HEIGHT, PATTERN_HEIGHT);
    // Where the display finds VRAM for trackDirtyVram (without it, every call was refused and the
    // display fell back to repainting everything).
    Atomics.store(i32, I32.VBE_BAR0, VRAM_BAR_DEFAULT | 0);
    Atomics.add(i32, I32.VBE_GEN, 1);
  }

  /** The frame number the next row will be drawn with. */
  get currentFrame(): number {
    return this.frame;
  }

  runSlice(budgetMs: number, now: number): SliceOutcome {
    const end = now + budgetMs;
    do {
      this.drawRow();
    } while (performance.now() < end);
    return { next: 'continue' };
  }

  private drawRow(): void {
    const y = this.row;
    const base = y * PATTERN_WIDTH;
    for (let x = 0; x < PATTERN_WIDTH; x++) this.words[base + x] = patternPixel(x, y, this.frame);
    this.onVramWrite(base * 4, PATTERN_WIDTH * 4);
    if (++this.row === PATTERN_HEIGHT) {
      this.row = 0;
      this.frame++;
    }
  }
}
