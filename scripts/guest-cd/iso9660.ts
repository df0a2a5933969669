/**
 * A small ISO 9660 image builder (ECMA-119, 2nd edition), with an El Torito boot
 * catalog (the "El Torito" Bootable CD-ROM Format Specification 1.0): written out here so that
 * the tests and `npm run guest:cd` own every byte and need no xorriso. One root directory holding plain files (8.3 names),
 * and a no-emulation boot image that the BIOS loads and runs.
 *
 * Layout (2048-byte logical sectors): 0–15 the system area (zeros), 16 the primary volume
 * descriptor, 17 the boot record volume descriptor, 18 the set terminator, 19 the boot catalog,
 * 20 and 21 the little- and big-endian path tables, 22 the root directory, then the boot image
 * and the files, each starting on a sector.
 */

export const ISO_SECTOR = 2048;

export interface IsoFile {
  /** An 8.3 name in capitals ("HELLO.TXT"); ";1" is added. */
  name: string;
  data: Uint8Array;
}

/** How the boot image is put on the disc (mkisofs's -boot-load-size, -boot-info-table, its name). */
export interface BootOptions {
  /** Virtual 512-byte sectors the BIOS loads (default: the whole image); ISOLINUX wants 4. */
  loadSectors?: number;
  /**
   * Patch the boot information table into the image at offset 8 (mkisofs's -boot-info-table,
   * what ISOLINUX reads to find itself): the primary volume descriptor's LBA, the image's LBA and
   * length, the 32-bit sum of its words from offset 64, then 40 reserved bytes.
   */
  infoTable?: boolean;
  /** List the boot image in the root directory under this 8.3 name. */
  name?: string;
}

export interface BuiltIso {
  image: Uint8Array;
  /** Where each file starts (its extent's first sector), by name. */
  lba: Record<string, number>;
  /** The boot image's first sector. */
  bootLba: number;
}

const PVD = 16;
const BOOT_RECORD = 17;
const TERMINATOR = 18;
const CATALOG = 19;
const PATH_TABLE_L = 20;
const PATH_TABLE_M = 21;
const ROOT = 22;
const FIRST_DATA = 23;

const sectorsFor = (bytes: number) => Math.max(1, Math.ceil(bytes / ISO_SECTOR));

/** Both-byte-order fields (ECMA-119, 7.2.3 and 7.3.3): little-endian, then big-endian. */
function both16(b: Uint8Array, at: number, v: number): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setUint16(at, v, true);
  dv.setUint16(at + 2, v, false);
}
function both32(b: Uint8Array, at: number, v: number): void {
  const dv = new DataView(b.buffer, b.byteOffset);
  dv.setUint32(at, v, true);
  dv.setUint32(at + 4, v, false);
}
function ascii(b: Uint8Array, at: number, length: number, s: string, pad = ' '): void {
  const padded = s.padEnd(length, pad);
  for (let i = 0; i < length; i++) b[at + i] = padded.charCodeAt(i);
}

/** A directory record (ECMA-119, 9.1); identifier 0 is "." and 1 is "..". */
function directoryRecord(name: string | 0 | 1, lba: number, bytes: number, directory: boolean): Uint8Array {
  const id = typeof name === 'string' ? Array.from(name, (c) => c.charCodeAt(0)) : [name];
  const length = 33 + id.length + (id.length % 2 === 0 ? 1 : 0); // padded to an even length
  const r = new Uint8Array(length);
  r[0] = length;
  both32(r, 2, lba);
  both32(r, 10, bytes);
  r.set([126, 12, 3, 0, 0, 0, 0], 18); // recorded 2026-12-03 00:00:00 UTC
  r[25] = directory ? 0x02 : 0x00;
  both16(r, 28, 1); // volume sequence number
  r[32] = id.length;
  r.set(id, 33);
  return r;
}

export function buildIso(
  volumeId: string,
  bootImage: Uint8Array,
  files: readonly IsoFile[],
  boot: BootOptions = {},
): BuiltIso {
  const bootLba = FIRST_DATA;
  if (boot.infoTable) bootImage = withInfoTable(bootImage, bootLba);
  let next = bootLba + sectorsFor(bootImage.length);
  const lba: Record<string, number> = {};
  for (const f of files) {
    lba[f.name] = next;
    next += sectorsFor(f.data.length);
  }
  const total = next;
  const image = new Uint8Array(total * ISO_SECTOR);
  const sector = (n: number) => image.subarray(n * ISO_SECTOR, (n + 1) * ISO_SECTOR);

  // The root directory: ".", "..", then the files.
  // ECMA-119 9.3: the records in the order of their identifiers.
  const listed = [...files.map((f) => ({ name: f.name, lba: lba[f.name], bytes: f.data.length }))];
  if (boot.name) listed.push({ name: boot.name, lba: bootLba, bytes: bootImage.length });
  listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const records = [
    directoryRecord(0, ROOT, ISO_SECTOR, true),
    directoryRecord(1, ROOT, ISO_SECTOR, true),
    ...listed.map((f) => directoryRecord(`${f.name};1`, f.lba, f.bytes, false)),
  ];
  if (records.reduce((n, r) => n + r.length, 0) > ISO_SECTOR)
    throw new RangeError('the root directory outgrew its sector');
  records.reduce((at, r) => (sector(ROOT).set(r, at), at + r.length), 0);

  // The path tables (ECMA-119, 9.4): the root alone, its own parent.
  const pathRecord = (littleEndian: boolean) => {
    const p = new Uint8Array(10);
    p[0] = 1;
    new DataView(p.buffer).setUint32(2, ROOT, littleEndian);
    new DataView(p.buffer).setUint16(6, 1, littleEndian);
    return p;
  };
  sector(PATH_TABLE_L).set(pathRecord(true));
  sector(PATH_TABLE_M).set(pathRecord(false));

  // The primary volume descriptor (ECMA-119, 8.4).
  const pvd = sector(PVD);
  pvd[0] = 1;
  ascii(pvd, 1, 5, 'CD001');
  pvd[6] = 1;
  ascii(pvd, 8, 32, '');
  ascii(pvd, 40, 32, volumeId);
  both32(pvd, 80, total);
  both16(pvd, 120, 1);
  both16(pvd, 124, 1);
  both16(pvd, 128, ISO_SECTOR);
  both32(pvd, 132, 10);
  new DataView(pvd.buffer, pvd.byteOffset).setUint32(140, PATH_TABLE_L, true);
  new DataView(pvd.buffer, pvd.byteOffset).setUint32(148, PATH_TABLE_M, false);
  pvd.set(directoryRecord(0, ROOT, ISO_SECTOR, true), 156);
  ascii(pvd, 190, 623, ''); // volume set, publisher, preparer, application identifiers
  ascii(pvd, 813, 16, '2026120300000000');
  ascii(pvd, 830, 16, '2026120300000000');
  ascii(pvd, 847, 16, '', '0');
  ascii(pvd, 864, 16, '', '0');
  pvd[881] = 1;

  // The boot record volume descriptor (El Torito, 2.0): where the boot catalog is.
  const br = sector(BOOT_RECORD);
  ascii(br, 1, 5, 'CD001');
  br[6] = 1;
  ascii(br, 7, 32, 'EL TORITO SPECIFICATION', '\0');
  new DataView(br.buffer, br.byteOffset).setUint32(0x47, CATALOG, true);

  const term = sector(TERMINATOR);
  term[0] = 255;
  ascii(term, 1, 5, 'CD001');
  term[6] = 1;

  // The boot catalog (El Torito, 2.1–2.2): the validation entry (its words sum to 0), then the
  // default entry: bootable, no emulation, loaded at the default segment (07C0h).
  const cat = sector(CATALOG);
  const dv = new DataView(cat.buffer, cat.byteOffset);
  cat[0] = 0x01; // header ID
  cat[1] = 0x00; // platform: 80x86
  ascii(cat, 4, 24, 'HVM TEST', '\0');
  cat[30] = 0x55;
  cat[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum += dv.getUint16(i, true);
  dv.setUint16(28, (0x10000 - (sum & 0xffff)) & 0xffff, true);
  cat[32] = 0x88; // bootable
  cat[33] = 0x00; // no emulation
  dv.setUint16(34, 0, true); // load segment: the default
  dv.setUint16(38, boot.loadSectors ?? Math.ceil(bootImage.length / 512), true); // virtual (512-byte) sectors to load
  dv.setUint32(40, bootLba, true);

  image.set(bootImage, bootLba * ISO_SECTOR);
  for (const f of files) image.set(f.data, lba[f.name] * ISO_SECTOR);
  return { image, lba, bootLba };
}

/** The boot image with its boot information table filled in (see BootOptions.infoTable). */
function withInfoTable(image: Uint8Array, lba: number): Uint8Array {
  const b = new Uint8Array(Math.ceil(image.length / 4) * 4);
  b.set(image);
  const dv = new DataView(b.buffer);
  let sum = 0;
  for (let i = 64; i < b.length; i += 4) sum = (sum + dv.getUint32(i, true)) >>> 0;
  dv.setUint32(8, PVD, true);
  dv.setUint32(12, lba, true);
  dv.setUint32(16, image.length, true);
  dv.setUint32(20, sum, true);
  b.fill(0, 24, 64);
  return b.subarray(0, image.length);
}
