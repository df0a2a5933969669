import { expect, test, type BrowserContext } from '@playwright/test';

/** Serve the app as a static host without header control would: no COOP/COEP/CORP headers. */
async function stripIsolationHeaders(context: BrowserContext) {
  await context.route('**/*', async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['cross-origin-opener-policy'];
    delete headers['cross-origin-embedder-policy'];
    delete headers['cross-origin-resource-policy'];
    await route.fulfill({ response, headers });
  });
}

test.describe('without isolation headers and without service workers', () => {
  test.use({ serviceWorkers: 'block' });
  test('the page says what is wrong instead of failing silently', async ({ page, context }) => {
    await stripIsolationHeaders(context);
    await page.goto('/');
    const banner = page.getByRole('alert');
    await expect(banner).toContainText('not cross-origin isolated');
    await expect(banner).toContainText('Cross-Origin-Embedder-Policy');
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
  });
});

test.describe('without isolation headers, with the service-worker fallback', () => {
  test('coi-serviceworker makes the page cross-origin isolated and the machine runs', async ({ page, context }) => {
    await stripIsolationHeaders(context);
    await page.goto('/?image=pattern');
    // The service worker installs, then reloads the page once with the headers added.
    await page.waitForFunction(() => globalThis.crossOriginIsolated === true, null, { timeout: 30_000 });
    await page.waitForFunction(() => (globalThis as { __hvm?: unknown }).__hvm !== undefined, null, {
      timeout: 30_000,
    });
  });
});
