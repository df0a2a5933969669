/**
 * The "BIOS + disk" guest's parts that are not UI: SeaBIOS from the page's server, the checks a
 * disk or CD image of one's own must pass (with errors that say why), the machine config that
 * boots it, and saving the disk as the guest left it.
 */
import { checkCdromImage, checkDiskImage, CDROM_SECTOR_BYTES, type MachineConfig } from '../shared/api';
import { DISK_GUEST, fetchGuestFile } from './guests';

/** File names taken as raw disk images when loaded or dropped (QEMU's raw format's usual names). */
const DISK_IMAGE_NAME = /\.(img|raw|hdd|dsk|disk|ima)$/i;

export const isDiskImageName = (name: string): boolean => DISK_IMAGE_NAME.test(name);

/** File names taken as CD images (ISO 9660). */
export const isCdImageName = (name: string): boolean => /\.iso$/i.test(name);

/**
 * An El Torito bootable CD: its sector 17 is the boot record volume descriptor (El Torito 1.0,
 * 2.0: type 0, "CD001", version 1, "EL TORITO SPECIFICATION"), what SeaBIOS looks for.
 */
export function isBootableCd(image: ArrayBuffer): boolean {
  const at = 17 * CDROM_SECTOR_BYTES;
  if (image.byteLength < at + CDROM_SECTOR_BYTES) return false;
  const d = new Uint8Array(image, at, 39);
  const text = String.fromCharCode(...d.subarray(1, 6)) + String.fromCharCode(...d.subarray(7, 30));
  return d[0] === 0 && d[6] === 1 && text === 'CD001EL TORITO SPECIFICATION';
}

/**
 * Why an image cannot go in the guest's CD-ROM drive (a sentence that names it), or null. Whole
 * 2048-byte sectors, at most MAX_CDROM_BYTES; without a disk to boot it must be bootable itself.
 */
export function cdImageProblem(name: string, image: ArrayBuffer, withDisk: boolean): string | null {
  const why = checkCdromImage(image.byteLength);
  if (why) return `The CD image ${name} ${why}.`;
  if (!withDisk && !isBootableCd(image))
    return `${name} is not a bootable CD: it has no El Torito boot record (sector 17), so the BIOS would not boot it.`;
  return null;
}
/** The file name of a disk image's URL (for the status line and the saved file). */
export const diskNameOf = (url: string): string => url.split(/[?#]/)[0].split('/').pop() || 'disk.img';

/**
 * Why a picked image of `size` bytes, whose first sector is `first`, cannot be the guest's boot
 * disk (a sentence that names it), or null. Besides the machine's own rule for an image it reads
 * by slices (whole sectors; no cap, since it is not held whole), its first sector must end in the
 * boot signature 55 AA: without it the BIOS boots nothing and says only "No bootable device".
 */
export function diskImageProblem(name: string, size: number, first: ArrayBuffer): string | null {
  const why = checkDiskImage(size, true);
  if (why) return `The disk image ${name} ${why}.`;
  return mbrProblem(name, first);
}

/** Why a disk whose first sector is `first` would not boot (no boot signature 55 AA), or null. */
export function mbrProblem(name: string, first: ArrayBuffer): string | null {
  if (first.byteLength < 512) return `The disk image ${name} is shorter than one 512-byte sector.`;
  const mbr = new Uint8Array(first, 0, 512);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa)
    return `${name} is not a bootable disk: its first sector (the MBR) does not end in the boot signature 55 AA, so the BIOS would not boot it.`;
  return null;
}

/**
 * A disk image's URL made absolute (the machine's worker fetches it, and resolves a relative URL
 * against its own script's, not the page's), with its first sector, fetched by a range request:
 * the page checks the boot signature before the machine reads the rest by ranges. A server that
 * ignores Range sends the whole file: the first sector is read off the stream and it is dropped.
 */
export async function fetchDiskHead(url: string): Promise<{ url: string; first: ArrayBuffer }> {
  const absolute = new URL(url, location.href).href;
  const res = await fetch(absolute, { headers: { Range: 'bytes=0-511' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  if (res.headers.get('content-type')?.startsWith('text/html'))
    throw new Error(`${url}: not found (the server sent a web page)`);
  const reader = res.body!.getReader();
  const first = new Uint8Array(512);
  let got = 0;
  while (got < 512) {
    const { done, value } = await reader.read();
    if (done) break;
    const n = Math.min(512 - got, value.length);
    first.set(value.subarray(0, n), got);
    got += n;
  }
  await reader.cancel();
  return { url: absolute, first: first.buffer.slice(0, got) };
}

/** SeaBIOS and its VGA BIOS from the page's server, or an error that says how to get them there. */
export async function fetchSeabios(): Promise<{ bios: ArrayBuffer; vgaBios: ArrayBuffer }> {
  try {
    const [bios, vgaBios] = await Promise.all([fetchGuestFile(DISK_GUEST.bios), fetchGuestFile(DISK_GUEST.vgaBios)]);
    return { bios, vgaBios };
  } catch (e) {
    throw new Error(
      `SeaBIOS is not served here (${e instanceof Error ? e.message : String(e)}): npm start and the dev server fetch Debian's seabios package on first use (scripts/ensure-seabios.mjs), which needs apt-get`,
      { cause: e },
    );
  }
}

/**
 * The guest's media: a hard disk (QEMU's -hda) as bytes, as a URL or a picked file the machine
 * reads by ranges, a CD (-cdrom), or both.
 */
export interface DiskGuestMedia {
  hda?: ArrayBuffer;
  hdaUrl?: string;
  hdaFile?: Blob;
  cdrom?: ArrayBuffer;
}

/**
 * The machine that boots the media through SeaBIOS (the boot image is the BIOS): `base` plus the
 * media's parts. A CD boots first (QEMU's -boot d), then the disk (c). The CD-ROM drive is always
 * there, empty without a CD, so that a disc can be put in while the guest runs ("Change CD…").
 */
export function diskMachineConfig(base: MachineConfig, vgaBios: ArrayBuffer, media: DiskGuestMedia): MachineConfig {
  const disk = media.hda !== undefined || media.hdaUrl !== undefined || media.hdaFile !== undefined;
  const boot = media.cdrom ? (disk ? 'dc' : 'd') : 'c';
  return {
    ...base,
    image: 'firmware',
    vgaBios,
    ...(media.hda
      ? { hda: media.hda }
      : media.hdaUrl !== undefined
        ? { hdaUrl: media.hdaUrl }
        : media.hdaFile !== undefined
          ? { hdaFile: media.hdaFile }
          : {}),
    cdrom: media.cdrom ?? null,
    debugconPort: DISK_GUEST.debugconPort,
    boot,
  };
}

/** Offer bytes as a file download (the disk as the guest left it). */
export function saveFile(bytes: ArrayBuffer, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // The download has its own copy once started; the object URL is not needed after this turn.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
