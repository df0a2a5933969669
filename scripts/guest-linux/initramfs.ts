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

/** A kernel module in the initramfs: its path under lib/modules/RELEASE/ and its bytes. */
export interface ModuleFile {
  name: string;
  path: string;
  depends: string[];
  data: Uint8Array;
}

/**
 * A module's .modinfo field (the section is NUL-separated `key=value` strings, each key once; the
 * modinfo(8) view of it), or null.
 */
export function modinfoField(ko: Uint8Array, key: string): string | null {
  const bytes = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength);
  const at = bytes.indexOf(`\0${key}=`, 0, 'latin1');
  if (at < 0) return null;
  const from = at + 2 + key.length;
  return bytes.toString('latin1', from, bytes.indexOf(0, from));
}

/** The end of a signed module (scripts/sign-file.c; include/linux/module_signature.h). */
const SIGNATURE_MAGIC = '~Module signature appended~\n';
/** struct module_signature, before the magic: algorithm bytes, then the signature's length (big-endian). */
const SIGNATURE_INFO_BYTES = 12;

/**
 * A signed module without its signature: the PKCS#7 blob, the struct module_signature that
 * gives its length and the magic string are what signing appended to the module's ELF file
 * (Documentation/admin-guide/module-signing.rst, "Signed modules and stripping"), so the rest is
 * the module as built. The kernel loads it unverified (tainting itself, since Debian's kernel does
 * not enforce signatures) instead of spending ~27 M guest instructions per module on the check.
 */
export function stripModuleSignature(ko: Uint8Array): Uint8Array {
  const bytes = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength);
  if (bytes.toString('latin1', bytes.length - SIGNATURE_MAGIC.length) !== SIGNATURE_MAGIC)
    throw new Error('the module is not signed (no "~Module signature appended~" at its end)');
  const info = bytes.length - SIGNATURE_MAGIC.length - SIGNATURE_INFO_BYTES;
  const signatureBytes = bytes.readUInt32BE(info + 8);
  return ko.subarray(0, info - signatureBytes);
}

/**
 * modules.dep as depmod(8) writes it, for BusyBox's modprobe: each module's path, then every module
 * it needs directly or not, the one to load first last. `modules` are in an order that loads each
 * after its dependencies.
 */
export function modulesDep(modules: readonly ModuleFile[]): string {
  const index = new Map(modules.map((m, i) => [m.name, i]));
  const needs = (m: ModuleFile, into: Set<number>): Set<number> => {
    for (const d of m.depends) {
      const i = index.get(d);
      if (i === undefined) throw new Error(`${m.name} depends on ${d}, which is not among the modules`);
      if (i > index.get(m.name)!) throw new Error(`${m.name} is listed before ${d}, which it depends on`);
      if (!into.has(i)) needs(modules[i], into.add(i));
    }
    return into;
  };
  return modules
    .map((m) => {
      const deps = [...needs(m, new Set())].sort((a, b) => b - a).map((i) => modules[i].path);
      return `${m.path}:${deps.map((p) => ` ${p}`).join('')}\n`;
    })
    .join('');
}

/**
 * The guest's file tree: BusyBox, the init script, the mount points, /dev/console, and the kernel's
 * modules (signed ones; their signatures stripped) under lib/modules/RELEASE/ with their modules.dep.
 */
export function initramfsEntries(
  busybox: Uint8Array,
  init: Uint8Array,
  release: string,
  modules: readonly ModuleFile[],
): CpioEntry[] {
  const dir = (name: string): CpioEntry => ({ name, mode: S_IFDIR | 0o755 });
  const moduleDir = `lib/modules/${release}`;
  for (const m of modules) {
    const declared = modinfoField(m.data, 'depends') ?? '';
    if (declared !== m.depends.join(','))
      throw new Error(`${m.name}'s modinfo says depends=${declared}, the list says ${m.depends.join(',')}`);
  }
  // Every folder on the way to a file (the kernel's unpacker makes none by itself).
  const folders = new Set<string>();
  for (const m of modules) {
    const parts = `${moduleDir}/${m.path}`.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  return [
    dir('bin'),
    dir('dev'),
    dir('mnt'),
    dir('proc'),
    dir('root'),
    dir('sys'),
    dir('tmp'),
    ...[...folders].map(dir),
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: busybox },
    // The kernel opens /dev/console for init's stdin/stdout before /init runs (init/main.c).
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: 'init', mode: S_IFREG | 0o755, data: init },
    ...modules.map((m) => ({
      name: `${moduleDir}/${m.path}`,
      mode: S_IFREG | 0o644,
      data: stripModuleSignature(m.data),
    })),
    { name: `${moduleDir}/modules.dep`, mode: S_IFREG | 0o644, data: Buffer.from(modulesDep(modules)) },
  ];
}

/** gzip -n -9 of the archive: GNU gzip's deflate, the same output on every machine. */
export function gzipN(data: Buffer): Buffer {
  const r = spawnSync('gzip', ['-n', '-9', '-c'], { input: data, maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) throw new Error(`gzip failed: ${r.error?.message ?? r.stderr.toString()}`);
  return r.stdout;
}

export function makeInitramfs(
  busybox: Uint8Array,
  init: Uint8Array,
  release: string,
  modules: readonly ModuleFile[],
): Buffer {
  return gzipN(cpioNewc(initramfsEntries(busybox, init, release, modules)));
}
