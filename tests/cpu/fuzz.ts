/**
 * CPU fuzzing: random instruction bytes from random machine states — real mode from reset,
 * protected mode flat with paging off, and protected mode with paging on over random page tables
 * and a random IDT. The CPU must never throw a host exception; every run() ends in one of the
 * RunExit outcomes with sane registers. Used by fuzz.test.ts (bounded) and tools/fuzz-cpu.ts.
 */
import { P2M_R, P2M_W } from '../../src/machine/hv/p2m';
import { makeRig, RunExit, type Rig } from './rig';

export interface FuzzRng {
  u32(): number;
  below(n: number): number;
}

export function fuzzRng(seed: number): FuzzRng {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return { u32, below: (n) => u32() % n };
}

/** Bytes that make decoding interesting: prefixes, escapes (the x87's too, and FWAIT), ModR/M-heavy opcodes. */
const FAVOURITES = [
  0x0f, 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x8e, 0x8c, 0xcd, 0xcf, 0xca, 0xcb, 0x9a,
  0xea, 0xff, 0xc7, 0x01, 0x00, 0x22, 0x20, 0xa5, 0xa7, 0xab, 0xad, 0xaf, 0xd4, 0xd5, 0x62, 0x63, 0xc8, 0xc9, 0xe4,
  0xec, 0xee, 0x6c, 0x6e, 0x17, 0x1f, 0x07, 0x9d, 0xfa, 0xfb, 0xf4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
  0x9b,
];

function randomCode(rng: FuzzRng, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++)
    out[i] = rng.below(3) === 0 ? FAVOURITES[rng.below(FAVOURITES.length)] : rng.below(256);
}

export type FuzzMode = 'real' | 'flat' | 'paged' | 'vm86';
export const FUZZ_MODES: readonly FuzzMode[] = ['real', 'flat', 'paged', 'vm86'];

export interface FuzzOutcome {
  mode: FuzzMode;
  seed: number;
  exits: (number | string)[];
}

const CODE = 0x10000;
const PD = 0x200000;

/**
 * One fuzz case on a fresh machine. Throws (a test failure) only when the CPU threw or broke
 * one of its invariants; the message says how to replay.
 */
export function fuzzCase(seed: number, mode: FuzzMode, instructions = 2000, rig: Rig = makeRig(4)): FuzzOutcome {
  const rng = fuzzRng(seed);
  const { cpu, memory } = rig;
  const ram = memory.layout.ramBytes;
  const exits: (number | string)[] = [];
  const valid = new Set(Object.values(RunExit));
  try {
    // Random bytes over the low megabyte and the code area: whatever the CPU jumps to is garbage too.
    randomCode(rng, memory.u8.subarray(0, 0x110000));
    if (mode === 'real') {
      // The reset vector (linear 0xFFFFFFF0) reads from a RAM frame full of random bytes.
      rig.p2m.map(0xfffff, 0xf0, 1, P2M_R | P2M_W);
      cpu.reset();
    } else {
      const regs: Record<string, number> = {};
      for (const r of ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi']) regs[r] = rng.u32() | 0;
      if (rng.below(2)) regs.esp = (0x8000 + rng.below(0x8000)) & ~3;
      let entry = CODE + rng.below(0x1000);
      if (mode === 'paged') {
        // Page tables with random entries (present bits biased on), identity for the stub page.
        for (let i = 0; i < 1024; i++) {
          const pt = PD + 0x1000 * (1 + (i & 7));
          rig.setU32(PD + 4 * i, (pt | (rng.u32() & 0xfff) | (rng.below(4) ? 1 : 0)) >>> 0);
        }
        for (let t = 1; t <= 8; t++)
          for (let i = 0; i < 1024; i++)
            rig.setU32(PD + 0x1000 * t + 4 * i, ((rng.below(ram >>> 12) << 12) | (rng.u32() & 0xfff)) >>> 0);
        // Identity-map the stub and code pages (PDE 0 → table 1).
        rig.setU32(PD, (PD + 0x1000) | 7);
        for (let i = 0; i < 0x20; i++) rig.setU32(PD + 0x1000 + 4 * i, (i << 12) | 7);
        // Stub at CODE: load CR3, set CR0.PG|WP (random), maybe CR4.PSE, then jump into the garbage.
        const stub = [
          0xb8,
          ...le32(PD),
          0x0f,
          0x22,
          0xd8, // mov $PD, %eax; mov %eax, %cr3
          0x0f,
          0x20,
          0xe0,
          0x0d,
          ...le32(rng.below(2) ? 0x10 : 0),
          0x0f,
          0x22,
          0xe0, // cr4 |= PSE?
          0x0f,
          0x20,
          0xc0,
          0x0d,
          ...le32(0x80000000 | (rng.below(2) ? 0x10000 : 0)),
          0x0f,
          0x22,
          0xc0,
          0xe9,
          ...le32(rng.below(0x1000) + 0x100 - 35), // jmp into the random bytes (the stub is 35 bytes)
        ];
        memory.u8.set(stub, CODE);
        entry = CODE;
      }
      if (mode === 'vm86') {
        vm86Monitor(rng, rig);
        entry = CODE;
      }
      cpu.enterProtectedModeFlat(entry, regs);
      cpu.setEflags((rng.u32() & 0x0cd5) | 2); // arithmetic flags, DF, OF; not TF (would trap at once)
    }
    rig.program(`fuzz case ${seed} (${mode})`);
    for (let slice = 0; slice < 4; slice++) {
      const before = cpu.instructions;
      const exit = cpu.run(instructions / 4);
      exits.push(exit);
      if (!valid.has(exit)) throw new Error(`run() returned ${String(exit)}, not a RunExit`);
      if (!Number.isFinite(cpu.instructions) || cpu.instructions < before)
        throw new Error(`instruction count went from ${before} to ${cpu.instructions}`);
      if (!Number.isInteger(cpu.eip)) throw new Error(`eip is ${cpu.eip}`);
      if (exit === RunExit.TRIPLE_FAULT || (exit === RunExit.HLT && !cpu.interruptFlag)) break;
    }
  } catch (e) {
    const trace = (() => {
      try {
        return cpu.trace?.(8).join('\n    ') ?? '';
      } catch {
        return '(trace failed)';
      }
    })();
    throw new Error(
      `fuzz case seed ${seed} mode ${mode}: ${(e as Error).stack ?? String(e)}\n  last instructions:\n    ${trace}`,
      { cause: e },
    );
  }
  return { mode, seed, exits };
}

/**
 * A ring-0 monitor for random VM86 code, above the random low megabyte (VM86 cannot address it):
 * a GDT (flat code/data, a TSS with a random I/O bitmap, ring-3 code), an IDT of random gates
 * (interrupt or trap, DPL 0 or 3, to ring 0 or ring 3, some task gates to the busy TSS) whose
 * handlers step the saved EIP by one byte and IRET back into VM86, and a stub at CODE that loads
 * GDTR, IDTR, TR and IRETs into VM86 with random selectors, IOPL and arithmetic flags.
 */
function vm86Monitor(rng: FuzzRng, rig: Rig): void {
  const G = 0x300000;
  const TSS = G + 0x100;
  const IDT = G + 0x800;
  const HANDLER = G + 0x400;
  const put = (at: number, lo: number, hi: number) => {
    rig.setU32(at, lo);
    rig.setU32(at + 4, hi);
  };
  put(G + 0x08, 0xffff, 0x00cf9a00); // ring-0 code, flat
  put(G + 0x10, 0xffff, 0x00cf9200); // ring-0 data, flat
  put(G + 0x18, ((TSS & 0xffff) << 16) | 0x2069, 0x00008900 | ((TSS >>> 16) & 0xff)); // TSS, limit 0x2069
  put(G + 0x20, 0xffff, 0x00cffa00); // ring-3 code, flat
  rig.setU32(TSS + 4, 0x380000); // ESP0
  rig.setU32(TSS + 8, 0x10); // SS0
  rig.dv.setUint16(TSS + 0x66, 0x68, true);
  for (let i = 0; i < 0x2001; i++) rig.memory.u8[TSS + 0x68 + i] = rng.below(4) ? 0 : rng.below(256);
  // inc dword [esp]; iret — and with an error code: add esp, 4 first.
  rig.load(HANDLER, [0xff, 0x04, 0x24, 0xcf]);
  rig.load(HANDLER + 0x10, [0x83, 0xc4, 0x04, 0xff, 0x04, 0x24, 0xcf]);
  for (let v = 0; v < 256; v++) {
    const withError = v === 8 || (v >= 10 && v <= 14) || v === 17;
    const target = rng.below(8) === 0 ? 0x23 : 0x08;
    const type = rng.below(10) === 0 ? 0x5 : rng.below(2) ? 0xe : 0xf;
    const off = HANDLER + (withError ? 0x10 : 0);
    const dpl = rng.below(2) ? 3 : 0;
    put(
      IDT + 8 * v,
      ((type === 0x5 ? 0x18 : target) << 16) | (off & 0xffff),
      (off & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8),
    );
  }
  rig.dv.setUint16(G + 0xf00, 0x27, true);
  rig.setU32(G + 0xf02, G);
  rig.dv.setUint16(G + 0xf08, 0x7ff, true);
  rig.setU32(G + 0xf0a, IDT);
  const eflags = 0x20002 | (rng.below(2) ? 0x3000 : 0) | (rng.u32() & 0x0ad5);
  const frame = [rng.below(0x10000), rng.below(0x10000), eflags, rng.u32(), rng.below(0x10000)];
  for (let i = 0; i < 4; i++) frame.push(rng.below(0x10000)); // ES DS FS GS
  const stub = [0x0f, 0x01, 0x15, ...le32(G + 0xf00), 0x0f, 0x01, 0x1d, ...le32(G + 0xf08)];
  stub.push(0x66, 0xb8, 0x18, 0x00, 0x0f, 0x00, 0xd8); // mov ax, 0x18; ltr ax
  for (let i = frame.length - 1; i >= 0; i--) stub.push(0x68, ...le32(frame[i])); // push GS … EIP
  stub.push(0xcf); // iret
  rig.memory.u8.set(stub, CODE);
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
