import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fetchDebianFiles, sha256 } from '../../scripts/guest-linux/debian';
import {
  INITRAMFS_MTIME,
  makeInitramfs,
  modinfoField,
  modulesDep,
  stripModuleSignature,
} from '../../scripts/guest-linux/initramfs';
import {
  BUSYBOX,
  INIT_SCRIPT_PATH,
  INITRAMFS_PATH,
  KERNEL,
  KERNEL_RELEASE,
  MODULES,
  VMLINUZ_PATH,
} from '../../scripts/guest-linux/packages';

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

  it('the initramfs is a sorted newc archive of BusyBox, /init, /dev/console and the kernel\'s modules, owned by root, with one fixed mtime', () => {
    const entries = readNewc(gunzipSync(readFileSync(INITRAMFS_PATH)));
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort());
    const moduleDir = `lib/modules/${KERNEL_RELEASE}`;
    expect(names.filter((n) => !n.startsWith('lib'))).toEqual([
      'bin',
      'bin/busybox',
      'dev',
      'dev/console',
      'init',
      'mnt',
      'proc',
      'root',
      'sys',
      'tmp',
    ]);
    for (const e of entries) expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, INITRAMFS_MTIME]);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('init')!.data.toString()).toBe(readFileSync(INIT_SCRIPT_PATH, 'utf8'));
    expect(byName.get('init')!.mode).toBe(0o100755);
    expect(sha256(byName.get('bin/busybox')!.data)).toBe(BUSYBOX.sha256);
    expect(byName.get('dev/console')!.rdev).toEqual([5, 1]);
    // Every module, its signature stripped (the rebuild below checks the rest is Debian's, byte
    // for byte), and every folder on the way to it.
    for (const m of MODULES) {
      const name = `${moduleDir}/${m.path}`;
      const ko = byName.get(name)!.data;
      expect(ko.subarray(0, 4).toString('latin1'), name).toBe('\x7fELF');
      expect(modinfoField(ko, 'name'), name).toBe(m.name.replace(/-/g, '_'));
      expect(ko.includes('~Module signature appended~'), name).toBe(false);
      for (let at = name.indexOf('/'); at > 0; at = name.indexOf('/', at + 1))
        expect(byName.get(name.slice(0, at))?.mode, name.slice(0, at)).toBe(0o040755);
    }
    // The disk and CD drivers are there, with modules.dep telling modprobe what each needs.
    const dep = byName.get(`${moduleDir}/modules.dep`)!.data.toString();
    expect(dep).toContain(
      'kernel/drivers/ata/ata_piix.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n',
    );
    expect(dep).toMatch(/^kernel\/drivers\/scsi\/sr_mod\.ko: .*kernel\/drivers\/cdrom\/cdrom\.ko/m);
    expect(dep).toMatch(/^kernel\/fs\/isofs\/isofs\.ko: kernel\/drivers\/cdrom\/cdrom\.ko$/m);
  });

  it('the modules\' dependencies are what their .modinfo says, and modules.dep lists them deepest last', () => {
    const entries = readNewc(gunzipSync(readFileSync(INITRAMFS_PATH)));
    const byName = new Map(entries.map((e) => [e.name, e]));
    for (const m of MODULES) {
      const ko = byName.get(`lib/modules/${KERNEL_RELEASE}/${m.path}`)!.data;
      expect(modinfoField(ko, 'depends'), m.name).toBe(m.depends.join(','));
      expect(modinfoField(ko, 'vermagic')).toMatch(new RegExp(`^${KERNEL_RELEASE.replace(/\./g, '\\.')} SMP `));
    }
    const mod = (name: string, depends: string[] = []) => ({ name, path: `${name}.ko`, depends, data: new Uint8Array() });
    expect(modulesDep([mod('a'), mod('b', ['a']), mod('c', ['b'])])).toBe('a.ko:\nb.ko: a.ko\nc.ko: b.ko a.ko\n');
    expect(() => modulesDep([mod('b', ['a']), mod('a')])).toThrow('b is listed before a, which it depends on');
    expect(() => modulesDep([mod('b', ['x'])])).toThrow('b depends on x, which is not among the modules');
  });

  it('a module\'s appended signature is stripped to the module as built; an unsigned file is refused', () => {
    const elf = Buffer.from('\x7fELF and the rest of the module', 'latin1');
    const signature = Buffer.from('PKCS#7 blob', 'latin1');
    const info = Buffer.alloc(12);
    info.writeUInt32BE(signature.length, 8); // struct module_signature's sig_len
    const signed = Buffer.concat([elf, signature, info, Buffer.from('~Module signature appended~\n')]);
    expect(Buffer.from(stripModuleSignature(signed)).equals(elf)).toBe(true);
    expect(() => stripModuleSignature(elf)).toThrow('the module is not signed');
  });

  it(
    'rebuilding the initramfs from Debian\'s busybox-static and kernel modules gives the committed file byte for byte',
    () => {
      let busybox: Buffer;
      let modules: Buffer[];
      try {
        [busybox, ...modules] = fetchDebianFiles([BUSYBOX, ...MODULES]);
      } catch (e) {
        // Never a silent skip: without Debian's package the rebuild cannot be checked, and that is a failure.
        throw new Error(
          `could not download ${BUSYBOX.package}=${BUSYBOX.version} and ${KERNEL.package}=${KERNEL.version} for i386 through a private apt state, so the initramfs rebuild is unchecked: ${(e as Error).message}`,
          { cause: e },
        );
      }
      const rebuilt = makeInitramfs(
        busybox,
        readFileSync(INIT_SCRIPT_PATH),
        KERNEL_RELEASE,
        MODULES.map((m, i) => ({ ...m, data: modules[i] })),
      );
      expect(Buffer.compare(rebuilt, readFileSync(INITRAMFS_PATH))).toBe(0);
    },
    180_000,
  );
});
