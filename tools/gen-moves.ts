/**
 * `npx tsx tools/gen-moves.ts`: writes the decoded cache's MOV/LEA/PUSH/POP handlers from their
 * one definition (src/machine/cpu/move-ops.ts, MOVE_FORMS) into the regions of the CPU's files
 * marked `// gen:moves NAME` … `// end gen:moves`: the cases of execReg, execStack and
 * execDecoded (decoded-cache.ts) and the run loop's inline MOV (cpu.ts, runInner). The regions
 * stay inside the hand-written functions, so the code V8 sees is what it was (a call per form
 * would cost the interpreter). tests/cpu/move-gen.test.ts fails when a region is not what this
 * gives (run this after changing the table).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { MOVE_FORMS, moveFunction, type MicroOp, type MoveForm, type MoveOperand } from '../src/machine/cpu/move-ops';
import * as decoded from '../src/machine/cpu/decoded';

/** The files holding regions. */
export const MOVE_GEN_FILES = ['decoded-cache.ts', 'cpu.ts'].map((f) =>
  fileURLToPath(new URL(`../src/machine/cpu/${f}`, import.meta.url)),
);

function handlerName(h: number): string {
  const name = Object.entries(decoded).find(([n, v]) => n.startsWith('D_') && v === h)?.[0];
  if (name === undefined) throw new Error(`no handler ${h}`);
  return name;
}

/** The interpreter's statements of a form (payload in x, entry words in d at p, registers in r). */
function interpreterBody(form: MoveForm): string[] {
  let declared = false;
  const reg = (k: number): string => {
    const s = form.fields[k];
    if (s === undefined) throw new Error(`${form.mnemonic}: no field ${k}`);
    return s < 0 ? 'r[x]' : s === 0 ? 'r[x & 7]' : `r[(x >> ${s}) & 7]`;
  };
  const src = (o: MoveOperand): string => (o === 'imm' ? 'd[p + 3]' : o === 't' ? 't' : reg(o === 'r0' ? 0 : 1));
  const dst = (o: MoveOperand): string => {
    if (o === 'imm') throw new Error(`${form.mnemonic}: imm is not a destination`);
    if (o !== 't') return reg(o === 'r0' ? 0 : 1);
    if (declared) return 't';
    declared = true;
    return 'const t';
  };
  const stmt = (op: MicroOp): string[] => {
    switch (op[0]) {
      case 'set':
        return [`${dst(op[1])} = ${src(op[2])};`];
      case 'load':
        return [`${dst(op[1])} = this.dLoad32(d, p);`];
      case 'store':
        return [`this.dStore32(d, p, ${src(op[1])});`];
      case 'push':
        return [`this.push32(${src(op[1])});`];
      case 'pop':
        return [`${dst(op[1])} = this.pop32();`];
      case 'lea':
        // The offset: displacement + base + index << scale (w1: base | index << 4 | scale << 8; 8+: none).
        return [
          'const w1 = d[p + 1];',
          'let off = d[p + 2];',
          'const base = w1 & 15;',
          'if (base < 8) off += r[base];',
          'const index = (w1 >> 4) & 15;',
          'if (index < 8) off += r[index] << ((w1 >> 8) & 3);',
          `${dst(op[1])} = off;`,
        ];
    }
  };
  return form.ops.flatMap(stmt);
}

/** The text of one region. */
export function moveRegion(name: string): string {
  if (name === 'runInner') {
    // The run loop keeps the commonest form, MOV r32, r32, inline (cpu.ts).
    const form = MOVE_FORMS.find((f) => handlerName(f.handler) === 'D_MOV_RR')!;
    return interpreterBody(form).join('\n');
  }
  return MOVE_FORMS.filter((f) => moveFunction(f) === name)
    .map((f) => {
      const body = interpreterBody(f);
      const block = body.some((s) => /^(const|let) /.test(s));
      return [
        `// ${f.mnemonic}`,
        `case ${handlerName(f.handler)}:${block ? ' {' : ''}`,
        ...body,
        'return;',
        ...(block ? ['}'] : []),
      ].join('\n');
    })
    .join('\n');
}

const BEGIN = /^(\s*)\/\/ gen:moves (\w+)/;
const END = /^\s*\/\/ end gen:moves/;

/** `text` (a file's) with every region replaced by what the table gives, unformatted. */
export function spliceMoves(text: string): string {
  const out: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    const begin = BEGIN.exec(line);
    if (begin) {
      out.push(line, moveRegion(begin[2]));
      inside = true;
    } else if (END.test(line)) {
      out.push(line);
      inside = false;
    } else if (!inside) out.push(line);
  }
  if (inside) throw new Error('gen:moves: a region without its end');
  return out.join('\n');
}

/** A file's text with its regions as this tool writes them (spliced, then Prettier). */
export async function movesFormatted(file: string, text = readFileSync(file, 'utf8')): Promise<string> {
  const options = await resolveConfig(file);
  return format(spliceMoves(text), { ...options, filepath: file });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of MOVE_GEN_FILES) {
    writeFileSync(file, await movesFormatted(file));
    console.log(`wrote ${file}`);
  }
}
