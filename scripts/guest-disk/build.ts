/**
 * `npm run guest:disk`: the Linux guest (public/guest/linux, made by `npm run guest:linux`) on a
 * bootable hard disk image, for the "BIOS + disk" boot (SeaBIOS → MBR → SYSLINUX → the kernel).
 * Downloads the pinned mtools and SYSLINUX (scripts/guest-disk/packages.ts) through a private apt
 * state and writes public/guest/disk/linux.img, byte-identical on every run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch } from 'node:process';
import { fetchDebianFiles, sha256 } from '../guest-linux/debian';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../guest-linux/packages';
import { buildDisk } from './disk';
import { DISK_DIR, DISK_IMAGE_PATH, HOST_ARCH, MTOOLS, SYSLINUX, SYSLINUX_MBR } from './packages';

if (arch !== 'x64') {
  process.stderr.write(`guest:disk: the pinned mtools and SYSLINUX are ${HOST_ARCH} programs; this host is ${arch}\n`);
  process.exit(1);
}
const [mtools, syslinux, mbr] = fetchDebianFiles([MTOOLS, SYSLINUX, SYSLINUX_MBR], true, HOST_ARCH);
const disk = buildDisk(readFileSync(VMLINUZ_PATH), readFileSync(INITRAMFS_PATH), { mtools, syslinux, mbr });
mkdirSync(DISK_DIR, { recursive: true });
writeFileSync(DISK_IMAGE_PATH, disk);
process.stdout.write(`${DISK_IMAGE_PATH}: ${disk.length} bytes, sha256 ${sha256(disk)}\n`);
