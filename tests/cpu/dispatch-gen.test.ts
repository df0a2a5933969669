/**
 * The interpreter's dispatch from the opcode table (tools/gen-dispatch.ts): every row names the
 * body that runs it, and the case labels of step()'s, step0f()'s and the groups' switches are
 * the rows that name each body. A row forgotten in a switch, a row without a body, a body no row
 * names, or a generated region (gen:alu, gen:moves) whose cases are not the rows naming it fails
 * here; that the bodies do what the SDM says is the other suites' (decode-agreement checks by
 * execution that every listed opcode runs). Likewise the decoded cache's handlers: each is listed
 * once with the function that runs it (decoder.ts, FORM_FUNCTION, whence w0's D_MAY_FAULT and
 * D_STACK), the function its code calls for (tools/gen-forms.ts), and its case is there.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DISPATCH_FILES, dispatchFormatted, dispatchPlan } from '../../tools/gen-dispatch';
import { OPCODES, type Opcode } from '../../src/machine/cpu/opcodes';
import { FORM_FUNCTION } from '../../src/machine/cpu/decoder';
import {
  FORM_CODE_FILES,
  FORM_GEN_FILE,
  HANDLERS,
  formPlan,
  formsFormatted,
  readCpuFiles,
} from '../../tools/gen-forms';

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

  it('a group whose members are all generated is found through its regions (group 3: F6, F7)', () => {
    const plan = dispatchPlan(texts);
    expect([...plan.switches.get('step')!.labels.get('group3')!.keys()]).toEqual([0xf6, 0xf7]);
    expect([...plan.switches.get('group3')!.labels.get('alu')!.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // NEG (F6/F7 /3) gone from the table, gen:alu group3's case 3 left.
    expect(() =>
      dispatchPlan(
        texts,
        OPCODES.filter((o) => !((o.op === 0xf6 || o.op === 0xf7) && o.ext === 3)),
      ),
    ).toThrow(/group3: the gen:alu cases/);
  });
});

describe("the decoded cache's forms, each in the function its code calls for", () => {
  const handlers = [...HANDLERS];
  const files = readCpuFiles();
  const [execFile, cpuFile] = FORM_CODE_FILES;
  const exec = files.get(execFile)!;
  const cpu = files.get(cpuFile)!;
  /** The CPU's files with one file's text changed (the change must apply). */
  const edited = (file: string, from: string | RegExp, to: string) => {
    const text = files.get(file)!;
    const changed = text.replace(from, to);
    expect(changed, `${String(from)} not found`).not.toBe(text);
    return new Map([...files, [file, changed]]);
  };

  it('every handler is listed in FORM_FUNCTION (decoder.ts), which gives w0 its D_MAY_FAULT and D_STACK', () => {
    expect(handlers.length).toBeGreaterThan(50);
    for (const [name, h] of handlers) expect(FORM_FUNCTION[h], name).toBeDefined();
  });

  it('the gen:forms region of decoder.ts is what tools/gen-forms.ts reads off the handlers (run it after changing one)', async () => {
    const decoder = files.get(FORM_GEN_FILE)!;
    expect(decoder).toMatch(/\/\/ gen:forms FORM_FUNCTION/);
    expect(await formsFormatted(files)).toBe(decoder);
    // A function written into the region by hand is written back.
    const hand = edited(FORM_GEN_FILE, "[D_DIV_R]: 'execDecoded'", "[D_DIV_R]: 'execReg'");
    expect(await formsFormatted(hand)).toBe(decoder);
  });

  it("every handler's function, the moves' too, is the one its code calls for, and its case is there", () => {
    const plan = formPlan(files);
    for (const [name, h] of handlers) expect(FORM_FUNCTION[h], name).toBe(plan.get(name)!.fn);
    // A sample of each kind of reason.
    expect(plan.get('D_ALU_RR')).toEqual({ fn: 'execReg', why: 'cannot fault' });
    expect(plan.get('D_DIV_R')).toEqual({ fn: 'execDecoded', why: 'may fault (divAcc)' });
    expect(plan.get('D_ALU_RM')).toEqual({ fn: 'execDecoded', why: 'may fault (dLoad32): the memory operand' });
    expect(plan.get('D_POP_SEG')?.fn).toBe('execStack');
    expect(plan.get('D_GENERIC')?.fn).toBe('execDecoded');
  });

  it('a handler whose case is in the wrong function, or missing, fails', () => {
    // DIV r32 (#DE) moved into execReg, which sets no restart point.
    const div = /(\n\s*case 25 satisfies typeof D_DIV_R:[\s\S]*?return;)/.exec(exec)![1];
    const moved = exec.replace(div, '').replace(/(\n\s*case 16 satisfies typeof D_INC_R:)/, `${div}$1`);
    expect(() => formPlan(new Map([...files, [execFile, moved]]))).toThrow(
      /D_DIV_R's case is in execReg, its code calls for execDecoded \(may fault \(divAcc\)\)/,
    );
    // A register form made to read its memory operand.
    const load = edited(execFile, 'r[x] = this.incdec(r[x] >>> 0, 4, false);', 'r[x] = this.dLoad32(d, p);');
    expect(() => formPlan(load)).toThrow(/D_INC_R's case is in execReg, its code calls for execDecoded/);
    // A handler without a case.
    const gone = edited(execFile, /\n\s*case 48 satisfies typeof D_FLAG:\n\s*this\.flagOp\(x\);\n\s*return;/, '');
    expect(() => formPlan(gone)).toThrow(/D_FLAG has no case/);
    // A helper that may now fault makes its callers' cases wrong (Jcc's cond(), by the fixpoint:
    // runInner runs D_JCC inline without a restart point).
    const aluFile = [...files.keys()].find((f) => f.endsWith('/alu.ts'))!;
    const cond = edited(
      aluFile,
      /(\n {2}cond\(cc: number\): boolean \{)/,
      '$1\n    if (cc > 15) throw new CpuFault(GP, 0);',
    );
    expect(() => formPlan(cond)).toThrow(
      /runInner's case of D_JCC does not set the restart point, its code calls for execDecoded \(may fault \(cond\)\)/,
    );
  });

  it("runInner's inline case sets the restart point exactly when its function is not execReg", () => {
    const noRestart = edited(cpuFile, /(case 23 satisfies typeof D_CALL: \{)\n\s*this\.start = eip;/, '$1');
    expect(() => formPlan(noRestart)).toThrow(
      /runInner's case of D_CALL does not set the restart point, its code calls for execStack/,
    );
    const restart = edited(cpuFile, /(case 42 satisfies typeof D_ALU_JCC: \{)/, '$1\nthis.start = eip;');
    expect(() => formPlan(restart)).toThrow(
      // D_JCC shares the fused pair's case: the first of the two named.
      /runInner's case of D_(ALU_)?JCC sets the restart point, its code calls for execReg/,
    );
    expect(cpu).toContain('case 42 satisfies typeof D_ALU_JCC');
  });
});
