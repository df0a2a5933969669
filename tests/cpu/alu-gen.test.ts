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

describe('the ALU group, defined once', () => {
  it('alu-gen.ts is what tools/gen-alu.ts makes from the table (run it after changing alu-ops.ts)', async () => {
    expect(readFileSync(ALU_GEN_FILE, 'utf8')).toBe(await aluGenFormatted());
  });
});
