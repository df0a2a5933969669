/**
 * A gzip-compressed initrd, unpacked by the loader (KernelUnpack 'host'), as it unpacks the
 * kernel (unpack.ts): the kernel takes an initramfs compressed or not (Documentation/
 * driver-api/early-userspace/buffer-format.rst), so the loader may hand it the cpio archive the
 * file holds instead of making the guest inflate it. On Debian's kernel and our BusyBox
 * initramfs that was 75 M of the boot's 558 M instructions on icount (inflate_fast and its
 * tables), for a ramdisk of 3.1 MiB instead of 1.4 MiB, which the kernel frees once unpacked.
 *
 * Only a file that is exactly one gzip member is unpacked: its trailer (the CRC32 and the length
 * of what it holds, the file's last 8 bytes) must match what inflating gave. A file of several
 * members (archives concatenated, an early microcode cpio in front: both legal) or anything else
 * reaches the guest as it is, and the kernel unpacks it.
 */
import { Gunzip } from 'fflate';
import { crc32 } from './xz';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** The unpacked bytes, or why the file is left to the guest (none larger than maxBytes is made). */
export function unpackInitrd(file: Uint8Array, maxBytes: number): Uint8Array | string {
  if (file.length < 18 || file[0] !== GZIP_MAGIC[0] || file[1] !== GZIP_MAGIC[1]) return 'not gzip';
  const chunks: Uint8Array[] = [];
  let size = 0;
  let later = 0;
  try {
    const g = new Gunzip((chunk) => {
      size += chunk.length;
      if (size > maxBytes) throw new RangeError('larger than RAM unpacked');
      chunks.push(chunk);
    });
    g.onmember = (offset) => {
      if (offset > 0) later++;
    };
    g.push(file, true);
  } catch (e) {
    return e instanceof RangeError ? e.message : `gzip: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (later > 0) return 'more than one gzip member';
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  const t = new DataView(file.buffer, file.byteOffset + file.length - 8, 8);
  if (t.getUint32(4, true) !== out.length >>> 0 || t.getUint32(0, true) !== crc32(out))
    return 'its trailer does not match';
  return out;
}
