import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';
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

export default defineConfig({
  base: './',
  plugins: [coiServiceWorker()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
