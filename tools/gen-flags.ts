/**
 * `npx tsx tools/gen-flags.ts`: writes the flag instructions' interpreter code from their one
 * definition (src/machine/cpu/flag-ops.ts, FLAG_SEMANTICS): the cases of `flagOp` (decoded-exec.ts,
 * the region `// gen:flags flagOp` … `// end gen:flags`), one per row of the opcode table
 * (opcodes.ts) whose mnemonic the table defines, labelled with its opcode. step() runs every such
 * row through flagOp (its body `flag-op`), the decoded cache D_FLAG and D_STI; the block compiler
 * pastes the same expressions (block-gen.ts). tests/cpu/flag-gen.test.ts fails when the region
 * is not what this gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FLAG_SEMANTICS, flagValue } from '../src/machine/cpu/flag-ops';
import { OPCODES, type Opcode } from '../src/machine/cpu/opcodes';
import { formatted, spliceRegions, switchCase } from './gen-moves';

/** The file holding the region. */
export const FLAG_GEN_FILE = fileURLToPath(new URL('../src/machine/cpu/decoded-exec.ts', import.meta.url));

/** The rows the table defines (one-byte map). */
export function flagRows(): Opcode[] {
  return OPCODES.filter((o) => o.mnemonic in FLAG_SEMANTICS && !o.missing);
}

/** One instruction's statements in flagOp. */
export function flagStatements(mnemonic: string): string[] {
  const s = FLAG_SEMANTICS[mnemonic];
  const ah = '((this.reg32[EAX] >> 8) & 0xff)';
  const out: string[] = [];
  if (s.iopl) out.push('if (this._cr0 & CR0_PE && this._cpl > this.iopl) throw new CpuFault(GP, 0);');
  if (s.shadow)
    out.push(
      'if (!(this.fl & IF)) {',
      'this.shadow = true; // events() holds interrupts for one instruction',
      'this.attention = 1;',
      '}',
    );
  if (s.dst === 'flags') out.push(`this.flags = ${flagValue(s, 'this.flags', ah)};`);
  else if (s.dst === 'fl') out.push(`this.fl = ${flagValue(s, 'this.fl', ah)};`);
  else out.push(`this.setReg(4, 1, ${flagValue(s, 'this.flags', ah)});`); // byte register 4: AH
  return out;
}

/** The text of the region. */
export function flagRegion(name: string): string {
  if (name !== 'flagOp') throw new Error(`gen:flags: no region ${name}`);
  return flagRows()
    .map((row) =>
      switchCase(
        [`0x${row.op.toString(16).padStart(2, '0')}`],
        row.mnemonic.toUpperCase(),
        flagStatements(row.mnemonic),
      ),
    )
    .join('\n');
}

/** The file's text with its region as this tool writes it (spliced, then Prettier). */
export async function flagsFormatted(file: string, text = readFileSync(file, 'utf8')): Promise<string> {
  return formatted(file, text, (t) => spliceRegions(t, 'flags', flagRegion));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(FLAG_GEN_FILE, await flagsFormatted(FLAG_GEN_FILE));
  console.log(`wrote ${FLAG_GEN_FILE}`);
}
