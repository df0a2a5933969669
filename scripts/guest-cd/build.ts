/**
 * `npm run guest:cd`: the Linux guest (public/guest/linux, made by `npm run guest:linux`) on a
 * bootable CD image, for booting Linux from the ATAPI drive (SeaBIOS → El Torito → ISOLINUX → the
 * kernel). Downloads the pinned ISOLINUX files (scripts/guest-cd/packages.ts) through a private
 * apt state and writes public/guest/cd/linux.iso, byte-identical on every run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fetchDebianFiles, sha256 } from '../guest-linux/debian';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../guest-linux/packages';
import { buildCd } from './cd';
import { CD_DIR, CD_IMAGE_PATH, ISOLINUX_BIN, LDLINUX_C32 } from './packages';

const [isolinux, ldlinux] = fetchDebianFiles([ISOLINUX_BIN, LDLINUX_C32], true);
const cd = buildCd({ isolinux, ldlinux, vmlinuz: readFileSync(VMLINUZ_PATH), initramfs: readFileSync(INITRAMFS_PATH) });
mkdirSync(CD_DIR, { recursive: true });
writeFileSync(CD_IMAGE_PATH, cd);
process.stdout.write(`${CD_IMAGE_PATH}: ${cd.length} bytes, sha256 ${sha256(cd)}\n`);
