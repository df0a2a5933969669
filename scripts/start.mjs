#!/usr/bin/env node
// npm start: build the app if dist/ is missing or older than the sources, then serve the built app
// (vite preview, with the cross-origin isolation headers) and print the URL.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync, spawn } from 'node:child_process';

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const built = existsSync('dist/index.html') ? statSync('dist/index.html').mtimeMs : 0;
const sources = Math.max(newest('src'), newest('public'), statSync('index.html').mtimeMs, statSync('vite.config.ts').mtimeMs);
if (built < sources) {
  console.log('[start] building the app…');
  const r = spawnSync('npx', ['vite', 'build'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const port = process.env.PORT ?? '4173';
console.log(`[start] serving on http://localhost:${port}/ (Ctrl-C to stop)`);
const server = spawn('npx', ['vite', 'preview', '--port', port, '--strictPort', '--host', process.env.HOST ?? 'localhost'], {
  stdio: 'inherit',
});
server.on('exit', (code) => process.exit(code ?? 0));
