/**
 * Running the x87 oracle's vectors (tools/oracle/x87/) on the emulated FPU: the same sequence as
 * the host ran (FNINIT, FLDCW, FLD B, FLD A, the operation), then the state FNSAVE recorded.
 */
import { readFileSync } from 'node:fs';
import { f80FromHex, f80ToHex, writeF80 } from '../../../src/machine/cpu/fpu/f80';
import { ArithOp, X87 } from '../../../src/machine/cpu/fpu/x87';
import type { X87VectorFile } from '../../../tools/oracle/x87/generate';

export function loadGroup(group: string): X87VectorFile {
  return JSON.parse(readFileSync(new URL(`../vectors/x87/${group}.json`, import.meta.url), 'utf8')) as X87VectorFile;
}

const mem = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const le = (m: Uint8Array, n: number): bigint => {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(m[i]);
  return v;
};
const signed = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);
function leBytes(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(10).fill(0xcc);
  let x = BigInt.asUintN(n * 8, v);
  for (let i = 0; i < n; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
const stored = (v: bigint | null, n: number): Uint8Array =>
  v === null ? new Uint8Array(10).fill(0xcc) : leBytes(v, n);

/** Six FLD1: with A and B the stack is full. */
function fill(x: X87): void {
  for (let i = 0; i < 6; i++) x.loadConstant('one');
}

type Run = (x: X87, m: Uint8Array) => Uint8Array | number | void;

/** Each oracle operation as the CPU will call the FPU for it. */
export const RUN: Record<string, Run> = {
  fadd: (x) => x.arith(ArithOp.Add, 0, { st: 1 }),
  fsub: (x) => x.arith(ArithOp.Sub, 0, { st: 1 }),
  fsubr: (x) => x.arith(ArithOp.SubR, 0, { st: 1 }),
  fmul: (x) => x.arith(ArithOp.Mul, 0, { st: 1 }),
  fdiv: (x) => x.arith(ArithOp.Div, 0, { st: 1 }),
  fdivr: (x) => x.arith(ArithOp.DivR, 0, { st: 1 }),
  fadd32: (x, m) => x.arith(ArithOp.Add, 0, { single: Number(le(m, 4)) }),
  fadd64: (x, m) => x.arith(ArithOp.Add, 0, { double: le(m, 8) }),
  fiadd32: (x, m) => x.arith(ArithOp.Add, 0, { int: signed(le(m, 4), 32) }),
  fimul16: (x, m) => x.arith(ArithOp.Mul, 0, { int: signed(le(m, 2), 16) }),
  fdiv32: (x, m) => x.arith(ArithOp.Div, 0, { single: Number(le(m, 4)) }),
  fsubr64: (x, m) => x.arith(ArithOp.SubR, 0, { double: le(m, 8) }),
  fcom32: (x, m) => x.fcom({ single: Number(le(m, 4)) }, false),
  fcomp64: (x, m) => x.fcom({ double: le(m, 8) }, false, 1),
  ficom32: (x, m) => x.fcom({ int: signed(le(m, 4), 32) }, false),
  fucompp: (x) => x.fcom({ st: 1 }, true, 2),
  fadd_st2: (x) => x.arith(ArithOp.Add, 0, { st: 2 }),
  faddp_st2: (x) => x.arith(ArithOp.Add, 2, { st: 0 }, true),
  fld_full: (x) => {
    fill(x);
    x.loadConstant('pi');
  },
  fptan_full: (x) => {
    fill(x);
    x.fptan();
  },
  fsincos_full: (x) => {
    fill(x);
    x.fsincos();
  },
  fxtract_full: (x) => {
    fill(x);
    x.fxtract();
  },
  fst32_empty: (x) => {
    x.storeSt(0, true);
    x.storeSt(0, true);
    return stored(((v) => (v === null ? null : BigInt(v)))(x.storeSingle(false)), 4);
  },
  fxch_st3: (x) => x.fxch(3),
  fcom_st3: (x) => x.fcom({ st: 3 }, false),
  fcomi_st3: (x) => x.fcomi(3, false, false),
  fist32_empty: (x) => {
    x.storeSt(0, true);
    x.storeSt(0, true);
    return stored(x.storeInt(32, true), 4);
  },
  fsqrt: (x) => x.fsqrt(),
  fprem: (x) => x.fprem(false),
  fprem1: (x) => x.fprem(true),
  fscale: (x) => x.fscale(),
  fxtract: (x) => x.fxtract(),
  frndint: (x) => x.frndint(),
  fchs: (x) => x.fchs(),
  fabs: (x) => x.fabs(),
  fcom: (x) => x.fcom({ st: 1 }, false),
  fucom: (x) => x.fcom({ st: 1 }, true),
  fcomi: (x) => x.fcomi(1, false, false),
  fucomi: (x) => x.fcomi(1, true, false),
  ftst: (x) => x.ftst(),
  fxam: (x) => x.fxam(),
  fld32: (x, m) => x.loadSingle(Number(le(m, 4))),
  fld64: (x, m) => x.loadDouble(le(m, 8)),
  fst32: (x) => stored(((v) => (v === null ? null : BigInt(v)))(x.storeSingle(true)), 4),
  fst64: (x) => stored(x.storeDouble(true), 8),
  fst80: (x) => {
    const v = x.storeExtended();
    const out = new Uint8Array(10).fill(0xcc);
    if (v) writeF80(v, out);
    return out;
  },
  fild16: (x, m) => x.loadInt(signed(le(m, 2), 16)),
  fild32: (x, m) => x.loadInt(signed(le(m, 4), 32)),
  fild64: (x, m) => x.loadInt(signed(le(m, 8), 64)),
  fist16: (x) => stored(x.storeInt(16, true), 2),
  fist32: (x) => stored(x.storeInt(32, true), 4),
  fist64: (x) => stored(x.storeInt(64, true), 8),
  fbld: (x, m) => x.loadBcd(m),
  fbstp: (x) => x.storeBcd() ?? new Uint8Array(10).fill(0xcc),
  fsin: (x) => x.fsin(),
  fcos: (x) => x.fcos(),
  fsincos: (x) => x.fsincos(),
  fptan: (x) => x.fptan(),
  fpatan: (x) => x.fpatan(),
  f2xm1: (x) => x.f2xm1(),
  fyl2x: (x) => x.fyl2x(),
  fyl2xp1: (x) => x.fyl2xp1(),
  fld1: (x) => x.loadConstant('one'),
  fldz: (x) => x.loadConstant('zero'),
  fldl2t: (x) => x.loadConstant('l2t'),
  fldl2e: (x) => x.loadConstant('l2e'),
  fldpi: (x) => x.loadConstant('pi'),
  fldlg2: (x) => x.loadConstant('lg2'),
  fldln2: (x) => x.loadConstant('ln2'),
};

export interface Outcome {
  sw: string;
  tw: string;
  st: string[];
  mOut: string;
  eflags: string;
}

/** Run one case; returns what the emulated FPU gives in the file's fields. */
export function runCase(row: string[]): Outcome {
  const [name, cw, a, b, m] = row;
  const x = new X87();
  x.init();
  x.loadControlWord(parseInt(cw, 16));
  x.loadExtended(f80FromHex(b));
  x.loadExtended(f80FromHex(a));
  const r = RUN[name](x, m ? mem(m) : new Uint8Array(10));
  const hex = (u: Uint8Array): string => Array.from(u, (v) => v.toString(16).padStart(2, '0')).join('');
  return {
    sw: x.statusWord.toString(16).padStart(4, '0'),
    tw: x.tagWord.toString(16).padStart(4, '0'),
    st: [0, 1, 2].map((i) => (x.isEmpty(i) ? '' : f80ToHex(x.st(i)))),
    mOut: r instanceof Uint8Array ? hex(r) : '',
    eflags: typeof r === 'number' ? r.toString(16) : '0',
  };
}
