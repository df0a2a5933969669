/**
 * The near JMP and CALL (rel, r32, m32) and RET (and RET imm16), LEAVE, PUSHF and POPF, defined once as
 * micro-operations (src/machine/cpu/move-ops.ts, MOVE_SEMANTICS) from which tools/gen-moves.ts
 * writes step()'s cases and the decoded cache's, and the block compiler its templates. One program
 * of each form ends, through the decoded cache (interpreter mode) or compiled blocks (compiled
 * mode) and through step() alone, in the state the SDM gives, written out here; in the cached
 * paths none of the 32-bit forms but POPFD reaches step(). POPF and the 16-bit forms (0x66) are
 * step()'s in every path. Tried: LEAVE without its ESP ← EBP, and RET imm16 without its release, each fail every
 * path in both CPU modes, as does JMP without its `jump`.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MOVE_GEN_FILES, stepGroupMoveRows, stepMoveRows } from '../../tools/gen-moves';
import { describeCpu, le, makeRig, runThrough } from './rig';

const CODE = 0x1000;
const SLOT = 0x8000;
const PF = 0x4,
  ARITH = 0x8d5; // OF SF ZF AF PF CF

/** The program, its labels resolved, and the EIPs of the 32-bit forms under test. */
function program(): { code: number[]; tested: number[]; labels: Record<string, number> } {
  const code: number[] = [];
  const tested: number[] = [];
  const labels: Record<string, number> = {};
  const fixups: { at: number; label: string; size: 2 | 4; from: number }[] = [];
  const at = () => CODE + code.length;
  const emit = (...b: number[]) => code.push(...b);
  const t = (...b: number[]) => (tested.push(at()), emit(...b));
  /** A relative operand to `label` (from the end of the instruction, `size` bytes, last in it). */
  const rel = (label: string, size: 2 | 4) => {
    fixups.push({ at: code.length, label, size, from: at() + size });
    emit(...Array(size).fill(0));
  };
  const label = (name: string) => void (labels[name] = at());
  // mov ebp, 0x5555; call f (rel32)
  emit(0xbd, ...le(0x5555));
  t(0xe8);
  rel('f', 4);
  label('r1');
  emit(0x89, 0xc6); // mov esi, eax (f's return address seen at [ebp + 4])
  // push 0x11; push 0x22; mov ebx, g; call ebx; (g: ret 8)
  emit(0x6a, 0x11, 0x6a, 0x22, 0xbb);
  fixups.push({ at: code.length, label: 'g', size: 4, from: 0 });
  emit(0, 0, 0, 0);
  t(0xff, 0xd3);
  label('r2');
  // mov dword [SLOT], h; call [SLOT]
  emit(0xc7, 0x05, ...le(SLOT));
  fixups.push({ at: code.length, label: 'h', size: 4, from: 0 });
  emit(0, 0, 0, 0);
  t(0xff, 0x15, ...le(SLOT));
  label('r3');
  // jmp rel8, jmp rel32, jmp eax, jmp [SLOT + 8], each over a mov esi, 0xbad
  const bad = [0xbe, ...le(0xbad)];
  t(0xeb, bad.length);
  emit(...bad);
  t(0xe9);
  rel('j2', 4);
  emit(...bad);
  label('j2');
  emit(0xb8);
  fixups.push({ at: code.length, label: 'j3', size: 4, from: 0 });
  emit(0, 0, 0, 0);
  t(0xff, 0xe0);
  emit(...bad);
  label('j3');
  emit(0xc7, 0x05, ...le(SLOT + 8));
  fixups.push({ at: code.length, label: 'j4', size: 4, from: 0 });
  emit(0, 0, 0, 0);
  t(0xff, 0x25, ...le(SLOT + 8));
  emit(...bad);
  label('j4');
  // push ARITH | 2; popfd; pushfd; pop ebx
  emit(0x68, ...le(ARITH | 2));
  emit(0x9d); // POPFD: step()'s in every path (the cache has no form of it)
  t(0x9c);
  emit(0x5b);
  // 16-bit forms (step() in every path): call rel16 to k; then hlt
  emit(0x66, 0xe8);
  rel('k', 2);
  label('r4');
  emit(0xf4);
  // f: push ebp; mov ebp, esp; sub esp, 16; mov eax, [ebp + 4]; pushfd; pop ecx; leave; ret
  label('f');
  emit(0x55, 0x89, 0xe5, 0x83, 0xec, 0x10, 0x8b, 0x45, 0x04);
  t(0x9c);
  emit(0x59);
  t(0xc9);
  t(0xc3);
  // g: mov edx, [esp]; ret 8
  label('g');
  emit(0x8b, 0x14, 0x24);
  t(0xc2, 8, 0);
  // h: mov edi, [esp]; ret
  label('h');
  emit(0x8b, 0x3c, 0x24);
  t(0xc3);
  // k (16-bit operands): mov [SLOT + 4], esp; push bp; mov bp, sp; pushf (o16); pop ax ... :
  // 66 55 (push bp), 66 89 e5 (mov bp, sp), 66 9c (pushf), 66 58 (pop ax), 66 c9 (leave), 66 c3 (ret)
  label('k');
  emit(0x89, 0x25, ...le(SLOT + 4));
  emit(0x66, 0x55, 0x66, 0x89, 0xe5, 0x66, 0x9c, 0x66, 0x58, 0x66, 0xc9, 0x66, 0xc3);
  for (const f of fixups) {
    const v = f.from === 0 ? labels[f.label] : labels[f.label] - f.from;
    for (let i = 0; i < f.size; i++) code[f.at + i] = (v >>> (8 * i)) & 0xff;
  }
  return { code, tested, labels };
}

describe('near JMP, CALL and RET, LEAVE, PUSHF and POPF, defined once', () => {
  it("step()'s cases of E8, E9, EB, FF /2 /4, C2, C3, C9, 9C and 9D are generated from MOVE_SEMANTICS, no hand case left", () => {
    const ops = stepMoveRows().map((o) => o.op);
    const hex = [0x9c, 0x9d, 0xc2, 0xc3, 0xc9, 0xe8, 0xe9, 0xeb];
    for (const op of hex) expect(ops).toContain(op);
    expect(stepGroupMoveRows(0xff).map((o) => o.ext)).toEqual([2, 4, 6]);
    const text = readFileSync(MOVE_GEN_FILES[2], 'utf8');
    const outside = text.replace(/\/\/ gen:moves step[\s\S]*?\/\/ end gen:moves/, '');
    for (const op of hex) expect(outside).not.toContain(`case 0x${op.toString(16)}:`);
    for (const body of [
      'pushf',
      'popf',
      'ret-near',
      'leave',
      'call-near',
      'call-near-indirect',
      'jmp-near',
      'jmp-short',
      'jmp-near-indirect',
    ])
      expect(text).not.toContain(`// body ${body}:`);
  });
});

describeCpu('near JMP, CALL and RET, LEAVE, PUSHF and POPF as the SDM defines them', () => {
  const { code, tested, labels } = program();
  for (const path of ['the decoded cache or a compiled block', 'step() alone'])
    it(`through ${path}`, () => {
      const rig = makeRig(4);
      rig.load(CODE, code);
      rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
      const slow = runThrough(rig, path);
      for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(7);
      expect(rig.cpu.halted).toBe(true);
      const reg = (n: number) => rig.cpu.reg32[n] >>> 0;
      expect(rig.cpu.eip, 'HLT after the 16-bit RET returned to r4').toBe(labels.r4 + 1);
      expect(reg(6), "CALL rel32 pushes the next instruction's EIP; JMP rel8/rel32/r32/m32 skip ESI's MOV").toBe(
        labels.r1,
      );
      expect(reg(2), "CALL r32 pushes the next instruction's EIP").toBe(labels.r2);
      expect(reg(7), "CALL m32 pushes the next instruction's EIP").toBe(labels.r3);
      expect(reg(1) & ARITH, "PUSHFD: SUB ESP, 16's flags (0x8FE8: PF)").toBe(PF);
      expect(reg(3) & (ARITH | 2), 'POPFD then PUSHFD: the flags popped').toBe(ARITH | 2);
      expect(reg(5), 'LEAVE: EBP popped back').toBe(0x5555);
      expect(reg(4), 'RET imm16 released its 8 bytes; every RET and LEAVE back to the start').toBe(0x9000);
      expect(rig.u32(SLOT + 4), 'ESP at k: the 16-bit CALL pushed 2 bytes').toBe(0x9000 - 2);
      expect(reg(0) & 0xffff & ARITH, 'PUSHF (o16): the flags of POPFD').toBe(ARITH);
      if (path !== 'step() alone')
        expect(
          slow.filter((e) => tested.includes(e)).map((e) => e.toString(16)),
          'forms under test run by step()',
        ).toEqual([]);
    });
});
