/**
 * Group 3's NOT, MUL, IMUL, DIV and IDIV (F6/F7 /2, /4–/7) from their one definition
 * (src/machine/cpu/muldiv-ops.ts): step()'s group3Body() runs cases generated from MULDIV_OPS
 * (tools/gen-alu.ts, region `gen:alu group3`), the decoded cache's D_GRP3_R (F7 /2 /4 on a
 * register) and D_DIV_R (F7 /6 /7 on a register) and the compiled DIV/IDIV r32 call the same
 * code; the oracle's MUL/IMUL/DIV/IDIV vectors pass through step() alone and through the cache
 * and compiled blocks. #DE on a zero divisor and on a quotient too large for its half (SDM vol. 2,
 * DIV, IDIV) is raised before anything is written, in every engine, at the DIV's EIP and with the
 * flags as the instruction before left them — in the compiled mode from the middle of a block
 * whose flags are pending in its locals.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { ALU_STEP_FILE, IMUL_FILE, MULDIV_FILE, aluStepFormatted } from '../../tools/gen-alu';
import { AF, ARITH, OF, PF, SF } from '../../src/machine/cpu/flags';
import { MULDIV_OPS } from '../../src/machine/cpu/muldiv-ops';
import { readVectors, runVectors } from './oracle-run';
import { describeCpu, flatTables, le, loadFlatTables, makeRig, type Rig } from './rig';

/** Makes the rig's CPU run everything through step(): no decoded cache, no blocks. */
const stepAlone = (rig: Rig) =>
  vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);

const vectors = readVectors('muldiv.json');
/** The one-operand forms of F6/F7 (the oracle's muldiv group also has IMUL's two- and three-operand forms). */
const oneOperand = vectors.cases.filter((c) => /^(66)?f[67]/.test(c.bytes));
/** IMUL's two- and three-operand forms (0F AF, 69, 6B: muldiv-ops.ts IMUL_TRUNC). */
const truncated = vectors.cases.filter((c) => /^(66)?(0faf|69|6b)/.test(c.bytes));

describe('IMUL with two and three operands, defined once (IMUL_TRUNC)', () => {
  // Tried: IMUL_TRUNC.over as `low !== low` (never overflows) fails the vectors through step()
  // alone, the cache and the compiled blocks.
  it("Cpu.imul2's body is generated from IMUL_TRUNC, the block compiler's expressions", async () => {
    const text = readFileSync(IMUL_FILE, 'utf8');
    expect(text).toBe(await aluStepFormatted(IMUL_FILE, text));
    expect(text).toMatch(/\/\/ gen:alu imul2 /);
  });

  it("the oracle's vectors cover r16/r32, r/m and imm8/imm16/imm32 forms", () => {
    const names = new Set(truncated.map((c) => c.name));
    expect(names.size, [...names].join(', ')).toBeGreaterThanOrEqual(4);
    expect(truncated.length).toBeGreaterThan(50);
  });

  it('they pass through step() alone', () => {
    const { failures, failedForms } = runVectors({ ...vectors, cases: truncated }, stepAlone);
    expect(failures.length, `${[...failedForms].join(', ')}\n  ${failures.slice(0, 10).join('\n  ')}`).toBe(0);
  });
});

describeCpu('IMUL with two and three operands through the decoded cache and blocks', () => {
  it("the oracle's vectors pass", () => {
    const { failures, failedForms } = runVectors({ ...vectors, cases: truncated });
    expect(failures.length, `${[...failedForms].join(', ')}\n  ${failures.slice(0, 10).join('\n  ')}`).toBe(0);
  });
});

describe("group 3's NOT, MUL, IMUL, DIV, IDIV in step(), from muldiv-ops.ts", () => {
  it('group3Body() has a generated case for each, from MULDIV_OPS, and no hand-written one', () => {
    const text = readFileSync(ALU_STEP_FILE, 'utf8');
    const group3 = /protected group3Body\([\s\S]*?\n {2}\}\n/.exec(text)![0];
    const region = /\/\/ gen:alu group3[\s\S]*?\/\/ end gen:alu/.exec(group3)![0];
    expect(region).toMatch(/case 2:\s*this\.setRm\(size, notOf\(a, size\)\)/);
    for (const [ext, o] of Object.entries(MULDIV_OPS))
      expect(region).toMatch(
        new RegExp(`case ${ext}:\\s*this\\.${o.divide ? 'divAcc' : 'mulAcc'}\\(a, size, ${o.signed}\\)`),
      );
    expect(group3.replace(region, '')).not.toMatch(/case [24567]:/);
  });

  it("notOf's body and multiply()'s dword branch are generated from NOT_EXPR and MUL32, the block compiler's expressions", async () => {
    const text = readFileSync(MULDIV_FILE, 'utf8');
    expect(text).toBe(await aluStepFormatted(MULDIV_FILE, text));
    for (const region of ['notOf', 'multiply32']) expect(text).toMatch(new RegExp(`// gen:alu ${region} `));
  });

  it("the oracle's muldiv vectors cover every one-operand form, register and memory", () => {
    const names = new Set(oneOperand.map((c) => c.name));
    for (const m of ['mul', 'imul', 'div', 'idiv'])
      for (const w of ['8', '16', '32'])
        for (const mem of ['', ' (mem)']) expect(names).toContain(`${m} r/m${w}${mem}`);
  });

  it("the oracle's muldiv vectors (flags included) pass through step() alone", () => {
    const { failures, failedForms } = runVectors({ ...vectors, cases: oneOperand }, stepAlone);
    expect(failures.length, `${[...failedForms].join(', ')}\n  ${failures.slice(0, 10).join('\n  ')}`).toBe(0);
  });
});

describeCpu("group 3's MUL, IMUL, DIV, IDIV through the decoded cache and blocks", () => {
  it("the oracle's one-operand muldiv vectors pass", () => {
    const { failures, failedForms } = runVectors({ ...vectors, cases: oneOperand });
    expect(failures.length, `${[...failedForms].join(', ')}\n  ${failures.slice(0, 10).join('\n  ')}`).toBe(0);
  });
});

const GDT = 0x5000;
const IDT = 0x6000;
const CODE = 0x1000;
const HANDLER = 0x3000;
const STACK = 0x20000;
const EAX = 0,
  ECX = 1,
  EDX = 2,
  ESI = 6;

interface Case {
  name: string;
  bytes: number[];
  eax: number;
  edx: number;
  ecx: number;
  /** undefined: #DE, nothing written; else EAX, EDX and ECX after. */
  after?: [number, number, number];
}

const CASES: Case[] = [
  { name: 'div cl by 0', bytes: [0xf6, 0xf1], eax: 0x1234, edx: 7, ecx: 0 },
  { name: 'div cl: AX 200h / 2 overflows AL', bytes: [0xf6, 0xf1], eax: 0x200, edx: 7, ecx: 2 },
  { name: 'div cl: AX 1FFh / 2 fits', bytes: [0xf6, 0xf1], eax: 0x1ff, edx: 7, ecx: 2, after: [0x1ff, 7, 2] },
  { name: 'idiv cl: −128 / −1 overflows', bytes: [0xf6, 0xf9], eax: 0xff80, edx: 0, ecx: 0xff },
  { name: 'idiv cl: −127 / −1 fits', bytes: [0xf6, 0xf9], eax: 0xff81, edx: 0, ecx: 0xff, after: [0x7f, 0, 0xff] },
  { name: 'div cx: DX:AX 1:0000 / 1 overflows', bytes: [0x66, 0xf7, 0xf1], eax: 0, edx: 1, ecx: 1 },
  { name: 'idiv cx: −32768 / −1 overflows', bytes: [0x66, 0xf7, 0xf9], eax: 0x8000, edx: 0xffff, ecx: 0xffff },
  { name: 'div ecx by 0', bytes: [0xf7, 0xf1], eax: 5, edx: 0, ecx: 0 },
  { name: 'div ecx: EDX:EAX 1:0 / 1 overflows', bytes: [0xf7, 0xf1], eax: 0, edx: 1, ecx: 1 },
  {
    name: 'div ecx: EDX:EAX 1:0 / 2 fits',
    bytes: [0xf7, 0xf1],
    eax: 0,
    edx: 1,
    ecx: 2,
    after: [0x80000000, 0, 2],
  },
  { name: 'idiv ecx: −2^31 / −1 overflows', bytes: [0xf7, 0xf9], eax: 0x80000000, edx: 0xffffffff, ecx: 0xffffffff },
  { name: 'idiv ecx: +2^31 / 1 overflows', bytes: [0xf7, 0xf9], eax: 0x80000000, edx: 0, ecx: 1 },
  {
    name: 'idiv ecx: −2^31 / 2 fits',
    bytes: [0xf7, 0xf9],
    eax: 0x80000000,
    edx: 0xffffffff,
    ecx: 2,
    after: [0xc0000000, 0, 2],
  },
  {
    name: 'div ecx: EDX:EAX 12h:34567890h / 9ABCDEF1h, a remainder',
    bytes: [0xf7, 0xf1],
    eax: 0x34567890,
    edx: 0x12,
    ecx: 0x9abcdef1,
    after: [0x1e, 0x12345852, 0x9abcdef1],
  },
  {
    name: 'div ebx: EDX:EAX 0:FFFFFFFFh / 80000000h (EBX, as the ADD before leaves it)',
    bytes: [0xf7, 0xf3],
    eax: 0xffffffff,
    edx: 0,
    ecx: 5,
    after: [1, 0x7fffffff, 5],
  },
  {
    name: 'idiv ecx: −1000 / 7 = −142, remainder −6 (the dividend’s sign)',
    bytes: [0xf7, 0xf9],
    eax: 0xfffffc18,
    edx: 0xffffffff,
    ecx: 7,
    after: [0xffffff72, 0xfffffffa, 7],
  },
  {
    name: 'idiv ecx: 100 / −7 = −14, remainder 2',
    bytes: [0xf7, 0xf9],
    eax: 100,
    edx: 0,
    ecx: 0xfffffff9,
    after: [0xfffffff2, 2, 0xfffffff9],
  },
  {
    name: 'idiv ecx: EDX:EAX 1:0 (not a sign-extended dword) / 3 = 55555555h, remainder 1',
    bytes: [0xf7, 0xf9],
    eax: 0,
    edx: 1,
    ecx: 3,
    after: [0x55555555, 1, 3],
  },
  { name: 'idiv ecx: EDX:EAX 1:0 / 2 = +2^31 overflows', bytes: [0xf7, 0xf9], eax: 0, edx: 1, ecx: 2 },
  { name: 'not ecx', bytes: [0xf7, 0xd1], eax: 1, edx: 2, ecx: 0x0f0f1234, after: [1, 2, 0xf0f0edcb] },
];

/**
 * What ADD EBX, 1 on 7FFFFFFFh leaves (SDM vol. 2, ADD): the instruction before each case's, so that
 * the case's is in the middle of a compiled block with these flags pending in its locals.
 */
const BEFORE = [0xbb, ...le(0x7fffffff), 0x83, 0xc3, 0x01]; // mov ebx, 7FFFFFFFh; add ebx, 1
const BEFORE_FLAGS = OF | SF | AF | PF;

/**
 * Runs `c`'s instruction once after BEFORE (in the compiled mode the two are one block) and says
 * what became of it: #DE or not, EAX/EDX/ECX, the arithmetic flags (after it, or as the #DE
 * handler found them on its stack) and the EIP the fault saved, relative to the instruction.
 */
function run(c: Case, alone: boolean): { fault: boolean; regs: number[]; flags: number; savedEip: number } {
  const rig = makeRig(4);
  if (alone) stepAlone(rig);
  flatTables(rig, GDT, IDT)(0, HANDLER);
  rig.load(HANDLER, [0xbe, ...le(1), 0xf4]); // mov esi, 1; hlt
  const at = CODE + loadFlatTables(GDT, IDT).length + BEFORE.length;
  rig.load(CODE, [...loadFlatTables(GDT, IDT), ...BEFORE, ...c.bytes, 0xf4]);
  rig.cpu.enterProtectedModeFlat(CODE, { esp: STACK });
  const r = rig.cpu.reg32;
  r[EAX] = c.eax;
  r[EDX] = c.edx;
  r[ECX] = c.ecx;
  r[ESI] = 0;
  rig.program(c.name);
  rig.cpu.run(1000);
  expect(rig.cpu.halted, c.name).toBe(true);
  const fault = r[ESI] === 1;
  const sp = r[4] >>> 0;
  return {
    fault,
    regs: [r[EAX] >>> 0, r[EDX] >>> 0, r[ECX] >>> 0],
    flags: (fault ? rig.u32(sp + 8) : rig.cpu.flags) & ARITH,
    savedEip: rig.u32(sp) - at,
  };
}

describeCpu('DIV and IDIV raise #DE on a zero divisor or a quotient too large (SDM vol. 2, DIV, IDIV)', () => {
  for (const alone of [true, false])
    for (const c of CASES)
      it(`${c.name}${alone ? ', step() alone' : ''}`, () => {
        const got = run(c, alone);
        if (c.after === undefined) {
          expect(got.fault).toBe(true);
          expect(got.savedEip, 'the fault points at the DIV').toBe(0);
          expect(got.regs, 'nothing written').toEqual([c.eax, c.edx, c.ecx]);
          expect(got.flags, 'the flags as the ADD before left them').toBe(BEFORE_FLAGS);
        } else {
          expect(got.fault).toBe(false);
          expect(got.regs).toEqual(c.after);
          // Undefined after DIV/IDIV and MUL's SF/ZF/PF/AF (SDM vol. 2); step() keeps DIV's as they
          // were, and every engine does what step() does.
          expect(got.flags, 'the flags as step() leaves them').toBe(run(c, true).flags);
        }
      });
});
