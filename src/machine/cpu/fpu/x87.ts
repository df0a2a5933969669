/**
 * The x87 FPU's state and instruction-level semantics (SDM vol. 1, chapter 8): eight 80-bit data
 * registers addressed as a stack from TOP, the tag word, the status and control words and the
 * last-instruction pointers. Each method is one instruction (or one family, with its operand
 * already read by the CPU): it checks the stack, computes, records the exceptions in the status
 * word, and stores the result unless an unmasked exception forbids it (4.9.2, 8.5).
 *
 * The CPU decodes D8–DF, reads memory operands, and calls in here; when an unmasked exception is
 * pending (ES = 1) it raises #MF on the next waiting instruction (CR0.NE = 1) or asserts FERR#
 * (CR0.NE = 0) — `onPending` tells it the moment that happens.
 */
import { add, div, mul, sqrt, sub } from './arith';
import { bcdToF80, f80ToBcd } from './bcd';
import { DOUBLE, SINGLE, intToF80, loadConstant, loadReal, narrow, toInt, widen, type ConstantName } from './convert';
import { DE, EXCEPTIONS, IE, INDEFINITE, Kind, OE, PE, UE, ZE, f80, isNaN80, kind, zero, type F80 } from './f80';
import { Relation, compare, fprem, frndint, fscale, fxtract } from './ops';
import { context, type FpContext } from './round';
import { f2xm1, fcos, fpatan, fptan, fsin, fsincos, fyl2x, fyl2xp1, outOfRange } from './transcendental';

// Status word bits (SDM vol. 1, figure 8-4).
export const SW_SF = 0x40;
export const SW_ES = 0x80;
export const SW_C0 = 0x100;
export const SW_C1 = 0x200;
export const SW_C2 = 0x400;
export const SW_C3 = 0x4000;
export const SW_B = 0x8000;
const SW_TOP_SHIFT = 11;
const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

/** The control word after FINIT: all exceptions masked, 64-bit precision, round to nearest. */
export const CW_INIT = 0x037f;

/** Tag values as FSTENV reports them (SDM vol. 1, figure 8-7). */
export const enum Tag {
  Valid = 0,
  Zero = 1,
  Special = 2,
  Empty = 3,
}

/** The arithmetic of D8/DC/DE by their ModR/M reg field. */
export const enum ArithOp {
  Add = 0,
  Mul = 1,
  Sub = 4,
  SubR = 5,
  Div = 6,
  DivR = 7,
}

export type MemoryInt = 16 | 32 | 64;

/** Where a value for an arithmetic or compare instruction comes from. */
export type Operand = { st: number } | { single: number } | { double: bigint } | { int: bigint } | { extended: F80 };

/** The EFLAGS bits FCOMI/FUCOMI write (ZF, PF, CF), as a value the CPU merges in. */
export const EFLAGS_CF = 0x01;
export const EFLAGS_PF = 0x04;
export const EFLAGS_ZF = 0x40;

export class X87 {
  /** The physical registers R0–R7. */
  readonly regs: F80[] = new Array<F80>(8).fill(zero(0));
  /** Bit i set: R(i) is empty (the abridged tag; full tags are computed on FSTENV/FSAVE). */
  emptyMask = 0xff;
  top = 0;
  cw = CW_INIT;
  /** The status word without TOP (bits 11–13 kept zero here). */
  sw = 0;
  fip = 0;
  fcs = 0;
  fdp = 0;
  fds = 0;
  fop = 0;
  /** Called when an unmasked exception becomes pending (ES goes to 1). */
  onPending: (() => void) | null = null;

  private readonly ctx: FpContext = context();

  // ----- state words -----

  get statusWord(): number {
    return (this.sw & ~(7 << SW_TOP_SHIFT)) | (this.top << SW_TOP_SHIFT);
  }

  set statusWord(v: number) {
    this.top = (v >> SW_TOP_SHIFT) & 7;
    this.sw = v & 0xffff & ~(7 << SW_TOP_SHIFT);
  }

  /** An unmasked exception is pending: the next waiting instruction must report it. */
  get exceptionPending(): boolean {
    return (this.sw & SW_ES) !== 0;
  }

  /** The full tag word, computed from the registers' contents (SDM vol. 1, 8.1.7). */
  get tagWord(): number {
    let tw = 0;
    for (let r = 0; r < 8; r++) tw |= this.tagOf(r) << (2 * r);
    return tw;
  }

  /** Load a tag word: only "empty" (11) is kept; other tags are recomputed from contents. */
  set tagWord(tw: number) {
    let mask = 0;
    for (let r = 0; r < 8; r++) if (((tw >> (2 * r)) & 3) === Tag.Empty) mask |= 1 << r;
    this.emptyMask = mask;
  }

  tagOf(r: number): Tag {
    if (this.emptyMask & (1 << r)) return Tag.Empty;
    const k = kind(this.regs[r]);
    if (k === Kind.Zero) return Tag.Zero;
    if (k === Kind.Normal) return Tag.Valid;
    return Tag.Special;
  }

  /**
   * FLDCW. Bits 13–15 are dropped and bit 6 reads as 1, whatever was loaded; bit 12 (the 287's
   * infinity control) is kept (the host's FNSTCW after FLDCW 0 and FFFF: 0040 and 1F7F). Loading a
   * word that unmasks a flag already set makes it pending (ES).
   */
  loadControlWord(cw: number): void {
    this.cw = (cw & 0x1f7f) | 0x40;
    this.updateSummary();
  }

  /** Recompute ES/B from the flags and masks (after FLDENV/FRSTOR). */
  updatePending(): void {
    this.updateSummary();
  }

  private updateSummary(): void {
    const wasPending = this.exceptionPending;
    if (this.sw & ~this.cw & EXCEPTIONS) this.sw |= SW_ES | SW_B;
    else this.sw &= ~(SW_ES | SW_B);
    if (!wasPending && this.exceptionPending) this.onPending?.();
  }

  /** FNINIT (FINIT is FWAIT + FNINIT). The data registers keep their contents. */
  init(): void {
    this.cw = CW_INIT;
    this.sw = 0;
    this.top = 0;
    this.emptyMask = 0xff;
    this.fip = this.fcs = this.fdp = this.fds = this.fop = 0;
  }

  /** FNCLEX: clear the exception flags, SF, ES and B. */
  clearExceptions(): void {
    this.sw &= ~(EXCEPTIONS | SW_SF | SW_ES | SW_B);
  }

  /** The CPU's record of the last non-control instruction (FOP is the low 11 bits of opcode). */
  noteInstruction(fop: number, fcs: number, fip: number, fds = 0, fdp = 0): void {
    this.fop = fop & 0x7ff;
    this.fcs = fcs;
    this.fip = fip;
    this.fds = fds;
    this.fdp = fdp;
  }

  // ----- the register stack -----

  private phys(i: number): number {
    return (this.top + i) & 7;
  }

  isEmpty(i: number): boolean {
    return (this.emptyMask & (1 << this.phys(i))) !== 0;
  }

  st(i: number): F80 {
    return this.regs[this.phys(i)];
  }

  private setSt(i: number, v: F80): void {
    const r = this.phys(i);
    this.regs[r] = v;
    this.emptyMask &= ~(1 << r);
  }

  private pop(): void {
    this.emptyMask |= 1 << this.top;
    this.top = (this.top + 1) & 7;
  }

  private push(v: F80): void {
    this.top = (this.top - 1) & 7;
    this.setSt(0, v);
  }

  /** A fresh context for one instruction, from the control word. */
  private begin(): FpContext {
    const c = this.ctx;
    const pc = (this.cw >> 8) & 3;
    c.precision = pc === 0 ? 24 : pc === 2 ? 53 : 64;
    c.rc = (this.cw >> 10) & 3;
    c.masks = this.cw & EXCEPTIONS;
    c.flags = 0;
    c.roundedUp = false;
    return c;
  }

  /**
   * Record the instruction's exceptions. Returns whether the result may be delivered: not when
   * an unmasked invalid-operation, denormal-operand or zero-divide exception occurred (those are
   * detected before the operation, SDM vol. 1, 4.9.2); unmasked overflow/underflow deliver the
   * bias-adjusted result to a register (the caller suppresses memory stores).
   */
  private finish(c: FpContext, c1 = c.roundedUp, preMask = IE | DE | ZE): boolean {
    let flags = c.flags;
    const unmasked = flags & ~c.masks;
    const pre = unmasked & preMask;
    if (pre) flags &= IE | DE | ZE;
    this.sw = (this.sw & ~SW_C1) | flags | (c1 && !pre ? SW_C1 : 0);
    if (unmasked) this.updateSummary();
    return pre === 0;
  }

  /** Stack underflow or overflow (IE with SF; C1 = 1 for overflow). Returns whether masked. */
  private stackFault(overflow: boolean): boolean {
    this.sw = (this.sw & ~SW_C1) | IE | SW_SF | (overflow ? SW_C1 : 0);
    if (this.cw & IE) return true;
    this.updateSummary();
    return false;
  }

  // ----- loads and stores -----

  /** FLD of an already-converted value (m80, or the result of a conversion below). */
  private pushChecked(v: F80, c: FpContext | null): void {
    if (!this.isEmptyPhys((this.top - 1) & 7)) {
      if (this.stackFault(true)) this.push(INDEFINITE);
      return;
    }
    // An unmasked DE does not stop a load (the value is exact); an unmasked IE (SNaN) does.
    if (c && !this.finish(c, c.roundedUp, IE)) return;
    if (!c) this.sw &= ~SW_C1;
    this.push(v);
  }

  private isEmptyPhys(r: number): boolean {
    return (this.emptyMask & (1 << r)) !== 0;
  }

  /** FLD m80 (no exceptions but stack overflow; the bits are loaded as they are). */
  loadExtended(v: F80): void {
    this.pushChecked(v, null);
  }

  /** FLD m32. */
  loadSingle(bits: number): void {
    const c = this.begin();
    this.pushChecked(loadReal(BigInt(bits >>> 0), SINGLE, c), c);
  }

  /** FLD m64. */
  loadDouble(bits: bigint): void {
    const c = this.begin();
    this.pushChecked(loadReal(bits, DOUBLE, c), c);
  }

  /** FILD m16/m32/m64 (the value already sign-extended). */
  loadInt(v: bigint): void {
    this.pushChecked(intToF80(v), null);
  }

  /** FBLD. */
  loadBcd(bytes: Uint8Array): void {
    this.pushChecked(bcdToF80(bytes), null);
  }

  /** FLD ST(i). */
  loadSt(i: number): void {
    if (this.isEmpty(i)) {
      if (this.stackFault(false)) this.pushChecked(INDEFINITE, null);
      return;
    }
    this.pushChecked(this.st(i), null);
  }

  /** FLD1, FLDZ and the five constants of D9 E9..ED. */
  loadConstant(name: ConstantName | 'one' | 'zero'): void {
    const c = this.begin();
    const v = name === 'one' ? f80(0, 0x3fff, 1n << 63n) : name === 'zero' ? zero(0) : loadConstant(name, c.rc);
    this.pushChecked(v, c);
  }

  /**
   * A store of ST0 to memory through `convert`; returns the value to write, or null when an
   * unmasked exception (or stack underflow) forbids the store. Pops when `pop` and allowed.
   */
  private store<T>(pop: boolean, convert: (x: F80, c: FpContext) => T, indefinite: T): T | null {
    if (this.isEmpty(0)) {
      if (!this.stackFault(false)) return null;
      if (pop) this.pop();
      return indefinite;
    }
    const c = this.begin();
    const v = convert(this.st(0), c);
    const unmasked = c.flags & ~c.masks;
    if (unmasked & (OE | UE)) {
      // Unmasked overflow/underflow to memory: nothing is stored, and only OE/UE is reported.
      c.flags &= ~PE;
      this.finish(c, false);
      return null;
    }
    if (!this.finish(c)) return null;
    if (pop) this.pop();
    return v;
  }

  /** FST/FSTP m32: the bits to store, or null. */
  storeSingle(pop: boolean): number | null {
    const v = this.store(pop, (x, c) => narrow(x, SINGLE, c), 0xffc00000n);
    return v === null ? null : Number(v);
  }

  /** FST/FSTP m64. */
  storeDouble(pop: boolean): bigint | null {
    return this.store(pop, (x, c) => narrow(x, DOUBLE, c), 0xfff8_0000_0000_0000n);
  }

  /** FSTP m80: the register as it is. */
  storeExtended(): F80 | null {
    return this.store(true, (x) => x, INDEFINITE);
  }

  /** FIST/FISTP m16/m32/m64: the integer to store (two's complement value), or null. */
  storeInt(bits: MemoryInt, pop: boolean): bigint | null {
    return this.store(pop, (x, c) => toInt(x, bits, c), -(1n << BigInt(bits - 1)));
  }

  /** FBSTP. */
  storeBcd(): Uint8Array | null {
    const indefinite = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
    return this.store(true, (x, c) => f80ToBcd(x, c), indefinite);
  }

  /** FST/FSTP ST(i). */
  storeSt(i: number, pop: boolean): void {
    if (this.isEmpty(0)) {
      if (!this.stackFault(false)) return;
      this.setSt(i, INDEFINITE);
    } else {
      this.sw &= ~SW_C1;
      this.setSt(i, this.st(0));
    }
    if (pop) this.pop();
  }

  // ----- arithmetic -----

  /**
   * The value of an operand; memory reals are widened here. A single or double denormal becomes
   * a normal 80-bit value, so whether it raises DE is decided by the caller (`memDenormal`): only
   * when the other operand is neither a NaN nor unsupported, as for register denormals.
   */
  private operand(o: Operand, c: FpContext): F80 {
    this.memDenormal = false;
    if ('st' in o) return this.st(o.st);
    if ('single' in o || 'double' in o) {
      const flags = c.flags;
      const v = 'single' in o ? widen(BigInt(o.single >>> 0), SINGLE, c) : widen(o.double, DOUBLE, c);
      this.memDenormal = (c.flags & DE) !== 0;
      c.flags = flags;
      return v;
    }
    if ('int' in o) return intToF80(o.int);
    return o.extended;
  }

  private memDenormal = false;

  /** DE for a denormal memory operand, unless the other operand (a) decided the result first. */
  private memoryDenormal(a: F80, b: F80, c: FpContext): void {
    if (!this.memDenormal) return;
    const ka = kind(a);
    const kb = kind(b);
    if (ka === Kind.Unsupported || isNaN80(ka) || isNaN80(kb)) return;
    c.flags |= DE;
  }

  /**
   * D8/DC/DE arithmetic: ST(dst) ← ST(dst) op operand (op reversed for FSUBR/FDIVR), then pop
   * when `pop` (FADDP etc.). Memory forms have dst = 0; DC/DE register forms have operand ST0.
   */
  arith(op: ArithOp, dst: number, operand: Operand, pop = false): void {
    if (this.isEmpty(dst) || ('st' in operand && this.isEmpty(operand.st))) {
      if (this.stackFault(false)) {
        this.setSt(dst, INDEFINITE);
        if (pop) this.pop();
      }
      return;
    }
    const c = this.begin();
    const a = this.st(dst);
    const b = this.operand(operand, c);
    let r: F80;
    switch (op) {
      case ArithOp.Add:
        r = add(a, b, c);
        break;
      case ArithOp.Mul:
        r = mul(a, b, c);
        break;
      case ArithOp.Sub:
        r = sub(a, b, c);
        break;
      case ArithOp.SubR:
        r = sub(b, a, c);
        break;
      case ArithOp.Div:
        r = div(a, b, c);
        break;
      default:
        r = div(b, a, c);
    }
    this.memoryDenormal(a, b, c);
    if (!this.finish(c)) return;
    this.setSt(dst, r);
    if (pop) this.pop();
  }

  /** One-operand instructions on ST0 that replace it (FSQRT, FRNDINT, FCHS, FABS). */
  private unary(f: (x: F80, c: FpContext) => F80, rounds = true): void {
    if (this.isEmpty(0)) {
      if (this.stackFault(false)) this.setSt(0, INDEFINITE);
      return;
    }
    const c = this.begin();
    const r = f(this.st(0), c);
    if (!this.finish(c, rounds && c.roundedUp)) return;
    this.setSt(0, r);
  }

  fsqrt(): void {
    this.unary(sqrt);
  }

  frndint(): void {
    this.unary(frndint);
  }

  fchs(): void {
    this.unary((x) => f80(x.sign ^ 1, x.exp, x.sig), false);
  }

  fabs(): void {
    this.unary((x) => f80(0, x.exp, x.sig), false);
  }

  /** FSCALE: ST0 ← ST0 × 2^trunc(ST1). */
  fscale(): void {
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (this.stackFault(false)) this.setSt(0, INDEFINITE);
      return;
    }
    const c = this.begin();
    const r = fscale(this.st(0), this.st(1), c);
    if (this.finish(c)) this.setSt(0, r);
  }

  /** FXTRACT: ST0 ← exponent, then push the significand. */
  fxtract(): void {
    if (this.isEmpty(0)) {
      if (this.stackFault(false)) {
        this.setSt(0, INDEFINITE);
        this.pushChecked(INDEFINITE, null);
      }
      return;
    }
    if (!this.isEmptyPhys((this.top - 1) & 7)) {
      if (this.stackFault(true)) {
        this.setSt(0, INDEFINITE);
        this.push(INDEFINITE);
      }
      return;
    }
    const c = this.begin();
    const { exponent, significand } = fxtract(this.st(0), c);
    if (!this.finish(c)) return;
    this.setSt(0, exponent);
    this.push(significand);
  }

  /** FPREM (ieee = false) and FPREM1: C0/C3/C1 = Q2/Q1/Q0, C2 = incomplete. */
  fprem(ieee: boolean): void {
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (this.stackFault(false)) this.setSt(0, INDEFINITE);
      this.sw &= ~(SW_C0 | SW_C2 | SW_C3);
      return;
    }
    const c = this.begin();
    const r = fprem(this.st(0), this.st(1), c, ieee);
    const q = r.quotient;
    if (!this.finish(c, (q & 1) !== 0)) return;
    this.sw =
      (this.sw & ~(SW_C0 | SW_C2 | SW_C3)) | (q & 4 ? SW_C0 : 0) | (q & 2 ? SW_C3 : 0) | (r.incomplete ? SW_C2 : 0);
    this.setSt(0, r.result);
  }

  // ----- transcendentals -----

  /**
   * FSIN/FCOS/FSINCOS/FPTAN share the range check: |ST0| ≥ 2^63 sets C2 and leaves the stack
   * alone (software reduces and retries); otherwise C2 is cleared.
   */
  private trig(f: (x: F80, c: FpContext) => F80, push: ((c: FpContext) => F80) | null): void {
    if (this.isEmpty(0)) {
      if (this.stackFault(false)) {
        this.setSt(0, INDEFINITE);
        if (push) this.pushChecked(INDEFINITE, null);
      }
      this.sw &= ~SW_C2;
      return;
    }
    if (push && !this.isEmptyPhys((this.top - 1) & 7)) {
      if (this.stackFault(true)) {
        this.setSt(0, INDEFINITE);
        this.push(INDEFINITE);
      }
      this.sw &= ~SW_C2;
      return;
    }
    if (outOfRange(this.st(0))) {
      this.sw = (this.sw & ~SW_C1) | SW_C2;
      return;
    }
    this.sw &= ~SW_C2;
    const c = this.begin();
    const r = f(this.st(0), c);
    const second = push ? push(c) : null;
    if (!this.finish(c)) return;
    this.setSt(0, r);
    if (second) this.push(second);
  }

  fsin(): void {
    this.trig(fsin, null);
  }

  fcos(): void {
    this.trig(fcos, null);
  }

  /** FSINCOS: ST0 ← sin, then push cos. */
  fsincos(): void {
    let cos: F80 | null = null;
    this.trig(
      (x, c) => {
        const r = fsincos(x, c);
        cos = r.cos;
        return r.sin;
      },
      () => cos!,
    );
  }

  /** FPTAN: ST0 ← tan, then push 1.0. */
  fptan(): void {
    // A NaN result (an invalid or NaN operand) is pushed in place of 1.0 as well.
    let nan = false;
    let nanResult: F80 | null = null;
    this.trig(
      (x, c) => {
        const r = fptan(x, c);
        nan = isNaN80(kind(r));
        nanResult = r;
        return r;
      },
      () => (nan ? nanResult! : f80(0, 0x3fff, 1n << 63n)),
    );
  }

  /** The two-operand instructions that replace ST1 and pop: FPATAN, FYL2X, FYL2XP1. */
  private binaryPop(f: (y: F80, x: F80, c: FpContext) => F80): void {
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (this.stackFault(false)) {
        this.setSt(1, INDEFINITE);
        this.pop();
      }
      return;
    }
    const c = this.begin();
    const r = f(this.st(1), this.st(0), c);
    if (!this.finish(c)) return;
    this.setSt(1, r);
    this.pop();
  }

  fpatan(): void {
    this.binaryPop(fpatan);
  }

  fyl2x(): void {
    this.binaryPop(fyl2x);
  }

  fyl2xp1(): void {
    this.binaryPop(fyl2xp1);
  }

  f2xm1(): void {
    this.unary(f2xm1);
  }

  // ----- compares -----

  private setCC(rel: Relation): void {
    const cc =
      rel === Relation.Greater
        ? 0
        : rel === Relation.Less
          ? SW_C0
          : rel === Relation.Equal
            ? SW_C3
            : SW_C0 | SW_C2 | SW_C3;
    this.sw = (this.sw & ~SW_CC) | cc;
  }

  /**
   * FCOM/FCOMP/FCOMPP/FICOM (unordered = false) and FUCOM family: C3 C2 C0 from ST0 vs the
   * operand; `pops` is 0, 1 or 2.
   */
  fcom(operand: Operand, unordered: boolean, pops = 0): void {
    if (this.isEmpty(0) || ('st' in operand && this.isEmpty(operand.st))) {
      // Unordered, even when the unmasked fault stops the pops (as on the host).
      const masked = this.stackFault(false);
      this.setCC(Relation.Unordered);
      if (masked) for (let k = 0; k < pops; k++) this.pop();
      return;
    }
    const c = this.begin();
    const a = this.st(0);
    const b = this.operand(operand, c);
    const rel = compare(a, b, c, unordered);
    this.memoryDenormal(a, b, c);
    // The condition codes are written even when an unmasked exception stops the pops.
    const ok = this.finish(c, false);
    this.setCC(rel);
    if (ok) for (let k = 0; k < pops; k++) this.pop();
  }

  /**
   * FCOMI/FCOMIP/FUCOMI/FUCOMIP: returns ZF|PF|CF for the CPU to merge into EFLAGS (it clears
   * OF, SF and AF). The flags are written even when an unmasked exception stops the pop.
   */
  fcomi(i: number, unordered: boolean, pop: boolean): number {
    const UNORDERED = EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF;
    if (this.isEmpty(0) || this.isEmpty(i)) {
      if (this.stackFault(false) && pop) this.pop();
      return UNORDERED;
    }
    const c = this.begin();
    const rel = compare(this.st(0), this.st(i), c, unordered);
    if (this.finish(c, false) && pop) this.pop();
    return rel === Relation.Greater
      ? 0
      : rel === Relation.Less
        ? EFLAGS_CF
        : rel === Relation.Equal
          ? EFLAGS_ZF
          : UNORDERED;
  }

  /** FTST: compare ST0 with +0.0. */
  ftst(): void {
    this.fcom({ extended: zero(0) }, false);
  }

  /** FXAM: the class of ST0 in C3 C2 C0, its sign in C1 (SDM vol. 2, FXAM). */
  fxam(): void {
    const x = this.st(0);
    let cc: number;
    if (this.isEmpty(0)) cc = SW_C3 | SW_C0;
    else {
      const k = kind(x);
      if (k === Kind.Unsupported) cc = 0;
      else if (isNaN80(k)) cc = SW_C0;
      else if (k === Kind.Normal) cc = SW_C2;
      else if (k === Kind.Infinity) cc = SW_C2 | SW_C0;
      else if (k === Kind.Zero) cc = SW_C3;
      else cc = SW_C3 | SW_C2;
    }
    this.sw = (this.sw & ~SW_CC) | cc | (x.sign ? SW_C1 : 0);
  }

  // ----- stack management -----

  /** FXCH ST(i). */
  fxch(i: number): void {
    if (this.isEmpty(0) || this.isEmpty(i)) {
      if (!this.stackFault(false)) return;
      if (this.isEmpty(0)) this.setSt(0, INDEFINITE);
      if (this.isEmpty(i)) this.setSt(i, INDEFINITE);
    } else this.sw &= ~SW_C1;
    const a = this.st(0);
    this.setSt(0, this.st(i));
    this.setSt(i, a);
  }

  /** FFREE ST(i): tag it empty; TOP does not move. */
  ffree(i: number): void {
    this.emptyMask |= 1 << this.phys(i);
  }

  fincstp(): void {
    this.top = (this.top + 1) & 7;
    this.sw &= ~SW_C1;
  }

  fdecstp(): void {
    this.top = (this.top - 1) & 7;
    this.sw &= ~SW_C1;
  }

  /** FCMOVcc ST0, ST(i), the condition already evaluated by the CPU from EFLAGS. */
  fcmov(i: number, condition: boolean): void {
    if (this.isEmpty(0) || this.isEmpty(i)) {
      if (this.stackFault(false)) this.setSt(0, INDEFINITE);
      return;
    }
    this.sw &= ~SW_C1;
    if (condition) this.setSt(0, this.st(i));
  }
}
