import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { freePort, portFree } from '../../scripts/free-port.mjs';

/** A server listening on a free port of localhost (the port a test makes busy). */
async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, 'localhost', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { server, port: addr.port };
}

/** Run `npm start`'s script with the environment given; it must end by itself (it refuses). */
function start(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['scripts/start.mjs'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('npm start on a port it cannot use', () => {
  it('says in one line that the PORT given is in use, before any build, and exits with status 2', async () => {
    const { server, port } = await occupy();
    try {
      const r = start({ PORT: String(port) });
      expect(r.status).toBe(2);
      expect(r.out).toContain(`[start] port ${port} on localhost is in use`);
      expect(r.out).not.toContain('building'); // said at once, not after a minute's build
      expect(r.out).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      server.close();
    }
  });

  it('says a PORT that is not a port number is not one', () => {
    const r = start({ PORT: 'http' });
    expect(r.status).toBe(2);
    expect(r.out).toContain('[start] PORT must be a port number (1–65535), got "http"');
  });

  it('without PORT takes the next free port above a busy one', async () => {
    const { server, port } = await occupy();
    try {
      expect(await portFree(port)).toBe(false);
      const next = await freePort(port);
      expect(next).not.toBeNull();
      expect(next).toBeGreaterThan(port);
      expect(await portFree(next!)).toBe(true);
    } finally {
      server.close();
    }
  });
});
