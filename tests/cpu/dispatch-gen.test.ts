/**
 * The interpreter's dispatch from the opcode table (tools/gen-dispatch.ts): every row names the
 * body that runs it, and the case labels of step()'s, step0f()'s and the groups' switches are
 * the rows that name each body. A row forgotten in a switch, a row without a body, a body no row
 * names, or a generated region (gen:alu, gen:moves) whose cases are not the rows naming it fails
 * here; that the bodies do what the SDM says is the other suites' (decode-agreement checks by
 * execution that every listed opcode runs).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DISPATCH_FILES, dispatchFormatted, dispatchPlan } from '../../tools/gen-dispatch';
import { OPCODES, type Opcode } from '../../src/machine/cpu/opcodes';

const texts = DISPATCH_FILES.map((f) => readFileSync(f, 'utf8'));
const [interpreter, system] = texts;
const sahf = OPCODES.find((o) => o.mnemonic === 'sahf')!;

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
    const without = interpreter.replace(/^\s*case 0x9e:\n/m, '');
    expect(without).not.toBe(interpreter);
    const [again] = await dispatchFormatted([without, system]);
    expect(again).toBe(interpreter);
  });

  it('a row without a body, or naming one that is not written, fails', () => {
    const nameless: Opcode = { ...sahf, op: 0xd6, mnemonic: 'salc', body: undefined };
    expect(() => dispatchPlan(texts, [...OPCODES.filter((o) => o.op !== 0xd6), nameless])).toThrow(/names no body/);
    const unknown: Opcode = { ...sahf, body: 'no-such-body' };
    expect(() => dispatchPlan(texts, [...OPCODES.filter((o) => o !== sahf), unknown])).toThrow(/no body no-such-body/);
    // SAHF's whole case gone from step(): its row names a body that is not there.
    const cut = interpreter.replace(/\/\/ body sahf[^\n]*\n[\s\S]*?return;\n/, '');
    expect(cut).not.toBe(interpreter);
    expect(() => dispatchPlan([cut, system])).toThrow(/no body sahf/);
  });

  it('a body no row names fails', () => {
    expect(() =>
      dispatchPlan(
        texts,
        OPCODES.filter((o) => o.body !== 'bcd'),
      ),
    ).toThrow(/no row names the body bcd/);
    // A group member's: CALL r/m (FF /2) gone from the table, group5()'s case for it left.
    const call = (o: Opcode) => o.body === 'call-near-indirect';
    expect(() =>
      dispatchPlan(
        texts,
        OPCODES.filter((o) => !call(o)),
      ),
    ).toThrow(/group5: no row names the body call-near/);
  });

  it('the rows of one opcode name one body, or bodies of one group', () => {
    const mixed = OPCODES.map((o) => (o.op === 0xc0 && o.ext === 3 ? { ...o, body: 'sahf' } : o));
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
