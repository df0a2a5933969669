/**
 * A file from the page's own server in parts fetched at once (HTTP range requests), as a download
 * manager does: Chromium read Debian's 5.7 MB kernel from `vite preview` on localhost in 0.4–1.5 s
 * over one request and 0.2–0.4 s over four (2026-12-04), and that fetch was on the path from page
 * load to the kernel's start (src/machine/boot/README.md). The first request asks for the first
 * part and learns the size from its Content-Range; the rest is asked for in up to PARALLEL parts
 * as soon as those headers arrive. A server that ignores ranges (200) sends the whole file in the
 * first answer, which is used as it is; a part that comes back otherwise than asked (no 206, other
 * bounds, another total size: the file changed) makes the whole file come again in one request,
 * as does an encoded first part.
 * A URL of another origin is fetched in one request (its Content-Range may not be readable
 * there), and so is a file named .gz (below).
 */

/** The first request's part; a file no larger comes in one request. */
export const FIRST_PART_BYTES = 1 << 20;
/**
 * How many parts of the rest are asked for at once: with the first, and the other file the page
 * fetches beside (the initramfs), within Chromium's 6 connections to a host.
 */
export const PARALLEL = 3;

/** What a caller needs of a response before its bytes: fetchGuestFile's checks. */
export type ResponseCheck = (res: Response) => void;

/** `bytes FROM-TO/TOTAL` → its numbers, or null. */
function contentRange(res: Response): { from: number; to: number; total: number } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
  return m ? { from: Number(m[1]), to: Number(m[2]), total: Number(m[3]) } : null;
}

/** A relative URL, or one of the page's origin (`origin`, when the page has one). */
function sameOrigin(url: string, origin: string | undefined): boolean {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith('//')) return true;
  return origin !== undefined && new URL(url, origin).origin === origin;
}

class PartMismatch extends Error {}

/**
 * The bytes at `url`, in parts when its server takes ranges; `check` throws for a response that is
 * no file (an HTTP error, a web page), and is given the first response of each attempt.
 */
export async function fetchInParts(
  url: string,
  check: ResponseCheck,
  get: typeof fetch = fetch,
  origin: string | undefined = globalThis.location?.origin,
): Promise<ArrayBuffer> {
  const whole = async () => {
    const res = await get(url);
    check(res);
    return res.arrayBuffer();
  };
  // vite's server (sirv) sends a .gz file (the initramfs) with Content-Encoding: gzip, and
  // Chromium fails a range of it (it cannot decode part of the stream): such a file comes whole.
  if (!sameOrigin(url, origin) || /\.gz$/i.test(new URL(url, 'http://x/').pathname)) return whole();
  let first: Response;
  try {
    first = await get(url, { headers: { Range: `bytes=0-${FIRST_PART_BYTES - 1}` } });
  } catch {
    // Chromium fails the fetch of a range of an encoded body (ERR_CONTENT_DECODING_FAILED) before
    // its headers; any other failure happens again in the whole file's request, and is said there.
    return whole();
  }
  // An empty file has no byte 0 to send.
  if (first.status === 416) return whole();
  check(first);
  if (first.status !== 206) return first.arrayBuffer();
  const range = contentRange(first);
  // A range of an encoded body cannot be decoded alone: such a file comes whole.
  const encoding = first.headers.get('content-encoding');
  if (range === null || range.from !== 0 || (encoding !== null && encoding !== 'identity')) {
    void first.body?.cancel();
    return whole();
  }
  const { total } = range;
  const out = new Uint8Array(total);
  const place = async (res: Response, from: number, to: number): Promise<void> => {
    const r = contentRange(res);
    if (res.status !== 206 || r === null || r.from !== from || r.to !== to || r.total !== total) {
      void res.body?.cancel();
      throw new PartMismatch();
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length !== to - from + 1) throw new PartMismatch();
    out.set(bytes, from);
  };
  const firstEnd = Math.min(total, FIRST_PART_BYTES) - 1;
  const rest = total - (firstEnd + 1);
  const n = Math.min(PARALLEL, Math.ceil(rest / FIRST_PART_BYTES));
  const size = n > 0 ? Math.ceil(rest / n) : 0;
  const parts = [place(first, 0, firstEnd)];
  for (let k = 0; k < n; k++) {
    const from = firstEnd + 1 + k * size;
    const to = Math.min(total, from + size) - 1;
    parts.push(get(url, { headers: { Range: `bytes=${from}-${to}` } }).then((res) => place(res, from, to)));
  }
  try {
    await Promise.all(parts);
  } catch (e) {
    if (!(e instanceof PartMismatch)) throw e;
    await Promise.allSettled(parts);
    return whole();
  }
  return out.buffer;
}
