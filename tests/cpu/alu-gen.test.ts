/**
 * The ALU group's one definition (src/machine/cpu/alu-ops.ts) and the interpreter's code generated
 * from it (alu-gen.ts, by tools/gen-alu.ts): the file is what the tables give, so the interpreter,
 * the decoded cache (both through alu.ts and state.ts) and the block compiler (block-gen.ts, from
 * the same expressions) compute the same thing. That they agree with each other and with the SDM
 * is what the lazyflags, oracle, blocks-random and block-templates tests check by execution (a
 * wrong condition in the table fails lazyflags in both CPU modes: tried).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALU_GEN_FILE, aluGenFormatted } from '../../tools/gen-alu';
import { ALU_OPS } from '../../src/machine/cpu/alu-ops';
import { ALU_LAZY, aluResult32 } from '../../src/machine/cpu/alu-gen';

describe('the ALU group, defined once', () => {
  it('alu-gen.ts is what tools/gen-alu.ts makes from the table (run it after changing alu-ops.ts)', async () => {
    expect(readFileSync(ALU_GEN_FILE, 'utf8')).toBe(await aluGenFormatted());
  });

  it('the generated interpreter code computes what the expressions the block compiler inlines compute', () => {
    const values = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x12345678, -0x5555556, 0xff, 0x8000];
    ALU_OPS.forEach((o, op) => {
      expect(ALU_LAZY[op], o.mnemonic).toBe(o.lazy);
      if (o.result === null) return;
      const inlined = new Function('a', 'b', `return ${o.result('a', 'b')};`) as (a: number, b: number) => number;
      for (const a of values)
        for (const b of values) expect(aluResult32(op, a, b), `${o.mnemonic} ${a}, ${b}`).toBe(inlined(a, b));
    });
  });
});
