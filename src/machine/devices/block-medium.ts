/**
 * A disk's medium behind the ATA device: bytes read and written in place, synchronously (the
 * device model answers a port access at once). Two of them: the image in memory, and an image
 * named by URL read lazily by HTTP range requests (RFC 9110, 14) in aligned chunks, the chunks read
 * kept up to a bound (least recently used first out), with the guest's writes in an in-memory
 * overlay (the server's file is never changed).
 */

import { checkDiskImage, MAX_DISK_BYTES } from '../../shared/api';

/** A read the medium could not satisfy (the server failed, or answered short): the device reports an error. */
export class MediumError extends Error {}

export interface BlockMedium {
  readonly byteLength: number;
  /** Fill `into` from byte `offset`; throws MediumError when the bytes cannot be had. */
  read(offset: number, into: Uint8Array): void;
  write(offset: number, from: Uint8Array): void;
  /** The whole medium as the guest has left it, a copy (a lazy medium reads what it has not yet). */
  wholeImage(): Uint8Array;
}

/** The image held whole in memory (the machine's own copy). */
export class MemoryMedium implements BlockMedium {
  constructor(readonly bytes: Uint8Array) {}
  get byteLength(): number {
    return this.bytes.length;
  }
  read(offset: number, into: Uint8Array): void {
    into.set(this.bytes.subarray(offset, offset + into.length));
  }
  write(offset: number, from: Uint8Array): void {
    this.bytes.set(from, offset);
  }
  wholeImage(): Uint8Array {
    return this.bytes.slice();
  }
}

/**
 * One answer to a range request. 206 (Partial Content) carries the range asked for and the
 * representation's length from Content-Range (RFC 9110, 14.4 and 15.3.7); 200 means the server
 * ignored Range and sent the whole file.
 */
export type RangeResponse = { status: 206; bytes: Uint8Array; totalBytes: number } | { status: 200; bytes: Uint8Array };

/** Ask for bytes [start, end) of the image; throws (any error) when the request fails. */
export type RangeFetch = (start: number, end: number) => RangeResponse;

/** The chunk a lazy medium reads at a time: aligned, a whole number of sectors. */
export const RANGE_CHUNK_BYTES = 64 * 1024;
/** Images at most this large are read whole on opening (one request; lazy reads pay one per chunk). */
export const LAZY_ABOVE_BYTES = 32 * 1024 * 1024;
/**
 * The most bytes of chunks read and not written a lazy medium keeps: past it the least recently
 * used goes (read again from the server when the guest comes back to it), so that a guest reading
 * through a large image (a file-system check, a `dd` of the disk) does not hold all of it in the
 * worker's memory. Written chunks are the guest's only copy: they always stay.
 */
export const CLEAN_BYTES_HELD = 128 * 1024 * 1024;

/**
 * An image read by ranges on demand. Each chunk is fetched when first read and kept while the
 * chunks read stay within `cleanBytesHeld` (CLEAN_BYTES_HELD); a guest write makes the chunk's copy
 * the guest's (copy-on-write per chunk: a partial write reads the chunk first), kept for good.
 * Opening asks for the first chunk, which also gives the image's size (Content-Range); a server
 * that answers 200 gives the whole image at once, which then lives in memory as before.
 */
export class RangeMedium implements BlockMedium {
  /** Chunks read and not written, least recently used first (a Map keeps insertion order). */
  private readonly clean = new Map<number, Uint8Array>();
  /** Chunks the guest wrote: its bytes, never dropped. */
  private readonly written = new Map<number, Uint8Array>();
  /** Bytes the server has sent (the debug figure: how little of a large image a boot reads). */
  bytesFetched = 0;

  private constructor(
    private readonly fetch: RangeFetch,
    readonly byteLength: number,
    readonly chunkBytes: number,
    private readonly cleanBytesHeld: number,
  ) {}

  /**
   * Open the image: its first chunk and size. The whole image when the server ignores Range or
   * when it is small (at most `lazyAbove` bytes); a MemoryMedium then. Throws an Error that says
   * why when the image cannot be a disk (size, request failed).
   */
  static open(
    fetch: RangeFetch,
    lazyAbove = LAZY_ABOVE_BYTES,
    chunkBytes = RANGE_CHUNK_BYTES,
    cleanBytesHeld = CLEAN_BYTES_HELD,
  ): BlockMedium {
    const first = fetch(0, chunkBytes);
    if (first.status === 200) return RangeMedium.whole(first.bytes, 'the server does not take range requests');
    const why = checkDiskImage(first.totalBytes, true);
    if (why) throw new Error(`the disk image ${why}`);
    if (first.totalBytes <= lazyAbove) {
      const all = first.totalBytes <= chunkBytes ? first : fetch(0, first.totalBytes);
      if (all.bytes.length !== first.totalBytes)
        throw new Error(`the server sent ${all.bytes.length} of the image's ${first.totalBytes} bytes`);
      return new MemoryMedium(all.bytes.slice());
    }
    const m = new RangeMedium(fetch, first.totalBytes, chunkBytes, cleanBytesHeld);
    m.keep(0, first.bytes);
    return m;
  }

  private static whole(bytes: Uint8Array, reason: string): MemoryMedium {
    if (bytes.length > MAX_DISK_BYTES)
      throw new Error(
        `${reason}, so the image would be read whole, and it is ${bytes.length} bytes: at most ${MAX_DISK_BYTES} (1 GiB) are held in memory. Serve it from a server that answers Range requests (206)`,
      );
    const why = checkDiskImage(bytes.length);
    if (why) throw new Error(`the disk image ${why}`);
    return new MemoryMedium(bytes.slice());
  }

  /** Chunks held (read or written), for tests and the stats. */
  get chunksHeld(): number {
    return this.clean.size + this.written.size;
  }

  read(offset: number, into: Uint8Array): void {
    this.span(offset, into.length, false, (chunk, at, done, n) => into.set(chunk.subarray(at, at + n), done));
  }

  write(offset: number, from: Uint8Array): void {
    this.span(offset, from.length, true, (chunk, at, done, n) => chunk.set(from.subarray(done, done + n), at));
  }

  wholeImage(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    this.read(0, out);
    return out;
  }

  /**
   * Visit [offset, offset + length) chunk by chunk (`forWrite`: the chunks become the guest's):
   * each chunk's bytes, where in it, how far along, how many.
   */
  private span(
    offset: number,
    length: number,
    forWrite: boolean,
    visit: (chunk: Uint8Array, at: number, done: number, n: number) => void,
  ): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.chunkBytes);
      const at = pos - index * this.chunkBytes;
      const chunk = this.chunk(index, forWrite);
      const n = Math.min(length - done, chunk.length - at);
      if (n <= 0) throw new MediumError(`byte ${pos} is past the end of the medium`);
      visit(chunk, at, done, n);
      done += n;
    }
  }

  private chunk(index: number, forWrite: boolean): Uint8Array {
    const mine = this.written.get(index);
    if (mine) return mine;
    const held = this.clean.get(index);
    if (held) {
      // The most recently used goes last; a chunk about to be written leaves the clean ones.
      this.clean.delete(index);
      if (forWrite) this.written.set(index, held);
      else this.clean.set(index, held);
      return held;
    }
    const start = index * this.chunkBytes;
    const end = Math.min(start + this.chunkBytes, this.byteLength);
    let r: RangeResponse;
    try {
      r = this.fetch(start, end);
    } catch (e) {
      throw new MediumError(`reading bytes ${start}–${end - 1}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    // A server that stopped taking ranges sends the whole file: the chunk is cut from it.
    const bytes = r.status === 200 ? r.bytes.subarray(start, end) : r.bytes;
    if (bytes.length !== end - start)
      throw new MediumError(`reading bytes ${start}–${end - 1}: the server sent ${bytes.length} bytes`);
    const chunk = this.keep(index, bytes);
    if (forWrite) {
      this.clean.delete(index);
      this.written.set(index, chunk);
    }
    return chunk;
  }

  private keep(index: number, bytes: Uint8Array): Uint8Array {
    this.bytesFetched += bytes.length;
    // Its own copy: the chunk is written in place by the guest.
    const chunk = bytes.slice();
    this.clean.set(index, chunk);
    // Past the bound the least recently used clean chunks go (never the one just read).
    while (this.clean.size > 1 && this.clean.size * this.chunkBytes > this.cleanBytesHeld) {
      const oldest = this.clean.keys().next().value as number;
      this.clean.delete(oldest);
    }
    return chunk;
  }
}

/** What blobRangeFetch reads from: a Blob's size and slices (a File the user picked). */
export interface BlobLike {
  readonly size: number;
  slice(start: number, end: number): Blob;
}

/** The synchronous reader of dedicated workers (File API, 7.1 FileReaderSync), or a test's. */
export interface SyncBlobReader {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

/**
 * Ranges of a Blob (a disk image file the user picked), read synchronously as the guest reads
 * them: the File API's FileReaderSync, which dedicated workers have, reads a slice of the file
 * without loading the rest, so a large picked image is read as lazily as one named by URL.
 */
export function blobRangeFetch(blob: BlobLike, reader: SyncBlobReader): RangeFetch {
  return (start, end) => {
    const bytes = new Uint8Array(reader.readAsArrayBuffer(blob.slice(start, Math.min(end, blob.size))));
    return { status: 206, bytes, totalBytes: blob.size };
  };
}

/**
 * Range requests by synchronous XMLHttpRequest, as the device model needs its bytes within the
 * port access. Synchronous requests (and their arraybuffer responses) are allowed in dedicated
 * workers, where the machine runs (XMLHttpRequest standard, 3.5.1 open(): the synchronous flag is
 * refused only in a window with a responseType).
 */
export function xhrRangeFetch(url: string): RangeFetch {
  return (start, end) => {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', url, false);
    xhr.responseType = 'arraybuffer';
    xhr.setRequestHeader('Range', `bytes=${start}-${end - 1}`);
    xhr.send();
    const bytes = new Uint8Array(xhr.response as ArrayBuffer);
    if (xhr.status === 200) return { status: 200, bytes };
    if (xhr.status !== 206) throw new Error(`HTTP ${xhr.status} ${xhr.statusText}`);
    // Content-Range: bytes FIRST-LAST/COMPLETE (RFC 9110, 14.4); "*" for an unknown length is no use here.
    const m = /^bytes\s+(\d+)-(\d+)\/(\d+)$/.exec(xhr.getResponseHeader('Content-Range') ?? '');
    if (!m || Number(m[1]) !== start)
      throw new Error(`a 206 answer without the Content-Range asked for (bytes ${start}-${end - 1})`);
    return { status: 206, bytes, totalBytes: Number(m[3]) };
  };
}
