/**
 * `npm run fuzz:cpu -- --seconds N [--seed S] [--instructions K]`: random instruction bytes from
 * random states (tests/cpu/fuzz.ts) until N seconds have passed; stops at the first host exception
 * and prints the seed and mode that replay it.
 */
import { FUZZ_MODES, fuzzCase } from '../tests/cpu/fuzz';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('--seconds', 30);
let seed = arg('--seed', Date.now() % 1_000_000_007);
const instructions = arg('--instructions', 20000);

const t0 = performance.now();
let cases = 0;
const exits = new Map<string, number>();
try {
  while (performance.now() - t0 < seconds * 1000) {
    const mode = FUZZ_MODES[cases % FUZZ_MODES.length];
    const out = fuzzCase(seed, mode, instructions);
    const last = String(out.exits[out.exits.length - 1]);
    exits.set(`${mode}/${last}`, (exits.get(`${mode}/${last}`) ?? 0) + 1);
    cases++;
    seed = (seed + 1) >>> 0;
  }
  console.log(`fuzz:cpu: ${cases} cases in ${seconds} s, no host exception`);
  console.log([...exits].map(([k, v]) => `  ${k}: ${v}`).join('\n'));
} catch (e) {
  console.error(`fuzz:cpu: FAILED after ${cases} cases\n${(e as Error).message}`);
  process.exit(1);
}
