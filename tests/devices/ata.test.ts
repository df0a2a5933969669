import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { AtaDisk, defaultGeometry, SECTOR_BYTES } from '../../src/machine/devices/ata-disk';
import { checkDiskImage } from '../../src/shared/api';
import { AtaCmd, ATA_DC, ATA_ER, ATA_SR } from '../../src/machine/devices/ata';
import { Piix3Ide, PIIX3_IDE_DEVFN } from '../../src/machine/devices/piix3-ide';
import { Pci } from '../../src/machine/devices/pci';
import { STATS_BYTES, statsViews } from '../../src/shared/layout';
import { channelPorts, ideMachine, readPio } from './ide-rig';

/** Ports of the primary channel. */
const { DATA, ERROR, FEATURES, COUNT, LBA_LOW, LBA_MID, LBA_HIGH, DEVICE, STATUS, COMMAND, CONTROL } = channelPorts(
  0x1f0,
  0x3f6,
);

/** An image whose sector n starts with n (32 bits, little-endian) and goes on with bytes (i * 7) & 0xff. */
function image(sectors: number): Uint8Array {
  const b = new Uint8Array(sectors * SECTOR_BYTES);
  const fill = new Uint8Array(SECTOR_BYTES).map((_, i) => (i * 7) & 0xff);
  const dv = new DataView(b.buffer);
  for (let n = 0; n < sectors; n++) {
    b.set(fill, n * SECTOR_BYTES);
    dv.setUint32(n * SECTOR_BYTES, n, true);
  }
  return b;
}
const sectorOf = (img: Uint8Array, n: number) => img.slice(n * SECTOR_BYTES, (n + 1) * SECTOR_BYTES);

function rig(sectors = 4096, slave = false) {
  const io = new IoBus();
  const lines: Record<number, boolean[]> = { 14: [], 15: [] };
  const disk = new AtaDisk(image(sectors));
  const ide = new Piix3Ide([disk, slave ? new AtaDisk(image(64)) : null], (irq, level) => lines[irq].push(level));
  io.attach(ide);
  const out = (port: number, v: number) => io.write(port, 1, v);
  const lba28 = (lba: number, count: number, cmd: number) => {
    out(DEVICE, 0xe0 | ((lba >>> 24) & 0x0f));
    out(COUNT, count & 0xff);
    out(LBA_LOW, lba & 0xff);
    out(LBA_MID, (lba >>> 8) & 0xff);
    out(LBA_HIGH, (lba >>> 16) & 0xff);
    out(COMMAND, cmd);
  };
  const pioIn = (bytes: number) => readPio(io, DATA, bytes);
  const pioOut = (data: Uint8Array) => {
    for (let i = 0; i < data.length; i += 2) io.write(DATA, 2, data[i] | (data[i + 1] << 8));
  };
  const identify = () => {
    out(DEVICE, 0xa0);
    out(COMMAND, AtaCmd.IDENTIFY_DEVICE);
    const b = pioIn(512);
    return Array.from({ length: 256 }, (_, i) => b[2 * i] | (b[2 * i + 1] << 8));
  };
  return { io, ide, disk, lines, out, lba28, pioIn, pioOut, identify, status: () => io.read(STATUS, 1) };
}

/** IDENTIFY's ASCII strings: two characters a word, the first in the high byte. */
const ataString = (w: number[], first: number, words: number) =>
  w
    .slice(first, first + words)
    .map((x) => String.fromCharCode(x >>> 8, x & 0xff))
    .join('')
    .trimEnd();

describe('ATA disk images', () => {
  it('are refused when empty, not whole sectors or larger than 1 GiB, with the reason', () => {
    expect(checkDiskImage(0)).toMatch(/^is empty/);
    expect(checkDiskImage(1000)).toMatch(/^is 1000 bytes, not a whole number of 512-byte sectors/);
    expect(checkDiskImage((1 << 30) + 512)).toMatch(/at most 1073741824 \(1 GiB\)/);
    expect(checkDiskImage(512)).toBeNull();
  });

  it('get 16 heads and 63 sectors per track, fewer when smaller than one such cylinder', () => {
    expect(defaultGeometry(20160)).toEqual({ cylinders: 20, heads: 16, sectors: 63 });
    expect(defaultGeometry(128)).toEqual({ cylinders: 1, heads: 2, sectors: 63 });
    expect(defaultGeometry(1 << 30)).toEqual({ cylinders: 16383, heads: 16, sectors: 63 });
  });
});

describe('the PIIX3 IDE controller (00:01.1) with an ATA disk on the primary channel', () => {
  it('is PCI function 8086:7010, class 0x0101 in legacy mode, and keeps the IDE timing registers', () => {
    const { ide } = rig();
    const io = new IoBus();
    const pci = new Pci(8 << 20, statsViews(new SharedArrayBuffer(STATS_BYTES)), () => {}, {
      functions: [[PIIX3_IDE_DEVFN, ide.pci]],
    });
    io.attach(pci);
    const cfg = (reg: number) => (0x80000000 | (PIIX3_IDE_DEVFN << 8) | reg) >>> 0;
    io.write(0xcf8, 4, cfg(0));
    expect(io.read(0xcfc, 4) >>> 0).toBe(0x70108086);
    io.write(0xcf8, 4, cfg(8));
    expect(io.read(0xcfc, 4) >>> 8).toBe(0x010100);
    io.write(0xcf8, 4, cfg(0x40));
    io.write(0xcfc, 2, 0x8000); // SeaBIOS: IDETIM, decode enable
    expect(io.read(0xcfc, 4)).toBe(0x8000);
    io.write(0xcf8, 4, (0x80000000 | (2 << 8)) >>> 0); // 00:00.2: no such function
    expect(io.read(0xcfc, 4) >>> 0).toBe(0xffffffff);
  });

  it('IDENTIFY DEVICE gives the geometry, LBA28 and LBA48 sector counts, model and capabilities', () => {
    const sectors = 20160 + 5;
    const { identify, status, lines } = rig(sectors);
    const w = identify();
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(lines[14]).toEqual([true, false]); // one block ready: INTRQ; the status read cleared it
    expect([w[1], w[3], w[6]]).toEqual([20, 16, 63]);
    expect([w[54], w[55], w[56], w[57] | (w[58] << 16)]).toEqual([20, 16, 63, 20160]);
    expect(w[60] | (w[61] << 16)).toBe(sectors);
    expect(w[100] + w[101] * 0x10000).toBe(sectors);
    expect(w[83] & (1 << 10)).not.toBe(0); // 48-bit addressing
    expect(w[49] & (1 << 9)).not.toBe(0); // LBA
    expect(w[47] & 0xff).toBe(16); // READ/WRITE MULTIPLE up to 16 sectors
    expect(ataString(w, 27, 20)).toBe('HVM HARDDISK');
    expect(ataString(w, 10, 10)).toBe('HVM00001');
  });

  it('READ SECTORS (LBA28) hands each sector over the data port, one interrupt per block', () => {
    const { lba28, pioIn, disk, lines, status, io } = rig();
    lba28(100, 3, AtaCmd.READ_SECTORS);
    for (let n = 100; n < 103; n++) {
      expect(io.read(0x3f6, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ);
      expect(status() & ATA_SR.DRQ).toBe(ATA_SR.DRQ);
      expect(pioIn(512)).toEqual(sectorOf(disk.image, n));
    }
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(lines[14].filter((l) => l).length).toBe(3);
    // The registers hold the last sector read and nothing left.
    expect([io.read(COUNT, 1), io.read(LBA_LOW, 1), io.read(DEVICE, 1) & 0x0f]).toEqual([0, 102, 0]);
  });

  it('WRITE SECTORS then READ SECTORS round-trips, and the writes change only the in-memory copy', () => {
    const r = rig();
    const original = r.disk.image.slice();
    const data = new Uint8Array(1024).map((_, i) => (i * 7) ^ 0x5a);
    r.lba28(7, 2, AtaCmd.WRITE_SECTORS);
    expect(r.status()).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ);
    expect(r.lines[14]).toEqual([]); // no interrupt before the first block
    r.pioOut(data.subarray(0, 512));
    expect(r.lines[14]).toEqual([true]);
    expect(r.status()).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ);
    r.pioOut(data.subarray(512));
    expect(r.status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(r.lines[14]).toEqual([true, false, true, false]);
    r.lba28(6, 4, AtaCmd.READ_SECTORS);
    const back = new Uint8Array(2048);
    for (let k = 0; k < 4; k++) back.set(r.pioIn(512), k * 512);
    expect(back.subarray(0, 512)).toEqual(sectorOf(original, 6));
    expect(back.subarray(512, 1536)).toEqual(data);
    expect(back.subarray(1536)).toEqual(sectorOf(original, 9));
    expect(r.disk.dirty).toBe(true);
  });

  it('32-bit data port accesses move four bytes at a time', () => {
    const { lba28, io, disk } = rig();
    lba28(1, 1, AtaCmd.READ_SECTORS);
    const first = io.read(DATA, 4) >>> 0;
    const s = sectorOf(disk.image, 1);
    expect(first).toBe((s[0] | (s[1] << 8) | (s[2] << 16) | (s[3] << 24)) >>> 0);
  });

  it('READ SECTORS EXT takes a 48-bit address and count through the HOB registers, read back with HOB set', () => {
    const { out, pioIn, disk, io, status } = rig(0x20000 + 16);
    // LBA 0x01_0000_0000_0000 would be past the end; this is 0x00_0000_01_0002 (sector 65538), 2 sectors.
    out(DEVICE, 0x40);
    out(COUNT, 0); // count, high byte
    out(COUNT, 2); // count, low byte
    out(LBA_LOW, 0x01); // LBA bits 31:24
    out(LBA_LOW, 0x02); // bits 7:0
    out(LBA_MID, 0);
    out(LBA_MID, 0);
    out(LBA_HIGH, 0);
    out(LBA_HIGH, 0);
    out(COMMAND, AtaCmd.READ_SECTORS_EXT);
    // 0x01 << 24 | 0x02 = 16777218: beyond this small disk's end, so IDNF...
    expect(status() & ATA_SR.ERR).toBe(ATA_SR.ERR);
    expect(io.read(ERROR, 1)).toBe(ATA_ER.IDNF);
    // ...while 0x00_0001_0002 (bits 23:16 = 1) is sector 65538 and reads.
    out(COUNT, 0);
    out(COUNT, 2);
    out(LBA_LOW, 0);
    out(LBA_LOW, 0x02);
    out(LBA_MID, 0);
    out(LBA_MID, 0);
    out(LBA_HIGH, 0);
    out(LBA_HIGH, 0x01);
    out(COMMAND, AtaCmd.READ_SECTORS_EXT);
    expect(pioIn(512)).toEqual(sectorOf(disk.image, 65538));
    expect(pioIn(512)).toEqual(sectorOf(disk.image, 65539));
    io.write(CONTROL, 1, ATA_DC.HOB);
    expect([io.read(LBA_LOW, 1), io.read(LBA_HIGH, 1)]).toEqual([0, 0]);
    io.write(CONTROL, 1, 0);
    expect([io.read(LBA_LOW, 1), io.read(LBA_HIGH, 1)]).toEqual([0x03, 0x01]);
  });

  it('a sector count of 0 means 256 sectors (LBA28)', () => {
    const { lba28, pioIn, disk, status } = rig();
    lba28(10, 0, AtaCmd.READ_SECTORS);
    for (let k = 0; k < 255; k++) pioIn(512);
    expect(status() & ATA_SR.DRQ).toBe(ATA_SR.DRQ);
    expect(pioIn(512)).toEqual(sectorOf(disk.image, 265));
    expect(status()).toBe(ATA_SR.DRDY | ATA_SR.DSC);
  });

  it('CHS addresses use the geometry; INITIALIZE DEVICE PARAMETERS changes it', () => {
    const { out, pioIn, disk, io } = rig();
    const chs = (c: number, h: number, s: number) => {
      out(DEVICE, 0xa0 | h);
      out(COUNT, 1);
      out(LBA_LOW, s);
      out(LBA_MID, c & 0xff);
      out(LBA_HIGH, c >>> 8);
      out(COMMAND, AtaCmd.READ_SECTORS);
    };
    chs(2, 3, 5); // (2 × 16 + 3) × 63 + 4
    expect(pioIn(512)).toEqual(sectorOf(disk.image, 2209));
    out(DEVICE, 0xa0 | 3); // 4 heads
    out(COUNT, 17); // 17 sectors per track
    out(COMMAND, AtaCmd.INITIALIZE_DEVICE_PARAMETERS);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    chs(1, 2, 3); // (1 × 4 + 2) × 17 + 2
    expect(pioIn(512)).toEqual(sectorOf(disk.image, 104));
    chs(0, 4, 1); // head 4 of 4: no such address
    expect(io.read(STATUS, 1) & ATA_SR.ERR).toBe(ATA_SR.ERR);
    expect(io.read(ERROR, 1)).toBe(ATA_ER.IDNF);
  });

  it('an out-of-range LBA ends the command with ERR and IDNF, and an interrupt', () => {
    const { lba28, lines, io } = rig(4096);
    lba28(4095, 2, AtaCmd.READ_SECTORS); // the second sector is past the end
    expect(lines[14]).toEqual([true]);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.ERR);
    expect(io.read(ERROR, 1)).toBe(ATA_ER.IDNF);
    expect(lines[14]).toEqual([true, false]);
    lba28(4096, 1, AtaCmd.WRITE_SECTORS);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.ERR);
    lba28(4095, 1, AtaCmd.READ_VERIFY_SECTORS);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
  });

  it('unknown commands, IDENTIFY PACKET DEVICE and DMA commands abort (ABRT)', () => {
    const { out, io } = rig();
    for (const cmd of [0x00, AtaCmd.IDENTIFY_PACKET_DEVICE, AtaCmd.READ_DMA, 0xff]) {
      out(COMMAND, cmd);
      expect(io.read(STATUS, 1), `command 0x${cmd.toString(16)}`).toBe(ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.ERR);
      expect(io.read(ERROR, 1)).toBe(ATA_ER.ABRT);
    }
  });

  it('READ/WRITE MULTIPLE abort until SET MULTIPLE MODE, then move a block per interrupt', () => {
    const { out, lba28, pioIn, pioOut, disk, io, lines, identify } = rig();
    lba28(0, 8, AtaCmd.READ_MULTIPLE);
    expect(io.read(ERROR, 1)).toBe(ATA_ER.ABRT);
    out(COUNT, 3); // not a power of two
    out(COMMAND, AtaCmd.SET_MULTIPLE_MODE);
    expect(io.read(STATUS, 1) & ATA_SR.ERR).toBe(ATA_SR.ERR);
    out(COUNT, 4);
    out(COMMAND, AtaCmd.SET_MULTIPLE_MODE);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(identify()[59]).toBe(0x0104);
    lines[14].length = 0;
    lba28(20, 6, AtaCmd.READ_MULTIPLE); // a block of 4, then the last 2
    expect(io.read(STATUS, 1) & ATA_SR.DRQ).toBe(ATA_SR.DRQ); // as an interrupt handler would
    const first = pioIn(4 * 512);
    expect(first.subarray(3 * 512)).toEqual(sectorOf(disk.image, 23));
    expect(io.read(STATUS, 1) & ATA_SR.DRQ).toBe(ATA_SR.DRQ); // the next block's interrupt
    expect(pioIn(2 * 512).subarray(512)).toEqual(sectorOf(disk.image, 25));
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(lines[14].filter((l) => l).length).toBe(2);
    const data = new Uint8Array(8 * 512).fill(0xc3);
    lba28(40, 8, AtaCmd.WRITE_MULTIPLE);
    pioOut(data);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect(disk.image.subarray(40 * 512, 48 * 512).every((b) => b === 0xc3)).toBe(true);
  });

  it('FLUSH CACHE, SET FEATURES (PIO modes; not DMA) and READ NATIVE MAX ADDRESS complete', () => {
    const { out, io } = rig(4096);
    out(COMMAND, AtaCmd.FLUSH_CACHE);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    out(FEATURES, 0x03);
    out(COUNT, 0x0c); // PIO mode 4
    out(COMMAND, AtaCmd.SET_FEATURES);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    out(FEATURES, 0x03);
    out(COUNT, 0x42); // UDMA mode 2
    out(COMMAND, AtaCmd.SET_FEATURES);
    expect(io.read(ERROR, 1)).toBe(ATA_ER.ABRT);
    out(DEVICE, 0xe0);
    out(COMMAND, AtaCmd.READ_NATIVE_MAX_ADDRESS);
    expect([io.read(LBA_LOW, 1), io.read(LBA_MID, 1)]).toEqual([0xff, 0x0f]);
  });

  it('nIEN keeps IRQ 14 low; clearing it with a request pending raises it; a status read lowers it', () => {
    const { lba28, io, lines } = rig();
    io.write(CONTROL, 1, ATA_DC.NIEN);
    lba28(0, 1, AtaCmd.READ_VERIFY_SECTORS);
    expect(lines[14]).toEqual([]);
    io.write(CONTROL, 1, 0);
    expect(lines[14]).toEqual([true]);
    io.read(0x3f6, 1); // the alternate status does not acknowledge
    expect(lines[14]).toEqual([true]);
    io.read(STATUS, 1);
    expect(lines[14]).toEqual([true, false]);
  });

  it('SRST holds BSY, drops a transfer, and leaves the ATA signature when released', () => {
    const { lba28, io, out } = rig();
    lba28(5, 2, AtaCmd.READ_SECTORS);
    io.write(CONTROL, 1, ATA_DC.SRST | ATA_DC.NIEN);
    expect(io.read(0x3f6, 1)).toBe(ATA_SR.BSY);
    out(COUNT, 0x55); // ignored while busy
    io.write(CONTROL, 1, ATA_DC.NIEN);
    expect(io.read(STATUS, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    expect([io.read(COUNT, 1), io.read(LBA_LOW, 1), io.read(LBA_MID, 1), io.read(LBA_HIGH, 1)]).toEqual([1, 1, 0, 0]);
    expect(io.read(ERROR, 1)).toBe(0x01);
    expect(io.read(DATA, 2)).toBe(0); // nothing to transfer any more
  });

  it('an absent device 1 reads as zeros and ignores commands; device 0 still answers when selected again', () => {
    const { out, io } = rig();
    out(DEVICE, 0xb0);
    out(COUNT, 0x55);
    expect(io.read(COUNT, 1)).toBe(0);
    expect(io.read(STATUS, 1)).toBe(0);
    out(COMMAND, AtaCmd.IDENTIFY_DEVICE);
    expect(io.read(STATUS, 1)).toBe(0);
    out(DEVICE, 0xa0);
    expect(io.read(COUNT, 1)).toBe(0x55); // the write reached device 0 too
    expect(io.read(STATUS, 1) & ATA_SR.DRQ).toBe(0);
  });

  it('device 1, when present, answers for itself; the empty secondary channel reads 0 and raises nothing', () => {
    const { out, io, identify, lines } = rig(4096, true);
    out(DEVICE, 0xb0);
    out(COMMAND, AtaCmd.IDENTIFY_DEVICE);
    const b = new Uint8Array(512);
    for (let i = 0; i < 512; i += 2) {
      const w = io.read(DATA, 2);
      [b[i], b[i + 1]] = [w & 0xff, w >>> 8];
    }
    expect(b[120] | (b[121] << 8)).toBe(64); // word 60: the 64-sector disk
    expect(identify()[60]).toBe(4096);
    expect([io.read(0x177, 1), io.read(0x376, 1), io.read(0x176, 1)]).toEqual([0, 0, 0]);
    io.write(0x177, 1, AtaCmd.IDENTIFY_DEVICE);
    expect(lines[15]).toEqual([]);
  });
});

describe("the machine's hda (MachineApi.hdaImage)", () => {
  const create = (hda?: ArrayBuffer) => ideMachine(hda ? { hda } : {});

  it('gives the disk as the guest left it: a sector written through the ports is in the copy, the given image untouched', () => {
    const given = image(64);
    const m = create(given.slice().buffer);
    expect(m.hdaImage()?.written).toBe(false);
    const io = m.pc!.io;
    const out = (port: number, v: number) => io.write(port, 1, v);
    out(DEVICE, 0xe0);
    out(COUNT, 1);
    out(LBA_LOW, 5);
    out(LBA_MID, 0);
    out(LBA_HIGH, 0);
    out(COMMAND, AtaCmd.WRITE_SECTORS);
    const data = new Uint8Array(SECTOR_BYTES).map((_, i) => 255 - (i & 0xff));
    for (let i = 0; i < data.length; i += 2) io.write(DATA, 2, data[i] | (data[i + 1] << 8));
    const d = m.hdaImage()!;
    expect(d.written).toBe(true);
    const left = new Uint8Array(d.image);
    expect(left.length).toBe(given.length);
    expect(sectorOf(left, 5)).toEqual(data);
    expect(sectorOf(left, 4)).toEqual(sectorOf(given, 4));
    // A copy: the guest's later writes do not reach what was handed out.
    out(COUNT, 1);
    out(LBA_LOW, 6);
    out(COMMAND, AtaCmd.WRITE_SECTORS);
    for (let i = 0; i < data.length; i += 2) io.write(DATA, 2, 0);
    expect(sectorOf(left, 6)).toEqual(sectorOf(given, 6));
    expect(sectorOf(new Uint8Array(m.hdaImage()!.image), 6)).toEqual(new Uint8Array(SECTOR_BYTES));
    m.destroy();
  });

  it('is null without a disk', () => {
    const m = create();
    expect(m.hdaImage()).toBeNull();
    m.destroy();
  });
});

describe('the IDE channels a kernel booted directly finds', () => {
  it('are decoded, as a BIOS leaves them (IDETIM bit 15 on both), where the PIIX3 resets them to off', () => {
    // The reset value: both channels' decode off (Linux's ata_piix then skips them as disabled).
    const { ide } = rig();
    const io = new IoBus();
    io.attach(
      new Pci(8 << 20, statsViews(new SharedArrayBuffer(STATS_BYTES)), () => {}, {
        functions: [[PIIX3_IDE_DEVFN, ide.pci]],
      }),
    );
    const idetim = (bus: IoBus) => {
      bus.write(0xcf8, 4, (0x80000000 | (PIIX3_IDE_DEVFN << 8) | 0x40) >>> 0);
      return bus.read(0xcfc, 4) >>> 0; // primary IDETIM (0x40), secondary (0x42)
    };
    expect(idetim(io)).toBe(0);
    // A Multiboot kernel started by the machine's own loader: the primary and secondary on.
    const m = ideMachine();
    expect(idetim(m.pc!.io)).toBe(0x80008000);
    m.destroy();
  });
});
