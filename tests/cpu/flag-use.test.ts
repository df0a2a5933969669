/**
 * The block compiler's dead-flags scan (block-gen.ts, `flagUse`) against the opcode table's flag
 * columns (opcodes.ts, `flags`: what the SDM says each instruction reads, writes and leaves
 * undefined). flagUse is written per handler of the decoded cache, whose entries no table row
 * is bound to; so the row of each entry is found the other way: every entry the CPU's own decoder
 * makes from the one-byte and 0F maps (32-bit code, with and without 0x66, register and memory
 * operands, immediates 0, 1, 5, 31, 32, 255; the fused ALU + Jcc too) is looked up by the bytes it
 * was decoded from. An entry flagUse calls
 * - `sets` must read none of the six arithmetic flags, write or leave undefined all six (the
 *   lazy flags write an undefined flag too), not fault, and, for a shift or rotate (whose zero
 *   count changes no flag, SDM vol. 2, SAL/SAR/SHL/SHR), have a count that is not 0: 1, or an
 *   immediate that is not 0 mod 32 (never CL);
 * - `keeps` must read none of them and not fault;
 * where "not fault" is the entry's D_MAY_FAULT bit clear (FORM_FUNCTION: tools/gen-forms.ts reads
 * it off the handler's code), or a register operand (mod = 11) of SHLD or SHRD (REGISTER_SAFE).
 * `other` is always sound (the scan stops). And every `sets` entry, run by the CPU, must leave
 * the six the same whatever they were before (a flag the table leaves undefined is written all
 * the same: `unwritten`). A wrong entry fails here, naming the handler, the mnemonic and the
 * operands.
 */
import { describe, expect, it } from 'vitest';
import { flagUse, type Insn } from '../../src/machine/cpu/block-gen';
import { blockable } from '../../src/machine/cpu/blocks';
import * as decoded from '../../src/machine/cpu/decoded';
import { ARITH } from '../../src/machine/cpu/flags';
import { lookupOpcode, type Opcode } from '../../src/machine/cpu/opcodes';
import { makeRig, type Decoder } from './rig';

const { D_ALU_JCC, D_ALU_RI, D_ALU_RR, D_BITSCAN_R, D_DIV_R, D_INC_R, D_MAY_FAULT, D_SHIFT_R, D_TEST_RI, D_TEST_RR } =
  decoded;

const NAMES = new Map(
  Object.entries(decoded)
    .filter(([n, v]) => n.startsWith('D_') && typeof v === 'number' && v > 1 && v < 64)
    .map(([n, v]) => [v as number, n]),
);

/** The shifts and rotates: a count of 0 changes no flag, so only a known count other than 0 sets them. */
const COUNTED = new Set(['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar', 'shld', 'shrd']);

/**
 * The generic forms (D_MAY_FAULT: a generic form may have a memory operand) that cannot fault on
 * registers: SHLD and SHRD raise only memory exceptions (and #UD for LOCK, which step() runs).
 */
const REGISTER_SAFE = new Set(['shld', 'shrd']);

/** One decoded entry, the row of the bytes it came from, and those bytes' ModR/M byte. */
interface Case {
  insn: Insn;
  row: Opcode;
  modrm: number;
  /** The instruction's bytes (the fused pair's ALU operation alone). */
  bytes: number[];
}

/** Every entry the decoder makes (see above), with its row. */
function cases(): Case[] {
  const cpu = makeRig(4).cpu as unknown as Decoder;
  cpu.dCode32 = true;
  cpu.dEip = 0x1000;
  const out: Case[] = [];
  const q = new Uint8Array(16);
  const insn = (w0: number): Insn => ({ w0, w1: cpu.dW1, disp: cpu.dDisp, imm: cpu.dImm, eip: 0x1000, next: 0, n: 0 });
  for (const prefix of [[], [0x66]])
    for (let op = 0; op < 512; op++) {
      const opcode = op < 256 ? op : 0x0f00 | (op & 0xff);
      if (opcode === 0x0f) continue;
      for (let reg = 0; reg < 8; reg++) {
        const row = lookupOpcode(opcode, reg);
        if (row === undefined) continue; // a prefix, or no instruction
        for (const mod of [0xc0, 0xc5, 0x03, 0x43])
          for (const fill of [0x00, 0x01, 0x05, 0x1f, 0x20, 0xff]) {
            const modrm = mod | (reg << 3);
            const bytes = [...prefix, ...(op < 256 ? [op] : [0x0f, op & 0xff]), modrm];
            q.fill(fill);
            q.set(bytes);
            const w0 = cpu.decodeForm(q);
            if (!blockable(w0)) continue;
            const code = [...q.subarray(0, cpu.dLen)];
            out.push({ insn: insn(w0), row, modrm, bytes: code });
            const h = w0 & 0x3f;
            if (h !== D_ALU_RR && h !== D_ALU_RI && h !== D_TEST_RR && h !== D_TEST_RI) continue;
            // Followed by a Jcc: the fused entry, whose ALU operation comes first.
            q[cpu.dLen] = 0x74;
            q[cpu.dLen + 1] = 0x10;
            cpu.decodeForm(q);
            const fused = cpu.fuseJcc(w0, q, 15);
            if ((fused & 0x3f) === D_ALU_JCC) out.push({ insn: insn(fused), row, modrm, bytes: code });
          }
      }
    }
  return out;
}

/** What is wrong with `use` for this entry, or undefined. */
function wrong({ insn, row, modrm }: Case, use: ReturnType<typeof flagUse>): string | undefined {
  if (use === 'other') return undefined;
  const f = row.flags;
  if ((f.read & ARITH) !== 0) return `reads flags ${(f.read & ARITH).toString(16)}`;
  const faults =
    (insn.w0 & D_MAY_FAULT) !== 0 && !((modrm & 0xc0) === 0xc0 && row.modrm && REGISTER_SAFE.has(row.mnemonic));
  if (faults) return 'may fault';
  if (use === 'keeps') return undefined;
  const left = ARITH & ~(f.written | f.undefined);
  if (left !== 0) return `leaves flags ${left.toString(16)}`;
  if (COUNTED.has(row.mnemonic)) {
    const count = row.operands[row.operands.length - 1];
    if (count === 'CL') return 'counts by CL (0 changes no flag)';
    if (count === 'Ib' && (insn.imm & 31) === 0) return 'counts 0';
  }
  return undefined;
}

/** The entries `use` classes wrongly, each as `D_NAME mnemonic operands: use, why`. */
function wrongEntries(all: readonly Case[], use: (i: Insn) => ReturnType<typeof flagUse>): string[] {
  const out = new Set<string>();
  for (const c of all) {
    const u = use(c.insn);
    const why = wrong(c, u);
    if (why !== undefined)
      out.add(`${NAMES.get(c.insn.w0 & 0x3f)} ${c.row.mnemonic} ${c.row.operands.join(',')}: ${u}, ${why}`);
  }
  return [...out].sort();
}

/**
 * The entries `use` calls sets whose six flags afterwards depend on the six before, run by the CPU:
 * each distinct instruction with the six 0, then 1, on three sets of register values (POPFD, the
 * instruction, PUSHFD, HLT). A flag the table leaves undefined must be written all the same, or a
 * dead write skipped before it would show.
 */
function unwritten(
  all: readonly Case[],
  use: (i: Insn) => ReturnType<typeof flagUse>,
): { differ: string[]; ran: number; tried: number } {
  const sets = new Map<string, Case>();
  for (const c of all) if (use(c.insn) === 'sets') sets.set(c.bytes.join(','), c);
  const values = [0, 0x80000000, 0xffffffff, 1, 0x7fffffff, 0x12345678, 5, 0x8000];
  const names = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
  const differ = new Set<string>();
  let ran = 0;
  const rig = makeRig(4);
  [...sets.values()].forEach((c, j) => {
    // Each program at its own address: the rig's writes are not stores the decoded cache sees.
    const at = 0x10000 + j * 32;
    rig.load(at, [0x9d, ...c.bytes, 0x9c, 0xf4]);
    for (let k = 0; k < 3; k++) {
      const after = [0, ARITH].map((flags) => {
        const regs = Object.fromEntries(names.map((n, r) => [n, r === 4 ? 0x8ffc : values[(r + 3 * k) & 7]]));
        rig.setU32(0x8ffc, flags | 2);
        rig.cpu.enterProtectedModeFlat(at, regs);
        for (let i = 0; i < 10 && !rig.cpu.halted; i++) rig.cpu.run(5);
        const esp = rig.cpu.reg32[4] >>> 0;
        return rig.cpu.halted && esp < 0x400000 ? rig.u32(esp) & ARITH : undefined;
      });
      if (after[0] === undefined || after[1] === undefined) continue; // ESP an operand: no stack left
      ran++;
      if (after[0] !== after[1])
        differ.add(`${NAMES.get(c.insn.w0 & 0x3f)} ${c.row.mnemonic} ${c.row.operands.join(',')}`);
    }
  });
  return { differ: [...differ].sort(), ran, tried: sets.size };
}

describe("the block compiler's flagUse, against the opcode table's flags", () => {
  const all = cases();
  const handler = (i: Insn) => i.w0 & 0x3f;

  it('reaches every handler flagUse names', () => {
    const classed = new Set(all.filter((c) => flagUse(c.insn) !== 'other').map((c) => NAMES.get(handler(c.insn))));
    for (const h of ['D_ALU_RR', 'D_ALU_RI', 'D_ALU_JCC', 'D_TEST_RR', 'D_TEST_RI', 'D_IMUL3_R', 'D_GRP3_R'])
      expect(classed, h).toContain(h);
    for (const h of ['D_SHIFT_R', 'D_MOVX_R', 'D_CDQ', 'D_ROTATE_R', 'D_BITSCAN_R', 'D_MOV_RR', 'D_GENERIC'])
      expect(classed, h).toContain(h);
  });

  it('no entry is called sets or keeps against what the table says', () => {
    expect(wrongEntries(all, flagUse)).toEqual([]);
  });

  it('an entry called sets writes all six whatever they were (undefined ones too), run by the CPU', () => {
    const { differ, ran, tried } = unwritten(all, flagUse);
    expect(ran, 'programs run').toBeGreaterThan(tried);
    expect(differ).toEqual([]);
  });

  it('a wrong entry fails, naming the handler', () => {
    // ADC and SBB as sets (they read CF); INC as sets (it leaves CF); a shift by CL as sets.
    const adc = (i: Insn) => (handler(i) === D_ALU_RR ? 'sets' : flagUse(i));
    expect(wrongEntries(all, adc)).toContain('D_ALU_RR adc Ev,Gv: sets, reads flags 1');
    const inc = (i: Insn) => (handler(i) === D_INC_R ? 'sets' : flagUse(i));
    expect(wrongEntries(all, inc)).toContain('D_INC_R inc Zv: sets, leaves flags 1');
    const byCl = (i: Insn) => (handler(i) === D_SHIFT_R && flagUse(i) === 'other' ? 'sets' : flagUse(i));
    expect(wrongEntries(all, byCl)).toContain('D_SHIFT_R shl Ev,CL: sets, counts by CL (0 changes no flag)');
    // A shift by an immediate 0 as sets; a memory form as keeps (it may fault).
    const zero = (i: Insn) => (handler(i) === D_SHIFT_R && flagUse(i) === 'keeps' ? 'sets' : flagUse(i));
    expect(wrongEntries(all, zero)).toContain('D_SHIFT_R shl Ev,Ib: sets, counts 0');
    const mem = (i: Insn) => ((i.w0 & D_MAY_FAULT) !== 0 ? 'keeps' : flagUse(i));
    expect(wrongEntries(all, mem)).toContain('D_MOV_RM mov Gv,Ev: keeps, may fault');
    // DIV on a register as sets: it writes or leaves undefined all six, but #DE.
    const div = (i: Insn) => (handler(i) === D_DIV_R ? 'sets' : flagUse(i));
    expect(wrongEntries(all, div)).toContain('D_DIV_R div Ev: sets, may fault');
    // BSF as sets: the table leaves five flags undefined (so it passes the table's check), but
    // this CPU leaves some of them as they were, which the execution shows.
    const bsf = (i: Insn) => (handler(i) === D_BITSCAN_R ? 'sets' : flagUse(i));
    expect(wrongEntries(all, bsf)).toEqual([]);
    expect(unwritten(all, bsf).differ).toEqual(['D_BITSCAN_R bsf Gv,Ev', 'D_BITSCAN_R bsr Gv,Ev']);
  });
});
