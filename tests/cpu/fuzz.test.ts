/**
 * Nothing a guest does may throw a host exception (DESIGN.md, "CPU"): random instruction bytes from
 * random states in real mode, flat protected mode, paged protected mode and virtual-8086 mode under
 * a ring-0 monitor. Bounded here (a fixed number of seeded cases); `npm run fuzz:cpu -- --seconds N`
 * runs longer with fresh seeds.
 */
import { expect, it } from 'vitest';
import { describeCpu } from './rig';
import { FUZZ_MODES, fuzzCase } from './fuzz';

const CASES_PER_MODE = 40;

describeCpu('fuzz: random bytes never throw a host exception', () => {
  for (const mode of FUZZ_MODES)
    it(`${mode}: ${CASES_PER_MODE} seeded cases end in a RunExit`, () => {
      for (let i = 0; i < CASES_PER_MODE; i++) {
        const outcome = fuzzCase(0xf00d + i * 7919 + FUZZ_MODES.indexOf(mode), mode, 4000);
        expect(outcome.exits.length).toBeGreaterThan(0);
      }
    });
});
