/**
 * The Debian tools the bootable disk is made with, pinned (Debian 12, bookworm): mtools (mformat,
 * mcopy, mattrib: a FAT file system written into an image file, no mount, no root) and SYSLINUX's
 * mtools installer, which writes its boot sector and ldlinux.sys/ldlinux.c32 into that file
 * system; the master boot record is SYSLINUX's mbr.bin. The two programs run on the build host,
 * so they are amd64 builds; mbr.bin is architecture-independent. The sha256 of each file taken is
 * recorded, as for the guest's own packages (scripts/guest-linux/packages.ts).
 */
import type { DebianFile } from '../guest-linux/packages';

/** The architecture of the host tools below (the build refuses to run them elsewhere). */
export const HOST_ARCH = 'amd64';

export const MTOOLS: DebianFile = {
  package: 'mtools',
  version: '4.0.33-1+really4.0.32-1',
  source: 'mtools 4.0.33-1+really4.0.32-1',
  member: './usr/bin/mtools',
  sha256: 'f13f9455a6343218504592733c4f5e6373e4512fedf6d17c8e54d00aec8a2129',
};

export const SYSLINUX: DebianFile = {
  package: 'syslinux',
  version: '3:6.04~git20190206.bf6db5b4+dfsg1-3+b1',
  source: 'syslinux 3:6.04~git20190206.bf6db5b4+dfsg1-3',
  member: './usr/bin/syslinux',
  sha256: '18e7f81692f20f3f849bbb5230d52fa4bbe915bb0200d8c5bf2b22180e1650c7',
};

export const SYSLINUX_MBR: DebianFile = {
  package: 'syslinux-common',
  version: '3:6.04~git20190206.bf6db5b4+dfsg1-3',
  source: 'syslinux 3:6.04~git20190206.bf6db5b4+dfsg1-3',
  member: './usr/lib/syslinux/mbr/mbr.bin',
  sha256: '4746f74bc9b9d3d579c41988a4a29bb7ac932ad1c70470ea779ea161eb799b64',
};

/** The disk image (served by the page, read by the CLI and the tests). */
export const DISK_DIR = 'public/guest/disk';
export const DISK_IMAGE_PATH = `${DISK_DIR}/linux.img`;
