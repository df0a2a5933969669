/**
 * One ATA channel (ATA/ATAPI-7 volume 2, the parallel transport): a cable with device 0 and device
 * 1, its command block registers (data, error/features, sector count, LBA low/mid/high, device,
 * status/command) at base..base+7 and its control block (alternate status / device control) at
 * ctrl. PIO data transfers, and the DMA commands when a bus-master engine is attached
 * (ide-bus-master.ts moves their data; without one they abort).
 *
 * As on the cable, a register write reaches both devices, and the one the device register's DEV
 * bit selects answers reads and runs commands; reads for an absent device give 0, and commands to
 * it are ignored (QEMU's behaviour; SeaBIOS's probe relies on it to skip an empty slot). Commands
 * complete at once: BSY is never seen except while SRST is held.
 *
 * LBA48 uses the register pairs of ATA-7 volume 1, 6.2: each write to features, sector count and
 * the LBA registers pushes the previous value into the "high order byte" copy, read back with the
 * device control register's HOB bit set. The address registers and the sector count follow the
 * transfer (ATA-1's rule, still what BIOSes expect): after each block they hold the last sector
 * transferred and the sectors left.
 *
 * INTRQ (ATA-7 volume 2, 5.2.9) is set when a PIO-in block is ready, after each PIO-out block but
 * the first is needed, and when a non-data command completes; reading the status register or
 * writing a command clears it; nIEN keeps the line low without forgetting the request.
 *
 * A device may be an ATAPI CD-ROM (atapi.ts) instead of a disk: it answers the PACKET feature
 * set's commands and aborts the disk's. PACKET runs the protocol of ATA-7 volume 2, 9.10 (PIO) and
 * 9.11 (DMA): DRQ for the 12 command bytes (interrupt reason C/D), then the response in pieces of
 * at most the byte count limit the host put in LBA mid/high (each piece's size written back
 * there, interrupt reason I/O, an interrupt each), then completion with I/O and C/D both set and
 * a last interrupt; a CHECK CONDITION ends it with ERR and the sense key in the error register's
 * high nibble. Features bit 0 asks for the response by bus-master DMA instead.
 */
import type { AccessSize } from '../bus';
import type { PortRange } from './device';
import { MediumError } from './block-medium';
import { AtaDisk, MAX_MULTIPLE, SECTOR_BYTES, type ChsGeometry } from './ata-disk';
import { AtapiCdrom } from './atapi';

export const ATA_SR = { BSY: 0x80, DRDY: 0x40, DF: 0x20, DSC: 0x10, DRQ: 0x08, ERR: 0x01 } as const;
export const ATA_ER = { ABRT: 0x04, IDNF: 0x10, UNC: 0x40 } as const;
/** Device control register bits. */
export const ATA_DC = { NIEN: 0x02, SRST: 0x04, HOB: 0x80 } as const;
/** Device register bits (bits 7 and 5 are obsolete and read as ones). */
export const ATA_DH = { DEV1: 0x10, LBA: 0x40, OBSOLETE: 0xa0 } as const;

/** The commands a hard disk of ours answers (ATA-7 volume 1, chapter 6; opcodes in table B.2). */
export const AtaCmd = {
  DEVICE_RESET: 0x08,
  RECALIBRATE: 0x10,
  READ_SECTORS: 0x20,
  READ_SECTORS_NO_RETRY: 0x21,
  READ_SECTORS_EXT: 0x24,
  READ_DMA_EXT: 0x25,
  READ_NATIVE_MAX_ADDRESS_EXT: 0x27,
  READ_MULTIPLE_EXT: 0x29,
  WRITE_SECTORS: 0x30,
  WRITE_SECTORS_NO_RETRY: 0x31,
  WRITE_SECTORS_EXT: 0x34,
  WRITE_DMA_EXT: 0x35,
  WRITE_MULTIPLE_EXT: 0x39,
  READ_VERIFY_SECTORS: 0x40,
  READ_VERIFY_SECTORS_NO_RETRY: 0x41,
  READ_VERIFY_SECTORS_EXT: 0x42,
  SEEK: 0x70,
  EXECUTE_DEVICE_DIAGNOSTIC: 0x90,
  INITIALIZE_DEVICE_PARAMETERS: 0x91,
  PACKET: 0xa0,
  IDENTIFY_PACKET_DEVICE: 0xa1,
  READ_MULTIPLE: 0xc4,
  WRITE_MULTIPLE: 0xc5,
  SET_MULTIPLE_MODE: 0xc6,
  READ_DMA: 0xc8,
  WRITE_DMA: 0xca,
  STANDBY_IMMEDIATE: 0xe0,
  IDLE_IMMEDIATE: 0xe1,
  STANDBY: 0xe2,
  IDLE: 0xe3,
  CHECK_POWER_MODE: 0xe5,
  FLUSH_CACHE: 0xe7,
  FLUSH_CACHE_EXT: 0xea,
  IDENTIFY_DEVICE: 0xec,
  SET_FEATURES: 0xef,
  READ_NATIVE_MAX_ADDRESS: 0xf8,
} as const;

/** CHS addressing reaches at most this many sectors (16,383 × 16 × 63, ATA-7 volume 1, annex D). */
const CHS_MAX_SECTORS = 16383 * 16 * 63;

/** A device on the channel: its medium and the settings commands change. */
class AtaDevice {
  /** READ/WRITE MULTIPLE's block size in sectors (0: multiple mode off). */
  multiple = 0;
  /** The logical geometry CHS addresses use (INITIALIZE DEVICE PARAMETERS changes it). */
  chs: ChsGeometry;
  /** The DMA mode SET FEATURES chose (its sector count value: 0x2n multiword, 0x4n Ultra), 0: none. */
  dmaMode = 0;

  constructor(readonly disk: AtaDisk) {
    this.chs = { ...disk.geometry };
  }

  reset(): void {
    this.multiple = 0;
    this.dmaMode = 0;
    this.chs = { ...this.disk.geometry };
  }
}

/** An ATAPI device on the channel: its disc and the DMA mode chosen. */
class AtapiDevice {
  dmaMode = 0;

  constructor(readonly cdrom: AtapiCdrom) {}

  reset(): void {
    this.dmaMode = 0;
    this.cdrom.reset();
  }
}

/** The interrupt reason (the sector count register during PACKET, ATA-7 volume 1, 6.21). */
export const ATAPI_IR = { COD: 0x01, IO: 0x02 } as const;
/** A SCSI command block's length (IDENTIFY PACKET DEVICE word 0 says 12). */
export const ATAPI_CDB_BYTES = 12;

/** A PACKET command under way: taking its command bytes, or handing over its response. */
interface PacketTransfer {
  phase: 'command' | 'data';
  /** The response (phase 'data'); the piece being read is data[pos..end) (the channel's pos and end). */
  data: Uint8Array;
  /** The byte count limit the host set with the command. */
  limit: number;
  /** Features bit 0: the response goes by DMA. */
  dma: boolean;
}

/** A DMA command's sectors, waiting for the bus master. */
interface DmaRequest {
  dev: AtaDevice;
  lba: number;
  count: number;
  chs: boolean;
  lba48: boolean;
  /** READ DMA: from the medium to memory. */
  toMemory: boolean;
}

/** A PIO data transfer under way: the block in the buffer starts at sector lba. */
interface Transfer {
  dir: 'in' | 'out';
  /** IDENTIFY's one block, or sectors of the medium. */
  identify: boolean;
  lba: number;
  /** Sectors left, the buffered block included. */
  remaining: number;
  /** Sectors per DRQ block (1, or the multiple count). */
  blockSectors: number;
  lba48: boolean;
  /** The command addressed by CHS: the registers are written back as CHS. */
  chs: boolean;
}

type ChannelDevice = AtaDevice | AtapiDevice;

export class AtaChannel {
  readonly devices: [ChannelDevice | null, ChannelDevice | null];
  // The command block registers, as written to both devices; hob* are the previous writes (LBA48).
  private features = 0;
  private hobFeatures = 0;
  private count = 0;
  private hobCount = 0;
  private lbaLow = 0;
  private hobLbaLow = 0;
  private lbaMid = 0;
  private hobLbaMid = 0;
  private lbaHigh = 0;
  private hobLbaHigh = 0;
  private device: number = ATA_DH.OBSOLETE;
  private status = 0;
  private error = 0;
  private control = 0;
  /** The interrupt request (INTRQ before nIEN gates it). */
  private intrq = false;
  private line = false;
  private transfer: Transfer | null = null;
  private readonly buffer = new Uint8Array(MAX_MULTIPLE * SECTOR_BYTES);
  private pos = 0;
  private end = 0;
  /** A DMA command waiting for the bus master to move its data. */
  private dma: DmaRequest | null = null;
  private packet: PacketTransfer | null = null;
  /** The response of a PACKET command waiting for the bus master. */
  private packetDma: Uint8Array | null = null;
  /** The registers still hold the signatures a reset left (a device selection shows that device's). */
  private showingSignature = false;
  /** The bus-master engine, told when a DMA command is issued (none: DMA commands abort). */
  dmaEngine: { requested(): void } | null = null;

  constructor(
    readonly base: number,
    readonly ctrl: number,
    disks: readonly [AtaDisk | AtapiCdrom | null, AtaDisk | AtapiCdrom | null],
    /** The channel's interrupt line (IRQ 14 or 15 through the PIIX3's legacy routing). */
    private readonly setIrq: (level: boolean) => void,
  ) {
    const attach = (m: AtaDisk | AtapiCdrom | null) =>
      m instanceof AtapiCdrom ? new AtapiDevice(m) : m && new AtaDevice(m);
    this.devices = [attach(disks[0]), attach(disks[1])];
    this.ports = [
      {
        first: base,
        count: 8,
        handler: {
          read: (p: number, size: AccessSize) => this.readCommandBlock(p - base, size),
          write: (p: number, size: AccessSize, v: number) => this.writeCommandBlock(p - base, size, v),
        },
      },
      {
        first: ctrl,
        count: 1,
        handler: {
          read: () => this.alternateStatus(),
          write: (_p: number, _size: AccessSize, v: number) => this.writeDeviceControl(v & 0xff),
        },
      },
    ];
    this.reset();
  }

  readonly ports: readonly PortRange[];

  /** Power-on / hardware reset: both devices reset, signatures in the registers, nothing pending. */
  reset(): void {
    this.control = 0;
    this.features = this.hobFeatures = 0;
    for (const d of this.devices) d?.reset();
    this.softReset();
    this.setIntrq(false);
  }

  saveState(): unknown {
    return {
      registers: [this.features, this.count, this.lbaLow, this.lbaMid, this.lbaHigh, this.device],
      hob: [this.hobFeatures, this.hobCount, this.hobLbaLow, this.hobLbaMid, this.hobLbaHigh],
      status: this.status,
      error: this.error,
      control: this.control,
      intrq: this.intrq,
      transfer: this.transfer && { ...this.transfer },
      buffer: Array.from(this.buffer.subarray(this.pos, this.end)),
      packet: this.packet && { phase: this.packet.phase, limit: this.packet.limit, dma: this.packet.dma },
      devices: this.devices.map((d) =>
        d instanceof AtaDevice
          ? { multiple: d.multiple, chs: { ...d.chs } }
          : d && { dmaMode: d.dmaMode, ...d.cdrom.saveState() },
      ),
    };
  }

  private selected(): ChannelDevice | null {
    return this.devices[(this.device & ATA_DH.DEV1) >>> 4];
  }

  /** The selected device answers register reads; an absent one reads 0 (and so does an empty cable). */
  private present(): boolean {
    return this.selected() !== null;
  }

  private readCommandBlock(reg: number, size: AccessSize): number {
    if (reg === 0) return this.readData(size);
    if (reg === 6) return this.devices[0] || this.devices[1] ? this.device : 0;
    if (!this.present()) return 0;
    const hob = (this.control & ATA_DC.HOB) !== 0;
    switch (reg) {
      case 1:
        return this.error;
      case 2:
        return hob ? this.hobCount : this.count;
      case 3:
        return hob ? this.hobLbaLow : this.lbaLow;
      case 4:
        return hob ? this.hobLbaMid : this.lbaMid;
      case 5:
        return hob ? this.hobLbaHigh : this.lbaHigh;
      default:
        // The status register: reading it acknowledges the interrupt (ATA-7 volume 1, 6.1.2).
        this.setIntrq(false);
        return this.status;
    }
  }

  private alternateStatus(): number {
    return this.present() ? this.status : 0;
  }

  private writeCommandBlock(reg: number, size: AccessSize, v: number): void {
    if (reg === 0) return this.writeData(size, v);
    v &= 0xff;
    if (this.status & ATA_SR.BSY) return; // a busy device ignores the command block
    this.control &= ~ATA_DC.HOB; // any command block write clears HOB (ATA-7 volume 1, 6.20)
    if (reg !== 6) this.showingSignature = false;
    switch (reg) {
      case 1:
        [this.hobFeatures, this.features] = [this.features, v];
        break;
      case 2:
        [this.hobCount, this.count] = [this.count, v];
        break;
      case 3:
        [this.hobLbaLow, this.lbaLow] = [this.lbaLow, v];
        break;
      case 4:
        [this.hobLbaMid, this.lbaMid] = [this.lbaMid, v];
        break;
      case 5:
        [this.hobLbaHigh, this.lbaHigh] = [this.lbaHigh, v];
        break;
      case 6:
        this.device = v | ATA_DH.OBSOLETE;
        // Each device holds its own signature after a reset; the one selected shows it.
        if (this.showingSignature) this.showSignature();
        break;
      default:
        this.command(v);
    }
  }

  private writeDeviceControl(v: number): void {
    const was = this.control;
    this.control = v & (ATA_DC.NIEN | ATA_DC.SRST | ATA_DC.HOB);
    if (v & ATA_DC.SRST && !(was & ATA_DC.SRST)) {
      // SRST asserted: both devices busy until it is released; a transfer under way is dropped.
      this.transfer = null;
      this.dma = null;
      this.packet = null;
      this.packetDma = null;
      this.end = this.pos = 0;
      this.status = ATA_SR.BSY;
      this.setIntrq(false);
    } else if (!(v & ATA_DC.SRST) && was & ATA_DC.SRST) this.softReset();
    this.updateLine();
  }

  /**
   * What a reset leaves (ATA-7 volume 1, 9.12): the signatures, diagnostics passed, a disk ready;
   * a packet device leaves DRDY clear until it is given a command (as QEMU's CD-ROM does).
   */
  private softReset(): void {
    this.transfer = null;
    this.dma = null;
    this.packet = null;
    this.packetDma = null;
    this.end = this.pos = 0;
    this.setSignature();
  }

  private setSignature(): void {
    this.count = this.lbaLow = 1;
    this.hobCount = this.hobLbaLow = this.hobLbaMid = this.hobLbaHigh = 0;
    this.device = ATA_DH.OBSOLETE;
    this.error = 0x01; // device 0 passed, device 1 passed or absent
    this.showingSignature = true;
    this.showSignature();
  }

  /**
   * The selected device's signature (ATA-7 volume 1, 9.12): LBA mid/high 00h/00h for an ATA
   * device, 14h/EBh for a packet device, which also reads status 0 (no DRDY) until a command.
   */
  private showSignature(): void {
    const dev = this.selected() ?? this.devices[0] ?? this.devices[1];
    const packet = dev instanceof AtapiDevice;
    this.lbaMid = packet ? 0x14 : 0;
    this.lbaHigh = packet ? 0xeb : 0;
    this.status = !dev ? 0 : packet ? 0 : ATA_SR.DRDY | ATA_SR.DSC;
  }

  private setIntrq(on: boolean): void {
    this.intrq = on;
    this.updateLine();
  }

  private updateLine(): void {
    const line = this.intrq && !(this.control & ATA_DC.NIEN);
    if (line === this.line) return;
    this.line = line;
    this.setIrq(line);
  }

  // ---- commands ---------------------------------------------------------------------------------

  private command(op: number): void {
    const dev = this.selected();
    if (!dev) return; // ignored by an absent device
    this.setIntrq(false);
    this.transfer = null;
    this.dma = null;
    this.packet = null;
    this.packetDma = null;
    this.showingSignature = false;
    this.end = this.pos = 0;
    this.error = 0;
    if (dev instanceof AtapiDevice) return this.packetDeviceCommand(dev, op);
    const C = AtaCmd;
    switch (op) {
      case C.IDENTIFY_DEVICE: {
        const words = dev.disk.identify(dev.chs, dev.multiple, this.dmaEngine ? dev.dmaMode : null);
        const dv = new DataView(this.buffer.buffer);
        words.forEach((w, i) => dv.setUint16(i * 2, w, true));
        this.transfer = { dir: 'in', identify: true, lba: 0, remaining: 1, blockSectors: 1, lba48: false, chs: false };
        return this.blockReady(SECTOR_BYTES);
      }
      case C.READ_SECTORS:
      case C.READ_SECTORS_NO_RETRY:
        return this.startPio(dev, 'in', false, 1);
      case C.READ_SECTORS_EXT:
        return this.startPio(dev, 'in', true, 1);
      case C.WRITE_SECTORS:
      case C.WRITE_SECTORS_NO_RETRY:
        return this.startPio(dev, 'out', false, 1);
      case C.WRITE_SECTORS_EXT:
        return this.startPio(dev, 'out', true, 1);
      case C.READ_MULTIPLE:
      case C.READ_MULTIPLE_EXT:
      case C.WRITE_MULTIPLE:
      case C.WRITE_MULTIPLE_EXT:
        // Multiple mode off: the commands abort (ATA-7 volume 1, 6.27).
        if (!dev.multiple) return this.abort();
        return this.startPio(
          dev,
          op === C.READ_MULTIPLE || op === C.READ_MULTIPLE_EXT ? 'in' : 'out',
          op === C.READ_MULTIPLE_EXT || op === C.WRITE_MULTIPLE_EXT,
          dev.multiple,
        );
      case C.READ_VERIFY_SECTORS:
      case C.READ_VERIFY_SECTORS_NO_RETRY:
      case C.READ_VERIFY_SECTORS_EXT: {
        const lba48 = op === C.READ_VERIFY_SECTORS_EXT;
        const range = this.range(dev, lba48);
        if (!range) return this.fail(ATA_ER.IDNF);
        this.writeAddress(dev, range.lba + range.count - 1, lba48, range.chs, 0);
        return this.complete();
      }
      case C.SET_MULTIPLE_MODE: {
        const n = this.count;
        // 0 turns multiple mode off; otherwise a power of two up to IDENTIFY word 47's maximum.
        if (n > MAX_MULTIPLE || (n & (n - 1)) !== 0) return this.abort();
        dev.multiple = n;
        return this.complete();
      }
      case C.INITIALIZE_DEVICE_PARAMETERS: {
        const sectors = this.count;
        const heads = (this.device & 0x0f) + 1;
        if (sectors === 0) return this.abort();
        const addressable = Math.min(dev.disk.totalSectors, CHS_MAX_SECTORS);
        dev.chs = { cylinders: Math.min(0xffff, Math.floor(addressable / (heads * sectors))), heads, sectors };
        return this.complete();
      }
      case C.READ_DMA:
      case C.READ_DMA_EXT:
      case C.WRITE_DMA:
      case C.WRITE_DMA_EXT: {
        if (!this.dmaEngine) return this.abort();
        const lba48 = op === C.READ_DMA_EXT || op === C.WRITE_DMA_EXT;
        const range = this.range(dev, lba48);
        if (!range) return this.fail(ATA_ER.IDNF);
        this.dma = { dev, ...range, lba48, toMemory: op === C.READ_DMA || op === C.READ_DMA_EXT };
        // DMARQ asserted: busy with the data (DRQ, as QEMU shows it) until the engine has moved it.
        this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
        return this.dmaEngine.requested();
      }
      case C.SET_FEATURES:
        return this.setFeatures();
      case C.FLUSH_CACHE:
      case C.FLUSH_CACHE_EXT: // writes reach the medium at once: nothing is cached
      case C.STANDBY_IMMEDIATE:
      case C.IDLE_IMMEDIATE:
      case C.STANDBY:
      case C.IDLE:
        return this.complete();
      case C.CHECK_POWER_MODE:
        this.count = 0xff; // active or idle
        return this.complete();
      case C.READ_NATIVE_MAX_ADDRESS:
      case C.READ_NATIVE_MAX_ADDRESS_EXT: {
        const lba48 = op === C.READ_NATIVE_MAX_ADDRESS_EXT;
        const max = Math.min(dev.disk.totalSectors, lba48 ? Infinity : 0x10000000) - 1;
        this.writeAddress(dev, max, lba48, false, this.count);
        return this.complete();
      }
      case C.EXECUTE_DEVICE_DIAGNOSTIC:
        this.setSignature();
        this.status = ATA_SR.DRDY | ATA_SR.DSC;
        return this.setIntrq(true);
      default:
        if ((op & 0xf0) === C.RECALIBRATE || (op & 0xf0) === C.SEEK) return this.complete();
        // IDENTIFY PACKET DEVICE and PACKET (not an ATAPI device), NOP and everything else.
        return this.abort();
    }
  }

  /** SET FEATURES subcommands (the features register): what our disk can honour. */
  private setFeatures(): void {
    switch (this.features) {
      case 0x02: // enable write cache
      case 0x82: // disable write cache
      case 0x55: // disable read look-ahead
      case 0xaa: // enable read look-ahead
      case 0x66: // keep settings over a software reset
      case 0xcc: // revert to power-on defaults
        return this.complete();
      case 0x03: {
        // Set transfer mode: the sector count says which (ATA-7 volume 1, table 44). PIO default
        // or a flow-control PIO mode up to 4; with a bus master, multiword DMA 0–2 and Ultra DMA
        // 0–5, the one chosen shown in IDENTIFY words 63 and 88.
        const mode = this.count;
        if (mode === 0x00 || mode === 0x01 || (mode >= 0x08 && mode <= 0x0c)) return this.complete();
        const dev = this.selected()!;
        if (this.dmaEngine && ((mode >= 0x20 && mode <= 0x22) || (mode >= 0x40 && mode <= 0x45))) {
          dev.dmaMode = mode;
          return this.complete();
        }
        return this.abort();
      }
      default:
        return this.abort();
    }
  }

  /**
   * The first sector and count of a read/write command, from LBA28, LBA48 or CHS registers; null
   * when they address past the medium (or an impossible CHS address).
   */
  private range(dev: AtaDevice, lba48: boolean): { lba: number; count: number; chs: boolean } | null {
    let lba: number;
    let count: number;
    let chs = false;
    if (lba48) {
      lba =
        (this.hobLbaHigh * 0x100 + this.hobLbaMid) * 0x1000000 * 0x100 +
        this.hobLbaLow * 0x1000000 +
        ((this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow);
      count = (this.hobCount << 8) | this.count || 0x10000;
    } else {
      count = this.count || 0x100;
      if (this.device & ATA_DH.LBA)
        lba = (((this.device & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow) >>> 0;
      else {
        chs = true;
        const { heads, sectors } = dev.chs;
        const cylinder = (this.lbaHigh << 8) | this.lbaMid;
        const head = this.device & 0x0f;
        const sector = this.lbaLow;
        if (sector === 0 || sector > sectors || head >= heads) return null;
        lba = (cylinder * heads + head) * sectors + sector - 1;
      }
    }
    if (lba + count > dev.disk.totalSectors) return null;
    return { lba, count, chs };
  }

  /** Leave sector `lba` in the address registers, in the form the command used, and `left` in the count. */
  private writeAddress(dev: AtaDevice, lba: number, lba48: boolean, chs: boolean, left: number): void {
    this.count = left & 0xff;
    if (chs) {
      const { heads, sectors } = dev.chs;
      const cylinder = Math.floor(lba / (heads * sectors));
      this.lbaLow = (lba % sectors) + 1;
      this.lbaMid = cylinder & 0xff;
      this.lbaHigh = (cylinder >>> 8) & 0xff;
      this.device = (this.device & 0xf0) | (Math.floor(lba / sectors) % heads);
      return;
    }
    this.lbaLow = lba & 0xff;
    this.lbaMid = (lba >>> 8) & 0xff;
    this.lbaHigh = (lba >>> 16) & 0xff;
    if (lba48) {
      const high = Math.floor(lba / 0x1000000);
      this.hobCount = (left >>> 8) & 0xff;
      this.hobLbaLow = high & 0xff;
      this.hobLbaMid = (high >>> 8) & 0xff;
      this.hobLbaHigh = (high >>> 16) & 0xff;
    } else this.device = (this.device & 0xf0) | ((lba >>> 24) & 0x0f);
  }

  private startPio(dev: AtaDevice, dir: 'in' | 'out', lba48: boolean, blockSectors: number): void {
    const range = this.range(dev, lba48);
    if (!range) return this.fail(ATA_ER.IDNF);
    this.transfer = {
      dir,
      identify: false,
      lba: range.lba,
      remaining: range.count,
      blockSectors,
      lba48,
      chs: range.chs,
    };
    if (dir === 'in') return this.loadBlock(dev);
    // PIO out: DRQ for the first block without an interrupt (ATA-7 volume 2, 9.8).
    this.end = Math.min(blockSectors, range.count) * SECTOR_BYTES;
    this.pos = 0;
    this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
  }

  /** Read the next block of a PIO-in transfer from the medium and announce it. */
  private loadBlock(dev: AtaDevice): void {
    const t = this.transfer!;
    const n = Math.min(t.blockSectors, t.remaining);
    if (!this.mediumDid(() => dev.disk.read(t.lba, n, this.buffer), dev, t.lba, t.lba48, t.chs)) return;
    this.writeAddress(dev, t.lba + n - 1, t.lba48, t.chs, t.remaining - n);
    this.blockReady(n * SECTOR_BYTES);
  }

  private blockReady(bytes: number): void {
    this.pos = 0;
    this.end = bytes;
    this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
    this.setIntrq(true);
  }

  private readData(size: AccessSize): number {
    if (this.packet) return this.readPacketData(size);
    const t = this.transfer;
    if (!t || t.dir !== 'in') return 0; // nothing to transfer
    const b = this.buffer;
    const p = this.pos;
    const v =
      size === 2
        ? b[p] | (b[p + 1] << 8)
        : size === 4
          ? b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)
          : b[p];
    this.pos = p + size;
    if (this.pos >= this.end) this.blockRead();
    return v >>> 0;
  }

  private writeData(size: AccessSize, v: number): void {
    if (this.packet) return this.writePacketCommand(size, v);
    const t = this.transfer;
    if (!t || t.dir !== 'out') return;
    for (let i = 0; i < size; i++) this.buffer[this.pos + i] = (v >>> (8 * i)) & 0xff;
    this.pos += size;
    if (this.pos >= this.end) this.blockWritten();
  }

  /** The host took the whole block: the next one, or the end of the command (no interrupt for it). */
  private blockRead(): void {
    const t = this.transfer!;
    const n = Math.min(t.blockSectors, t.remaining);
    t.remaining -= n;
    t.lba += n;
    const dev = this.selected();
    if (t.remaining > 0 && dev instanceof AtaDevice) return this.loadBlock(dev);
    this.transfer = null;
    this.end = this.pos = 0;
    this.status = ATA_SR.DRDY | ATA_SR.DSC;
  }

  /** The host filled the block: it goes to the medium; DRQ for the next one, or completion. */
  private blockWritten(): void {
    const t = this.transfer!;
    const dev = this.selected() as AtaDevice; // only a disk takes PIO-out commands
    const n = Math.min(t.blockSectors, t.remaining);
    const buffer = this.buffer.subarray(0, n * SECTOR_BYTES);
    if (!this.mediumDid(() => dev.disk.write(t.lba, buffer), dev, t.lba, t.lba48, t.chs)) return;
    t.remaining -= n;
    this.writeAddress(dev, t.lba + n - 1, t.lba48, t.chs, t.remaining);
    t.lba += n;
    this.pos = 0;
    if (t.remaining > 0) {
      this.end = Math.min(t.blockSectors, t.remaining) * SECTOR_BYTES;
      this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
    } else {
      this.transfer = null;
      this.end = 0;
      this.status = ATA_SR.DRDY | ATA_SR.DSC;
    }
    this.setIntrq(true);
  }

  // ---- packet devices (ATAPI) ------------------------------------------------------------------

  /** The commands of the PACKET feature set (ATA-7 volume 1, 4.8); a disk's commands abort. */
  private packetDeviceCommand(dev: AtapiDevice, op: number): void {
    const C = AtaCmd;
    switch (op) {
      case C.IDENTIFY_PACKET_DEVICE: {
        const words = dev.cdrom.identify(this.dmaEngine ? dev.dmaMode : null);
        const dv = new DataView(this.buffer.buffer);
        words.forEach((w, i) => dv.setUint16(i * 2, w, true));
        this.transfer = { dir: 'in', identify: true, lba: 0, remaining: 1, blockSectors: 1, lba48: false, chs: false };
        return this.blockReady(SECTOR_BYTES);
      }
      case C.PACKET: {
        if (this.features & 0x01 && !this.dmaEngine) return this.abort(); // DMA asked for, none to do it
        // The byte count limit: 0 is not allowed (the host must set one); an odd one is used even.
        const limit = ((this.lbaHigh << 8) | this.lbaMid) & 0xfffe || 0xfffe;
        this.packet = { phase: 'command', data: new Uint8Array(0), limit, dma: (this.features & 0x01) !== 0 };
        this.pos = 0;
        this.end = ATAPI_CDB_BYTES;
        // DRQ for the command bytes, without an interrupt (IDENTIFY PACKET DEVICE word 0: DRQ in 50 µs).
        this.count = (this.count & ~0x07) | ATAPI_IR.COD;
        this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
        return;
      }
      case C.IDENTIFY_DEVICE:
        // A packet device aborts it, leaving its signature for the host to see (ATA-7 volume 1, 6.17).
        this.setSignature();
        this.showingSignature = false;
        return this.abort();
      case C.DEVICE_RESET:
        // The device's own reset: its signature, status 0, no interrupt (ATA-7 volume 1, 6.7).
        dev.reset();
        this.setSignature();
        return;
      case C.EXECUTE_DEVICE_DIAGNOSTIC:
        this.setSignature();
        return this.setIntrq(true);
      case C.SET_FEATURES:
        return this.setFeatures();
      case C.CHECK_POWER_MODE:
        this.count = 0xff;
        return this.complete();
      case C.STANDBY_IMMEDIATE:
      case C.IDLE_IMMEDIATE:
        return this.complete();
      default:
        return this.abort();
    }
  }

  /** The host writes the command bytes; the twelfth runs the command. */
  private writePacketCommand(size: AccessSize, v: number): void {
    const p = this.packet!;
    if (p.phase !== 'command') return;
    for (let i = 0; i < size && this.pos < ATAPI_CDB_BYTES; i++) this.buffer[this.pos++] = (v >>> (8 * i)) & 0xff;
    if (this.pos < ATAPI_CDB_BYTES) return;
    const dev = this.selected() as AtapiDevice;
    const r = dev.cdrom.execute(this.buffer.slice(0, ATAPI_CDB_BYTES));
    this.pos = this.end = 0;
    if (!r.ok) {
      this.packet = null;
      // CHECK CONDITION: the sense key in the error register (ATA-7 volume 1, 6.21, PACKET's outputs).
      this.error = r.sense.key << 4;
      this.count = (this.count & ~0x07) | ATAPI_IR.IO | ATAPI_IR.COD;
      this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.ERR;
      return this.setIntrq(true);
    }
    if (!r.data.length) return this.packetComplete();
    if (p.dma) {
      // The response waits for the bus master (DMARQ; DRQ shown as QEMU shows it).
      this.packetDma = r.data;
      this.packet = null;
      this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
      return this.dmaEngine!.requested();
    }
    p.phase = 'data';
    p.data = r.data;
    this.nextPiece();
  }

  /** Offer the next piece of the response: at most the byte count limit, its size in LBA mid/high. */
  private nextPiece(): void {
    const p = this.packet!;
    const bytes = Math.min(p.data.length - this.end, p.limit);
    this.pos = this.end;
    this.end += bytes;
    this.lbaMid = bytes & 0xff;
    this.lbaHigh = bytes >>> 8;
    this.count = (this.count & ~0x07) | ATAPI_IR.IO;
    this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.DRQ;
    this.setIntrq(true);
  }

  private readPacketData(size: AccessSize): number {
    const p = this.packet!;
    if (p.phase !== 'data') return 0;
    let v = 0;
    // The piece may end mid-access (an odd length): the bytes past it read as zero.
    for (let i = 0; i < size; i++) if (this.pos + i < this.end) v |= p.data[this.pos + i] << (8 * i);
    this.pos += size;
    if (this.pos >= this.end) {
      if (this.end < p.data.length) this.nextPiece();
      else this.packetComplete();
    }
    return v >>> 0;
  }

  /** The command is done: status, interrupt reason I/O and C/D, an interrupt (ATA-7 volume 2, 9.10). */
  private packetComplete(): void {
    this.packet = null;
    this.pos = this.end = 0;
    this.count = (this.count & ~0x07) | ATAPI_IR.IO | ATAPI_IR.COD;
    this.complete();
  }

  // ---- DMA (the bus master's side) -------------------------------------------------------------

  /** The DMA command waiting for data: its direction and length, or null. */
  get dmaPending(): { toMemory: boolean; bytes: number } | null {
    if (this.packetDma) return { toMemory: true, bytes: this.packetDma.length };
    return this.dma && { toMemory: this.dma.toMemory, bytes: this.dma.count * SECTOR_BYTES };
  }

  /**
   * A read's data from the medium (the engine scatters it into memory), or null when the medium
   * failed: the command has then ended with an error (and its interrupt), nothing to move.
   */
  dmaReadData(): Uint8Array | null {
    if (this.packetDma) return this.packetDma;
    const d = this.dma!;
    const data = new Uint8Array(d.count * SECTOR_BYTES);
    if (!this.mediumDid(() => d.dev.disk.read(d.lba, d.count, data), d.dev, d.lba, d.lba48, d.chs)) {
      this.dma = null;
      return null;
    }
    return data;
  }

  /** The engine moved all the data (a write's gathered from memory): the command completes with an interrupt. */
  dmaComplete(written?: Uint8Array): void {
    if (this.packetDma) {
      this.packetDma = null;
      return this.packetComplete();
    }
    const d = this.dma!;
    this.dma = null;
    if (written && !this.mediumDid(() => d.dev.disk.write(d.lba, written), d.dev, d.lba, d.lba48, d.chs)) return;
    this.writeAddress(d.dev, d.lba + d.count - 1, d.lba48, d.chs, 0);
    this.complete();
  }

  /**
   * Run a medium access; when the medium cannot give its bytes (a lazily read image whose server
   * failed), the command ends as a disk's unrecoverable error does: ERR with UNC, the address
   * registers at the first sector of the failed block (ATA-7 volume 1, 6.35.6 READ SECTORS
   * outputs), no data request. False then.
   */
  private mediumDid(access: () => void, dev: AtaDevice, lba: number, lba48: boolean, chs: boolean): boolean {
    try {
      access();
      return true;
    } catch (e) {
      if (!(e instanceof MediumError)) throw e;
      this.transfer = null;
      this.end = this.pos = 0;
      this.writeAddress(dev, lba, lba48, chs, 0);
      this.fail(ATA_ER.UNC);
      return false;
    }
  }

  private complete(): void {
    this.status = ATA_SR.DRDY | ATA_SR.DSC;
    this.setIntrq(true);
  }

  private abort(): void {
    this.fail(ATA_ER.ABRT);
  }

  private fail(error: number): void {
    this.error = error;
    this.status = ATA_SR.DRDY | ATA_SR.DSC | ATA_SR.ERR;
    this.setIntrq(true);
  }
}
