/**
 * The Linux guest's initramfs, made byte for byte the same on every build: a cpio archive in the
 * "newc" format the kernel unpacks (Documentation/driver-api/early-userspace/buffer-format.rst),
 * written here rather than by cpio(1) so that nothing of the build machine leaks in: entries in
 * sorted order, inode numbers counted from 1, uid/gid 0, one fixed mtime; then `gzip -n -9`
 * (no name, no time stamp in the gzip header).
 */
import { spawnSync } from 'node:child_process';

/** Every entry's mtime: 2026-01-01 00:00 UTC (the icount clock's calendar starts there too). */
export const INITRAMFS_MTIME = 1_767_225_600;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

export interface CpioEntry {
  /** Path without a leading slash ("bin/busybox"). */
  name: string;
  mode: number;
  data?: Uint8Array;
  /** For device nodes: [major, minor]. */
  rdev?: [number, number];
}

/** A newc archive of the entries, sorted by name, ended by the TRAILER!!! entry. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const write = (e: CpioEntry, ino: number) => {
    const data = e.data ?? new Uint8Array(0);
    const name = Buffer.from(`${e.name}\0`);
    const fields = [
      ino,
      e.mode,
      0, // uid
      0, // gid
      (e.mode & 0o170000) === S_IFDIR ? 2 : 1,
      e.name === 'TRAILER!!!' ? 0 : INITRAMFS_MTIME,
      data.length,
      0,
      0,
      e.rdev?.[0] ?? 0,
      e.rdev?.[1] ?? 0,
      name.length,
      0, // check (only for the "070702" CRC format)
    ];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii');
    parts.push(header, name, pad4(header.length + name.length), Buffer.from(data), pad4(data.length));
  };
  sorted.forEach((e, i) => write(e, i + 1));
  write({ name: 'TRAILER!!!', mode: 0 }, 0);
  return Buffer.concat(parts);
}

/** The guest's file tree: BusyBox, the init script, the mount points and /dev/console. */
export function initramfsEntries(busybox: Uint8Array, init: Uint8Array): CpioEntry[] {
  const dir = (name: string): CpioEntry => ({ name, mode: S_IFDIR | 0o755 });
  return [
    dir('bin'),
    dir('dev'),
    dir('proc'),
    dir('root'),
    dir('sys'),
    dir('tmp'),
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: busybox },
    // The kernel opens /dev/console for init's stdin/stdout before /init runs (init/main.c).
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: 'init', mode: S_IFREG | 0o755, data: init },
  ];
}

/** gzip -n -9 of the archive: GNU gzip's deflate, the same output on every machine. */
export function gzipN(data: Buffer): Buffer {
  const r = spawnSync('gzip', ['-n', '-9', '-c'], { input: data, maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) throw new Error(`gzip failed: ${r.error?.message ?? r.stderr.toString()}`);
  return r.stdout;
}

export function makeInitramfs(busybox: Uint8Array, init: Uint8Array): Buffer {
  return gzipN(cpioNewc(initramfsEntries(busybox, init)));
}
