/**
 * An ATAPI CD-ROM drive (QEMU's ide-cd, what -cdrom attaches): its tray and the disc in it (an ISO
 * image held in memory, read-only, 2048-byte sectors), the IDENTIFY PACKET DEVICE data
 * (ATA/ATAPI-7 volume 1, 7.17) and the SCSI/MMC commands its packets carry (SPC-3 for the common
 * ones, MMC-5 for the CD's). The PACKET protocol itself (the 12 command bytes, the byte count
 * limit, the interrupt reason) lives with the channel (ata.ts); this file answers one command
 * block at a time with the data to send to the host, or a CHECK CONDITION whose sense data the
 * next REQUEST SENSE returns.
 *
 * The commands are the ones firmware and Linux's sr driver (through libata) send: SeaBIOS uses
 * TEST UNIT READY, REQUEST SENSE, READ CAPACITY and READ(10) to boot El Torito; Linux adds
 * INQUIRY (with its vital product data pages), MODE SENSE(10), READ TOC, GET CONFIGURATION, GET
 * EVENT STATUS NOTIFICATION, READ DISC and TRACK INFORMATION (the cdrom layer's, for the last
 * written block) and the tray commands.
 *
 * The disc can change while the machine runs (the host's insert and eject; the guest's START STOP
 * UNIT), as MMC-5 4.1.6 and 4.1.8 describe and QEMU's ide/atapi.c mostly behaves: commands that
 * need the medium report NOT READY, MEDIUM NOT PRESENT without one; after a new disc the next
 * command that may not run under a unit attention condition reports UNIT ATTENTION, MEDIUM MAY
 * HAVE CHANGED, which stays until REQUEST SENSE reads it (or a command allowed under it
 * succeeds); GET EVENT STATUS NOTIFICATION reports the change as a media event once.
 *
 * Unlike QEMU, a new disc is not first reported as NOT READY (QEMU's cdrom_changed step that shows
 * hosts without event polling the tray open): with it, Linux 6.1's sr meets the unit attention
 * only in its revalidation, after its media-change check has run, keeps its "changed" flag set
 * and refuses the first mount of the new disc with an I/O error (tried with the Linux guest: the
 * second mount worked). With the unit attention alone, as a drive reports it, the first mount
 * reads the new disc.
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
  NOT_READY_TO_READY_CHANGE: 0x28,
  SAVING_PARAMETERS_NOT_SUPPORTED: 0x39,
  MEDIUM_NOT_PRESENT: 0x3a,
  MEDIUM_REMOVAL_PREVENTED: 0x53,
} as const;

/** MEDIUM NOT PRESENT's qualifiers (SPC-3, annex D): 3Ah/01h tray closed, 3Ah/02h tray open. */
export const MEDIUM_NOT_PRESENT_TRAY_CLOSED = 0x01;
export const MEDIUM_NOT_PRESENT_TRAY_OPEN = 0x02;

/** GET EVENT STATUS NOTIFICATION's media event codes (MMC-5, table 139). */
export const MediaEvent = { NO_CHANGE: 0, EJECT_REQUEST: 1, NEW_MEDIA: 2, MEDIA_REMOVAL: 3 } as const;

/**
 * The commands that run while a unit attention condition is pending (MMC-5, 4.1.6.1: INQUIRY,
 * REQUEST SENSE, GET CONFIGURATION, GET EVENT STATUS NOTIFICATION); any other gets CHECK CONDITION.
 */
const ALLOW_UNIT_ATTENTION: ReadonlySet<number> = new Set([0x12, 0x03, 0x46, 0x4a]);
/** The commands that need the medium (MMC-5, 4.1.8; QEMU's CHECK_READY set, and READ TRACK INFORMATION). */
const NEED_MEDIUM: ReadonlySet<number> = new Set([0x00, 0x25, 0x28, 0x2b, 0x43, 0x51, 0x52, 0xa8]);

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

/** A command's outcome: GOOD with the data for the host (maybe none), or CHECK CONDITION. */
export type PacketResult = { ok: true; data: Uint8Array } | { ok: false; sense: Sense };

/** INQUIRY's peripheral device type (SPC-3, table 83): 05h, a CD/DVD device. */
const PERIPHERAL_CD_DVD = 0x05;
/** INQUIRY's T10 vendor identification (8 ASCII bytes, space-padded). */
const VENDOR = 'HVM';
/** The vital product data pages kept (SPC-3, 7.6.12: in ascending order). */
const VPD_PAGES = [0x00, 0x80, 0x83];
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
  /** The disc in the drive (null: none), whether or not the tray is open. */
  private disc: Uint8Array | null;
  /** The tray is out (the guest's START STOP UNIT eject, or the host's eject): no disc is ready. */
  trayOpen = false;
  /** The sense data of the last CHECK CONDITION, until REQUEST SENSE reads it. */
  private sense: Sense = { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 };
  /** PREVENT ALLOW MEDIUM REMOVAL's prevent bit (reported by GET EVENT STATUS NOTIFICATION). */
  locked = false;
  /**
   * A disc came in that the host has not been told of: the next command not allowed under a unit
   * attention condition reports UNIT ATTENTION, MEDIUM MAY HAVE CHANGED.
   */
  private changed = false;
  /** The media event GET EVENT STATUS NOTIFICATION reports next (MediaEvent; reading it clears it). */
  private mediaEvent: number = MediaEvent.NO_CHANGE;

  constructor(
    /** The disc: an ISO image (never written), or null for an empty drive. */
    image: Uint8Array | null,
    /** INQUIRY's product and IDENTIFY's model. */
    readonly model = 'HVM DVD-ROM',
    readonly serial = 'HVMCD0001',
  ) {
    if (image) AtapiCdrom.check(image);
    this.disc = image;
  }

  private static check(image: Uint8Array): void {
    const why = checkCdromImage(image.length);
    if (why) throw new Error(`the CD image ${why}`);
  }

  /** The disc in the drive (null: none). */
  get image(): Uint8Array | null {
    return this.disc;
  }

  /** The disc's 2048-byte sectors (0 without one). */
  get totalSectors(): number {
    return this.disc ? this.disc.length / CDROM_SECTOR_BYTES : 0;
  }

  /** A disc is in the drive and the tray is closed: the commands that read it can run. */
  get ready(): boolean {
    return this.disc !== null && !this.trayOpen;
  }

  /**
   * The host puts a disc in the drive (QEMU's change): the tray opens (a lock is overridden, as
   * QEMU's eject -f does), the old disc goes, the new one comes in and the tray closes. The guest
   * learns of it at its next commands and by a new-media event.
   */
  insert(image: Uint8Array): void {
    AtapiCdrom.check(image);
    this.disc = image;
    this.trayOpen = false;
    this.locked = false;
    this.changed = true;
    this.mediaEvent = MediaEvent.NEW_MEDIA;
  }

  /** The host takes the disc out (QEMU's eject -f): the tray stays open, empty, a lock overridden. */
  eject(): void {
    this.disc = null;
    this.trayOpen = true;
    this.locked = false;
    this.changed = false;
    this.mediaEvent = MediaEvent.MEDIA_REMOVAL;
  }

  /** A reset clears the sense data and the lock; the tray and the disc stay as they are. */
  reset(): void {
    this.sense = { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 };
    this.locked = false;
  }

  /** The drive's state (the disc's bytes are media, not state). */
  saveState(): {
    sense: Sense;
    locked: boolean;
    trayOpen: boolean;
    disc: boolean;
    changed: boolean;
    mediaEvent: number;
  } {
    return {
      sense: { ...this.sense },
      locked: this.locked,
      trayOpen: this.trayOpen,
      disc: this.disc !== null,
      changed: this.changed,
      mediaEvent: this.mediaEvent,
    };
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
    const r = this.gate(cdb[0]) ?? this.run(cdb);
    if (cdb[0] !== ScsiCmd.REQUEST_SENSE)
      this.sense = r.ok ? { key: SenseKey.NO_SENSE, asc: 0, ascq: 0 } : { ...r.sense };
    return r;
  }

  /**
   * What stops a command before it runs (QEMU's ide_atapi_cmd, in its order): a unit attention
   * condition still pending; a disc changed since the last command; no disc ready.
   */
  private gate(op: number): PacketResult | null {
    if (ALLOW_UNIT_ATTENTION.has(op)) return null;
    if (this.sense.key === SenseKey.UNIT_ATTENTION) return { ok: false, sense: { ...this.sense } };
    if (this.changed && this.ready) {
      this.changed = false;
      return check(SenseKey.UNIT_ATTENTION, Asc.NOT_READY_TO_READY_CHANGE);
    }
    if (NEED_MEDIUM.has(op) && !this.ready)
      return check(
        SenseKey.NOT_READY,
        Asc.MEDIUM_NOT_PRESENT,
        this.trayOpen ? MEDIUM_NOT_PRESENT_TRAY_OPEN : MEDIUM_NOT_PRESENT_TRAY_CLOSED,
      );
    return null;
  }

  /** The sectors [lba, lba + count) of the disc, without a copy (null past its end, or with no disc ready). */
  sectors(lba: number, count: number): Uint8Array | null {
    if (!this.disc || !this.ready || lba + count > this.totalSectors) return null;
    return this.disc.subarray(lba * CDROM_SECTOR_BYTES, (lba + count) * CDROM_SECTOR_BYTES);
  }

  private run(cdb: Uint8Array): PacketResult {
    const C = ScsiCmd;
    switch (cdb[0]) {
      case C.TEST_UNIT_READY:
      case C.SEEK_10:
      case C.SET_CD_SPEED:
        return good();
      case C.START_STOP_UNIT:
        return this.startStopUnit(cdb);
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

  /**
   * START STOP UNIT (MMC-5, 6.39): with LoEj, Start 0 opens the tray (refused while the host
   * prevents removal: MEDIUM REMOVAL PREVENTED, NOT READY with a disc, ILLEGAL REQUEST without, as
   * QEMU), Start 1 closes it; a disc closed in comes as a new one (a unit attention and a
   * new-media event). Without LoEj (spin up or down) or with a power condition: nothing to do.
   */
  private startStopUnit(cdb: Uint8Array): PacketResult {
    const start = (cdb[4] & 1) !== 0;
    const loadEject = (cdb[4] & 2) !== 0;
    if (cdb[4] & 0xf0 || !loadEject) return good();
    if (!start && !this.trayOpen) {
      if (this.locked)
        return check(this.disc ? SenseKey.NOT_READY : SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_REMOVAL_PREVENTED, 0x02);
      this.trayOpen = true;
      this.changed = false;
      if (this.disc) this.mediaEvent = MediaEvent.MEDIA_REMOVAL;
    } else if (start && this.trayOpen) {
      this.trayOpen = false;
      if (this.disc) {
        this.changed = true;
        this.mediaEvent = MediaEvent.NEW_MEDIA;
      }
    }
    return good();
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

  /**
   * INQUIRY (SPC-3, 6.4): the standard data (6.4.2), or with EVPD the vital product data page the
   * page code names (7.6): 00h the pages kept, 80h the unit serial number, 83h the device
   * identification. A page code without EVPD, or a page not kept, is an invalid field.
   */
  private inquiry(cdb: Uint8Array): PacketResult {
    const allocation = be16(cdb, 3);
    if (cdb[1] & 1) {
      const page = this.vpdPage(cdb[2]);
      return page ? good(upTo(page, allocation)) : invalidField();
    }
    if (cdb[2] !== 0) return invalidField();
    const b = new Uint8Array(36);
    b[0] = PERIPHERAL_CD_DVD;
    b[1] = 0x80; // removable
    b[2] = 0x00; // no SCSI version claimed, as ATAPI drives report
    b[3] = 0x21; // ATAPI version 2, response data format 1
    b[4] = 36 - 5;
    putAscii(b, 8, 8, VENDOR);
    putAscii(b, 16, 16, this.model);
    putAscii(b, 32, 4, '1.0');
    return good(upTo(b, allocation));
  }

  /** A vital product data page (SPC-3, 7.6): a 4-byte header (device type, page code, length), then its body. */
  private vpdPage(code: number): Uint8Array | null {
    let body: Uint8Array;
    if (code === 0x00) body = Uint8Array.from(VPD_PAGES);
    else if (code === 0x80) {
      // Unit serial number (7.6.10): ASCII, the serial IDENTIFY PACKET DEVICE gives.
      body = new Uint8Array(this.serial.length);
      putAscii(body, 0, body.length, this.serial);
    } else if (code === 0x83) {
      // Device identification (7.6.4): one descriptor, T10 vendor ID based (identifier type 1),
      // ASCII, for the logical unit: the vendor (8 bytes) then the model and serial, as libata's
      // SCSI translation builds it for an ATA disk ("ATA", the model, the serial).
      const id = VENDOR.padEnd(8, ' ') + this.model.padEnd(16, ' ') + this.serial;
      body = new Uint8Array(4 + id.length);
      body[0] = 0x02; // protocol identifier 0, code set 2: ASCII
      body[1] = 0x01; // PIV 0, association 0 (the logical unit), identifier type 1: T10 vendor ID
      body[3] = id.length;
      putAscii(body, 4, id.length, id);
    } else return null;
    const b = new Uint8Array(4 + body.length);
    b[0] = PERIPHERAL_CD_DVD;
    b[1] = code;
    putBe16(b, 2, body.length);
    b.set(body, 4);
    return b;
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
    // Medium type (SFF-8020i, table 92): 120 mm CD-ROM, data only; without a disc, 70h (door
    // closed, no disc) or 71h (door open).
    b[2] = this.ready ? 0x01 : this.trayOpen ? 0x71 : 0x70;
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
   * GET CONFIGURATION (MMC-5, 6.6): the feature header with the current profile (CD-ROM; 0000h, none,
   * without a disc ready), then the Profile List (0000h, the one profile, current with a disc) and
   * Core (0001h, ATAPI) features. RT 0 gives every feature from the starting feature number, 1 only
   * the current ones (both here), 2 that one.
   */
  private getConfiguration(cdb: Uint8Array): PacketResult {
    const rt = cdb[1] & 0x03;
    const from = be16(cdb, 2);
    if (rt === 3) return invalidField();
    const profileList = new Uint8Array(8);
    profileList[2] = 0x03; // version 0, persistent, current
    profileList[3] = 4;
    putBe16(profileList, 4, PROFILE_CD_ROM);
    profileList[6] = this.ready ? 0x01 : 0x00; // the current profile, with a disc
    const core = new Uint8Array(12);
    putBe16(core, 0, 0x0001);
    core[2] = 0x07; // version 1, persistent, current
    core[3] = 8;
    putBe32(core, 4, 2); // physical interface standard: ATAPI
    const features = [profileList, core].filter((f) => (rt === 2 ? be16(f, 0) === from : be16(f, 0) >= from));
    const length = 8 + features.reduce((n, f) => n + f.length, 0);
    const b = new Uint8Array(length);
    putBe32(b, 0, length - 4); // data length: what follows it
    putBe16(b, 6, this.ready ? PROFILE_CD_ROM : 0);
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
   * GET EVENT STATUS NOTIFICATION (MMC-5, 6.8), polled only: the media class (7.3.4: table 139's
   * event, then the media status: tray open, disc present) reports the last change once (a new
   * disc, the disc removed) and then "no change"; a request without the media class gets the
   * header alone with "no event available".
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
      b[4] = this.mediaEvent;
      b[5] = (this.trayOpen ? 0x01 : 0) | (this.ready ? 0x02 : 0);
      this.mediaEvent = MediaEvent.NO_CHANGE;
    } else {
      b = new Uint8Array(4);
      putBe16(b, 0, 2);
      b[2] = 0x80; // NEA: no event of the classes asked for
    }
    b[3] = MEDIA; // the classes supported
    return good(upTo(b, be16(cdb, 7)));
  }
}
