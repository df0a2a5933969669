/**
 * The PIIX3 IDE controller's bus master (SFF-8038i / PIIX3 2.7) in a whole machine: the guest
 * places BAR4 by PCI configuration cycles, builds a PRD table in RAM, issues READ/WRITE DMA and
 * starts the engine; the data moves between the disk and guest memory through the p2m.
 */
import { describe, expect, it } from 'vitest';
import { AtaCmd, ATA_SR } from '../../src/machine/devices/ata';
import { BM_CMD, BM_STATUS } from '../../src/machine/devices/ide-bus-master';
import { SECTOR_BYTES } from '../../src/machine/devices/ata-disk';
import { F64, PAGE_SHIFT, VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import { ideConfig, ideMachine, placeBusMaster, writePrdTable } from './ide-rig';

const BM_BASE = 0xc000;
const SECTORS = 256;

/** Sector n holds n in every 32-bit word, plus the word's index (so each byte's place shows). */
function image(): Uint8Array {
  const b = new Uint8Array(SECTORS * SECTOR_BYTES);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < b.length; i += 4) dv.setUint32(i, ((i / SECTOR_BYTES) << 16) | ((i % SECTOR_BYTES) >> 2), true);
  return b;
}

function rig() {
  const disk = image();
  const m = ideMachine({ hda: disk.slice().buffer });
  const io = m.pc!.io;
  const ram = m.memory.u8;
  const { read: cfgRead, write: cfgWrite } = ideConfig(io);
  const place = () => placeBusMaster(io, BM_BASE);
  const prdt = (at: number, regions: [number, number][]) => writePrdTable(ram, at, regions);
  const command = (op: number, lba: number, count: number) => {
    io.write(0x1f6, 1, 0xe0);
    io.write(0x1f2, 1, count);
    io.write(0x1f3, 1, lba & 0xff);
    io.write(0x1f4, 1, (lba >> 8) & 0xff);
    io.write(0x1f5, 1, (lba >> 16) & 0xff);
    io.write(0x1f7, 1, op);
  };
  /** Start the engine (READ: the bus master writes memory) with the table at `table`. */
  const start = (table: number, toMemory: boolean) => {
    io.write(BM_BASE + 4, 4, table);
    io.write(BM_BASE, 1, BM_CMD.START | (toMemory ? BM_CMD.READ : 0));
  };
  const irq14 = () => m.stats.f64[F64.IRQ_COUNT + 14];
  return { m, io, ram, disk, cfgRead, cfgWrite, place, prdt, command, start, irq14 };
}

describe('the PIIX3 IDE bus master', () => {
  it('is a bus-master IDE function whose BAR4 sizes as 16 I/O ports and decodes its registers where placed', () => {
    const { io, cfgRead, cfgWrite, place } = rig();
    expect(cfgRead(0x08) >>> 8).toBe(0x010180); // class 01 (storage), 01 (IDE), interface 80h: bus master
    cfgWrite(0x20, 0xffffffff);
    expect(cfgRead(0x20) >>> 0).toBe(0xfffffff1); // 16 bytes, I/O space
    expect(io.read(BM_BASE + 4, 4) >>> 0).toBe(0xffffffff); // not decoded yet
    place();
    expect(cfgRead(0x20)).toBe(BM_BASE | 1);
    io.write(BM_BASE + 4, 4, 0x12347);
    expect(io.read(BM_BASE + 4, 4)).toBe(0x12344); // the table pointer is dword-aligned
    cfgWrite(0x04, cfgRead(0x04) & ~1); // I/O space off: nothing decodes there
    expect(io.read(BM_BASE + 4, 4) >>> 0).toBe(0xffffffff);
  });

  it("READ DMA scatters the sectors over the PRD table's regions, then the device interrupts and the engine is done", () => {
    const { io, ram, disk, place, prdt, command, start, irq14 } = rig();
    place();
    // Three sectors from LBA 10 into 0x10000 (1,000 bytes) and 0x20000 (536 bytes).
    prdt(0x8000, [
      [0x10000, 1000],
      [0x20000, 536],
    ]);
    const irqs = irq14();
    command(AtaCmd.READ_DMA, 10, 3);
    expect(io.read(0x3f6, 1) & ATA_SR.DRQ).toBe(ATA_SR.DRQ); // waiting for the bus master
    expect(ram[0x10000]).toBe(0);
    start(0x8000, true);
    const sectors = disk.subarray(10 * SECTOR_BYTES, 13 * SECTOR_BYTES);
    expect(ram.subarray(0x10000, 0x10000 + 1000)).toEqual(sectors.subarray(0, 1000));
    expect(ram.subarray(0x20000, 0x20000 + 536)).toEqual(sectors.subarray(1000));
    expect(ram[0x20000 + 536]).toBe(0);
    expect(irq14()).toBe(irqs + 1);
    expect(io.read(BM_BASE + 2, 1) & (BM_STATUS.ACTIVE | BM_STATUS.INTERRUPT)).toBe(BM_STATUS.INTERRUPT);
    expect(io.read(0x1f7, 1)).toBe(ATA_SR.DRDY | ATA_SR.DSC);
    // Interrupt is write-1-to-clear; the stop bit is the driver's.
    io.write(BM_BASE + 2, 1, BM_STATUS.INTERRUPT);
    io.write(BM_BASE, 1, 0);
    expect(io.read(BM_BASE + 2, 1) & (BM_STATUS.ACTIVE | BM_STATUS.INTERRUPT)).toBe(0);
  });

  it('WRITE DMA gathers memory onto the disk, started before or after the command', () => {
    const { m, ram, io, place, prdt, command, start } = rig();
    place();
    for (let i = 0; i < 1024; i++) ram[0x30000 + i] = (i * 13) & 0xff;
    prdt(0x8000, [[0x30000, 1024]]);
    start(0x8000, false); // the engine first: it waits for the command
    expect(io.read(BM_BASE + 2, 1) & BM_STATUS.ACTIVE).toBe(BM_STATUS.ACTIVE);
    command(AtaCmd.WRITE_DMA, 200, 2);
    const written = new Uint8Array(m.hdaImage()!.image);
    expect(written.subarray(200 * SECTOR_BYTES, 202 * SECTOR_BYTES)).toEqual(ram.subarray(0x30000, 0x30000 + 1024));
    expect(io.read(BM_BASE + 2, 1) & (BM_STATUS.ACTIVE | BM_STATUS.INTERRUPT)).toBe(BM_STATUS.INTERRUPT);
  });

  it('a table larger than the transfer leaves the engine active; a smaller one stops it with no interrupt', () => {
    const { ram, io, disk, place, prdt, command, start, irq14 } = rig();
    place();
    prdt(0x8000, [[0x10000, 0]]); // 0 = 64 KiB
    command(AtaCmd.READ_DMA, 0, 1);
    start(0x8000, true);
    expect(ram.subarray(0x10000, 0x10000 + SECTOR_BYTES)).toEqual(disk.subarray(0, SECTOR_BYTES));
    expect(io.read(BM_BASE + 2, 1) & 7).toBe(BM_STATUS.ACTIVE | BM_STATUS.INTERRUPT);
    io.write(BM_BASE, 1, 0);
    io.write(BM_BASE + 2, 1, BM_STATUS.INTERRUPT);
    const irqs = irq14();
    prdt(0x8000, [[0x40000, 512]]);
    command(AtaCmd.READ_DMA, 0, 2);
    start(0x8000, true);
    expect(io.read(BM_BASE + 2, 1) & 7).toBe(0);
    expect(irq14()).toBe(irqs);
    expect(io.read(0x3f6, 1) & ATA_SR.DRQ).toBe(ATA_SR.DRQ); // the device still wants its second sector
  });

  it('a DMA read into the VRAM BAR is seen by the dirty-VRAM log, as a CPU store would be', () => {
    const { m, place, prdt, command, start } = rig();
    place();
    const bar = VRAM_BAR_DEFAULT;
    expect(m.trackDirtyVram(bar >>> PAGE_SHIFT, 16).ok).toBe(true); // start tracking: all clean
    prdt(0x8000, [[bar + 5 * 4096, 512]]);
    command(AtaCmd.READ_DMA, 7, 1);
    start(0x8000, true);
    const r = m.trackDirtyVram(bar >>> PAGE_SHIFT, 16);
    if (!r.ok) throw new Error(r.message);
    expect(Array.from(r.value)).toEqual([1 << 5, 0]);
    expect(m.memory.vram.subarray(5 * 4096, 5 * 4096 + 4)).toEqual(image().subarray(7 * 512, 7 * 512 + 4));
  });

  it('IDENTIFY offers multiword DMA 0–2 and Ultra DMA 0–5, and shows the mode SET FEATURES chose', () => {
    const { io } = rig();
    const identify = () => {
      io.write(0x1f6, 1, 0xa0);
      io.write(0x1f7, 1, AtaCmd.IDENTIFY_DEVICE);
      return Array.from({ length: 256 }, () => io.read(0x1f0, 2));
    };
    let w = identify();
    expect(w[49] & 0x100).toBe(0x100);
    expect([w[53] & 4, w[63], w[88]]).toEqual([4, 0x0007, 0x003f]);
    io.write(0x1f1, 1, 0x03); // set transfer mode
    io.write(0x1f2, 1, 0x22); // multiword DMA 2
    io.write(0x1f7, 1, AtaCmd.SET_FEATURES);
    expect(io.read(0x1f7, 1) & ATA_SR.ERR).toBe(0);
    w = identify();
    expect([w[63], w[88]]).toEqual([0x0407, 0x003f]);
  });
});
