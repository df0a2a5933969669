/**
 * NOP and BSWAP, defined once (src/machine/cpu/move-ops.ts, MOVE_SEMANTICS: `nop` no operation,
 * `bswap` the micro-operation `bytes` o0, whose expression is bit-ops.ts' BSWAP_EXPR), from which
 * tools/gen-moves.ts writes step()'s cases (90, 0F 1F, 0F C8–CF) and the decoded cache's D_NOP and
 * D_BSWAP (execReg), and the block compiler (moveForm) their code. One program of every form ends,
 * through the decoded cache or compiled blocks and through step() alone, with the registers the SDM
 * gives; in the cached path none of them reaches step() (BSWAP r16, 0x66, is step()'s everywhere:
 * undefined on hardware, this CPU swaps the dword). Tried: BSWAP defined as `[]` fails all four
 * runs; BSWAP_EXPR changed without regenerating fails the compiled runs alone.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MOVE_GEN_FILES, stepMoveRows } from '../../tools/gen-moves';
import { describeCpu, le, makeRig, runThrough } from './rig';

describe('NOP and BSWAP, defined once', () => {
  it("step()'s cases are generated from MOVE_SEMANTICS, no hand case or body left", () => {
    const ops = stepMoveRows().map((o) => o.op);
    expect(ops).toContain(0x90);
    const ops0f = stepMoveRows(0x0f).map((o) => o.op);
    for (const op of [0x0f1f, 0x0fc8, 0x0fcf]) expect(ops0f).toContain(op);
    const step = readFileSync(MOVE_GEN_FILES[2], 'utf8');
    const step0f = readFileSync(MOVE_GEN_FILES[3], 'utf8');
    expect(step).not.toContain('// body nop:');
    expect(step0f).not.toContain('// body nop:');
    expect(step0f).not.toContain('// body bswap:');
    expect(step0f).not.toContain('bswap32(');
    const cache = readFileSync(MOVE_GEN_FILES[0], 'utf8');
    const outside = cache.replace(/\/\/ gen:moves \w+[\s\S]*?\/\/ end gen:moves/g, '');
    expect(outside).not.toContain('typeof D_NOP');
    expect(outside).not.toContain('typeof D_BSWAP');
  });
});

describeCpu('NOP and BSWAP as the SDM defines them', () => {
  const tested: number[] = [];
  const code: number[] = [];
  const t = (...b: number[]) => (tested.push(0x1000 + code.length), code.push(...b));
  const values = [0x12345678, 0x9abcdef0, 0x0000ff80, 0x80000001, 0, 0xdeadbeef, 0x01020304, 0x55aa33cc];
  for (let n = 0; n < 8; n++) if (n !== 4) code.push(0xb8 + n, ...le(values[n])); // mov reg, value
  code.push(0x01, 0xc0); // add eax, eax: flags pending across the forms below
  // A loop of two passes, so that the compiled mode runs the block more than once.
  const counter = code.length + 1;
  code.push(0xbc, ...le(2)); // mov esp, passes (the counter; no stack used)
  const top = code.length;
  t(0x90); // nop
  t(0xf3, 0x90); // pause
  t(0x0f, 0x1f, 0x00); // nop dword [eax]: not accessed
  t(0x0f, 0x1f, 0x44, 0x00, 0x00); // nop dword [eax + eax + 0]
  for (let n = 0; n < 8; n++) if (n !== 4) t(0x0f, 0xc8 + n); // bswap reg
  t(0x0f, 0xcc); // bswap esp
  t(0x0f, 0xcc); // bswap esp
  code.push(0x4c); // dec esp
  code.push(0x75, (top - (code.length + 2)) & 0xff); // jnz top
  code.push(0x66, 0x0f, 0xcd); // bswap bp (step(): the dword, this CPU)
  code.push(0xf4);

  const swap = (v: number) => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  for (const path of ['the decoded cache', 'step() alone'])
    for (const passes of [1, 2])
      it(`through ${path}, ${passes} pass(es)`, () => {
        const rig = makeRig(4);
        rig.load(0x1000, code);
        rig.load(0x1000 + counter, le(passes));
        rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
        const slow = runThrough(rig, path);
        for (let i = 0; i < 200 && !rig.cpu.halted; i++) rig.cpu.run(7);
        expect(rig.cpu.halted).toBe(true);
        const reg = (n: number) => rig.cpu.reg32[n] >>> 0;
        // EAX doubled first; each pass swaps every register once, ESP twice.
        const start = values.map((v, n) => (n === 0 ? (2 * v) >>> 0 : v));
        const after = (v: number, k: number) => (k % 2 ? swap(v) >>> 0 : v);
        for (const n of [0, 1, 2, 3, 6, 7]) expect(reg(n), `register ${n}`).toBe(after(start[n], passes));
        expect(reg(4), 'ESP: the counter').toBe(0);
        expect(reg(5), 'EBP, then BSWAP BP (the dword, this CPU)').toBe(after(start[5], passes + 1));
        if (path !== 'step() alone')
          expect(
            slow.filter((e) => tested.includes(e)).map((e) => e.toString(16)),
            'forms under test run by step()',
          ).toEqual([]);
      });
});
