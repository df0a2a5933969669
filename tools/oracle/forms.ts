/**
 * The instruction forms the host-CPU oracle exercises: encoding, operand size, which EFLAGS bits
 * are architecturally defined afterwards (SDM vol. 2, each instruction's "Flags Affected"), and the
 * constraints on random inputs that keep a vector free of faults (#DE) and inside its memory slot.
 *
 * Mnemonics and EFLAGS masks come from the CPU's opcode table (src/machine/cpu/opcodes.ts): a
 * form's mask is what the table does not call undefined (`definedBy`), except shifts, rotates and
 * SHLD/SHRD, whose undefined flags depend on the count (`shiftDefined`, below). Which forms exist,
 * their encodings and their input constraints stay here: reading the list itself from the table
 * would change the order of the random draws, and so every committed vector
 * (tests/cpu/oracle-forms.test.ts holds forms() to them).
 */
import { lookupOpcode, OPCODES, type Opcode } from '../../src/machine/cpu/opcodes';

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
  /**
   * Its bytes mean the same in 64-bit mode, registers and memory alike (no PUSH/POP, no disp32-only
   * or other RIP-relative ModR/M, no 40–4F): the host may run it as a 64-bit program (generate.ts).
   */
  same64?: boolean;
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

/** The opcode table's entry for an opcode (0x0fxx for the 0F map) and group digit. */
function entry(op: number, digit = 0): Opcode {
  const o = lookupOpcode(op, digit);
  if (!o) throw new Error(`oracle forms: opcode ${op.toString(16)}/${digit} is not in the opcode table`);
  return o;
}
const mnemonic = (op: number, digit = 0): string => entry(op, digit).mnemonic;
/** The EFLAGS bits defined after the instruction: the arithmetic flags the table does not leave undefined. */
function definedBy(op: number, digit = 0): () => number {
  const d = ARITH & ~entry(op, digit).flags.undefined;
  return () => d;
}

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

/** Group 3/4 forms F6/F7 /digit, FE/FF /digit: name and mask from the table. */
function unary(op: number, digit: number, group = 'alu'): Form[] {
  const out: Form[] = [];
  const name = mnemonic(op, digit);
  const defined = definedBy(op, digit);
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
    for (const base of [0x40, 0x48])
      out.push({
        name: `${mnemonic(base)} r${s}`,
        group: 'alu',
        encode: (_i, rng) => [...prefix(s), base + anyReg(rng, s)],
        defined: definedBy(base),
      });
  return out;
}

// ---- shifts and rotates -------------------------------------------------------------------

type CountKind = '1' | 'cl' | 'imm8';

/** A shift count biased to 0, 1, the operand width, and beyond (counts above 31 are masked). */
function shiftCount(rng: Rng, s: Size): number {
  return rng.pick([0, 1, 1, 2, s - 1, s, s + 1, 31, 32, 33, rng.below(256)]);
}

/**
 * SDM: count masked to 5 bits; 0 leaves flags; OF only for 1; AF undefined for shifts. The table
 * lists the union over counts as undefined; here it is per count.
 */
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
            name: `${mnemonic(0xd0, digit)} r/m${s}, ${kind}${mem ? ' (mem)' : ''}`,
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
  for (const opImm of [0xa4, 0xac]) {
    const name = mnemonic(0x0f00 | opImm);
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
  }
  return out;
}

// ---- multiply and divide ------------------------------------------------------------------

function muldiv(): Form[] {
  const out: Form[] = [];
  // F6/F7 /4 MUL, /5 IMUL (one operand)
  for (const digit of [4, 5]) out.push(...unary(0xf6, digit, 'muldiv'));
  // IMUL r, r/m (0F AF); IMUL r, r/m, imm8 (6B); IMUL r, r/m, imm (69)
  for (const s of [16, 32] as Size[])
    for (const mem of [false, true]) {
      out.push({
        name: `${mnemonic(0x0faf)} r${s}, r/m${s}${mem ? ' (mem)' : ''}`,
        group: 'muldiv',
        encode: (input, rng) => [
          ...prefix(s),
          0x0f,
          0xaf,
          ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
        ],
        defined: definedBy(0x0faf),
      });
      for (const [op, ib] of [
        [0x6b, 1],
        [0x69, s / 8],
      ] as const)
        out.push({
          name: `${mnemonic(op)} r${s}, r/m${s}, imm${ib * 8}${mem ? ' (mem)' : ''}`,
          group: 'muldiv',
          encode: (input, rng) => [
            ...prefix(s),
            op,
            ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
            ...imm(interesting(rng), ib),
          ],
          defined: definedBy(op),
        });
    }
  // F6/F7 /6 DIV, /7 IDIV: inputs adjusted so that no #DE is raised.
  for (const digit of [6, 7]) {
    const name = mnemonic(0xf6, digit);
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
          defined: definedBy(0xf6, digit),
        });
  }
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
  const f = (name: string, bytes: number[]): Form => ({
    name,
    group: 'bcd',
    encode: () => bytes,
    defined: definedBy(bytes[0]),
  });
  return [
    ...[0x27, 0x2f, 0x37, 0x3f].map((op) => f(mnemonic(op), [op])),
    ...[10, 16, 7, 255].map((b) => f(`${mnemonic(0xd4)} ${b}`, [0xd4, b])),
    ...[10, 16, 7, 255, 0].map((b) => f(`${mnemonic(0xd5)} ${b}`, [0xd5, b])),
  ];
}

function bits(): Form[] {
  const out: Form[] = [];
  for (let k = 0; k < 4; k++)
    for (const s of [16, 32] as Size[]) {
      // 0F A3/AB/B3/BB r/m, r — with a memory operand the bit offset is a signed displacement.
      for (const mem of [false, true])
        out.push({
          name: `${mnemonic(0x0fa3 + 8 * k)} r/m${s}, r${s}${mem ? ' (mem)' : ''}`,
          group: 'bit',
          encode: (input, rng) => {
            const r = anyReg(rng, s);
            if (mem) setRegValue(input, r, s, (rng.below(192) - 64) & mask(s)); // stays in the slot
            return [...prefix(s), 0x0f, 0xa3 + 8 * k, ...modrm(r, mem ? 'mem' : anyReg(rng, s), input)];
          },
          defined: definedBy(0x0fa3 + 8 * k),
        });
      // 0F BA /4../7 ib
      for (const mem of [false, true])
        out.push({
          name: `${mnemonic(0x0fba, 4 + k)} r/m${s}, imm8${mem ? ' (mem)' : ''}`,
          group: 'bit',
          encode: (input, rng) => [
            ...prefix(s),
            0x0f,
            0xba,
            ...modrm(4 + k, mem ? 'mem' : anyReg(rng, s), input),
            rng.below(256),
          ],
          defined: definedBy(0x0fba, 4 + k),
        });
    }
  for (const op of [0xbc, 0xbd])
    for (const s of [16, 32] as Size[])
      for (const mem of [false, true])
        out.push({
          name: `${mnemonic(0x0f00 | op)} r${s}, r/m${s}${mem ? ' (mem)' : ''}`,
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
          defined: definedBy(0x0f00 | op),
        });
  // BSWAP r32 (the 16-bit form is undefined)
  out.push({
    name: `${mnemonic(0x0fc8)} r32`,
    group: 'bit',
    encode: (_i, rng) => [0x0f, 0xc8 + anyReg(rng, 32)],
    defined: definedBy(0x0fc8),
  });
  return out;
}

function condAndMoves(): Form[] {
  const out: Form[] = [];
  for (let cc = 0; cc < 16; cc++) {
    for (const mem of [false, true])
      out.push({
        name: `${mnemonic(0x0f90 + cc)} r/m8${mem ? ' (mem)' : ''}`,
        group: 'cond',
        encode: (input, rng) => [0x0f, 0x90 + cc, ...modrm(0, mem ? 'mem' : anyReg(rng, 8), input)],
        defined: definedBy(0x0f90 + cc),
      });
    for (const s of [16, 32] as Size[])
      for (const mem of [false, true])
        out.push({
          name: `${mnemonic(0x0f40 + cc)} r${s}, r/m${s}${mem ? ' (mem)' : ''}`,
          group: 'cond',
          encode: (input, rng) => [
            ...prefix(s),
            0x0f,
            0x40 + cc,
            ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
          ],
          defined: definedBy(0x0f40 + cc),
        });
  }
  for (const op of [0xb6, 0xbe]) {
    const name = mnemonic(0x0f00 | op);
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
            defined: definedBy(0x0f00 | op),
          });
      }
  }
  /** A form without operands; 0x66 before it selects the table's 16-bit name (CBW, CWD). */
  const plain = (bytes: number[], group = 'misc'): Form => {
    const e = entry(bytes[bytes.length - 1]);
    return {
      name: e.sized ? e.sized[bytes[0] === 0x66 ? 16 : 32] : e.mnemonic,
      group,
      encode: () => bytes,
      defined: definedBy(bytes[bytes.length - 1]),
    };
  };
  out.push(
    plain([0x66, 0x98], 'move'),
    plain([0x98], 'move'),
    plain([0x66, 0x99], 'move'),
    plain([0x99], 'move'),
    ...[0x9f, 0x9e, 0xf8, 0xf9, 0xf5, 0xfc, 0xfd].map((op) => plain([op])),
  );
  // XADD 0F C0/C1, CMPXCHG 0F B0/B1, XCHG 86/87
  for (const s of SIZES)
    for (const mem of [false, true]) {
      for (const op of [0x0fc0, 0x0fb0, 0x86]) {
        const name = mnemonic(op);
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
            return [...prefix(s), 0x0f, (op & 0xff) + (s === 8 ? 0 : 1), ...modrm(r, rm, input)];
          },
          defined: definedBy(op),
        });
      }
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
    defined: definedBy(0x0fc7, 1),
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
    defined: definedBy(0x0fc7, 1),
  });
  return out;
}

// ---- string instructions --------------------------------------------------------------------

/**
 * MOVS A4, CMPS A6, STOS AA, LODS AC, SCAS AE; with REP (F3), or REPE (F3) and REPNE (F2) where the
 * table says the repeat tests ZF.
 */
function strings(): Form[] {
  const out: Form[] = [];
  for (const op of [0xa4, 0xa6, 0xaa, 0xac, 0xae]) {
    const e = entry(op);
    const name = e.mnemonic;
    const reps = e.rep === 'repcc' ? ['', 'repe', 'repne'] : ['', 'rep'];
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
          defined: definedBy(op),
        });
  }
  return out;
}

/**
 * Read-modify-write instructions that accept LOCK when their destination is memory (SDM vol. 2,
 * LOCK): the table's lockable mnemonics, in their r/m forms with a memory operand.
 */
const LOCKABLE = new RegExp(
  `^(${[...new Set(OPCODES.filter((o) => o.lockable).map((o) => o.mnemonic))].join('|')}) r/m\\d+(, (r\\d+|imm\\d+))? \\(mem\\)$`,
);

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
  // New groups go last: the random draws of the groups before them stay as committed.
  return [...all, ...locked(all), ...transfers()];
}

/**
 * The memory operand in a form that means the same in 64-bit mode: ModR/M with a SIB byte of no
 * base and no index, disp32 absolute (mod 00 r/m 101 alone would be RIP-relative there).
 */
function modrmAbs(reg: number, rm: number | 'mem', input: VectorInput): number[] {
  if (rm === 'mem') return [(reg << 3) | 4, 0x25, ...le32(input.slot + MEM_OPERAND)];
  return [0xc0 | (reg << 3) | rm];
}

/**
 * MOV (88–8B, B0–BF, C6/C7 /0), LEA (8D) and XCHG (86, 87, 91–97), every size, register and memory
 * operands — the forms whose bytes mean the same in 64-bit mode, so that a host that runs only
 * 64-bit programs records them (`same64`). PUSH and POP are not among them: in 64-bit mode they
 * move 8 bytes (50–5F, 68, 6A, 8F, FF /6 have no 32-bit form there).
 */
function transfers(): Form[] {
  const out: Form[] = [];
  const form = (name: string, op: number, encode: Form['encode'], digit = 0): Form => ({
    name,
    group: 'transfer',
    encode,
    defined: definedBy(op, digit),
    same64: true,
  });
  const v = (s: Size) => (s === 8 ? 0 : 1);
  for (const s of SIZES)
    for (const mem of [false, true]) {
      const m = mem ? ' (mem)' : '';
      const rm = (input: VectorInput, rng: Rng, reg: number) => modrmAbs(reg, mem ? 'mem' : anyReg(rng, s), input);
      out.push(
        form(`${mnemonic(0x88)} r/m${s}, r${s}${m}`, 0x88, (input, rng) => [
          ...prefix(s),
          0x88 + v(s),
          ...rm(input, rng, anyReg(rng, s)),
        ]),
        form(`${mnemonic(0x8a)} r${s}, r/m${s}${m}`, 0x8a, (input, rng) => [
          ...prefix(s),
          0x8a + v(s),
          ...rm(input, rng, anyReg(rng, s)),
        ]),
        form(`${mnemonic(0xc6, 0)} r/m${s}, imm${s}${m}`, 0xc6, (input, rng) => [
          ...prefix(s),
          0xc6 + v(s),
          ...rm(input, rng, 0),
          ...imm(interesting(rng), s / 8),
        ]),
        form(`${mnemonic(0x86)} r/m${s}, r${s}${m}`, 0x86, (input, rng) => [
          ...prefix(s),
          0x86 + v(s),
          ...rm(input, rng, anyReg(rng, s)),
        ]),
      );
    }
  for (const s of SIZES) {
    out.push(
      form(`${mnemonic(0xb0)} r${s}, imm${s}`, 0xb0, (_input, rng) => [
        ...prefix(s),
        (s === 8 ? 0xb0 : 0xb8) + anyReg(rng, s),
        ...imm(interesting(rng), s / 8),
      ]),
    );
    if (s === 8) continue;
    out.push(
      form(`${mnemonic(0x91)} ${s === 16 ? 'ax' : 'eax'}, r${s}`, 0x91, (_input, rng) => [
        ...prefix(s),
        0x90 + anyReg(rng, s),
      ]),
      // LEA: base + index × scale + disp8 (any base, ESP included: the harness sets it; index not
      // ESP), and a base + disp32; the sum wraps at 32 bits, then the size cuts it.
      form(`${mnemonic(0x8d)} r${s}, [base + index*scale + disp8]`, 0x8d, (_input, rng) => {
        const index = anyReg(rng, 32);
        return [
          ...prefix(s),
          0x8d,
          0x44 | (anyReg(rng, s) << 3),
          (rng.below(4) << 6) | (index << 3) | rng.below(8),
          ...imm(interesting(rng), 1),
        ];
      }),
      form(`${mnemonic(0x8d)} r${s}, [base + disp32]`, 0x8d, (_input, rng) => {
        const base = rng.below(8);
        const sib = base === ESP ? [0x24] : [];
        return [...prefix(s), 0x8d, 0x80 | (anyReg(rng, s) << 3) | base, ...sib, ...le32(interesting(rng))];
      }),
    );
  }
  return out;
}

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7];

function unlocked(): Form[] {
  return [
    // 00–3F: ADD OR ADC SBB AND SUB XOR CMP, then group 1 (80/81/83 /digit) in the same order.
    ...DIGITS.flatMap((d) => aluPair(mnemonic(d * 8), d * 8, definedBy(d * 8))),
    ...DIGITS.flatMap((d) => aluImm(mnemonic(0x80, d), d, definedBy(0x80, d))),
    ...SIZES.flatMap((s) =>
      [false, true].map((mem): Form => ({
        name: `${mnemonic(0x84)} r/m${s}, r${s}${mem ? ' (mem)' : ''}`,
        group: 'alu',
        encode: (input, rng) => [
          ...prefix(s),
          0x84 + (s === 8 ? 0 : 1),
          ...modrm(anyReg(rng, s), mem ? 'mem' : anyReg(rng, s), input),
        ],
        defined: definedBy(0x84),
      })),
    ),
    ...SIZES.flatMap((s) =>
      [false, true].map((mem): Form => ({
        name: `${mnemonic(0xf6, 0)} r/m${s}, imm${s}${mem ? ' (mem)' : ''}`,
        group: 'alu',
        encode: (input, rng) => [
          ...prefix(s),
          0xf6 + (s === 8 ? 0 : 1),
          ...modrm(0, mem ? 'mem' : anyReg(rng, s), input),
          ...imm(interesting(rng), s / 8),
        ],
        defined: definedBy(0xf6, 0),
      })),
    ),
    ...unary(0xf6, 2),
    ...unary(0xf6, 3),
    ...unary(0xfe, 0),
    ...unary(0xfe, 1),
    ...incDecShort(),
    ...shifts(),
    ...muldiv(),
    ...bcd(),
    ...bits(),
    ...condAndMoves(),
    ...strings(),
  ];
}
