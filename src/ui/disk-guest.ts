/**
 * The "BIOS + disk" guest's parts that are not UI: SeaBIOS from the page's server, the checks a
 * disk image of one's own must pass (with errors that say why), the machine config that boots it,
 * and saving the disk as the guest left it.
 */
import { checkDiskImage, type MachineConfig } from '../shared/api';
import { DISK_GUEST, fetchGuestFile } from './guests';

/** File names taken as raw disk images when loaded or dropped (QEMU's raw format's usual names). */
const DISK_IMAGE_NAME = /\.(img|raw|hdd|dsk|disk|ima)$/i;

export const isDiskImageName = (name: string): boolean => DISK_IMAGE_NAME.test(name);

/** The file name of a disk image's URL (for the status line and the saved file). */
export const diskNameOf = (url: string): string => url.split(/[?#]/)[0].split('/').pop() || 'disk.img';

/**
 * Why an image cannot be the guest's boot disk (a sentence that names it), or null. Besides the
 * machine's own rule (whole sectors, at most MAX_DISK_BYTES), its first sector must end in the
 * boot signature 55 AA: without it the BIOS boots nothing and says only "No bootable device".
 */
export function diskImageProblem(name: string, image: ArrayBuffer): string | null {
  const why = checkDiskImage(image.byteLength);
  if (why) return `The disk image ${name} ${why}.`;
  const mbr = new Uint8Array(image, 0, 512);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa)
    return `${name} is not a bootable disk: its first sector (the MBR) does not end in the boot signature 55 AA, so the BIOS would not boot it.`;
  return null;
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

/** The machine that boots `hda` through SeaBIOS (the boot image is the BIOS): `base` plus the disk's parts. */
export function diskMachineConfig(base: MachineConfig, vgaBios: ArrayBuffer, hda: ArrayBuffer): MachineConfig {
  return { ...base, image: 'firmware', vgaBios, hda, debugconPort: DISK_GUEST.debugconPort, boot: 'c' };
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
