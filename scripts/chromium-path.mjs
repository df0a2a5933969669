// Where the Chromium for tests lives: $CHROMIUM_PATH, Debian's /usr/bin/chromium, or Playwright's own.
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';

/** Returns an executable path, '' to use Playwright's bundled browser, or null when there is none. */
export function chromiumPath() {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'])
    if (p && existsSync(p)) return p;
  try {
    if (existsSync(chromium.executablePath())) return '';
  } catch {
    /* no bundled browser */
  }
  return null;
}

/** Flags for headless Chromium on a sandboxless, network-less machine. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-features=SharedArrayBuffer',
];
