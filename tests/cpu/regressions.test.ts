import { expect, it } from 'vitest';
import { fuzzCase } from './fuzz';
import { describeCpu } from './rig';

describeCpu('CPU regressions found by the long fuzz run', () => {
  it('run() returns even when every interrupt handler faults at once (seed 1122, real mode, hung before)', () => {
    const outcome = fuzzCase(1122, 'real', 20000);
    expect(outcome.exits.length).toBeGreaterThan(0);
  });
});
