/**
 * The PIIX3 IDE controller's bus-master function (PIIX3 data sheet, 2.7 "Bus Master IDE I/O
 * registers"; the SFF-8038i programming model every PCI IDE controller shares): per channel a
 * command register (start/stop, direction), a status register and the physical address of a
 * table of physical region descriptors (PRDs). A PRD is 8 bytes: a memory address (bit 0 zero),
 * a byte count (0 = 64 KiB; bit 0 zero) and, in bit 15 of its last word, end of table. The
 * registers sit at the I/O BAR (BAR4): 0x0–0x7 the primary channel, 0x8–0xF the secondary.
 *
 * A DMA transfer runs when both sides are ready: the device has a DMA command (READ/WRITE DMA)
 * and the start bit is set, in either order. It completes at once: the data moves between the
 * medium and memory through the PRDs, the device finishes the command and raises its interrupt,
 * and the status register says how it ended (SFF-8038i, table "Interrupt/Active bits"):
 * interrupt set and active clear when the table was exactly the transfer's size, interrupt and
 * active both set when the table was larger; a table smaller than the transfer moves what fits,
 * clears active and leaves the device waiting without an interrupt (the guest times out, as on
 * hardware). Memory is reached through the p2m (dma.ts).
 */
import type { AccessSize, PortHandler } from '../bus';
import type { DmaMemory } from '../dma';
import type { AtaChannel } from './ata';

/** Bus master IDE command register bits (BMICx). */
export const BM_CMD = { START: 0x01, READ: 0x08 } as const;
/** Bus master IDE status register bits (BMISx): ACTIVE read-only, ERROR/INTERRUPT write-1-to-clear. */
export const BM_STATUS = { ACTIVE: 0x01, ERROR: 0x02, INTERRUPT: 0x04, DRIVE0_DMA: 0x20, DRIVE1_DMA: 0x40 } as const;
/** The I/O BAR's size: two channels of 8 registers. */
export const BM_PORTS = 16;
const PRD_EOT = 0x8000;
/** A PRD table lies within one 64 KiB region (PIIX3 2.7.3): at most 8,192 entries. */
const PRD_MAX = 0x10000 / 8;

class BusMasterChannel {
  command = 0;
  status = 0;
  prdt = 0;

  constructor(
    private readonly channel: AtaChannel,
    private readonly memory: DmaMemory,
  ) {
    channel.dmaEngine = { requested: () => this.run() };
  }

  reset(): void {
    this.command = this.status = this.prdt = 0;
  }

  /** The channel's interrupt line rose: the status register's interrupt bit records it. */
  interrupted(): void {
    this.status |= BM_STATUS.INTERRUPT;
  }

  writeCommand(v: number): void {
    const was = this.command;
    // The direction bit is ignored while a transfer is active (PIIX3 2.7.1).
    this.command = was & BM_CMD.START ? (v & BM_CMD.START) | (was & BM_CMD.READ) : v & (BM_CMD.START | BM_CMD.READ);
    if (!(v & BM_CMD.START))
      this.status &= ~BM_STATUS.ACTIVE; // stop: the transfer is abandoned
    else if (!(was & BM_CMD.START)) {
      this.status |= BM_STATUS.ACTIVE;
      this.run();
    }
  }

  writeStatus(v: number): void {
    const kept = this.status & BM_STATUS.ACTIVE;
    const cleared = this.status & (BM_STATUS.ERROR | BM_STATUS.INTERRUPT) & ~v;
    this.status = kept | cleared | (v & (BM_STATUS.DRIVE0_DMA | BM_STATUS.DRIVE1_DMA));
  }

  /** Move a waiting command's data, if the engine has been started. */
  private run(): void {
    const req = this.channel.dmaPending;
    if (!req || !(this.status & BM_STATUS.ACTIVE)) return;
    // The regions, in order, until end of table.
    const regions: { addr: number; bytes: number }[] = [];
    const entry = new Uint8Array(8);
    const dv = new DataView(entry.buffer);
    let table = 0;
    for (let i = 0; i < PRD_MAX; i++) {
      this.memory.read((this.prdt + i * 8) >>> 0, entry);
      const bytes = dv.getUint16(4, true) & 0xfffe || 0x10000;
      regions.push({ addr: dv.getUint32(0, true) & ~1, bytes });
      table += bytes;
      if (dv.getUint16(6, true) & PRD_EOT) break;
    }
    const moved = Math.min(table, req.bytes);
    if (req.toMemory) {
      const data = this.channel.dmaReadData();
      if (!data) {
        // The medium failed: the device ended the command with an error; the engine stops.
        this.status &= ~BM_STATUS.ACTIVE;
        return;
      }
      let at = 0;
      for (const r of regions) {
        if (at >= moved) break;
        const n = Math.min(r.bytes, moved - at);
        this.memory.write(r.addr, data.subarray(at, at + n));
        at += n;
      }
    }
    if (table < req.bytes) {
      // The table ran out first: the device still wants data and gives no interrupt.
      this.status &= ~BM_STATUS.ACTIVE;
      return;
    }
    let written: Uint8Array | undefined;
    if (!req.toMemory) {
      written = new Uint8Array(req.bytes);
      let at = 0;
      for (const r of regions) {
        if (at >= req.bytes) break;
        const n = Math.min(r.bytes, req.bytes - at);
        this.memory.read(r.addr, written.subarray(at, at + n));
        at += n;
      }
    }
    // Exactly the transfer's size: the engine is done; a larger table leaves it active.
    if (table === req.bytes) this.status &= ~BM_STATUS.ACTIVE;
    this.channel.dmaComplete(written);
  }
}

export class IdeBusMaster {
  readonly channels: readonly [BusMasterChannel, BusMasterChannel];
  /** The registers' port handler (offsets from the BAR's base). */
  readonly handler: PortHandler;
  /** Where BAR4 decodes, set by the PCI function (null: I/O decoding off or not placed). */
  base: number | null = null;

  constructor(channels: readonly [AtaChannel, AtaChannel], memory: DmaMemory) {
    this.channels = [new BusMasterChannel(channels[0], memory), new BusMasterChannel(channels[1], memory)];
    const at = (port: number) => (port - (this.base ?? 0)) & 0xf;
    this.handler = {
      read: (port: number, size: AccessSize) => {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.readByte(at(port + i));
        return v >>> 0;
      },
      write: (port: number, size: AccessSize, v: number) => {
        for (let i = 0; i < size; i++) this.writeByte(at(port + i), (v >>> (i * 8)) & 0xff);
      },
    };
  }

  reset(): void {
    for (const c of this.channels) c.reset();
  }

  private readByte(reg: number): number {
    const c = this.channels[reg >> 3];
    switch (reg & 7) {
      case 0:
        return c.command;
      case 2:
        return c.status;
      case 4:
      case 5:
      case 6:
      case 7:
        return (c.prdt >>> (((reg & 7) - 4) * 8)) & 0xff;
      default:
        return 0;
    }
  }

  private writeByte(reg: number, v: number): void {
    const c = this.channels[reg >> 3];
    switch (reg & 7) {
      case 0:
        return c.writeCommand(v);
      case 2:
        return c.writeStatus(v);
      case 4:
      case 5:
      case 6:
      case 7: {
        const shift = ((reg & 7) - 4) * 8;
        // The table is dword-aligned: bits 1–0 read as zero.
        c.prdt = ((c.prdt & ~(0xff << shift)) | (v << shift)) & ~3;
        c.prdt >>>= 0;
        return;
      }
    }
  }
}
