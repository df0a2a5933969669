/**
 * The A/B view: two displays of the same running guest side by side, each in its own mode with
 * its own dirty-VRAM client in the hypervisor, both pixel-exact, and the ratio of their cost live.
 */
import { expect, test, type Page } from '@playwright/test';
import { HV_CLIENT_DROPPED, HV_CLIENT_TRACKING, I32 } from '../src/shared/layout';
import { VramClient } from '../src/shared/api';
import { boot, checkFrame, serial } from './lib';

type Mode = 'poll' | 'dirty' | 'dirty-idle' | 'trap';

const state = (page: Page) =>
  page.evaluate(
    ([base, a, b]) => {
      const h = (globalThis as any).__hvm;
      return {
        refreshesA: h.refresher().counters.refreshes as number,
        refreshesB: h.refresherB().counters.refreshes as number,
        clientA: Atomics.load(h.stats.i32 as Int32Array, base + a),
        clientB: Atomics.load(h.stats.i32 as Int32Array, base + b),
        modes: [h.refresher().mode, h.refresherB().mode] as string[],
      };
    },
    [I32.HV_CLIENT_STATE, VramClient.DISPLAY, VramClient.DISPLAY_B] as const,
  );

/** Set both displays' modes through the A/B view's own selects. */
async function setModes(page: Page, a: Mode, b: Mode): Promise<void> {
  await page.getByLabel('Display A mode').selectOption(a);
  await page.getByLabel('Display B mode').selectOption(b);
  await expect.poll(async () => (await state(page)).modes).toEqual([a, b]);
}

test('A/B: both canvases equal VRAM over 1,000 refreshes each, through every pair of modes, an idle drop on one side and its re-arm', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await boot(page, 'workload=stress&mode=dirty-idle&ab=poll');
  await expect.poll(async () => (await state(page)).modes).toEqual(['dirty-idle', 'poll']);
  const start = await state(page);
  let frames = 0;
  const sample = async (what: string, n: number, gapMs = 400) => {
    for (let k = 0; k < n; k++) {
      await page.waitForTimeout(gapMs);
      // One pause for both: A is compared first, then B, with VRAM held still.
      const a = await checkFrame(page, false, 'display');
      const b = await checkFrame(page, true, 'displayB');
      frames += 2;
      expect(a.mismatches, `A ${what} #${k}: ${a.detail}`).toBe(0);
      expect(b.mismatches, `B ${what} #${k}: ${b.detail}`).toBe(0);
      expect(a.nonBlack).toBeGreaterThan(1000);
    }
  };
  await sample('stress dirty-idle | poll', 4);
  for (const [a, b] of [
    ['dirty', 'dirty'],
    ['dirty', 'dirty-idle'],
    ['trap', 'dirty'],
    ['poll', 'trap'],
    ['dirty-idle', 'dirty'],
  ] as const) {
    await setModes(page, a, b);
    await sample(`stress ${a} | ${b}`, 3);
  }
  // Both dirty clients are tracking in the hypervisor at once.
  const both = await state(page);
  expect(both.clientA & HV_CLIENT_TRACKING).toBe(HV_CLIENT_TRACKING);
  expect(both.clientB & HV_CLIENT_TRACKING).toBe(HV_CLIENT_TRACKING);
  // Idle: A's drop engages (A is dirty + idle drop) while B, in dirty mode, keeps its range writable.
  await serial(page, 'workload static');
  await expect
    .poll(async () => (await state(page)).clientA & HV_CLIENT_DROPPED, { timeout: 15_000 })
    .toBe(HV_CLIENT_DROPPED);
  expect((await state(page)).clientB & HV_CLIENT_DROPPED).toBe(0);
  await sample('idle, A dropped', 2);
  // The first write re-arms A, and both screens follow.
  await serial(page, 'workload scroll');
  await expect.poll(async () => (await state(page)).clientA & HV_CLIENT_DROPPED, { timeout: 10_000 }).toBe(0);
  await sample('scroll after the re-arm', 3);
  await serial(page, 'workload pan');
  await sample('pan', 3, 300);
  await serial(page, 'workload stress');
  for (;;) {
    const s = await state(page);
    if (s.refreshesA - start.refreshesA >= 1000 && s.refreshesB - start.refreshesB >= 1000) break;
    await sample('tail', 1, 1000);
  }
  const end = await state(page);
  console.log(
    `A/B: ${end.refreshesA - start.refreshesA} refreshes on A, ${end.refreshesB - start.refreshesB} on B, ${frames} frames compared, 0 mismatching pixels`,
  );
});

test('A/B: the ratio of the two ioemu costs is shown live, the shared figures once, and closing the view releases the second client', async ({
  page,
}) => {
  test.setTimeout(90_000);
  await boot(page, 'workload=clock&mode=dirty-idle&ab=poll');
  const ratio = page.getByRole('status').filter({ hasText: 'ioemu, mean of the last' });
  // Poll (B) costs more than dirty + idle drop (A): the page says by how much.
  await expect(ratio).toContainText(/B \/ A =\s+[\d.]+×/, { timeout: 30_000 });
  const times = Number((await ratio.locator('.value').textContent())?.replace('×', ''));
  expect(times).toBeGreaterThan(1);
  // Each column has its own meter, labelled with its own mode.
  await expect(page.locator('hvm-ab-view cpu-meter').first()).toContainText('Measured: dirty + idle drop');
  await expect(page.locator('hvm-ab-view cpu-meter').last()).toContainText('Measured: poll');
  // The guest's and the hypervisor's figures are the one machine's: shown once, under both columns.
  const shared = page.getByRole('table', { name: /shared by A and B/ });
  await expect(shared).toContainText('hypervisor (dirty tracking)');
  await expect(shared).toContainText(/guest\s+[\d.]+/);
  for (const meter of await page.locator('hvm-ab-view cpu-meter').all()) {
    await expect(meter).toContainText('ioemu (display refresh)');
    await expect(meter).not.toContainText('hypervisor (dirty tracking)');
  }
  // B in dirty mode opens its client; unticking A/B closes it (its tracking, idle drop and trap off).
  await page.getByLabel('Display B mode').selectOption('trap');
  await expect.poll(async () => (await state(page)).clientB & HV_CLIENT_TRACKING).toBe(HV_CLIENT_TRACKING);
  await page.getByLabel('A/B: two displays side by side').uncheck();
  await expect
    .poll(() =>
      page.evaluate(([i]) => Atomics.load((globalThis as any).__hvm.stats.i32, i), [
        I32.HV_CLIENT_STATE + VramClient.DISPLAY_B,
      ] as const),
    )
    .toBe(0);
  expect(await page.evaluate(() => new URL(location.href).searchParams.has('ab'))).toBe(false);
  const f = await checkFrame(page);
  expect(f.mismatches, f.detail).toBe(0);
});

test('A/B: both meters sleep while their displays do, and still report every second', async ({ page }) => {
  test.setTimeout(90_000);
  await boot(page, 'workload=static&mode=dirty-idle&ab=dirty');
  await expect.poll(async () => (await state(page)).modes).toEqual(['dirty-idle', 'dirty']);
  // A's idle drop engages (B, in dirty mode, has none), and both displays sleep on the bell.
  await expect
    .poll(async () => (await state(page)).clientA & HV_CLIENT_DROPPED, { timeout: 15_000 })
    .toBe(HV_CLIENT_DROPPED);
  await expect
    .poll(() =>
      page.evaluate(() => {
        const h = (globalThis as any).__hvm;
        return [h.display.scheduler.asleep, h.displayB.scheduler.asleep];
      }),
    )
    .toEqual([true, true]);
  const meters = () =>
    page.evaluate(() => {
      const ab = document.querySelector('hvm-app')!.shadowRoot!.querySelector('hvm-ab-view')!;
      return [...ab.shadowRoot!.querySelectorAll('cpu-meter')].map((el: any) => ({
        ticks: el.samplingCounters.ticks as number,
        sleeps: el.samplingCounters.sleeps as number,
        samples: (el.samples as { t: number; windowMs: number; machine: string; mode: string }[]).map((s) => ({
          t: s.t,
          windowMs: s.windowMs,
          machine: s.machine,
          mode: s.mode,
        })),
      }));
    });
  // Let both settle into their sleep (the first quiet seconds after the drop are still ticked).
  await expect.poll(async () => (await meters()).map((m) => m.sleeps > 0), { timeout: 15_000 }).toEqual([true, true]);
  const before = await meters();
  await page.waitForTimeout(12_500);
  const after = await meters();
  for (const [i, side] of ['A', 'B'].entries()) {
    const [a, b] = [before[i], after[i]];
    // Asleep, neither meter wakes the main thread each second: only its hold's redraw (every 10 s)…
    expect(b.ticks - a.ticks, `${side}: ticks in 12.5 s`).toBeLessThanOrEqual(3);
    // …and every second is still there when it wakes: one sample each, back to back, in its own mode.
    const fresh = b.samples.slice(a.samples.length);
    expect(fresh.length, `${side}: seconds reported`).toBeGreaterThanOrEqual(8);
    for (const s of fresh) {
      expect(s.windowMs).toBeGreaterThan(400);
      expect(s.windowMs).toBeLessThan(1600);
      expect(s.machine).toBe('running');
      expect(s.mode).toBe(i === 0 ? 'dirty-idle' : 'dirty');
    }
    for (let k = 1; k < fresh.length; k++) expect(fresh[k].t).toBeGreaterThan(fresh[k - 1].t);
  }
  // A mode switch on one side wakes both meters at once (the display's wake rings the bell both wait on).
  const ticks = (await meters()).map((m) => m.ticks);
  await page.getByLabel('Display B mode').selectOption('poll');
  await expect
    .poll(async () => (await meters()).map((m, i) => m.ticks > ticks[i]), { timeout: 3_000 })
    .toEqual([true, true]);
});
