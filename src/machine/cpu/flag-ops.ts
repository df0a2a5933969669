/**
 * The flag instructions defined once (README.md, "One definition per instruction"; SDM vol. 2, CLC,
 * STC, CMC, CLD, STD, CLI, STI, SAHF, LAHF): what each writes, as an expression over what it reads.
 * Two back ends read the table:
 * - tools/gen-flags.ts writes `flagOp` (decoded-exec.ts, the region `gen:flags flagOp`), which
 *   step() runs for every row whose body is `flag-op` and the decoded cache for D_FLAG and D_STI;
 *   tests/cpu/flag-gen.test.ts fails when the region is not what the table gives;
 * - the block compiler (block-gen.ts, D_FLAG) pastes the expression of an instruction without a
 *   privilege rule into a block's code, and calls `flagOp` for CLI (whose #GP(0) a block does not
 *   raise itself).
 */
import { CF, DF, IF } from './flags';

export interface FlagSemantics {
  /**
   * What the instruction writes: `flags` EFLAGS (the arithmetic flags, kept lazily, are built
   * first: `f` reads EFLAGS whole), `fl` IF or DF alone (no arithmetic flag involved: `f` reads the
   * stored EFLAGS as it is, the lazy ones left pending), `AH` (`f` reads EFLAGS whole).
   */
  readonly dst: 'flags' | 'fl' | 'AH';
  /** The value written, an expression over `f`, `ah` (AH, 0–255) and the EFLAGS bits CF, DF, IF (flags.ts). */
  readonly value: string;
  /** #GP(0) in protected mode (VM86 included, where CPL = 3) when CPL > IOPL (SDM vol. 2, CLI, STI; no CR4.PVI or VME here). */
  readonly iopl?: true;
  /** STI: IF newly set holds interrupts back until after the next instruction (SDM vol. 2, STI). */
  readonly shadow?: true;
}

/** By mnemonic (the opcode table's rows give the opcodes). */
export const FLAG_SEMANTICS: Readonly<Record<string, FlagSemantics>> = {
  clc: { dst: 'flags', value: 'f & ~CF' },
  stc: { dst: 'flags', value: 'f | CF' },
  cmc: { dst: 'flags', value: 'f ^ CF' },
  cld: { dst: 'fl', value: 'f & ~DF' },
  std: { dst: 'fl', value: 'f | DF' },
  cli: { dst: 'fl', value: 'f & ~IF', iopl: true },
  sti: { dst: 'fl', value: 'f | IF', iopl: true, shadow: true },
  // SF ZF AF PF CF from AH's bits 7 6 4 2 0; bit 1 stays 1 (SDM vol. 2, SAHF)
  sahf: { dst: 'flags', value: '(f & ~0xd5) | (ah & 0xd5) | 2' },
  // AH ← SF ZF 0 AF 0 PF 1 CF (SDM vol. 2, LAHF)
  lahf: { dst: 'AH', value: '(f & 0xd7) | 2' },
};

const BITS: Readonly<Record<string, number>> = { CF, DF, IF };

/**
 * `value` with `f` and `ah` spelt as a back end reads them, and the flag names as they are (code
 * that imports them from flags.ts) or as numbers (`numbers`: generated code, which imports nothing).
 */
export function flagValue(s: FlagSemantics, f: string, ah: string, numbers = false): string {
  const v = s.value.replace(/\bf\b/g, f).replace(/\bah\b/g, ah);
  return numbers ? v.replace(/\b(CF|DF|IF)\b/g, (name) => String(BITS[name])) : v;
}
