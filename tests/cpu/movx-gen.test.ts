/**
 * MOVZX and MOVSX, defined once (src/machine/cpu/move-ops.ts, MOVE_SEMANTICS: `movzx` = `set`
 * o0 ← o1 read at its size, `movsx` = `extend` o0 ← o1 sign-extended by SIGN_EXTEND), from which
 * tools/gen-moves.ts writes step0f()'s cases (0F B6 B7 BE BF) and the decoded cache's D_MOVX_R (a
 * case per opcode, `gen:moves movx`), and the block compiler its D_MOVX_R code. One program of every
 * register form, from every byte register (AH … BH included) and word register, with the sign bit
 * set and clear, ends, through the cache or blocks and through step() alone, with the registers the
 * SDM gives; in the cached path none of the 32-bit forms reaches step() (the 16-bit ones, 0x66,
 * and the memory forms, the generic G_MOVX, are run and checked too). Tried: movsx defined as
 * `set` fails all four runs; SIGN_EXTEND of a byte shifting by 16 fails them too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MOVE_GEN_FILES, movxRows } from '../../tools/gen-moves';
import { describeCpu, le, makeRig, runThrough } from './rig';

describe('MOVZX and MOVSX, defined once', () => {
  it("step0f()'s cases and the cache's D_MOVX_R are generated from MOVE_SEMANTICS, no hand case left", () => {
    expect(movxRows().map((o) => o.op)).toEqual([0x0fb6, 0x0fb7, 0x0fbe, 0x0fbf]);
    const step0f = readFileSync(MOVE_GEN_FILES[3], 'utf8');
    expect(step0f).not.toContain('// body movx:');
    const cache = readFileSync(MOVE_GEN_FILES[0], 'utf8');
    expect(cache).toMatch(/\/\/ gen:moves movx[\s\S]*case 9:[\s\S]*\/\/ end gen:moves/);
  });
});

describeCpu('MOVZX and MOVSX as the SDM defines them', () => {
  const tested: number[] = [];
  const code: number[] = [];
  const t = (...b: number[]) => (tested.push(0x1000 + code.length), code.push(...b));
  // Sources: EAX 0x1234f681 (AL 81, AH f6, AX f681), ECX 0x00007f7e (CL 7e, CH 7f, CX 7f7e),
  // EDX 0xffff8000 (DL 00, DH 80), EBX 0x000000ff (BL ff, BH 00).
  const src = [0x1234f681, 0x00007f7e, 0xffff8000, 0x000000ff];
  for (let n = 0; n < 4; n++) code.push(0xb8 + n, ...le(src[n]));
  const out = 0x2000;
  const results: { bytes: number[]; want: (v: number[]) => number }[] = [];
  const sx8 = (v: number) => ((v << 24) >> 24) >>> 0;
  const sx16 = (v: number) => ((v << 16) >> 16) >>> 0;
  const byteOf = (v: number[], r: number) => (r < 4 ? v[r] & 0xff : (v[r - 4] >>> 8) & 0xff);
  for (let r = 0; r < 8; r++) {
    results.push({ bytes: [0x0f, 0xb6, 0xf0 | r], want: (v) => byteOf(v, r) }); // movzx esi, r8
    results.push({ bytes: [0x0f, 0xbe, 0xf0 | r], want: (v) => sx8(byteOf(v, r)) }); // movsx esi, r8
  }
  for (let r = 0; r < 4; r++) {
    results.push({ bytes: [0x0f, 0xb7, 0xf0 | r], want: (v) => v[r] & 0xffff }); // movzx esi, r16
    results.push({ bytes: [0x0f, 0xbf, 0xf0 | r], want: (v) => sx16(v[r] & 0xffff) }); // movsx esi, r16
  }
  // Through step() and the generic forms: MOVSX si, al (0x66); MOVSX esi, byte [0x3000] (0x80).
  const slowForms = [
    { bytes: [0x66, 0x0f, 0xbe, 0xf0], want: (v: number[]) => 0xabcd0000 | (sx8(v[0] & 0xff) & 0xffff) },
    { bytes: [0x0f, 0xbe, 0x35, ...le(0x3000)], want: () => 0xffffff80 },
    { bytes: [0x0f, 0xb7, 0x35, ...le(0x3000)], want: () => 0x0000ff80 },
  ];
  results.forEach((f, k) => {
    t(...f.bytes);
    code.push(0x89, 0x35, ...le(out + 4 * k)); // mov [out + 4k], esi
  });
  slowForms.forEach((f, k) => {
    code.push(0xbe, ...le(0xabcd1234)); // mov esi, 0xabcd1234
    code.push(...f.bytes);
    code.push(0x89, 0x35, ...le(out + 4 * (results.length + k)));
  });
  code.push(0xf4);

  for (const path of ['the decoded cache', 'step() alone'])
    it(`through ${path}`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, code);
      rig.load(0x3000, [0x80, 0xff]);
      rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
      const slow = runThrough(rig, path);
      for (let i = 0; i < 200 && !rig.cpu.halted; i++) rig.cpu.run(7);
      expect(rig.cpu.halted).toBe(true);
      const got = [...results, ...slowForms].map((_, k) => rig.u32(out + 4 * k) >>> 0);
      const want = [...results, ...slowForms].map((f) => f.want(src) >>> 0);
      expect(got.map((v) => v.toString(16))).toEqual(want.map((v) => v.toString(16)));
      if (path !== 'step() alone')
        expect(
          slow.filter((e) => tested.includes(e)).map((e) => e.toString(16)),
          'forms under test run by step()',
        ).toEqual([]);
    });
});
