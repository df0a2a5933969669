/**
 * `npx tsx tools/gen-forms.ts`: writes which function of the decoded cache runs each handler that
 * no table binds (decoder.ts, FORM_FUNCTION, the region `// gen:forms FORM_FUNCTION` … `// end
 * gen:forms`), from what the handler's own code does. A handler's code is its case in execReg,
 * execDecoded or execStack (decoded-exec.ts) or in runInner's switch (cpu.ts); execDecoded's
 * default is D_GENERIC's. Its effects are read off that code:
 *
 * - it **may fault** when it throws (anything but `new …Error`, an emulator bug) or calls, by
 *   name, a function of the CPU's files (src/machine/cpu) or a method of the classes that run an
 *   instruction (Cpu's chain, found by `extends`; Mmu; X87) that may: a fixpoint whose roots are
 *   `throw new CpuFault`/`PageFault`/`SoftInt` and rethrown exceptions. A name defined nowhere
 *   there (a builtin, a device's method) cannot raise a CPU exception; the block compiler's
 *   generator classes are left out (their `cond` or `alu` write source text, and never run in a
 *   handler);
 * - it reads **the memory operand** when it reads the entry's words p + 1 or p + 2 (the base,
 *   index and scale; the displacement) or hands the entry (`d`) to a method;
 * - it **pushes or pops** when it calls `this.push…` or `this.pop…` itself.
 *
 * The function follows (README.md, "The decoded cache's forms by function"): execReg if it cannot
 * fault (no restart point); else execDecoded if it reads the memory operand; else execStack if it
 * pushes or pops; else execDecoded. Every handler (the moves' and the conditional forms' too,
 * whose function move-ops.ts derives from their micro-operations) must have its case in that
 * function, or in runInner's alone, which must then set the restart point exactly when the
 * function is not execReg: otherwise this throws, naming the handler and what its code calls.
 * tests/cpu/dispatch-gen.test.ts fails when the region is not what this gives.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import * as decoded from '../src/machine/cpu/decoded';
import type { FormFunction } from '../src/machine/cpu/decoder';
import { COND_FORMS, MOVE_FORMS, condFunction, moveFunction } from '../src/machine/cpu/move-ops';
import { formatted, spliceRegions } from './gen-moves';

const EXEC_FUNCTIONS: readonly FormFunction[] = ['execReg', 'execDecoded', 'execStack'];

const CPU_DIR = fileURLToPath(new URL('../src/machine/cpu/', import.meta.url));
/** The file holding the region. */
export const FORM_GEN_FILE = join(CPU_DIR, 'decoder.ts');
/** The files holding the handlers' cases: the decoded cache's functions, and runInner. */
export const FORM_CODE_FILES = [join(CPU_DIR, 'decoded-exec.ts'), join(CPU_DIR, 'cpu.ts')];

/** The CPU's source files (src/machine/cpu and below). */
function cpuFiles(dir = CPU_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? cpuFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const parse = (file: string, text: string) => ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);

/** The name a call calls (`this.alu32(…)`, `mmu.translate(…)`, `notOf(…)`), or undefined. */
function calleeName(call: ts.CallExpression): string | undefined {
  const e = call.expression;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  if (ts.isIdentifier(e)) return e.text;
  return undefined;
}

/** Whether a throw is an emulator bug (`throw new Error(…)`) rather than a CPU exception. */
function throwsBug(t: ts.ThrowStatement): boolean {
  const e = t.expression;
  return ts.isNewExpression(e) && ts.isIdentifier(e.expression) && /Error$/.test(e.expression.text);
}

/** What a piece of code does, as far as its function is concerned. */
interface Effects {
  /** The names it calls (`this.x()`, `o.x()`, `x()`). */
  calls: Set<string>;
  /** The names it calls on `this`. */
  thisCalls: Set<string>;
  /** It throws a CPU exception itself (not `new …Error`). */
  throws: boolean;
  /** It reads the entry's memory operand (d[p + 1], d[p + 2]) or hands the entry `d` on. */
  memoryOperand: boolean;
  /** It sets the restart point (`this.start = …`: runInner's inline cases). */
  setsRestart: boolean;
}

function effectsOf(nodes: readonly ts.Node[]): Effects {
  const out: Effects = {
    calls: new Set(),
    thisCalls: new Set(),
    throws: false,
    memoryOperand: false,
    setsRestart: false,
  };
  const visit = (n: ts.Node): void => {
    if (ts.isThrowStatement(n) && !throwsBug(n)) out.throws = true;
    if (ts.isCallExpression(n)) {
      const name = calleeName(n);
      if (name !== undefined) out.calls.add(name);
      if (name !== undefined && ts.isPropertyAccessExpression(n.expression))
        if (n.expression.expression.kind === ts.SyntaxKind.ThisKeyword) out.thisCalls.add(name);
      if (n.arguments.some((a) => ts.isIdentifier(a) && a.text === 'd')) out.memoryOperand = true;
    }
    if (
      ts.isElementAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'd' &&
      /^p \+ [12]$/.test(n.argumentExpression.getText())
    )
      out.memoryOperand = true;
    if (
      ts.isBinaryExpression(n) &&
      n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      n.left.getText() === 'this.start'
    )
      out.setsRestart = true;
    ts.forEachChild(n, visit);
  };
  for (const n of nodes) visit(n);
  return out;
}

/** Beside Cpu's chain, the classes whose methods an instruction runs. */
const RUNNING_CLASSES = ['Mmu', 'X87'];

/**
 * The names of the CPU's methods and functions that may raise a CPU exception: those that throw
 * one, and those that call (by name) one that may.
 */
export function faultingNames(files: ReadonlyMap<string, string>): Set<string> {
  const defs = new Map<string, Effects[]>();
  const classes = new Map<string, { heritage?: string; methods: [string, Effects][] }>();
  for (const [file, text] of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionDeclaration(n) && n.body !== undefined && n.name) {
        const name = n.name.text;
        defs.set(name, [...(defs.get(name) ?? []), effectsOf([n.body])]);
      }
      if (ts.isClassDeclaration(n) && n.name) {
        const methods: [string, Effects][] = [];
        for (const m of n.members)
          if (ts.isMethodDeclaration(m) && m.body !== undefined) methods.push([m.name.getText(), effectsOf([m.body])]);
        const ext = n.heritageClauses?.find((c) => c.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
        classes.set(n.name.text, { heritage: ext?.expression.getText(), methods });
      }
      ts.forEachChild(n, visit);
    };
    visit(parse(file, text));
  }
  // The classes whose code runs an instruction: Cpu's chain, the MMU, the x87.
  const running: string[] = [];
  for (let c: string | undefined = 'Cpu'; c !== undefined; c = classes.get(c)?.heritage) running.push(c);
  running.push(...RUNNING_CLASSES);
  for (const c of running) {
    const cls = classes.get(c);
    if (cls === undefined) throw new Error(`gen:forms: no class ${c}`);
    for (const [name, e] of cls.methods) defs.set(name, [...(defs.get(name) ?? []), e]);
  }
  const faulting = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, effects] of defs) {
      if (faulting.has(name)) continue;
      if (effects.some((e) => e.throws || [...e.calls].some((c) => faulting.has(c)))) {
        faulting.add(name);
        changed = true;
      }
    }
  }
  return faulting;
}

/** The handler numbers of decoded.ts by name (D_*, not the w0 bits or D_STEP). */
export const HANDLERS: ReadonlyMap<string, number> = new Map(
  Object.entries(decoded).filter(
    ([n, v]) =>
      n.startsWith('D_') && typeof v === 'number' && !['D_MAY_FAULT', 'D_STACK', 'D_STEP', 'D_SLOW'].includes(n),
  ) as [string, number][],
);

/** A handler's code: the function holding its case and what the case does. */
interface HandlerCase {
  fn: FormFunction | 'runInner';
  effects: Effects;
}

/** The cases of the dispatch switch (on `w0 & 0x3f`) of each of `fns`' methods in a file's text. */
function casesIn(file: string, text: string, fns: readonly string[]): Map<string, HandlerCase[]> {
  const out = new Map<string, HandlerCase[]>();
  const add = (name: string, c: HandlerCase) => out.set(name, [...(out.get(name) ?? []), c]);
  const visit = (n: ts.Node): void => {
    if (ts.isMethodDeclaration(n) && n.body !== undefined && fns.includes(n.name.getText())) {
      const fn = n.name.getText() as HandlerCase['fn'];
      const sw = findSwitches(n.body).find((s) => s.expression.getText() === 'w0 & 0x3f');
      if (sw === undefined) throw new Error(`gen:forms: ${fn} has no switch on w0 & 0x3f`);
      let pending: string[] = [];
      for (const clause of sw.caseBlock.clauses) {
        if (ts.isDefaultClause(clause)) {
          // execDecoded's default runs the generic forms (D_GENERIC); runInner's dispatches, and
          // execReg's and execStack's throw (an emulator bug): neither is a handler's.
          if (fn !== 'runInner' && !clause.statements.every((s) => ts.isThrowStatement(s) && throwsBug(s)))
            add('D_GENERIC', { fn, effects: effectsOf(clause.statements) });
          continue;
        }
        const label = clause.expression;
        if (!ts.isSatisfiesExpression(label) || !ts.isTypeQueryNode(label.type))
          throw new Error(`gen:forms: ${fn}: a case not labelled N satisfies typeof D_NAME: ${label.getText()}`);
        const name = label.type.exprName.getText();
        if (name === 'D_STEP') continue; // D_SLOW's: step() runs the instruction
        if (HANDLERS.get(name) !== Number(label.expression.getText()))
          throw new Error(`gen:forms: ${fn}: case ${label.getText()} is not ${name}'s number`);
        pending.push(name);
        if (clause.statements.length === 0) continue; // falls through to the next case
        for (const h of pending) add(h, { fn, effects: effectsOf(clause.statements) });
        pending = [];
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(parse(file, text));
  return out;
}

/** The switch statements in a node, outermost first. */
function findSwitches(node: ts.Node): ts.SwitchStatement[] {
  const out: ts.SwitchStatement[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isSwitchStatement(n)) out.push(n);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return out;
}

/** A handler's function and why. */
export interface FormPlanEntry {
  readonly fn: FormFunction;
  readonly why: string;
}

/** The function a handler's effects call for, and why (the calls that decided it). */
function functionOf(effects: Effects[], faulting: ReadonlySet<string>): FormPlanEntry {
  const faults = [...new Set(effects.flatMap((e) => [...e.calls].filter((c) => faulting.has(c))))];
  const throws = effects.some((e) => e.throws);
  if (faults.length === 0 && !throws) return { fn: 'execReg', why: 'cannot fault' };
  const how = `may fault (${[...(throws ? ['throws'] : []), ...faults].join(', ')})`;
  if (effects.some((e) => e.memoryOperand)) return { fn: 'execDecoded', why: `${how}: the memory operand` };
  const stack = [...new Set(effects.flatMap((e) => [...e.thisCalls].filter((c) => /^(push|pop)/.test(c))))];
  if (stack.length > 0) return { fn: 'execStack', why: `${how}: the stack (${stack.join(', ')})` };
  return { fn: 'execDecoded', why: how };
}

/**
 * Every handler's function from its code (`texts`: the CPU's files by path, the code files'
 * texts among them), checked against where its case is; throws on a handler without a case, a
 * case in the wrong function, runInner's inline case setting the restart point where its
 * function does not (or not where it does), or a move whose micro-operations call for another
 * function than its code.
 */
export function formPlan(texts: ReadonlyMap<string, string> = readCpuFiles()): Map<string, FormPlanEntry> {
  const faulting = faultingNames(texts);
  const cases = new Map<string, HandlerCase[]>();
  for (const [file, fns] of [
    [FORM_CODE_FILES[0], EXEC_FUNCTIONS],
    [FORM_CODE_FILES[1], ['runInner']],
  ] as const) {
    const text = texts.get(file);
    if (text === undefined) throw new Error(`gen:forms: no text of ${file}`);
    for (const [h, cs] of casesIn(file, text, fns)) cases.set(h, [...(cases.get(h) ?? []), ...cs]);
  }
  const bound = new Map<number, FormFunction>([
    ...MOVE_FORMS.map((f) => [f.handler, moveFunction(f)] as const),
    ...COND_FORMS.map((f) => [f.handler, condFunction(f)] as const),
  ]);
  const plan = new Map<string, FormPlanEntry>();
  for (const [name, h] of HANDLERS) {
    const cs = cases.get(name) ?? [];
    if (cs.length === 0) throw new Error(`gen:forms: ${name} has no case in ${EXEC_FUNCTIONS.join(', ')} or runInner`);
    const entry = functionOf(
      cs.map((c) => c.effects),
      faulting,
    );
    const holders = [...new Set(cs.map((c) => c.fn).filter((f) => f !== 'runInner'))];
    if (holders.length > 1 || (holders.length === 1 && holders[0] !== entry.fn))
      throw new Error(
        `gen:forms: ${name}'s case is in ${holders.join(' and ')}, its code calls for ${entry.fn} (${entry.why})`,
      );
    for (const c of cs.filter((c) => c.fn === 'runInner'))
      if (c.effects.setsRestart !== (entry.fn !== 'execReg'))
        throw new Error(
          `gen:forms: runInner's case of ${name} ${c.effects.setsRestart ? 'sets' : 'does not set'} the restart point, its code calls for ${entry.fn} (${entry.why})`,
        );
    const b = bound.get(h);
    if (b !== undefined && b !== entry.fn)
      throw new Error(`gen:forms: ${name}: move-ops.ts says ${b}, its code calls for ${entry.fn} (${entry.why})`);
    plan.set(name, entry);
  }
  return plan;
}

/** The CPU's files by path. */
export function readCpuFiles(): Map<string, string> {
  return new Map(cpuFiles().map((f) => [f, readFileSync(f, 'utf8')]));
}

/** The text of the region: the handlers that no table binds, each with its function and why. */
export function formRegion(name: string, plan: ReadonlyMap<string, FormPlanEntry>): string {
  if (name !== 'FORM_FUNCTION') throw new Error(`gen:forms: no region ${name}`);
  const bound = new Set([...MOVE_FORMS, ...COND_FORMS].map((f) => f.handler));
  return [...plan]
    .filter(([n]) => !bound.has(HANDLERS.get(n)!))
    .sort(([a], [b]) => HANDLERS.get(a)! - HANDLERS.get(b)!)
    .map(([n, e]) => `[${n}]: '${e.fn}', // ${e.why}`)
    .join('\n');
}

/** decoder.ts' text with its region as this tool writes it (spliced, then Prettier). */
export async function formsFormatted(
  texts: ReadonlyMap<string, string> = readCpuFiles(),
  file = FORM_GEN_FILE,
): Promise<string> {
  const plan = formPlan(texts);
  const text = texts.get(file);
  if (text === undefined) throw new Error(`gen:forms: no text of ${file}`);
  return formatted(file, text, (t) => spliceRegions(t, 'forms', (n) => formRegion(n, plan)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(FORM_GEN_FILE, await formsFormatted());
  console.log(`wrote ${FORM_GEN_FILE}`);
}
