/**
 * The decoded cache's generic byte and word forms of the ALU group, TEST, INC/DEC, MOV, LEA and XCHG,
 * and SETcc r/m8 and CMOVcc (execGeneric), generated from their one definition (tools/gen-generic.ts: the forms' bindings in
 * generic-forms.ts, what each does from alu-ops.ts and move-ops.ts) into the region
 * `gen:generic execGeneric` of decoded-exec.ts: the region is what the tables give, no
 * hand-written case of these forms is left, and the oracle's vectors of these forms (the host
 * CPU's results, flags included) pass through the decoded cache with every form run by
 * execGeneric — so a wrong definition fails them there too (tried: LEA as a load fails the
 * r16 LEA vectors, CMP storing its result the byte and word CMP vectors).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { GENERIC_GEN_FILE, genericFormatted } from '../../tools/gen-generic';
import { GENERIC_FORMS, genericRows } from '../../src/machine/cpu/generic-forms';
import * as decoded from '../../src/machine/cpu/decoded';
import { readVectors, runVectors } from './oracle-run';
import type { Rig } from './rig';

const formName = (h: number) => Object.entries(decoded).find(([n, v]) => n.startsWith('G_') && v === h)![0];
const REGION = /\/\/ gen:generic execGeneric[\s\S]*?\/\/ end gen:generic/;

describe('the generic byte and word forms of the decoded cache, from their one definition', () => {
  it('the gen:generic region of decoded-exec.ts is what tools/gen-generic.ts makes (run it after changing generic-forms.ts, alu-ops.ts, move-ops.ts or opcodes.ts)', async () => {
    const text = readFileSync(GENERIC_GEN_FILE, 'utf8');
    expect(text).toMatch(REGION);
    expect(text).toBe(await genericFormatted(GENERIC_GEN_FILE, text));
  });

  it('every bound form has its case in the region and none outside it', () => {
    const text = readFileSync(GENERIC_GEN_FILE, 'utf8');
    const region = REGION.exec(text)![0];
    const outside = text.replace(REGION, '');
    for (const form of GENERIC_FORMS) {
      const label = `case ${form.handler} satisfies typeof ${formName(form.handler)}:`;
      expect(region, formName(form.handler)).toContain(label);
      expect(outside, formName(form.handler)).not.toContain(label);
    }
  });

  // The ALU vectors exercise the ALU, TEST and INC/DEC forms; the transfer vectors MOV, LEA and
  // XCHG; the condition vectors SETcc r/m8 and CMOVcc.
  const kindOf = (f: (typeof GENERIC_FORMS)[number]) =>
    f.variant === 'cond'
      ? 'cond.json'
      : ['mov', 'lea', 'xchg'].includes(genericRows(f)[0].mnemonic)
        ? 'transfer.json'
        : 'alu.json';
  for (const file of ['alu.json', 'transfer.json', 'cond.json'])
    it(`the oracle's ${file} vectors pass through the decoded cache, the byte and word forms run by execGeneric`, () => {
      const forms = new Set<number>();
      const spy = (rig: Rig) => {
        const cpu = rig.cpu as unknown as { execGeneric(x: number, d: Int32Array, p: number): void };
        const exec = cpu.execGeneric.bind(cpu);
        vi.spyOn(cpu, 'execGeneric').mockImplementation((x, d, p) => {
          forms.add((x >>> 8) & 63);
          exec(x, d, p);
        });
      };
      const vf = readVectors(file);
      const { failures, failedForms } = runVectors(vf, spy);
      expect(
        failures.length,
        `${failures.length} differ (${[...failedForms].join(', ')})\n  ${failures.slice(0, 10).join('\n  ')}`,
      ).toBe(0);
      const expected = GENERIC_FORMS.filter((f) => kindOf(f) === file);
      expect(expected.length).toBeGreaterThan(0);
      for (const form of expected) expect([...forms].map(formName), file).toContain(formName(form.handler));
    });
});
