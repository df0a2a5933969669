/**
 * `npx tsx tools/gen-alu.ts`: writes src/machine/cpu/alu-gen.ts, the interpreter's code of the
 * arithmetic with lazy flags (the ALU group, INC/DEC, the dword shifts, every lazy kind's flags and
 * conditions), from its one definition (src/machine/cpu/alu-ops.ts) — as v86 generates its
 * interpreter's and its JIT's code from one table — and step()'s cases of the ALU group and TEST
 * (interpreter.ts, the region `// gen:alu step` … `// end gen:alu`; group 3's NOT, MUL, IMUL, DIV,
 * IDIV from muldiv-ops.ts' MULDIV_OPS in `gen:alu group3`) from the same table and the
 * opcode table's rows (opcodes.ts); and in muldiv-ops.ts itself, notOf's body and multiply()'s
 * dword branch from its NOT_EXPR and MUL32 (`gen:alu notOf`, `gen:alu multiply32`), the
 * expressions the block compiler inlines. tests/cpu/alu-gen.test.ts and tests/cpu/alu-step.test.ts fail
 * when the file or the region is not what this gives (run this after changing the tables).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import {
  ALU_OPS,
  GROUP2_AT_ONCE,
  INCDEC_OPS,
  LAZY_KINDS,
  NEG_AS,
  ROTATE_OPS,
  SHIFT_DOUBLE,
  SHIFT_DOUBLE_OF,
  SHIFT_OPS,
  WIDTHS,
  aluOpOf,
  lazyCondition,
} from '../src/machine/cpu/alu-ops';
import * as decoded from '../src/machine/cpu/decoded';
import { IMUL_TRUNC, MUL32, MULDIV_OPS, NOT_EXPR } from '../src/machine/cpu/muldiv-ops';
import { OPCODES, type Opcode } from '../src/machine/cpu/opcodes';
import { caseLabel, formatted, spliceRegions, switchCase } from './gen-moves';

/** The name of a lazy-flags kind (decoded.ts LZ_*), or 0. */
function lazyName(kind: number): string {
  if (kind === 0) return '0';
  const name = Object.entries(decoded).find(([n, v]) => n.startsWith('LZ_') && v === kind)?.[0];
  if (name === undefined) throw new Error(`no lazy kind ${kind}`);
  return name;
}

const CONDITIONS = ['O', 'B', 'Z', 'BE', 'S', 'P', 'L', 'LE'];

/** The text of alu-gen.ts. */
export function aluGenSource(): string {
  const kinds = Object.keys(LAZY_KINDS)
    .map(Number)
    .sort((x, y) => x - y);
  const names = kinds.map(lazyName);
  for (const o of INCDEC_OPS)
    if (LAZY_KINDS[o.lazy].cf !== null) throw new Error(`${o.mnemonic}'s kind must keep CF (cf: null)`);
  // One case per operation with a result: the result in r, the lazy kind in kind.
  const cases = (result: (o: (typeof ALU_OPS)[number]) => string) =>
    ALU_OPS.map((o, op) =>
      o.result === null
        ? ''
        : `      case ${op}: // ${o.mnemonic}\n        r = ${result(o)};\n        kind = ${lazyName(o.lazy)};\n        break;\n`,
    ).join('');
  const shiftCases = Object.entries(SHIFT_OPS)
    .map(
      ([op, o]) =>
        `      case ${op}: // ${o.mnemonic}\n        r = ${o.result('a', 'n')};\n        kind = ${lazyName(o.lazy)};\n        break;\n`,
    )
    .join('');
  const rotateCases = ROTATE_OPS.map(
    (o, op) =>
      `      case ${op}: // ${o.mnemonic}\n        r = ${o.result('a', 'n')};\n        f = (${o.cf('r')} ? CF : 0) | (${o.of('r')} ? OF : 0);\n        break;\n`,
  ).join('');
  // One case per operation and width (op * 4 + size): the count, the result, CF, OF, the flags.
  const atOnceCases = Object.entries(GROUP2_AT_ONCE)
    .flatMap(([op, o]) =>
      o.sizes.map((size) => {
        const w = WIDTHS[size];
        const flags = o.szp
          ? 'this.setArith((cf ? CF : 0) | (of ? OF : 0) | szp(r, size));'
          : 'this.flags = (this.flags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);';
        return [
          `      case ${Number(op) * 4 + size}: { // ${o.mnemonic} r/m${w.bits}`,
          ...(o.readsCf ? ['        const k = this.flags & CF;'] : []),
          `        const n = ${o.count('c', w)};`,
          `        const r = ${o.result('a', 'n', 'k', w)};`,
          `        const cf = ${o.cf('a', 'n', 'k', 'r', w)};`,
          `        const of = ${o.of('a', 'r', 'cf', w)};`,
          `        ${flags}`,
          `        return ${size === 4 ? 'r >>> 0' : 'r'};`,
          '      }',
          '',
        ].join('\n');
      }),
    )
    .join('');
  // SHLD and SHRD per width ((SHRD ? 4 : 0) + size): the result and CF; OF and the flags after.
  const doubleCases = SHIFT_DOUBLE.flatMap((o, right) =>
    [2, 4].map((size) => {
      const w = WIDTHS[size];
      return [
        `      case ${right * 4 + size}: // ${o.mnemonic} r/m${w.bits}`,
        `        r = ${o.result('a', 's', 'n', w)};`,
        `        cf = ${o.cf('a', 'n', w)};`,
        '        break;',
        '',
      ].join('\n');
    }),
  ).join('');
  // ADC and SBB: the exact sum, CF from it, the result cut to the size, OF from that.
  const carryCases = ALU_OPS.map((o, op) => {
    if (!o.carry) return '';
    return [
      `      case ${op}: // ${o.mnemonic}`,
      `        s = ${o.carry.sum('a', 'b', 'c')};`,
      `        r = size === 4 ? s >>> 0 : s & mask;`,
      `        f = (${o.carry.cf('s', 'mask')} ? CF : 0) | (${o.carry.of('a', 'b', 'r', 'sign')} ? OF : 0);`,
      '        break;',
      '',
    ].join('\n');
  }).join('');
  const cfCases = kinds
    .map((k) => {
      const cf = LAZY_KINDS[k].cf?.('a', 'b', 'r');
      const e = cf === undefined ? 'fl & CF' : cf === 'false' ? '0' : `${cf} ? 1 : 0`;
      return `    case ${caseLabel(lazyName(k), k)}:\n      return ${e};\n`;
    })
    .join('');
  const flagCases = kinds
    .map((k) => {
      const kind = LAZY_KINDS[k];
      const parts = [];
      const cf = kind.cf?.('a', 'b', 'r');
      const of = kind.of('a', 'b', 'r');
      if (cf === undefined) parts.push('(fl & CF)');
      else if (cf !== 'false') parts.push(`(${cf} ? CF : 0)`);
      if (of !== 'false') parts.push(`(${of} ? OF : 0)`);
      if (kind.af) parts.push('((a ^ b ^ r) & AF)');
      return `    case ${caseLabel(lazyName(k), k)}:\n      return ${parts.length ? parts.join(' | ') : '0'};\n`;
    })
    .join('');
  const answered = new Array<number>(Math.max(...kinds) + 1).fill(0);
  const condCases = kinds
    .flatMap((k) =>
      CONDITIONS.map((name, c) => {
        const e = lazyCondition(LAZY_KINDS[k], c, 'a', 'b', 'r');
        if (e === null) return '';
        answered[k] |= 1 << c;
        return `    case ${k * 8 + c}: // ${lazyName(k)}, ${name}\n      return ${e};\n`;
      }),
    )
    .join('');
  const [inc, dec] = INCDEC_OPS;
  const keptFlags = answered.map((_, k) => (LAZY_KINDS[k]?.cf === null ? 1 : 0));
  return `// Generated by \`npx tsx tools/gen-alu.ts\` from alu-ops.ts (ALU_OPS, INCDEC_OPS, SHIFT_OPS, ROTATE_OPS, GROUP2_AT_ONCE, SHIFT_DOUBLE, LAZY_KINDS): do not edit.
import { AF, CF, MASK, OF, SIGN, szp } from './flags';
import { ${names.join(', ')} } from './decoded';
import { CpuInterrupts } from './interrupts';

/**
 * The layer of the Cpu class chain with the arithmetic whose flags are kept lazily (README.md,
 * "Layout"; between CpuInterrupts and CpuAlu, which defines ADC and SBB): the ALU group, INC/DEC,
 * the dword shifts SHL/SHR/SAR, and the dword rotates ROL/ROR (their flags at once).
 */
export abstract class CpuAluGen extends CpuInterrupts {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract setArith(f: number): void;

  /** The eight group-1 operations (ADD OR ADC SBB AND SUB XOR CMP) at any size; returns the result (unsigned). */
  alu(op: number, a: number, b: number, size: number): number {
    let r: number;
    let kind: number;
    switch (op) {
${cases((o) => o.result!('a', 'b'))}      default:
        return this.aluCarry(op, a, b, size);
    }
    // The int32 result truncated to the size is the result at that size (two's complement).
    r = size === 4 ? r >>> 0 : r & MASK[size];
    this.lz = kind;
    this.lzSize = size;
    const v = this.lzv;
    v[0] = a;
    v[1] = b;
    v[2] = r;
    return r;
  }

  /** ADC and SBB (ALU_OPS' \`carry\`: CF in, every flag at once) of \`a\`, \`b\` (unsigned) at any size; returns the result (unsigned). */
  protected aluCarry(op: number, a: number, b: number, size: number): number {
    const mask = MASK[size];
    const sign = SIGN[size];
    const c = this.cfBit();
    let s: number;
    let r: number;
    let f: number;
    switch (op) {
${carryCases}      default:
        throw new Error(\`cpu: ALU operation \${op} has no carry form\`); // an emulator bug
    }
    this.setArith(f | ((a ^ b ^ r) & AF) | szp(r, size));
    return r;
  }

  /** alu() for 32-bit operands as int32 (hot path: no unsigned doubles); returns the result as int32. */
  alu32(op: number, a: number, b: number): number {
    let r: number;
    let kind: number;
    switch (op) {
${cases((o) => o.result!('a', 'b'))}      default:
        return this.aluCarry(op, a >>> 0, b >>> 0, 4) | 0;
    }
    this.lz = kind;
    this.lzSize = 4;
    const v = this.lzv;
    v[0] = a;
    v[1] = b;
    v[2] = r;
    return r;
  }

  /** ${inc.mnemonic} (dec false) or ${dec.mnemonic} of \`a\` (unsigned) at any size; returns the result (unsigned). */
  protected incdec(a: number, size: number, dec: boolean): number {
    let r = dec ? ${dec.result('a')} : ${inc.result('a')};
    r = size === 4 ? r >>> 0 : r & MASK[size];
    // CF is kept (their kinds' cf is null): the CF so far goes into fl before the lazy state is replaced.
    this.fl = (this.fl & ~CF) | this.cfBit();
    this.lz = dec ? ${lazyName(dec.lazy)} : ${lazyName(inc.lazy)};
    this.lzSize = size;
    const v = this.lzv;
    v[0] = a;
    v[1] = 1;
    v[2] = r;
    return r;
  }

  /** SHL, SHR, SAL or SAR (group 2 /4–/7) of the dword \`a\` by \`n\` = 1–31, flags kept lazily; returns the result. */
  shift32(op: number, a: number, n: number): number {
    let r: number;
    let kind: number;
    switch (op) {
${shiftCases}      default:
        throw new Error(\`cpu: shift \${op} has no lazy kind\`); // an emulator bug
    }
    this.lz = kind;
    this.lzSize = 4;
    const v = this.lzv;
    v[0] = a;
    v[1] = n;
    v[2] = r;
    return r;
  }

  /**
   * Group 2 (op: ModR/M reg) whose flags are set at once (GROUP2_AT_ONCE: the byte and word
   * shifts and rotates, RCL/RCR at every size) of \`a\` (unsigned) by the count \`c\` masked to
   * 1–31; returns the result (unsigned).
   */
  shiftAtOnce(op: number, a: number, c: number, size: number): number {
    switch (op * 4 + size) {
${atOnceCases}      default:
        throw new Error(\`cpu: group 2 /\${op} at size \${size} is not set at once\`); // an emulator bug
    }
  }

  /**
   * SHLD or SHRD (SHIFT_DOUBLE; \`right\`: SHRD) of \`a\` filled from \`s\` (unsigned, of the size) by
   * \`n\` (the count masked to 31): -1 when it changes nothing (0, or past a word's 16 bits), else
   * the result (unsigned), its flags set at once.
   */
  shiftDouble(right: boolean, a: number, s: number, n: number, size: number): number {
    if (n === 0 || n > size * 8) return -1;
    let r: number;
    let cf: number;
    switch ((right ? 4 : 0) + size) {
${doubleCases}      default:
        throw new Error(\`cpu: no SHLD/SHRD of size \${size}\`); // an emulator bug
    }
    const of = size === 4 ? ${SHIFT_DOUBLE_OF('a', 'r', WIDTHS[4])} : ${SHIFT_DOUBLE_OF('a', 'r', WIDTHS[2])};
    r = size === 4 ? r >>> 0 : r;
    this.setArith((cf ? CF : 0) | (of ? OF : 0) | szp(r, size));
    return r;
  }

  /** ROL or ROR (group 2 /0, /1) of the dword \`a\` by \`n\` = 1–31: CF and OF set at once; returns the result as int32. */
  rotate32(op: number, a: number, n: number): number {
    let r: number;
    let f: number;
    switch (op) {
${rotateCases}      default:
        throw new Error(\`cpu: rotate \${op}\`); // an emulator bug
    }
    this.flags = (this.flags & ~(CF | OF)) | f;
    return r;
  }
}

/** CF (0 or 1) after an operation of lazy kind \`kind\` on a, b giving r (\`fl\`: the CPU's fl, where INC/DEC keep it). */
export function lazyCf(kind: number, a: number, b: number, r: number, fl: number): number {
  switch (kind) {
${cfCases}    default:
      throw new Error(\`cpu: lazy kind \${kind}\`); // an emulator bug
  }
}

/** CF, OF and AF after an operation of lazy kind \`kind\` (operands and result sign-extended to int32; \`fl\` as for lazyCf). */
export function lazyFlags(kind: number, a: number, b: number, r: number, fl: number): number {
  switch (kind) {
${flagCases}    default:
      throw new Error(\`cpu: lazy kind \${kind}\`); // an emulator bug
  }
}

/** Per lazy kind: 1 when CF is not the operation's (INC, DEC): it stays in fl (cfBit's fast path). */
export const LAZY_CF_KEPT = Uint8Array.of(${keptFlags.join(', ')});

/** Per lazy kind: bit c set when lazyCond answers condition c = cc >> 1 after it. */
export const LAZY_CONDS = Uint8Array.of(${answered.map((m) => `0x${m.toString(16).padStart(2, '0')}`).join(', ')});

/**
 * Condition c = cc >> 1 after an operation of lazy kind \`kind\` (operands and result
 * sign-extended to int32), in \`kind * 8 + c\`, for those LAZY_CONDS lists.
 */
export function lazyCond(kindCond: number, a: number, b: number, r: number): boolean {
  switch (kindCond) {
${condCases}    default:
      throw new Error(\`cpu: no lazy condition \${kindCond}\`); // an emulator bug
  }
}
`;
}

/** Where the generated code lives. */
export const ALU_GEN_FILE = fileURLToPath(new URL('../src/machine/cpu/alu-gen.ts', import.meta.url));

/** aluGenSource() as the project's Prettier settings print it (what the file holds). */
export async function aluGenFormatted(): Promise<string> {
  const options = await resolveConfig(ALU_GEN_FILE);
  return format(aluGenSource(), { ...options, filepath: ALU_GEN_FILE });
}

/** step()'s operand kinds of the ALU group (opcodes.ts, SDM vol. 2, A.2) this back end knows. */
const ALU_STEP_KINDS = new Set(['Eb', 'Ev', 'Gb', 'Gv', 'AL', 'eAX', 'Ib', 'Iv', 'Ibs']);

/**
 * The one-byte opcodes step() runs from ALU_OPS: every row of the opcode (all eight of a group) is
 * an ALU operation or TEST with two operands of kinds it knows — 00–3F's six forms, 80–83, 84, 85,
 * A8, A9; not F6/F7 (group 3 shares them with NOT, NEG, MUL …, hand-written).
 */
export function stepAluRows(): Opcode[] {
  const known = (o: Opcode) =>
    aluOpOf(o.mnemonic) !== undefined && o.operands.length === 2 && o.operands.every((k) => ALU_STEP_KINDS.has(k));
  return OPCODES.filter((o) => o.op < 0x100 && !o.missing && OPCODES.filter((p) => p.op === o.op).every(known));
}

/**
 * An operand of step() by kind (opcode in b, operand size in osz, ModR/M decoded, the immediate
 * in imm1): how to read it as alu() takes it (unsigned, of the operation's size) and write it.
 */
export function aluOperand(
  kind: string,
  size: string,
  imm: (kind: string) => string = (k) =>
    k === 'Ibs' ? `(((this.imm1 << 24) >> 24) & MASK[${size}]) >>> 0` : 'this.imm1', // 83: sign-extended, then of the size
): { read: string; write?: (v: string) => string } {
  if (kind[0] === 'I') return { read: imm(kind) };
  if (kind[0] === 'E') return { read: `this.getRm(${size})`, write: (v) => `this.setRm(${size}, ${v});` };
  const reg = kind[0] === 'G' ? 'this.reg' : 'EAX'; // AL, eAX
  return { read: `this.getReg(${reg}, ${size})`, write: (v) => `this.setReg(${reg}, ${size}, ${v});` };
}

/**
 * One opcode's statements: the operation (a constant when the opcode has one; bits 3–5 of the
 * opcode or the ModR/M reg field when the rows say that is where it sits, so that the forms of all
 * eight share one case), alu() on the two operands in the SDM's order, and the store unless the
 * operation is one that does not write (CMP, TEST).
 */
function aluStepBody(rows: Opcode[]): { comment: string; body: string[] } {
  const ops = rows.map((row) => {
    const o = aluOpOf(row.mnemonic);
    if (o === undefined) throw new Error(`gen-alu: ${row.mnemonic} is not an ALU operation`);
    return { row, ...o };
  });
  const [first] = ops;
  const kinds = first.row.operands as readonly string[];
  if (ops.some(({ row }) => row.operands.join() !== kinds.join()))
    throw new Error(`gen-alu: the rows of ${first.row.op.toString(16)} differ in their operands`);
  const size = /b$|^AL$/.test(kinds[0]) ? '1' : 'osz';
  const [dst, src] = kinds.map((k) => aluOperand(k, size));
  let op: string;
  if (ops.length > 1) {
    if (!ops.every(({ row, op: n }) => row.ext === n))
      throw new Error('gen-alu: a group whose operation is not its reg field');
    op = 'this.reg';
  } else op = first.op === first.row.op >> 3 ? 'b >> 3' : String(first.op);
  const operation = `this.alu(${/^\d+$/.test(op) ? op : 'op'}, ${dst.read}, ${src.read}, ${size})`;
  const names = `${ops.length > 1 || op !== String(first.op) ? ALU_OPS.map((o) => o.mnemonic).join(' ') : first.row.mnemonic.toUpperCase()} ${kinds.join(', ')}`;
  if (/^\d+$/.test(op)) {
    if (!first.stores) return { comment: names, body: [`${operation};`] };
    return { comment: names, body: [`const res = ${operation};`, dst.write!('res')] };
  }
  return {
    comment: `${names} (the operation: ${op === 'b >> 3' ? "the opcode's bits 3–5" : 'the ModR/M reg field'})`,
    body: [`const op = ${op};`, `const res = ${operation};`, storeUnlessNot('op', dst.write!('res'))],
  };
}

/**
 * The store of an operation `op` that varies at run time: made conditional on it being none of
 * those that do not write their result (ALU_OPS' `stores`: CMP).
 */
export function storeUnlessNot(op: string, store: string): string {
  const keep = ALU_OPS.flatMap((o, n) => (o.stores ? [] : [`${op} !== ${n}`]));
  return keep.length ? `if (${keep.join(' && ')}) ${store}` : store;
}

/**
 * The one-byte opcodes step() runs from INCDEC_OPS: every row of the opcode is INC or DEC of a
 * register in the opcode (40–4F) or of Eb (FE /0, /1); not FF (group 5 shares it with CALL, JMP,
 * PUSH, hand-written).
 */
export function stepIncDecRows(): Opcode[] {
  const known = (o: Opcode) =>
    INCDEC_OPS.some((i) => i.mnemonic.toLowerCase() === o.mnemonic) &&
    o.operands.length === 1 &&
    (o.operands[0] === 'Zv' || o.operands[0] === 'Eb');
  return OPCODES.filter((o) => o.op < 0x100 && !o.missing && OPCODES.filter((p) => p.op === o.op).every(known));
}

/** One opcode's INC/DEC: which one (a constant, or the ModR/M reg field where the rows put it), read, incdec, write. */
export function incDecStepBody(rows: Opcode[], osz = 'osz'): { comment: string; body: string[] } {
  const index = (row: Opcode) => INCDEC_OPS.findIndex((i) => i.mnemonic.toLowerCase() === row.mnemonic);
  const [first] = rows;
  const kind = first.operands[0];
  const size = kind === 'Eb' ? '1' : osz;
  const [read, write] =
    kind[0] === 'E'
      ? [`this.getRm(${size})`, (v: string) => `this.setRm(${size}, ${v});`]
      : [`this.getReg(b & 7, ${size})`, (v: string) => `this.setReg(b & 7, ${size}, ${v});`];
  const dec = INCDEC_OPS.findIndex((i) => i.mnemonic === 'DEC');
  let which: string;
  if (rows.length > 1) {
    if (!rows.every((row) => row.ext === index(row)))
      throw new Error('gen-alu: an INC/DEC group whose operation is not its reg field');
    which = `this.reg === ${dec}`;
  } else which = String(index(first) === dec);
  const names = rows.map((row) => row.mnemonic.toUpperCase()).join(' ');
  return { comment: `${names} ${kind}`, body: [write(`this.incdec(${read}, ${size}, ${which})`)] };
}

/** The text of step()'s ALU region: opcodes whose statements are the same share one case. */
export function aluStepRegion(name: string): string {
  if (name === 'group5') {
    // Group 5's INC and DEC (FF /0 /1), cases of group5()'s switch on the reg field.
    const rows = OPCODES.filter(
      (o) => o.op === 0xff && INCDEC_OPS.some((i) => i.mnemonic.toLowerCase() === o.mnemonic),
    );
    const { comment, body } = incDecStepBody(rows);
    return switchCase(
      rows.map((row) => String(row.ext)),
      comment,
      body,
    );
  }
  if (name === 'group3') {
    // Group 3's TEST (F6/F7 /0 /1), cases of group3Body()'s switch on the reg field: the r/m
    // operand is read before the switch (in `a`, of the body's `size`), the immediate in imm1.
    const rows = OPCODES.filter((o) => (o.op === 0xf6 || o.op === 0xf7) && aluOpOf(o.mnemonic) !== undefined);
    const ops = new Set(rows.map((row) => aluOpOf(row.mnemonic)!.op));
    const exts = [...new Set(rows.map((row) => row.ext!))].sort();
    if (ops.size !== 1 || rows.some((row) => row.operands[0][0] !== 'E' || row.operands[1][0] !== 'I'))
      throw new Error('gen-alu: group 3 has ALU members other than TEST r/m, imm');
    const [op] = ops;
    const stores = aluOpOf(rows[0].mnemonic)!.stores;
    const operation = `this.alu(${op}, a, this.imm1, size)`;
    const test = switchCase(
      exts.map(String),
      `${rows[0].mnemonic.toUpperCase()} ${[...new Set(rows.map((row) => row.operands.join(', ')))].join('; ')}`,
      stores ? [`this.setRm(size, ${operation});`] : [`${operation};`],
    );
    // NOT (/2) from notOf, NEG (/3) as ALU_OPS[NEG_AS] from 0 (alu-ops.ts), MUL IMUL DIV IDIV
    // (/4–/7) from MULDIV_OPS (muldiv-ops.ts): each F6/F7 row of the opcode table with one E
    // operand is a case of its reg field.
    const own = OPCODES.filter(
      (o) =>
        (o.op === 0xf6 || o.op === 0xf7) &&
        o.ext !== undefined &&
        (o.mnemonic === 'not' || o.mnemonic === 'neg' || MULDIV_OPS[o.ext]?.mnemonic === o.mnemonic),
    );
    const byExt = new Map<number, Opcode>();
    for (const row of own) {
      if (row.operands.length !== 1 || row.operands[0][0] !== 'E')
        throw new Error(`gen-alu: group 3's ${row.mnemonic} is not one r/m operand`);
      byExt.set(row.ext!, row);
    }
    const members = [...byExt.entries()]
      .sort(([x], [y]) => x - y)
      .map(([ext, row]) => {
        if (row.mnemonic === 'neg')
          return switchCase([String(ext)], 'NEG E (alu-ops.ts: SUB from 0)', [
            `this.setRm(size, this.alu(${NEG_AS}, 0, a, size));`,
          ]);
        const m = MULDIV_OPS[ext];
        const body =
          m === undefined
            ? ['this.setRm(size, notOf(a, size));']
            : [`this.${m.divide ? 'divAcc' : 'mulAcc'}(a, size, ${m.signed});`];
        return switchCase([String(ext)], `${row.mnemonic.toUpperCase()} E (muldiv-ops.ts)`, body);
      });
    return [test, ...members].join('\n');
  }
  if (name === 'notOf') return `return ${NOT_EXPR('a')} & MASK[size];`;
  if (name === 'multiply32') {
    // multiply()'s size-4 branch (muldiv-ops.ts): its halves and CF = OF from MUL32, the same
    // expressions the block compiler inlines.
    const branch = (m: (typeof MUL32)['mul']) => [
      `const lo = ${m.low('x', 'y')};`,
      `high = ${m.high('x', 'y', 'mulHigh')};`,
      `over = ${m.over('lo', 'high')};`,
      'low = lo >>> 0;',
    ];
    return ['if (signed) {', ...branch(MUL32.imul), '} else {', ...branch(MUL32.mul), '}'].join('\n');
  }
  if (name === 'imul2') {
    // Cpu.imul2 (alu.ts) at sizes 4 and 2, from IMUL_TRUNC, the expressions the blocks inline.
    const branch = (size: 2 | 4) => [
      `res = ${IMUL_TRUNC.low('x', 'y', size)};`,
      `over = ${IMUL_TRUNC.over('x', 'y', 'res')};`,
    ];
    return ['if (size === 4) {', ...branch(4), '} else {', ...branch(2), '}'].join('\n');
  }
  if (name !== 'step') throw new Error(`gen:alu: no region ${name}`);
  const cases = new Map<string, { labels: string[]; comment: string; body: string[] }>();
  const add = (rowsOf: Opcode[], body: (rows: Opcode[]) => { comment: string; body: string[] }) => {
    const byOp = new Map<number, Opcode[]>();
    for (const row of rowsOf) byOp.set(row.op, [...(byOp.get(row.op) ?? []), row]);
    for (const [op, rows] of byOp) {
      const made = body(rows);
      const key = made.comment + made.body.join('\n');
      const c = cases.get(key) ?? { labels: [], ...made };
      c.labels.push(`0x${op.toString(16).padStart(2, '0')}`);
      cases.set(key, c);
    }
  };
  add(stepAluRows(), aluStepBody);
  add(stepIncDecRows(), incDecStepBody);
  return [...cases.values()].map((c) => switchCase(c.labels, c.comment, c.body)).join('\n');
}

/** The file holding step()'s region. */
export const ALU_STEP_FILE = fileURLToPath(new URL('../src/machine/cpu/interpreter.ts', import.meta.url));
/** The file holding notOf's and multiply()'s regions (group 3's definitions). */
export const MULDIV_FILE = fileURLToPath(new URL('../src/machine/cpu/muldiv-ops.ts', import.meta.url));

/** The file holding imul2's region (IMUL with two or three operands). */
export const IMUL_FILE = fileURLToPath(new URL('../src/machine/cpu/alu.ts', import.meta.url));

/** A file's text with its gen:alu regions as this tool writes them (spliced, then Prettier). */
export async function aluStepFormatted(file = ALU_STEP_FILE, text = readFileSync(file, 'utf8')): Promise<string> {
  return formatted(file, text, (t) => spliceRegions(t, 'alu', aluStepRegion));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(ALU_GEN_FILE, await aluGenFormatted());
  console.log(`wrote ${ALU_GEN_FILE}`);
  writeFileSync(ALU_STEP_FILE, await aluStepFormatted());
  console.log(`wrote ${ALU_STEP_FILE}`);
  writeFileSync(MULDIV_FILE, await aluStepFormatted(MULDIV_FILE));
  console.log(`wrote ${MULDIV_FILE}`);
  writeFileSync(IMUL_FILE, await aluStepFormatted(IMUL_FILE));
  console.log(`wrote ${IMUL_FILE}`);
}
