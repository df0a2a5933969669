/**
 * The flag instructions (CLC STC CMC CLD STD CLI STI SAHF LAHF), defined once (src/machine/cpu/
 * flag-ops.ts, FLAG_SEMANTICS): the interpreter's and the decoded cache's flagOp is generated from
 * the table (tools/gen-flags.ts) and the block compiler pastes the same expressions. Then by
 * execution: every instruction from several EFLAGS values (set by POPFD, and left pending by an
 * ADD), through the decoded cache or compiled blocks (none of them reaching step(): the decoder
 * caches every row of the table, as D_FLAG or STI's D_STI) and through step() alone, ends with the
 * EFLAGS and AH the SDM gives, written out here, in both CPU modes. Tried: CMC defined as `f | CF` fails all four runs,
 * STD as `f & ~DF` too (the blocks paste it, the others run flagOp). CLI's and STI's #GP(0) at
 * CPL > IOPL: protected.test.ts (rings) and vm86.test.ts; STI's interrupt shadow: interrupts.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { FLAG_GEN_FILE, flagRows, flagsFormatted } from '../../tools/gen-flags';
import { OPCODES } from '../../src/machine/cpu/opcodes';
import { describeCpu, le, makeRig } from './rig';

describe('the flag instructions, defined once', () => {
  it('the gen:flags region of decoded-exec.ts is what tools/gen-flags.ts makes (run it after changing flag-ops.ts)', async () => {
    const text = readFileSync(FLAG_GEN_FILE, 'utf8');
    expect(text).toMatch(/\/\/ gen:flags flagOp/);
    expect(text).toBe(await flagsFormatted(FLAG_GEN_FILE, text));
  });

  it('every row of the table is run by flagOp (step(): the body flag-op), no hand case left', () => {
    expect(flagRows().map((o) => o.op)).toEqual([0x9e, 0x9f, 0xf5, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd]);
    for (const row of flagRows()) expect(OPCODES.find((o) => o.op === row.op)!.body).toBe('flag-op');
    const text = readFileSync(FLAG_GEN_FILE, 'utf8');
    const outside = text.replace(/\/\/ gen:flags flagOp[\s\S]*?\/\/ end gen:flags/, '');
    expect(outside).not.toMatch(/case 0x(f5|f8|f9|fa|fb|fc|fd|9e|9f):/);
    const step = readFileSync(FLAG_GEN_FILE.replace('decoded-exec.ts', 'interpreter.ts'), 'utf8');
    expect(step).not.toMatch(/body (sahf|lahf):/);
  });
});

const CF = 0x1,
  IF = 0x200,
  DF = 0x400;
/** The bits compared: OF DF IF SF ZF AF PF CF and bit 1. */
const SEEN = 0xed7;
/** The instructions (opcode, name) and what the SDM says each does to EFLAGS `f` and AH `ah`. */
const OPS: [number, string, (f: number, ah: number) => { f: number; ah: number }][] = [
  [0xf8, 'clc', (f, ah) => ({ f: f & ~CF, ah })],
  [0xf9, 'stc', (f, ah) => ({ f: f | CF, ah })],
  [0xf5, 'cmc', (f, ah) => ({ f: f ^ CF, ah })],
  [0xfc, 'cld', (f, ah) => ({ f: f & ~DF, ah })],
  [0xfd, 'std', (f, ah) => ({ f: f | DF, ah })],
  [0xfa, 'cli', (f, ah) => ({ f: f & ~IF, ah })],
  [0xfb, 'sti', (f, ah) => ({ f: f | IF, ah })],
  // SAHF: SF ZF AF PF CF ← AH's bits 7 6 4 2 0; LAHF: AH ← SF ZF 0 AF 0 PF 1 CF
  [0x9e, 'sahf', (f, ah) => ({ f: (f & ~0xd5) | (ah & 0xd5), ah })],
  [0x9f, 'lahf', (f) => ({ f, ah: (f & 0xd5) | 2 })],
];
/** EFLAGS before (POPFD), and AH. */
const BEFORE = [0x002, 0x8d7, 0x602, 0xed7];
const AH = [0x00, 0xff, 0x56];
/** ADD EBX, 1 with EBX = FFFFFFFF leaves CF ZF AF PF pending (lazy), SF OF clear; IF DF as before. */
const AFTER_ADD = CF | 0x4 | 0x10 | 0x40;

interface Case {
  name: string;
  at: number;
  f: number;
  ah: number;
}

/** At 0x1000, flat 32-bit: each case, its EFLAGS and EAX stored at EDI; then HLT. */
function program(): { code: number[]; cases: Case[] } {
  const code: number[] = [];
  const cases: Case[] = [];
  for (const [op, name, sdm] of OPS)
    for (const before of BEFORE)
      for (const ah of AH)
        for (const lazy of [false, true]) {
          const eax = 0x12000078 | (ah << 8);
          code.push(0x68, ...le(before), 0x9d, 0xb8, ...le(eax)); // push imm32; popfd; mov eax, imm32
          // mov ebx, -1; add ebx, 1
          if (lazy) code.push(0xbb, ...le(0xffffffff), 0x83, 0xc3, 0x01);
          const f0 = lazy ? (before & ~0x8d5) | AFTER_ADD : before;
          cases.push({
            name: `${name} from ${f0.toString(16)}, AH ${ah.toString(16)}`,
            at: 0x1000 + code.length,
            ...sdm(f0, ah),
          });
          // OP; pushfd; pop ecx; mov [edi], ecx; mov [edi + 4], eax; add edi, 8
          code.push(op, 0x9c, 0x59, 0x89, 0x0f, 0x89, 0x47, 0x04, 0x83, 0xc7, 0x08);
        }
  // cli: no interrupt is pending, but leave IF as the last case did; hlt
  return { code: [...code, 0xf4], cases };
}

describeCpu('the flag instructions as the SDM defines them', () => {
  const { code, cases } = program();
  for (const path of ['the decoded cache or a compiled block', 'step() alone'])
    it(`through ${path}`, () => {
      const rig = makeRig(4);
      rig.load(0x1000, code);
      rig.cpu.enterProtectedModeFlat(0x1000, { edi: 0x20000, esp: 0x9000 });
      const cpu = rig.cpu as unknown as { step(): void; openWindow(): boolean };
      if (path === 'step() alone') vi.spyOn(cpu, 'openWindow').mockReturnValue(false);
      const slow = new Set<number>();
      const step = cpu.step.bind(cpu);
      vi.spyOn(cpu, 'step').mockImplementation(() => {
        slow.add(rig.cpu.eip);
        step();
      });
      for (let i = 0; i < 1000 && !rig.cpu.halted; i++) rig.cpu.run(1000);
      expect(rig.cpu.halted).toBe(true);
      const wrong = cases
        .map((c, k) => {
          const f = rig.u32(0x20000 + 8 * k) & SEEN;
          const ah = (rig.u32(0x20004 + 8 * k) >>> 8) & 0xff;
          return f === (c.f & SEEN) && ah === c.ah
            ? ''
            : `${c.name}: EFLAGS ${f.toString(16)} AH ${ah.toString(16)}, SDM ${(c.f & SEEN).toString(16)} ${c.ah.toString(16)}`;
        })
        .filter((s) => s !== '');
      expect(wrong.length, wrong.slice(0, 8).join('\n')).toBe(0);
      if (path !== 'step() alone') {
        const viaStep = cases.filter((c) => slow.has(c.at)).map((c) => c.name);
        expect(viaStep, 'instructions under test run by step()').toEqual([]);
      }
    });
});
