/**
 * A machine whose disk is named by URL (config.hdaUrl): the worker's synchronous XMLHttpRequest
 * (here a stand-in server answering Range requests) gives the sectors chunk by chunk; a chunk the
 * server fails ends the guest's DMA command with an error, not the machine.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AtaCmd, ATA_ER, ATA_SR } from '../../src/machine/devices/ata';
import { SECTOR_BYTES } from '../../src/machine/devices/ata-disk';
import { RANGE_CHUNK_BYTES } from '../../src/machine/devices/block-medium';
import { BM_CMD, BM_STATUS } from '../../src/machine/devices/ide-bus-master';
import { F64 } from '../../src/shared/layout';
import { ideMachine, placeBusMaster, writePrdTable } from './ide-rig';

const BM_BASE = 0xc000;
/** 64 MiB: above the size read whole on opening, so the disk is read by ranges. */
const IMAGE_BYTES = 64 << 20;
/** The image's byte at `i` (computed: the stand-in server holds no 64 MiB). */
const byteAt = (i: number) => (i * 7 + Math.floor(i / SECTOR_BYTES) * 3) & 0xff;

/** A stand-in for the browser's XMLHttpRequest, serving the image by ranges; `failing` chunks answer 503. */
function server(failing: Set<number>) {
  const ranges: string[] = [];
  class FakeXhr {
    status = 0;
    statusText = '';
    response: ArrayBuffer | null = null;
    responseType = '';
    private range = '';
    private contentRange = '';
    open(method: string, _url: string, async: boolean): void {
      if (method !== 'GET' || async) throw new Error('expected a synchronous GET');
    }
    setRequestHeader(name: string, value: string): void {
      if (name === 'Range') this.range = value;
    }
    send(): void {
      ranges.push(this.range);
      const m = /^bytes=(\d+)-(\d+)$/.exec(this.range)!;
      const [start, last] = [Number(m[1]), Number(m[2])];
      if (failing.has(Math.floor(start / RANGE_CHUNK_BYTES))) {
        [this.status, this.statusText, this.response] = [503, 'Service Unavailable', new ArrayBuffer(0)];
        return;
      }
      this.status = 206;
      this.response = new Uint8Array(last - start + 1).map((_, k) => byteAt(start + k)).buffer;
      this.contentRange = `bytes ${start}-${last}/${IMAGE_BYTES}`;
    }
    getResponseHeader(name: string): string | null {
      return name === 'Content-Range' ? this.contentRange : null;
    }
  }
  vi.stubGlobal('XMLHttpRequest', FakeXhr);
  return { ranges };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a disk named by URL, read by ranges', () => {
  it('opens with the first chunk only, and READ DMA brings the chunk it needs into memory', () => {
    const { ranges } = server(new Set());
    const m = ideMachine({ hdaUrl: 'http://disks.example/big.img' });
    expect(ranges).toEqual([`bytes=0-${RANGE_CHUNK_BYTES - 1}`]);
    expect(m.hdaState()).toEqual({ written: false, bytesFetched: RANGE_CHUNK_BYTES, byteLength: IMAGE_BYTES });
    const io = m.pc!.io;
    const ram = m.memory.u8;
    placeBusMaster(io, BM_BASE);
    writePrdTable(ram, 0x8000, [[0x10000, 2 * SECTOR_BYTES]]);
    const lba = 100_000; // byte 51,200,000: chunk 781
    io.write(0x1f6, 1, 0xe0 | (lba >>> 24));
    io.write(0x1f2, 1, 2);
    io.write(0x1f3, 1, lba & 0xff);
    io.write(0x1f4, 1, (lba >> 8) & 0xff);
    io.write(0x1f5, 1, (lba >> 16) & 0xff);
    io.write(0x1f7, 1, AtaCmd.READ_DMA);
    io.write(BM_BASE + 4, 4, 0x8000);
    io.write(BM_BASE, 1, BM_CMD.START | BM_CMD.READ);
    const expected = new Uint8Array(2 * SECTOR_BYTES).map((_, k) => byteAt(lba * SECTOR_BYTES + k));
    expect(ram.subarray(0x10000, 0x10000 + 2 * SECTOR_BYTES)).toEqual(expected);
    const chunk = Math.floor((lba * SECTOR_BYTES) / RANGE_CHUNK_BYTES);
    expect(ranges.slice(1)).toEqual([`bytes=${chunk * RANGE_CHUNK_BYTES}-${(chunk + 1) * RANGE_CHUNK_BYTES - 1}`]);
    expect(io.read(0x1f7, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
  });

  it('a READ DMA whose chunk the server fails ends with ERR and UNC and its interrupt; the engine stops, memory untouched', () => {
    server(new Set([1]));
    const m = ideMachine({ hdaUrl: 'http://disks.example/big.img' });
    const io = m.pc!.io;
    const ram = m.memory.u8;
    placeBusMaster(io, BM_BASE);
    writePrdTable(ram, 0x8000, [[0x10000, SECTOR_BYTES]]);
    const lba = RANGE_CHUNK_BYTES / SECTOR_BYTES; // the first sector of chunk 1
    const irqs = m.stats.f64[F64.IRQ_COUNT + 14];
    io.write(0x1f6, 1, 0xe0);
    io.write(0x1f2, 1, 1);
    io.write(0x1f3, 1, lba & 0xff);
    io.write(0x1f4, 1, (lba >> 8) & 0xff);
    io.write(0x1f5, 1, 0);
    io.write(0x1f7, 1, AtaCmd.READ_DMA);
    io.write(BM_BASE + 4, 4, 0x8000);
    io.write(BM_BASE, 1, BM_CMD.START | BM_CMD.READ);
    expect(io.read(0x1f7, 1) & (ATA_SR.ERR | ATA_SR.DRQ | ATA_SR.BSY)).toBe(ATA_SR.ERR);
    expect(io.read(0x1f1, 1)).toBe(ATA_ER.UNC);
    expect(m.stats.f64[F64.IRQ_COUNT + 14]).toBe(irqs + 1);
    expect(io.read(BM_BASE + 2, 1) & (BM_STATUS.ACTIVE | BM_STATUS.INTERRUPT)).toBe(BM_STATUS.INTERRUPT);
    expect(ram.subarray(0x10000, 0x10000 + SECTOR_BYTES)).toEqual(new Uint8Array(SECTOR_BYTES));
  });

  it('a URL whose server fails the first chunk is refused when the machine is created, the URL and reason said', () => {
    server(new Set([0]));
    expect(() => ideMachine({ hdaUrl: 'http://disks.example/big.img' })).toThrow(
      'hdaUrl http://disks.example/big.img: HTTP 503 Service Unavailable',
    );
  });
});

/**
 * A disk image file the user picked (config.hdaFile) and the worker's FileReaderSync, stand-ins:
 * the file answers slices of its IMAGE_BYTES without holding them, the reader records each slice
 * it reads.
 */
function pickedFile() {
  const reads: [number, number][] = [];
  class Slice extends Blob {
    constructor(
      readonly start: number,
      readonly end: number,
    ) {
      super([]);
    }
  }
  class PickedFile extends Blob {
    constructor() {
      super([]);
      Object.defineProperty(this, 'size', { value: IMAGE_BYTES });
    }
    override slice(start = 0, end = IMAGE_BYTES): Blob {
      return new Slice(start, end);
    }
  }
  class FakeReaderSync {
    readAsArrayBuffer(blob: Blob): ArrayBuffer {
      const s = blob as Slice;
      reads.push([s.start, s.end]);
      return new Uint8Array(s.end - s.start).map((_, k) => byteAt(s.start + k)).buffer;
    }
  }
  vi.stubGlobal('FileReaderSync', FakeReaderSync);
  return { file: new PickedFile(), reads };
}

describe('a disk image the user picked, read by slices', () => {
  it('opens with the first chunk only, and a PIO read brings the chunk it needs', () => {
    const { file, reads } = pickedFile();
    const m = ideMachine({ hdaFile: file });
    expect(reads).toEqual([[0, RANGE_CHUNK_BYTES]]);
    expect(m.hdaState()).toEqual({ written: false, bytesFetched: RANGE_CHUNK_BYTES, byteLength: IMAGE_BYTES });
    const io = m.pc!.io;
    const lba = 100_000;
    io.write(0x1f6, 1, 0xe0 | (lba >>> 24));
    io.write(0x1f2, 1, 1);
    io.write(0x1f3, 1, lba & 0xff);
    io.write(0x1f4, 1, (lba >> 8) & 0xff);
    io.write(0x1f5, 1, (lba >> 16) & 0xff);
    io.write(0x1f7, 1, AtaCmd.READ_SECTORS);
    const got = new Uint8Array(SECTOR_BYTES);
    for (let k = 0; k < SECTOR_BYTES; k += 2) {
      const w = io.read(0x1f0, 2);
      [got[k], got[k + 1]] = [w & 0xff, w >> 8];
    }
    expect(got).toEqual(new Uint8Array(SECTOR_BYTES).map((_, k) => byteAt(lba * SECTOR_BYTES + k)));
    const chunk = Math.floor((lba * SECTOR_BYTES) / RANGE_CHUNK_BYTES);
    expect(reads.slice(1)).toEqual([[chunk * RANGE_CHUNK_BYTES, (chunk + 1) * RANGE_CHUNK_BYTES]]);
  });

  it('is refused where there is no FileReaderSync (Node, the CLI), the reason said', () => {
    const { file } = pickedFile();
    vi.unstubAllGlobals();
    expect(() => ideMachine({ hdaFile: file })).toThrow(/hdaFile: reading a picked disk image needs FileReaderSync/);
  });
});
