import { describe, expect, it } from 'vitest';
import { FIRST_PART_BYTES, PARALLEL } from '../../src/ui/fetch-parts';
import { fetchGuestFile } from '../../src/ui/guests';

/** A file's bytes: each a function of its offset, so a misplaced part shows. */
/** The same bytes (toEqual on megabytes takes vitest seconds). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const fileOf = (n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 8)) & 0xff;
  return b;
};

interface Server {
  get: typeof fetch;
  /** The Range header of every request, '' for none. */
  ranges: string[];
}

/**
 * A server of `body` at any URL: honours one `bytes=A-B` range with 206 and Content-Range, as
 * vite's and every static server do, unless `ranges` is false (then 200 with the whole file);
 * `answer` may replace the answer to the request numbered n.
 */
function server(body: Uint8Array, ranges = true, answer?: (n: number, range: string) => Response | null): Server {
  const log: string[] = [];
  const get = (async (_url: string, init?: RequestInit) => {
    const range = new Headers(init?.headers).get('range') ?? '';
    log.push(range);
    const special = answer?.(log.length - 1, range);
    if (special) return special;
    const m = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!ranges || !m) return new Response(body.slice(), { status: 200 });
    const from = Number(m[1]);
    if (from >= body.length) return new Response(null, { status: 416 });
    const to = Math.min(Number(m[2]), body.length - 1);
    return new Response(body.slice(from, to + 1), {
      status: 206,
      headers: { 'Content-Range': `bytes ${from}-${to}/${body.length}` },
    });
  }) as typeof fetch;
  return { get, ranges: log };
}

describe('fetchGuestFile: a file from the page’s server in parts fetched at once', () => {
  it('a 5.5 MiB file comes as a first part and PARALLEL parts of the rest asked for together, byte for byte', async () => {
    const body = fileOf(5.5 * 2 ** 20);
    const s = server(body);
    const got = new Uint8Array(await fetchGuestFile('guest/linux/vmlinuz', true, s.get));
    expect(same(got, body)).toBe(true);
    expect(s.ranges[0]).toBe(`bytes=0-${FIRST_PART_BYTES - 1}`);
    expect(s.ranges.length).toBe(1 + PARALLEL);
    // The parts cover the rest once, in order, with no gap.
    let next = FIRST_PART_BYTES;
    for (const r of s.ranges.slice(1)) {
      const [from, to] = /^bytes=(\d+)-(\d+)$/.exec(r)!.slice(1).map(Number);
      expect(from).toBe(next);
      next = to + 1;
    }
    expect(next).toBe(body.length);
  });

  it('a file no larger than the first part, or of one byte more, or empty', async () => {
    for (const n of [1000, FIRST_PART_BYTES, FIRST_PART_BYTES + 1, 0]) {
      const body = fileOf(n);
      const s = server(body);
      expect(same(new Uint8Array(await fetchGuestFile('f', true, s.get)), body)).toBe(true);
      // An empty file: its range is refused (416), then it comes whole.
      expect(s.ranges.length).toBe(n === 0 || n === FIRST_PART_BYTES + 1 ? 2 : 1);
    }
  });

  it('a server that ignores ranges sends the whole file once', async () => {
    const body = fileOf(3 * 2 ** 20);
    const s = server(body, false);
    expect(same(new Uint8Array(await fetchGuestFile('f', true, s.get)), body)).toBe(true);
    expect(s.ranges.length).toBe(1);
  });

  it('a part answered otherwise than asked (the whole file, another total size) makes the file come again whole', async () => {
    const body = fileOf(3 * 2 ** 20);
    for (const odd of [
      () => new Response(body.slice(), { status: 200 }),
      () =>
        new Response(body.slice(0, 10), { status: 206, headers: { 'Content-Range': `bytes 0-9/${body.length + 1}` } }),
    ]) {
      const s = server(body, true, (n) => (n === 2 ? odd() : null));
      expect(same(new Uint8Array(await fetchGuestFile('f', true, s.get)), body)).toBe(true);
      expect(s.ranges.at(-1)).toBe('');
    }
  });

  it('a file the server sends encoded (vite sends a .gz with Content-Encoding: gzip) comes whole in a second request', async () => {
    const body = fileOf(3 * 2 ** 20);
    const s = server(body, true, (n, range) =>
      n === 0
        ? new Response(body.slice(0, 10), {
            status: 206,
            headers: { 'Content-Range': `bytes 0-9/${body.length}`, 'Content-Encoding': 'gzip' },
          })
        : range === ''
          ? null
          : new Response('part of an encoded file', { status: 500 }),
    );
    expect(same(new Uint8Array(await fetchGuestFile('f', true, s.get)), body)).toBe(true);
    expect(s.ranges).toEqual([`bytes=0-${FIRST_PART_BYTES - 1}`, '']);
  });

  it('a first request that fails (Chromium fails a range of a gzip-encoded body before its headers) is made again without a range', async () => {
    const body = fileOf(3 * 2 ** 20);
    const s = server(body, true, (n) => {
      if (n === 0) throw new TypeError('Failed to fetch');
      return null;
    });
    expect(same(new Uint8Array(await fetchGuestFile('f', true, s.get)), body)).toBe(true);
    expect(s.ranges).toEqual([`bytes=0-${FIRST_PART_BYTES - 1}`, '']);
  });

  it('a URL of another origin, or a file named .gz (vite sends it gzip-encoded), is fetched in one request without a range', async () => {
    for (const url of ['https://elsewhere.example/vmlinuz', 'guest/linux/initramfs.cpio.gz', '/a/b.GZ?x=1']) {
      const body = fileOf(3 * 2 ** 20);
      const s = server(body);
      expect(same(new Uint8Array(await fetchGuestFile(url, true, s.get)), body)).toBe(true);
      expect(s.ranges).toEqual(['']);
    }
  });

  it('an HTTP error or a web page instead of the file says why, naming the file', async () => {
    const notFound = server(fileOf(10), true, () => new Response('no', { status: 404, statusText: 'Not Found' }));
    await expect(fetchGuestFile('guest/x', true, notFound.get)).rejects.toThrow('guest/x: HTTP 404 Not Found');
    const page = server(fileOf(10), true, () => new Response('<html>', { headers: { 'Content-Type': 'text/html' } }));
    await expect(fetchGuestFile('guest/x', false, page.get)).rejects.toThrow(
      /^not found \(the server sent a web page\)$/,
    );
  });
});
