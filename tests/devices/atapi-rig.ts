/**
 * The ATAPI tests' drive: a CD-ROM alone on the PIIX3's secondary channel (0x170/0x376, IRQ 15),
 * driven through the ports as a driver would: PACKET with its command bytes, the response read
 * piece by piece, REQUEST SENSE, READ(10).
 */
import { expect } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { AtaCmd, ATAPI_IR, ATA_SR } from '../../src/machine/devices/ata';
import { AtapiCdrom, CDROM_SECTOR_BYTES, ScsiCmd } from '../../src/machine/devices/atapi';
import { Piix3Ide } from '../../src/machine/devices/piix3-ide';
import { channelPorts, readPio } from './ide-rig';

/** The secondary channel's registers. */
export const SECONDARY = channelPorts(0x170, 0x376);
const { DATA, FEATURES, COUNT, LBA_MID, LBA_HIGH, DEVICE, STATUS, COMMAND } = SECONDARY;

/** A disc whose sector n starts with n (32 bits, little-endian) and goes on with bytes (i * 3 + n) & 0xff. */
export function disc(sectors: number): Uint8Array {
  const b = new Uint8Array(sectors * CDROM_SECTOR_BYTES);
  const dv = new DataView(b.buffer);
  for (let n = 0; n < sectors; n++) {
    for (let i = 4; i < CDROM_SECTOR_BYTES; i++) b[n * CDROM_SECTOR_BYTES + i] = (i * 3 + n) & 0xff;
    dv.setUint32(n * CDROM_SECTOR_BYTES, n, true);
  }
  return b;
}

/** The drive with a disc of `sectors` sectors (disc()), or empty (null). */
export function atapiRig(sectors: number | null = 300) {
  const io = new IoBus();
  const lines: Record<number, boolean[]> = { 14: [], 15: [] };
  const image = disc(sectors ?? 0);
  const drive = new AtapiCdrom(sectors === null ? null : image);
  const ide = new Piix3Ide([null, null, drive], (irq, level) => lines[irq].push(level));
  io.attach(ide);
  const out = (port: number, v: number) => io.write(port, 1, v);
  const pioIn = (bytes: number) => readPio(io, DATA, bytes);
  /** PACKET with a byte count limit, then the 12 command bytes as six 16-bit writes. */
  const packet = (cdb: number[], limit = 0xfffe, dma = false) => {
    out(DEVICE, 0xa0);
    out(FEATURES, dma ? 1 : 0);
    out(LBA_MID, limit & 0xff);
    out(LBA_HIGH, limit >>> 8);
    out(COMMAND, AtaCmd.PACKET);
    const before = { status: io.read(0x376, 1), reason: io.read(COUNT, 1) & 7 };
    const b = [...cdb, ...new Array(12).fill(0)].slice(0, 12);
    for (let i = 0; i < 12; i += 2) io.write(DATA, 2, b[i] | (b[i + 1] << 8));
    return before;
  };
  /** Read the whole response, piece by piece as the drive offers them: the bytes and each piece's size. */
  const response = () => {
    const pieces: number[] = [];
    const parts: Uint8Array[] = [];
    // Each piece interrupts; reading the status register acknowledges it, as a driver does.
    while (io.read(STATUS, 1) & ATA_SR.DRQ) {
      expect(io.read(COUNT, 1) & 7).toBe(ATAPI_IR.IO); // data to the host
      const bytes = io.read(LBA_MID, 1) | (io.read(LBA_HIGH, 1) << 8);
      pieces.push(bytes);
      parts.push(pioIn(bytes + (bytes & 1)).subarray(0, bytes));
    }
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (data.set(p, at), at + p.length), 0);
    return { data, pieces };
  };
  const status = () => io.read(STATUS, 1);
  const reason = () => io.read(COUNT, 1) & 7;
  const sense = () => {
    packet([ScsiCmd.REQUEST_SENSE, 0, 0, 0, 18]);
    const d = response().data;
    return { key: d[2] & 0xf, asc: d[12], ascq: d[13] };
  };
  /** READ(10) with SeaBIOS's byte count limit: one sector. */
  const read10 = (lba: number, count: number) =>
    packet(
      [
        ScsiCmd.READ_10,
        0,
        lba >>> 24,
        (lba >>> 16) & 0xff,
        (lba >>> 8) & 0xff,
        lba & 0xff,
        0,
        count >> 8,
        count & 0xff,
      ],
      CDROM_SECTOR_BYTES,
    );
  return { io, ide, drive, image, lines, out, pioIn, packet, response, status, reason, sense, read10 };
}
