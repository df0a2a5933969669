/**
 * The CD-ROM drive's tray and disc changing while the machine runs (MMC-5 4.1.6 and 4.1.8, as
 * QEMU's ide/atapi.c behaves): an empty drive is NOT READY, MEDIUM NOT PRESENT; a disc put in by
 * the host is reported by the next command (UNIT ATTENTION 28h until REQUEST SENSE) and once as a
 * media event; the host's eject and the guest's START STOP UNIT open the
 * tray, PREVENT ALLOW MEDIUM REMOVAL keeps the guest from it; INQUIRY's vital product data pages.
 * Driven through the ports, as a driver does.
 */
import { describe, expect, it } from 'vitest';
import { ATA_SR } from '../../src/machine/devices/ata';
import { Asc, AtapiCdrom, MediaEvent, ScsiCmd, SenseKey } from '../../src/machine/devices/atapi';
import { ErrorCode } from '../../src/shared/api';
import { atapiRig, disc, SECONDARY } from './atapi-rig';
import { ideMachine } from './ide-rig';

const { ERROR } = SECONDARY;

/** The rig, and a command that says how it ended: the data, or the sense key from the error register. */
function drive(sectors: number | null = 300) {
  const r = atapiRig(sectors);
  const run = (cdb: number[]): { data: Uint8Array } | { checkCondition: number } => {
    r.packet(cdb);
    if (r.status() & ATA_SR.ERR) return { checkCondition: r.io.read(ERROR, 1) >>> 4 };
    return { data: r.response().data };
  };
  /** CHECK CONDITION's sense as REQUEST SENSE gives it (key, ASC, ASCQ), or 'good'. */
  const outcome = (cdb: number[]) => {
    const x = run(cdb);
    if ('data' in x) return 'good';
    const s = r.sense();
    expect(s.key).toBe(x.checkCondition);
    return [s.key, s.asc, s.ascq];
  };
  const TUR = [ScsiCmd.TEST_UNIT_READY];
  const CAPACITY = [ScsiCmd.READ_CAPACITY];
  const lastLba = () => {
    const x = run(CAPACITY);
    if (!('data' in x)) throw new Error(`READ CAPACITY: CHECK CONDITION, key ${x.checkCondition}`);
    return new DataView(x.data.buffer).getUint32(0);
  };
  /** GET EVENT STATUS NOTIFICATION, polled, media class: [event code, media status]. */
  const mediaEvent = () => {
    const x = run([ScsiCmd.GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    if (!('data' in x)) throw new Error('GET EVENT STATUS NOTIFICATION failed');
    expect(x.data[2]).toBe(4); // the media class
    return [x.data[4], x.data[5]];
  };
  const lock = (on: boolean) =>
    expect(outcome([ScsiCmd.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, on ? 1 : 0])).toBe('good');
  /** START STOP UNIT with LoEj: open (eject) or close (load) the tray. */
  const tray = (open: boolean) => outcome([ScsiCmd.START_STOP_UNIT, 0, 0, 0, open ? 0x02 : 0x03]);
  return { ...r, run, outcome, TUR, CAPACITY, lastLba, mediaEvent, lock, tray };
}

const NOT_PRESENT_CLOSED = [SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT, 0x01];
const NOT_PRESENT_OPEN = [SenseKey.NOT_READY, Asc.MEDIUM_NOT_PRESENT, 0x02];
const MAY_HAVE_CHANGED = [SenseKey.UNIT_ATTENTION, Asc.NOT_READY_TO_READY_CHANGE, 0x00];
/** GET EVENT STATUS NOTIFICATION's media status bits (MMC-5, table 140). */
const TRAY_OPEN = 0x01;
const MEDIA_PRESENT = 0x02;

describe('an empty CD-ROM drive', () => {
  it('is NOT READY, MEDIUM NOT PRESENT (tray closed) for the commands that need a disc, and answers the rest', () => {
    const d = drive(null);
    expect(d.outcome(d.TUR)).toEqual(NOT_PRESENT_CLOSED);
    expect(d.outcome(d.CAPACITY)).toEqual(NOT_PRESENT_CLOSED);
    expect(d.outcome([ScsiCmd.READ_10, 0, 0, 0, 0, 0, 0, 0, 1])).toEqual(NOT_PRESENT_CLOSED);
    expect(d.outcome([ScsiCmd.READ_TOC, 0, 0, 0, 0, 0, 0, 0, 12])).toEqual(NOT_PRESENT_CLOSED);
    expect(d.outcome([ScsiCmd.INQUIRY, 0, 0, 0, 36])).toBe('good');
    expect(d.mediaEvent()).toEqual([MediaEvent.NO_CHANGE, 0]);
    // GET CONFIGURATION: no current profile; MODE SENSE's medium type 70h, door closed and no disc.
    const config = d.run([ScsiCmd.GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 32]);
    expect('data' in config && [config.data[6], config.data[7]]).toEqual([0, 0]);
    const mode = d.run([ScsiCmd.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64]);
    expect('data' in mode && mode.data[2]).toBe(0x70);
  });
});

describe('the host changes the disc while the machine runs', () => {
  it('a disc put in an empty drive: a new-media event once; UNIT ATTENTION 28h until REQUEST SENSE; then the disc reads', () => {
    const d = drive(null);
    expect(d.outcome(d.TUR)).toEqual(NOT_PRESENT_CLOSED);
    const image = disc(40);
    d.drive.insert(image);
    // The commands allowed under a unit attention condition are not held up by it.
    expect(d.outcome([ScsiCmd.INQUIRY, 0, 0, 0, 36])).toBe('good');
    expect(d.mediaEvent()).toEqual([MediaEvent.NEW_MEDIA, MEDIA_PRESENT]);
    expect(d.mediaEvent()).toEqual([MediaEvent.NO_CHANGE, MEDIA_PRESENT]);
    expect(d.run(d.TUR)).toEqual({ checkCondition: SenseKey.UNIT_ATTENTION });
    // The condition stays until REQUEST SENSE reads it: READ CAPACITY gets it too.
    expect(d.run(d.CAPACITY)).toEqual({ checkCondition: SenseKey.UNIT_ATTENTION });
    expect(d.sense()).toEqual({ key: MAY_HAVE_CHANGED[0], asc: MAY_HAVE_CHANGED[1], ascq: MAY_HAVE_CHANGED[2] });
    expect(d.outcome(d.TUR)).toBe('good');
    expect(d.lastLba()).toBe(39);
    d.read10(7, 2);
    expect(d.response().data).toEqual(image.slice(7 * 2048, 9 * 2048));
  });

  it('a disc swapped for another: after the unit attention the new one is read, its capacity reported', () => {
    const d = drive(300);
    expect(d.lastLba()).toBe(299);
    const other = disc(50).map((b) => b ^ 0x5a);
    d.drive.insert(other);
    expect(d.outcome(d.CAPACITY)).toEqual(MAY_HAVE_CHANGED);
    expect(d.lastLba()).toBe(49);
    d.read10(3, 1);
    expect(d.response().data).toEqual(other.slice(3 * 2048, 4 * 2048));
  });

  it('the host ejects: the tray stays open and empty (3Ah/02h), a media-removal event; the guest closes it on nothing (3Ah/01h)', () => {
    const d = drive(300);
    d.lock(true); // the host's eject overrides the guest's lock, as QEMU's eject -f
    d.drive.eject();
    expect(d.outcome(d.TUR)).toEqual(NOT_PRESENT_OPEN);
    expect(d.mediaEvent()).toEqual([MediaEvent.MEDIA_REMOVAL, TRAY_OPEN]);
    expect(d.mediaEvent()).toEqual([MediaEvent.NO_CHANGE, TRAY_OPEN]);
    const mode = d.run([ScsiCmd.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64]);
    expect('data' in mode && [mode.data[2], mode.data[8 + 6] & 0x02]).toEqual([0x71, 0]); // door open, unlocked
    expect(d.tray(false)).toBe('good');
    expect(d.outcome(d.TUR)).toEqual(NOT_PRESENT_CLOSED);
    expect(d.mediaEvent()).toEqual([MediaEvent.NO_CHANGE, 0]);
  });

  it('a reset leaves the disc and the tray as they are, and the lock off', () => {
    const d = drive(null);
    d.drive.insert(disc(20));
    expect(d.outcome(d.TUR)).toEqual(MAY_HAVE_CHANGED);
    d.lock(true);
    d.ide.reset();
    expect(d.drive.locked).toBe(false);
    expect(d.outcome(d.TUR)).toBe('good');
    expect(d.lastLba()).toBe(19);
    d.drive.eject();
    d.ide.reset();
    expect(d.outcome(d.TUR)).toEqual(NOT_PRESENT_OPEN);
  });
});

describe("the guest's tray commands", () => {
  it('PREVENT ALLOW MEDIUM REMOVAL keeps START STOP UNIT from ejecting (53h/02h); allowed, the tray opens and closes, and the disc comes back as new', () => {
    const d = drive(300);
    d.lock(true);
    const mode = d.run([ScsiCmd.MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64]);
    expect('data' in mode && mode.data[8 + 6] & 0x02).toBe(0x02); // the lock state
    expect(d.tray(true)).toEqual([SenseKey.NOT_READY, Asc.MEDIUM_REMOVAL_PREVENTED, 0x02]);
    expect(d.outcome(d.TUR)).toBe('good');
    d.lock(false);
    expect(d.tray(true)).toBe('good');
    expect(d.outcome(d.TUR)).toEqual(NOT_PRESENT_OPEN);
    expect(d.mediaEvent()).toEqual([MediaEvent.MEDIA_REMOVAL, TRAY_OPEN]);
    expect(d.tray(false)).toBe('good');
    expect(d.mediaEvent()).toEqual([MediaEvent.NEW_MEDIA, MEDIA_PRESENT]);
    expect(d.outcome(d.TUR)).toEqual(MAY_HAVE_CHANGED);
    expect(d.outcome(d.TUR)).toBe('good');
  });

  it('START STOP UNIT without LoEj, or with a power condition, leaves the tray alone; a locked empty drive refuses with ILLEGAL REQUEST', () => {
    const d = drive(300);
    expect(d.outcome([ScsiCmd.START_STOP_UNIT, 0, 0, 0, 0x00])).toBe('good'); // stop the disc
    expect(d.outcome([ScsiCmd.START_STOP_UNIT, 0, 0, 0, 0x22])).toBe('good'); // power condition 2, LoEj
    expect(d.outcome(d.TUR)).toBe('good');
    const empty = drive(null);
    empty.lock(true);
    expect(empty.tray(true)).toEqual([SenseKey.ILLEGAL_REQUEST, Asc.MEDIUM_REMOVAL_PREVENTED, 0x02]);
  });
});

describe('INQUIRY vital product data (EVPD)', () => {
  const vpd = (page: number, allocation = 255) => {
    const d = drive(300);
    const x = d.run([ScsiCmd.INQUIRY, 1, page, 0, allocation]);
    return 'data' in x ? x.data : x;
  };
  const ascii = (b: Uint8Array) => String.fromCharCode(...b);

  it('page 00h lists the pages kept: 00h, 80h, 83h', () => {
    expect(Array.from(vpd(0x00) as Uint8Array)).toEqual([0x05, 0x00, 0x00, 3, 0x00, 0x80, 0x83]);
    expect(Array.from(vpd(0x00, 5) as Uint8Array)).toEqual([0x05, 0x00, 0x00, 3, 0x00]); // cut to the allocation
  });

  it("page 80h is the unit serial number, IDENTIFY PACKET DEVICE's", () => {
    const p = vpd(0x80) as Uint8Array;
    expect([p[0], p[1], (p[2] << 8) | p[3]]).toEqual([0x05, 0x80, 9]);
    expect(ascii(p.subarray(4))).toBe('HVMCD0001');
  });

  it('page 83h identifies the logical unit by a T10 vendor ID descriptor: vendor, model, serial', () => {
    const p = vpd(0x83) as Uint8Array;
    expect([p[0], p[1]]).toEqual([0x05, 0x83]);
    expect((p[2] << 8) | p[3]).toBe(p.length - 4);
    const descriptor = p.subarray(4);
    expect(descriptor[0] & 0x0f).toBe(2); // code set: ASCII
    expect(descriptor[1] & 0x30).toBe(0); // association: the logical unit
    expect(descriptor[1] & 0x0f).toBe(1); // identifier type: T10 vendor ID based
    expect(descriptor[3]).toBe(descriptor.length - 4);
    expect(ascii(descriptor.subarray(4))).toBe('HVM     HVM DVD-ROM     HVMCD0001');
  });

  it('a page not kept, or a page code without EVPD, is ILLEGAL REQUEST, invalid field in CDB', () => {
    expect(vpd(0xb0)).toEqual({ checkCondition: SenseKey.ILLEGAL_REQUEST });
    const d = drive(300);
    expect(d.outcome([ScsiCmd.INQUIRY, 0, 0x80, 0, 36])).toEqual([
      SenseKey.ILLEGAL_REQUEST,
      Asc.INVALID_FIELD_IN_CDB,
      0,
    ]);
  });
});

describe("the machine's changeCdrom (the worker's API)", () => {
  it('puts a disc in an empty drive (config cdrom: null) and takes it out; a bad image is refused with the reason', () => {
    const m = ideMachine({ cdrom: null });
    const cd = m.pc!.ide.cdrom!;
    expect(cd.ready).toBe(false);
    const image = disc(12);
    expect(m.changeCdrom(image.slice().buffer)).toEqual({ ok: true, value: undefined });
    expect([cd.ready, cd.totalSectors]).toEqual([true, 12]);
    expect(m.changeCdrom(new ArrayBuffer(3000))).toEqual({
      ok: false,
      code: ErrorCode.EINVAL,
      message: 'the CD image is 3000 bytes, not a whole number of 2048-byte sectors (as an ISO image is)',
    });
    expect(cd.totalSectors).toBe(12); // the disc that was in stays
    expect(m.changeCdrom(null).ok).toBe(true);
    expect([cd.ready, cd.trayOpen, cd.image]).toEqual([false, true, null]);
    m.destroy();
  });

  it('is refused (ESTATE) on a machine without a CD-ROM drive', () => {
    const m = ideMachine();
    expect(m.pc!.ide.cdrom).toBeNull();
    const r = m.changeCdrom(disc(4).buffer);
    expect(r.ok || r.code).toBe(ErrorCode.ESTATE);
    m.destroy();
  });

  it('a drive made with a bad image throws with the reason', () => {
    expect(() => new AtapiCdrom(new Uint8Array(1000))).toThrow(/the CD image is 1000 bytes/);
  });
});
