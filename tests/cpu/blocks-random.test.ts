/**
 * The block compiler against the interpreter on random programs made only of the forms the
 * decoded cache runs itself (so nearly all of them are compiled): register and memory ALU forms
 * including ADC/SBB, MOV, LEA, INC/DEC, shifts by an immediate and by CL, rotates, NEG/NOT, MUL,
 * IMUL, SETcc, CMOVcc, MOVZX/MOVSX, TEST, PUSH/POP, forward Jcc, the byte forms, and the generic
 * forms the compiler inlines (byte and word MOV, MOVZX/MOVSX and IMUL from memory, INC/DEC of a
 * dword in memory, word shifts of a register; misaligned operands too), all inside loops
 * (so that flags and counts cross the passes of a compiled loop). Each program runs with every
 * block compiled on first execution and with the interpreter alone, in slices of several sizes;
 * the whole state must agree at every run() boundary.
 */
import { describe, expect, it } from 'vitest';
import { fuzzRng } from './fuzz';
import { randomProgram, rigHalted, runProgram } from './block-programs';

describe('the block compiler on random programs of cached forms', () => {
  it('agrees with the interpreter at every run() boundary (200 seeded programs, slices 1 to 100,000)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const code = randomProgram(fuzzRng(seed));
      const slices = [[100_000], [1], [5, 3, 17], [64]][seed % 4];
      const ref = runProgram(code, seed, -1, slices);
      const got = runProgram(code, seed, 1, slices);
      expect(got, `seed ${seed}, slices ${slices.join()}`).toEqual(ref);
      expect(rigHalted(ref), `seed ${seed} ends in HLT`).toBe(true);
    }
    // 400 runs of ~1,000 instructions each, some one instruction per run(): 20 s on a quiet machine,
    // past the suite's 60-s default when other work shares the cores. A bound, not a measure.
  }, 240_000);
});
