/**
 * The frame of a block function, for the block compiler's code generator (block-gen.ts, whose
 * Gen writes each instruction's template on it): the function's state as it is generated (the
 * lazy flags pending in its locals, the restart points of the instructions that may fault, the
 * EIPs for the trace), the source around the instructions (locals, the loop, the catch), the
 * block's exits and their bookkeeping, the TLB-hit loads and stores and the 32-bit stack inline,
 * the segment checks, and conditions and ALU operations on the flag locals. What a block is,
 * when it runs and how it stays exact: blocks.ts's header.
 */
import { D_ALU_JCC, D_JCC, D_JMP } from './decoded';
import { MOVE_FORMS, moveSetsSpFirst, moveTransfers } from './move-ops';
import { AT_ENTRY, C, CAPTURED, GEN_CHECK } from './block-host';
import { ALU_OPS, LAZY_KINDS, lazyCondition } from './alu-ops';
import * as decoded from './decoded';

/** Names of the decoded.ts constants with a prefix, by value (for the template marks). */
export function namesOf(prefix: string): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [name, v] of Object.entries(decoded)) if (name.startsWith(prefix) && typeof v === 'number') out[v] = name;
  return out;
}
const LZ_NAMES = namesOf('LZ_');

/**
 * Where a block ends: at every transfer of control. (Going on past a not-taken Jcc, leaving
 * through a side exit when taken, made longer blocks but measured slower: 90 against 115 MIPS
 * in the checksum phase of bench:cpu, whose loops then start in the middle of a block.)
 */
export const ENDS = new Set(MOVE_FORMS.filter(moveTransfers).map((f) => f.handler)); // near JMP, CALL, RET

/** The forms that move ESP before an access that may fault (LEAVE). */
const SETS_SP_FIRST = new Set(MOVE_FORMS.filter(moveSetsSpFirst).map((f) => f.handler));

/** One decoded instruction of a block, as compileBlock collected it. */
export interface Insn {
  w0: number;
  w1: number;
  disp: number;
  imm: number;
  eip: number;
  next: number;
  /** Instructions retired in this pass before this one. */
  n: number;
}

/**
 * ALU operations the compiler inlines with lazy flags, from their one definition (alu-ops.ts;
 * ADC and SBB, whose flags are set at once: Gen's carry() in block-gen.ts): the expression on the
 * flag locals, the lazy kind.
 */
export const ALU: Record<number, [string, number]> = {};
/** The same on a memory operand in `a` and the other operand in `b` (result in v). */
export const ALU_MEM: Record<number, string> = {};
ALU_OPS.forEach((o, op) => {
  if (o.result === null) return;
  ALU[op] = [o.result('fa', 'fb'), o.lazy];
  ALU_MEM[op] = o.result('a', 'b');
});
/** Passes of a loop block's first two calls (GenBase.source). */
const FIRST_PASSES = 16;
/** Gen.pend of a loop's pass after the first: the flags are in the locals when pk ≠ 0 (their kind). */
export const DYN = -1;

/** The frame of one block function (Gen, in block-gen.ts, writes its instructions). */
export abstract class GenBase {
  /** Constant arrays the function reads (the decoded words of its generic forms). */
  readonly consts: Int32Array[] = [];
  /** The EIP of each instruction of one pass, for the trace ring. */
  readonly eips: number[] = [];
  /**
   * The templates this block was made of (see mark()), each also written into its source as a
   * comment `/*t:NAME*\/`: tests/cpu/block-templates.test.ts compiles every one of them.
   */
  readonly templates = new Set<string>();
  protected out: string[] = [];
  /** The lazy-flags kind whose operands are in the locals fa/fb/fr (0: the CPU's own state). */
  protected pend = 0;
  /** Whether the CPU's lazy state already equals the locals. */
  protected flushed = true;
  /** The `n` of the LEAVE instructions (ESP changes before their load). */
  protected leaves: number[] = [];
  /** What the flag locals hold at each exit through the epilogue: a lazy kind, 0 (nothing to write) or DYN (pk says). */
  private exitKinds: number[] = [];
  /** Per faultable instruction (by `n`): the flush its catch needs, if any. */
  protected catchFlush: string[] = [];
  /**
   * The loop edge: the number of instructions of a pass that ends with a direct branch back to the
   * block's first instruction (the first such exit; the code then loops in place), or -1.
   */
  protected readonly loopAt: number = -1;

  constructor(
    protected readonly insns: Insn[],
    protected readonly total: number,
    protected readonly start: number,
  ) {
    for (const i of insns) {
      this.eips.push(i.eip);
      if ((i.w0 & 0x3f) === D_ALU_JCC) this.eips.push((i.eip + ((i.w0 >>> 27) & 15)) | 0);
    }
    for (const i of insns) {
      const h = i.w0 & 0x3f;
      const last = i === insns[insns.length - 1];
      let to = NaN;
      if (h === D_JCC || (h === D_JMP && last)) to = (i.next + i.imm) | 0;
      else if (h === D_ALU_JCC) to = (i.next + i.disp) | 0;
      if (to === start) {
        this.loopAt = i.n + (h === D_ALU_JCC ? 2 : 1);
        break;
      }
      if (last && h !== D_JMP && !ENDS.has(h) && i.next === start) this.loopAt = total;
    }
  }

  source(): string {
    const body: string[] = [];
    this.out = body;
    if (this.loopAt >= 0) {
      this.pend = DYN;
      this.flushed = false;
    }
    for (const i of this.insns) this.insn(i);
    // The exits share one epilogue (see exit()): what each leaves pending decides its form.
    const kinds = new Set(this.exitKinds);
    const one = kinds.size === 1 ? [...kinds][0] : null;
    const tail = this.out.map((s) =>
      s.replace(/@PK(-?\d+)@/g, (_, kind: string) => (one !== null ? '' : kind === `${DYN}` ? '' : `pk = ${kind}; `)),
    );
    let epilogue = '';
    if (this.exitKinds.length > 0) {
      const flush =
        one === null || one === DYN
          ? `if (pk !== 0) { ${C.lz} = pk; ${C.lzSize} = 4; lzv[0] = fa; lzv[1] = fb; lzv[2] = fr; }`
          : one === 0
            ? ''
            : `${C.lz} = ${one}; ${C.lzSize} = 4; lzv[0] = fa; lzv[1] = fb; lzv[2] = fr;`;
      epilogue = `${flush} ${this.settle(this.total)} return t;`;
    }
    const catches = this.catchFlush
      .map((f, n) => (f ? `case ${n}: ${f} break;` : ''))
      .filter((s) => s)
      .join(' ');
    if (catches) this.templates.add('catch/flush');
    // Only what the code uses is read (short blocks run often).
    const restart = `    ${C.start} = EIPS[k]; ${C.startEsp} = ${this.leaves.length ? `${this.leaves.map((n) => `k === ${n}`).join(' || ')} ? sp0 : ` : ''}r[4];`;
    const text = tail.join('\n') + epilogue + catches + restart;
    const uses = (name: string) =>
      new RegExp(`\\b${name}\\b`).test(text) ||
      (name === 'mmu' && /\b(g0|TF|TM)\b/.test(text)) ||
      (name === 'g0' && text.includes(GEN_CHECK)) ||
      ((name === 'SL' || name === 'SA') && /\bF[0-5]\b/.test(text));
    return [
      ...CAPTURED.filter(([name]) => uses(name)).map(([, decl]) => decl),
      this.loopAt >= 0 ? 'let calls = 0;' : '',
      'return function block(c, end) {',
      ...AT_ENTRY.filter(([name]) => uses(name)).map(([, decl]) => `  ${decl}`),
      '  let fa = 0, fb = 0, fr = 0, v = 0, o = 0, t = 0, a = 0, b = 0, k = 0, lp = 0, fl = 0, mo = 0, pv = 0, ic = 0, it = 0, pk = 0, sp0 = 0, sl = 0;',
      // A loop's first two calls stop after a few passes (at a pass's end, as the budget stops
      // it), so that V8 has run its entry and its epilogue, with their type feedback recorded,
      // before it compiles the loop: code first run in the optimised loop, at the loop's first
      // end, had none and deoptimised it.
      this.loopAt >= 0
        ? `  if (calls < 2) { calls++; t = ${C.instructions} + ${FIRST_PASSES * this.total}; if (t < end) end = t; }`
        : '',
      `  ${C.bBreak} = 0;`,
      '  try {',
      // The epilogue sits inside a loop's `for`: a deoptimisation there, in code compiled on
      // stack replacement (OSR) for the loop, then discards that code; after the loop, V8 keeps
      // it and enters it again at every call, each time leaving it there again.
      this.loopAt >= 0 ? '    for (;;) {' : '',
      '    X: {',
      ...tail.map((s) => '      ' + s),
      '    }',
      epilogue ? `    ${epilogue}` : '',
      this.loopAt >= 0 ? '    }' : '',
      '  } catch (e) {',
      `    ${restart}`,
      catches ? `    /*t:catch/flush*/ switch (k) { ${catches} }` : '',
      `    ${this.settle('k')}`,
      `    ${C.traceBlock}(ID, k + 1);`,
      '    throw e;',
      '  }',
      '};',
    ].join('\n');
  }

  protected emit(s: string): void {
    this.out.push(s);
  }

  /**
   * Names the template whose code follows: a handler (D_*), a generic form inlined (G_*, its
   * operand size and kind), a condition or CF taken from the flag locals or from the CPU, a path
   * (the loop edge, a fault's flush, the exit after a memory access).
   */
  protected mark(name: string): void {
    this.templates.add(name);
    this.emit(`/*t:${name}*/`);
  }

  /** The code that writes the pending lazy flags into the CPU (empty when nothing is pending). */
  protected flushCode(): string {
    if (this.pend === 0 || this.flushed) return '';
    if (this.pend === DYN)
      return `if (pk !== 0) { ${C.lz} = pk; ${C.lzSize} = 4; lzv[0] = fa; lzv[1] = fb; lzv[2] = fr; }`;
    return `${C.lz} = ${this.pend}; ${C.lzSize} = 4; lzv[0] = fa; lzv[1] = fb; lzv[2] = fr;`;
  }
  protected flush(): void {
    const f = this.flushCode();
    if (f) this.emit(f);
    this.flushed = true;
  }
  /** Flags set by an inlined operation whose operands and result are now in fa/fb/fr. */
  protected setPending(kind: number): void {
    this.pend = kind;
    this.flushed = false;
  }
  /**
   * A helper of the CPU sets all six arithmetic flags (Cpu.setArith: lz = 0) without reading them:
   * what is pending is dead, no flush.
   */
  protected replacesFlags(): void {
    this.pend = 0;
    this.flushed = true;
  }
  /** A helper of the CPU sets the flags itself (after a flush). */
  protected cpuFlags(): void {
    this.flush();
    this.pend = 0;
    this.flushed = true;
  }

  /** The start of an instruction that may fault: where run() restarts it, and the catch's flush. */
  protected faultable(i: Insn): void {
    // `start` and `startEsp` are written by the catch: EIPS[k], and ESP, which no instruction here
    // changes before it can fault — except LEAVE (move-ops.ts, moveSetsSpFirst), whose ESP is kept in sp0.
    this.emit(`k = ${i.n};`);
    if (SETS_SP_FIRST.has(i.w0 & 0x3f)) {
      this.emit('sp0 = r[4];');
      this.leaves.push(i.n);
    }
    this.catchFlush[i.n] = this.pend !== 0 && !this.flushed ? this.flushCode() : '';
  }

  /**
   * Leaves the block for EIP `t` (set before) after `m` instructions of this pass: flags, count,
   * the pass's EIPs into the trace ring; back to the top when `t` may be the first instruction,
   * nothing asks to stop and one more whole pass fits the budget.
   */
  protected exit(m: number, mayLoop: boolean): string {
    // The record of a whole pass in the trace's block ring (state.ts) is runInner's (Block.trace),
    // written when the block returns with bBreak 0. compileBlock ends a block at its branch, so
    // m is the whole pass; an exit before (a generator fed by hand) writes its own, as the exits
    // after a bBreak do, and says so with bBreak.
    let loop = '';
    if (mayLoop && m === this.loopAt) {
      // The loop edge: the passes are counted in locals (ic, it), settled at the final exit, and
      // the flags stay in the locals too (pk: their kind; the next pass starts in state DYN).
      const pk = this.flushed || this.pend === 0 ? 'pk = 0; ' : this.pend === DYN ? '' : `pk = ${this.pend}; `;
      this.mark('loop');
      loop = `if (${C.bBreak} === 0 && ${C.instructions} + ic + ${m + this.total} <= end) { ${pk}ic += ${m}; it++; continue; } `;
    }
    if (m !== this.total) {
      return `${loop}${this.flushCode()} ${this.settle(m)} ${C.traceBlock}(ID, ${m}); ${C.bBreak} = 1; return t;`;
    }
    // The exits of a whole pass leave through one epilogue after the block's body (source()):
    // code that V8 has run once a block has left once. Each exit's own flush and settlement was
    // code first run when that exit was first taken — a loop's, when the loop first ended —
    // by then often in the optimised function, which has no type feedback for it and
    // deoptimised (bench:cpu: some twenty block functions a run, each optimised again).
    const kind = this.flushed || this.pend === 0 ? 0 : this.pend; // DYN: pk says
    this.exitKinds.push(kind);
    return `${loop}@PK${kind}@break X;`;
  }
  /** Adds the retired instructions to the count, and the loop's passes to the trace ring. */
  protected settle(m: string | number): string {
    if (this.loopAt < 0) return `${C.instructions} += ${m};`;
    return `${C.instructions} += ic + ${m}; if (it !== 0) ${C.traceLoop}(ID, ${this.loopAt}, it);`;
  }

  /** After an instruction that touched memory: leave at the next instruction if bBreak. */
  protected breakCheck(i: Insn): void {
    this.mark('break');
    const retired = i.n + 1;
    this.emit(
      `if (sl !== 0) { sl = 0; if (${C.bBreak} !== 0) { ${this.flushCode()} ${this.settle(retired)} ${C.traceBlock}(ID, ${retired}); return ${i.next}; } }`,
    );
  }

  /** The linear-address-independent offset of a memory operand (w1: base | index << 4 | scale << 8). */
  protected offset(w1: number, disp: number): string {
    let e = `${disp}`;
    const base = w1 & 15;
    const index = (w1 >> 4) & 15;
    if (base < 8) e += ` + r[${base}]`;
    if (index < 8) e += ` + (r[${index}] << ${(w1 >> 8) & 3})`;
    return `(${e}) | 0`;
  }
  /** o = offset, t = linear address, with the segment checks of a `size`-byte access. */
  protected address(i: Insn, size: number, write: boolean): void {
    const s = (i.w1 >> 10) & 7;
    this.emit(`o = ${this.offset(i.w1, i.disp)}; t = (SB[${s}] + o) | 0;`);
    this.segCheck(s, size, write);
  }
  /**
   * `dst` = the dword at linear address t: the TLB hit inline (Mmu.translate's fast path, within
   * the page), Cpu.readLin32 for the rest (a miss, a page-crossing dword, a device).
   */
  protected read32(dst: string): void {
    this.emit(
      `lp = t >>> 12; fl = TF[lp]; if ((fl & NR) === NR && (t & 0xfff) <= 0xffc) { mo = TM[lp] + (t & 0xfff); ${dst} = (mo & 3) === 0 ? M32[mo >> 2] : U8[mo] | (U8[mo + 1] << 8) | (U8[mo + 2] << 16) | (U8[mo + 3] << 24); } else { sl = 1; ${dst} = ${C.readLin32}(t); }`,
    );
  }
  /** The dword `val` (a local or a constant) to linear address t, as Cpu.writeLin32 (codeWritten included). */
  protected write32(val: string): void {
    this.emit(
      `lp = t >>> 12; fl = TF[lp]; if ((fl & NW) === NW && (t & 0xfff) <= 0xffc) { mo = TM[lp] + (t & 0xfff); if ((mo & 3) === 0) M32[mo >> 2] = ${val}; else { U8[mo] = ${val}; U8[mo + 1] = ${val} >>> 8; U8[mo + 2] = ${val} >>> 16; U8[mo + 3] = ${val} >>> 24; } if ((CL[mo >>> 7] | CL[(mo + 3) >>> 7]) !== 0) { sl = 1; ${C.codeWritten}(mo, 4); } } else { sl = 1; ${C.writeLin32}(t, ${val}); ${GEN_CHECK} }`,
    );
  }
  /** `dst` = the byte at linear address t (Cpu.readLin8; the TLB hit inline). */
  protected read8(dst: string): void {
    this.emit(
      `lp = t >>> 12; fl = TF[lp]; if ((fl & NR) === NR) ${dst} = U8[TM[lp] + (t & 0xfff)]; else { sl = 1; ${dst} = ${C.readLin8}(t); }`,
    );
  }
  /** `dst` = the word at linear address t (Cpu.readLin16; the TLB hit within the page inline). */
  protected read16(dst: string): void {
    this.emit(
      `lp = t >>> 12; fl = TF[lp]; if ((fl & NR) === NR && (t & 0xfff) !== 0xfff) { mo = TM[lp] + (t & 0xfff); ${dst} = U8[mo] | (U8[mo + 1] << 8); } else { sl = 1; ${dst} = ${C.readLin16}(t); }`,
    );
  }
  /** The byte `val` to linear address t, as Cpu.writeLin8. */
  protected write8(val: string): void {
    this.emit(
      `lp = t >>> 12; fl = TF[lp]; if ((fl & NW) === NW) { mo = TM[lp] + (t & 0xfff); U8[mo] = ${val}; if (CL[mo >>> 7] !== 0) { sl = 1; ${C.codeWritten}(mo, 1); } } else { sl = 1; ${C.writeLin8}(t, ${val}); ${GEN_CHECK} }`,
    );
  }
  /** The word `val` to linear address t, as Cpu.writeLin16. */
  protected write16(val: string): void {
    this.emit(
      `lp = t >>> 12; fl = TF[lp]; if ((fl & NW) === NW && (t & 0xfff) !== 0xfff) { mo = TM[lp] + (t & 0xfff); U8[mo] = ${val}; U8[mo + 1] = ${val} >>> 8; if ((CL[mo >>> 7] | CL[(mo + 1) >>> 7]) !== 0) { sl = 1; ${C.codeWritten}(mo, 2); } } else { sl = 1; ${C.writeLin16}(t, ${val}); ${GEN_CHECK} }`,
    );
  }
  /** PUSH of a dword (Cpu.push32; inline for a 32-bit stack). */
  protected push(val: string): void {
    this.emit(`pv = ${val}; if (ss32) { o = (r[4] - 4) | 0; t = (SB[2] + o) | 0;`);
    this.write32('pv');
    this.emit(`r[4] = o; } else { sl = 1; ${C.push32}(pv); ${GEN_CHECK} }`);
  }
  /** POP of a dword into `dst` (Cpu.pop32). */
  protected pop(dst: string): void {
    this.emit('if (ss32) { t = (SB[2] + r[4]) | 0;');
    this.read32(dst);
    this.emit(`r[4] = (r[4] + 4) | 0; } else { sl = 1; ${dst} = ${C.pop32}(); }`);
  }
  /** Cpu.checkSeg unless the segment is flat (F0–F5: a flat 4 GiB writable data segment, read at entry). */
  protected segCheck(s: number, size: number, write: boolean): void {
    this.emit(`if (!F${s}) { ${C.eaSeg} = ${s}; ${C.eaOff} = o; ${C.checkSeg}(${s}, o, ${size}, ${write}); }`);
  }

  /** A condition as an expression, from the pending flags when they say it, else Cpu.cond. */
  protected cond(cc: number): string {
    let e: string | null = null;
    const c = cc >> 1;
    const kind = LAZY_KINDS[this.pend];
    if (kind !== undefined && (kind.blockConds === null || kind.blockConds.includes(c)))
      e = lazyCondition(kind, c, 'fa', 'fb', 'fr');
    if (e === null) {
      this.mark('cond/cpu');
      this.flush();
      return `${C.cond}(${cc})`; // Cpu.cond negates the odd conditions itself
    }
    this.mark(`cond/${LZ_NAMES[this.pend]}/${c}`);
    return cc & 1 ? `!(${e})` : `(${e})`;
  }

  /** CF (0 or 1) before an INC/DEC folds it into fl, or null when it is already there. */
  protected cfExpr(): string | null {
    this.mark(`cf/${this.pend > 0 ? LZ_NAMES[this.pend] : this.pend === 0 ? 'cpu' : 'loop'}`);
    if (this.pend === DYN) this.flush();
    if (this.pend === DYN || this.pend === 0) return `${C.cfBit}()`;
    const cf = LAZY_KINDS[this.pend].cf;
    return cf === null ? null : `(${cf('fa', 'fb', 'fr')} ? 1 : 0)`; // null: INC, DEC (CF is in fl already)
  }

  /**
   * One of the eight ALU operations on `a` and `b` (expressions that do not read the flag
   * locals); returns the local holding the result. The flag locals are written only here, after
   * any flush the operation needs.
   */
  protected alu(op: number, a: string, b: string): string {
    const f = ALU[op];
    if (f) {
      this.emit(`fa = ${a}; fb = ${b}; fr = ${f[0]};`);
      this.setPending(f[1]);
      return 'fr';
    }
    this.cpuFlags();
    this.emit(`v = ${C.alu32}(${op}, ${a}, ${b});`);
    return 'v';
  }

  /** The decoded words of an instruction as a constant array (for the CPU's generic helpers). */
  protected constant(i: Insn): number {
    this.consts.push(Int32Array.of(i.w0, i.w1, i.disp, i.imm));
    return this.consts.length - 1;
  }

  /** The code of one instruction (Gen); the last one leaves the next EIP in `t` and flushes the flags. */
  protected abstract insn(i: Insn): void;
}
