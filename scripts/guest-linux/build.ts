/**
 * `npm run guest:linux`: the Linux guest image from Debian's packages. Downloads the pinned kernel
 * and BusyBox for i386 (scripts/guest-linux/packages.ts) through a private apt state, takes the
 * kernel's vmlinuz as Debian ships it, and builds the initramfs (BusyBox + guest/linux/init)
 * reproducibly. Writes public/guest/linux/{vmlinuz,initramfs.cpio.gz}.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fetchDebianFiles, sha256 } from './debian';
import { makeInitramfs } from './initramfs';
import { BUSYBOX, INIT_SCRIPT_PATH, INITRAMFS_PATH, KERNEL, LINUX_GUEST_DIR, VMLINUZ_PATH } from './packages';

const [vmlinuz, busybox] = fetchDebianFiles([KERNEL, BUSYBOX]);
const initramfs = makeInitramfs(busybox, readFileSync(INIT_SCRIPT_PATH));
mkdirSync(LINUX_GUEST_DIR, { recursive: true });
writeFileSync(VMLINUZ_PATH, vmlinuz);
writeFileSync(INITRAMFS_PATH, initramfs);
for (const [path, bytes] of [
  [VMLINUZ_PATH, vmlinuz],
  [INITRAMFS_PATH, initramfs],
] as const)
  process.stdout.write(`${path}: ${bytes.length} bytes, sha256 ${sha256(bytes)}\n`);
