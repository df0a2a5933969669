import type { Connect, Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** SharedArrayBuffer needs a cross-origin isolated page: these headers in dev and preview. */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Serve and emit coi-serviceworker.js from the coi-serviceworker package: a static deployment
 * without header control still becomes cross-origin isolated (the service worker adds the
 * headers and reloads once). Taken from node_modules, not copied into the repository.
 */
function coiServiceWorker(): Plugin {
  const file = fileURLToPath(new URL('./node_modules/coi-serviceworker/coi-serviceworker.min.js', import.meta.url));
  return {
    name: 'coi-serviceworker',
    configureServer(server) {
      server.middlewares.use('/coi-serviceworker.js', (_req, res) => {
        res.setHeader('Content-Type', 'text/javascript');
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'coi-serviceworker.js', source: readFileSync(file) });
    },
  };
}

/**
 * Serve Debian's SeaBIOS and its VGA BIOS to the page, for the "BIOS + disk" guest (`?guest=disk`):
 * at firmware/seabios/ beside the app, from .cache/seabios/ where scripts/ensure-seabios.mjs puts
 * them (fetching Debian's package on first use). The dev and preview servers answer from the cache;
 * a build emits them into dist/ with the package's copyright file and version, as a static
 * deployment needs them. They are LGPLv3 builds, fetched rather than committed (see the script).
 * When the package cannot be had, the page says so when asked for the guest; nothing else fails.
 */
/** Where the page finds the files (relative to the app, as vite's base is './'). */
const SEABIOS_URL_DIR = 'firmware/seabios';
/** What the page gets: the two images, and what their licence asks to travel with them. */
const SERVED = ['bios.bin', 'vgabios-stdvga.bin', 'copyright', 'VERSION'];

function seabios(root: string): Plugin {
  let dir: string | null = null;
  let failure: string | null = null;
  /** The cache folder, fetched on the first request (never at start: vitest loads this config too). */
  const ensure = (): string | null => {
    if (dir !== null || failure !== null) return dir;
    try {
      dir = execFileSync(process.execPath, [join(root, 'scripts/ensure-seabios.mjs')], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      }).trim();
    } catch (e) {
      const stderr = e && typeof e === 'object' && 'stderr' in e ? String(e.stderr).trim() : String(e);
      failure = stderr || String(e);
      console.warn(`[seabios] ${failure}`);
    }
    return dir;
  };
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const name = (req.url ?? '').replace(/^\//, '').split('?')[0];
    if (!SERVED.includes(name)) return next();
    const from = ensure();
    if (from === null || !existsSync(join(from, name))) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain');
      res.end(`SeaBIOS is not available on this server: ${failure ?? `${name} is missing from ${from}`}`);
      return;
    }
    res.setHeader('Content-Type', name.endsWith('.bin') ? 'application/octet-stream' : 'text/plain');
    res.end(readFileSync(join(from, name)));
  };
  return {
    name: 'seabios',
    configureServer(server) {
      server.middlewares.use(`/${SEABIOS_URL_DIR}`, middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(`/${SEABIOS_URL_DIR}`, middleware);
    },
    generateBundle() {
      const from = ensure();
      if (from === null) return;
      for (const name of SERVED)
        this.emitFile({
          type: 'asset',
          fileName: `${SEABIOS_URL_DIR}/${name}`,
          source: readFileSync(join(from, name)),
        });
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [coiServiceWorker(), seabios(fileURLToPath(new URL('.', import.meta.url)))],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    // A first build fetches SeaBIOS into .cache/ (seabios() above, ~10 s): rolldown's warning that a
    // plugin took most of the build is then expected, and only noise to a newcomer's `npm start`.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
