/**
 * The CPU benchmark kernel (guest/bench, run by `npm run bench:cpu` on our CPU and on v86) is
 * committed prebuilt: rebuilding it from source with the system gcc gives the committed bytes,
 * and the host build of its work gives the committed checksums the guest must report.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Where gcc cannot build 32-bit code the rebuild is reported as skipped, never passed.
const haveGcc32 = spawnSync('gcc', ['-m32', '-ffreestanding', '-c', '-x', 'c', '/dev/null', '-o', '/dev/null']).status === 0;

describe('the benchmark kernel', () => {
  it.skipIf(!haveGcc32)('rebuilds from source to the committed public/guest/bench.elf (skipped without gcc -m32)', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-rebuild-'));
    try {
      execFileSync('make', ['-s', '-C', 'guest/bench', `OUT=${out}`, `${out}/bench.elf`], { stdio: 'pipe' });
      expect(readFileSync(join(out, 'bench.elf')).equals(readFileSync('public/guest/bench.elf'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.skipIf(!haveGcc32)('the host build of its work prints the committed checksums for all ten phases', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-host-'));
    try {
      const exe = join(out, 'bench-host');
      const src = ['host.c', 'work.c', 'work16.c'].map((f) => join('guest/bench', f));
      execFileSync('gcc', ['-O2', '-o', exe, ...src], { stdio: 'pipe' });
      const printed = JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as { phases: string[] };
      const committed = JSON.parse(readFileSync('guest/bench/expected.json', 'utf8')) as { phases: string[] };
      expect(printed).toEqual(committed);
      expect(committed.phases).toEqual([
        'checksum',
        'sort',
        'string',
        'calls',
        'division',
        'bits',
        'paging',
        'prefix',
        'code16',
        'tasks',
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
