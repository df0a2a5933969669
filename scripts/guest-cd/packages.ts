/**
 * What the bootable CD is made with, pinned (Debian 12, bookworm): ISOLINUX's El Torito boot
 * image and the ldlinux.c32 it loads (SYSLINUX 6.04, the version the disk's SYSLINUX is), both
 * architecture-independent, with the sha256 of each file taken, as for the guest's own packages
 * (scripts/guest-linux/packages.ts).
 */
import type { DebianFile } from '../guest-linux/packages';

export const ISOLINUX_BIN: DebianFile = {
  package: 'isolinux',
  version: '3:6.04~git20190206.bf6db5b4+dfsg1-3',
  source: 'syslinux 3:6.04~git20190206.bf6db5b4+dfsg1-3',
  member: './usr/lib/ISOLINUX/isolinux.bin',
  sha256: 'f3e2c1786564e148fb394e2321666ddccccedc18f7cf9db3e2416d45d13ea492',
};

export const LDLINUX_C32: DebianFile = {
  package: 'syslinux-common',
  version: '3:6.04~git20190206.bf6db5b4+dfsg1-3',
  source: 'syslinux 3:6.04~git20190206.bf6db5b4+dfsg1-3',
  member: './usr/lib/syslinux/modules/bios/ldlinux.c32',
  sha256: '26cbd44c3a3dacbf3971cfbc04db539da07767fa00797f505044e2f68dcfae89',
};

/** The CD image (served by the page, read by the CLI and the tests). */
export const CD_DIR = 'public/guest/cd';
export const CD_IMAGE_PATH = `${CD_DIR}/linux.iso`;
