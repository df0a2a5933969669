/**
 * An ATA hard disk's medium and identity: the image (in memory, or read by ranges from a URL;
 * writes change the machine's copy, never the file it came from), its default CHS geometry and the
 * IDENTIFY DEVICE data (ATA/ATAPI-7 volume 1, 7.16, table 16). The command protocol lives with the
 * channel (ata.ts).
 */

import { checkDiskImage, DISK_SECTOR_BYTES } from '../../shared/api';
import { MemoryMedium, type BlockMedium } from './block-medium';

export const SECTOR_BYTES = DISK_SECTOR_BYTES;
/** READ/WRITE MULTIPLE's largest block, in sectors (IDENTIFY word 47). */
export const MAX_MULTIPLE = 16;
/** LBA28's largest addressable sector count (28 bits). */
const LBA28_SECTORS = 0x0fffffff;

export interface ChsGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

/**
 * The geometry a disk reports by default: 16 heads and 63 sectors per track (what BIOSes and QEMU
 * assume for an unpartitioned size), cylinders up to 16,383 (ATA's CHS limit, about 8.4 GB).
 * Images smaller than one such cylinder get fewer heads and sectors, so CHS never addresses past
 * the end of the medium.
 */
export function defaultGeometry(totalSectors: number): ChsGeometry {
  if (totalSectors >= 16 * 63)
    return { cylinders: Math.min(16383, Math.floor(totalSectors / (16 * 63))), heads: 16, sectors: 63 };
  const sectors = Math.min(63, totalSectors);
  const heads = Math.max(1, Math.min(16, Math.floor(totalSectors / sectors)));
  return { cylinders: Math.max(1, Math.floor(totalSectors / (heads * sectors))), heads, sectors };
}

/** A disk: its medium (fixed-size sectors, read and written in place) and identity. */
export class AtaDisk {
  readonly totalSectors: number;
  readonly geometry: ChsGeometry;
  /** Sectors written since the image was loaded (the page offers the changed image). */
  dirty = false;
  /** Where the sectors are: the image in memory, or read by ranges from a URL (block-medium.ts). */
  readonly medium: BlockMedium;

  constructor(
    /** The medium: a copy of the image the machine was given (held as is), or a lazy one. */
    medium: Uint8Array | BlockMedium,
    /** IDENTIFY's model number (40 ASCII characters at most). */
    readonly model = 'HVM HARDDISK',
    readonly serial = 'HVM00001',
  ) {
    this.medium = medium instanceof Uint8Array ? new MemoryMedium(medium) : medium;
    const why = checkDiskImage(this.medium.byteLength, !(this.medium instanceof MemoryMedium));
    if (why) throw new Error(`the disk image ${why}`);
    this.totalSectors = this.medium.byteLength / SECTOR_BYTES;
    this.geometry = defaultGeometry(this.totalSectors);
  }

  /** The sectors as the guest has left them, a copy (a lazy medium reads its unread chunks). */
  get image(): Uint8Array {
    return this.medium.wholeImage();
  }

  /** Read sectors; throws MediumError when the medium cannot give them (the command then fails). */
  read(lba: number, count: number, into: Uint8Array): void {
    this.medium.read(lba * SECTOR_BYTES, into.subarray(0, count * SECTOR_BYTES));
  }

  write(lba: number, from: Uint8Array): void {
    this.medium.write(lba * SECTOR_BYTES, from);
    this.dirty = true;
  }

  /**
   * The 256 IDENTIFY DEVICE words for the current logical geometry and multiple count. Strings
   * are ASCII, two characters per word with the first in the high byte (ATA-7 volume 1, 3.2.9).
   */
  identify(current: ChsGeometry, multiple: number, dmaMode: number | null = null): Uint16Array {
    const w = new Uint16Array(256);
    const text = (first: number, words: number, s: string): void => {
      const padded = s.padEnd(words * 2, ' ');
      for (let i = 0; i < words; i++) w[first + i] = (padded.charCodeAt(2 * i) << 8) | padded.charCodeAt(2 * i + 1);
    };
    const g = this.geometry;
    w[0] = 0x0040; // a fixed (non-removable) ATA device
    w[1] = g.cylinders;
    w[3] = g.heads;
    w[6] = g.sectors;
    text(10, 10, this.serial);
    text(23, 4, '1.0');
    text(27, 20, this.model);
    w[47] = 0x8000 | MAX_MULTIPLE;
    // IORDY supported, LBA supported; DMA supported (bit 8) when a bus master is attached (dmaMode not null).
    w[49] = (1 << 11) | (1 << 9) | (dmaMode !== null ? 1 << 8 : 0);
    w[51] = 0x0200; // PIO data transfer cycle timing mode 2 (obsolete word, still read)
    w[53] = dmaMode !== null ? 0x0007 : 0x0003; // words 54–58 and 64–70 are valid (and 88, with DMA)
    const chsCapacity = Math.min(current.cylinders * current.heads * current.sectors, this.totalSectors);
    w[54] = current.cylinders;
    w[55] = current.heads;
    w[56] = current.sectors;
    w[57] = chsCapacity & 0xffff;
    w[58] = chsCapacity >>> 16;
    w[59] = multiple ? 0x0100 | multiple : 0; // bit 8: the multiple setting is valid
    const lba28 = Math.min(this.totalSectors, LBA28_SECTORS);
    w[60] = lba28 & 0xffff;
    w[61] = lba28 >>> 16;
    if (dmaMode !== null) {
      // Multiword DMA 0–2 and Ultra DMA 0–5 supported (low bytes); the mode chosen (high bytes).
      w[63] = 0x0007 | ((dmaMode & 0xf8) === 0x20 ? 0x100 << (dmaMode & 7) : 0);
      w[88] = 0x003f | ((dmaMode & 0xf8) === 0x40 ? 0x100 << (dmaMode & 7) : 0);
    }
    w[64] = 0x0003; // PIO modes 3 and 4
    w[65] = w[66] = w[67] = w[68] = 120; // cycle times, ns
    w[80] = 0x00f0; // ATA/ATAPI-4 to -7
    w[81] = 0x0000;
    w[82] = (1 << 14) | (1 << 5); // NOP, write cache
    w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10); // FLUSH CACHE EXT, FLUSH CACHE, 48-bit addressing
    w[84] = 1 << 14;
    w[85] = (1 << 14) | (1 << 5);
    w[86] = (1 << 13) | (1 << 12) | (1 << 10);
    w[87] = 1 << 14;
    // Hardware reset result, device 0: determined by jumper, diagnostics passed, no device 1,
    // 80-conductor cable (bit 13).
    w[93] = (1 << 14) | (1 << 13) | (1 << 3) | (1 << 1) | 1;
    const lba48 = this.totalSectors;
    w[100] = lba48 & 0xffff;
    w[101] = Math.floor(lba48 / 0x10000) & 0xffff;
    w[102] = Math.floor(lba48 / 0x100000000) & 0xffff;
    w[103] = 0;
    return w;
  }
}
