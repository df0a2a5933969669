/**
 * IN and OUT, defined once (src/machine/cpu/move-ops.ts, MOVE_SEMANTICS: `in` a, port; `out` port,
 * b), from which tools/gen-moves.ts writes step()'s cases (E4–E7, EC–EF) and the decoded cache's
 * D_IO (no block runs port I/O: blocks.ts, blockable). One program of each form ends, through the
 * decoded cache and through step() alone, with the port writes and registers the SDM gives; in the
 * cached path none of the byte and dword forms reaches step() (the word forms, 0x66, are step()'s
 * everywhere). Tried: OUT defined with its operands swapped (`out` o1, o0) fails all four runs.
 * IOPL and the TSS's I/O bitmap: vm86.test.ts and protected.test.ts; I/O breakpoints:
 * debug-registers.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MOVE_GEN_FILES, stepMoveRows } from '../../tools/gen-moves';
import { describeCpu, le, makeRig, runThrough } from './rig';

describe('IN and OUT, defined once', () => {
  it("step()'s cases of E4–E7 and EC–EF are generated from MOVE_SEMANTICS, no hand case left", () => {
    const ops = stepMoveRows().map((o) => o.op);
    const io = [0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef];
    for (const op of io) expect(ops).toContain(op);
    const text = readFileSync(MOVE_GEN_FILES[2], 'utf8');
    const outside = text.replace(/\/\/ gen:moves step[\s\S]*?\/\/ end gen:moves/, '');
    for (const op of io) expect(outside).not.toContain(`case 0x${op.toString(16)}:`);
    expect(text).not.toContain('// body in-out:');
    const cache = readFileSync(MOVE_GEN_FILES[0], 'utf8');
    expect(cache).toMatch(/\/\/ gen:moves io[\s\S]*case 0xef:[\s\S]*\/\/ end gen:moves/);
    expect(cache).not.toContain('inOut(');
  });
});

/** The port the rig logs writes to, and another; reads of both give all ones. */
const P80 = 0x80,
  PE9 = 0xe9;

describeCpu('IN and OUT as the SDM defines them', () => {
  const tested: number[] = [];
  const code: number[] = [];
  const t = (...b: number[]) => (tested.push(0x1000 + code.length), code.push(...b));
  code.push(0xb8, ...le(0x1234565a)); // mov eax, 0x1234565a
  t(0xe6, P80); // out 0x80, al
  t(0xe7, PE9); // out 0xe9, eax
  code.push(0xba, ...le(PE9)); // mov edx, 0xe9
  t(0xee); // out dx, al
  t(0xef); // out dx, eax
  code.push(0x66, 0xef); // out dx, ax (step())
  code.push(0x31, 0xc0); // xor eax, eax
  t(0xe4, P80); // in al, 0x80
  code.push(0x89, 0xc3, 0x31, 0xc0); // mov ebx, eax; xor eax, eax
  t(0xed); // in eax, dx
  code.push(0x89, 0xc1, 0x31, 0xc0); // mov ecx, eax; xor eax, eax
  t(0xec); // in al, dx
  code.push(0x89, 0xc6, 0x31, 0xc0); // mov esi, eax; xor eax, eax
  t(0xe5, P80); // in eax, 0x80
  code.push(0xf4);

  for (const path of ['the decoded cache', 'step() alone'])
    it(`through ${path}`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, code);
      rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
      const slow = runThrough(rig, path);
      for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(5);
      expect(rig.cpu.halted).toBe(true);
      expect(rig.portWrites, 'OUT: the port, the size of the source, its value').toEqual([
        { port: P80, size: 1, value: 0x5a },
        { port: PE9, size: 4, value: 0x1234565a },
        { port: PE9, size: 1, value: 0x5a },
        { port: PE9, size: 4, value: 0x1234565a },
        { port: PE9, size: 2, value: 0x565a },
      ]);
      const reg = (n: number) => rig.cpu.reg32[n] >>> 0;
      expect(reg(3), 'IN AL, imm8: AL alone').toBe(0xff);
      expect(reg(1), 'IN EAX, DX').toBe(0xffffffff);
      expect(reg(6), 'IN AL, DX: AL alone').toBe(0xff);
      expect(reg(0), 'IN EAX, imm8').toBe(0xffffffff);
      if (path !== 'step() alone')
        expect(
          slow.filter((e) => tested.includes(e)).map((e) => e.toString(16)),
          'forms under test run by step()',
        ).toEqual([]);
    });
});
