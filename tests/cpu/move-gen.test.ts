/**
 * MOV, LEA, PUSH and POP of the decoded cache, defined once (src/machine/cpu/move-ops.ts) and the
 * interpreter's code generated from them into the regions marked `gen:moves` (tools/gen-moves.ts):
 * each region is what the table gives, so the decoded cache and the block compiler (which reads
 * the same micro-operations) run the same definition. Then by execution: a loop of every cached
 * form, run from the cache (and compiled), ends in the state step() alone reaches (a wrong binding
 * of a form's operands fails it in both CPU modes: tried with MOV r32, r32's fields swapped); and
 * a program of each instruction ends, through each of the three, in the state the SDM gives (a
 * wrong definition fails it everywhere: tried with LEA as a load).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import {
  MOVE_GEN_FILES,
  RUN_LOOP_ONLY,
  movesFormatted,
  stepConditionalRows,
  stepGroupMoveRows,
  stepBack,
  stepMoveRows,
} from '../../tools/gen-moves';
import { OPCODES } from '../../src/machine/cpu/opcodes';
import * as decoded from '../../src/machine/cpu/decoded';
import { MOVE_FORMS, moveFunction, moveName } from '../../src/machine/cpu/move-ops';
import { readVectors, runVectors } from './oracle-run';
import { describeCpu, makeRig, runThrough } from './rig';

describe('MOV, LEA, PUSH and POP, defined once', () => {
  for (const file of MOVE_GEN_FILES)
    it(`the gen:moves regions of ${file.replace(/.*\//, '')} are what tools/gen-moves.ts makes (run it after changing move-ops.ts)`, async () => {
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/\/\/ gen:moves \w+/);
      expect(text).toBe(await movesFormatted(file, text));
    });

  it('step() and step0f() run every MOV, LEA, PUSH, POP and XCHG of the opcode table whose operands they know from the same definition', () => {
    const ops = stepMoveRows().map((o) => o.op);
    for (const op of [
      0x50, 0x57, 0x58, 0x5f, 0x68, 0x6a, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x8f, 0x91, 0x97, 0xb0, 0xbf, 0xc6,
      0xc7,
    ])
      expect(ops).toContain(op);
    // The segment registers' PUSH, POP and MOV and MOV moffs too (idle-forms.test.ts runs them through step() alone).
    for (const op of [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x8c, 0x8e, 0xa0, 0xa1, 0xa2, 0xa3])
      expect(ops).toContain(op);
    // PUSH/POP FS/GS, NOP Ev and BSWAP (nop-bswap.test.ts), RDTSC (msr-sysenter.test.ts), MOVZX/MOVSX (movx-gen.test.ts).
    expect(stepMoveRows(0x0f).map((o) => o.op)).toEqual([
      0x0f1f, 0x0f31, 0x0fa0, 0x0fa1, 0x0fa8, 0x0fa9, 0x0fb6, 0x0fb7, 0x0fbe, 0x0fbf, 0x0fc8, 0x0fc9, 0x0fca, 0x0fcb,
      0x0fcc, 0x0fcd, 0x0fce, 0x0fcf,
    ]);
    // Not a group shared with other instructions (FF /6: group5's).
    expect(ops).not.toContain(0xff);
  });

  it("the decoded cache's SETcc r8 is generated from CONDITIONAL_SEMANTICS (COND_FORMS), no hand case left", () => {
    // lazyflags.test.ts runs it through the cache and compiled blocks: SETcc defined as [] fails
    // there in both CPU modes, and the oracle's SETcc vectors through step() alone below (tried).
    const cache = readFileSync(MOVE_GEN_FILES[0], 'utf8');
    expect(cache).toMatch(/\/\/ gen:moves execReg[^]*typeof D_SETCC_R[^]*?\/\/ end gen:moves/);
    const outside = cache.replace(/\/\/ gen:moves \w+[\s\S]*?\/\/ end gen:moves/g, '');
    expect(outside).not.toContain('typeof D_SETCC_R');
  });

  it("step()'s back end refuses an operand kind it has no code for, instead of reading a register", () => {
    const lea = OPCODES.find((o) => o.op === 0x8d && o.mnemonic === 'lea')!;
    expect(lea.operands[1]).toBe('M');
    expect(() => stepBack(lea).read(1)).toThrow(/kind M/);
    expect(() => stepBack(lea).write(1, 'v')).toThrow(/kind M/);
    expect(stepBack(lea).read(0)).toBe('this.getReg(this.reg, osz)');
  });

  it("no hand-written case or range test is left for these opcodes in step()'s switch", () => {
    const text = readFileSync(MOVE_GEN_FILES[2], 'utf8');
    const outside = text.replace(/\/\/ gen:moves step[\s\S]*?\/\/ end gen:moves/, '');
    for (const op of new Set(stepMoveRows().map((o) => o.op)))
      expect(outside, `case 0x${op.toString(16)}`).not.toMatch(
        new RegExp(`case 0x${op.toString(16).padStart(2, '0')}:`),
      );
    expect(outside, "XCHG's range test").not.toMatch(/b >= 0x91/);
  });

  it("the oracle's MOV, LEA and XCHG vectors (the host CPU's results) pass through step() alone", () => {
    const vf = readVectors('transfer.json');
    const { failures, failedForms } = runVectors(vf, (rig) =>
      vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false),
    );
    expect(
      failures.length,
      `${failures.length} differ (${[...failedForms].join(', ')})\n  ${failures.slice(0, 10).join('\n  ')}`,
    ).toBe(0);
    // Every one-byte XCHG of the table has its vectors: Eb, Gb; Ev, Gv at both sizes; Zv, eAX.
    const names = new Set(vf.cases.map((c) => c.name.replace(/ \(mem\)$/, '')));
    for (const name of ['xchg r/m8, r8', 'xchg r/m16, r16', 'xchg r/m32, r32', 'xchg ax, r16', 'xchg eax, r32'])
      expect(names).toContain(name);
  });

  it('step() and step0f() run Jcc (70–7F, 0F 80–8F), SETcc (0F 90–9F) and CMOVcc (0F 40–4F) from CONDITIONAL_SEMANTICS, no range test left', () => {
    const one = stepConditionalRows(0).map((o) => o.op);
    const two = stepConditionalRows(0x0f).map((o) => o.op);
    for (let cc = 0; cc < 16; cc++) {
      expect(one).toContain(0x70 + cc);
      for (const base of [0x0f40, 0x0f80, 0x0f90]) expect(two).toContain(base + cc);
    }
    expect(one.length + two.length).toBe(64);
    const step = readFileSync(MOVE_GEN_FILES[2], 'utf8');
    const step0f = readFileSync(MOVE_GEN_FILES[3], 'utf8');
    expect(step).not.toMatch(/b >= 0x70/);
    for (const base of ['0x40', '0x80', '0x90']) expect(step0f).not.toMatch(new RegExp(`b >= ${base}`));
  });

  it("group 5's PUSH Ev (FF /6) is group5()'s case generated from MOVE_SEMANTICS", () => {
    expect(stepGroupMoveRows(0xff).map((o) => `${o.mnemonic} /${o.ext}`)).toEqual(['call /2', 'jmp /4', 'push /6']);
    const text = readFileSync(MOVE_GEN_FILES[2], 'utf8');
    const group5 = /protected group5\([\s\S]*?\n {2}\}\n/.exec(text)![0];
    const region = /\/\/ gen:moves group5[\s\S]*?\/\/ end gen:moves/.exec(group5)![0];
    expect(region).toMatch(/case 6:\s*this\.push\(this\.getRm\(osz\)\);/);
    expect(group5.replace(region, '')).not.toMatch(/case 6:/);
  });

  it("the oracle's SETcc and CMOVcc vectors pass through step() alone", () => {
    const vf = readVectors('cond.json');
    const { failures, failedForms } = runVectors(vf, (rig) =>
      vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false),
    );
    expect(
      failures.length,
      `${failures.length} differ (${[...failedForms].join(', ')})\n  ${failures.slice(0, 10).join('\n  ')}`,
    ).toBe(0);
    expect(vf.cases.length).toBeGreaterThan(0);
  });

  it('every form is generated into the function its micro-operations call for (CALL rel32 and RET: runInner alone)', () => {
    const text = readFileSync(MOVE_GEN_FILES[0], 'utf8');
    const loop = readFileSync(MOVE_GEN_FILES[1], 'utf8');
    for (const form of MOVE_FORMS) {
      const alone = RUN_LOOP_ONLY.some((h) => (decoded as Record<string, unknown>)[h] === form.handler);
      const fn = alone ? 'runInner' : moveFunction(form);
      const region = new RegExp(`// gen:moves ${fn} [^\\n]*\\n([\\s\\S]*?)// end gen:moves`).exec(alone ? loop : text);
      expect(region, fn).not.toBeNull();
      expect(region![1]).toContain(`// ${moveName(form)}\n`);
    }
  });
});

/**
 * At 0x1000, 32-bit flat: mov ecx, 20; mov esi, 0x8000; mov ebx, 0x11111111; then 20 times:
 * every form of MOVE_FORMS (PUSH ESP and POP ESP among them), the values mixed into EBX.
 */
const BODY = [
  ...[0x89, 0xd8, 0x8b, 0xd1], // mov eax, ebx; mov edx, ecx
  ...[0x8d, 0x7c, 0x8e, 0x08, 0x89, 0x07], // lea edi, [esi + ecx*4 + 8]; mov [edi], eax
  ...[0x8b, 0x6c, 0x8e, 0x08], // mov ebp, [esi + ecx*4 + 8]
  ...[0xc7, 0x46, 0x04, 0x34, 0x12, 0x5a, 0x5a, 0xff, 0x76, 0x04], // mov dword [esi + 4], 0x5a5a1234; push dword [esi + 4]
  ...[0x53, 0x54, 0x5c], // push ebx; push esp; pop esp
  ...[0x68, 0x78, 0x56, 0x34, 0x12, 0x58, 0x5a, 0x5d], // push 0x12345678; pop eax; pop edx; pop ebp
  ...[0x01, 0xc3, 0x01, 0xd3, 0x01, 0xeb], // add ebx, eax; add ebx, edx; add ebx, ebp
  ...[0xbf, 0x03, 0x00, 0x00, 0x00, 0x01, 0xfb, 0xc1, 0xc3, 0x05], // mov edi, 3; add ebx, edi; rol ebx, 5
  0x49, // dec ecx
];
const MOVES = [
  ...[0xb9, 20, 0, 0, 0, 0xbe, 0x00, 0x80, 0, 0, 0xbb, 0x11, 0x11, 0x11, 0x11],
  ...BODY,
  ...[0x75, -(BODY.length + 2) & 0xff, 0xf4], // jnz back; hlt
];

describeCpu('MOV, LEA, PUSH and POP from their one definition', () => {
  function run(stepOnly: boolean) {
    const rig = makeRig(4);
    rig.load(0x1000, MOVES);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    const cpu = rig.cpu as unknown as { step(): void; openWindow(): boolean };
    if (stepOnly) vi.spyOn(cpu, 'openWindow').mockReturnValue(false);
    const step = vi.spyOn(cpu, 'step');
    for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(37);
    return {
      halted: rig.cpu.halted,
      regs: [...rig.cpu.reg32],
      eip: rig.cpu.eip,
      memory: [...rig.memory.u8.subarray(0x8000, 0x9000)],
      steps: step.mock.calls.length,
    };
  }

  it('the cached (and compiled) forms end where step() alone does', () => {
    const ref = run(true);
    const got = run(false);
    expect(ref.halted).toBe(true);
    expect(got.steps, 'instructions through step()').toBeLessThan(3); // HLT
    expect({ ...got, steps: 0 }).toEqual({ ...ref, steps: 0 });
  });
});

/**
 * At 0x1000 (EBX = 0x100, ECX = 0x1203, ESP = 0x9000, [0x8000] = 0xdeadbeef): lea eax, [ebx + ecx*4 + 8];
 * mov edx, [0x8000]; mov [0x8004], eax; mov dword [0x8008], 0x5a5a1234; push esp; pop esi;
 * push dword [0x8000]; push esp; pop esp; pop edi; push 0x12345678; pop ebp; mov cl, 0x7f; hlt.
 */
const EACH = [
  ...[0x8d, 0x44, 0x8b, 0x08, 0x8b, 0x15, 0x00, 0x80, 0x00, 0x00, 0x89, 0x05, 0x04, 0x80, 0x00, 0x00],
  ...[0xc7, 0x05, 0x08, 0x80, 0x00, 0x00, 0x34, 0x12, 0x5a, 0x5a, 0x54, 0x5e, 0xff, 0x35, 0x00, 0x80, 0x00, 0x00],
  ...[0x54, 0x5c, 0x5f, 0x68, 0x78, 0x56, 0x34, 0x12, 0x5d, 0xb1, 0x7f, 0xf4],
];

describeCpu('MOV, LEA, PUSH and POP as the SDM defines them', () => {
  for (const path of ['the decoded cache or a compiled block', 'step() alone'])
    it(`through ${path}`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, EACH);
      rig.setU32(0x8000, 0xdeadbeef);
      rig.cpu.enterProtectedModeFlat(0x1000, { ebx: 0x100, ecx: 0x1203, esp: 0x9000 });
      if (path === 'step() alone')
        vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);
      rig.cpu.run(100);
      expect(rig.cpu.halted).toBe(true);
      const reg = (n: number) => rig.cpu.reg32[n] >>> 0;
      expect(reg(0), 'LEA: base + index × scale + displacement, no access').toBe(0x100 + 0x1203 * 4 + 8);
      expect(reg(2), 'MOV r32, m32').toBe(0xdeadbeef);
      expect(rig.u32(0x8004), 'MOV m32, r32').toBe(0x100 + 0x1203 * 4 + 8);
      expect(rig.u32(0x8008), 'MOV m32, imm32').toBe(0x5a5a1234);
      expect(reg(6), 'PUSH ESP pushes ESP as it was before the push').toBe(0x9000);
      expect(reg(7), 'PUSH m32; PUSH ESP; POP ESP leaves ESP at the pushed value; POP r32').toBe(0xdeadbeef);
      expect(reg(5), 'PUSH imm32; POP r32').toBe(0x12345678);
      expect(reg(4), 'ESP back where it started').toBe(0x9000);
      expect(reg(1), 'MOV r8, imm8 writes the low byte only').toBe(0x127f);
    });
});

/** CF, PF, ZF, SF and OF of EFLAGS (SDM vol. 1, 3.4.3.1). */
const CF = 0x1,
  PF = 0x4,
  ZF = 0x40,
  SF = 0x80,
  OF = 0x800;
/** Whether condition cc (tttn, SDM vol. 2, B.1.4.7 and Jcc) holds under `flags`. */
function holds(cc: number, flags: number): boolean {
  const f = (bit: number) => (flags & bit) !== 0;
  const base = [f(OF), f(CF), f(ZF), f(CF) || f(ZF), f(SF), f(PF), f(SF) !== f(OF), f(ZF) || f(SF) !== f(OF)][cc >> 1];
  return cc & 1 ? !base : base;
}
/** Every combination of the five flags the conditions read. */
const FLAG_SETS = Array.from({ length: 32 }, (_, k) =>
  [CF, PF, ZF, SF, OF].reduce((acc, bit, j) => (k & (1 << j) ? acc | bit : acc), 0x2),
);

/**
 * For each flag set and condition: push the flags; popfd; mov al, 1; jcc +2 (rel8, then 0F 8x
 * rel32); mov al, 0; stosb — a byte per case at EDI, 1 where the branch was taken; then HLT.
 */
function jccProgram(): number[] {
  const code: number[] = [];
  for (const flags of FLAG_SETS)
    for (let cc = 0; cc < 16; cc++)
      for (const jcc of [
        [0x70 + cc, 2],
        [0x0f, 0x80 + cc, 2, 0, 0, 0],
      ])
        code.push(0x68, ...[0, 8, 16, 24].map((s) => (flags >>> s) & 0xff), 0x9d, 0xb0, 1, ...jcc, 0xb0, 0, 0xaa);
  return [...code, 0xf4];
}

describeCpu('Jcc as the SDM defines its conditions', () => {
  const code = jccProgram();
  for (const path of ['the decoded cache or a compiled block', 'step() alone'])
    it(`through ${path}: taken exactly when the condition holds, rel8 and rel32`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, code);
      rig.cpu.enterProtectedModeFlat(0x1000, { edi: 0x20000, esp: 0x9000 });
      if (path === 'step() alone')
        vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);
      for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(10_000);
      expect(rig.cpu.halted).toBe(true);
      const taken = [...rig.memory.u8.subarray(0x20000, 0x20000 + FLAG_SETS.length * 32)];
      const expected = FLAG_SETS.flatMap((flags) =>
        Array.from({ length: 32 }, (_, k) => (holds(k >> 1, flags) ? 1 : 0)),
      );
      expect(taken).toEqual(expected);
    });
});

/**
 * CWD/CDQ (`sign` eDX, eAX in MOVE_SEMANTICS: step()'s case, the cache's D_CDQ and the blocks'
 * template from it): mov eax, 80000000h; cdq; mov ebx, edx; mov eax, 1; cdq; mov ecx, edx;
 * mov eax, 12348000h; cwd (66 99, step()'s everywhere); mov esi, edx; hlt. Tried: CDQ defined as
 * `set` eDX ← eAX fails all four runs.
 */
const SIGNS = [
  ...[0xb8, 0, 0, 0, 0x80, 0x99, 0x89, 0xd3, 0xb8, 1, 0, 0, 0, 0x99, 0x89, 0xd1],
  ...[0xb8, 0x00, 0x80, 0x34, 0x12, 0x66, 0x99, 0x89, 0xd6, 0xf4],
];

describeCpu('CWD and CDQ as the SDM defines them', () => {
  for (const path of ['the decoded cache or a compiled block', 'step() alone'])
    it(`through ${path}`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, SIGNS);
      rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
      const slow = runThrough(rig, path);
      rig.cpu.run(100);
      expect(rig.cpu.halted).toBe(true);
      const reg = (n: number) => rig.cpu.reg32[n] >>> 0;
      expect(reg(3), 'CDQ of a negative EAX').toBe(0xffffffff);
      expect(reg(1), 'CDQ of a positive EAX').toBe(0);
      expect(reg(6), "CWD: DX from AX's sign, EDX's high half kept").toBe(0x0000ffff);
      if (path !== 'step() alone') expect(slow, 'CDQ by step()').not.toContain(0x1005);
    });
});
