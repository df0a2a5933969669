import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { AtaDisk, SECTOR_BYTES } from '../../src/machine/devices/ata-disk';
import { AtaCmd, ATA_ER, ATA_SR } from '../../src/machine/devices/ata';
import {
  MediumError,
  MemoryMedium,
  RangeMedium,
  type RangeFetch,
  type RangeResponse,
} from '../../src/machine/devices/block-medium';
import { Piix3Ide } from '../../src/machine/devices/piix3-ide';
import { MAX_DISK_BYTES } from '../../src/shared/api';
import { channelPorts, readPio } from './ide-rig';

const CHUNK = 4096;

/** An image of `bytes` bytes whose byte i is a function of i not periodic at chunk edges. */
function image(bytes: number): Uint8Array {
  return new Uint8Array(bytes).map((_, i) => (i * 7 + (i >>> 12) * 13) & 0xff);
}

/**
 * A server over `img` as the medium sees it: answers 206 with Content-Range's length, or 200 with
 * the whole file when it ignores Range; it logs each request and can be made to fail some.
 */
function server(img: Uint8Array, opts: { ranges?: boolean; fail?: (start: number) => 'throw' | 'short' | null } = {}) {
  const asked: [number, number][] = [];
  const fetch: RangeFetch = (start, end): RangeResponse => {
    asked.push([start, end]);
    if (opts.ranges === false) return { status: 200, bytes: img.slice() };
    const f = opts.fail?.(start);
    if (f === 'throw') throw new Error('HTTP 503 Service Unavailable');
    const bytes = img.slice(start, f === 'short' ? start + 100 : end);
    return { status: 206, bytes, totalBytes: img.length };
  };
  return { fetch, asked };
}

/** A lazy medium over `img` (lazy from any size: lazyAbove 0) in 4 KiB chunks. */
function lazy(img: Uint8Array, opts?: Parameters<typeof server>[1]) {
  const s = server(img, opts);
  const m = RangeMedium.open(s.fetch, 0, CHUNK);
  if (!(m instanceof RangeMedium)) throw new Error('expected a lazy medium');
  return { m, asked: s.asked };
}

describe('RangeMedium: a disk image read by ranges', () => {
  it('opens with one request for the first chunk, its size from Content-Range', () => {
    const img = image(64 * CHUNK);
    const { m, asked } = lazy(img);
    expect(m.byteLength).toBe(img.length);
    expect(asked).toEqual([[0, CHUNK]]);
    expect(m.bytesFetched).toBe(CHUNK);
  });

  it('reads across chunk edges the bytes of the image, fetching only the chunks touched, each once', () => {
    const img = image(64 * CHUNK);
    const { m, asked } = lazy(img);
    const out = new Uint8Array(3 * CHUNK);
    m.read(10 * CHUNK - 512, out); // chunks 9, 10, 11, 12
    expect(out).toEqual(img.subarray(10 * CHUNK - 512, 13 * CHUNK - 512));
    expect(asked.slice(1)).toEqual([9, 10, 11, 12].map((i) => [i * CHUNK, (i + 1) * CHUNK]));
    m.read(11 * CHUNK, new Uint8Array(100)); // held: no request
    expect(asked).toHaveLength(5);
    expect(m.bytesFetched).toBe(5 * CHUNK);
    expect(m.chunksHeld).toBe(5);
  });

  it('keeps writes in its overlay: read back, the server never asked to change anything, other bytes the image’s', () => {
    const img = image(16 * CHUNK);
    const original = img.slice();
    const { m } = lazy(img);
    const data = new Uint8Array(2 * SECTOR_BYTES).fill(0xa5);
    m.write(5 * CHUNK - SECTOR_BYTES, data); // straddles chunks 4 and 5
    const back = new Uint8Array(2 * CHUNK);
    m.read(4 * CHUNK, back);
    const expected = img.slice(4 * CHUNK, 6 * CHUNK);
    expected.set(data, CHUNK - SECTOR_BYTES);
    expect(back).toEqual(expected);
    expect(img).toEqual(original);
  });

  it('gives the whole changed image, reading its unread chunks then', () => {
    const img = image(16 * CHUNK);
    const { m, asked } = lazy(img);
    m.write(7 * CHUNK + 3, new Uint8Array([1, 2, 3]));
    const whole = m.wholeImage();
    const expected = img.slice();
    expected.set([1, 2, 3], 7 * CHUNK + 3);
    expect(whole).toEqual(expected);
    expect(asked).toHaveLength(16); // every chunk once: the first, the written one, and the 14 left
  });

  it('keeps at most its bound of chunks read (least recently used out, read again when asked), and every chunk written', () => {
    const img = image(64 * CHUNK);
    const s = server(img);
    const m = RangeMedium.open(s.fetch, 0, CHUNK, 4 * CHUNK);
    if (!(m instanceof RangeMedium)) throw new Error('expected a lazy medium');
    const data = new Uint8Array(SECTOR_BYTES).fill(0x5a);
    m.write(20 * CHUNK, data); // chunk 20 becomes the guest's: never dropped
    for (const i of [1, 2, 3]) m.read(i * CHUNK, new Uint8Array(16)); // clean: 0, 1, 2, 3
    m.read(0, new Uint8Array(16)); // 0 used again: 1 is now the oldest
    m.read(9 * CHUNK, new Uint8Array(16)); // a fifth clean chunk: 1 goes
    expect(m.chunksHeld).toBe(5); // four clean and the written one
    const before = s.asked.length;
    m.read(0, new Uint8Array(16));
    m.read(3 * CHUNK, new Uint8Array(16));
    expect(s.asked.length).toBe(before); // still held
    const out = new Uint8Array(CHUNK);
    m.read(CHUNK, out); // dropped: asked for again, the same bytes
    expect(out).toEqual(img.subarray(CHUNK, 2 * CHUNK));
    expect(s.asked.at(-1)).toEqual([CHUNK, 2 * CHUNK]);
    for (let i = 30; i < 40; i++) m.read(i * CHUNK, new Uint8Array(16)); // ten more clean chunks
    expect(m.chunksHeld).toBe(5);
    const back = new Uint8Array(SECTOR_BYTES);
    m.read(20 * CHUNK, back); // the guest's write is still there, never re-read
    expect(back).toEqual(data);
    expect(s.asked.filter(([a]) => a === 20 * CHUNK)).toHaveLength(1);
  });

  it('reads the last, short chunk of an image that is not a whole number of chunks', () => {
    const img = image(5 * CHUNK + 3 * SECTOR_BYTES);
    const { m, asked } = lazy(img);
    const out = new Uint8Array(3 * SECTOR_BYTES);
    m.read(5 * CHUNK, out);
    expect(out).toEqual(img.subarray(5 * CHUNK));
    expect(asked.at(-1)).toEqual([5 * CHUNK, img.length]);
  });

  it('reads a small image whole on opening (a memory medium), and a server that ignores Range too', () => {
    const img = image(8 * CHUNK);
    const small = server(img);
    const m = RangeMedium.open(small.fetch, 8 * CHUNK, CHUNK);
    expect(m).toBeInstanceOf(MemoryMedium);
    expect(small.asked).toEqual([
      [0, CHUNK],
      [0, 8 * CHUNK],
    ]);
    expect(m.wholeImage()).toEqual(img);

    const plain = server(img, { ranges: false });
    const whole = RangeMedium.open(plain.fetch, 0, CHUNK);
    expect(whole).toBeInstanceOf(MemoryMedium);
    expect(plain.asked).toHaveLength(1);
    const out = new Uint8Array(CHUNK);
    whole.read(3 * CHUNK, out);
    expect(out).toEqual(img.subarray(3 * CHUNK, 4 * CHUNK));
  });

  it('refuses with a reason an image it cannot take: not whole sectors, or too large to read whole from a 200-only server', () => {
    expect(() => RangeMedium.open(server(image(CHUNK + 100)).fetch, 0, CHUNK)).toThrow(
      /not a whole number of 512-byte/,
    );
    // A 200 answer is the whole file: one over the in-memory limit is refused, said why.
    const huge: RangeFetch = () => ({ status: 200, bytes: { length: MAX_DISK_BYTES + 512 } as Uint8Array });
    expect(() => RangeMedium.open(huge, 0, CHUNK)).toThrow(/does not take range requests.*at most 1073741824/);
  });

  it('throws MediumError for a failed or short read, and reads the chunk again next time', () => {
    const img = image(16 * CHUNK);
    let down = true;
    const { m } = lazy(img, {
      fail: (start) => (start === 3 * CHUNK && down ? 'throw' : start === 6 * CHUNK ? 'short' : null),
    });
    expect(() => m.read(3 * CHUNK, new Uint8Array(512))).toThrow(MediumError);
    expect(() => m.read(6 * CHUNK, new Uint8Array(512))).toThrow(/server sent 100 bytes/);
    down = false;
    const out = new Uint8Array(512);
    m.read(3 * CHUNK, out);
    expect(out).toEqual(img.subarray(3 * CHUNK, 3 * CHUNK + 512));
  });
});

describe('an ATA disk on a lazily read image', () => {
  const { DATA, ERROR, COUNT, LBA_LOW, LBA_MID, LBA_HIGH, DEVICE, STATUS, COMMAND } = channelPorts(0x1f0, 0x3f6);

  function rig(fail: (start: number) => 'throw' | 'short' | null) {
    const img = image(64 * CHUNK);
    const { m } = lazy(img, { fail });
    const disk = new AtaDisk(m);
    const io = new IoBus();
    io.attach(new Piix3Ide([disk, null], () => {}));
    const read = (lba: number, count: number) => {
      io.write(DEVICE, 1, 0xe0);
      io.write(COUNT, 1, count);
      io.write(LBA_LOW, 1, lba & 0xff);
      io.write(LBA_MID, 1, (lba >>> 8) & 0xff);
      io.write(LBA_HIGH, 1, (lba >>> 16) & 0xff);
      io.write(COMMAND, 1, AtaCmd.READ_SECTORS);
    };
    return { img, io, read, disk };
  }

  it('reads sectors across chunks through READ SECTORS', () => {
    const { img, io, read } = rig(() => null);
    read(7, 2); // sectors 7 and 8: the edge of chunks 0 and 1
    expect(readPio(io, DATA, 1024)).toEqual(img.subarray(7 * SECTOR_BYTES, 9 * SECTOR_BYTES));
    expect(io.read(STATUS, 1) & (ATA_SR.ERR | ATA_SR.DRQ | ATA_SR.BSY)).toBe(0);
  });

  it('ends a read whose chunk the server fails with ERR and UNC, no data request; the disk goes on working', () => {
    const { img, io, read } = rig((start) => (start === 2 * CHUNK ? 'throw' : null));
    read(2 * (CHUNK / SECTOR_BYTES), 1);
    expect(io.read(STATUS, 1) & (ATA_SR.ERR | ATA_SR.DRQ)).toBe(ATA_SR.ERR);
    expect(io.read(ERROR, 1)).toBe(ATA_ER.UNC);
    read(1, 1);
    expect(readPio(io, DATA, 512)).toEqual(img.subarray(SECTOR_BYTES, 2 * SECTOR_BYTES));
    expect(io.read(STATUS, 1) & ATA_SR.ERR).toBe(0);
  });
});
