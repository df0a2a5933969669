/**
 * Debian's SeaBIOS and VGA BIOS for the tests that boot them: scripts/ensure-seabios.mjs fetches
 * them on first use (once per test file, before its tests) and prints the folder that holds
 * bios.bin and vgabios-stdvga.bin.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll } from 'vitest';

/** Registers the fetch for this test file; the returned function gives the folder inside a test. */
export function seabiosFolder(): () => string {
  let dir = '';
  beforeAll(() => {
    dir = execFileSync(process.execPath, ['scripts/ensure-seabios.mjs'], { encoding: 'utf8', timeout: 300_000 }).trim();
  }, 300_000);
  return () => dir;
}
