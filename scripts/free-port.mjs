// A TCP port to listen on: the preferred one when it is free, else the next free one above it.
import { createServer } from 'node:net';

/** True when nothing listens on host:port (we could bind it). */
export function portFree(port, host = 'localhost') {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** The first free port from `preferred` up to `preferred + tries - 1`, or null. */
export async function freePort(preferred, host = 'localhost', tries = 50) {
  for (let p = preferred; p < preferred + tries; p++) if (await portFree(p, host)) return p;
  return null;
}
