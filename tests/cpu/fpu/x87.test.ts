/**
 * The x87's state and instruction-level behaviour, by hand: the register stack and its faults,
 * exception responses masked and unmasked, FXAM, compares into EFLAGS, and the stack-management
 * instructions (SDM vol. 1, chapter 8; vol. 2, each instruction).
 */
import { describe, expect, it } from 'vitest';
import { INDEFINITE, f80, f80ToHex, infinity, zero, type F80 } from '../../../src/machine/cpu/fpu/f80';
import {
  ArithOp,
  CW_INIT,
  EFLAGS_CF,
  EFLAGS_PF,
  EFLAGS_ZF,
  SW_B,
  SW_C0,
  SW_C1,
  SW_C2,
  SW_C3,
  SW_ES,
  SW_SF,
  Tag,
  X87,
} from '../../../src/machine/cpu/fpu/x87';

const one = f80(0, 0x3fff, 1n << 63n);
const two = f80(0, 0x4000, 1n << 63n);
const three = f80(0, 0x4000, 3n << 62n);
const IE = 1,
  DE = 2,
  ZE = 4,
  OE = 8,
  UE = 0x10,
  PE = 0x20;
const hex = (x: F80): string => f80ToHex(x);

function fpu(cw = CW_INIT): X87 {
  const x = new X87();
  x.init();
  x.loadControlWord(cw);
  return x;
}

describe('FNINIT', () => {
  it('leaves CW 037F, SW 0, every register empty (tag word FFFF) and TOP 0', () => {
    const x = fpu();
    x.loadExtended(one);
    x.init();
    expect([x.cw, x.statusWord, x.tagWord, x.top]).toEqual([0x037f, 0, 0xffff, 0]);
  });
});

describe('FLDCW', () => {
  it('keeps bits 0–12 but reads bit 6 as 1 (0000 → 0040, FFFF → 1F7F, as the host)', () => {
    const x = fpu(0);
    expect(x.cw).toBe(0x0040);
    x.loadControlWord(0xffff);
    expect(x.cw).toBe(0x1f7f);
  });
});

describe('the register stack', () => {
  it('pushes downwards from TOP and tags registers by content', () => {
    const x = fpu();
    x.loadExtended(zero(0));
    x.loadExtended(one);
    x.loadExtended(infinity(0));
    expect(x.top).toBe(5);
    expect((x.statusWord >> 11) & 7).toBe(5);
    expect(x.tagOf(5)).toBe(Tag.Special);
    expect(x.tagOf(6)).toBe(Tag.Valid);
    expect(x.tagOf(7)).toBe(Tag.Zero);
    // R7 zero (01), R6 valid (00), R5 special (10), R0–R4 empty (11).
    expect(x.tagWord).toBe(0b01_00_10_11_11_11_11_11);
  });

  it('a ninth push is a stack overflow: IE, SF, C1 = 1; masked, ST0 becomes the indefinite', () => {
    const x = fpu();
    for (let i = 0; i < 8; i++) x.loadExtended(one);
    x.loadExtended(two);
    expect(x.statusWord & (IE | SW_SF | SW_C1)).toBe(IE | SW_SF | SW_C1);
    expect(hex(x.st(0))).toBe(hex(INDEFINITE));
    expect(x.exceptionPending).toBe(false);
  });

  it('unmasked, a stack overflow changes nothing but the status word, and makes #MF pending once', () => {
    const x = fpu(CW_INIT & ~IE);
    let pending = 0;
    x.onPending = () => pending++;
    for (let i = 0; i < 8; i++) x.loadExtended(one);
    x.loadExtended(two);
    expect(x.top).toBe(0);
    expect(hex(x.st(0))).toBe(hex(one));
    expect(x.statusWord & (IE | SW_SF | SW_C1 | SW_ES | SW_B)).toBe(IE | SW_SF | SW_C1 | SW_ES | SW_B);
    expect(x.exceptionPending).toBe(true);
    x.loadExtended(two);
    expect(pending).toBe(1);
    x.clearExceptions();
    expect(x.exceptionPending).toBe(false);
    expect(x.statusWord & (0x3f | SW_SF | SW_ES | SW_B)).toBe(0);
  });

  it('an operand from an empty register is a stack underflow: IE, SF, C1 = 0', () => {
    const x = fpu();
    x.loadExtended(one);
    x.arith(ArithOp.Add, 0, { st: 1 });
    expect(x.statusWord & (IE | SW_SF | SW_C1)).toBe(IE | SW_SF);
    expect(hex(x.st(0))).toBe(hex(INDEFINITE));
  });

  it('FSTP m32 from an empty stack stores the single indefinite when masked, nothing when unmasked', () => {
    expect(fpu().storeSingle(true)).toBe(0xffc00000);
    const x = fpu(CW_INIT & ~IE);
    expect(x.storeSingle(true)).toBeNull();
    expect(x.top).toBe(0);
  });

  it('FXCH swaps; FFREE empties without moving TOP; FINCSTP/FDECSTP move TOP only', () => {
    const x = fpu();
    x.loadExtended(two);
    x.loadExtended(one);
    x.fxch(1);
    expect([hex(x.st(0)), hex(x.st(1))]).toEqual([hex(two), hex(one)]);
    x.ffree(1);
    expect(x.isEmpty(1)).toBe(true);
    expect(x.top).toBe(6);
    x.fincstp();
    expect(x.top).toBe(7);
    expect(x.isEmpty(0)).toBe(true);
    x.fdecstp();
    expect(hex(x.st(0))).toBe(hex(two));
  });

  it('FCMOVcc copies ST(i) to ST0 only when the condition holds', () => {
    const x = fpu();
    x.loadExtended(two);
    x.loadExtended(one);
    x.fcmov(1, false);
    expect(hex(x.st(0))).toBe(hex(one));
    x.fcmov(1, true);
    expect(hex(x.st(0))).toBe(hex(two));
  });
});

describe('exception responses', () => {
  it('masked zero divide: ±∞ and ZE; unmasked: the destination is kept and ES/B are set', () => {
    const m = fpu();
    m.loadExtended(zero(1));
    m.loadExtended(one);
    m.arith(ArithOp.Div, 0, { st: 1 });
    expect(hex(m.st(0))).toBe(hex(infinity(1)));
    expect(m.statusWord & 0xff).toBe(ZE);
    const u = fpu(CW_INIT & ~ZE);
    u.loadExtended(zero(1));
    u.loadExtended(one);
    u.arith(ArithOp.Div, 0, { st: 1 });
    expect(hex(u.st(0))).toBe(hex(one));
    expect(u.statusWord & (0xff | SW_B)).toBe(ZE | SW_ES | SW_B);
  });

  it('masked invalid (∞ − ∞) gives the real indefinite', () => {
    const x = fpu();
    x.loadExtended(infinity(0));
    x.loadExtended(infinity(0));
    x.arith(ArithOp.Sub, 0, { st: 1 });
    expect(hex(x.st(0))).toBe('ffffc000000000000000');
    expect(x.statusWord & 0x3f).toBe(IE);
  });

  it('unmasked overflow to a register delivers the result with its exponent biased down by 24576', () => {
    const big = f80(0, 0x7ffe, 1n << 63n);
    const x = fpu(CW_INIT & ~OE);
    x.loadExtended(big);
    x.loadExtended(big);
    x.arith(ArithOp.Mul, 0, { st: 1 });
    // 2^16383 × 2^16383 = 2^32766: exponent field 32766 + 16383 − 24576.
    expect(hex(x.st(0))).toBe(hex(f80(0, 32766 + 16383 - 24576, 1n << 63n)));
    expect(x.statusWord & (0x3f | SW_ES)).toBe(OE | SW_ES);
  });

  it('masked overflow: ∞ in round-to-nearest, the largest finite value in round-toward-zero', () => {
    const big = f80(0, 0x7ffe, 1n << 63n);
    const x = fpu();
    x.loadExtended(big);
    x.loadExtended(big);
    x.arith(ArithOp.Mul, 0, { st: 1 });
    expect(hex(x.st(0))).toBe(hex(infinity(0)));
    expect(x.statusWord & (0x3f | SW_C1)).toBe(OE | PE | SW_C1);
    const z = fpu(CW_INIT | 0xc00);
    z.loadExtended(big);
    z.loadExtended(big);
    z.arith(ArithOp.Mul, 0, { st: 1 });
    expect(hex(z.st(0))).toBe('7ffeffffffffffffffff');
  });

  it('unmasked underflow to a register: the exponent biased up by 24576, UE even when exact', () => {
    const tiny = f80(0, 1, 1n << 63n);
    const x = fpu(CW_INIT & ~UE);
    x.loadExtended(f80(0, 0x3ffe, 1n << 63n));
    x.loadExtended(tiny);
    x.arith(ArithOp.Mul, 0, { st: 1 });
    expect(hex(x.st(0))).toBe(hex(f80(0, 24576, 1n << 63n)));
    expect(x.statusWord & 0x3f).toBe(UE);
  });

  it('unmasked underflow to memory stores nothing, keeps the stack, and reports UE alone', () => {
    const x = fpu(CW_INIT & ~UE);
    x.loadExtended(f80(0, 0x3fff - 140, (1n << 63n) | 1n));
    expect(x.storeSingle(true)).toBeNull();
    expect(x.top).toBe(7);
    expect(x.statusWord & 0x3f).toBe(UE);
  });

  it('a denormal operand raises DE; unmasked, the operation does not happen', () => {
    const den = f80(0, 0, 1n << 40n);
    const m = fpu();
    m.loadExtended(den);
    m.loadExtended(one);
    m.arith(ArithOp.Add, 0, { st: 1 });
    expect(m.statusWord & 0x3f).toBe(DE | PE);
    const u = fpu(CW_INIT & ~DE);
    u.loadExtended(den);
    u.loadExtended(one);
    u.arith(ArithOp.Add, 0, { st: 1 });
    expect(hex(u.st(0))).toBe(hex(one));
    expect(u.statusWord & 0x3f).toBe(DE);
  });

  it('an inexact result sets PE, and C1 when it was rounded up', () => {
    const x = fpu();
    x.loadExtended(three);
    x.loadExtended(two);
    x.arith(ArithOp.Div, 0, { st: 1 }); // 2/3 = 0.AAA…AB: rounded up
    expect(x.statusWord & (0x3f | SW_C1)).toBe(PE | SW_C1);
  });

  it('FLDCW unmasking a flag already set makes the exception pending', () => {
    const x = fpu();
    let pending = 0;
    x.onPending = () => pending++;
    x.loadExtended(zero(0));
    x.loadExtended(one);
    x.arith(ArithOp.Div, 0, { st: 1 });
    expect(x.exceptionPending).toBe(false);
    x.loadControlWord(CW_INIT & ~ZE);
    expect(x.exceptionPending).toBe(true);
    expect(pending).toBe(1);
  });

  it('FIST of a NaN or an out-of-range value stores the integer indefinite when IE is masked', () => {
    const x = fpu();
    x.loadExtended(f80(0, 0x3fff + 20, 1n << 63n));
    expect(x.storeInt(16, false)).toBe(-0x8000n);
    expect(x.statusWord & 0x3f).toBe(IE);
    expect(x.storeInt(32, true)).toBe(1n << 20n);
  });
});

describe('FXAM', () => {
  const cases: [string, F80 | null, number][] = [
    ['unsupported (unnormal)', f80(0, 0x4000, 1n << 62n), 0],
    ['NaN', f80(0, 0x7fff, 3n << 62n), SW_C0],
    ['normal', one, SW_C2],
    ['infinity', infinity(0), SW_C2 | SW_C0],
    ['zero', zero(0), SW_C3],
    ['empty', null, SW_C3 | SW_C0],
    ['denormal', f80(0, 0, 1n), SW_C3 | SW_C2],
    ['pseudo-denormal', f80(0, 0, 1n << 63n), SW_C3 | SW_C2],
  ];
  for (const [name, v, cc] of cases)
    for (const sign of [0, 1])
      it(`classifies ${sign ? 'a negative' : 'a positive'} ${name} as C3 C2 C0 = ${cc >> 8}, C1 = sign`, () => {
        const x = fpu();
        if (v) x.loadExtended(f80(sign, v.exp, v.sig));
        x.fxam();
        const c1 = v && sign ? SW_C1 : 0;
        expect(x.statusWord & (SW_C0 | SW_C1 | SW_C2 | SW_C3)).toBe(cc | c1);
      });
});

describe('compares', () => {
  const rel = (a: F80, b: F80): [number, number] => {
    const x = fpu();
    x.loadExtended(b);
    x.loadExtended(a);
    const eflags = x.fcomi(1, true, false);
    x.fcom({ st: 1 }, true);
    return [x.statusWord & (SW_C0 | SW_C2 | SW_C3), eflags];
  };
  it('ST0 > ST1: all clear; <: C0 and CF; =: C3 and ZF; unordered: all three', () => {
    expect(rel(two, one)).toEqual([0, 0]);
    expect(rel(one, two)).toEqual([SW_C0, EFLAGS_CF]);
    expect(rel(one, one)).toEqual([SW_C3, EFLAGS_ZF]);
    expect(rel(zero(1), zero(0))).toEqual([SW_C3, EFLAGS_ZF]);
    expect(rel(one, f80(0, 0x7fff, 3n << 62n))).toEqual([SW_C0 | SW_C2 | SW_C3, EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF]);
  });
  it('FUCOM accepts a QNaN quietly, FCOM raises IE for it', () => {
    const q = f80(0, 0x7fff, 3n << 62n);
    const u = fpu();
    u.loadExtended(q);
    u.loadExtended(one);
    u.fcom({ st: 1 }, true);
    expect(u.statusWord & IE).toBe(0);
    u.fcom({ st: 1 }, false);
    expect(u.statusWord & IE).toBe(IE);
  });
  it('FCOMPP pops twice', () => {
    const x = fpu();
    x.loadExtended(one);
    x.loadExtended(two);
    x.fcom({ st: 1 }, false, 2);
    expect(x.tagWord).toBe(0xffff);
  });
});

describe('the trigonometric instructions', () => {
  it('leave an argument of 2^63 or more in ST0 and set C2 (the program reduces it, e.g. with FPREM1)', () => {
    const huge = f80(0, 0x3fff + 63, 1n << 63n);
    const x = fpu();
    x.loadExtended(huge);
    x.fsin();
    expect(hex(x.st(0))).toBe(hex(huge));
    expect(x.statusWord & SW_C2).toBe(SW_C2);
    x.fcos();
    expect(x.statusWord & SW_C2).toBe(SW_C2);
  });

  it('clear C2 in range; FPTAN pushes 1.0 over tan(x), FSINCOS pushes cos(x) over sin(x)', () => {
    const x = fpu();
    x.loadExtended(zero(0));
    x.fptan();
    expect([hex(x.st(0)), hex(x.st(1))]).toEqual([hex(one), hex(zero(0))]);
    expect(x.statusWord & SW_C2).toBe(0);
    const y = fpu();
    y.loadExtended(zero(1));
    y.fsincos();
    expect([hex(y.st(0)), hex(y.st(1))]).toEqual([hex(one), hex(zero(1))]);
  });
});
