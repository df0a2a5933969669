/**
 * The ATAPI CD-ROM drive on the PIIX3's secondary channel (QEMU's -cdrom, 0x170/0x376, IRQ 15):
 * its signature and IDENTIFY PACKET DEVICE, the PACKET protocol in PIO (command bytes, pieces of
 * at most the byte count limit, the interrupt reason) and by bus-master DMA, and the SCSI/MMC
 * commands firmware and Linux send, driven through the ports as a driver would.
 */
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { AtaCmd, ATAPI_IR, ATA_SR } from '../../src/machine/devices/ata';
import { AtaDisk } from '../../src/machine/devices/ata-disk';
import { Asc, AtapiCdrom, ScsiCmd, SenseKey } from '../../src/machine/devices/atapi';
import { BM_CMD, BM_STATUS } from '../../src/machine/devices/ide-bus-master';
import { Piix3Ide } from '../../src/machine/devices/piix3-ide';
import { checkCdromImage } from '../../src/shared/api';
import { F64 } from '../../src/shared/layout';
import { atapiRig, disc, SECONDARY } from './atapi-rig';
import { ideMachine, placeBusMaster, writePrdTable } from './ide-rig';

const { DATA, ERROR, FEATURES, COUNT, LBA_LOW, LBA_MID, LBA_HIGH, DEVICE, STATUS, COMMAND, CONTROL } = SECONDARY;

const be32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at);
const be16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint16(at);

describe('CD images', () => {
  it('are refused when empty, not whole 2048-byte sectors or larger than 1 GiB, with the reason', () => {
    expect(checkCdromImage(0)).toMatch(/^is empty/);
    expect(checkCdromImage(2048 * 3 + 512)).toBe(
      'is 6656 bytes, not a whole number of 2048-byte sectors (as an ISO image is)',
    );
    expect(checkCdromImage((1 << 30) + 2048)).toMatch(/at most 1073741824 \(1 GiB\)/);
    expect(checkCdromImage(2048)).toBeNull();
    expect(() => new AtapiCdrom(new Uint8Array(1000))).toThrow(/the CD image is 1000 bytes/);
  });
});

describe('the ATAPI CD-ROM drive on the secondary channel', () => {
  it('shows the packet signature (14h EBh) after a reset, and status without DRDY', () => {
    const { io, out, status } = atapiRig();
    expect([io.read(COUNT, 1), io.read(LBA_LOW, 1), io.read(LBA_MID, 1), io.read(LBA_HIGH, 1)]).toEqual([
      1, 1, 0x14, 0xeb,
    ]);
    expect(status()).toBe(0);
    // After a software reset (SRST pulsed), the same.
    out(LBA_MID, 0x55);
    out(CONTROL, 0x04);
    expect(status()).toBe(ATA_SR.BSY);
    out(CONTROL, 0x00);
    expect([io.read(LBA_MID, 1), io.read(LBA_HIGH, 1)]).toEqual([0x14, 0xeb]);
  });

  it('aborts IDENTIFY DEVICE leaving its signature, and answers IDENTIFY PACKET DEVICE', () => {
    const { io, out, status, pioIn, lines } = atapiRig();
    out(DEVICE, 0xa0);
    out(COMMAND, AtaCmd.IDENTIFY_DEVICE);
    expect(status() & ATA_SR.ERR).toBe(ATA_SR.ERR);
    expect(io.read(ERROR, 1)).toBe(0x04); // ABRT
    expect([io.read(LBA_MID, 1), io.read(LBA_HIGH, 1)]).toEqual([0x14, 0xeb]);
    out(COMMAND, AtaCmd.IDENTIFY_PACKET_DEVICE);
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ);
    const b = pioIn(512);
    const w = Array.from({ length: 256 }, (_, i) => b[2 * i] | (b[2 * i + 1] << 8));
    expect(w[0] >>> 14).toBe(0b10); // ATAPI
    expect((w[0] >>> 8) & 0x1f).toBe(5); // CD-ROM
    expect(w[0] & 0x80).toBe(0x80); // removable
    expect(w[0] & 3).toBe(0); // 12-byte command packets
    const model = w
      .slice(27, 47)
      .map((x) => String.fromCharCode(x >>> 8, x & 0xff))
      .join('')
      .trimEnd();
    expect(model).toBe('HVM DVD-ROM');
    expect(w[82] & (1 << 4)).toBe(1 << 4); // the PACKET feature set
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(lines[15].filter((l) => l)).toHaveLength(2); // the abort, the IDENTIFY block
    expect(lines[14]).toEqual([]);
  });

  it('a disk command (READ SECTORS) aborts', () => {
    const { io, out, status } = atapiRig();
    out(DEVICE, 0xe0);
    out(COUNT, 1);
    out(COMMAND, AtaCmd.READ_SECTORS);
    expect(status() & (ATA_SR.ERR | ATA_SR.DRQ)).toBe(ATA_SR.ERR);
    expect(io.read(ERROR, 1)).toBe(0x04);
  });

  it('PACKET asks for the command bytes (C/D, DRQ, no interrupt); TEST UNIT READY completes with I/O and C/D', () => {
    const { packet, status, reason, lines } = atapiRig();
    const before = packet([ScsiCmd.TEST_UNIT_READY]);
    expect(before).toEqual({ status: ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ, reason: ATAPI_IR.COD });
    expect(reason()).toBe(ATAPI_IR.IO | ATAPI_IR.COD);
    expect(lines[15]).toEqual([true]); // only completion interrupted
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
  });

  it('READ(10) round-trips the sectors asked for, in pieces of at most the byte count limit', () => {
    const { read10, response, image, status, reason, lines } = atapiRig();
    read10(17, 3);
    const { data, pieces } = response();
    expect(pieces).toEqual([2048, 2048, 2048]); // SeaBIOS's limit: one sector a piece
    expect(data).toEqual(image.slice(17 * 2048, 20 * 2048));
    expect(new DataView(data.buffer).getUint32(0, true)).toBe(17);
    expect(lines[15].filter((l) => l)).toHaveLength(4); // one per piece and completion
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(reason()).toBe(ATAPI_IR.IO | ATAPI_IR.COD);
  });

  it('READ(12) and a byte count limit that does not divide the sectors (an odd one is used even)', () => {
    const { packet, response, image } = atapiRig();
    packet([ScsiCmd.READ_12, 0, 0, 0, 0, 5, 0, 0, 0, 2], 3001);
    const { data, pieces } = response();
    expect(pieces).toEqual([3000, 1096]);
    expect(data).toEqual(image.slice(5 * 2048, 7 * 2048));
  });

  it('an out-of-range LBA ends READ(10) with CHECK CONDITION: ERR, ILLEGAL REQUEST in the error register, sense 21h', () => {
    const { io, read10, status, reason, sense, lines } = atapiRig(300);
    read10(299, 2);
    expect(status() & (ATA_SR.ERR | ATA_SR.DRQ)).toBe(ATA_SR.ERR);
    expect(io.read(ERROR, 1) >>> 4).toBe(SenseKey.ILLEGAL_REQUEST);
    expect(reason()).toBe(ATAPI_IR.IO | ATAPI_IR.COD);
    expect(lines[15]).toEqual([true, false]);
    expect(sense()).toEqual({ key: SenseKey.ILLEGAL_REQUEST, asc: Asc.LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE, ascq: 0 });
    // REQUEST SENSE reported it once; the last sector itself reads.
    expect(sense()).toEqual({ key: SenseKey.NO_SENSE, asc: 0, ascq: 0 });
    read10(299, 1);
    expect(status() & ATA_SR.ERR).toBe(0);
  });

  it('an unknown operation code is ILLEGAL REQUEST, invalid command operation code (20h)', () => {
    const { packet, sense, status } = atapiRig();
    packet([0xff]);
    expect(status() & ATA_SR.ERR).toBe(ATA_SR.ERR);
    expect(sense()).toEqual({ key: SenseKey.ILLEGAL_REQUEST, asc: Asc.INVALID_COMMAND_OPERATION_CODE, ascq: 0 });
  });

  it('READ CAPACITY gives the last LBA and 2048-byte blocks', () => {
    const { packet, response } = atapiRig(300);
    packet([ScsiCmd.READ_CAPACITY]);
    const { data } = response();
    expect([be32(data, 0), be32(data, 4)]).toEqual([299, 2048]);
  });

  it('INQUIRY: a removable CD/DVD device, cut to the allocation length', () => {
    const { packet, response } = atapiRig();
    packet([ScsiCmd.INQUIRY, 0, 0, 0, 36]);
    const { data } = response();
    expect([data[0], data[1], data.length]).toEqual([0x05, 0x80, 36]);
    expect(new TextDecoder().decode(data.subarray(16, 32)).trimEnd()).toBe('HVM DVD-ROM');
    packet([ScsiCmd.INQUIRY, 0, 0, 0, 5]);
    expect(response().data.length).toBe(5);
  });

  it('READ TOC format 0: track 1 at 0 and the lead-out at the end, in LBA or MSF; format 1: one session', () => {
    const { packet, response } = atapiRig(300);
    packet([ScsiCmd.READ_TOC, 0, 0, 0, 0, 0, 0, 0, 100]);
    let d = response().data;
    expect([be16(d, 0), d[2], d[3]]).toEqual([18, 1, 1]);
    expect([d[5], d[6], be32(d, 8)]).toEqual([0x14, 1, 0]);
    expect([d[14], be32(d, 16)]).toEqual([0xaa, 300]);
    packet([ScsiCmd.READ_TOC, 0x02, 0, 0, 0, 0, 0, 0, 100]);
    d = response().data;
    // LBA 300 + 150 = 450 frames = 00:06:00.
    expect([...d.subarray(16, 20)]).toEqual([0, 0, 6, 0]);
    expect([...d.subarray(8, 12)]).toEqual([0, 0, 2, 0]);
    packet([ScsiCmd.READ_TOC, 0, 0, 0, 0, 0, 0xaa, 0, 100]);
    d = response().data;
    expect([be16(d, 0), d[6]]).toEqual([10, 0xaa]);
    packet([ScsiCmd.READ_TOC, 0, 1, 0, 0, 0, 0, 0, 12]);
    d = response().data;
    expect([be16(d, 0), d[2], d[3], d[6], be32(d, 8)]).toEqual([10, 1, 1, 1, 0]);
  });

  it('MODE SENSE(10) page 2Ah, GET CONFIGURATION (CD-ROM profile) and polled GET EVENT STATUS NOTIFICATION', () => {
    const { packet, response, sense, status } = atapiRig();
    packet([ScsiCmd.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 255]);
    let d = response().data;
    expect([be16(d, 0), d[8], d[9]]).toEqual([28, 0x2a, 20]);
    packet([ScsiCmd.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 255]);
    d = response().data;
    expect(be16(d, 6)).toBe(0x0008);
    expect([be16(d, 8), be16(d, 12)]).toEqual([0x0000, 0x0008]);
    packet([ScsiCmd.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    d = response().data;
    expect([d[2], d[5]]).toEqual([4, 0x02]); // media class: a disc present
    packet([ScsiCmd.GET_EVENT_STATUS_NOTIFICATION, 0, 0, 0, 0x10, 0, 0, 0, 8]);
    expect(status() & ATA_SR.ERR).toBe(ATA_SR.ERR); // asynchronous: not supported
    expect(sense().asc).toBe(Asc.INVALID_FIELD_IN_CDB);
    packet([ScsiCmd.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1]);
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    packet([ScsiCmd.START_STOP_UNIT, 0, 0, 0, 1]);
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
  });

  it('READ DISC INFORMATION: a finalized disc with one complete session holding track 1, cut to the allocation length', () => {
    const { packet, response, sense, status } = atapiRig();
    packet([ScsiCmd.READ_DISC_INFORMATION, 0, 0, 0, 0, 0, 0, 0, 255]);
    const d = response().data;
    expect(d.length).toBe(34);
    expect(be16(d, 0)).toBe(32);
    expect([d[2] & 0x03, (d[2] >> 2) & 0x03, d[2] & 0x10]).toEqual([0b10, 0b11, 0]); // complete, not erasable
    expect([...d.subarray(3, 7)]).toEqual([1, 1, 1, 1]); // first track, sessions, last session's tracks
    expect(d[8]).toBe(0x00); // CD-ROM
    // The cdrom layer reads the length field first, then the whole.
    packet([ScsiCmd.READ_DISC_INFORMATION, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect([...response().data]).toEqual([0, 32]);
    // The data types for recordable media (track resources, POW resources) are not given.
    packet([ScsiCmd.READ_DISC_INFORMATION, 1, 0, 0, 0, 0, 0, 0, 255]);
    expect(status() & ATA_SR.ERR).toBe(ATA_SR.ERR);
    expect(sense()).toEqual({ key: SenseKey.ILLEGAL_REQUEST, asc: Asc.INVALID_FIELD_IN_CDB, ascq: 0 });
  });

  it('READ TRACK INFORMATION: track 1 by its number, an LBA in it or its session, from 0 over the whole disc', () => {
    const { packet, response, sense, status } = atapiRig(300);
    const trackInfo = (type: number, n: number, allocation = 255) => {
      packet([
        ScsiCmd.READ_TRACK_INFORMATION,
        type,
        n >>> 24,
        (n >>> 16) & 0xff,
        (n >>> 8) & 0xff,
        n & 0xff,
        0,
        0,
        allocation,
      ]);
      return response().data;
    };
    for (const [type, n] of [
      [1, 1],
      [0, 299],
      [2, 1],
    ]) {
      const d = trackInfo(type, n);
      expect(d.length).toBe(36);
      expect([be16(d, 0), d[2], d[3]]).toEqual([34, 1, 1]); // track 1 of session 1
      expect([d[5] & 0x0f, d[6] & 0x0f, d[6] & 0x40, d[7] & 0x03]).toEqual([4, 1, 0, 0]); // data, mode 1, not blank, no NWA/LRA
      expect([be32(d, 8), be32(d, 24)]).toEqual([0, 300]); // start, size
    }
    expect(trackInfo(1, 1, 8).length).toBe(8); // Linux reads the first 8 bytes, then the length they give
    packet([ScsiCmd.READ_TRACK_INFORMATION, 1, 0, 0, 0, 2, 0, 0, 36]); // no track 2
    expect(status() & ATA_SR.ERR).toBe(ATA_SR.ERR);
    expect(sense()).toEqual({ key: SenseKey.ILLEGAL_REQUEST, asc: Asc.INVALID_FIELD_IN_CDB, ascq: 0 });
    packet([ScsiCmd.READ_TRACK_INFORMATION, 0, 0, 0, 0x01, 0x2c, 0, 0, 36]); // LBA 300: past the disc
    expect(sense()).toEqual({ key: SenseKey.ILLEGAL_REQUEST, asc: Asc.LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE, ascq: 0 });
  });

  it('a disk and a CD in one machine: hda on the primary channel, the CD on IRQ 15', () => {
    const io = new IoBus();
    const ide = new Piix3Ide([new AtaDisk(new Uint8Array(512 * 64)), null, new AtapiCdrom(disc(4))], () => {});
    io.attach(ide);
    expect([io.read(0x1f4, 1), io.read(0x1f5, 1)]).toEqual([0, 0]);
    expect([io.read(LBA_MID, 1), io.read(LBA_HIGH, 1)]).toEqual([0x14, 0xeb]);
    expect(ide.hda).not.toBeNull();
  });
});

describe('the CD-ROM drive with the bus master', () => {
  it('READ(10) with the features DMA bit moves the sectors through the PRD table', () => {
    const image = disc(40);
    const m = ideMachine({ cdrom: image.slice().buffer });
    const io = m.pc!.io;
    const ram = m.memory.u8;
    const BM = 0xc000;
    placeBusMaster(io, BM);
    // Two sectors into 0x100000 by a table at 0x90000, then the packet with DMA.
    writePrdTable(ram, 0x90000, [[0x100000, 4096]]);
    io.write(BM + 8 + 4, 4, 0x90000); // the secondary channel's registers
    io.write(BM + 8, 1, BM_CMD.START | BM_CMD.READ);
    const irq15 = m.stats.f64[F64.IRQ_COUNT + 15];
    io.write(DEVICE, 1, 0xa0);
    io.write(FEATURES, 1, 1);
    io.write(COMMAND, 1, AtaCmd.PACKET);
    const cdb = [ScsiCmd.READ_10, 0, 0, 0, 0, 9, 0, 0, 2, 0, 0, 0];
    for (let i = 0; i < 12; i += 2) io.write(DATA, 2, cdb[i] | (cdb[i + 1] << 8));
    expect(ram.slice(0x100000, 0x100000 + 4096)).toEqual(image.slice(9 * 2048, 11 * 2048));
    expect(io.read(BM + 8 + 2, 1) & (BM_STATUS.ACTIVE | BM_STATUS.INTERRUPT)).toBe(BM_STATUS.INTERRUPT);
    expect(m.stats.f64[F64.IRQ_COUNT + 15]).toBe(irq15 + 1);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(io.read(COUNT, 1) & 7).toBe(ATAPI_IR.IO | ATAPI_IR.COD);
    m.destroy();
  });
});
