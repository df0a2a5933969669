/**
 * npm run bench:hv — what dirty-VRAM tracking costs the guest.
 *
 * Runs the toy guest's `scroll` workload (a terminal scrolling continuously: memmove of the
 * framebuffer, many pages dirty every frame) in Node on the icount clock — or, where the toy guest
 * cannot boot (no Multiboot loader or no image in this tree), a built-in scroll loop on the bare
 * CPU with the hypervisor (see bareCpuSubject; the JSON's `subject` says which) — twice per round: once
 * with a client calling trackDirtyVram at 30 Hz of machine time over the displayed range (display
 * start to start + height × line length, page-aligned, as the ioemu does), once with tracking off.
 * Rounds alternate the two so that drift on a shared host hits both alike; each side keeps its best
 * round (the least disturbed by other processes). Prints a table and writes bench-results/hv.json:
 *   mipsTrackingOff, mipsTrackingOn  — guest instructions per host µs over the whole run
 *   trackingOverheadPct              — (mipsTrackingOff / mipsTrackingOn − 1) × 100   (bar: ≤ 3)
 *   hvPct                            — hypervisor time (F64.HV_MS) as % of the tracked run's host time
 *   trap: { mips, slowdown, faultsPerS, usPerFault, hvPct } — the same client with the hypervisor
 *     in trap mode (every store to the displayed range faults), over a tenth of the guest time
 *     (it runs that much slower): the cost the seed's design moved onto the guest, without a browser
 *
 * Options: --kernel FILE (default public/guest/hvmos.elf), --workload NAME (scroll), --seconds S
 * of guest time per run (3), --rounds N (3), --hz H (30).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MachineConfig, Result } from '../src/shared/api';
import {
  F64,
  I32,
  PAGE_SHIFT,
  PAGE_SIZE,
  STATS_BYTES,
  VRAM_BAR_DEFAULT,
  statsViews,
  type StatsViews,
} from '../src/shared/layout';
import { IoBus, MmioBus } from '../src/machine/bus';
import { Hypervisor } from '../src/machine/hv/hypervisor';
import { P2M_R, P2M_W, type WritableMappingInvalidator } from '../src/machine/hv/p2m';
import type { CpuEnv } from '../src/machine/cpu/cpu';
import { Machine } from '../src/machine/machine';
import { MachineMemory } from '../src/machine/memory';

const { values: opts } = parseArgs({
  options: {
    kernel: { type: 'string', default: 'public/guest/hvmos.elf' },
    workload: { type: 'string', default: 'scroll' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    hz: { type: 'string', default: '30' },
  },
});
const guestSeconds = Number(opts.seconds);
const rounds = Number(opts.rounds);
const periodMs = 1000 / Number(opts.hz);

interface Run {
  tracking: boolean;
  /** Trap mode (the tracked range write-protected, a fault per store). */
  trap: boolean;
  faults: number;
  faultMs: number;
  hostMs: number;
  instructions: number;
  mips: number;
  hvMs: number;
  hypercalls: number;
  pagesScanned: number;
  pagesDirty: number;
  tlbInvalidated: number;
  dirtyPerCall: number;
}

/** What a run drives: the whole Machine booting the toy guest, or the bare CPU with a built-in loop. */
interface Subject {
  readonly name: string;
  readonly stats: StatsViews;
  /** One slice of guest execution. */
  slice(): void;
  machineTimeMs(): number;
  instructions(): number;
  /** The displayed range in guest frames, page-aligned, as the ioemu computes it (null: no mode yet). */
  displayedRange(): { first: number; nr: number } | null;
  trackDirtyVram(first: number, nr: number): Result<Uint8Array>;
  setTrapWrites(on: boolean): void;
  destroy(): void;
}

/** The Machine booting the toy guest's workload (needs the platform's Multiboot loader and the guest image). */
function machineSubject(image: ArrayBuffer): Subject {
  const config: MachineConfig = {
    ramMiB: 32,
    vramMiB: 8,
    cmdline: `workload=${opts.workload} exit=${guestSeconds + 5}`,
    clock: 'icount',
    image: 'multiboot',
  };
  const made = Machine.create(config, image.slice(0));
  if (!made.ok) throw new Error(`${made.code}: ${made.message}`);
  const m = made.value;
  const { i32, f64 } = m.stats;
  return {
    name: `${opts.kernel} workload=${opts.workload}`,
    stats: m.stats,
    slice() {
      const outcome = m.slice();
      if (outcome.next === 'stop') throw new Error(`the guest stopped early (state ${m.state})`);
    },
    machineTimeMs: () => m.machineTimeMs(),
    instructions: () => f64[F64.INSTRUCTIONS],
    displayedRange() {
      if (!Atomics.load(i32, I32.VBE_ENABLED)) return null;
      const start = Atomics.load(i32, I32.VBE_START);
      const bytes = Atomics.load(i32, I32.VBE_YRES) * Atomics.load(i32, I32.VBE_LINE_BYTES);
      const bar = Atomics.load(i32, I32.VBE_BAR0) >>> 0;
      const first = Math.floor((bar + start) / PAGE_SIZE);
      return { first, nr: Math.ceil((bar + start + bytes) / PAGE_SIZE) - first };
    },
    trackDirtyVram: (first, nr) => m.trackDirtyVram(first, nr),
    setTrapWrites: (on) => void m.setTrapWrites(on),
    destroy: () => m.destroy(),
  };
}

/**
 * The fallback subject when the toy guest cannot boot here: the real CPU and MMU with the
 * hypervisor, running a built-in scroll loop with paging on — the 640×480×32 screen mapped at
 * linear 0x40000000 (not its physical address), moved up 16 lines with REP MOVSD and the freed band
 * filled with REP STOSD, forever. Its machine clock is icount at 50,000 instructions per ms.
 */
async function bareCpuSubject(): Promise<Subject> {
  const CPU_MODULE = '../src/machine/cpu/cpu';
  const { Cpu } = (await import(/* @vite-ignore */ CPU_MODULE)) as { Cpu: BareCpuClass };
  const memory = new MachineMemory(4, 8);
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  let cpu: BareCpu | null = null;
  const machineTimeMs = () => (cpu ? cpu.instructions / ICOUNT_PER_MS : 0);
  const hv = new Hypervisor({ layout: memory.layout, stats, now: machineTimeMs });
  hv.p2m.map(0, 0, memory.layout.ramBytes >>> PAGE_SHIFT, P2M_R | P2M_W);
  const bar = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
  hv.setVramBar(bar);
  cpu = new Cpu({
    memory,
    p2m: hv.p2m,
    io: new IoBus(),
    mmio: new MmioBus(),
    pic: { hasInterrupt: () => false, acknowledge: () => 0 },
    s2: hv,
    tsc: () => cpu?.instructions ?? 0,
  });
  hv.attachTlb(cpu.tlb);
  const dv = new DataView(memory.sab);
  const le = (addr: number, v: number) => dv.setUint32(addr, v >>> 0, true);
  memory.u8.set(SCROLL_GUEST, 0x1000);
  const PD = 0x10000;
  le(PD, (PD + 0x1000) | 3);
  for (let i = 0; i < 1024; i++) le(PD + 0x1000 + i * 4, (i << PAGE_SHIFT) | 3);
  le(PD + (0x4000_0000 >>> 22) * 4, (PD + 0x2000) | 3);
  for (let i = 0; i < 1024; i++) le(PD + 0x2000 + i * 4, ((bar + i) << PAGE_SHIFT) | 3);
  cpu.enterProtectedModeFlat(0x1000, {});
  const c = cpu;
  return {
    name: 'built-in scroll loop on the bare CPU (REP MOVSD/STOSD, 640×480×32, paging on)',
    stats,
    slice() {
      const t0 = performance.now();
      const hv0 = stats.f64[F64.HV_MS];
      c.run(SLICE_INSTRUCTIONS);
      stats.f64[F64.GUEST_MS] += performance.now() - t0 - (stats.f64[F64.HV_MS] - hv0);
    },
    machineTimeMs,
    instructions: () => c.instructions,
    displayedRange: () => ({ first: bar, nr: (640 * 480 * 4) / PAGE_SIZE }),
    trackDirtyVram: (first, nr) => hv.trackDirtyVram(first, nr),
    setTrapWrites: (on) => hv.setTrapWrites(on),
    destroy: () => {},
  };
}

interface BareCpu {
  readonly tlb: WritableMappingInvalidator;
  readonly instructions: number;
  enterProtectedModeFlat(eip: number, regs: Record<string, number>): void;
  run(maxInstructions: number): unknown;
}
type BareCpuClass = new (env: CpuEnv) => BareCpu;

const ICOUNT_PER_MS = 50_000;
const SLICE_INSTRUCTIONS = 200_000;
/**
 *   mov $0x10000,%eax; mov %eax,%cr3; mov %cr0,%eax; or $0x80000000,%eax; mov %eax,%cr0; jmp 1f
 *   1: cld; xor %edx,%edx
 *   2: mov $0x40000000,%edi; lea 16*2560(%edi),%esi; mov $(464*2560/4),%ecx; rep movsl
 *      inc %edx; mov %edx,%eax; imul $0x01010101,%eax,%eax; mov $(16*2560/4),%ecx; rep stosl; jmp 2b
 * (as --32, linked at 0x1000)
 */
const SCROLL_GUEST = [
  0xb8, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0,
  0xeb, 0x00, 0xfc, 0x31, 0xd2, 0xbf, 0x00, 0x00, 0x00, 0x40, 0x8d, 0xb7, 0x00, 0xa0, 0x00, 0x00, 0xb9, 0x00, 0x88,
  0x04, 0x00, 0xf3, 0xa5, 0x42, 0x89, 0xd0, 0x69, 0xc0, 0x01, 0x01, 0x01, 0x01, 0xb9, 0x00, 0x28, 0x00, 0x00, 0xf3,
  0xab, 0xeb, 0xdc,
];

async function runOnce(make: () => Subject | Promise<Subject>, tracking: boolean, trap = false): Promise<Run> {
  const s = await make();
  const f64 = s.stats.f64;
  s.setTrapWrites(trap);
  const seconds = trap ? guestSeconds / 10 : guestSeconds;
  let nextCall = 0;
  const t0 = performance.now();
  while (s.machineTimeMs() < seconds * 1000) {
    s.slice();
    const now = s.machineTimeMs();
    if (!tracking || now < nextCall) continue;
    nextCall = now + periodMs;
    const range = s.displayedRange();
    if (!range) continue; // no graphics mode yet: nothing to track
    const r = s.trackDirtyVram(range.first, range.nr);
    if (!r.ok) throw new Error(`trackDirtyVram(${range.first}, ${range.nr}): ${r.code} ${r.message}`);
  }
  const hostMs = performance.now() - t0;
  const instructions = s.instructions();
  const hypercalls = f64[F64.HV_HYPERCALLS];
  const run: Run = {
    tracking,
    trap,
    faults: f64[F64.HV_S2_FAULTS],
    faultMs: f64[F64.HV_FAULT_MS],
    hostMs,
    instructions,
    mips: instructions / hostMs / 1000,
    hvMs: f64[F64.HV_MS],
    hypercalls,
    pagesScanned: f64[F64.HV_PAGES_SCANNED],
    pagesDirty: f64[F64.HV_PAGES_DIRTY],
    tlbInvalidated: f64[F64.HV_TLB_INVALIDATED],
    dirtyPerCall: hypercalls ? f64[F64.HV_PAGES_DIRTY] / hypercalls : 0,
  };
  s.destroy();
  return run;
}

/**
 * The hypervisor's own cost per trackDirtyVram call, without a guest: frames are dirtied the way
 * the MMU dirties them (P2m.setDirty) and the TLB invalidation is a no-op, so this is hypervisor
 * work only (argument checks, the harvest, the bitmap). Over the 640×480×32 screen (300 frames),
 * 1024×768×32 (768) and all of a 64 MiB VRAM (16,384): every frame dirty, none dirty, and dropped.
 */
function perCallMicrobench(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [vramMiB, nr] of [
    [8, 300],
    [8, 768],
    [64, 16_384],
  ]) {
    const memory = new MachineMemory(4, vramMiB);
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const clock = { ms: 0 };
    const hv = new Hypervisor({ layout: memory.layout, stats, now: () => clock.ms });
    const bar = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
    hv.setVramBar(bar);
    const N = 500;
    const time = (before: () => void) => {
      let total = 0;
      for (let k = 0; k < N; k++) {
        before();
        const t0 = performance.now();
        hv.trackDirtyVram(bar, nr);
        total += performance.now() - t0;
      }
      return round((total / N) * 1000, 2);
    };
    hv.trackDirtyVram(bar, nr);
    const allDirty = time(() => {
      for (let i = 0; i < nr; i++) hv.p2m.setDirty(bar + i);
    });
    const noneDirty = time(() => {});
    hv.setIdleDrop(true);
    clock.ms += 10_000;
    hv.trackDirtyVram(bar, nr);
    const dropped = time(() => {});
    out[`nr=${nr}`] = { allDirtyUs: allDirty, noneDirtyUs: noneDirty, droppedUs: dropped };
  }
  return out;
}

async function main(): Promise<void> {
  perCallMicrobench(); // warm-up: let the JIT settle before the figures we keep
  const perCallUs = perCallMicrobench();
  console.log('hypervisor cost per trackDirtyVram call, µs (no guest; TLB invalidation not included):');
  console.table(perCallUs);
  // The toy guest through the whole Machine when it boots here; else the bare CPU's built-in loop.
  let make: () => Subject | Promise<Subject>;
  let why = '';
  try {
    const b = readFileSync(opts.kernel!);
    const image = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    machineSubject(image).destroy();
    make = () => machineSubject(image);
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
    if (!existsSync(new URL('../src/machine/cpu/cpu.ts', import.meta.url))) {
      const reason = `the toy guest cannot run here (${why}) and there is no CPU for the built-in loop`;
      console.error(`bench:hv: ${reason}: MIPS not measured`);
      writeResult({
        subject: null,
        note: reason,
        mipsTrackingOff: null,
        mipsTrackingOn: null,
        trackingOverheadPct: null,
        hvPct: null,
        perCallUs,
      });
      process.exit(1);
    }
    make = bareCpuSubject;
  }
  const runs: Run[] = [];
  let subject = '';
  try {
    const probe = await make();
    subject = probe.name;
    probe.destroy();
    for (let k = 0; k < rounds; k++) {
      for (const tracking of k % 2 ? [true, false] : [false, true]) runs.push(await runOnce(make, tracking));
      runs.push(await runOnce(make, true, true));
    }
  } catch (e) {
    console.error(`bench:hv: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  console.log(`bench:hv: ${subject}${why ? ` (the toy guest could not run: ${why})` : ''}`);
  const best = (tracking: boolean, trap = false) =>
    runs.filter((r) => r.tracking === tracking && r.trap === trap).reduce((a, b) => (b.mips > a.mips ? b : a));
  const off = best(false);
  const on = best(true);
  const trap = best(true, true);
  const result = {
    subject,
    guestSecondsPerRun: guestSeconds,
    rounds,
    clientHz: Number(opts.hz),
    mipsTrackingOff: round(off.mips, 2),
    mipsTrackingOn: round(on.mips, 2),
    trackingOverheadPct: round((off.mips / on.mips - 1) * 100, 2),
    hvPct: round((on.hvMs / on.hostMs) * 100, 3),
    hvMs: round(on.hvMs, 2),
    hypercalls: on.hypercalls,
    pagesScanned: on.pagesScanned,
    pagesDirty: on.pagesDirty,
    dirtyPagesPerCall: round(on.dirtyPerCall, 1),
    tlbInvalidated: on.tlbInvalidated,
    trap: {
      mips: round(trap.mips, 2),
      slowdown: round(on.mips / trap.mips, 1),
      faultsPerS: Math.round((1000 * trap.faults) / trap.hostMs),
      usPerFault: round((1000 * trap.faultMs) / Math.max(trap.faults, 1), 3),
      hvPct: round((trap.hvMs / trap.hostMs) * 100, 1),
    },
    runs: runs.map((r) => ({
      tracking: r.tracking,
      trap: r.trap,
      mips: round(r.mips, 2),
      hostMs: round(r.hostMs, 1),
    })),
    perCallUs,
  };
  console.table(
    runs.map((r) => ({
      tracking: r.trap ? 'trap (30 Hz)' : r.tracking ? 'on (30 Hz)' : 'off',
      'host ms': round(r.hostMs, 1),
      MIPS: round(r.mips, 2),
      'hv ms': round(r.hvMs, 2),
      calls: r.hypercalls,
      'dirty/call': round(r.dirtyPerCall, 1),
      'TLB inval': r.tlbInvalidated,
      faults: r.faults,
    })),
  );
  console.table({
    'MIPS, tracking off (best)': result.mipsTrackingOff,
    'MIPS, tracking on (best)': result.mipsTrackingOn,
    'tracking overhead %': result.trackingOverheadPct,
    'hypervisor % of host time': result.hvPct,
    'MIPS, trap mode (best)': result.trap.mips,
    'trap slowdown vs tracking on': result.trap.slowdown,
    'trap: faults/s': result.trap.faultsPerS,
    'trap: hypervisor µs per fault': result.trap.usPerFault,
    'trap: hypervisor % of host time': result.trap.hvPct,
  });
  writeResult(result);
  console.log(`wrote bench-results/hv.json (bar: trackingOverheadPct ≤ 3 → ${result.trackingOverheadPct})`);
}

function writeResult(result: object): void {
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/hv.json', JSON.stringify(result, null, 2) + '\n');
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

await main();
