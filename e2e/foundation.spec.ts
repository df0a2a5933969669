import { expect, test, type Page } from '@playwright/test';
import { F64 } from '../src/shared/layout';

/** Wait for the page's debug handle (set once the machine runs). */
async function ready(page: Page) {
  await page.goto('/?image=pattern');
  await page.waitForFunction(() => (globalThis as { __hvm?: unknown }).__hvm !== undefined, null, { timeout: 30_000 });
}

test('the page is cross-origin isolated', async ({ page }) => {
  await ready(page);
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
});

test('the canvas shows exactly the pixels the worker wrote into VRAM', async ({ page }) => {
  await ready(page);
  // Let a few frames be drawn, then pause so VRAM holds still, and wait two animation frames.
  await page.waitForTimeout(300);
  const mismatches = await page.evaluate(async () => {
    const hvm = (globalThis as any).__hvm;
    const paused = await hvm.api.pause();
    if (!paused.ok) throw new Error(paused.message);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const { memory, layout } = hvm.handles;
    const i32: Int32Array = hvm.stats.i32;
    const w = Atomics.load(i32, hvm.I32.VBE_XRES);
    const h = Atomics.load(i32, hvm.I32.VBE_YRES);
    const line = Atomics.load(i32, hvm.I32.VBE_LINE_BYTES);
    const start = Atomics.load(i32, hvm.I32.VBE_START);
    // The guest display's canvas, wherever it sits in the shadow DOM.
    const find = (root: Document | ShadowRoot): HTMLCanvasElement | null => {
      const c = root.querySelector<HTMLCanvasElement>('canvas.screen');
      if (c) return c;
      for (const el of root.querySelectorAll('*'))
        if (el.shadowRoot) {
          const f = find(el.shadowRoot);
          if (f) return f;
        }
      return null;
    };
    const canvas = find(document)!;
    const got = (canvas as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, w, h).data;
    const vram = new Uint8Array(memory, layout.vramOffset, layout.vramBytes);
    let bad = 0;
    let nonBlack = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const s = start + y * line + x * 4; // 32 bpp: B, G, R, X
        const d = (y * w + x) * 4;
        if (got[d] !== vram[s + 2] || got[d + 1] !== vram[s + 1] || got[d + 2] !== vram[s] || got[d + 3] !== 255) bad++;
        if (vram[s] | vram[s + 1] | vram[s + 2]) nonBlack++;
      }
    return { bad, nonBlack, w, h };
  });
  expect(mismatches.w).toBe(640);
  expect(mismatches.h).toBe(480);
  expect(mismatches.nonBlack).toBeGreaterThan(640 * 480 * 0.9); // the pattern is really there
  expect(mismatches.bad).toBe(0);
});

test('pausing the machine stops VRAM changes; resuming restarts them', async ({ page }) => {
  await ready(page);
  const r = await page.evaluate(async () => {
    const hvm = (globalThis as any).__hvm;
    const { memory, layout } = hvm.handles;
    const vram = new Uint8Array(memory, layout.vramOffset, 640 * 480 * 4);
    const sum = () => {
      let h = 0;
      for (let i = 0; i < vram.length; i += 61) h = (h * 31 + vram[i]) | 0;
      return h;
    };
    await hvm.api.pause();
    const a = sum();
    await new Promise((res) => setTimeout(res, 300));
    const b = sum();
    await hvm.api.start();
    await new Promise((res) => setTimeout(res, 300));
    const c = sum();
    return { a, b, c };
  });
  expect(r.b).toBe(r.a);
  expect(r.c).not.toBe(r.b);
});

test('an RPC call made while the machine runs is answered between two slices', async ({ page }) => {
  await ready(page);
  // Counted in slices, not milliseconds (the machine is shared and timings are noisy): a message
  // that arrives while a slice runs is served right after it, so one or two slices end between
  // the call and its answer. The answer carries the worker's slice count as it answered (stats()),
  // so the slices counted end before the worker answered: not those it ran while the answer
  // waited for the page's own busy or descheduled main thread to read it.
  const r = await page.evaluate(async (SLICES) => {
    const hvm = (globalThis as any).__hvm;
    const f64: Float64Array = hvm.stats.f64;
    const seq0 = f64[SLICES];
    const slicesPerCall: number[] = [];
    for (let i = 0; i < 40; i++) {
      const before = f64[SLICES];
      const answer = await hvm.api.stats();
      slicesPerCall.push(answer.value.slices - before);
      await new Promise((res) => setTimeout(res, 10));
    }
    return { slicesPerCall, slices: f64[SLICES] - seq0 };
  }, F64.SLICES);
  expect(r.slices).toBeGreaterThan(40); // the machine was running the whole time
  // Nine calls in ten within two slices (the first calls of a page also wait for the JIT), and
  // none longer than a dozen slices (~50 ms).
  const sorted = [...r.slicesPerCall].sort((a, b) => a - b);
  expect(sorted[Math.floor(sorted.length * 0.9)]).toBeLessThanOrEqual(2);
  expect(sorted[sorted.length - 1]).toBeLessThanOrEqual(12);
});
