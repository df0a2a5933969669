/**
 * `npm run guest:linux`: the Linux guest image from Debian's packages. Downloads the pinned kernel
 * and BusyBox for i386 (scripts/guest-linux/packages.ts) through a private apt state, takes the
 * kernel's vmlinuz as Debian ships it, and builds the initramfs (BusyBox, guest/linux/init and the
 * disk and CD modules from the kernel's package) reproducibly. Writes public/guest/linux/{vmlinuz,initramfs.cpio.gz}.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fetchDebianFiles, sha256 } from './debian';
import { makeInitramfs } from './initramfs';
import {
  BUSYBOX,
  INIT_SCRIPT_PATH,
  INITRAMFS_PATH,
  KERNEL,
  KERNEL_RELEASE,
  LINUX_GUEST_DIR,
  MODULES,
  VMLINUZ_PATH,
} from './packages';

const [vmlinuz, busybox, ...modules] = fetchDebianFiles([KERNEL, BUSYBOX, ...MODULES]);
const initramfs = makeInitramfs(
  busybox,
  readFileSync(INIT_SCRIPT_PATH),
  KERNEL_RELEASE,
  MODULES.map((m, i) => ({ ...m, data: modules[i] })),
);
mkdirSync(LINUX_GUEST_DIR, { recursive: true });
writeFileSync(VMLINUZ_PATH, vmlinuz);
writeFileSync(INITRAMFS_PATH, initramfs);
for (const [path, bytes] of [
  [VMLINUZ_PATH, vmlinuz],
  [INITRAMFS_PATH, initramfs],
] as const)
  process.stdout.write(`${path}: ${bytes.length} bytes, sha256 ${sha256(bytes)}\n`);
