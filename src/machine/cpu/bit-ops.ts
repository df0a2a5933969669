/**
 * BSWAP, BSF and BSR (0F C8+r, 0F BC, 0F BD), defined once: each result as a JavaScript expression
 * that compiled blocks inline, and as the function step() and the decoded cache call, whose body
 * is that expression (tests/cpu/bit-ops.test.ts holds the two to the same values).
 *
 * BSF and BSR change ZF alone (set when the source is 0, which leaves the destination as it was;
 * SDM vol. 2 calls the other flags undefined, and this CPU keeps them). Without BMI1 and LZCNT
 * (CPUID says neither), F3 0F BC and F3 0F BD are BSF and BSR: a REP prefix there is ignored.
 * The whole instruction is `BITSCAN_STATEMENT` (below): tools/gen-bits.ts writes the interpreter's
 * `bitScan` (alu.ts, step0f and the decoded cache's G_BITSCAN: memory and 16-bit forms) and the
 * cache's D_BITSCAN_R (decoded-exec.ts) from it, the block compiler pastes it (block-gen.ts).
 */
import { ZF } from './flags';

/** BSWAP's result (the dword's four bytes in reverse order), int32, over the int32 local `v`. */
export const BSWAP_EXPR = (v: string): string =>
  `(${v} << 24) | ((${v} & 0xff00) << 8) | ((${v} >>> 8) & 0xff00) | (${v} >>> 24)`;

/** The bit index BSF (`reverse` false: the lowest set bit) or BSR (the highest) finds in a non-zero local `v`. */
export const BITSCAN_EXPR = (reverse: boolean, v: string): string =>
  reverse ? `31 - Math.clz32(${v})` : `31 - Math.clz32(${v} & -${v})`;

/**
 * BSF (`reverse` false) or BSR whole, as statements: `v` the source, an int32 local read at the
 * operand size (a word zero-extended: its index is the same, 0–15); `flags` the EFLAGS an engine
 * reads and writes whole (its lazy flags built), or null where no one reads ZF before it is
 * replaced (the block compiler's dead flags); `set(index)` the statement that writes the index to
 * the destination at the operand size. A 0 source sets ZF and leaves the destination; any other
 * clears ZF and writes its index. `numbers`: ZF spelt as numbers (generated blocks import nothing).
 */
export const BITSCAN_STATEMENT = (
  reverse: boolean,
  v: string,
  flags: string | null,
  set: (index: string) => string,
  numbers = false,
): string => {
  const write = set(BITSCAN_EXPR(reverse, v));
  if (flags === null) return `if (${v} !== 0) ${write}`;
  const [zf, notZf] = numbers ? [`${ZF}`, `${~ZF}`] : ['ZF', '~ZF'];
  return `if (${v} === 0) ${flags} = ${flags} | ${zf}; else { ${flags} = ${flags} & ${notZf}; ${write} }`;
};
