/**
 * An ATAPI CD-ROM drive (QEMU's ide-cd, what -cdrom attaches): the disc (an ISO image held in
 * memory, read-only, 2048-byte sectors), the IDENTIFY PACKET DEVICE data (ATA/ATAPI-7 volume 1,
 * 7.17) and the SCSI/MMC commands its packets carry (SPC-3 for the common ones, MMC-5 for the
 * CD's). The PACKET protocol itself (the 12 command bytes, the byte count limit, the interrupt
 * reason) lives with the channel (ata.ts); this file answers one command block at a time with the
 * data to send to the host, or a CHECK CONDITION whose sense data the next REQUEST SENSE returns.
 *
 * The commands are the ones firmware and Linux's sr driver (through libata) send: SeaBIOS uses
 * TEST UNIT READY, REQUEST SENSE, READ CAPACITY and READ(10) to boot El Torito; Linux adds
 * INQUIRY, MODE SENSE(10), READ TOC, GET CONFIGURATION, GET EVENT STATUS NOTIFICATION, READ DISC
 * and TRACK INFORMATION (the cdrom layer's, for the last written block) and the door commands. The disc is always present and never changes, so no UNIT ATTENTION is reported
 * (QEMU reports one after power-on; SeaBIOS and Linux both retry past it, and need not).
 */

import { checkCdromImage, CDROM_SECTOR_BYTES } from '../../shared/api';

export { CDROM_SECTOR_BYTES };

/** SCSI operation codes (SPC-3 and MMC-5 command tables). */
export const ScsiCmd = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  INQUIRY: 0x12,
  START_STOP_UNIT: 0x1b,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  READ_CAPACITY: 0x25,
  READ_10: 0x28,
  SEEK_10: 0x2b,
  READ_TOC: 0x43,
  GET_CONFIGURATION: 0x46,
  GET_EVENT_STATUS_NOTIFICATION: 0x4a,
  READ_DISC_INFORMATION: 0x51,
  READ_TRACK_INFORMATION: 0x52,
  MODE_SENSE_10: 0x5a,
  READ_12: 0xa8,
  SET_CD_SPEED: 0xbb,
} as const;

/** Sense keys (SPC-3, table 27). */
export const SenseKey = { NO_SENSE: 0x0, NOT_READY: 0x2, ILLEGAL_REQUEST: 0x5, UNIT_ATTENTION: 0x6 } as const;

/** Additional sense codes (SPC-3, annex D) the drive reports. */
export const Asc = {
  INVALID_COMMAND_OPERATION_CODE: 0x20,
  LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE: 0x21,
  INVALID_FIELD_IN_CDB: 0x24,
  SAVING_PARAMETERS_NOT_SUPPORTED: 0x39,
} as const;

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

/** A command's outcome: GOOD with the data for the host (maybe none), or CHECK CONDITION. */
export type PacketResult = { ok: true; data: Uint8Array } | { ok: false; sense: Sense };

/** MMC-5 profile 0008h: CD-ROM (GET CONFIGURATION's current profile). */
const PROFILE_CD_ROM = 0x0008;
/** A CD's lead-in: LBA 0 is MSF 00:02:00 (MMC-5, 4.2.3.4.1). */
const MSF_OFFSET = 150;
/** The read speed MODE SENSE reports (kB/s: 1× is 176.4), that of a 4× drive. */
const SPEED_KBPS = 706;

const good = (data: Uint8Array = new Uint8Array(0)): PacketResult => ({ ok: true, data });
const check = (key: number, asc: number, ascq = 0): PacketResult => ({ ok: false, sense: { key, asc, ascq } });
const invalidField = () => check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_FIELD_IN_CDB);

const be16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const be32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
function putBe16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}
function putBe32(b: Uint8Array, at: number, v: number): void {
  putBe16(b, at, v >>> 16);
  putBe16(b, at + 2, v & 0xffff);
}
/** ASCII, space-padded to `length` bytes (SPC-3's INQUIRY strings). */
function putAscii(b: Uint8Array, at: number, length: number, s: string): void {
  const padded = s.padEnd(length, ' ');
  for (let i = 0; i < length; i++) b[at + i] = padded.charCodeAt(i);
}
/** What the host asked for: at most its allocation length. */
const upTo = (data: Uint8Array, allocation: number) => data.subarray(0, Math.min(data.length, allocation));

export class AtapiCdrom {
  readonly totalSectors: number;
  /** The sense data of the last CHECK CONDITION, until REQUEST SENSE reads it. */
  private sense: Sense = { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 };
  /** PREVENT ALLOW MEDIUM REMOVAL's prevent bit (reported by GET EVENT STATUS NOTIFICATION). */
  locked = false;

  constructor(
    /** The disc: an ISO image (never written). */
    readonly image: Uint8Array,
    /** INQUIRY's product and IDENTIFY's model. */
    readonly model = 'HVM DVD-ROM',
    readonly serial = 'HVMCD0001',
  ) {
    const why = checkCdromImage(image.length);
    if (why) throw new Error(`the CD image ${why}`);
    this.totalSectors = image.length / CDROM_SECTOR_BYTES;
  }

  reset(): void {
    this.sense = { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 };
    this.locked = false;
  }

  /** The drive's state (the disc is the config's, not state). */
  saveState(): { sense: Sense; locked: boolean } {
    return { sense: { ...this.sense }, locked: this.locked };
  }

  /**
   * The 256 IDENTIFY PACKET DEVICE words (ATA-7 volume 1, table 21). Word 0 says: an ATAPI device
   * (bits 15–14 = 10b) of SCSI peripheral type 5 (CD/DVD), removable, DRQ within 50 µs of the
   * PACKET command (no interrupt asks for the command bytes), 12-byte packets.
   */
  identify(dmaMode: number | null): Uint16Array {
    const w = new Uint16Array(256);
    const text = (first: number, words: number, s: string): void => {
      const padded = s.padEnd(words * 2, ' ');
      for (let i = 0; i < words; i++) w[first + i] = (padded.charCodeAt(2 * i) << 8) | padded.charCodeAt(2 * i + 1);
    };
    w[0] = 0x8000 | (0x05 << 8) | 0x80 | (0b10 << 5);
    text(10, 10, this.serial);
    text(23, 4, '1.0');
    text(27, 20, this.model);
    // LBA (always, for packet devices), IORDY; DMA when a bus master is attached.
    w[49] = (1 << 11) | (1 << 9) | (dmaMode !== null ? 1 << 8 : 0);
    w[53] = dmaMode !== null ? 0x0007 : 0x0003;
    if (dmaMode !== null) {
      w[63] = 0x0007 | ((dmaMode & 0xf8) === 0x20 ? 0x100 << (dmaMode & 7) : 0);
      w[88] = 0x003f | ((dmaMode & 0xf8) === 0x40 ? 0x100 << (dmaMode & 7) : 0);
    }
    w[64] = 0x0003; // PIO modes 3 and 4
    w[65] = w[66] = w[67] = w[68] = 120;
    w[71] = 30; // typical time (ns) from PACKET to release of the bus
    w[72] = 30;
    w[80] = 0x00f0; // ATA/ATAPI-4 to -7
    w[82] = (1 << 14) | (1 << 4); // NOP, the PACKET feature set
    w[83] = 1 << 14;
    w[84] = 1 << 14;
    w[85] = (1 << 14) | (1 << 4);
    w[87] = 1 << 14;
    w[93] = (1 << 14) | (1 << 13) | (1 << 3) | (1 << 1) | 1; // device 0 passed, 80-conductor cable
    return w;
  }

  /** Run one command block (12 bytes) and say how it ended. */
  execute(cdb: Uint8Array): PacketResult {
    const r = this.run(cdb);
    if (cdb[0] !== ScsiCmd.REQUEST_SENSE)
      this.sense = r.ok ? { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 } : { ...r.sense };
    return r;
  }

  /** The sectors [lba, lba + count) of the disc, without a copy (null past its end). */
  sectors(lba: number, count: number): Uint8Array | null {
    if (lba + count > this.totalSectors) return null;
    return this.image.subarray(lba * CDROM_SECTOR_BYTES, (lba + count) * CDROM_SECTOR_BYTES);
  }

  private run(cdb: Uint8Array): PacketResult {
    const C = ScsiCmd;
    switch (cdb[0]) {
      case C.TEST_UNIT_READY:
      case C.START_STOP_UNIT: // the disc stays in: there is no tray to open
      case C.SEEK_10:
      case C.SET_CD_SPEED:
        return good();
      case C.PREVENT_ALLOW_MEDIUM_REMOVAL:
        this.locked = (cdb[4] & 1) !== 0;
        return good();
      case C.REQUEST_SENSE:
        return good(upTo(this.requestSense(), cdb[4]));
      case C.INQUIRY:
        return this.inquiry(cdb);
      case C.READ_CAPACITY: {
        const b = new Uint8Array(8);
        putBe32(b, 0, this.totalSectors - 1); // the last logical block
        putBe32(b, 4, CDROM_SECTOR_BYTES);
        return good(b);
      }
      case C.READ_10:
        return this.read(be32(cdb, 2), be16(cdb, 7));
      case C.READ_12:
        return this.read(be32(cdb, 2), be32(cdb, 6));
      case C.MODE_SENSE_10:
        return this.modeSense(cdb);
      case C.READ_TOC:
        return this.readToc(cdb);
      case C.GET_CONFIGURATION:
        return this.getConfiguration(cdb);
      case C.GET_EVENT_STATUS_NOTIFICATION:
        return this.getEventStatus(cdb);
      case C.READ_DISC_INFORMATION:
        return this.readDiscInformation(cdb);
      case C.READ_TRACK_INFORMATION:
        return this.readTrackInformation(cdb);
      default:
        return check(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE);
    }
  }

  /** Fixed-format sense data (SPC-3, 4.5.3): 18 bytes, current errors. */
  private requestSense(): Uint8Array {
    const b = new Uint8Array(18);
    b[0] = 0x70;
    b[2] = this.sense.key;
    b[7] = 10; // additional sense length
    b[12] = this.sense.asc;
    b[13] = this.sense.ascq;
    this.sense = { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 };
    return b;
  }

  /** Standard INQUIRY data (SPC-3, 6.4.2); vital product data pages are not kept. */
  private inquiry(cdb: Uint8Array): PacketResult {
    if (cdb[1] & 1) return invalidField(); // EVPD
    const b = new Uint8Array(36);
    b[0] = 0x05; // CD/DVD device
    b[1] = 0x80; // removable
    b[2] = 0x00; // no SCSI version claimed, as ATAPI drives report
    b[3] = 0x21; // ATAPI version 2, response data format 1
    b[4] = 36 - 5;
    putAscii(b, 8, 8, 'HVM');
    putAscii(b, 16, 16, this.model);
    putAscii(b, 32, 4, '1.0');
    return good(upTo(b, be16(cdb, 3)));
  }

  private read(lba: number, count: number): PacketResult {
    const data = this.sectors(lba, count);
    if (!data) return check(SenseKey.ILLEGAL_REQUEST, Asc.LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE);
    return good(data);
  }

  /**
   * MODE SENSE(10) (SPC-3, 6.10): an 8-byte header and the pages asked for: 01h read error
   * recovery and 2Ah the CD capabilities and mechanical status (MMC-5, 7.10), or both (3Fh).
   * Saved values (page control 3) are not kept.
   */
  private modeSense(cdb: Uint8Array): PacketResult {
    const pageControl = cdb[2] >>> 6;
    const page = cdb[2] & 0x3f;
    if (pageControl === 3) return check(SenseKey.ILLEGAL_REQUEST, Asc.SAVING_PARAMETERS_NOT_SUPPORTED);
    const pages: Uint8Array[] = [];
    if (page === 0x01 || page === 0x3f) {
      const p = new Uint8Array(8);
      p[0] = 0x01;
      p[1] = 6;
      p[3] = 5; // read retry count
      pages.push(p);
    }
    if (page === 0x2a || page === 0x3f) {
      const p = new Uint8Array(22);
      p[0] = 0x2a;
      p[1] = 20;
      p[2] = 0x00; // reads CD-ROM only (no CD-R/RW, no DVD)
      p[4] = 0x71; // audio play, composite, digital ports, multi-session
      p[5] = 0x00;
      p[6] = 0x29 | (this.locked ? 0x02 : 0); // tray, eject, lock (and its state)
      putBe16(p, 8, SPEED_KBPS); // maximum read speed (obsolete, still read)
      putBe16(p, 10, 0x100); // volume levels
      putBe16(p, 12, 512); // buffer, KiB
      putBe16(p, 14, SPEED_KBPS);
      pages.push(p);
    }
    if (!pages.length) return invalidField();
    const length = 8 + pages.reduce((n, p) => n + p.length, 0);
    const b = new Uint8Array(length);
    putBe16(b, 0, length - 2); // mode data length: what follows it
    b[2] = 0x01; // medium type: 120 mm CD-ROM, data only
    let at = 8;
    for (const p of pages) {
      b.set(p, at);
      at += p.length;
    }
    return good(upTo(b, be16(cdb, 7)));
  }

  /**
   * READ TOC/PMA/ATIP (MMC-5, 6.26): the disc is one data track (track 1 at LBA 0) and the
   * lead-out (track AAh) after the last sector. Format 0 lists the tracks from the starting track;
   * format 1 gives the first track of the last (only) session. Addresses as LBA, or MSF when the
   * CDB's MSF bit is set.
   */
  private readToc(cdb: Uint8Array): PacketResult {
    const msf = (cdb[1] & 0x02) !== 0;
    // The format is in byte 2; old drivers put it in bits 7–6 of byte 9 (SFF-8020i).
    const format = cdb[2] & 0x0f || cdb[9] >>> 6;
    const start = cdb[6];
    const address = (b: Uint8Array, at: number, lba: number) => {
      if (!msf) return putBe32(b, at, lba);
      const f = lba + MSF_OFFSET;
      b[at + 1] = Math.floor(f / (75 * 60));
      b[at + 2] = Math.floor(f / 75) % 60;
      b[at + 3] = f % 75;
    };
    const descriptor = (track: number, lba: number) => {
      const d = new Uint8Array(8);
      d[1] = 0x14; // ADR 1 (current position), control 4 (data track, copy not permitted)
      d[2] = track;
      address(d, 4, lba);
      return d;
    };
    let descriptors: Uint8Array[];
    if (format === 0) {
      if (start > 1 && start !== 0xaa) return invalidField();
      descriptors = [...(start <= 1 ? [descriptor(1, 0)] : []), descriptor(0xaa, this.totalSectors)];
    } else if (format === 1) descriptors = [descriptor(1, 0)];
    else return invalidField();
    const b = new Uint8Array(4 + descriptors.length * 8);
    putBe16(b, 0, b.length - 2);
    b[2] = 1; // first track (format 1: first session)
    b[3] = 1; // last track (last session)
    descriptors.forEach((d, i) => b.set(d, 4 + i * 8));
    return good(upTo(b, be16(cdb, 7)));
  }

  /**
   * GET CONFIGURATION (MMC-5, 6.6): the feature header with the current profile (CD-ROM), then
   * the Profile List (0000h, the one profile) and Core (0001h, ATAPI) features. RT 0 gives every
   * feature from the starting feature number, 1 only the current ones (both here), 2 that one.
   */
  private getConfiguration(cdb: Uint8Array): PacketResult {
    const rt = cdb[1] & 0x03;
    const from = be16(cdb, 2);
    if (rt === 3) return invalidField();
    const profileList = new Uint8Array(8);
    profileList[2] = 0x03; // version 0, persistent, current
    profileList[3] = 4;
    putBe16(profileList, 4, PROFILE_CD_ROM);
    profileList[6] = 0x01; // the current profile
    const core = new Uint8Array(12);
    putBe16(core, 0, 0x0001);
    core[2] = 0x07; // version 1, persistent, current
    core[3] = 8;
    putBe32(core, 4, 2); // physical interface standard: ATAPI
    const features = [profileList, core].filter((f) => (rt === 2 ? be16(f, 0) === from : be16(f, 0) >= from));
    const length = 8 + features.reduce((n, f) => n + f.length, 0);
    const b = new Uint8Array(length);
    putBe32(b, 0, length - 4); // data length: what follows it
    putBe16(b, 6, PROFILE_CD_ROM);
    let at = 8;
    for (const f of features) {
      b.set(f, at);
      at += f.length;
    }
    return good(upTo(b, be16(cdb, 7)));
  }

  /**
   * READ DISC INFORMATION (MMC-5, 6.22), standard disc information (data type 000b; the others are
   * for recordable media): a pressed CD-ROM, finalized, one complete session holding track 1.
   */
  private readDiscInformation(cdb: Uint8Array): PacketResult {
    if (cdb[1] & 0x07) return invalidField();
    const b = new Uint8Array(34);
    putBe16(b, 0, b.length - 2); // disc information length: what follows it
    b[2] = 0x0e; // not erasable, last session complete (11b), disc finalized (10b)
    b[3] = 1; // first track on the disc
    b[4] = 1; // sessions
    b[5] = 1; // first track of the last session
    b[6] = 1; // last track of the last session
    b[7] = 0x20; // unrestricted use; no disc ID, bar code or application code given
    b[8] = 0x00; // disc type: CD-DA or CD-ROM
    return good(upTo(b, be16(cdb, 7)));
  }

  /**
   * READ TRACK INFORMATION (MMC-5, 6.27): the track information block of MMC-3's length (36 bytes),
   * for the one track, asked for by an LBA in it (address type 00b), its number (01b) or its
   * session's (10b). A data track recorded uninterrupted, mode 1, neither blank nor writable, so
   * no next writable or last recorded address is given (NWA_V = LRA_V = 0).
   */
  private readTrackInformation(cdb: Uint8Array): PacketResult {
    const type = cdb[1] & 0x03;
    const n = be32(cdb, 2);
    if (type === 0 && n >= this.totalSectors)
      return check(SenseKey.ILLEGAL_REQUEST, Asc.LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE);
    if (type === 3 || (type !== 0 && n !== 1)) return invalidField();
    const b = new Uint8Array(36);
    putBe16(b, 0, b.length - 2); // data length: what follows it
    b[2] = 1; // track number
    b[3] = 1; // session number
    b[5] = 0x04; // track mode 4: data, recorded uninterrupted (the TOC's control nibble)
    b[6] = 0x01; // data mode 1
    putBe32(b, 8, 0); // track start
    putBe32(b, 24, this.totalSectors); // track size
    return good(upTo(b, be16(cdb, 7)));
  }

  /**
   * GET EVENT STATUS NOTIFICATION (MMC-5, 6.8), polled only: the media class says a disc is
   * present and nothing changed; a request without the media class gets the header alone with
   * "no event available".
   */
  private getEventStatus(cdb: Uint8Array): PacketResult {
    if (!(cdb[1] & 1)) return invalidField(); // asynchronous operation is not supported
    const MEDIA = 1 << 4;
    const requested = cdb[4];
    let b: Uint8Array;
    if (requested & MEDIA) {
      b = new Uint8Array(8);
      putBe16(b, 0, 6);
      b[2] = 4; // notification class: media
      b[4] = 0; // no change
      b[5] = 0x02; // media present, tray closed
    } else {
      b = new Uint8Array(4);
      putBe16(b, 0, 2);
      b[2] = 0x80; // NEA: no event of the classes asked for
    }
    b[3] = MEDIA; // the classes supported
    return good(upTo(b, be16(cdb, 7)));
  }
}
