/**
 * A bare machine for CPU tests: RAM identity-mapped in the p2m, a port log, no interrupts. The CPU
 * is imported statically: a test of a CPU that is not there, or has moved, fails to compile and
 * run — it is never skipped.
 */
import { afterAll, beforeAll, describe, expect, vi } from 'vitest';
import { Cpu, RunExit as CpuRunExit, type CpuEnv } from '../../src/machine/cpu/cpu';
import { MachineMemory } from '../../src/machine/memory';
import { IoBus, MmioBus, type AccessSize, type InterruptController } from '../../src/machine/bus';
import { P2m, P2M_R, P2M_W, S2Verdict } from '../../src/machine/hv/p2m';
import { PAGE_SHIFT } from '../../src/shared/layout';
import { QEMU_RUN_EXIT, QemuCpu } from './qemu-cpu';

/** CPU_ORACLE=qemu: run the hand-written programs under QEMU instead (checks the tests themselves). */
const useQemu = process.env.CPU_ORACLE === 'qemu';

/** RunExit values by name (BUDGET, HLT, TRIPLE_FAULT, STOPPED): the CPU's, or QEMU's stand-in's. */
export const RunExit: Record<keyof typeof CpuRunExit, number | string> = useQemu ? QEMU_RUN_EXIT : CpuRunExit;

/** The CPU's decoder of the cached forms (CpuDecoder, protected: reached here on purpose). */
export interface Decoder {
  decodeForm(q: Uint8Array): number;
  fuseJcc(w0: number, q: Uint8Array, avail: number): number;
  dLen: number;
  dW1: number;
  dDisp: number;
  dImm: number;
  dEip: number;
  dCode32: boolean;
}

export interface PortWrite {
  port: number;
  size: AccessSize;
  value: number;
}

export interface Rig {
  memory: MachineMemory;
  p2m: P2m;
  io: IoBus;
  cpu: Cpu;
  dv: DataView;
  /** Every write to ports 0x80 and 0xE9 (the tests' and the bench's reporting ports). */
  portWrites: PortWrite[];
  u32(addr: number): number;
  setU32(addr: number, v: number): void;
  load(addr: number, bytes: ArrayLike<number>): void;
  /**
   * A new program starts (its name for the budget's message; `budget` instructions from now, or
   * INSTRUCTION_BUDGET): enterProtectedModeFlat() and reset() start one too, named by the test.
   */
  program(name: string, budget?: number): void;
}

/**
 * The most work one test program may cost, in instructions (retired, or exceptions delivered by a
 * run() that used its whole slice): five times what the hungriest program of the suites needs
 * (lazyflags', 0.9 million), so that a wrong instruction which makes a program loop
 * forever fails its test within seconds instead of hanging the run — vitest's timeout cannot
 * interrupt a synchronous loop. A test that means to run longer passes its own budget to program().
 */
export const INSTRUCTION_BUDGET = 5_000_000;

/**
 * Makes every run() of `cpu` count against the current program's budget and throw, naming the
 * program (or the test) and where the CPU is, once the budget is spent. A run() that returns
 * BUDGET spent its whole slice (retiring instructions or, in a guest whose handlers fault forever,
 * delivering exceptions: those retire nothing, so `instructions` alone would not see that loop).
 */
function budgetRuns(cpu: Cpu): (name: string, budget?: number) => void {
  let name = '';
  let budget = INSTRUCTION_BUDGET;
  let spent = 0;
  const start = (n: string, b = INSTRUCTION_BUDGET) => {
    name = n;
    budget = b;
    spent = 0;
  };
  const testName = () => expect.getState().currentTestName ?? 'a CPU test program';
  const run = cpu.run.bind(cpu);
  cpu.run = (n: number) => {
    const before = cpu.instructions;
    const exit = run(n);
    spent += Math.max(cpu.instructions - before, exit === CpuRunExit.BUDGET ? n : 0);
    if (spent > budget)
      throw new Error(
        `${name || testName()}: no end after ${spent} instructions (budget ${budget}; EIP ${hex32(cpu.eip)}, CS ${hex32(cpu.segSel[1])}, halted ${cpu.halted}): an instruction's semantics are wrong, or the program loops`,
      );
    return exit;
  };
  for (const method of ['enterProtectedModeFlat', 'reset'] as const) {
    const f = cpu[method].bind(cpu) as (...args: unknown[]) => void;
    (cpu[method] as (...args: unknown[]) => void) = (...args) => {
      f(...args);
      start('');
    };
  }
  return start;
}

/**
 * The CPU's execution modes that describeCpu() runs a suite in: the interpreter alone (the block
 * compiler off), and every block compiled on its first execution (so that a bug in generated code
 * fails the same tests). CPU_BLOCKS=interpreter or CPU_BLOCKS=compiled runs only that one.
 */
export const CPU_MODES = [
  { name: 'interpreter', blockThreshold: -1 },
  { name: 'compiled', blockThreshold: 1 },
].filter((m) => !process.env.CPU_BLOCKS || process.env.CPU_BLOCKS === m.name);
export type CpuMode = (typeof CPU_MODES)[number];
/** The mode makeRig() gives new CPUs (undefined: the CPU's own default threshold). */
let currentMode: CpuMode | undefined;

/**
 * describe() once per CPU mode ("title [interpreter]", "title [compiled]"): the mode holds while
 * the suite's body is collected (suites that run their machine there) and while its tests run.
 */
export function describeCpu(title: string, body: () => void): void {
  for (const m of CPU_MODES)
    describe(`${title} [${m.name}]`, () => {
      beforeAll(() => void (currentMode = m));
      afterAll(() => void (currentMode = undefined));
      currentMode = m;
      try {
        body();
      } finally {
        currentMode = undefined;
      }
    });
}

export function makeRig(ramMiB = 16, pic?: InterruptController, extraEnv: Partial<CpuEnv> = {}): Rig {
  const memory = new MachineMemory(ramMiB, 8);
  const p2m = new P2m();
  p2m.map(0, 0, memory.layout.ramBytes >>> PAGE_SHIFT, P2M_R | P2M_W);
  const io = new IoBus();
  const portWrites: PortWrite[] = [];
  const logger = {
    read: () => 0xffff_ffff,
    write: (port: number, size: AccessSize, value: number) => void portWrites.push({ port, size, value }),
  };
  io.register(0x80, 1, logger);
  io.register(0xe9, 1, logger);
  const env: CpuEnv = {
    memory,
    p2m,
    io,
    mmio: new MmioBus(),
    pic: pic ?? { hasInterrupt: () => false, acknowledge: () => 0 },
    s2: { onWriteViolation: () => S2Verdict.RETRY },
    tsc: () => 0,
    ...(currentMode ? { blockThreshold: currentMode.blockThreshold } : {}),
    ...extraEnv,
  };
  // The QEMU stand-in answers the part of the Cpu face the hand-written programs' tests read.
  const cpu = useQemu ? (new QemuCpu(env) as unknown as Cpu) : new Cpu(env);
  const program = useQemu ? () => undefined : budgetRuns(cpu);
  const dv = new DataView(memory.sab);
  return {
    memory,
    p2m,
    io,
    cpu,
    dv,
    portWrites,
    u32: (a) => dv.getUint32(a, true),
    setU32: (a, v) => dv.setUint32(a, v >>> 0, true),
    load: (a, bytes) => memory.u8.set(bytes, a),
    program,
  };
}

export const hex32 = (v: number): string => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/** Machine code written as a hex string (two digits a byte, as objdump prints it) → its bytes. */
export const hexBytes = (s: string): number[] => s.match(/../g)!.map((b) => parseInt(b, 16));

/** The little-endian bytes of a dword. */
export const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Machine code that loads the tables flatTables(rig, gdt, idt) built: lgdt [gdt+0x100]; lidt [idt+0x800]. */
export const loadFlatTables = (gdt: number, idt: number): number[] => [
  ...[0x0f, 0x01, 0x15, ...le(gdt + 0x100)],
  ...[0x0f, 0x01, 0x1d, ...le(idt + 0x800)],
];

/** Writes an 8-byte descriptor ([low dword, high dword], e.g. from pm-machine's `segment`) at `addr`. */
export function putDescriptor(rig: Pick<Rig, 'setU32'>, addr: number, [lo, hi]: [number, number]): void {
  rig.setU32(addr, lo);
  rig.setU32(addr + 4, hi);
}

/**
 * Flat ring-0 descriptor tables for hand-assembled tests: a GDT at `gdt` (null, 0x08 code, 0x10
 * data, 4 GiB each) with its LGDT operand at gdt + 0x100, an empty IDT of 256 gates at `idt` with
 * its LIDT operand at idt + 0x800. Returns a setter for 32-bit interrupt gates to 0x08:handler.
 */
export function flatTables(rig: Rig, gdt: number, idt: number): (vector: number, handler: number) => void {
  rig.load(gdt, [
    ...[0, 0, 0, 0, 0, 0, 0, 0],
    ...[0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0], // 0x08 code
    ...[0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0], // 0x10 data
  ]);
  rig.load(gdt + 0x100, [23, 0, ...le(gdt)]);
  rig.load(idt + 0x800, [0xff, 0x07, ...le(idt)]);
  return (v, h) => rig.load(idt + 8 * v, [h & 0xff, (h >> 8) & 0xff, 0x08, 0, 0, 0x8e, (h >> 16) & 0xff, h >>> 24]);
}

/**
 * Runs the rig's CPU through `path` from now on: 'step() alone' makes openWindow refuse, so the
 * interpreter's step() runs every instruction; any other path leaves the decoded cache (and the
 * rig's blocks) as they are. Returns the EIPs of the instructions step() ran, filled as the CPU
 * runs (a test checks that the form it means is not among them on the cached path).
 */
export function runThrough(rig: Rig, path: string): number[] {
  const cpu = rig.cpu as unknown as { step(): void; openWindow(): boolean };
  if (path === 'step() alone') vi.spyOn(cpu, 'openWindow').mockReturnValue(false);
  const slow: number[] = [];
  const step = cpu.step.bind(cpu);
  vi.spyOn(cpu, 'step').mockImplementation(() => {
    slow.push(rig.cpu.eip);
    step();
  });
  return slow;
}

/** An instruction under test (it must not reach step()), or bytes that may (set-up, the final HLT). */
export type FormPart = number[] | { t: number[] };

/**
 * Loads `parts` at `at`, followed by a HLT; `stepOnly`: the decoded cache opens no window, so
 * step() runs everything. Returns the addresses of the instructions under test (the `{ t }` parts).
 */
export function loadForms(rig: Rig, at: number, parts: FormPart[], stepOnly = false): Set<number> {
  if (stepOnly) vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);
  const code: number[] = [];
  const tested = new Set<number>();
  for (const p of parts) {
    if (!Array.isArray(p)) tested.add(at + code.length);
    code.push(...(Array.isArray(p) ? p : p.t));
  }
  rig.load(at, [...code, 0xf4]);
  return tested;
}

/** Runs the rig's CPU to its HLT; returns the EIPs among `tested` that step() ran. */
export function runToHlt(rig: Rig, tested: Set<number>): number[] {
  const slow: number[] = [];
  const cpu = rig.cpu as unknown as { step(): void };
  const step = cpu.step.bind(cpu);
  vi.spyOn(cpu, 'step').mockImplementation(() => {
    if (tested.has(rig.cpu.eip >>> 0)) slow.push(rig.cpu.eip >>> 0);
    step();
  });
  for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(10_000);
  expect(rig.cpu.halted, 'the program ends in its HLT').toBe(true);
  return slow;
}
