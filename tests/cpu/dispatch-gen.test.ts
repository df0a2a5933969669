/**
 * The interpreter's dispatch from the opcode table (tools/gen-dispatch.ts): every row names the
 * body that runs it, and the case labels of step()'s, step0f()'s and the groups' switches are
 * the rows that name each body. A row forgotten in a switch, a row without a body, a body no row
 * names, or a generated region (gen:alu, gen:moves) whose cases are not the rows naming it fails
 * here; that the bodies do what the SDM says is the other suites' (decode-agreement checks by
 * execution that every listed opcode runs). Likewise the decoded cache's handlers: each is listed
 * once with the function that runs it (decoder.ts, FORM_FUNCTION, whence w0's D_MAY_FAULT and
 * D_STACK), and its case is in that function.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DISPATCH_FILES, dispatchFormatted, dispatchPlan } from '../../tools/gen-dispatch';
import { OPCODES, type Opcode } from '../../src/machine/cpu/opcodes';
import { FORM_FUNCTION } from '../../src/machine/cpu/decoder';
import * as decoded from '../../src/machine/cpu/decoded';

const texts = DISPATCH_FILES.map((f) => readFileSync(f, 'utf8'));
const [interpreter, system] = texts;
const salc = OPCODES.find((o) => o.mnemonic === 'salc')!;

describe("the interpreter's dispatch, from the opcode table", () => {
  it('the gen:dispatch regions are what tools/gen-dispatch.ts makes (run it after changing the table)', async () => {
    for (const text of texts) expect(text).toMatch(/\/\/ gen:dispatch \w+/);
    expect(await dispatchFormatted(texts)).toEqual(texts);
  });

  it('every row the CPU runs names a body', () => {
    for (const row of OPCODES.filter((o) => !o.missing)) expect(row.body, row.mnemonic).toBeTypeOf('string');
  });

  it("no case of step()'s, step0f()'s or a group's switch is outside a generated region", () => {
    const outside = (text: string) => text.replace(/\/\/ gen:(\w+) \w+[\s\S]*?\/\/ end gen:\1\b/g, '');
    expect(outside(interpreter)).not.toMatch(/^\s*case /m);
    // system.ts's other switches (RDMSR, WRMSR) are over MSR numbers, by name.
    expect(outside(system)).not.toMatch(/^\s*case [0-9]/m);
    expect(outside(system), "BSWAP's range test").not.toMatch(/b >= 0xc8/);
  });

  it("a row's case deleted from its body is written back", async () => {
    const without = interpreter.replace(/^\s*case 0xd6:\n/m, '');
    expect(without).not.toBe(interpreter);
    const [again] = await dispatchFormatted([without, system]);
    expect(again).toBe(interpreter);
  });

  it('a row without a body, or naming one that is not written, fails', () => {
    const nameless: Opcode = { ...salc, op: 0xd7, mnemonic: 'xlat', body: undefined };
    expect(() => dispatchPlan(texts, [...OPCODES.filter((o) => o.op !== 0xd7), nameless])).toThrow(/names no body/);
    const unknown: Opcode = { ...salc, body: 'no-such-body' };
    expect(() => dispatchPlan(texts, [...OPCODES.filter((o) => o !== salc), unknown])).toThrow(/no body no-such-body/);
    // SALC's whole case gone from step(): its row names a body that is not there.
    const cut = interpreter.replace(/\/\/ body salc[^\n]*\n[\s\S]*?return;\n/, '');
    expect(cut).not.toBe(interpreter);
    expect(() => dispatchPlan([cut, system])).toThrow(/no body salc/);
  });

  it('a body no row names fails', () => {
    expect(() =>
      dispatchPlan(
        texts,
        OPCODES.filter((o) => o.body !== 'bcd'),
      ),
    ).toThrow(/no row names the body bcd/);
    // A group member's: LTR (0F 00 /3) gone from the table, group6()'s case for it left.
    const ltr = (o: Opcode) => o.body === 'ltr';
    expect(() =>
      dispatchPlan(
        texts,
        OPCODES.filter((o) => !ltr(o)),
      ),
    ).toThrow(/group6: no row names the body ltr/);
  });

  it('the rows of one opcode name one body, or bodies of one group', () => {
    const mixed = OPCODES.map((o) => (o.op === 0xc0 && o.ext === 3 ? { ...o, body: 'salc' } : o));
    expect(() => dispatchPlan(texts, mixed)).toThrow(/c0 name different bodies/);
  });

  it('a generated region holds exactly the rows naming it', () => {
    // MOV r/m8, r8 said to be an ALU row: gen:alu step has no case 0x88 (gen:moves has).
    const moved = OPCODES.map((o) => (o.op === 0x88 ? { ...o, body: 'alu' } : o));
    expect(() => dispatchPlan(texts, moved)).toThrow(/gen:alu cases/);
    // A row dropped from the table whose generated case remains (PUSH r/m, FF /6).
    expect(() =>
      dispatchPlan(
        texts,
        OPCODES.filter((o) => !(o.op === 0xff && o.ext === 6)),
      ),
    ).toThrow(/group5: the gen:moves cases/);
  });
});

/** The methods of a class file's text, by name (a method starts at two spaces' indentation). */
function methods(file: string): Map<string, string> {
  const text = readFileSync(new URL(`../../src/machine/cpu/${file}`, import.meta.url), 'utf8');
  const out = new Map<string, string>();
  let name = '';
  for (const line of text.split('\n')) {
    const m = /^ {2}(?:protected |private |public )?(?:abstract )?(\w+)\(/.exec(line);
    if (m) name = m[1];
    out.set(name, `${out.get(name) ?? ''}${line}\n`);
  }
  return out;
}

describe("the decoded cache's forms, each in the function its effects call for", () => {
  const handlers = Object.entries(decoded).filter(
    ([n]) => n.startsWith('D_') && !['D_MAY_FAULT', 'D_STACK', 'D_STEP', 'D_SLOW'].includes(n),
  ) as [string, number][];
  const exec = methods('decoded-exec.ts');
  const runInner = methods('cpu.ts').get('runInner')!;
  /** The statements of `name`'s case in a switch's text, or undefined. */
  const caseOf = (text: string, name: string, h: number) =>
    new RegExp(`case ${h} satisfies typeof ${name}:([\\s\\S]*?)(?=\\n\\s*(case |default:|// end ))`).exec(text)?.[1];

  it('every handler is listed in FORM_FUNCTION (decoder.ts), which gives w0 its D_MAY_FAULT and D_STACK', () => {
    for (const [name, h] of handlers) expect(FORM_FUNCTION[h], name).toBeDefined();
  });

  it("each handler's case is in its function, or in runInner's alone, which sets the restart point as the function says", () => {
    for (const [name, h] of handlers) {
      const f = FORM_FUNCTION[h];
      const holders = ['execReg', 'execDecoded', 'execStack'].filter(
        (m) => caseOf(exec.get(m)!, name, h) !== undefined,
      );
      if (name === 'D_GENERIC') {
        expect(holders).toEqual([]);
        expect(exec.get('execDecoded')).toMatch(/default:\s*this\.execGeneric\(/);
        continue;
      }
      if (holders.length > 0) {
        expect(holders, name).toEqual([f]);
        continue;
      }
      const inline = caseOf(runInner, name, h);
      expect(inline, `${name}: no case`).toBeDefined();
      expect(/this\.start = eip;/.test(inline!), `${name} sets the restart point`).toBe(f !== 'execReg');
    }
  });
});
