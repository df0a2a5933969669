import { defineConfig } from '@playwright/test';
import { chromiumPath, CHROMIUM_ARGS } from './scripts/chromium-path.mjs';
import { freePort } from './scripts/free-port.mjs';

const executablePath = (chromiumPath() as string | null) || undefined;

/**
 * The preview server's port: E2E_PORT when given (a server already listening there is reused
 * outside CI), else the first free port from 4173 — so the tests run beside `npm start` or
 * another checkout's tests. Chosen once by the runner; its worker processes inherit E2E_PORT.
 */
const given = Number(process.env.E2E_PORT) || null;
const port = given ?? (await freePort(4173));
if (port === null) throw new Error('no free port in 4173–4222 for the preview server: set E2E_PORT');
process.env.E2E_PORT = String(port);

export default defineConfig({
  testDir: 'e2e',
  // The @linux tests boot Debian's Linux in the page (~1 min on a quiet machine; the whole
  // `npm test` took ~11 min with them): E2E_LINUX=0 leaves them out on a machine too slow for that.
  grepInvert: process.env.E2E_LINUX === '0' ? /@linux/ : undefined,
  timeout: 120_000,
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [['list'], ['json', { outputFile: 'test-results/e2e.json' }]] : 'list',
  use: {
    baseURL: `http://localhost:${port}`,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath, args: CHROMIUM_ARGS },
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `npx vite preview --port ${port} --strictPort`,
    url: `http://localhost:${port}`,
    reuseExistingServer: given !== null && !process.env.CI,
    timeout: 60_000,
  },
});
