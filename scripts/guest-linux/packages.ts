/**
 * The Debian packages the Linux guest image is made of, pinned: the kernel as Debian ships it and
 * BusyBox, static, for i386. `npm run guest:linux` downloads exactly these versions; the sha256 of
 * what it takes from each package is recorded here, and the tests check the committed files
 * against it.
 */

/** Debian 12 (bookworm), the i386 port; the suites a package may come from. */
export const DEBIAN_SOURCES = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
];

export interface DebianFile {
  /** Binary package name and exact version. */
  package: string;
  version: string;
  /** Debian's source package (where the GPL sources are: `apt-get source NAME=VERSION`). */
  source: string;
  /** The member of the package's data archive taken. */
  member: string;
  sha256: string;
}

/** Debian's 686 (non-PAE) kernel: bzImage, boot protocol 2.15, XZ-compressed, no math emulation. */
export const KERNEL: DebianFile = {
  package: 'linux-image-6.1.0-50-686',
  version: '6.1.176-1',
  source: 'linux-signed-i386 6.1.176+1 (the signed wrapper of linux 6.1.176-1)',
  member: './boot/vmlinuz-6.1.0-50-686',
  sha256: 'c77cd9c37609b8b1b1cdfbb91b644a44d606d3d75da8656a0c79635be0b89c21',
};

export const BUSYBOX: DebianFile = {
  package: 'busybox-static',
  version: '1:1.35.0-4+deb12u1+b1',
  source: 'busybox 1:1.35.0-4+deb12u1',
  member: './bin/busybox',
  sha256: '67fc1f3acfd15646d3b055f7cd3657c6608f34f6dde9485e0c76722cb0e43800',
};

/** Where the image lives (served by the page, read by the CLI and the tests). */
export const LINUX_GUEST_DIR = 'public/guest/linux';
export const VMLINUZ_PATH = `${LINUX_GUEST_DIR}/vmlinuz`;
export const INITRAMFS_PATH = `${LINUX_GUEST_DIR}/initramfs.cpio.gz`;
/** The init script, the one file of the initramfs that is ours. */
export const INIT_SCRIPT_PATH = 'guest/linux/init';
