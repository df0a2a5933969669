/**
 * The built app in Chromium for the browser benchmarks: build it (vite build), serve it (vite
 * preview on `port`), launch Debian's Chromium (or Playwright's own), run `body`, and always
 * stop the browser and the server afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chromium, type Browser } from '@playwright/test';
import { chromiumPath, CHROMIUM_ARGS } from '../scripts/chromium-path.mjs';

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the preview server did not answer at ${url}`);
}

/** Runs `body` with a browser while the built app is served on `port`; returns the browser's path. */
export async function withPreview(
  name: string,
  port: number,
  body: (browser: Browser) => Promise<void>,
): Promise<string> {
  const exe = chromiumPath();
  if (exe === null) throw new Error('no Chromium: run `node scripts/ensure-chromium.mjs` first');
  console.log(`[${name}] building the app…`);
  const b = spawnSync('npx', ['vite', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) throw new Error('vite build failed');
  const server = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort'], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    await waitForServer(`http://localhost:${port}/`);
    const browser = await chromium.launch({ executablePath: exe || undefined, args: CHROMIUM_ARGS });
    try {
      await body(browser);
    } finally {
      await browser.close();
    }
  } finally {
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  return exe || 'bundled';
}
