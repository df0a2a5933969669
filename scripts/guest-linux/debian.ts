/**
 * Debian packages through a private apt state: its own APT_CONFIG, lists and cache in a temporary
 * folder, `APT::Architecture "i386"`, so the machine's own apt setup is never read or changed.
 * Every failure throws with what failed and apt's own words.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_SOURCES, type DebianFile } from './packages';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Buffer {
  const r = spawnSync(cmd, args, { env, input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
  return r.stdout;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Download the given packages (exact versions) for `arch` (i386, the guest's, unless a host tool is
 * wanted; architecture-independent packages come as they are) and return, for each file, the bytes
 * of the member it names, checked against the recorded sha256 unless `verify` is false.
 */
export function fetchDebianFiles(files: DebianFile[], verify = true, arch = 'i386'): Buffer[] {
  const root = mkdtempSync(join(tmpdir(), `apt-${arch}-`));
  try {
    for (const d of ['lists/partial', 'cache/archives/partial', 'state', 'etc', 'debs'])
      mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'status'), '');
    writeFileSync(
      join(root, 'sources.list'),
      DEBIAN_SOURCES.map((s) => s.replace(/^deb /, `deb [arch=${arch} signed-by=${KEYRING}] `)).join('\n') + '\n',
    );
    writeFileSync(
      join(root, 'apt.conf'),
      [
        `Dir::State "${root}/state";`,
        `Dir::State::lists "${root}/lists";`,
        `Dir::State::status "${root}/status";`,
        `Dir::Cache "${root}/cache";`,
        `Dir::Etc "${root}/etc";`,
        `Dir::Etc::SourceList "${root}/sources.list";`,
        `Dir::Etc::SourceParts "${root}/etc";`,
        `APT::Architecture "${arch}";`,
        `APT::Architectures { "${arch}"; };`,
        // Downloads land in a folder the unprivileged _apt user may not write: fetch as we are.
        'APT::Sandbox::User "root";',
      ].join('\n') + '\n',
    );
    const env = { ...process.env, APT_CONFIG: join(root, 'apt.conf'), LC_ALL: 'C' };
    run('apt-get', ['-q', 'update'], env);
    const debs = join(root, 'debs');
    const wanted = [...new Set(files.map((f) => `${f.package}=${f.version}`))];
    const r = spawnSync('apt-get', ['-q', 'download', ...wanted], {
      env,
      cwd: debs,
      maxBuffer: 1 << 26,
    });
    if (r.error || r.status !== 0)
      throw new Error(
        `apt-get download of ${wanted.join(', ')} failed: ${r.error?.message ?? r.stderr.toString().trim()}`,
      );
    const names = readdirSync(debs);
    // Each package's data archive is unpacked once, with only the members wanted (a kernel
    // package is 190 MB unpacked; its modules are taken a few at a time).
    const extracted = new Map<string, string>();
    const folderOf = (pkg: string): string => {
      const known = extracted.get(pkg);
      if (known) return known;
      const deb = names.find((n) => n.startsWith(`${pkg}_`) && (n.endsWith(`_${arch}.deb`) || n.endsWith('_all.deb')));
      if (!deb) throw new Error(`apt-get download gave no .deb for ${pkg}`);
      const out = join(root, 'x', pkg);
      mkdirSync(out, { recursive: true });
      const tar = join(root, `${pkg}.tar`);
      writeFileSync(tar, run('dpkg-deb', ['--fsys-tarfile', join(debs, deb)], env));
      const members = [...new Set(files.filter((f) => f.package === pkg).map((f) => f.member))];
      run('tar', ['-x', '-f', tar, '-C', out, ...members], env);
      rmSync(tar);
      extracted.set(pkg, out);
      return out;
    };
    return files.map((f) => {
      const bytes = readFileSync(join(folderOf(f.package), f.member));
      if (verify && sha256(bytes) !== f.sha256)
        throw new Error(
          `${f.member} from ${f.package} ${f.version} has sha256 ${sha256(bytes)}, not the recorded ${f.sha256}`,
        );
      return bytes;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
