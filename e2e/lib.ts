/**
 * Helpers for the end-to-end tests and the display benchmark: boot the page, and check the
 * canvas against VRAM with a converter written here, independently of src/ioemu.
 */
import { expect, type Page } from '@playwright/test';

/** Open the page with a query and wait until the machine runs and the guest has set a video mode. */
export async function boot(page: Page, query: string, opts: { needMode?: boolean } = {}): Promise<void> {
  await page.goto(`/?${query}`);
  await page.waitForFunction(
    (needMode) => {
      const h = (globalThis as any).__hvm;
      if (!h) return false;
      if (!needMode) return true;
      // Shown in the VBE mode (a Multiboot kernel starts in text mode 3 until it sets one).
      return (h.stats.i32 as Int32Array)[h.I32.VBE_ENABLED] === 1 && h.refresher()?.shown?.kind === 'vbe';
    },
    opts.needMode ?? true,
    { timeout: 30_000 },
  );
}

export interface FrameCheck {
  width: number;
  height: number;
  bpp: number;
  start: number;
  /** Pixels that differ between the canvas and VRAM converted here. */
  mismatches: number;
  /** Pixels that are not black (to show the frame is not trivially empty). */
  nonBlack: number;
  /**
   * When pixels differ: where, whether VRAM moved while the machine was paused, what the
   * refresher did meanwhile, and how many still differ after three more refreshes (for the
   * failure message; '' when the frame matched).
   */
  detail: string;
}

/**
 * Pause the machine so VRAM holds still, let the display refresh twice, compare every visible
 * pixel of the canvas with VRAM converted by this file's own converter, and resume. `which`: the
 * page's display (the A/B view's left one), or the A/B view's right one.
 */
export async function checkFrame(
  page: Page,
  resume = true,
  which: 'display' | 'displayB' = 'display',
): Promise<FrameCheck> {
  return page.evaluate(
    async ([resume, which]) => {
      const h = (globalThis as any).__hvm;
      const paused = await h.api.pause();
      if (!paused.ok) throw new Error(paused.message);
      const display = h[which];
      const r = which === 'display' ? h.refresher() : h.refresherB();
      const { memory, layout } = h.handles;
      const v = new Uint8Array(memory, layout.vramOffset, layout.vramBytes);
      const v32 = new Int32Array(memory, layout.vramOffset, layout.vramBytes >> 2);
      const hash = () => {
        let x = 0;
        for (let i = 0; i < v32.length; i++) x = (Math.imul(x, 31) + v32[i]) | 0;
        return x;
      };
      const atPause = hash();
      // n more refreshes — or, in the dirty modes, the display asleep with nothing to look at: it
      // sleeps only when no tracked page was written and the display state did not move since its
      // last hypercall, so what it shows is VRAM (a paused machine writes nothing more).
      const refreshes = async (n: number) => {
        const n0 = r.counters.refreshes;
        await new Promise((res) => setTimeout(res, 60));
        while (r.counters.refreshes < n0 + n && !(display.scheduler.asleep && r.wouldSkip(performance.now())))
          await new Promise((res) => setTimeout(res, 20));
        await new Promise((res) => setTimeout(res, 60));
      };
      const before = { ...r.counters };
      // Two complete refreshes after the pause: the second started after VRAM stopped changing.
      await refreshes(3);
      const i32: Int32Array = h.stats.i32;
      const I = h.I32;
      const w = Atomics.load(i32, I.VBE_XRES);
      const hgt = Atomics.load(i32, I.VBE_YRES);
      const bpp = Atomics.load(i32, I.VBE_BPP);
      const line = Atomics.load(i32, I.VBE_LINE_BYTES);
      const start = Atomics.load(i32, I.VBE_START);
      const canvas: HTMLCanvasElement = display.renderRoot.querySelector('canvas.screen');
      const pal = (i: number) => Atomics.load(i32, I.PALETTE + i);
      // 5 and 6-bit channels widen by bit replication (as pixman and QEMU do).
      const five = (x: number) => x * 8 + Math.floor(x / 4);
      const six = (x: number) => x * 4 + Math.floor(x / 16);
      const compare = () => {
        const got = canvas.getContext('2d')!.getImageData(0, 0, w, hgt).data;
        let mismatches = 0;
        let nonBlack = 0;
        const box = [w, hgt, -1, -1];
        for (let y = 0; y < hgt; y++)
          for (let x = 0; x < w; x++) {
            let R: number, G: number, B: number;
            if (bpp === 32 || bpp === 24) {
              const o = start + y * line + x * (bpp / 8);
              [B, G, R] = [v[o], v[o + 1], v[o + 2]];
            } else if (bpp === 16 || bpp === 15) {
              const o = start + y * line + x * 2;
              const p = v[o] + 256 * v[o + 1];
              if (bpp === 16) [R, G, B] = [five(p >> 11), six((p >> 5) & 63), five(p & 31)];
              else [R, G, B] = [five((p >> 10) & 31), five((p >> 5) & 31), five(p & 31)];
            } else {
              const c = pal(v[start + y * line + x]);
              [R, G, B] = [(c >> 16) & 255, (c >> 8) & 255, c & 255];
            }
            const d = (y * w + x) * 4;
            if (got[d] !== R || got[d + 1] !== G || got[d + 2] !== B || got[d + 3] !== 255) {
              mismatches++;
              box[0] = Math.min(box[0], x);
              box[1] = Math.min(box[1], y);
              box[2] = Math.max(box[2], x);
              box[3] = Math.max(box[3], y);
            }
            if (R | G | B) nonBlack++;
          }
        return { mismatches, nonBlack, box };
      };
      const first = compare();
      let detail = '';
      if (first.mismatches) {
        const during = Object.fromEntries(
          Object.entries(r.counters as Record<string, number>).map(([k, n]) => [k, n - (before[k] ?? 0)]),
        );
        const moved = hash() !== atPause;
        await refreshes(3);
        const again = compare();
        detail =
          `${first.mismatches} pixels differ in x ${first.box[0]}..${first.box[2]}, y ${first.box[1]}..${first.box[3]}` +
          `; VRAM ${moved ? 'CHANGED' : 'did not change'} while paused; refresher ${r.mode} meanwhile ${JSON.stringify(during)}` +
          `; after 3 more refreshes ${again.mismatches} differ`;
      }
      if (resume) await h.api.start();
      return { width: w, height: hgt, bpp, start, mismatches: first.mismatches, nonBlack: first.nonBlack, detail };
    },
    [resume, which] as const,
  );
}

/** Switch the display mode through the page's own radio buttons. */
export async function setDisplayMode(page: Page, mode: 'poll' | 'dirty' | 'dirty-idle' | 'trap'): Promise<void> {
  await page.locator(`input[name="mode"][value="${mode}"]`).check();
  await expect.poll(() => page.evaluate(() => (globalThis as any).__hvm.refresher().mode)).toBe(mode);
}

/** Send a line to the guest's COM1 (the serial console's API). */
export async function serial(page: Page, line: string): Promise<void> {
  await page.evaluate((l) => (globalThis as any).__hvm.api.serialWrite(`${l}\n`), line);
}
