/**
 * npm run bench:fpu — the x87's significand arithmetic on BigInt against 32-bit limbs, and the
 * instruction throughput of the FPU as built (src/machine/cpu/fpu/, on BigInt).
 *
 * Kernels, each the core of one operation on 64-bit significands with the work the soft float
 * needs: add (align by 0–70 bits with a sticky bit, then add), mul (64 × 64 → 128 bits), div
 * (128 / 64 → 64-bit quotient and remainder). The limb versions keep u32 halves in numbers: the
 * product from 16-bit pieces (every partial product exact in a double), the quotient by restoring
 * shift-and-subtract (the simple limb division; Knuth's algorithm D would be faster and longer).
 * Each kernel checks its results against the other representation before timing. Prints a table
 * and writes bench-results/fpu.json (millions of operations per second, best of --rounds).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { f80 } from '../src/machine/cpu/fpu/f80';
import { ArithOp, X87 } from '../src/machine/cpu/fpu/x87';
import { textTable } from './table';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '200000' } },
});
const ROUNDS = Number(values.rounds);
const N = Number(values.n);

// Operands: random 64-bit significands with the integer bit set, and shift counts.
let seed = 0x8087;
const rnd = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed;
};
const hiA = new Uint32Array(N);
const loA = new Uint32Array(N);
const hiB = new Uint32Array(N);
const loB = new Uint32Array(N);
const shifts = new Uint8Array(N);
const bigA: bigint[] = [];
const bigB: bigint[] = [];
for (let i = 0; i < N; i++) {
  hiA[i] = (rnd() | 0x8000_0000) >>> 0;
  loA[i] = rnd();
  hiB[i] = (rnd() | 0x8000_0000) >>> 0;
  loB[i] = rnd();
  shifts[i] = rnd() % 71;
  bigA.push((BigInt(hiA[i]) << 32n) | BigInt(loA[i]));
  bigB.push((BigInt(hiB[i]) << 32n) | BigInt(loB[i]));
}

// ----- BigInt kernels -----
function addBig(i: number): bigint {
  const d = BigInt(shifts[i]);
  const b = bigB[i] << 3n;
  const sticky = (b & ((1n << d) - 1n)) !== 0n ? 1n : 0n;
  return (bigA[i] << 3n) + ((b >> d) | sticky);
}
const mulBig = (i: number): bigint => bigA[i] * bigB[i];
function divBig(i: number): bigint {
  const n = (bigA[i] >> 1n) << 64n; // dividend below divisor × 2^64: the quotient fits 64 bits
  const q = n / bigB[i];
  return q ^ (n - q * bigB[i]);
}

// ----- 32-bit limb kernels (results in module-level registers to avoid allocation) -----
let r0 = 0,
  r1 = 0,
  r2 = 0,
  r3 = 0;

/** (a << 3) + sticky-aligned (b << 3) >> d, as three 32-bit limbs (r2:r1:r0). */
function addLimbs(i: number): void {
  const d = shifts[i];
  // b << 3 as 67 bits in three limbs
  let b0 = (loB[i] << 3) >>> 0;
  let b1 = ((hiB[i] << 3) | (loB[i] >>> 29)) >>> 0;
  let b2 = hiB[i] >>> 29;
  let sticky = 0;
  for (let k = d; k > 0;) {
    const s = Math.min(k, 31);
    sticky |= b0 & ((1 << s) - 1);
    b0 = ((b0 >>> s) | (b1 << (32 - s))) >>> 0;
    b1 = ((b1 >>> s) | (b2 << (32 - s))) >>> 0;
    b2 >>>= s;
    k -= s;
  }
  b0 = (b0 | (sticky !== 0 ? 1 : 0)) >>> 0;
  const a0 = (loA[i] << 3) >>> 0;
  const a1 = ((hiA[i] << 3) | (loA[i] >>> 29)) >>> 0;
  const a2 = hiA[i] >>> 29;
  let t = a0 + b0;
  r0 = t >>> 0;
  t = a1 + b1 + (t > 0xffff_ffff ? 1 : 0);
  r1 = t >>> 0;
  r2 = a2 + b2 + (t > 0xffff_ffff ? 1 : 0);
}

/** 64 × 64 → 128 from 16-bit pieces (r3:r2:r1:r0). */
const pa = new Float64Array(4);
const pb = new Float64Array(4);
const acc = new Float64Array(8);
const out = new Float64Array(8);
function mulLimbs(i: number): void {
  pa[0] = loA[i] & 0xffff;
  pa[1] = loA[i] >>> 16;
  pa[2] = hiA[i] & 0xffff;
  pa[3] = hiA[i] >>> 16;
  pb[0] = loB[i] & 0xffff;
  pb[1] = loB[i] >>> 16;
  pb[2] = hiB[i] & 0xffff;
  pb[3] = hiB[i] >>> 16;
  acc.fill(0);
  for (let x = 0; x < 4; x++) for (let y = 0; y < 4; y++) acc[x + y] += pa[x] * pb[y];
  let carry = 0;
  for (let k = 0; k < 8; k++) {
    const v = acc[k] + carry;
    out[k] = v % 65536;
    carry = Math.floor(v / 65536);
  }
  r0 = (out[0] | (out[1] << 16)) >>> 0;
  r1 = (out[2] | (out[3] << 16)) >>> 0;
  r2 = (out[4] | (out[5] << 16)) >>> 0;
  r3 = (out[6] | (out[7] << 16)) >>> 0;
}

/** (a >> 1) × 2^64 / b by restoring division: quotient r1:r0, remainder r3:r2. */
function divLimbs(i: number): void {
  // remainder starts as the high 64 bits of the dividend (a >> 1), quotient bits come from zeros
  let h = hiA[i] >>> 1;
  let l = ((hiA[i] << 31) | (loA[i] >>> 1)) >>> 0;
  const bh = hiB[i];
  const bl = loB[i];
  let qh = 0;
  let ql = 0;
  for (let k = 0; k < 64; k++) {
    const top = h >>> 31;
    h = ((h << 1) | (l >>> 31)) >>> 0;
    l = (l << 1) >>> 0;
    qh = ((qh << 1) | (ql >>> 31)) >>> 0;
    ql = (ql << 1) >>> 0;
    if (top || h > bh || (h === bh && l >= bl)) {
      const borrow = l < bl ? 1 : 0;
      l = (l - bl) >>> 0;
      h = (h - bh - borrow) >>> 0;
      ql |= 1;
    }
  }
  r0 = ql >>> 0;
  r1 = qh;
  r2 = l;
  r3 = h;
}

const limbsBig = (...l: number[]): bigint => l.reduceRight((v, x) => (v << 32n) | BigInt(x >>> 0), 0n);

// Agreement first: a benchmark of wrong kernels would mean nothing.
for (let i = 0; i < 2000; i++) {
  addLimbs(i);
  if (limbsBig(r0, r1, r2) !== addBig(i)) throw new Error(`add limbs disagree at ${i}`);
  mulLimbs(i);
  if (limbsBig(r0, r1, r2, r3) !== mulBig(i)) throw new Error(`mul limbs disagree at ${i}`);
  divLimbs(i);
  const q = limbsBig(r0, r1);
  const r = limbsBig(r2, r3);
  if ((q ^ r) !== divBig(i)) throw new Error(`div limbs disagree at ${i}`);
}

function best(run: () => void, ops: number): number {
  let bestMs = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    run();
    bestMs = Math.min(bestMs, performance.now() - t);
  }
  return ops / bestMs / 1000; // millions per second
}

let sink = 0n;
let sinkN = 0;
const kernels = {
  add: {
    bigint: best(() => {
      for (let i = 0; i < N; i++) sink ^= addBig(i);
    }, N),
    limbs: best(() => {
      for (let i = 0; i < N; i++) {
        addLimbs(i);
        sinkN ^= r0;
      }
    }, N),
  },
  mul: {
    bigint: best(() => {
      for (let i = 0; i < N; i++) sink ^= mulBig(i);
    }, N),
    limbs: best(() => {
      for (let i = 0; i < N; i++) {
        mulLimbs(i);
        sinkN ^= r0;
      }
    }, N),
  },
  div: {
    bigint: best(() => {
      for (let i = 0; i < N; i++) sink ^= divBig(i);
    }, N),
    limbs: best(() => {
      for (let i = 0; i < N; i++) {
        divLimbs(i);
        sinkN ^= r0;
      }
    }, N),
  },
};

// The FPU as built: one instruction per iteration on a two-deep stack (FLD, op, FSTP ST0 kept out:
// the operands are reloaded by FXCH-free stores into the registers).
function instructions(op: (x: X87) => void, count: number): number {
  const x = new X87();
  x.init();
  const a = f80(0, 0x3fff, 0xb504_f333_f9de_6484n);
  const b = f80(0, 0x4000, 0xc90f_daa2_2168_c235n);
  return best(() => {
    for (let i = 0; i < count; i++) {
      x.init();
      x.loadExtended(b);
      x.loadExtended(a);
      op(x);
    }
  }, count);
}
const IN = Math.max(1, N / 10);
const fpu = {
  fadd: instructions((x) => x.arith(ArithOp.Add, 0, { st: 1 }), IN),
  fmul: instructions((x) => x.arith(ArithOp.Mul, 0, { st: 1 }), IN),
  fdiv: instructions((x) => x.arith(ArithOp.Div, 0, { st: 1 }), IN),
  fsqrt: instructions((x) => x.fsqrt(), IN),
  fsin: instructions((x) => x.fsin(), Math.max(1, IN / 50)),
};

const f = (v: number): string => v.toFixed(2);
console.log(
  textTable(
    ['kernel', 'BigInt Mop/s', 'limbs Mop/s', 'limbs/BigInt'],
    Object.entries(kernels).map(([k, v]) => [k, f(v.bigint), f(v.limbs), f(v.limbs / v.bigint)]),
  ),
);
console.log();
console.log(
  textTable(
    ['instruction (FNINIT, 2 × FLD, op)', 'M/s'],
    Object.entries(fpu).map(([k, v]) => [k, v.toFixed(3)]),
  ),
);
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/fpu.json',
  JSON.stringify(
    { n: N, rounds: ROUNDS, kernelsMops: kernels, instructionsMps: fpu, sink: String(sink ^ BigInt(sinkN)) },
    null,
    2,
  ) + '\n',
);
