/**
 * `npx tsx tools/gen-moves.ts`: writes the interpreter's MOV/LEA/PUSH/POP/XCHG and
 * Jcc/SETcc/CMOVcc from their one definition (src/machine/cpu/move-ops.ts: MOVE_SEMANTICS,
 * CONDITIONAL_SEMANTICS, MOVE_FORMS) into the regions of the CPU's files marked
 * `// gen:moves NAME` … `// end gen:moves`: the cases of execReg, execStack and execDecoded
 * (decoded-exec.ts), the run loop's inline cases (cpu.ts, runInner), step()'s cases of the
 * one-byte opcodes whose rows in the opcode table (opcodes.ts) are these instructions with
 * operand kinds it knows (interpreter.ts, `step`: the segment registers' PUSH, POP and MOV
 * and MOV moffs among them), group 5's PUSH Ev (`group5`), and step0f()'s PUSH/POP FS/GS and
 * SETcc/CMOVcc/Jcc (system.ts, `step0f`). The regions
 * stay inside the hand-written functions, so the code V8 sees is what it was (a call per form
 * would cost the interpreter). tests/cpu/move-gen.test.ts fails when a region is not what this
 * gives (run this after changing the table).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import {
  COND_FORMS,
  CONDITIONAL_SEMANTICS,
  MOVE_FORMS,
  condFunction,
  condOps,
  MOVE_SEMANTICS,
  SIGN_EXTEND,
  moveFunction,
  moveName,
  moveOps,
  moveTransfers,
  type CachedOperand,
  type CondOp,
  type MicroOp,
  type MoveForm,
  type Place,
} from '../src/machine/cpu/move-ops';
import { CONDITIONS, OPCODES, type Opcode } from '../src/machine/cpu/opcodes';
import { BSWAP_EXPR } from '../src/machine/cpu/bit-ops';
import * as decoded from '../src/machine/cpu/decoded';

/** The files holding regions. */
export const MOVE_GEN_FILES = ['decoded-exec.ts', 'cpu.ts', 'interpreter.ts', 'system.ts'].map((f) =>
  fileURLToPath(new URL(`../src/machine/cpu/${f}`, import.meta.url)),
);

function handlerName(h: number): string {
  const name = Object.entries(decoded).find(([n, v]) => n.startsWith('D_') && v === h)?.[0];
  if (name === undefined) throw new Error(`no handler ${h}`);
  return name;
}

/**
 * A case label for the constant `name` of value `value`: the number itself, which the type
 * checker holds to the name (`2 satisfies typeof D_ALU_RR`). V8 makes a switch one jump through a
 * table only when its labels are number literals; labels that name imported constants compile to a
 * test per case, each loading its constant from the module (runInner's switch went through up to
 * fourteen of them per instruction).
 */
export function caseLabel(name: string, value: number): string {
  return `${value} satisfies typeof ${name}`;
}

function handlerLabel(h: number): string {
  return caseLabel(handlerName(h), h);
}

/** How a back end reads and writes an operand, pushes and pops, and makes a near transfer. */
export interface Back {
  read(k: number): string;
  write(k: number, value: string): string[];
  push(value: string): string[];
  /** The popped value into `dst`, declared. */
  pop(dst: string): string[];
  /** Before writing operand k after a pop (a memory operand's address is computed then). */
  afterPop(k: number): string[];
  /** The offset of memory operand k (LEA), as statements leaving it in `dst`, declared, or an expression. */
  offset(k: number): { stmts: string[]; value: string };
  /** An implicit place (move-ops.ts, Place: next, eSP, eBP, EFLAGS) read, as an expression. */
  readPlace(place: Place): string;
  writePlace(place: Place, value: string): string[];
  /** `t` ← a near branch's target (o0, relative kinds from the next EIP, or popped), declared; checked against CS where the engine can have a limit. */
  target(src: 'o0' | 'pop'): string[];
  /** EIP ← t. */
  jump(): string[];
  /** ESP += operand 0 (RET imm16); nothing without one. */
  release(): string[];
  /** #GP(0) in virtual-8086 mode at IOPL < 3, where the engine can run VM86 code. */
  vm86Iopl(): string[];
  /** Operand k's size in bytes, an expression (IN and OUT: the access's). */
  size(k: number): string;
  /** Every bit the sign of `value` (a value of the operand size). */
  signOf(value: string): string;
  /** Register operand k's whole dword, an lvalue (BSWAP's `bytes`). */
  dword(k: number): string;
  /** Operand k's size in bytes as a number (a byte or a word: MOVSX's source). */
  narrow(k: number): 1 | 2;
}

/** A place's value read. */
function readOf(be: Back, place: Place): string {
  return place === 'o0' ? be.read(0) : place === 'o1' ? be.read(1) : be.readPlace(place);
}
/** A place written. */
function writeOf(be: Back, place: Place, value: string): string[] {
  return place === 'o0' ? be.write(0, value) : place === 'o1' ? be.write(1, value) : be.writePlace(place, value);
}

export function statements(ops: readonly MicroOp[], be: Back): string[] {
  return ops.flatMap((op): string[] => {
    switch (op[0]) {
      case 'set':
        return writeOf(be, op[1], readOf(be, op[2]));
      case 'lea': {
        const { stmts, value } = be.offset(1);
        return [...stmts, ...be.write(0, value)];
      }
      case 'push':
        return be.push(readOf(be, op[1]));
      case 'pop':
        return [...be.pop('v'), ...(op[1] === 'o0' ? be.afterPop(0) : []), ...writeOf(be, op[1], 'v')];
      case 'xchg':
        return [`const t = ${be.read(0)};`, ...be.write(0, be.read(1)), ...be.write(1, 't')];
      case 'target':
        return be.target(op[1]);
      case 'jump':
        return be.jump();
      case 'release':
        return be.release();
      case 'vm86-iopl':
        return be.vm86Iopl();
      case 'in': {
        const k = op[1] === 'o0' ? 0 : 1;
        return writeOf(be, op[1], `this.portIn(${readOf(be, op[2])}, ${be.size(k)})`);
      }
      case 'sign':
        return writeOf(be, op[1], be.signOf(readOf(be, op[2])));
      case 'extend':
        return writeOf(be, op[1], SIGN_EXTEND(readOf(be, op[2]), be.narrow(1)));
      case 'tsc':
        return ['this.rdtsc();'];
      case 'bytes': {
        const reg = be.dword(0);
        return [`const v = ${reg};`, `${reg} = ${BSWAP_EXPR('v')};`];
      }
      case 'out': {
        const k = op[2] === 'o0' ? 0 : 1;
        return [`this.portOut(${readOf(be, op[1])}, ${be.size(k)}, ${readOf(be, op[2])});`];
      }
    }
  });
}

/**
 * The decoded cache's back end (payload in x, entry words in d at p, registers in r; in runInner
 * the next EIP in `next` and EIP in `eip`, elsewhere both in `this._eip`). The cache runs 32-bit
 * code outside virtual-8086 mode, and only while CS and SS have no limit to check (stepAlone sends
 * every instruction to step() otherwise): no target or stack limit check, no VM86 rule.
 */
function cacheBack(form: MoveForm, inLoop = false): Back {
  /** A payload field: the whole payload (-1), its low three bits (0), or three bits at a shift. */
  const field = (shift: number): string => (shift < 0 ? 'x' : shift === 0 ? 'x & 7' : `(x >> ${shift}) & 7`);
  const reg = (o: CachedOperand): string => {
    if (typeof o !== 'object' || !('reg' in o)) throw new Error(`${moveName(form)}: not a register`);
    return `r[${field(o.reg)}]`;
  };
  const next = inLoop ? 'next' : 'this._eip';
  const read = (k: number): string => {
    const o = form.operands[k];
    if (o === 'rel') throw new Error(`${moveName(form)}: a displacement is only a target`);
    if (typeof o === 'object' && 'sreg' in o) return `this.segSel[${field(o.sreg)}]`;
    if (typeof o === 'object' && 'reg8' in o) return `this.getReg(${field(o.reg8)}, 1)`;
    return o === 'imm' ? 'd[p + 3]' : o === 'm' ? 'this.dLoad32(d, p)' : o === 'm16' ? 'this.dLoad16(d, p)' : reg(o);
  };
  return {
    read,
    write: (k, value) => {
      const o = form.operands[k];
      // A segment register takes the low word, loaded with its checks (SS, whose load opens the
      // interrupt shadow, never comes here: the decoder sends it to step()).
      if (typeof o === 'object' && 'sreg' in o) return [`this.loadSeg(${field(o.sreg)}, ${value} & 0xffff);`];
      if (typeof o === 'object' && 'reg8' in o) return [`this.setReg(${field(o.reg8)}, 1, ${value});`];
      return [o === 'm' ? `this.dStore32(d, p, ${value});` : `${reg(o)} = ${value};`];
    },
    push: (value) => [`this.push32(${value});`],
    pop: (dst) => [`const ${dst} = this.pop32();`],
    afterPop: () => [],
    // displacement + base + index << scale (w1: base | index << 4 | scale << 8; 8 and above: none)
    offset: () => ({
      stmts: [
        'const w1 = d[p + 1];',
        'let off = d[p + 2];',
        'const base = w1 & 15;',
        'if (base < 8) off = (off + r[base]) | 0;',
        'const index = (w1 >> 4) & 15;',
        'if (index < 8) off = (off + (r[index] << ((w1 >> 8) & 3))) | 0;',
      ],
      value: 'off',
    }),
    readPlace: (place) => {
      if (place === 'next') return next;
      if (place === 'eBP') return 'r[EBP]';
      if (place === 'eAX') return 'r[EAX]';
      if (place === 'EFLAGS') return 'this.flags & PUSHFD_IMAGE';
      throw new Error(`${moveName(form)}: the cache's back end cannot read ${place}`);
    },
    writePlace: (place, value) => {
      if (place === 'eSP') return [`if (this.stackSize32) r[ESP] = ${value};`, `else this.setReg(ESP, 2, ${value});`];
      if (place === 'eBP') return [`r[EBP] = ${value};`];
      if (place === 'eDX') return [`r[EDX] = ${value};`];
      throw new Error(`${moveName(form)}: the cache's back end cannot write ${place}`);
    },
    target: (src) => {
      if (src === 'pop') return ['const t = this.pop32();'];
      const o = form.operands[0];
      return [`const t = ${o === 'rel' ? `(${next} + d[p + 3]) | 0` : read(0)};`];
    },
    jump: () => (inLoop ? ['eip = t | 0;', 'lead = true;'] : ['this._eip = t | 0;']),
    size: () => '4',
    signOf: (value) => `${value} >> 31`,
    dword: (k) => reg(form.operands[k]),
    narrow: () => {
      throw new Error(`${moveName(form)}: no narrow operand in a cached dword form`);
    },
    release: () => (form.operands[0] === 'imm' ? ['if (d[p + 3] !== 0) this.addSp(d[p + 3]);'] : []),
    vm86Iopl: () => [],
  };
}

/** The segment registers as operand kinds (PUSH ES, POP SS …), named as arch.ts names their numbers. */
const SEGMENT_KINDS = new Set(['ES', 'CS', 'SS', 'DS', 'FS', 'GS']);

/**
 * step()'s operand kinds (opcodes.ts, SDM vol. 2, A.2) this back end knows: besides the general
 * registers, memory and immediates, MOV's moffs (Ob, Ov), the segment registers (Sw, ES … GS)
 * and MOV Sreg's other operand (Mw/Rv).
 */
export const STEP_KINDS = new Set([
  'Eb',
  'Ev',
  'Ew',
  'Gb',
  'Gv',
  'Zb',
  'Zv',
  'AL',
  'eAX',
  'Ib',
  'Iv',
  'Ibs',
  'Iw',
  'Jb',
  'Jv',
  'M',
  'Ob',
  'Ov',
  'Sw',
  'Mw/Rv',
  'DX',
  ...SEGMENT_KINDS,
]);

/**
 * Where a back end of step()'s operand kinds finds the operand size of the non-byte kinds and
 * the immediate: step() (osz, imm1: STEP_ENV) or the decoded cache's generic forms (size, the
 * entry's imm: tools/gen-generic.ts).
 */
export interface KindEnv {
  readonly osz: string;
  /**
   * The register numbers of a register-only form (the decoded cache's D_MOVX_R: ModR/M's reg
   * field and r/m from the payload), E operands being registers; the G operand is then written
   * whole (osz 4). Without it, ModR/M as step() decoded it (this.reg, getRm/setRm).
   */
  readonly regs?: { readonly reg: string; readonly rm: string };
  /** An immediate operand of kind `kind` (Ib, Iv, Ibs) as the instruction uses it. */
  imm(kind: string): string;
}
const STEP_ENV: KindEnv = {
  osz: 'osz',
  imm: (kind) => (kind === 'Ibs' ? '(this.imm1 << 24) >> 24' : 'this.imm1'),
};

/** A register operand: ModR/M's reg field (G*), the opcode's low bits (Z*), or the accumulator. */
const isRegKind = (t: string): boolean => t[0] === 'G' || t[0] === 'Z' || t === 'eAX' || t === 'AL';

/**
 * A segment register written: loaded from the low word of the value (POP pops a whole operand);
 * SS then holds off interrupts for one instruction (SDM vol. 3, 6.8.3).
 */
function loadSegment(seg: string, value: string): string[] {
  const shadow =
    seg === 'SS' ? ['this.afterMovSs();'] : seg === 'this.reg' ? ['if (this.reg === SS) this.afterMovSs();'] : [];
  return [`this.loadSeg(${seg}, ${value} & 0xffff);`, ...shadow];
}

/** step()'s back end (opcode in b, operand size in osz, ModR/M decoded, immediates in imm1), or another env's. */
export function stepBack(row: Opcode, env: KindEnv = STEP_ENV): Back {
  const kind = (k: number): string => row.operands[k] as string;
  const size = (k: number): string => (/b$|^AL$/.test(kind(k)) ? '1' : kind(k) === 'Ew' ? '2' : env.osz);
  const regNo = (k: number): string =>
    kind(k)[0] === 'G' ? (env.regs?.reg ?? 'this.reg') : kind(k) === 'eAX' || kind(k) === 'AL' ? 'EAX' : 'b & 7';
  const read = (k: number): string => {
    const t = kind(k);
    if (t[0] === 'I') return env.imm(t);
    if (t === 'Jb') return '(this.imm1 << 24) >> 24';
    if (t === 'Jv') return '(osz === 2 ? (this.imm1 << 16) >> 16 : this.imm1 | 0)';
    if (SEGMENT_KINDS.has(t)) return `this.segSel[${t}]`;
    if (t === 'Sw') return 'this.segSel[this.reg]';
    if (t === 'Mw/Rv') return 'this.getRm(2)'; // a word in memory, a register's low word
    if (t === 'DX') return 'this.reg32[EDX] & 0xffff'; // a port
    if (t[0] === 'E') return env.regs ? `this.getReg(${env.regs.rm}, ${size(k)})` : `this.getRm(${size(k)})`;
    if (t[0] === 'O') return `this.readLin(this.moffsLin(${size(k)}, false), ${size(k)})`;
    if (isRegKind(t)) return `this.getReg(${regNo(k)}, ${size(k)})`;
    throw new Error(`gen-moves: step()'s back end cannot read an operand of kind ${t} (${row.mnemonic})`);
  };
  return {
    read,
    write: (k, value) => {
      const t = kind(k);
      if (SEGMENT_KINDS.has(t)) return loadSegment(t, value);
      if (t === 'Sw') return loadSegment('this.reg', value);
      // A register takes the selector zero-extended to the operand size, memory a word (SDM vol. 2, MOV).
      if (t === 'Mw/Rv') return [`this.setRm(this.modrm >= 0xc0 ? ${env.osz} : 2, ${value});`];
      if (t[0] === 'E') return [`this.setRm(${size(k)}, ${value});`];
      if (env.regs && t[0] === 'G' && env.osz === '4') return [`r[${regNo(k)}] = ${value};`];
      if (t[0] === 'O') return [`this.writeLin(this.moffsLin(${size(k)}, true), ${size(k)}, ${value});`];
      if (isRegKind(t)) return [`this.setReg(${regNo(k)}, ${size(k)}, ${value});`];
      throw new Error(`gen-moves: step()'s back end cannot write an operand of kind ${t} (${row.mnemonic})`);
    },
    push: (value) => [`this.push(${value});`],
    pop: (dst) => [`const ${dst} = this.pop();`],
    afterPop: (k) =>
      kind(k)[0] === 'E' && !SEGMENT_KINDS.has(kind(k))
        ? [
            '// The address is computed after the pop (SDM vol. 2, POP: ESP as a base register): again.',
            'this._eip = this.modrmAt;',
            'this.decodeModrm();',
          ]
        : [],
    offset: () => ({ stmts: [], value: 'this.eaOff' }), // the offset, of address size (decodeModrm)
    readPlace: (place) => {
      if (place === 'next') return 'this._eip';
      if (place === 'eBP') return 'r[EBP]';
      if (place === 'eAX') return `this.getReg(EAX, ${env.osz})`;
      if (place === 'EFLAGS') return 'this.flags & (this.op32 ? PUSHFD_IMAGE : 0xffff)';
      throw new Error(`gen-moves: step()'s back end cannot read ${place} (${row.mnemonic})`);
    },
    writePlace: (place, value) => {
      if (place === 'eSP') return [`if (this.stackSize32) r[ESP] = ${value};`, `else this.setReg(ESP, 2, ${value});`];
      if (place === 'eBP') return [`this.setReg(EBP, ${env.osz}, ${value});`];
      if (place === 'eDX') return [`this.setReg(EDX, ${env.osz}, ${value});`];
      if (place === 'EFLAGS') return [`this.setFlagsFrom(${value}, ${env.osz});`];
      throw new Error(`gen-moves: step()'s back end cannot write ${place} (${row.mnemonic})`);
    },
    target: (src) => {
      if (src === 'pop') return ['const t = this.pop();', 'this.checkNearTarget(t);'];
      const t = kind(0);
      const value =
        t[0] === 'J'
          ? [`const rel = ${read(0)};`, 'const t = this.op32 ? (this._eip + rel) | 0 : (this._eip + rel) & 0xffff;']
          : [`const t = ${read(0)};`];
      return [...value, 'this.checkNearTarget(t);'];
    },
    jump: () => ['this._eip = t;'],
    release: () => (row.operands.length > 0 ? [`this.addSp(${read(0)});`] : []),
    vm86Iopl: () => ['if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0);'],
    size,
    signOf: (value) => `(${value} << (32 - 8 * ${env.osz})) >> 31`,
    narrow: (k) => {
      const s = size(k);
      if (s !== '1' && s !== '2') throw new Error(`gen-moves: ${row.mnemonic}: operand ${k} is not a byte or a word`);
      return s === '1' ? 1 : 2;
    },
    dword: (k) => {
      if (!isRegKind(kind(k))) throw new Error(`gen-moves: ${row.mnemonic}: not a register`);
      return `r[${regNo(k)}]`;
    },
  };
}

/** A case of a switch: its labels, its statements, `return;`; braces when it declares. */
export function switchCase(labels: string[], comment: string, body: string[], end = 'return;'): string {
  const block = body.some((st) => /^(const|let) /.test(st));
  return [
    `// ${comment}`,
    ...labels.slice(0, -1).map((l) => `case ${l}:`),
    `case ${labels[labels.length - 1]}:${block ? ' {' : ''}`,
    ...body,
    end,
    ...(block ? ['}'] : []),
  ].join('\n');
}

/** The members of group `op` (FF: group 5) that are moves step()'s back end knows. */
export function stepGroupMoveRows(op: number): Opcode[] {
  return OPCODES.filter(
    (o) =>
      o.op === op &&
      o.ext !== undefined &&
      !o.missing &&
      o.mnemonic in MOVE_SEMANTICS &&
      o.operands.every((k) => STEP_KINDS.has(k as string)),
  );
}

/**
 * The opcodes of the one-byte map (`map` 0: step()) or the 0F map (`map` 0x0f: step0f()) run
 * from MOVE_SEMANTICS: every row of the opcode is a move the back end knows.
 */
export function stepMoveRows(map: 0 | 0x0f = 0): Opcode[] {
  const known = (o: Opcode) => o.mnemonic in MOVE_SEMANTICS && o.operands.every((k) => STEP_KINDS.has(k as string));
  return OPCODES.filter((o) => o.op >> 8 === map && !o.missing && OPCODES.filter((p) => p.op === o.op).every(known));
}

/** step()'s or step0f()'s cases of the moves of a map: consecutive opcodes with the same code share one. */
function moveCases(map: 0 | 0x0f): string[] {
  const cases: { labels: string[]; comment: string; body: string[] }[] = [];
  for (const row of stepMoveRows(map)) {
    const body = statements(MOVE_SEMANTICS[row.mnemonic], stepBack(row));
    const comment = `${row.mnemonic.toUpperCase()} ${row.operands.join(', ')}`;
    const label = `0x${(row.op & 0xff).toString(16).padStart(2, '0')}`;
    const last = cases[cases.length - 1];
    if (last && last.comment === comment && last.body.join() === body.join()) last.labels.push(label);
    else cases.push({ labels: [label], comment, body });
  }
  return cases.map((c) => switchCase(c.labels, c.comment, c.body));
}

/** A conditional instruction's statements (step()'s back end; the condition `cond`, an expression). */
export function condStatements(ops: readonly CondOp[], be: Back, cond: string): string[] {
  return ops.flatMap((op): string[] => {
    switch (op[0]) {
      case 'jump-if':
        return [`if (${cond}) this.jumpRel(${be.read(0)});`];
      case 'set-cond':
        return be.write(0, `${cond} ? 1 : 0`);
      case 'set-if':
        return [`const v = ${be.read(1)};`, `if (${cond}) ${be.write(0, 'v').join(' ')}`];
    }
  });
}

/** A conditional row's stem (j, set, cmov) and condition (its index in CONDITIONS), if it is one. */
export function conditional(row: Opcode): { stem: string; cc: number } | undefined {
  for (const stem of Object.keys(CONDITIONAL_SEMANTICS)) {
    const cc = CONDITIONS.indexOf(row.mnemonic.slice(stem.length));
    if (row.mnemonic.startsWith(stem) && cc >= 0) return { stem, cc };
  }
  return undefined;
}

/**
 * The rows of the one-byte map (`map` 0) or the 0F map (`map` 0x0f) that step() or step0f() run
 * from CONDITIONAL_SEMANTICS: Jcc, SETcc, CMOVcc with operand kinds the back end knows.
 */
export function stepConditionalRows(map: 0 | 0x0f): Opcode[] {
  return OPCODES.filter(
    (o) =>
      o.op >> 8 === map &&
      !o.missing &&
      conditional(o) !== undefined &&
      o.operands.every((k) => STEP_KINDS.has(k) || k === 'Jb' || k === 'Jv'),
  );
}

/**
 * The cases of the conditional rows of a map: the rows of one stem and operands share a case,
 * the condition read from the opcode's low four bits (checked against each row's name: tttn).
 */
function conditionalCases(map: 0 | 0x0f): string[] {
  const groups = new Map<string, Opcode[]>();
  for (const row of stepConditionalRows(map)) {
    const { stem, cc } = conditional(row)!;
    if (cc !== (row.op & 15)) throw new Error(`gen-moves: ${row.mnemonic} is not condition ${row.op & 15}`);
    const key = `${stem} ${row.operands.join(', ')}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups].map(([key, rows]) => {
    const stem = key.split(' ')[0];
    const body = condStatements(CONDITIONAL_SEMANTICS[stem], stepBack(rows[0]), 'this.cond(b & 15)');
    const labels = rows.map((row) => `0x${(row.op & 0xff).toString(16).padStart(2, '0')}`);
    return switchCase(
      labels,
      `${stem.toUpperCase()}cc ${rows[0].operands.join(', ')} (the condition: the opcode's low four bits)`,
      body,
    );
  });
}

/** The decoded cache's D_IO: 32-bit operands, the port of E4–E7 in the entry's w3. */
const CACHE_IO_ENV: KindEnv = { osz: '4', imm: () => 'd[p + 3]' };

/** The decoded cache's D_MOVX_R: a dword destination, both registers in the payload (dst | src << 3). */
const CACHE_MOVX_ENV: KindEnv = {
  osz: '4',
  imm: () => {
    throw new Error('gen-moves: MOVZX/MOVSX have no immediate');
  },
  regs: { reg: 'x & 7', rm: '(x >> 3) & 7' },
};

/** The decoded cache's generic G_MOVX: the destination at execGeneric's operand size, the ModR/M operands decoded. */
const GENERIC_MOVX_ENV: KindEnv = {
  osz: 'size',
  imm: () => {
    throw new Error('gen-moves: MOVZX/MOVSX have no immediate');
  },
};

/** MOVZX and MOVSX (0F B6 B7 BE BF), by the opcode's bits 0 and 3 (`op & 9`: the cache's D_MOVX_R payload). */
export function movxRows(): Opcode[] {
  return stepMoveRows(0x0f).filter((row) => row.mnemonic === 'movzx' || row.mnemonic === 'movsx');
}

/** The move forms runInner runs inline (see moveRegion). */
const RUN_LOOP_MOVES = [
  'D_MOV_RR',
  'D_MOV_RM',
  'D_MOV_MR',
  'D_MOV_RI',
  'D_PUSH_R',
  'D_POP_R',
  'D_LEA',
  'D_CALL',
  'D_RET',
];
/** Those runInner alone runs (no case in the function their micro-operations call for). */
export const RUN_LOOP_ONLY = ['D_CALL', 'D_RET'];

/** The text of one region. */
export function moveRegion(name: string): string {
  if (name === 'step0f') return [...moveCases(0x0f), ...conditionalCases(0x0f)].join('\n');
  if (name === 'group5') {
    // Group 5's members that are moves (FF /6: PUSH Ev), cases of group5()'s switch on the reg field.
    return stepGroupMoveRows(0xff)
      .map((row) =>
        switchCase(
          [String(row.ext)],
          `${row.mnemonic.toUpperCase()} ${row.operands.join(', ')}`,
          statements(MOVE_SEMANTICS[row.mnemonic], stepBack(row)),
        ),
      )
      .join('\n');
  }
  if (name === 'runInner') {
    // The run loop keeps the commonest forms inline, cases of its switch (cpu.ts): the moves
    // among the dozen commonest handlers of Linux's idle tick (MOV r32, m32 alone is a seventh of
    // its instructions), and CALL rel32 and RET. A form that touches memory or the stack first
    // sets where it restarts; a transfer marks the next instruction as one that may start a block.
    return MOVE_FORMS.filter((f) => RUN_LOOP_MOVES.includes(handlerName(f.handler)))
      .map((f) => {
        const restart = moveFunction(f) === 'execReg' ? [] : ['this.start = eip;', 'this.startEsp = r[ESP];'];
        const body = [
          ...restart,
          ...statements(moveOps(f), cacheBack(f, true)),
          ...(moveTransfers(f) ? [] : ['eip = next;']),
        ];
        return switchCase([handlerLabel(f.handler)], moveName(f), body, 'break;');
      })
      .join('\n');
  }
  if (name === 'step') return [...moveCases(0), ...conditionalCases(0)].join('\n');
  if (name === 'movx') {
    // The decoded cache's D_MOVX_R (payload: dst | src << 3 | (opcode & 9) << 6): a case per opcode.
    return movxRows()
      .map((row) =>
        switchCase(
          [`${row.op & 9}`],
          `${row.mnemonic.toUpperCase()} r32, ${row.operands[1] === 'Eb' ? 'r8' : 'r16'}`,
          statements(MOVE_SEMANTICS[row.mnemonic], stepBack(row, CACHE_MOVX_ENV)),
        ),
      )
      .join('\n');
  }
  if (name === 'movxGeneric') {
    // The decoded cache's generic G_MOVX (memory sources, and 16-bit destinations: execGeneric's
    // `size`), by `extra`, the opcode's bits 0 and 3: step0f's cases at the entry's operand size.
    return movxRows()
      .map((row) =>
        switchCase(
          [`${row.op & 9}`],
          `${row.mnemonic.toUpperCase()} ${row.operands.join(', ')}`,
          statements(MOVE_SEMANTICS[row.mnemonic], stepBack(row, GENERIC_MOVX_ENV)),
        ),
      )
      .join('\n');
  }
  if (name === 'io') {
    // The decoded cache's D_IO (payload: the opcode): a byte or a dword, the port in w3 or DX.
    return stepMoveRows()
      .filter((row) => row.mnemonic === 'in' || row.mnemonic === 'out')
      .map((row) =>
        switchCase(
          [`0x${row.op.toString(16)}`],
          `${row.mnemonic.toUpperCase()} ${row.operands.join(', ')}`,
          statements(MOVE_SEMANTICS[row.mnemonic], stepBack(row, CACHE_IO_ENV)),
        ),
      )
      .join('\n');
  }
  return [
    ...MOVE_FORMS.filter((f) => moveFunction(f) === name && !RUN_LOOP_ONLY.includes(handlerName(f.handler))).map((f) =>
      switchCase([handlerLabel(f.handler)], moveName(f), statements(moveOps(f), cacheBack(f))),
    ),
    // The conditional forms (SETcc r8), the condition from the payload's bits at cc and up.
    ...COND_FORMS.filter((f) => condFunction(f) === name).map((f) =>
      switchCase(
        [handlerLabel(f.handler)],
        `${f.mnemonic.toUpperCase()}cc ${f.operands.map((o) => (typeof o === 'object' && 'reg8' in o ? 'r8' : o)).join(', ')}`,
        condStatements(condOps(f), cacheBack(f), `this.cond(x >> ${f.cc})`),
      ),
    ),
  ].join('\n');
}

/**
 * `text` (a file's) with every region `// gen:TAG NAME` … `// end gen:TAG` replaced by
 * region(NAME), unformatted. tools/gen-alu.ts writes its `gen:alu` regions the same way.
 */
export function spliceRegions(text: string, tag: string, region: (name: string) => string): string {
  const begin = new RegExp(`^(\\s*)// gen:${tag} (\\w+)`);
  const end = new RegExp(`^\\s*// end gen:${tag}\\b`);
  const out: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    const b = begin.exec(line);
    if (b) {
      out.push(line, region(b[2]));
      inside = true;
    } else if (end.test(line)) {
      out.push(line);
      inside = false;
    } else if (!inside) out.push(line);
  }
  if (inside) throw new Error(`gen:${tag}: a region without its end`);
  return out.join('\n');
}

/** `text` with every gen:moves region replaced by what the table gives, unformatted. */
export function spliceMoves(text: string): string {
  return spliceRegions(text, 'moves', moveRegion);
}

/** A file's text after splice() (its regions as a tool writes them), then Prettier. */
export async function formatted(file: string, text: string, splice: (text: string) => string): Promise<string> {
  const options = await resolveConfig(file);
  return format(splice(text), { ...options, filepath: file });
}

/** A file's text with its regions as this tool writes them (spliced, then Prettier). */
export async function movesFormatted(file: string, text = readFileSync(file, 'utf8')): Promise<string> {
  return formatted(file, text, spliceMoves);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of MOVE_GEN_FILES) {
    writeFileSync(file, await movesFormatted(file));
    console.log(`wrote ${file}`);
  }
}
