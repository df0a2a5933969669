#!/usr/bin/env node
// Make sure Debian's SeaBIOS images exist under .cache/seabios/ (bios.bin, bios-256k.bin,
// vgabios-stdvga.bin, the package's copyright file and its version), fetching the `seabios`
// package on first use with `apt-get download` under a private apt state (its own lists and cache
// in a temporary folder; the machine's apt setup is read, never changed). The images are LGPLv3
// builds of SeaBIOS: we fetch them rather than commit them, so the repository carries no
// third-party binaries and the version is whatever Debian's stable ships (1.16.2 on bookworm).
// Prints the folder on stdout; exits 1 with a reason when the package cannot be had.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dest = join(root, '.cache', 'seabios');
const FILES = ['bios.bin', 'bios-256k.bin', 'vgabios-stdvga.bin'];

if (FILES.every((f) => existsSync(join(dest, f)))) {
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
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['download', '-qq', 'seabios'], tmp);
  const deb = readdirSync(tmp).find((f) => f.startsWith('seabios_') && f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download left no seabios_*.deb');
  const version = run('dpkg-deb', ['-f', join(tmp, deb), 'Version']).toString().trim();
  const x = join(tmp, 'x');
  run('dpkg-deb', ['-x', join(tmp, deb), x]);
  mkdirSync(dest, { recursive: true });
  for (const f of FILES) copyFileSync(join(x, 'usr/share/seabios', f), join(dest, f));
  copyFileSync(join(x, 'usr/share/doc/seabios/copyright'), join(dest, 'copyright'));
  writeFileSync(join(dest, 'VERSION'), `seabios ${version} (Debian package ${deb})\n`);
  console.log(dest);
} catch (e) {
  const stderr = e && typeof e === 'object' && 'stderr' in e ? String(e.stderr) : '';
  console.error(`[ensure-seabios] cannot fetch Debian's seabios package: ${String(e)}\n${stderr}`);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
