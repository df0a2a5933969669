#!/usr/bin/env node
// npm run bench: run every bench:* script of package.json in turn; each prints its table and writes
// bench-results/NAME.json. Exits non-zero if any failed, after running them all.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const scripts = Object.keys(JSON.parse(readFileSync('package.json', 'utf8')).scripts).filter((s) =>
  s.startsWith('bench:'),
);
let failed = [];
for (const s of scripts) {
  console.log(`\n=== npm run ${s} ===`);
  const r = spawnSync('npm', ['run', '--silent', s], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(s);
}
if (scripts.length === 0) console.log('no bench:* scripts yet');
if (failed.length) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exit(1);
}
