/**
 * step()'s ALU group and TEST (00–3F's six forms, 80–83, 84, 85, A8, A9) and INC/DEC (40–4F, FE) generated from their one
 * definition (src/machine/cpu/alu-ops.ts, the operations; opcodes.ts, the forms) into the region
 * `gen:alu step` of interpreter.ts (tools/gen-alu.ts): the region is what the tables give; by
 * execution, a program of every form at every operand size, in register and memory forms, ends
 * through step() alone where it ends through the decoded cache and through compiled blocks
 * (which run the same operations: alu/alu32 generated from the table, and the block compiler's
 * inline expressions from it); and the oracle's ALU vectors (the host CPU's results, flags
 * included) pass through step() alone as through the cache (oracle.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { ALU_STEP_FILE, aluStepFormatted, stepAluRows, stepIncDecRows } from '../../tools/gen-alu';
import { aluOpOf } from '../../src/machine/cpu/alu-ops';
import { fuzzRng } from './fuzz';
import { readVectors, runVectors } from './oracle-run';
import { describeCpu, makeRig, type Rig } from './rig';

/** Makes the rig's CPU run everything through step(): no decoded cache, no blocks. */
const stepAlone = (rig: Rig) =>
  vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);

describe('the ALU group in step(), from its one definition', () => {
  it('the gen:alu region of interpreter.ts is what tools/gen-alu.ts makes (run it after changing alu-ops.ts or opcodes.ts)', async () => {
    const text = readFileSync(ALU_STEP_FILE, 'utf8');
    expect(text).toMatch(/\/\/ gen:alu step/);
    expect(text).toBe(await aluStepFormatted(ALU_STEP_FILE, text));
  });

  it('step() runs every ALU and TEST opcode of the one-byte map whose rows are all ALU operations, from the table', () => {
    const ops = new Set(stepAluRows().map((o) => o.op));
    for (let op = 0; op < 0x40; op++) expect(ops.has(op), op.toString(16)).toBe((op & 7) < 6);
    for (const op of [0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xa8, 0xa9]) expect(ops.has(op), op.toString(16)).toBe(true);
    // Group 3 (TEST with NOT, NEG, MUL …) stays hand-written; nothing else is an ALU operation.
    for (const op of [0xf6, 0xf7, 0x86, 0x40, 0x69]) expect(ops.has(op), op.toString(16)).toBe(false);
    for (const row of stepAluRows()) expect(aluOpOf(row.mnemonic), row.mnemonic).toBeDefined();
  });

  it('step() runs INC and DEC of 40–4F and FE from INCDEC_OPS; FF (group 5) stays hand-written', () => {
    const ops = new Set(stepIncDecRows().map((o) => o.op));
    for (let op = 0x40; op < 0x50; op++) expect(ops.has(op), op.toString(16)).toBe(true);
    expect(ops.has(0xfe)).toBe(true);
    expect(ops.has(0xff)).toBe(false);
  });

  it("group 5's INC and DEC (FF /0 /1) are group5()'s cases generated from INCDEC_OPS, and the oracle runs them", () => {
    const text = readFileSync(ALU_STEP_FILE, 'utf8');
    const group5 = /protected group5\([\s\S]*?\n {2}\}\n/.exec(text)![0];
    const region = /\/\/ gen:alu group5[\s\S]*?\/\/ end gen:alu/.exec(group5)![0];
    expect(region).toMatch(/case 0:\s*case 1:[^]*this\.incdec\(/);
    expect(group5.replace(region, '')).not.toMatch(/case [01]:/);
    // The oracle's FF /0 /1 forms (inc r/m32, dec r/m16 …), which the ALU vectors below run through step() alone.
    const ff = readVectors('alu.json').cases.filter(
      (c) => /^(66)?ff[0-9a-f]{2}/.test(c.bytes) && /^(inc|dec) /.test(c.name),
    );
    expect(new Set(ff.map((c) => c.name.replace(/ \(mem\)$/, '')))).toEqual(
      new Set(['inc r/m16', 'inc r/m32', 'dec r/m16', 'dec r/m32']),
    );
  });

  it("group 3's TEST (F6/F7 /0 /1) is group3Body()'s case generated from the table, and the oracle runs it", () => {
    const text = readFileSync(ALU_STEP_FILE, 'utf8');
    const group3 = /protected group3Body\([\s\S]*?\n {2}\}\n/.exec(text)![0];
    const region = /\/\/ gen:alu group3[\s\S]*?\/\/ end gen:alu/.exec(group3)![0];
    expect(region).toMatch(new RegExp(`case 0:\\s*case 1:\\s*this\\.alu\\(${aluOpOf('test')!.op}, a, `));
    expect(group3.replace(region, '')).not.toMatch(/case [01]:/);
    // The oracle's F6/F7 /0 forms, which the ALU vectors below run through step() alone.
    const names = readVectors('alu.json')
      .cases.filter((c) => /^(66)?f[67]/.test(c.bytes))
      .map((c) => c.name.replace(/ \(mem\)$/, ''));
    for (const name of ['test r/m8, imm8', 'test r/m16, imm16', 'test r/m32, imm32']) expect(names).toContain(name);
  });

  it("no hand-written case is left for these opcodes in step()'s switch", () => {
    const text = readFileSync(ALU_STEP_FILE, 'utf8');
    const outside = text.replace(/\/\/ gen:alu step[\s\S]*?\/\/ end gen:alu/, '');
    for (const op of new Set([...stepAluRows(), ...stepIncDecRows()].map((o) => o.op)))
      expect(outside, `case 0x${op.toString(16)}`).not.toMatch(
        new RegExp(`case 0x${op.toString(16).padStart(2, '0')}:`),
      );
  });

  it("the oracle's ALU vectors (flags included) pass through step() alone", () => {
    const vf = readVectors('alu.json');
    const { failures, failedForms } = runVectors(vf, stepAlone);
    expect(
      failures.length,
      `${failures.length} differ (${[...failedForms].join(', ')})\n  ${failures.slice(0, 10).join('\n  ')}`,
    ).toBe(0);
    // The vectors cover the forms of the table: every ALU operation in each of its form kinds.
    const names = new Set(vf.cases.map((c) => c.name.split(' ')[0]));
    for (const row of stepAluRows()) expect(names, row.mnemonic).toContain(row.mnemonic);
  });
});

const DATA = 0x8000;
const STACK = 0x20000;
/** Registers an ALU form may name as a dword or word operand: not ESP (the flags go on the stack), EBP (the loop count) or ESI (the data's base). */
const REGS = [0, 1, 2, 3, 7];

/**
 * One instance of every form of stepAluRows() and stepIncDecRows() (but INC/DEC of ESP, EBP and ESI)
 * — with 0x66 too where the operand size matters —
 * with register and [ESI + disp8] operands and random immediates, each followed by PUSHFD (the
 * flags it leaves go on the stack); repeated 3 times in a loop, then HLT.
 */
function everyForm(): number[] {
  const rng = fuzzRng(0xa1a1);
  const body: number[] = [];
  for (const row of stepAluRows()) {
    const v = row.operands.some((k) => k.endsWith('v'));
    for (const prefix of v ? [[], [0x66]] : [[]]) {
      const imm = () => {
        const kind = row.operands[1];
        const n = kind === 'Iv' ? (prefix.length ? 2 : 4) : kind === 'Ib' || kind === 'Ibs' ? 1 : 0;
        return Array.from({ length: n }, () => rng.below(256));
      };
      if (!row.modrm) {
        body.push(...prefix, row.op, ...imm(), 0x9c);
        continue;
      }
      const reg = row.ext ?? (v ? REGS[rng.below(REGS.length)] : rng.below(8));
      const rm = v ? REGS[rng.below(REGS.length)] : rng.below(8);
      body.push(...prefix, row.op, 0xc0 | (reg << 3) | rm, ...imm(), 0x9c); // register operand
      body.push(...prefix, row.op, 0x46 | (reg << 3), 4 * rng.below(16), ...imm(), 0x9c); // [esi + disp8]
    }
  }
  for (const row of stepIncDecRows()) {
    if (row.operands[0] === 'Zv') {
      if (!REGS.includes(row.op & 7)) continue;
      for (const prefix of [[], [0x66]]) body.push(...prefix, row.op, 0x9c);
    } else {
      body.push(row.op, 0xc0 | (row.ext! << 3) | rng.below(8), 0x9c); // register operand
      body.push(row.op, 0x46 | (row.ext! << 3), 4 * rng.below(16), 0x9c); // [esi + disp8]
    }
  }
  body.push(0x4d); // dec ebp
  return [0xbd, 3, 0, 0, 0, ...body, 0x0f, 0x85, ...le(-(body.length + 6)), 0xf4]; // mov ebp, 3; L: …; jnz L; hlt
}

function le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

describeCpu('every ALU form at every size through step(), the decoded cache and compiled blocks', () => {
  const code = everyForm();
  function run(alone: boolean) {
    const rig = makeRig(4);
    rig.load(0x1000, code);
    const rng = fuzzRng(0x5eed);
    for (let i = 0; i < 64; i += 4) rig.setU32(DATA + i, rng.u32());
    rig.cpu.enterProtectedModeFlat(0x1000, {
      eax: rng.u32(),
      ecx: rng.u32(),
      edx: rng.u32(),
      ebx: rng.u32(),
      edi: rng.u32(),
      esi: DATA,
      esp: STACK,
    });
    if (alone) stepAlone(rig);
    const step = vi.spyOn(rig.cpu as unknown as { step(): void }, 'step');
    for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(41);
    return {
      halted: rig.cpu.halted,
      regs: [...rig.cpu.reg32],
      eip: rig.cpu.eip,
      data: [...rig.memory.u8.subarray(DATA, DATA + 64)],
      flagsPushed: [...rig.memory.u8.subarray(STACK - 0x4000, STACK)],
      steps: step.mock.calls.length,
    };
  }

  it('ends in the same registers, memory and flags (each instruction pushed them)', () => {
    const ref = run(true);
    const got = run(false);
    expect(ref.halted).toBe(true);
    // The word forms, the byte forms, PUSHFD and the group-1 byte forms reach step() from the
    // cache too; the dword forms do not.
    expect(got.steps, 'instructions through step()').toBeLessThan(ref.steps);
    expect({ ...got, steps: 0 }).toEqual({ ...ref, steps: 0 });
  });
});
