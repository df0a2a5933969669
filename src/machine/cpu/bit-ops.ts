/**
 * BSWAP, BSF and BSR (0F C8+r, 0F BC, 0F BD), defined once: each result as a JavaScript expression
 * that compiled blocks inline, and as the function step() and the decoded cache call, whose body
 * is that expression (tests/cpu/bit-ops.test.ts holds the two to the same values).
 *
 * BSF and BSR change ZF alone (set when the source is 0, which leaves the destination as it was;
 * SDM vol. 2 calls the other flags undefined, and this CPU keeps them). Without BMI1 and LZCNT
 * (CPUID says neither), F3 0F BC and F3 0F BD are BSF and BSR: a REP prefix there is ignored.
 */

/** BSWAP's result (the dword's four bytes in reverse order), int32, over the int32 local `v`. */
export const BSWAP_EXPR = (v: string): string =>
  `(${v} << 24) | ((${v} & 0xff00) << 8) | ((${v} >>> 8) & 0xff00) | (${v} >>> 24)`;

/** The bit index BSF (`reverse` false: the lowest set bit) or BSR (the highest) finds in a non-zero local `v`. */
export const BITSCAN_EXPR = (reverse: boolean, v: string): string =>
  reverse ? `31 - Math.clz32(${v})` : `31 - Math.clz32(${v} & -${v})`;

/** BSWAP of the dword v. */
export function bswap32(v: number): number {
  return (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** The index of the lowest (BSF) or highest (BSR) set bit of v, which is not 0. */
export function bitIndex(reverse: boolean, v: number): number {
  return reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
}
