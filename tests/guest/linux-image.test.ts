import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fetchDebianFiles, sha256 } from '../../scripts/guest-linux/debian';
import { INITRAMFS_MTIME, makeInitramfs } from '../../scripts/guest-linux/initramfs';
import { BUSYBOX, INIT_SCRIPT_PATH, INITRAMFS_PATH, KERNEL, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';

/** The entries of a cpio newc archive: name, mode, uid, gid, mtime, rdev and data. */
function readNewc(archive: Buffer) {
  const entries: { name: string; mode: number; uid: number; gid: number; mtime: number; rdev: number[]; data: Buffer }[] =
    [];
  let at = 0;
  const up4 = (n: number) => (n + 3) & ~3;
  for (;;) {
    expect(archive.toString('ascii', at, at + 6)).toBe('070701');
    const field = (i: number) => parseInt(archive.toString('ascii', at + 6 + i * 8, at + 14 + i * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('utf8', at + 110, at + 110 + nameSize - 1);
    const dataAt = up4(at + 110 + nameSize);
    if (name === 'TRAILER!!!') return entries;
    entries.push({
      name,
      mode: field(1),
      uid: field(2),
      gid: field(3),
      mtime: field(5),
      rdev: [field(9), field(10)],
      data: archive.subarray(dataAt, dataAt + size),
    });
    at = up4(dataAt + size);
  }
}

describe('the Linux guest image (public/guest/linux)', () => {
  it('the committed vmlinuz is Debian\'s, byte for byte: the sha256 the build script records', () => {
    expect(sha256(readFileSync(VMLINUZ_PATH))).toBe(KERNEL.sha256);
  });

  it('the initramfs is a sorted newc archive of BusyBox, /init and /dev/console, owned by root, with one fixed mtime', () => {
    const entries = readNewc(gunzipSync(readFileSync(INITRAMFS_PATH)));
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(['bin', 'bin/busybox', 'dev', 'dev/console', 'init', 'proc', 'root', 'sys', 'tmp']);
    for (const e of entries) expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, INITRAMFS_MTIME]);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('init')!.data.toString()).toBe(readFileSync(INIT_SCRIPT_PATH, 'utf8'));
    expect(byName.get('init')!.mode).toBe(0o100755);
    expect(sha256(byName.get('bin/busybox')!.data)).toBe(BUSYBOX.sha256);
    expect(byName.get('dev/console')!.rdev).toEqual([5, 1]);
  });

  it(
    'rebuilding the initramfs from Debian\'s busybox-static gives the committed file byte for byte',
    () => {
      let busybox: Buffer;
      try {
        [busybox] = fetchDebianFiles([BUSYBOX]);
      } catch (e) {
        // Never a silent skip: without Debian's package the rebuild cannot be checked, and that is a failure.
        throw new Error(
          `could not download ${BUSYBOX.package}=${BUSYBOX.version} for i386 through a private apt state, so the initramfs rebuild is unchecked: ${(e as Error).message}`,
          { cause: e },
        );
      }
      const rebuilt = makeInitramfs(busybox, readFileSync(INIT_SCRIPT_PATH));
      expect(Buffer.compare(rebuilt, readFileSync(INITRAMFS_PATH))).toBe(0);
    },
    180_000,
  );
});
