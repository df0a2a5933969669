/**
 * The meter as a user reads it: its chart fits its column whatever happens around a sleeping
 * meter, its series are toggled from the keyboard, a paused machine is called paused, no figure
 * exceeds one core, and the display mode has one name on the whole page.
 */
import { expect, test, type Page } from '@playwright/test';
import { boot } from './lib';

/** The meter's counters and its chart's box and drawing, in CSS pixels. */
const meterState = (page: Page) =>
  page.evaluate(() => {
    const meter = document.querySelector('hvm-app')!.shadowRoot!.querySelector('cpu-meter') as any;
    const box = meter.shadowRoot.querySelector('.chart') as HTMLElement;
    const plot = box.querySelector('.uplot') as HTMLElement | null;
    const m = meter.getBoundingClientRect();
    const p = plot?.getBoundingClientRect();
    return {
      ticks: meter.samplingCounters.ticks as number,
      sleeps: meter.samplingCounters.sleeps as number,
      redraws: meter.chartRedraws as number,
      boxWidth: box.clientWidth,
      plotWidth: p?.width ?? 0,
      plotRight: p?.right ?? 0,
      meterRight: m.right,
    };
  });

test('the chart follows its column while the meter sleeps: never wider than its box, never clipped', async ({
  page,
}) => {
  await page.setViewportSize({ width: 1366, height: 900 });
  await boot(page, 'workload=static&mode=dirty-idle');
  // The meter asleep (the display sleeps, nothing but time moves).
  await expect.poll(async () => (await meterState(page)).sleeps, { timeout: 20_000 }).toBeGreaterThan(0);
  const before = await meterState(page);
  expect(before.plotWidth).toBeLessThanOrEqual(before.boxWidth);
  // The meter's column narrows with no window resize (as when a scroll bar appears or the page's
  // layout moves): the chart follows at once, the meter still asleep.
  await page.evaluate(() => {
    const aside = document.querySelector('hvm-app')!.shadowRoot!.querySelector('aside') as HTMLElement;
    aside.style.paddingRight = '160px';
  });
  await expect
    .poll(async () => {
      const s = await meterState(page);
      return s.plotWidth <= s.boxWidth && s.plotRight <= s.meterRight && s.boxWidth < before.boxWidth;
    })
    .toBe(true);
  const narrowed = await meterState(page);
  expect(narrowed.ticks).toBe(before.ticks);
  expect(narrowed.plotWidth).toBeLessThan(before.plotWidth - 100);
});

test("the chart's series are buttons the keyboard reaches: each hides and shows its line", async ({ page }) => {
  await boot(page, 'workload=clock&mode=dirty-idle');
  await expect.poll(() => page.evaluate(() => (globalThis as any).__hvm.samples().length)).toBeGreaterThan(1);
  const group = page.getByRole('group', { name: 'Series shown in the chart' });
  await expect(group.getByRole('button')).toHaveText(['ioemu', 'hypervisor', 'guest', 'meter + page']);
  // From the serial console's Send button, Tab reaches the series before the exports.
  await page.getByRole('button', { name: 'Send' }).focus();
  const order: string[] = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    order.push(
      await page.evaluate(() => {
        let a = document.activeElement;
        while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
        return a?.textContent?.trim() ?? '';
      }),
    );
  }
  expect(order).toEqual(['ioemu', 'hypervisor', 'guest', 'meter + page', 'Export CSV', 'Export JSON']);
  const guest = group.getByRole('button', { name: 'guest' });
  await expect(guest).toHaveAttribute('aria-pressed', 'true');
  const redraws = (await meterState(page)).redraws;
  await guest.focus();
  await page.keyboard.press('Space');
  await expect(guest).toHaveAttribute('aria-pressed', 'false');
  expect((await meterState(page)).redraws).toBeGreaterThan(redraws);
  // uPlot's own state: the guest's line (series 3, after x) is off, the others on.
  const shown = () =>
    page.evaluate(() => {
      const meter = document.querySelector('hvm-app')!.shadowRoot!.querySelector('cpu-meter') as any;
      return (meter.chart.plot.series as { show: boolean }[]).slice(1).map((s) => s.show);
    });
  expect(await shown()).toEqual([true, true, false, true]);
  // The chart the toggles act on: log scale from 0.001 to 100 % of a core, a minute wide.
  const scale = await page.evaluate(() => {
    const meter = document.querySelector('hvm-app')!.shadowRoot!.querySelector('cpu-meter') as any;
    const u = meter.chart.plot;
    return { distr: u.scales.y.distr, min: u.scales.y.min, max: u.scales.y.max, height: u.height, width: u.width };
  });
  expect(scale).toMatchObject({ distr: 3, min: 0.001, max: 100 });
  expect(scale.height).toBeGreaterThanOrEqual(200);
  expect(scale.width).toBeGreaterThanOrEqual(400);
  await page.keyboard.press('Enter');
  await expect(guest).toHaveAttribute('aria-pressed', 'true');
  expect(await shown()).toEqual([true, true, true, true]);
});

/** The page's visible text, through the shadow roots (select options included). */
const visibleText = (page: Page) =>
  page.evaluate(() => {
    const out: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      const it = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
      for (let n = it.nextNode(); n; n = it.nextNode()) {
        if (n instanceof Element && n.shadowRoot) walk(n.shadowRoot);
        if (n.nodeType !== Node.TEXT_NODE) continue;
        const el = n.parentElement;
        if (el && (el.tagName === 'STYLE' || el.tagName === 'SCRIPT')) continue;
        if (el && el.tagName !== 'OPTION' && !el.checkVisibility()) continue;
        out.push(n.textContent ?? '');
      }
    };
    walk(document);
    return out.join(' ');
  });

test('the meter: no figure above one core from boot on, "paused" while paused, and one name for dirty + idle drop', async ({
  page,
}) => {
  await boot(page, 'workload=clock&mode=dirty-idle');
  await expect
    .poll(() => page.evaluate(() => (globalThis as any).__hvm.samples().length), { timeout: 15_000 })
    .toBeGreaterThan(3);
  // From the first second (the boot's busiest) on, every share is of one core at most.
  const samples: Record<string, number>[] = await page.evaluate(() => (globalThis as any).__hvm.samples());
  for (const s of samples) {
    for (const k of ['ioemuPct', 'hvPct', 'guestPct', 'idlePct', 'uiPct']) expect(s[k], k).toBeLessThanOrEqual(100);
    // The worker's three shares are of the same core.
    expect(s.guestPct + s.idlePct + s.hvPct).toBeLessThanOrEqual(100.5);
  }
  const meter = page.locator('cpu-meter').first();
  await expect(meter.getByRole('row', { name: /^guest/ })).toContainText('%');
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(meter).toContainText('the machine is paused', { timeout: 5_000 });
  await expect(meter.getByRole('row', { name: /^guest/ })).toContainText('paused');
  await expect(meter.getByRole('row', { name: /^idle \(HLT\)/ })).toContainText('paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(meter).not.toContainText('the machine is paused', { timeout: 5_000 });
  // One name: the control, the meter's heading and its per-mode table say "dirty + idle drop", in
  // the single view and the A/B view alike; "dirty-idle" (the address's value) shows nowhere.
  for (const query of ['workload=clock&mode=dirty-idle', 'workload=clock&mode=dirty-idle&ab=poll']) {
    await boot(page, query);
    // Each meter's per-mode table appears with its first measured seconds.
    await expect.poll(() => visibleText(page), { timeout: 15_000 }).toContain('mean per mode');
    const text = await visibleText(page);
    expect(text).toContain('dirty + idle drop');
    expect(text).not.toMatch(/dirty-idle|dirty_idle|dirtyidle/i);
  }
});
