/**
 * The oracle generator (tools/oracle/) against the committed vectors and the opcode table:
 *  - forms() with the default seed reproduces every committed vector's name, bytes, input state,
 *    EFLAGS mask and the image byte for byte (so a change to forms.ts that would change the vectors
 *    shows here, on any machine, without running 32-bit code);
 *  - every vector's EFLAGS mask is what the opcode table says is defined after the instruction
 *    (`ARITH & ~undefined`), except shifts and SHLD/SHRD, whose undefined flags depend on the count:
 *    there the flags the table calls always defined must be in the vector's mask.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { forms, type Form } from '../../tools/oracle/forms';
import { DEFAULT_PER_FORM, DEFAULT_SEED, draftGroup, mulberry32 } from '../../tools/oracle/generate';
import type { VectorFile } from '../../tools/oracle/image';
import { disassembleOne } from '../../src/machine/cpu/disasm';
import { ARITH, DF } from '../../src/machine/cpu/flags';

const dir = new URL('./vectors/', import.meta.url);
const committed = new Map<string, VectorFile>(
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const vf = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as VectorFile;
      return [vf.group, vf];
    }),
);

describe('the oracle generator', () => {
  it('reproduces the committed vectors from forms() (names, bytes, inputs, masks, image)', () => {
    const groups = new Map<string, Form[]>();
    for (const f of forms()) groups.set(f.group, [...(groups.get(f.group) ?? []), f]);
    expect([...groups.keys()].sort()).toEqual([...committed.keys()].sort());
    const rng = mulberry32(DEFAULT_SEED);
    for (const [group, fs] of groups) {
      const vf = committed.get(group)!;
      expect(vf.seed).toBe(DEFAULT_SEED);
      const { image, cases } = draftGroup(fs, rng, DEFAULT_PER_FORM);
      expect(cases.length, group).toBe(vf.cases.length);
      cases.forEach((c, i) => {
        const want = vf.cases[i];
        expect({ name: c.name, bytes: c.bytes, in: c.in, defined: c.defined, memIn: c.memIn }, group).toEqual({
          name: want.name,
          bytes: want.bytes,
          in: want.in,
          defined: want.defined,
          memIn: want.memIn,
        });
      });
      expect(Buffer.from(image).toString('base64') === vf.image, `${group} image`).toBe(true);
    }
  });

  it('masks every vector with the flags the opcode table defines', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const vf of committed.values())
      for (const c of vf.cases) {
        const bytes = c.bytes.match(/../g)!.map((h) => parseInt(h, 16));
        const o = disassembleOne((i) => (i < bytes.length ? bytes[i] : -1), 0, true).opcode;
        if (!o) {
          wrong.push(`${c.name}: not in the table`);
          continue;
        }
        const table = (ARITH & ~o.flags.undefined) | DF;
        const countDependent = /^(rol|ror|rcl|rcr|shl|shr|sar|shld|shrd)$/.test(o.mnemonic);
        // Count-dependent: what the table calls always defined must be in the vector's mask.
        const ok = countDependent ? (table & ~c.defined) === 0 : c.defined === table;
        if (!ok) wrong.push(`${c.name} [${c.bytes}]: vector ${c.defined.toString(16)}, table ${table.toString(16)}`);
        checked++;
      }
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(checked).toBeGreaterThan(7000);
  });
});
