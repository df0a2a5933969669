/**
 * The block compiler (src/machine/cpu/blocks.ts) against the interpreter: programs/blocks.S run
 * with every block compiled on first execution (blockThreshold 1), with the default threshold,
 * and with the interpreter alone (-1), and must agree at every run() boundary — registers, EIP,
 * EFLAGS, the instruction count, memory. Also: stores into compiled code (the same block and
 * another one), a fault in the middle of a block, interrupts while a compiled loop runs and from
 * a device written in the middle of a block, and the trace ring.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MmioBus } from '../../src/machine/bus';
import { flatTables, makeRig, type Rig } from './rig';

const programs = new URL('./programs/', import.meta.url);
const BIN = new Uint8Array(readFileSync(new URL('blocks.bin', programs)));
const SYM: Record<string, number> = Object.fromEntries(
  readFileSync(new URL('blocks.sym', programs), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([a, n]) => [n, Number(a)]),
);
const CODE = 0x10000;
const GDT = 0x1000;
const IDT = 0x2000;
const DATA = 0x20000;
const MMIO = 0x40000000;
const IRQ_VECTOR = 0x20;

/** The interpreter alone, every block compiled at once, and the CPU's default threshold. */
const MODES = { interpreter: -1, compiled: 1, default: undefined } as const;
type Mode = keyof typeof MODES;

/** A controller whose request line the test (or a device) raises; INTA takes it. */
class TestPic {
  pending = false;
  hasInterrupt = () => this.pending;
  acknowledge = () => {
    this.pending = false;
    return IRQ_VECTOR;
  };
}

interface Machine {
  rig: Rig;
  pic: TestPic;
  /** Values the program stored to the device at MMIO. */
  deviceWrites: number[];
  data(off: number): number;
}

/** Flat ring 0 with a GDT, #DE and IRQ gates, a device at MMIO; `entry` is the routine to run. */
function machine(entry: string, mode: Mode, device?: (value: number, m: Machine) => void): Machine {
  const pic = new TestPic();
  const mmio = new MmioBus();
  const threshold = MODES[mode];
  // externalCodeWrites false, as on the PC platform: no epoch at every device access hides a
  // missed block exit (the other CPU suites run with the default, true).
  const rig = makeRig(4, pic, {
    mmio,
    externalCodeWrites: false,
    ...(threshold === undefined ? {} : { blockThreshold: threshold }),
  });
  const m: Machine = { rig, pic, deviceWrites: [], data: (off) => rig.u32(DATA + off) };
  rig.p2m.mapMmio(MMIO >>> 12, 1);
  mmio.register(MMIO, 4096, {
    read: () => 0,
    write: (_a, _s, v) => {
      m.deviceWrites.push(v);
      device?.(v, m);
    },
  });
  const gate = flatTables(rig, GDT, IDT);
  gate(0, SYM.de_handler);
  gate(IRQ_VECTOR, SYM.irq_handler);
  rig.load(CODE, BIN);
  rig.setU32(DATA, SYM[entry]);
  rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
  rig.program(`programs/blocks.S ${entry} (${mode})`);
  return m;
}

/** Everything a program can observe or leave behind. */
function snapshot(m: Machine) {
  const c = m.rig.cpu;
  return {
    regs: Array.from(c.reg32),
    eip: c.eip >>> 0,
    eflags: c.getEflags(),
    instructions: c.instructions,
    halted: c.halted,
    data: Array.from(m.rig.memory.u8.subarray(DATA, DATA + 0x80)),
    code: Array.from(m.rig.memory.u8.subarray(CODE, CODE + BIN.length)),
    trace: c.recentEips(63),
  };
}

/** Runs in slices of the given sizes (cycled) until HLT or `limit` instructions. */
function runSlices(m: Machine, slices: number[], limit: number, each?: (k: number) => void) {
  const states = [];
  for (let k = 0; !m.rig.cpu.halted && m.rig.cpu.instructions < limit; k++) {
    each?.(k);
    m.rig.cpu.run(slices[k % slices.length]);
    states.push(snapshot(m));
  }
  return states;
}

const PROGRAMS = ['smc_same', 'smc_other', 'fault_mid', 'mmio_irq', 'flags_loop', 'div_loop'] as const;
/** The device of mmio_irq: raises the interrupt line when the program writes 5. */
const raiseAt5 = (v: number, m: Machine) => {
  if (v === 5) m.pic.pending = true;
};

describe('the block compiler agrees with the interpreter', () => {
  for (const name of PROGRAMS)
    it(`${name}: identical state at every run() boundary, for slices of 1 to 100,000 instructions`, () => {
      for (const slices of [[1], [3, 7, 2], [13], [64, 5], [100_000]]) {
        const ref = runSlices(machine(name, 'interpreter', raiseAt5), slices, 50_000);
        for (const mode of ['compiled', 'default'] as const) {
          const got = runSlices(machine(name, mode, raiseAt5), slices, 50_000);
          expect(got.length, `${mode}, slices ${slices.join()}`).toBe(ref.length);
          for (let k = 0; k < ref.length; k++)
            expect(got[k], `${mode}, slices ${slices.join()}, run ${k}`).toEqual(ref[k]);
        }
        expect(ref[ref.length - 1].halted).toBe(true);
      }
    });

  it('a store into the next instruction of the same compiled block is executed as stored', () => {
    const m = machine('smc_same', 'compiled');
    m.rig.cpu.run(10_000);
    expect(m.rig.cpu.halted).toBe(true);
    expect(m.rig.cpu.reg32[2]).toBe(5050); // 1 + 2 + … + 100: every MOV ran with its new immediate
  });

  it('a store into another, hot, compiled block drops it: the next pass runs the new bytes', () => {
    const m = machine('smc_other', 'compiled');
    m.rig.cpu.run(10_000);
    expect(m.rig.cpu.halted).toBe(true);
    expect(m.rig.cpu.reg32[2]).toBe(49 * 1 + 51 * 7);
  });

  it('a fault in the middle of a compiled block restarts the faulting instruction with the flags and ESP before it', () => {
    const ref = machine('fault_mid', 'interpreter');
    const m = machine('fault_mid', 'compiled');
    for (const x of [ref, m]) {
      x.rig.cpu.run(100_000);
      expect(x.rig.cpu.halted).toBe(true);
    }
    let quotients = 0;
    for (let i = 0; i < 100; i++) quotients += Math.floor(i / 3);
    expect(m.rig.cpu.reg32[7]).toBe(quotients); // every DIV retired once, after its restart
    expect(m.data(0x20)).toBe(2); // two #DE
    expect(m.data(0x28)).toBe(SYM.fault_div); // the saved EIP is the DIV's
    expect(m.data(0x2c)).toBe(ref.data(0x2c)); // ESP in the handler: the PUSH before the DIV happened once
    expect(m.data(0x24)).toBe(ref.data(0x24)); // EFLAGS of the ADD two instructions before
    expect(m.rig.cpu.instructions).toBe(ref.rig.cpu.instructions);
  });

  it('an interrupt raised while a compiled loop runs is delivered at the next run(), where the interpreter delivers it', () => {
    const at: number[][] = [];
    for (const mode of ['interpreter', 'compiled'] as const) {
      const m = machine('hot_loop', mode);
      m.rig.cpu.run(5_000);
      m.pic.pending = true;
      m.rig.cpu.run(2_000);
      m.rig.cpu.run(2_000);
      expect(m.data(0x30)).toBe(1);
      at.push([m.data(0x34), m.data(0x40), m.rig.cpu.instructions, m.rig.cpu.reg32[1]]);
    }
    expect(at[1]).toEqual(at[0]);
  });

  it('an interrupt a device raises during a store in a compiled block is delivered right after that store', () => {
    const m = machine('mmio_irq', 'compiled', raiseAt5);
    m.rig.cpu.run(10_000);
    expect(m.rig.cpu.halted).toBe(true);
    expect(m.deviceWrites).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(m.data(0x30)).toBe(1);
    expect(m.data(0x34)).toBe(SYM.mmio_after_store);
  });

  it('the trace still agrees after its table of block EIPs starts over (compiled blocks dropped with it)', () => {
    const ref = machine('smc_other', 'interpreter');
    const m = machine('smc_other', 'compiled');
    for (const x of [ref, m]) x.rig.cpu.run(200);
    const cpu = m.rig.cpu as unknown as { traceId(e: Int32Array): number; blockTraceEips: Int32Array[] };
    const before = cpu.blockTraceEips.length;
    expect(before).toBeGreaterThan(1);
    // Hand out ids until the table starts over: the blocks compiled so far go with it.
    while (cpu.blockTraceEips.length >= before) cpu.traceId(Int32Array.of(0));
    for (const x of [ref, m]) x.rig.cpu.run(133);
    expect(snapshot(m)).toEqual(snapshot(ref));
    expect(m.rig.cpu.recentEips(63).length).toBe(63);
  });

  it('the trace ring shows the last instructions of a compiled loop, in order', () => {
    const ref = machine('smc_other', 'interpreter');
    const m = machine('smc_other', 'compiled');
    for (const x of [ref, m]) x.rig.cpu.run(333);
    const trace = m.rig.cpu.trace!(40);
    expect(trace).toEqual(ref.rig.cpu.trace!(40));
    expect(trace.length).toBe(40);
  });
});
