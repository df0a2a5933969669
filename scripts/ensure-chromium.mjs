#!/usr/bin/env node
// Make sure a Chromium exists for the e2e tests and benchmarks. Playwright cannot download its own
// browser on these machines, so we use Debian's (/usr/bin/chromium), installing it with apt when it
// is missing and we are root; otherwise we fall back to a browser Playwright already has.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { chromiumPath } from './chromium-path.mjs';

if (chromiumPath()) process.exit(0);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && existsSync('/usr/bin/apt-get')) {
  console.log('[ensure-chromium] installing Debian chromium (apt-get install -y chromium)…');
  try {
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
      stdio: 'inherit',
    });
  } catch {
    console.error('[ensure-chromium] apt-get failed');
  }
}
if (!chromiumPath()) {
  console.error(
    '[ensure-chromium] no Chromium found: install Debian\'s chromium (apt-get install chromium) or run "npx playwright install chromium".',
  );
  process.exit(1);
}
