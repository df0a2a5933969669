/**
 * Random programs of the forms the decoded cache runs itself, for the block compiler's tests
 * (blocks-random.test.ts, block-templates.test.ts): register and memory ALU forms including
 * ADC/SBB, MOV, LEA, INC/DEC, shifts by an immediate and by CL, rotates, NEG/NOT, MUL, IMUL,
 * SETcc, CMOVcc, MOVZX/MOVSX, TEST, PUSH/POP, BSF/BSR, BSWAP, forward Jcc, the byte forms, and the generic forms
 * the compiler inlines (byte and word MOV, MOVZX/MOVSX and IMUL from memory, INC/DEC of a dword
 * in memory, word shifts of a register; misaligned operands too), all inside loops (so that
 * flags and counts cross the passes of a compiled loop); and a runner that records the state at
 * every run() boundary.
 */
import { fuzzRng, type FuzzRng } from './fuzz';
import { makeRig, type Rig } from './rig';

export const CODE = 0x10000;
export const DATA = 0x30000;
/** Registers a random instruction may write: not ESP (the stack), EBX (the data pointer), EBP (the loop counter). */
const DST = [0, 1, 2, 6, 7];
const ANY = [0, 1, 2, 3, 5, 6, 7];

function pick<T>(rng: FuzzRng, a: readonly T[]): T {
  return a[rng.below(a.length)];
}
const imm32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const INTERESTING = [0, 1, 2, 31, 32, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

/** One random instruction of a cached form. */
export function randomInsn(rng: FuzzRng): number[] {
  const d = pick(rng, DST);
  const s = pick(rng, ANY);
  const disp = rng.below(32) * 4; // [ebx + disp8], inside the data area
  const v = rng.below(3) === 0 ? pick(rng, INTERESTING) : rng.u32();
  const b8 = pick(rng, [0, 1, 2, 4, 5, 6]); // a byte register that is not BL or BH (EBX)
  const mem = 0x43 | (rng.below(8) << 3); // [ebx+disp8] with a reg field to be replaced
  const odd = disp + rng.below(4); // a misaligned word or dword is fine too
  switch (rng.below(45)) {
    case 29: // MOV r8, [mem] / MOV [mem], r8 / MOV r/m8, imm8 / MOV r8, r8
      return pick(rng, [
        [0x8a, (mem & 0xc7) | (b8 << 3), odd],
        [0x88, (mem & 0xc7) | (pick(rng, [0, 1, 2, 3, 4, 5, 6, 7]) << 3), odd],
        [0xc6, mem & 0xc7, odd, rng.below(256)],
        [0xc6, 0xc0 | b8, rng.below(256)],
        [0x88, 0xc0 | (rng.below(8) << 3) | b8],
      ]);
    case 30: // MOV r16, [mem] / MOV [mem], r16 / MOV r/m16, imm16 / MOV r16, r16 (0x66)
      return pick(rng, [
        [0x66, 0x8b, (mem & 0xc7) | (d << 3), odd],
        [0x66, 0x89, (mem & 0xc7) | (s << 3), odd],
        [0x66, 0xc7, mem & 0xc7, odd, rng.below(256), rng.below(256)],
        [0x66, 0xc7, 0xc0 | d, rng.below(256), rng.below(256)],
        [0x66, 0x89, 0xc0 | (s << 3) | d],
      ]);
    case 31: // MOVZX/MOVSX r32, byte or word [mem]
      return [0x0f, pick(rng, [0xb6, 0xb7, 0xbe, 0xbf]), (mem & 0xc7) | (d << 3), odd];
    case 32: // IMUL r32, [mem]
      return [0x0f, 0xaf, (mem & 0xc7) | (d << 3), odd];
    case 33: // INC/DEC dword [mem]
      return [0xff, (mem & 0xc7) | (rng.below(2) << 3), odd];
    case 34: // INC/DEC dword [mem], then a condition that reads CF (kept) and ZF/SF
      return [0xff, (mem & 0xc7) | (rng.below(2) << 3), odd, 0x0f, 0x90 | rng.below(16), 0xc0 | b8];
    case 35: // a word register shifted or rotated by an immediate, by 1 or by CL (0x66)
      return pick(rng, [
        [0x66, 0xc1, 0xc0 | (rng.below(8) << 3) | d, rng.below(40)],
        [0x66, 0xd1, 0xc0 | (rng.below(8) << 3) | d],
        [0x66, 0xd3, 0xc0 | (rng.below(8) << 3) | d],
      ]);
    case 37: // byte ALU forms on memory and AL, TEST r/m8 (then a condition read by SETcc)
      return [
        ...pick(rng, [
          [(rng.below(8) << 3) | 0, (mem & 0xc7) | (pick(rng, [0, 1, 2, 3, 4, 5, 6, 7]) << 3), odd],
          [(rng.below(8) << 3) | 2, (mem & 0xc7) | (b8 << 3), odd],
          [(rng.below(8) << 3) | 4, rng.below(256)],
          [0x80, (mem & 0xc7) | (rng.below(8) << 3), odd, rng.below(256)],
          [0x80, 0xc0 | (rng.below(8) << 3) | b8, rng.below(256)],
          [0x84, (mem & 0xc7) | (rng.below(8) << 3), odd],
          [0x84, 0xc0 | (rng.below(8) << 3) | b8],
          [0xf6, mem & 0xc7, odd, rng.below(256)],
          [0xa8, rng.below(256)],
        ]),
        0x0f,
        0x90 | rng.below(16),
        0xc0 | b8,
      ];
    case 38: // word ALU forms (0x66) on registers and memory, TEST r/m16, r16
      return pick(rng, [
        [0x66, (rng.below(8) << 3) | 1, (mem & 0xc7) | (s << 3), odd],
        [0x66, (rng.below(8) << 3) | 3, (mem & 0xc7) | (d << 3), odd],
        [0x66, (rng.below(8) << 3) | 1, 0xc0 | (s << 3) | d],
        [0x66, 0x83, (mem & 0xc7) | (rng.below(8) << 3), odd, rng.below(256)],
        [0x66, 0x81, 0xc0 | (rng.below(8) << 3) | d, rng.below(256), rng.below(256)],
        [0x66, 0x85, (mem & 0xc7) | (s << 3), odd],
      ]);
    case 39: // SETcc byte [mem], CMOVcc r32, [mem]
      return rng.below(2)
        ? [0x0f, 0x90 | rng.below(16), mem & 0xc7, odd]
        : [0x0f, 0x40 | rng.below(16), (mem & 0xc7) | (d << 3), odd];
    case 40: {
      // TEST dword [mem], imm32 / TEST r32, imm32 (F7 /0), then a condition
      const onMem = rng.below(2) === 0;
      return [0xf7, ...(onMem ? [mem & 0xc7, odd] : [0xc0 | d]), ...imm32(v), 0x0f, 0x90 | rng.below(16), 0xc0 | b8];
    }
    case 41: // CMP byte [mem], imm8 then a conditional branch over the next byte instruction
      return [0x80, (mem & 0xc7) | (7 << 3), odd, rng.below(256), 0x70 | rng.below(16), 2, 0x04, rng.below(256)];
    case 36: // a byte loaded, then used by an ALU operation and a condition
      return [
        0x8a,
        (mem & 0xc7) | (b8 << 3),
        odd,
        0x00,
        0xc0 | (b8 << 3) | pick(rng, [0, 1, 2, 4, 5, 6]),
        0x0f,
        0x90 | rng.below(16),
        0xc0 | b8,
      ];
    case 0:
      return [(rng.below(8) << 3) | 1, 0xc0 | (s << 3) | d]; // ALU r/m32, r32 (register)
    case 1:
      return [(rng.below(8) << 3) | 3, 0xc0 | (d << 3) | s]; // ALU r32, r/m32
    case 2:
      return [0x83, 0xc0 | (rng.below(8) << 3) | d, rng.below(256)]; // ALU r, imm8
    case 3:
      return [0x81, 0xc0 | (rng.below(8) << 3) | d, ...imm32(v)];
    case 4:
      return [0x03 | (rng.below(8) << 3), 0x43 | (d << 3), disp]; // ALU r, [ebx+disp8]
    case 5:
      return [0x01 | (rng.below(8) << 3), 0x43 | (s << 3), disp]; // ALU [ebx+disp8], r
    case 6:
      return [0x83, 0x43 | (rng.below(8) << 3), disp, rng.below(256)]; // ALU [ebx+disp8], imm8
    case 7:
      return [0xb8 + d, ...imm32(v)]; // MOV r, imm32
    case 8:
      return rng.below(2) ? [0x8b, 0x43 | (d << 3), disp] : [0x89, 0x43 | (s << 3), disp];
    case 9:
      // LEA r, [base + index*scale] (base EBP with mod 00 would mean disp32: not used)
      return [0x8d, 0x04 | (d << 3), (rng.below(4) << 6) | (s << 3) | pick(rng, [0, 1, 2, 3, 6, 7])];
    case 10:
      return [rng.below(2) ? 0x40 + d : 0x48 + d]; // INC/DEC
    case 11:
      return [0xc1, 0xc0 | (pick(rng, [0, 1, 4, 5, 7]) << 3) | d, rng.below(40)]; // ROL ROR SHL SHR SAR imm
    case 12:
      return [0xd3, 0xc0 | (pick(rng, [0, 1, 2, 3, 4, 5, 7]) << 3) | d]; // by CL (RCL/RCR too)
    case 13:
      return [0xd1, 0xc0 | (pick(rng, [0, 1, 4, 5, 7]) << 3) | d]; // by 1 (ROL/ROR too)
    case 14:
      return [0xf7, 0xc0 | (pick(rng, [2, 3, 4]) << 3) | d]; // NOT NEG MUL
    case 15:
      return rng.below(2) ? [0x6b, 0xc0 | (d << 3) | s, rng.below(256)] : [0x0f, 0xaf, 0xc0 | (d << 3) | s]; // IMUL
    case 16:
      return [0x0f, 0x90 | rng.below(16), 0xc0 | pick(rng, [0, 1, 2, 4, 5, 6])]; // SETcc AL/CL/DL/AH/CH/DH
    case 17:
      return [0x0f, 0x40 | rng.below(16), 0xc0 | (d << 3) | s]; // CMOVcc
    case 18:
      return [0x0f, pick(rng, [0xb6, 0xb7, 0xbe, 0xbf]), 0xc0 | (d << 3) | s]; // MOVZX/MOVSX
    case 19:
      return rng.below(2) ? [0x85, 0xc0 | (s << 3) | d] : [0xa9, ...imm32(v)]; // TEST
    case 20:
      return [0x50 + s, 0x58 + d]; // PUSH, POP
    case 21:
      return [(rng.below(8) << 3) | 0, 0xc0 | (s << 3) | pick(rng, [0, 1, 2, 4, 5, 6])]; // ALU r/m8, r8
    case 22:
      return [0x0f, 0xb6, 0x43 | (d << 3), disp]; // MOVZX r, byte [ebx+disp8]
    case 23:
      return [0x99]; // CDQ
    case 25: // an ALU operation on interesting values, then a condition read at once (lazy flags inline)
      return [
        0xb8 + d,
        ...imm32(pick(rng, INTERESTING)),
        0x81,
        0xc0 | (pick(rng, [0, 1, 4, 5, 6, 7]) << 3) | d,
        ...imm32(pick(rng, INTERESTING)),
        0x0f,
        0x90 | rng.below(16),
        0xc0 | pick(rng, [0, 1, 2, 4, 5, 6]),
      ];
    case 26:
      return [
        (pick(rng, [0, 1, 4, 5, 6, 7]) << 3) | 1,
        0xc0 | (s << 3) | d,
        0x0f,
        0x40 | rng.below(16),
        0xc0 | (d << 3) | s,
      ];
    case 27:
      return [0x40 + d, 0x0f, 0x90 | rng.below(16), 0xc0 | pick(rng, [0, 1, 2, 4, 5, 6])]; // INC then SETcc
    case 24:
      return [0x83, 0xf8 | d, rng.below(256), 0x70 | rng.below(16), 0x00]; // CMP r, imm8; Jcc +0
    case 42: {
      // BSF/BSR r32, r32 (F3 0F BC is BSF here: no BMI1) of an interesting value (0 leaves the
      // destination and sets ZF), then either a condition that reads ZF or an ALU operation that
      // replaces the flags (the compiler then skips ZF).
      const z = pick(rng, DST);
      return [
        0xb8 + z,
        ...imm32(pick(rng, INTERESTING)),
        ...(rng.below(3) === 0 ? [0xf3] : []),
        0x0f,
        0xbc | rng.below(2),
        0xc0 | (d << 3) | z,
        ...(rng.below(2) ? [0x0f, 0x90 | rng.below(16), 0xc0 | b8] : [0x31, 0xc0 | (s << 3) | d]),
      ];
    }
    case 43: // BSF/BSR r32 or r16 (0x66), [mem]
      return [...(rng.below(3) === 0 ? [0x66] : []), 0x0f, 0xbc | rng.below(2), (mem & 0xc7) | (d << 3), odd];
    case 44: // BSWAP r32
      return [0x0f, 0xc8 + d];
    default:
      return [0x6a, rng.below(256), 0x8f, 0xc0 | d]; // PUSH imm8; POP r (8F /0)
  }
}

/** loops × (mov ebp, n; L: body; forward Jccs; dec ebp; jnz L), then HLT. */
export function randomProgram(rng: FuzzRng): number[] {
  const out: number[] = [];
  for (let loop = 0; loop < 3; loop++) {
    out.push(0xbd, ...imm32(1 + rng.below(40))); // mov ebp, n
    const body: number[] = [];
    const n = 2 + rng.below(14);
    for (let i = 0; i < n; i++) {
      const ins = randomInsn(rng);
      if (rng.below(6) === 0) body.push(0x70 | rng.below(16), ins.length); // Jcc over the next one
      body.push(...ins);
    }
    body.push(0x4d); // dec ebp
    out.push(...body, 0x75, -(body.length + 2) & 0xff); // jnz L
  }
  out.push(0xf4);
  return out;
}

/** What a caller may add to runProgram: tables to set up before the start, a look at the CPU after the end. */
export interface RunOptions {
  setup?: (rig: Rig) => void;
  after?: (rig: Rig) => void;
}

/** Runs `code` at CODE (EBX = DATA, 256 random bytes; ESP = 0x9000) in slices; the state after each. */
export function runProgram(
  code: number[],
  seed: number,
  blockThreshold: number,
  slices: number[],
  opts: RunOptions = {},
) {
  const rig = makeRig(4, undefined, { blockThreshold });
  rig.load(CODE, code);
  const rng = fuzzRng(seed ^ 0x5eed);
  for (let i = 0; i < 256; i += 4) rig.setU32(DATA + i, rng.u32());
  const regs: Record<string, number> = {};
  for (const r of ['eax', 'ecx', 'edx', 'esi', 'edi']) regs[r] = rng.u32();
  rig.cpu.enterProtectedModeFlat(CODE, { ...regs, ebx: DATA, esp: 0x9000 });
  rig.cpu.setEflags(rng.u32() & 0x8d5);
  opts.setup?.(rig);
  rig.program(`the program of seed ${seed} (block threshold ${blockThreshold})`);
  const states: unknown[] = [];
  for (let k = 0; k < 4_000 && !rig.cpu.halted; k++) {
    rig.cpu.run(slices[k % slices.length]);
    states.push({
      regs: Array.from(rig.cpu.reg32),
      eip: rig.cpu.eip >>> 0,
      eflags: rig.cpu.getEflags(),
      instructions: rig.cpu.instructions,
      halted: rig.cpu.halted,
      data: Array.from(rig.memory.u8.subarray(DATA, DATA + 256)),
      stack: Array.from(rig.memory.u8.subarray(0x9000 - 64, 0x9000)),
      // The last 63 instructions: blocks leave records that the trace merges with the interpreter's.
      trace: rig.cpu.recentEips(63),
    });
  }
  opts.after?.(rig);
  return states;
}

export const rigHalted = (states: unknown[]) => (states[states.length - 1] as { halted: boolean }).halted;
