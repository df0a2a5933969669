/**
 * The emulated CPU against the host CPU: every vector in tests/cpu/vectors/ (made by
 * `npm run oracle`, see tools/oracle/) is run from the same image bytes the host ran, and its
 * output state block and memory slot are compared with what the host recorded (oracle-run.ts).
 */
import { expect, it } from 'vitest';
import { VECTOR_FILES, readVectors, runVectors } from './oracle-run';
import { describeCpu } from './rig';

describeCpu('the emulated CPU agrees with the host CPU', () => {
  it('has vectors for every group', () => {
    expect(VECTOR_FILES.length).toBeGreaterThanOrEqual(10);
  });
  for (const file of VECTOR_FILES) {
    const vf = readVectors(file);
    it(`${vf.group}: ${vf.cases.length} vectors from ${vf.host}`, () => {
      const { failures, failedForms } = runVectors(vf);
      const summary = `${failures.length}/${vf.cases.length} vectors differ, in ${failedForms.size} forms: ${[...failedForms].join(', ')}`;
      expect(failures.length, `${summary}\n  ${failures.slice(0, 25).join('\n  ')}`).toBe(0);
    });
  }
});
