/**
 * The instruction forms the host-CPU oracle exercises: encoding, operand size, which EFLAGS bits
 * are architecturally defined afterwards (SDM vol. 2, each instruction's "Flags Affected"), and the
 * constraints on random inputs that keep a vector free of faults (#DE) and inside its memory slot.
 *
 * These lists are written in the shape of the CPU's declarative opcode table (opcode bytes, ModR/M
 * /digit or register operand, immediate size, operand size); when src/machine/cpu/ exports the
 * table, `forms()` is the one place to switch to reading it.
 */

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const DF = 0x400;
export const OF = 0x800;
/** The six arithmetic flags. */
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Flags a vector may start with (no TF/IF/AC: they would trap, be ignored at CPL 3, or check alignment). */
export const RANDOM_FLAGS = ARITH | DF;

export const EAX = 0;
export const ECX = 1;
export const EDX = 2;
export const EBX = 3;
export const ESP = 4;
export const EBP = 5;
export const ESI = 6;
export const EDI = 7;

/** The input state of one vector, which the form may adjust before the bytes are fixed. */
export interface VectorInput {
  regs: number[]; // 8 × u32, ESP ignored (the harness owns it)
  flags: number;
  /** The 64-byte memory slot; a memory operand sits at MEM_OPERAND within it. */
  mem: Uint8Array;
  /** Linear address of the slot (fixed by the image layout). */
  slot: number;
}

/** Offset of the memory operand inside a slot. */
export const MEM_OPERAND = 16;
export const SLOT_BYTES = 64;

export interface Rng {
  u32(): number;
  below(n: number): number;
  pick<T>(xs: readonly T[]): T;
}

export interface Form {
  /** Disassembly-style name, e.g. "add r/m16, imm8". */
  name: string;
  group: string;
  /** Build the instruction bytes (may adjust the input state first). */
  encode(input: VectorInput, rng: Rng): number[];
  /** EFLAGS bits defined after the instruction, given its input (DF always included). */
  defined(input: VectorInput): number;
}

type Size = 8 | 16 | 32;
const SIZES: readonly Size[] = [8, 16, 32];
const prefix = (s: Size): number[] => (s === 16 ? [0x66] : []);
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const imm = (v: number, bytes: number): number[] => le32(v).slice(0, bytes);
const mask = (s: Size): number => (s === 32 ? 0xffff_ffff : (1 << s) - 1);

/** A random general register other than ESP (8-bit: any of AL..BH). */
function anyReg(rng: Rng, s: Size): number {
  if (s === 8) return rng.below(8);
  const r = rng.below(7);
  return r >= ESP ? r + 1 : r;
}

/** ModR/M for a register operand or for the slot's memory operand (disp32, absolute). */
function modrm(reg: number, rm: number | 'mem', input: VectorInput, offset = MEM_OPERAND): number[] {
  if (rm === 'mem') return [(reg << 3) | 5, ...le32(input.slot + offset)];
  return [0xc0 | (reg << 3) | rm];
}

/** Value of an operand register (8-bit index 4–7 = AH..BH). */
function regValue(input: VectorInput, r: number, s: Size): number {
  if (s === 8) return r < 4 ? input.regs[r] & 0xff : (input.regs[r - 4] >>> 8) & 0xff;
  return (input.regs[r] & mask(s)) >>> 0;
}
function setRegValue(input: VectorInput, r: number, s: Size, v: number): void {
  if (s === 8) {
    if (r < 4) input.regs[r] = ((input.regs[r] & ~0xff) | (v & 0xff)) >>> 0;
    else input.regs[r - 4] = ((input.regs[r - 4] & ~0xff00) | ((v & 0xff) << 8)) >>> 0;
  } else if (s === 16) input.regs[r] = ((input.regs[r] & ~0xffff) | (v & 0xffff)) >>> 0;
  else input.regs[r] = v >>> 0;
}
function memValue(input: VectorInput, s: Size, offset = MEM_OPERAND): number {
  let v = 0;
  for (let i = s / 8 - 1; i >= 0; i--) v = v * 256 + input.mem[offset + i];
  return v;
}
function setMemValue(input: VectorInput, s: Size, v: number, offset = MEM_OPERAND): void {
  for (let i = 0; i < s / 8; i++) input.mem[offset + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
}

const all = (): number => ARITH;
const logic = (): number => ARITH & ~AF;

/** op r/m, reg and op reg, r/m pairs (opcode base: +0 r/m8,r8; +1 r/m,r; +2 r8,r/m8; +3 r,r/m). */
function aluPair(name: string, base: number, defined: () => number): Form[] {
  const out: Form[] = [];
  for (const s of SIZES)
    for (const dir of [0, 2])
      for (const mem of [false, true]) {
        const op = base + dir + (s === 8 ? 0 : 1);
        const shape = dir === 0 ? `r/m${s}, r${s}` : `r${s}, r/m${s}`;
        out.push({
          name: `${name} ${shape}${mem ? ' (mem)' : ''}`,
          group: 'alu',
          encode: (input, rng) => [...prefix(s), op, ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input)],
          defined,
        });
      }
  return out;
}

/** Group 1: 80 /d ib, 81 /d iw/id, 83 /d ib (sign-extended). */
function aluImm(name: string, digit: number, defined: () => number): Form[] {
  const out: Form[] = [];
  for (const s of SIZES)
    for (const op of s === 8 ? [0x80] : [0x81, 0x83])
      for (const mem of [false, true]) {
        const immBytes = op === 0x81 ? s / 8 : 1;
        out.push({
          name: `${name} r/m${s}, imm${immBytes * 8}${mem ? ' (mem)' : ''}`,
          group: 'alu',
          encode: (input, rng) => [
            ...prefix(s),
            op,
            ...modrm(digit, mem ? 'mem' : anyReg(rng, s), input),
            ...imm(interesting(rng), immBytes),
          ],
          defined,
        });
      }
  // The accumulator short forms: 04/05 etc.
  for (const s of SIZES)
    out.push({
      name: `${name} ${s === 8 ? 'al' : s === 16 ? 'ax' : 'eax'}, imm${s}`,
      group: 'alu',
      encode: (_input, rng) => [...prefix(s), digit * 8 + (s === 8 ? 4 : 5), ...imm(interesting(rng), s / 8)],
      defined,
    });
  return out;
}

/** A random value biased towards the edges where flags change. */
export function interesting(rng: Rng): number {
  const edges = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
  const k = rng.below(4);
  if (k === 0) return rng.pick(edges);
  if (k === 1) return (rng.pick(edges) + rng.below(3) - 1) >>> 0;
  return rng.u32();
}

function unary(name: string, op: number, digit: number, defined: () => number, group = 'alu'): Form[] {
  const out: Form[] = [];
  for (const s of SIZES)
    for (const mem of [false, true])
      out.push({
        name: `${name} r/m${s}${mem ? ' (mem)' : ''}`,
        group,
        encode: (input, rng) => [
          ...prefix(s),
          op + (s === 8 ? 0 : 1),
          ...modrm(digit, mem ? 'mem' : anyReg(rng, s), input),
        ],
        defined,
      });
  return out;
}

/** INC/DEC short forms 40+r / 48+r (16/32 only). */
function incDecShort(): Form[] {
  const out: Form[] = [];
  for (const s of [16, 32] as Size[])
    for (const [name, base] of [
      ['inc', 0x40],
      ['dec', 0x48],
    ] as const)
      out.push({
        name: `${name} r${s}`,
        group: 'alu',
        encode: (_i, rng) => [...prefix(s), base + anyReg(rng, s)],
        defined: all,
      });
  return out;
}

// ---- shifts and rotates -------------------------------------------------------------------

type CountKind = '1' | 'cl' | 'imm8';
const SHIFT_NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

/** A shift count biased to 0, 1, the operand width, and beyond (counts above 31 are masked). */
function shiftCount(rng: Rng, s: Size): number {
  return rng.pick([0, 1, 1, 2, s - 1, s, s + 1, 31, 32, 33, rng.below(256)]);
}

/** SDM: count masked to 5 bits; 0 leaves flags; OF only for 1; AF undefined for shifts. */
function shiftDefined(digit: number, s: Size, count: number): number {
  const c = count & 0x1f;
  if (c === 0) return ARITH;
  const rotate = digit < 4;
  let d = rotate ? ARITH & ~(CF | OF) : ARITH & ~AF; // rotates leave SF ZF AF PF
  if (rotate) {
    // RCL/RCR: rotate by c mod (s+1); ROL/ROR: CF defined whenever the masked count is non-zero.
    d |= CF;
    if (c === 1) d |= OF;
    return d;
  }
  if (c !== 1) d &= ~OF;
  if (digit !== 7 && c >= s) d &= ~CF; // SHL/SHR with count >= width: CF undefined
  return d;
}

function shifts(): Form[] {
  const out: Form[] = [];
  for (let digit = 0; digit < 8; digit++) {
    if (digit === 6) continue; // SAL /6 is an alias the SDM does not list; /4 is the documented one
    for (const s of SIZES)
      for (const kind of ['1', 'cl', 'imm8'] as CountKind[])
        for (const mem of [false, true]) {
          const op = kind === '1' ? 0xd0 : kind === 'cl' ? 0xd2 : 0xc0;
          let count = 1;
          out.push({
            name: `${SHIFT_NAMES[digit]} r/m${s}, ${kind}${mem ? ' (mem)' : ''}`,
            group: 'shift',
            encode: (input, rng) => {
              let dst = mem ? ('mem' as const) : anyReg(rng, s);
              if (kind === 'cl') {
                count = shiftCount(rng, s);
                input.regs[ECX] = ((input.regs[ECX] & ~0xff) | count) >>> 0;
                if (dst === ECX) dst = EDX; // keep CL the count only (cl as both is legal but dull)
                if (s === 8 && dst === 5) dst = 6; // CH is fine, but avoid cl-as-ch aliasing confusion
              } else if (kind === 'imm8') count = shiftCount(rng, s);
              else count = 1;
              const tail = kind === 'imm8' ? [count & 0xff] : [];
              return [...prefix(s), op + (s === 8 ? 0 : 1), ...modrm(digit, dst, input), ...tail];
            },
            defined: () => shiftDefined(digit, s, count),
          });
        }
  }
  // SHLD/SHRD: 0F A4/AC (imm8), 0F A5/AD (CL). Counts above 16 for 16-bit operands are undefined: avoided.
  for (const [name, opImm] of [
    ['shld', 0xa4],
    ['shrd', 0xac],
  ] as const)
    for (const s of [16, 32] as Size[])
      for (const kind of ['cl', 'imm8'] as const)
        for (const mem of [false, true]) {
          let count = 0;
          out.push({
            name: `${name} r/m${s}, r${s}, ${kind}${mem ? ' (mem)' : ''}`,
            group: 'shift',
            encode: (input, rng) => {
              count = rng.pick([0, 1, 1, 2, 7, s - 1, s, 31, 32, 33, rng.below(256)]);
              if (s === 16 && (count & 0x1f) > 16) count = rng.below(17);
              let src = anyReg(rng, s);
              let dst = mem ? ('mem' as const) : anyReg(rng, s);
              if (kind === 'cl') {
                input.regs[ECX] = ((input.regs[ECX] & ~0xff) | count) >>> 0;
                if (src === ECX) src = EBX;
                if (dst === ECX) dst = EDX;
              }
              const tail = kind === 'imm8' ? [count & 0xff] : [];
              return [...prefix(s), 0x0f, opImm + (kind === 'cl' ? 1 : 0), ...modrm(src, dst, input), ...tail];
            },
            defined: () => {
              const c = count & 0x1f;
              if (c === 0) return ARITH;
              return c === 1 ? ARITH & ~AF : ARITH & ~(AF | OF);
            },
          });
        }
  return out;
}

// ---- multiply and divide ------------------------------------------------------------------

const mulDefined = (): number => CF | OF;

function muldiv(): Form[] {
  const out: Form[] = [];
  // F6/F7 /4 MUL, /5 IMUL (one operand)
  for (const [name, digit] of [
    ['mul', 4],
    ['imul', 5],
  ] as const)
    out.push(...unary(name, 0xf6, digit, mulDefined, 'muldiv'));
  // IMUL r, r/m (0F AF); IMUL r, r/m, imm8 (6B); IMUL r, r/m, imm (69)
  for (const s of [16, 32] as Size[])
    for (const mem of [false, true]) {
      out.push({
        name: `imul r${s}, r/m${s}${mem ? ' (mem)' : ''}`,
        group: 'muldiv',
        encode: (input, rng) => [
          ...prefix(s),
          0x0f,
          0xaf,
          ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
        ],
        defined: mulDefined,
      });
      for (const [op, ib] of [
        [0x6b, 1],
        [0x69, s / 8],
      ] as const)
        out.push({
          name: `imul r${s}, r/m${s}, imm${ib * 8}${mem ? ' (mem)' : ''}`,
          group: 'muldiv',
          encode: (input, rng) => [
            ...prefix(s),
            op,
            ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
            ...imm(interesting(rng), ib),
          ],
          defined: mulDefined,
        });
    }
  // F6/F7 /6 DIV, /7 IDIV: inputs adjusted so that no #DE is raised.
  for (const [name, digit] of [
    ['div', 6],
    ['idiv', 7],
  ] as const)
    for (const s of SIZES)
      for (const mem of [false, true])
        out.push({
          name: `${name} r/m${s}${mem ? ' (mem)' : ''}`,
          group: 'muldiv',
          encode: (input, rng) => {
            let src: number | 'mem' = mem ? 'mem' : anyReg(rng, s);
            // The divisor must not be part of the dividend registers.
            if (src !== 'mem' && (s === 8 ? src === 0 || src === 4 : src === EAX || src === EDX)) src = EBX;
            fixDivision(input, s, src, digit === 7, rng);
            return [...prefix(s), 0xf6 + (s === 8 ? 0 : 1), ...modrm(digit, src, input)];
          },
          defined: () => 0,
        });
  return out;
}

/** Make dividend and divisor such that the quotient fits (no #DE). */
function fixDivision(input: VectorInput, s: Size, src: number | 'mem', signed: boolean, rng: Rng): void {
  const bits = BigInt(s);
  const m = (1n << bits) - 1n;
  const getDivisor = (): bigint => BigInt(src === 'mem' ? memValue(input, s) : regValue(input, src, s));
  const setDivisor = (v: bigint): void => {
    if (src === 'mem') setMemValue(input, s, Number(v & m));
    else setRegValue(input, src, s, Number(v & m));
  };
  const toSigned = (v: bigint, w: bigint): bigint => (v & (1n << (w - 1n)) ? v - (1n << w) : v);
  for (let attempt = 0; ; attempt++) {
    let divisor = getDivisor();
    if (divisor === 0n) {
      setDivisor(BigInt(rng.below(100) + 1));
      divisor = getDivisor();
    }
    let lo: bigint, hi: bigint;
    if (s === 8) {
      const ax = BigInt(input.regs[EAX] & 0xffff);
      lo = ax & 0xffn;
      hi = ax >> 8n;
    } else {
      lo = BigInt(input.regs[EAX]) & m;
      hi = BigInt(input.regs[EDX]) & m;
    }
    const dividend = (hi << bits) | lo;
    let ok: boolean;
    if (!signed) ok = dividend / divisor <= m;
    else {
      const q = toSigned(dividend, 2n * bits) / toSigned(divisor, bits); // BigInt division truncates
      ok = q >= -(1n << (bits - 1n)) && q < 1n << (bits - 1n);
    }
    if (ok) return;
    // Shrink the high half: unsigned → hi < divisor; signed → sign-extend the low half (or, after a
    // few tries, a small dividend).
    let newHi: bigint;
    if (!signed) newHi = attempt < 3 ? hi % divisor : 0n;
    else newHi = lo & (1n << (bits - 1n)) ? m : 0n;
    if (attempt >= 3) {
      lo = BigInt(rng.below(1000));
      newHi = 0n;
    }
    if (s === 8) input.regs[EAX] = ((input.regs[EAX] & ~0xffff) | Number((newHi << 8n) | lo)) >>> 0;
    else {
      setRegValue(input, EDX, s, Number(newHi));
      setRegValue(input, EAX, s, Number(lo));
    }
  }
}

// ---- BCD, bits, moves, misc ----------------------------------------------------------------

function bcd(): Form[] {
  const f = (name: string, bytes: number[], defined: number): Form => ({
    name,
    group: 'bcd',
    encode: () => bytes,
    defined: () => defined,
  });
  return [
    f('daa', [0x27], ARITH & ~OF),
    f('das', [0x2f], ARITH & ~OF),
    f('aaa', [0x37], AF | CF),
    f('aas', [0x3f], AF | CF),
    ...[10, 16, 7, 255].map((b) => f(`aam ${b}`, [0xd4, b], SF | ZF | PF)),
    ...[10, 16, 7, 255, 0].map((b) => f(`aad ${b}`, [0xd5, b], SF | ZF | PF)),
  ];
}

function bits(): Form[] {
  const out: Form[] = [];
  const names = ['bt', 'bts', 'btr', 'btc'];
  for (let k = 0; k < 4; k++)
    for (const s of [16, 32] as Size[]) {
      // 0F A3/AB/B3/BB r/m, r — with a memory operand the bit offset is a signed displacement.
      for (const mem of [false, true])
        out.push({
          name: `${names[k]} r/m${s}, r${s}${mem ? ' (mem)' : ''}`,
          group: 'bit',
          encode: (input, rng) => {
            const r = anyReg(rng, s);
            if (mem) setRegValue(input, r, s, (rng.below(192) - 64) & mask(s)); // stays in the slot
            return [...prefix(s), 0x0f, 0xa3 + 8 * k, ...modrm(r, mem ? 'mem' : anyReg(rng, s), input)];
          },
          defined: () => CF | ZF,
        });
      // 0F BA /4../7 ib
      for (const mem of [false, true])
        out.push({
          name: `${names[k]} r/m${s}, imm8${mem ? ' (mem)' : ''}`,
          group: 'bit',
          encode: (input, rng) => [
            ...prefix(s),
            0x0f,
            0xba,
            ...modrm(4 + k, mem ? 'mem' : anyReg(rng, s), input),
            rng.below(256),
          ],
          defined: () => CF | ZF,
        });
    }
  for (const [name, op] of [
    ['bsf', 0xbc],
    ['bsr', 0xbd],
  ] as const)
    for (const s of [16, 32] as Size[])
      for (const mem of [false, true])
        out.push({
          name: `${name} r${s}, r/m${s}${mem ? ' (mem)' : ''}`,
          group: 'bit',
          encode: (input, rng) => {
            const src = mem ? ('mem' as const) : anyReg(rng, s);
            if (rng.below(6) === 0) {
              // A zero source: ZF=1, destination left as it was (what Intel and AMD parts do).
              if (src === 'mem') setMemValue(input, s, 0);
              else setRegValue(input, src, s, 0);
            }
            return [...prefix(s), 0x0f, op, ...modrm(anyReg(rng, s), src, input)];
          },
          defined: () => ZF,
        });
  // BSWAP r32 (the 16-bit form is undefined)
  out.push({
    name: 'bswap r32',
    group: 'bit',
    encode: (_i, rng) => [0x0f, 0xc8 + anyReg(rng, 32)],
    defined: all,
  });
  return out;
}

const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

function condAndMoves(): Form[] {
  const out: Form[] = [];
  for (let cc = 0; cc < 16; cc++) {
    for (const mem of [false, true])
      out.push({
        name: `set${CC[cc]} r/m8${mem ? ' (mem)' : ''}`,
        group: 'cond',
        encode: (input, rng) => [0x0f, 0x90 + cc, ...modrm(0, mem ? 'mem' : anyReg(rng, 8), input)],
        defined: all,
      });
    for (const s of [16, 32] as Size[])
      for (const mem of [false, true])
        out.push({
          name: `cmov${CC[cc]} r${s}, r/m${s}${mem ? ' (mem)' : ''}`,
          group: 'cond',
          encode: (input, rng) => [
            ...prefix(s),
            0x0f,
            0x40 + cc,
            ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
          ],
          defined: all,
        });
  }
  for (const [name, op] of [
    ['movzx', 0xb6],
    ['movsx', 0xbe],
  ] as const)
    for (const s of [16, 32] as Size[])
      for (const from of [8, 16] as Size[]) {
        if (from >= s) continue;
        for (const mem of [false, true])
          out.push({
            name: `${name} r${s}, r/m${from}${mem ? ' (mem)' : ''}`,
            group: 'move',
            encode: (input, rng) => [
              ...prefix(s),
              0x0f,
              op + (from === 8 ? 0 : 1),
              ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, from), input),
            ],
            defined: all,
          });
      }
  const plain = (name: string, bytes: number[], defined: number, group = 'misc'): Form => ({
    name,
    group,
    encode: () => bytes,
    defined: () => defined,
  });
  out.push(
    plain('cbw', [0x66, 0x98], ARITH, 'move'),
    plain('cwde', [0x98], ARITH, 'move'),
    plain('cwd', [0x66, 0x99], ARITH, 'move'),
    plain('cdq', [0x99], ARITH, 'move'),
    plain('lahf', [0x9f], ARITH),
    plain('sahf', [0x9e], ARITH),
    plain('clc', [0xf8], ARITH),
    plain('stc', [0xf9], ARITH),
    plain('cmc', [0xf5], ARITH),
    plain('cld', [0xfc], ARITH),
    plain('std', [0xfd], ARITH),
  );
  // XADD 0F C0/C1, CMPXCHG 0F B0/B1, XCHG 86/87
  for (const s of SIZES)
    for (const mem of [false, true]) {
      for (const [name, op, defined] of [
        ['xadd', 0xc0, all],
        ['cmpxchg', 0xb0, all],
        ['xchg', 0x86, all],
      ] as const)
        out.push({
          name: `${name} r/m${s}, r${s}${mem ? ' (mem)' : ''}`,
          group: 'atomic',
          encode: (input, rng) => {
            const r = anyReg(rng, s);
            const rm = mem ? ('mem' as const) : anyReg(rng, s);
            // CMPXCHG: make the comparison succeed half the time.
            if (name === 'cmpxchg' && rng.below(2) === 0) {
              const v = rm === 'mem' ? memValue(input, s) : regValue(input, rm, s);
              setRegValue(input, EAX, s, v);
            }
            if (op === 0x86) return [...prefix(s), op + (s === 8 ? 0 : 1), ...modrm(r, rm, input)];
            return [...prefix(s), 0x0f, op + (s === 8 ? 0 : 1), ...modrm(r, rm, input)];
          },
          defined,
        });
    }
  out.push({
    name: 'cmpxchg8b m64',
    group: 'atomic',
    encode: (input, rng) => {
      if (rng.below(2) === 0) {
        input.regs[EAX] = memValue(input, 32);
        input.regs[EDX] = memValue(input, 32, MEM_OPERAND + 4);
      }
      return [0x0f, 0xc7, ...modrm(1, 'mem', input)];
    },
    defined: all,
  });
  out.push({
    name: 'lock cmpxchg8b m64',
    group: 'atomic',
    encode: (input, rng) => {
      if (rng.below(2) === 0) {
        input.regs[EAX] = memValue(input, 32);
        input.regs[EDX] = memValue(input, 32, MEM_OPERAND + 4);
      }
      return [0xf0, 0x0f, 0xc7, ...modrm(1, 'mem', input)];
    },
    defined: all,
  });
  return out;
}

// ---- string instructions --------------------------------------------------------------------

/** MOVS A4, CMPS A6, STOS AA, LODS AC, SCAS AE; with REP (F3) / REPNE (F2) where they mean something. */
function strings(): Form[] {
  const out: Form[] = [];
  const ops = [
    ['movs', 0xa4, 0, ['', 'rep']],
    ['cmps', 0xa6, ARITH, ['', 'repe', 'repne']],
    ['stos', 0xaa, 0, ['', 'rep']],
    ['lods', 0xac, 0, ['', 'rep']],
    ['scas', 0xae, ARITH, ['', 'repe', 'repne']],
  ] as const;
  for (const [name, op, flagsWritten, reps] of ops)
    for (const s of SIZES)
      for (const rep of reps)
        out.push({
          name: `${rep ? rep + ' ' : ''}${name}${s === 8 ? 'b' : s === 16 ? 'w' : 'd'}`,
          group: 'string',
          encode: (input, rng) => {
            const down = (input.flags & DF) !== 0;
            const count = rep ? rng.pick([0, 1, 2, 3, 4, 5]) : rng.below(3);
            input.regs[ECX] = rep ? count : input.regs[ECX];
            // Source in the slot's first half, destination in its second half, far enough from the
            // edges for 5 dwords in either direction.
            input.regs[ESI] = input.slot + (down ? 28 : 4) - rng.below(4);
            input.regs[EDI] = input.slot + 32 + (down ? 28 : 4) - rng.below(4);
            // For REPE/REPNE compares make the data partly equal so that the loop ends early sometimes.
            if (name === 'cmps' || name === 'scas') {
              for (let i = 0; i < 32; i++) if (rng.below(2) === 0) input.mem[32 + i] = input.mem[i];
              if (name === 'scas' && rng.below(2) === 0) input.regs[EAX] = (input.mem[4] * 0x01010101) >>> 0;
            }
            const pre = rep === '' ? [] : rep === 'repne' ? [0xf2] : [0xf3];
            return [...pre, ...prefix(s), op + (s === 8 ? 0 : 1)];
          },
          defined: (input) => (flagsWritten !== 0 && (rep === '' || input.regs[ECX] !== 0) ? ARITH : ARITH),
        });
  return out;
}

/** Read-modify-write instructions that accept LOCK when their destination is memory (SDM vol. 2, LOCK). */
const LOCKABLE =
  /^(add|or|adc|sbb|and|sub|xor|not|neg|inc|dec|xadd|cmpxchg|xchg|bts|btr|btc) r\/m\d+(, (r\d+|imm\d+))? \(mem\)$/;

/** The LOCK-prefixed twin of every lockable memory form (same semantics, one more prefix). */
function locked(fs: Form[]): Form[] {
  return fs
    .filter((f) => LOCKABLE.test(f.name))
    .map((f) => ({
      ...f,
      name: `lock ${f.name}`,
      group: 'lock',
      encode: (input, rng) => [0xf0, ...f.encode(input, rng)],
    }));
}

/** Every form the oracle exercises. */
export function forms(): Form[] {
  const all = unlocked();
  return [...all, ...locked(all)];
}

function unlocked(): Form[] {
  return [
    ...aluPair('add', 0x00, all),
    ...aluPair('or', 0x08, logic),
    ...aluPair('adc', 0x10, all),
    ...aluPair('sbb', 0x18, all),
    ...aluPair('and', 0x20, logic),
    ...aluPair('sub', 0x28, all),
    ...aluPair('xor', 0x30, logic),
    ...aluPair('cmp', 0x38, all),
    ...['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'].flatMap((n, d) =>
      aluImm(n, d, d === 1 || d === 4 || d === 6 ? logic : all),
    ),
    ...SIZES.flatMap((s) =>
      [false, true].map((mem): Form => ({
        name: `test r/m${s}, r${s}${mem ? ' (mem)' : ''}`,
        group: 'alu',
        encode: (input, rng) => [
          ...prefix(s),
          0x84 + (s === 8 ? 0 : 1),
          ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
        ],
        defined: logic,
      })),
    ),
    ...SIZES.flatMap((s) =>
      [false, true].map((mem): Form => ({
        name: `test r/m${s}, imm${s}${mem ? ' (mem)' : ''}`,
        group: 'alu',
        encode: (input, rng) => [
          ...prefix(s),
          0xf6 + (s === 8 ? 0 : 1),
          ...modrm(0, mem ? 'mem' : anyReg(rng, s), input),
          ...imm(interesting(rng), s / 8),
        ],
        defined: logic,
      })),
    ),
    ...unary('not', 0xf6, 2, all),
    ...unary('neg', 0xf6, 3, all),
    ...unary('inc', 0xfe, 0, all),
    ...unary('dec', 0xfe, 1, all),
    ...incDecShort(),
    ...shifts(),
    ...muldiv(),
    ...bcd(),
    ...bits(),
    ...condAndMoves(),
    ...strings(),
  ];
}
