/**
 * The emulated x87 against the host's: every recorded vector of tests/cpu/vectors/x87/ (made by
 * `npm run oracle:x87`) except the transcendentals gives bit for bit the host's results, status
 * word, tag word, stored memory and FCOMI's EFLAGS.
 */
import { describe, expect, it } from 'vitest';
import { loadGroup, runCase } from './vectors';

describe('the emulated x87 agrees bit for bit with the host x87', () => {
  for (const group of ['arith', 'misc', 'compare', 'convert', 'const', 'stack']) {
    const file = loadGroup(group);
    it(`${group}: ${file.cases.length} vectors from ${file.host}`, () => {
      const failures: string[] = [];
      const perOp = new Map<string, number>();
      for (const row of file.cases) {
        const got = runCase(row);
        const want = { sw: row[5], tw: row[6], st: [row[7], row[8], row[9]], mOut: row[10], eflags: row[11] };
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          perOp.set(row[0], (perOp.get(row[0]) ?? 0) + 1);
          if (failures.length < 30)
            failures.push(
              `${row.slice(0, 5).join(' ')}\n   want ${JSON.stringify(want)}\n   got  ${JSON.stringify(got)}`,
            );
        }
      }
      expect(failures, [...perOp].map(([k, v]) => `${k}: ${v}`).join(', ') + '\n' + failures.join('\n')).toEqual([]);
    });
  }
});
