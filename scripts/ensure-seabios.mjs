#!/usr/bin/env node
// Make sure Debian's SeaBIOS images exist under .cache/seabios/ (bios.bin, bios-256k.bin,
// vgabios-stdvga.bin, the package's copyright file and its version), fetching the `seabios`
// package on first use with `apt-get download` under a private apt state (its own lists and cache
// in a temporary folder; the machine's apt setup is read, never changed). The images are LGPLv3
// builds of SeaBIOS: we fetch them rather than commit them, so the repository carries no
// third-party binaries and the version is whatever Debian's stable ships (1.16.2 on bookworm).
// The same way, QEMU's option ROM linuxboot_dma.bin (GPLv2, from `qemu-system-data`, 7.2 on
// bookworm, its copyright file as copyright-qemu), which boots a kernel the machine hands the
// firmware through fw_cfg (QEMU's -bios with -kernel): the ROM QEMU itself uses, not one of ours.
// Prints the folder on stdout; exits 1 with a reason when `seabios` cannot be had (when only
// `qemu-system-data` cannot, it says so on stderr and goes on: SeaBIOS works without the ROM).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dest = join(root, '.cache', 'seabios');
/** Each package: the folder its images are in, the images, and the name its copyright file takes. */
const PACKAGES = [
  {
    name: 'seabios',
    dir: 'usr/share/seabios',
    files: ['bios.bin', 'bios-256k.bin', 'vgabios-stdvga.bin'],
    copyright: 'copyright',
  },
  // Optional: only --bios with --kernel needs it, so a failure to get it leaves SeaBIOS usable.
  {
    name: 'qemu-system-data',
    dir: 'usr/share/qemu',
    files: ['linuxboot_dma.bin'],
    copyright: 'copyright-qemu',
    optional: true,
  },
];
const LINUXBOOT = '--kernel with --bios';
const missing = PACKAGES.filter((p) => !p.files.every((f) => existsSync(join(dest, f))));

if (missing.length === 0) {
  console.log(dest);
  process.exit(0);
}
const tmp = mkdtempSync(join(tmpdir(), 'seabios-apt-'));
try {
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc']) mkdirSync(join(tmp, d), { recursive: true });
  writeFileSync(join(tmp, 'status'), '');
  const conf = join(tmp, 'apt.conf');
  writeFileSync(
    conf,
    [
      `Dir::State "${tmp}";`,
      `Dir::State::Lists "${tmp}/lists";`,
      `Dir::State::status "${tmp}/status";`,
      `Dir::Cache "${tmp}/cache";`,
      `APT::Architecture "i386";`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, APT_CONFIG: conf };
  const run = (cmd, args, cwd) => execFileSync(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const required = missing.filter((p) => !p.optional);
  try {
    run('apt-get', ['update', '-qq']);
  } catch (e) {
    if (required.length) throw e;
    missing.length = 0; // only optional files are missing: leave them for the next run
    console.error(`[ensure-seabios] cannot update the package lists for ${LINUXBOOT}: ${String(e)}`);
  }
  function fetchPackage(p) {
    run('apt-get', ['download', '-qq', p.name], tmp);
    const deb = readdirSync(tmp).find((f) => f.startsWith(`${p.name}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download left no ${p.name}_*.deb`);
    const version = run('dpkg-deb', ['-f', join(tmp, deb), 'Version'])
      .toString()
      .trim();
    const x = join(tmp, `x-${p.name}`);
    run('dpkg-deb', ['-x', join(tmp, deb), x]);
    for (const f of p.files) copyFileSync(join(x, p.dir, f), join(dest, f));
    copyFileSync(join(x, `usr/share/doc/${p.name}/copyright`), join(dest, p.copyright));
    writeFileSync(
      join(dest, `VERSION${p.name === 'seabios' ? '' : `-${p.name}`}`),
      `${p.name} ${version} (Debian package ${deb})\n`,
    );
  }

  mkdirSync(dest, { recursive: true });
  for (const p of missing) {
    try {
      fetchPackage(p);
    } catch (e) {
      if (!p.optional) throw e;
      console.error(`[ensure-seabios] cannot fetch Debian's ${p.name} package (for ${LINUXBOOT}): ${String(e)}`);
    }
  }
  console.log(dest);
} catch (e) {
  const stderr = e && typeof e === 'object' && 'stderr' in e ? String(e.stderr) : '';
  console.error(`[ensure-seabios] cannot fetch Debian's seabios package: ${String(e)}\n${stderr}`);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
