#!/usr/bin/env node
// npm start: choose the port (PORT/HOST, or the first free one from 4173), build the app if dist/ is
// missing or older than the sources, then serve the built app (vite preview, with the cross-origin
// isolation headers) and print the URL. A port it cannot use is a one-line error and exit status 2.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync, spawn } from 'node:child_process';
import { freePort, portFree } from './free-port.mjs';

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

// PORT and HOST choose where to serve (default localhost:4173). A PORT that is taken is an error
// that says so; without PORT the next free port above 4173 is taken.
const host = process.env.HOST ?? 'localhost';
let port;
if (process.env.PORT) {
  port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error(`[start] PORT must be a port number (1–65535), got "${process.env.PORT}"`);
    process.exit(2);
  }
  if (!(await portFree(port, host))) {
    console.error(
      `[start] port ${port} on ${host} is in use (another npm start, or the tests?): stop it or choose another PORT`,
    );
    process.exit(2);
  }
} else {
  port = await freePort(4173, host);
  if (port === null) {
    console.error(`[start] no free port in 4173–4222 on ${host}: set PORT to one that is free`);
    process.exit(2);
  }
  if (port !== 4173) console.log(`[start] port 4173 is in use; using ${port}`);
}
// Built after the port is settled: a port that is taken is said at once, not after a build.
const built = existsSync('dist/index.html') ? statSync('dist/index.html').mtimeMs : 0;
const sources = Math.max(
  newest('src'),
  newest('public'),
  statSync('index.html').mtimeMs,
  statSync('vite.config.ts').mtimeMs,
);
if (built < sources) {
  console.log('[start] building the app…');
  const r = spawnSync('npx', ['vite', 'build'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log(`[start] serving on http://${host}:${port}/ (Ctrl-C to stop)`);
const server = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort', '--host', host], {
  stdio: 'inherit',
});
server.on('exit', (code) => process.exit(code ?? 0));
