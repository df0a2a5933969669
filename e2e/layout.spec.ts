/**
 * The page's layout at the sizes a user has: the whole guest screen (its taskbar is its bottom
 * row) and the serial console in the window at 1366×900, the controls in two rows at 1024×700, a
 * guest's screen scaled into the same box whatever its mode, and a "try this" line on a first
 * visit. Each test leaves a screenshot in its output folder.
 */
import { expect, test, type Page } from '@playwright/test';
import { boot } from './lib';

interface Box {
  top: number;
  bottom: number;
  left: number;
  width: number;
  height: number;
}

/** Where things are: the guest's canvas (CSS box and picture size), the console's input and Send, the controls' rows. */
const measure = (page: Page) =>
  page.evaluate(() => {
    const root = document.querySelector('hvm-app')!.shadowRoot!;
    const box = (e: Element | null | undefined): Box | null => {
      if (!e) return null;
      const b = e.getBoundingClientRect();
      return { top: b.top, bottom: b.bottom, left: b.left, width: b.width, height: b.height };
    };
    const canvas = (globalThis as any).__hvm.display.renderRoot.querySelector('canvas.screen') as HTMLCanvasElement;
    // Rows of controls: a control starts a new row when it begins below every control of the row before.
    const items = [...root.querySelectorAll('.controls > *')]
      .map((e) => e.getBoundingClientRect())
      .filter((b) => b.height > 0)
      .sort((a, b) => a.top - b.top);
    let rows = 0;
    let bottom = -Infinity;
    for (const b of items)
      if (b.top >= bottom) {
        rows++;
        bottom = b.bottom;
      } else bottom = Math.max(bottom, b.bottom);
    return {
      innerHeight,
      innerWidth,
      canvas: box(canvas)!,
      picture: { width: canvas.width, height: canvas.height },
      input: box(root.querySelector('.console input')),
      send: box(root.querySelector('.console button[type=submit]')),
      /** What stands under the screen: the status line and the console, its hint the last line. */
      below: box(root.querySelector('.below')),
      controlRows: rows,
      scrollWidth: document.documentElement.scrollWidth,
      scrollHeight: document.documentElement.scrollHeight,
    };
  });

/**
 * Boot, then wait until the page stands as a user finds it: the status line has its final words
 * (the guest runs) and the page has laid itself out since — the screen's box is measured again
 * in the frame where what stands under it changes height, so two frames later it has settled.
 */
async function bootSettled(page: Page, query: string): Promise<void> {
  await boot(page, query);
  await expect(page.locator('.below .status')).toContainText('Running.');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

test.describe('layout', () => {
  test('at 1366×900 the whole guest screen, its taskbar included, and the serial console are in the window; a first visit gets a "try this" line', async ({
    page,
  }) => {
    await page.setViewportSize({ width: 1366, height: 900 });
    await bootSettled(page, 'workload=clock');
    const m = await measure(page);
    expect(m.picture).toEqual({ width: 1024, height: 768 });
    // The canvas shows the whole picture scaled (4:3 kept), so its bottom row, the taskbar, is where the canvas ends.
    expect(m.canvas.width / m.canvas.height).toBeCloseTo(4 / 3, 1);
    expect(m.canvas.top).toBeGreaterThan(0);
    expect(m.canvas.bottom).toBeLessThanOrEqual(m.innerHeight);
    expect(m.canvas.height).toBeGreaterThanOrEqual(400);
    expect(m.input!.bottom).toBeLessThanOrEqual(m.innerHeight);
    expect(m.send!.bottom).toBeLessThanOrEqual(m.innerHeight);
    expect(m.below!.bottom).toBeLessThanOrEqual(m.innerHeight);
    expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
    // The page fits the window: no vertical scroll bar (which would take its width from the
    // layout, and the meter's chart with it, in a browser that shows one).
    expect(m.scrollHeight).toBeLessThanOrEqual(m.innerHeight);
    const tryThis = page.getByRole('note').filter({ hasText: 'Try this' });
    await expect(tryThis).toContainText('poll');
    await page.waitForTimeout(1500); // the guest finishes drawing its desktop, for the screenshot
    await page.screenshot({ path: test.info().outputPath('layout-1366x900.png') });
    // A second visit has seen it.
    await page.reload();
    await boot(page, 'workload=clock');
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(tryThis).toHaveCount(0);
  });

  test('at 1024×700 the controls take at most two rows, and the screen stays readable', async ({ page }) => {
    await page.setViewportSize({ width: 1024, height: 700 });
    await boot(page, 'workload=clock');
    const m = await measure(page);
    expect(m.controlRows).toBeLessThanOrEqual(2);
    expect(m.canvas.bottom).toBeLessThanOrEqual(m.innerHeight);
    expect(m.canvas.height).toBeGreaterThanOrEqual(380);
    expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: test.info().outputPath('layout-1024x700.png') });
  });

  test('an 800×600 guest is scaled into the same box as a 1024×768 one: down at 1366×900, up at 1920×1200', async ({
    page,
  }) => {
    await page.setViewportSize({ width: 1366, height: 900 });
    await bootSettled(page, 'workload=clock'); // the first visit (with its "try this" line, above the screen)
    await bootSettled(page, 'workload=clock');
    const big = await measure(page);
    expect(big.below!.bottom).toBeLessThanOrEqual(big.innerHeight);
    await bootSettled(page, 'workload=clock&res=800x600x32');
    const small = await measure(page);
    expect(small.picture).toEqual({ width: 800, height: 600 });
    expect(Math.abs(small.canvas.width - big.canvas.width)).toBeLessThanOrEqual(2);
    expect(Math.abs(small.canvas.height - big.canvas.height)).toBeLessThanOrEqual(2);
    expect(small.canvas.bottom).toBeLessThanOrEqual(small.innerHeight);
    expect(small.below!.bottom).toBeLessThanOrEqual(small.innerHeight);
    await page.screenshot({ path: test.info().outputPath('layout-800x600-guest-1366x900.png') });
    await page.setViewportSize({ width: 1920, height: 1200 });
    await expect.poll(async () => (await measure(page)).canvas.width).toBeGreaterThan(800);
    const up = await measure(page);
    expect(up.canvas.width / up.canvas.height).toBeCloseTo(4 / 3, 1);
    expect(up.canvas.bottom).toBeLessThanOrEqual(up.innerHeight);
    expect(up.input!.bottom).toBeLessThanOrEqual(up.innerHeight);
    await page.screenshot({ path: test.info().outputPath('layout-800x600-guest-1920x1200.png') });
  });
});
