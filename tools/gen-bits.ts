/**
 * `npx tsx tools/gen-bits.ts`: writes BSF and BSR's interpreter code from their one definition
 * (src/machine/cpu/bit-ops.ts, BITSCAN_STATEMENT): the regions `// gen:bits bitScan` (alu.ts:
 * step0f's 0F BC/BD and the decoded cache's G_BITSCAN, every operand size and memory) and
 * `// gen:bits execReg` (decoded-exec.ts: the cache's D_BITSCAN_R, r32, r32) … `// end gen:bits`.
 * The block compiler pastes the same statement (block-gen.ts, D_BITSCAN_R). tests/cpu/bit-ops.test.ts
 * fails when a region is not what this gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BITSCAN_STATEMENT } from '../src/machine/cpu/bit-ops';
import { formatted, spliceRegions } from './gen-moves';

/** The files holding the regions. */
export const BIT_GEN_FILES = ['alu.ts', 'decoded-exec.ts'].map((f) =>
  fileURLToPath(new URL(`../src/machine/cpu/${f}`, import.meta.url)),
);

/**
 * Each region: where BSR or BSF is chosen (a run-time test), the source (a local `v` the
 * hand-written code reads before the region) and how the destination is written.
 */
const REGIONS: Readonly<Record<string, { bsr: string; set: (index: string) => string }>> = {
  // the reg field's register at the operand size (setReg cuts a word and keeps the high half)
  bitScan: { bsr: 'reverse', set: (i) => `this.setReg(this.reg, size, ${i});` },
  // D_BITSCAN_R's payload: dst | src << 3 | BSR << 6
  execReg: { bsr: 'x & 0x40', set: (i) => `r[x & 7] = ${i};` },
};

/** The text of region `name`. */
export function bitRegion(name: string): string {
  const r = REGIONS[name];
  if (!r) throw new Error(`gen:bits: no region ${name}`);
  const body = (reverse: boolean): string => BITSCAN_STATEMENT(reverse, 'v', 'this.flags', r.set);
  return [`if (${r.bsr}) {`, body(true), '} else {', body(false), '}'].join('\n');
}

/** A file's text with its regions as this tool writes them (spliced, then Prettier). */
export async function bitsFormatted(file: string, text = readFileSync(file, 'utf8')): Promise<string> {
  return formatted(file, text, (t) => spliceRegions(t, 'bits', bitRegion));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of BIT_GEN_FILES) {
    writeFileSync(file, await bitsFormatted(file));
    console.log(`wrote ${file}`);
  }
}
