/**
 * The decoder in cpu.ts against the opcode table (opcodes.ts, as decode-tables.ts flattens it) and
 * the table-driven disassembler, by execution. For every one-byte and 0F opcode, every ModR/M reg
 * field, register and memory forms (every addressing shape: SIB, disp8, disp32/16, no base), in
 * 32-bit and 16-bit protected-mode code and in real mode, with and without 0x66, 0x67, a segment
 * override, F2/F3:
 *  - defined in the table ⇔ the CPU does not raise #UD (UD2 aside: #UD by definition; an x87
 *    escape's form is defined when X87_EXECUTES gives it, every r/m of its register rows probed);
 *  - the CPU consumes the length the disassembler computes from the table: the EIP advance of
 *    every form that neither branches nor faults, through the decoded-instruction cache (32-bit
 *    code inside a page) and through step() (16-bit code, prefixes, or an instruction that crosses
 *    a page end, which is never cached);
 *  - LOCK is #UD exactly where the table does not allow it (SDM vol. 2, LOCK: lockable
 *    instructions with a memory destination).
 * Each probe starts from enterProtectedModeFlat, loads the GDT and IDT (every vector's handler is a
 * HLT at HANDLERS + vector) and far-jumps to the probe.
 */
import { describe, expect, it } from 'vitest';
import { disassembleOne } from '../../src/machine/cpu/disasm';
import {
  E_BRANCH,
  E_DEFINED,
  E_LOCK,
  E_MEM_ONLY,
  E_MODRM,
  E_PROTECTED,
  E_REG_ONLY,
  ENCODING,
  PREFIX_KIND,
  immShift,
  slotDefined,
} from '../../src/machine/cpu/decode-tables';
import { immediateBytes, lookupOpcode, OPCODES, X87_EXECUTES } from '../../src/machine/cpu/opcodes';
import type { Cpu } from '../../src/machine/cpu/cpu';
import { makeRig, type Rig } from './rig';

const GDT = 0x1000;
const IDT = 0x2000;
const HANDLERS = 0x3000;
const DATA = 0x5000; // below 64 KiB: [bx] reaches it in 16-bit addressing too
const PRE = 0x7000; // the prelude (LGDT, LIDT, far JMP)
const STUB16 = 0x7100; // real mode: clear CR0.PE, far JMP to the probe
/**
 * 32-bit probes: each at its own 64 bytes from CODE32 (a decoded-cache entry that once said "run
 * step()" stays so whatever the bytes become), or across the page end at CROSS.
 */
const CODE32 = 0x100000;
const CODE32_SLOTS = 0xc000; // up to 0x400000
const CROSS = 0x500000 - 1;
const CODE16 = 0x60000; // base of the 16-bit code segment; probes at IP 0x1000 (real mode: CS = 0x6000)
const IP16 = 0x1000;
const GDTR = 0x0f00;
const IDTR = 0x0f08;
const IVTR = 0x0f10;
const UD = 6;

type Mode = 'code32' | 'code16' | 'real';
const le16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

const REGS = { eax: 0x10, ecx: 1, edx: 0, ebx: DATA, esp: 0x9000, ebp: DATA, esi: DATA + 0x400, edi: DATA + 0x800 };
/** DATA holds dwords 0x10: word selectors 0x10 (flat data) and 0 (null), offsets 0x10, divisors ≠ 0. */
const DATA_PATTERN = Uint8Array.from({ length: 0x1000 }, (_, i) => (i % 4 === 0 ? 0x10 : 0));

let rig: Rig | undefined;
let probes = 0;

function setup(): Rig {
  const r = makeRig(8);
  r.load(GDT, [
    ...[0, 0, 0, 0, 0, 0, 0, 0],
    ...[0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0], // 0x08 ring-0 code, 32-bit
    ...[0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0], // 0x10 ring-0 data
    ...[0xff, 0xff, 0, 0, CODE16 >>> 16, 0x9b, 0x00, 0], // 0x18 ring-0 code, 16-bit, base CODE16, limit 64 KiB
  ]);
  r.load(GDTR, [0x1f, 0, ...le32(GDT)]);
  r.load(IDTR, [0xff, 0x07, ...le32(IDT)]);
  r.load(IVTR, [0xff, 0x03, ...le32(0)]);
  for (let v = 0; v < 256; v++) {
    const h = HANDLERS + v;
    r.load(IDT + 8 * v, [h & 0xff, (h >> 8) & 0xff, 0x08, 0, 0, 0x8e, (h >> 16) & 0xff, h >>> 24]);
    r.load(4 * v, [...le16(v), ...le16(HANDLERS >>> 4)]); // real mode: HANDLERS >> 4 : v
    r.load(h, [0xf4]);
  }
  // Real mode: mov eax, cr0; and al, 0xfe; mov cr0, eax; jmp far (CODE16 >> 4):IP16.
  r.load(CODE16 + (STUB16 & 0xffff), [0x0f, 0x20, 0xc0, 0x24, 0xfe, 0x0f, 0x22, 0xc0]);
  r.load(CODE16 + (STUB16 & 0xffff) + 8, [0xea, ...le16(IP16), ...le16(CODE16 >>> 4)]);
  return r;
}

interface Outcome {
  /** The exception vector raised, or −1. */
  vector: number;
  /** Bytes the CPU consumed (EIP advance) when nothing was raised. */
  length: number;
}

/**
 * Runs `bytes` once in `mode` and says what happened. `cross`: 32-bit code placed so that the
 * instruction's second byte is on the next page (never cached: step() decodes it).
 */
function probe(bytes: readonly number[], mode: Mode, cross = false): Outcome {
  rig ??= setup();
  const r = rig;
  const cpu = r.cpu as unknown as Cpu;
  const start = mode !== 'code32' ? CODE16 + IP16 : cross ? CROSS : CODE32 + 64 * (probes++ % CODE32_SLOTS);
  r.load(start, [...bytes, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4]);
  r.memory.u8.set(DATA_PATTERN, DATA);
  r.memory.u8.set(DATA_PATTERN.subarray(0, 0x100), REGS.esp); // what POP reads: selector 0x10 …
  // lgdt [GDTR]; lidt [IDTR or IVTR]; jmp far
  const pre = [0x0f, 0x01, 0x15, ...le32(GDTR), 0x0f, 0x01, 0x1d, ...le32(mode === 'real' ? IVTR : IDTR)];
  if (mode === 'code32') pre.push(0xea, ...le32(start), 0x08, 0);
  else pre.push(0xea, ...le32(mode === 'real' ? STUB16 & 0xffff : IP16), 0x18, 0);
  r.load(PRE, pre);
  cpu.codeChanged();
  r.cpu.enterProtectedModeFlat(PRE, REGS);
  r.cpu.run(mode === 'real' ? 7 : 3);
  const at = mode === 'code32' ? start : IP16;
  if (r.cpu.eip >>> 0 !== at) throw new Error(`probe prelude ended at ${r.cpu.eip.toString(16)}`);
  r.cpu.run(1);
  // The handler's HLT may already have run (delivering an exception retires no instruction).
  const eip = r.cpu.eip >>> 0;
  const handler = mode === 'real' ? (e: number) => e < 0x100 : (e: number) => e >= HANDLERS && e < HANDLERS + 0x100;
  const h = (e: number) => (mode === 'real' ? e : e - HANDLERS);
  if (r.cpu.halted && handler(eip - 1)) return { vector: h(eip - 1), length: 0 };
  if (handler(eip)) return { vector: h(eip), length: 0 };
  return { vector: -1, length: eip - at };
}

/** ModR/M forms: [ModR/M, SIB and displacement bytes] for a reg field, by address size. */
function modrmForms(reg: number, ad32: boolean, all: boolean): number[][] {
  const g = reg << 3;
  const forms = ad32
    ? [
        [0xc0 | g | 1], // ecx
        [g | 3], // [ebx]
        [0x40 | g | 3, 0x10], // [ebx+0x10]
        [0x80 | g | 3, ...le32(0x10)], // [ebx+0x10] (disp32)
        [g | 4, 0x23], // [ebx] through a SIB without index
        [0x44 | g, 0x23, 0x10], // SIB + disp8
        [g | 5, ...le32(DATA)], // [disp32]
        [g | 4, 0x25, ...le32(DATA)], // SIB, no base: [disp32]
      ]
    : [
        [0xc0 | g | 1], // cx
        [g | 7], // [bx]
        [0x40 | g | 7, 0x10], // [bx+0x10]
        [0x80 | g | 7, ...le16(0x10)], // [bx+0x10] (disp16)
        [g | 6, ...le16(DATA)], // [disp16]
      ];
  return all ? forms : [forms[0], forms[2]];
}

/** Immediate bytes: 0x10 and zeros (a harmless port, count, ENTER size, AAM base …). */
const imm = (n: number): number[] => Array.from({ length: n }, (_, i) => (i === 0 ? 0x10 : 0));

const opBytes = (op: number): number[] => (op > 0xff ? [0x0f, op & 0xff] : [op]);
const hex = (bytes: readonly number[]): string => bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
const isPrefixOrEscape = (op: number): boolean => op < 0x100 && (PREFIX_KIND[op] !== 0 || op === 0x0f);
/** UD2 is #UD by definition, although the table lists it. */
const udByDefinition = (op: number): boolean => op === 0x10b;
const isEscape = (op: number): boolean => op >= 0xd8 && op <= 0xdf;

interface Case {
  bytes: number[];
  mode: Mode;
  op: number;
  reg: number;
  memory: boolean;
  word: number;
}

/** Every opcode × reg field × ModR/M form × prefix set, with its table word. */
function* cases(mode: Mode, prefixSets: number[][], allForms: boolean): Generator<Case> {
  const code32 = mode === 'code32';
  for (const prefixes of prefixSets) {
    const op32 = prefixes.includes(0x66) !== code32;
    const ad32 = prefixes.includes(0x67) !== code32;
    for (let op = 0; op < 0x200; op++) {
      if (isPrefixOrEscape(op)) continue;
      const opb = opBytes(op >= 0x100 ? 0x0f00 | (op & 0xff) : op);
      if (!(ENCODING[op << 3] & E_MODRM)) {
        const word = ENCODING[op << 3];
        const n = (word >>> immShift(op32, ad32)) & 7;
        yield { bytes: [...prefixes, ...opb, ...imm(n)], mode, op, reg: 0, memory: false, word };
        continue;
      }
      for (let reg = 0; reg < 8; reg++) {
        const word = ENCODING[(op << 3) | reg];
        const n = (word >>> immShift(op32, ad32)) & 7;
        // The x87 escapes name one instruction per r/m in their register rows (D9 E0 FCHS, E1 FABS …).
        const forms = modrmForms(reg, ad32, allForms);
        if (isEscape(op)) for (let rm = 0; rm < 8; rm++) if (rm !== 1) forms.push([0xc0 | (reg << 3) | rm]);
        for (const form of forms) {
          // MOV CRn/DRn ignore mod: no SIB or displacement follows the ModR/M byte.
          const addressing = word & E_REG_ONLY ? [form[0]] : form;
          const memory = form[0] < 0xc0 && !(word & E_REG_ONLY);
          yield { bytes: [...prefixes, ...opb, ...addressing, ...imm(n)], mode, op, reg, memory, word };
        }
      }
    }
  }
}

const name = (c: Case): string => {
  const o = lookupOpcode(c.op >= 0x100 ? 0x0f00 | (c.op & 0xff) : c.op, c.reg);
  return `${c.mode} [${hex(c.bytes)}] ${o?.mnemonic ?? '(none)'}`;
};

interface Findings {
  udButDefined: string[];
  notUdButUndefined: string[];
  lengthDiffers: string[];
  measured: number;
  measuredSlots: Set<number>;
  probes: number;
}

function check(gen: Iterable<Case>, opts: { cross?: boolean } = {}): Findings {
  const f: Findings = {
    udButDefined: [],
    notUdButUndefined: [],
    lengthDiffers: [],
    measured: 0,
    measuredSlots: new Set(),
    probes: 0,
  };
  for (const c of gen) {
    // A register form of a memory-only operand (LEA, LDS, BOUND …) is #UD: mod = 11 is not defined.
    const defined = slotDefined(c.word) && !(!c.memory && c.word & E_MEM_ONLY);
    const protectedOnlyInReal = c.mode === 'real' && (c.word & E_PROTECTED) !== 0;
    // An escape's form is defined when the x87 table gives it to this CPU (X87_EXECUTES).
    const escapeUd = isEscape(c.op) && !X87_EXECUTES[((c.op - 0xd8) << 8) | c.bytes[c.bytes.indexOf(c.op) + 1]];
    const expectUd = !defined || protectedOnlyInReal || udByDefinition(c.op) || escapeUd;
    const out = probe(c.bytes, c.mode, opts.cross);
    f.probes++;
    const gotUd = out.vector === UD;
    if (expectUd && !gotUd) f.notUdButUndefined.push(`${name(c)}: #${out.vector}`);
    if (!expectUd && gotUd) f.udButDefined.push(`${name(c)}: #UD`);
    if (expectUd || out.vector !== -1 || c.word & E_BRANCH) continue;
    const want = disassembleOne((i) => (i < c.bytes.length ? c.bytes[i] : 0xf4), 0, c.mode === 'code32').length;
    if (want !== c.bytes.length)
      f.lengthDiffers.push(`${name(c)}: disassembler ${want}, probe built ${c.bytes.length}`);
    if (out.length !== want) f.lengthDiffers.push(`${name(c)}: CPU consumed ${out.length}, table ${want}`);
    f.measured++;
    f.measuredSlots.add((c.op << 3) | c.reg);
  }
  return f;
}

/**
 * Entries every probe here makes fault, so that no length is measured: LTR (no TSS descriptor at
 * the selectors the probe's registers and memory hold), RDMSR/WRMSR (#GP: no MSRs).
 */
const ALWAYS_FAULT = new Set(['ltr', 'rdmsr', 'wrmsr']);

/** Table entries that neither branch nor are #UD by definition: each should be measured somewhere. */
function unmeasured(slots: Set<number>): string[] {
  return OPCODES.filter((o) => !o.branch && !ALWAYS_FAULT.has(o.mnemonic))
    .filter((o) => !udByDefinition(o.op > 0xff ? 0x100 | (o.op & 0xff) : o.op))
    .filter((o) => {
      const i = o.op > 0xff ? 0x100 | (o.op & 0xff) : o.op;
      const regs = o.ext === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [o.ext];
      return !regs.some((r) => slots.has((i << 3) | r));
    })
    .map((o) => `${o.op.toString(16)}/${o.ext ?? '-'} ${o.mnemonic}`);
}

describe('the decoder agrees with the opcode table, by execution', () => {
  it('the table words are what the entries say', () => {
    for (const o of OPCODES) {
      const i = o.op > 0xff ? 0x100 | (o.op & 0xff) : o.op;
      const w = ENCODING[(i << 3) | (o.ext ?? 0)];
      expect(w & E_DEFINED).toBe(E_DEFINED);
      expect((w & E_MODRM) !== 0).toBe(o.modrm);
      expect((w & E_LOCK) !== 0).toBe(o.lockable === true);
      expect((w & E_BRANCH) !== 0).toBe(o.branch === true);
      expect((w & E_PROTECTED) !== 0).toBe(o.protectedOnly === true);
      for (const op32 of [false, true])
        for (const ad32 of [false, true])
          expect((w >>> immShift(op32, ad32)) & 7, `${o.mnemonic} ${op32} ${ad32}`).toBe(immediateBytes(o, op32, ad32));
      // A group's other members are #UD but still have a ModR/M byte (their length is known).
      if (o.ext !== undefined) for (let r = 0; r < 8; r++) expect(ENCODING[(i << 3) | r] & E_MODRM).toBe(E_MODRM);
      if (o.validRegs !== undefined)
        for (let r = 0; r < 8; r++) expect(slotDefined(ENCODING[(i << 3) | r])).toBe(((o.validRegs >> r) & 1) === 1);
    }
    expect(ENCODING[0x0f << 3]).toBe(0); // the escape is not an opcode
    expect(ENCODING[(0x104 << 3) | 0]).toBe(0); // 0F 04: not in the table
  });

  it('32-bit code: defined ⇔ no #UD, and the decoded cache and step() consume the table’s length', () => {
    const all = [[], [0x66], [0x67], [0x66, 0x67]];
    const inPage = check(cases('code32', all, true));
    // The same instructions across a page end: never cached, decoded by step().
    const crossing = check(cases('code32', [[]], true), { cross: true });
    const prefixed = check(cases('code32', [[0x3e], [0xf3], [0xf2], [0x26, 0x66], [0x64, 0x66]], false));
    for (const f of [inPage, crossing, prefixed]) {
      expect(f.udButDefined.slice(0, 20)).toEqual([]);
      expect(f.notUdButUndefined.slice(0, 20)).toEqual([]);
      expect(f.lengthDiffers.slice(0, 20)).toEqual([]);
    }
    const slots = new Set([...inPage.measuredSlots, ...crossing.measuredSlots, ...prefixed.measuredSlots]);
    expect(unmeasured(slots)).toEqual([]);
    expect(inPage.measured).toBeGreaterThan(10_000);
  }, 300_000);

  it('16-bit protected-mode code and real mode: the same, through step()', () => {
    const code16 = check(cases('code16', [[], [0x66], [0x67], [0x66, 0x67], [0x26], [0xf3]], true));
    const real = check(cases('real', [[], [0x66, 0x67]], false));
    for (const f of [code16, real]) {
      expect(f.udButDefined.slice(0, 20)).toEqual([]);
      expect(f.notUdButUndefined.slice(0, 20)).toEqual([]);
      expect(f.lengthDiffers.slice(0, 20)).toEqual([]);
    }
    expect(unmeasured(code16.measuredSlots)).toEqual([]);
    expect(code16.measured).toBeGreaterThan(5_000);
    expect(real.measured).toBeGreaterThan(1_000);
  }, 300_000);

  it('LOCK is #UD exactly where the table does not allow it (memory destination, lockable entry)', () => {
    const wrong: string[] = [];
    let legal = 0;
    for (const mode of ['code32', 'code16'] as const)
      for (const c of cases(mode, [[], [0x66]], false)) {
        if (!slotDefined(c.word) || udByDefinition(c.op)) continue;
        const out = probe([0xf0, ...c.bytes], mode);
        const allowed = (c.word & E_LOCK) !== 0 && c.memory;
        if (allowed) legal++;
        if ((out.vector === UD) === allowed) wrong.push(`lock ${name(c)}: #${out.vector}`);
      }
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(legal).toBeGreaterThan(100);
  }, 300_000);
});

describe('the whole instruction is fetched before it executes', () => {
  /**
   * `add byte ptr [disp32], imm8` whose imm8 is on a not-present page and whose memory operand is on
   * another: the fault fetching the instruction comes first (SDM vol. 3, 6.9, table 6-2: faults
   * from fetching the next instruction, before faults on executing it), so CR2 is the code address.
   */
  function pageFaultAddress(immPresent: boolean): number {
    const r = setup();
    const PD = 0x80000;
    const PT = 0x81000;
    const CODE = 0x200ffa; // 80 05 <disp32> ends at 0x201000: the imm8 is on the next page
    const MEMORY = 0x202000;
    r.setU32(PD, PT | 3);
    for (let i = 0; i < 1024; i++) r.setU32(PT + 4 * i, (i << 12) | 3);
    if (!immPresent) r.setU32(PT + 4 * 0x201, 0);
    r.setU32(PT + 4 * (MEMORY >>> 12), 0);
    r.load(CODE, [0x80, 0x05, ...le32(MEMORY), 0x10, 0xf4]);
    // lgdt; lidt; mov eax, PD; mov cr3, eax; mov eax, cr0; or eax, 0x80000000; mov cr0, eax; jmp far 0x08:CODE
    const pre = [0x0f, 0x01, 0x15, ...le32(GDTR), 0x0f, 0x01, 0x1d, ...le32(IDTR), 0xb8, ...le32(PD), 0x0f, 0x22, 0xd8];
    pre.push(0x0f, 0x20, 0xc0, 0x0d, ...le32(0x80000000), 0x0f, 0x22, 0xc0, 0xea, ...le32(CODE), 0x08, 0);
    r.load(PRE, pre);
    r.cpu.enterProtectedModeFlat(PRE, REGS);
    r.cpu.run(8);
    expect(r.cpu.eip >>> 0).toBe(CODE);
    r.cpu.run(1);
    const eip = (r.cpu.eip >>> 0) - (r.cpu.halted ? 1 : 0);
    expect(eip - HANDLERS).toBe(14); // #PF
    return r.cpu.cr2 >>> 0;
  }

  it('a not-present immediate faults before the memory operand is touched', () => {
    expect(pageFaultAddress(false)).toBe(0x201000);
    expect(pageFaultAddress(true)).toBe(0x202000);
  });
});
