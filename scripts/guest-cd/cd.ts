/**
 * A bootable CD holding the Linux guest (El Torito, no emulation): ISOLINUX as the boot image
 * (loaded 4 virtual sectors at a time, with its boot information table, as mkisofs's
 * `-no-emul-boot -boot-load-size 4 -boot-info-table` makes it), ldlinux.c32, isolinux.cfg, the
 * kernel and the initramfs in the root directory (ISOLINUX looks for its configuration there
 * last, after /boot/isolinux and /isolinux). The kernel boots with the direct boot's command line,
 * as from the disk. Byte-identical on every build: the ISO builder writes fixed times.
 */
import { buildIso } from './iso9660';
import { syslinuxCfg } from '../guest-disk/disk';

export interface CdFiles {
  isolinux: Uint8Array;
  ldlinux: Uint8Array;
  vmlinuz: Uint8Array;
  initramfs: Uint8Array;
}

/** isolinux.cfg: SYSLINUX's configuration from the disk, the same boot. */
export const isolinuxCfg = (): string =>
  syslinuxCfg().replace('npm run guest:disk (scripts/guest-disk)', 'npm run guest:cd (scripts/guest-cd)');

export function buildCd(f: CdFiles): Uint8Array {
  return buildIso(
    'HVMLINUX',
    f.isolinux,
    [
      { name: 'INITRD.GZ', data: f.initramfs },
      { name: 'ISOLINUX.CFG', data: new TextEncoder().encode(isolinuxCfg()) },
      { name: 'LDLINUX.C32', data: f.ldlinux },
      { name: 'VMLINUZ', data: f.vmlinuz },
    ],
    { loadSectors: 4, infoTable: true, name: 'ISOLINUX.BIN' },
  ).image;
}
