/**
 * `npx tsx tools/gen-generic.ts`: writes the decoded cache's generic byte and word forms of the
 * ALU group, TEST, INC/DEC, MOV, LEA and XCHG, and SETcc r/m8 and CMOVcc (execGeneric in
 * src/machine/cpu/decoded-exec.ts, the region `// gen:generic execGeneric` … `// end
 * gen:generic`) from their one definition: each form's binding to a row of the opcode table
 * (generic-forms.ts: GENERIC_FORMS) gives its operands, and the instruction's definition what it
 * does (alu-ops.ts: ALU_OPS with `stores`, TEST_AS, INCDEC_OPS; move-ops.ts: MOVE_SEMANTICS,
 * CONDITIONAL_SEMANTICS), through the same back ends that write step()'s cases (tools/gen-alu.ts,
 * tools/gen-moves.ts) with execGeneric's operand size (`size`), immediate (`imm`, the entry's
 * d[p + 3]) and condition (`extra`). tests/cpu/generic-gen.test.ts fails when the region is not
 * what this gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ALU_OPS, INCDEC_OPS, aluOpOf } from '../src/machine/cpu/alu-ops';
import * as decoded from '../src/machine/cpu/decoded';
import { GENERIC_FORMS, genericRows, type GenericForm } from '../src/machine/cpu/generic-forms';
import { CONDITIONAL_SEMANTICS, MOVE_SEMANTICS } from '../src/machine/cpu/move-ops';
import { aluOperand, incDecStepBody, storeUnlessNot } from './gen-alu';
import {
  caseLabel,
  condStatements,
  conditional,
  formatted,
  spliceRegions,
  statements,
  stepBack,
  switchCase,
  type KindEnv,
} from './gen-moves';

/** The file holding the region. */
export const GENERIC_GEN_FILE = fileURLToPath(new URL('../src/machine/cpu/decoded-exec.ts', import.meta.url));

/** execGeneric's immediate (the entry's, as the decoder stored it) by kind, of the operand size. */
function genericImm(kind: string): string {
  if (kind === 'Ib') return 'imm & 0xff';
  if (kind === 'Iv') return '(size === 4 ? imm >>> 0 : imm & 0xffff)';
  throw new Error(`gen-generic: no immediate of kind ${kind}`);
}
const GENERIC_ENV: KindEnv = { osz: 'size', imm: genericImm };

function handlerLabel(h: number): string {
  const name = Object.entries(decoded).find(([n, v]) => n.startsWith('G_') && v === h)?.[0];
  if (name === undefined) throw new Error(`gen-generic: no form ${h}`);
  return caseLabel(name, h);
}

/** One form's statements (and the comment naming it). */
function genericBody(form: GenericForm): { comment: string; body: string[] } {
  const rows = genericRows(form);
  const [row] = rows;
  const kinds = row.operands as readonly string[];
  const size = /b$|^AL$/.test(kinds[0]) ? '1' : 'size';
  if (form.variant === 'payload') {
    // An ALU operation the decoder put in the payload (the opcode's bits 3–5 or the reg field):
    // every ALU operation on the row's operands, stored unless it is one that does not store.
    for (const r of rows)
      if (aluOpOf(r.mnemonic)?.op !== (r.ext ?? r.op >> 3))
        throw new Error(`gen-generic: ${r.mnemonic} at ${r.op.toString(16)} is not the ALU operation of its bits`);
    const [dst, src] = kinds.map((k) => aluOperand(k, size, genericImm));
    return {
      comment: `${ALU_OPS.map((o) => o.mnemonic).join(' ')} ${kinds.join(', ')} (the operation: the payload's extra bits)`,
      body: [
        'const op = extra & 7;',
        `const res = this.alu(op, ${dst.read}, ${src.read}, ${size});`,
        storeUnlessNot('op', dst.write!('res')),
      ],
    };
  }
  if (form.variant === 'reg') {
    // INC or DEC by the reg field.
    const members = rows.filter((o) => INCDEC_OPS.some((i) => i.mnemonic.toLowerCase() === o.mnemonic));
    return incDecStepBody(members, 'size');
  }
  if (rows.length !== 1) throw new Error(`gen-generic: ${form.opcode.toString(16)} has ${rows.length} rows`);
  if (form.variant === 'cond') {
    // SETcc, CMOVcc: the row of condition 0 gives the operands, the payload the condition.
    const c = conditional(row);
    if (c === undefined || c.cc !== 0) throw new Error(`gen-generic: ${row.mnemonic} is not a condition 0 row`);
    return {
      comment: `${c.stem.toUpperCase()}cc ${kinds.join(', ')} (the condition: the payload's extra bits)`,
      body: condStatements(CONDITIONAL_SEMANTICS[c.stem], stepBack(row, GENERIC_ENV), 'this.cond(extra)'),
    };
  }
  const comment = `${row.mnemonic.toUpperCase()} ${kinds.join(', ')}`;
  const alu = aluOpOf(row.mnemonic);
  if (alu !== undefined) {
    const [dst, src] = kinds.map((k) => aluOperand(k, size, genericImm));
    const operation = `this.alu(${alu.op}, ${dst.read}, ${src.read}, ${size})`;
    return { comment, body: alu.stores ? [`const res = ${operation};`, dst.write!('res')] : [`${operation};`] };
  }
  const ops = MOVE_SEMANTICS[row.mnemonic];
  if (ops === undefined) throw new Error(`gen-generic: no definition of ${row.mnemonic}`);
  return { comment, body: statements(ops, stepBack(row, GENERIC_ENV)) };
}

/** The text of execGeneric's region: one case per form. */
export function genericRegion(name: string): string {
  if (name !== 'execGeneric') throw new Error(`gen:generic: no region ${name}`);
  return GENERIC_FORMS.map((form) => {
    const { comment, body } = genericBody(form);
    return switchCase([handlerLabel(form.handler)], comment, body);
  }).join('\n');
}

/** A file's text with its gen:generic region as this tool writes it (spliced, then Prettier). */
export async function genericFormatted(file = GENERIC_GEN_FILE, text = readFileSync(file, 'utf8')): Promise<string> {
  return formatted(file, text, (t) => spliceRegions(t, 'generic', genericRegion));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(GENERIC_GEN_FILE, await genericFormatted());
  console.log(`wrote ${GENERIC_GEN_FILE}`);
}
