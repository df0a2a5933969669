/**
 * The dirty heat map: over the screen, each tile coloured by how often the guest wrote it lately,
 * fading when the writes stop.
 */
import { expect, test, type Page } from '@playwright/test';
import { boot, serial } from './lib';

/** Rows of tiles (16 px) of the overlay that hold any colour, and the overlay's drawn pixels. */
const heat = (page: Page) =>
  page.evaluate(() => {
    const c: HTMLCanvasElement = (globalThis as any).__hvm.display.renderRoot.querySelector('canvas.overlay');
    if (!c.width || !c.height) return { pixels: 0, rows: [] as number[] };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let pixels = 0;
    const rows = new Set<number>();
    for (let i = 3; i < d.length; i += 4)
      if (d[i] !== 0) {
        pixels++;
        rows.add(Math.floor((i >> 2) / c.width / 16));
      }
    return { pixels, rows: [...rows].sort((a, b) => a - b) };
  });

test('the heat map glows where the guest writes and cools when it stops', async ({ page }) => {
  await boot(page, 'workload=static&mode=dirty');
  await page.getByLabel('Overlay').selectOption('heat');
  await expect(page).toHaveURL(/overlay=heat/); // a shared address shows the same overlay
  // The static desktop writes nothing: after the boot's writes have cooled, no tile is coloured.
  await expect.poll(async () => (await heat(page)).pixels, { timeout: 20_000 }).toBe(0);
  await serial(page, 'workload sprite');
  // The sprite moves: the tiles it writes warm up.
  await expect.poll(async () => (await heat(page)).pixels, { timeout: 10_000 }).toBeGreaterThan(0);
  const warm = await heat(page);
  expect(warm.rows.length).toBeGreaterThan(0);
  await page.screenshot({ path: test.info().outputPath('heat-sprite.png') });
  await serial(page, 'workload static');
  await expect.poll(async () => (await heat(page)).pixels, { timeout: 20_000 }).toBe(0);
});

test('an address with overlay=heat opens with the heat map chosen and drawn', async ({ page }) => {
  await boot(page, 'workload=sprite&mode=dirty&overlay=heat');
  await expect(page.getByLabel('Overlay')).toHaveValue('heat');
  await expect.poll(async () => (await heat(page)).pixels, { timeout: 20_000 }).toBeGreaterThan(0);
});
