/**
 * The hypervisor with the real CPU and MMU: the dirty bits come from real page-table walks of a
 * guest program running in protected mode with paging, not from a stand-in.
 */
import { describe, expect, it } from 'vitest';
import { F64, PAGE_SHIFT, STATS_BYTES, VRAM_BAR_DEFAULT, statsViews } from '../../src/shared/layout';
import { MachineMemory } from '../../src/machine/memory';
import { IoBus, MmioBus } from '../../src/machine/bus';
import { Hypervisor, IDLE_DROP_MS } from '../../src/machine/hv/hypervisor';
import { Cpu } from '../../src/machine/cpu/cpu';
import { P2M_R, P2M_W } from '../../src/machine/hv/p2m';

/**
 * The guest: turn paging on (CR3 = 0x10000), then for each linear address in the zero-terminated
 * list at 0x20000 write one byte there and record progress (ESI after the write) at 0x8000.
 *
 *   1000: mov $0x10000,%eax; mov %eax,%cr3; mov %cr0,%eax; or $0x80000000,%eax; mov %eax,%cr0; jmp 1f
 *   1: mov $0x20000,%esi; mov $1,%bl
 *   2: lodsl; test %eax,%eax; jz 3f; mov %bl,(%eax); inc %bl; mov %esi,0x8000; jmp 2b
 *   3: hlt; jmp 3b
 * (assembled with `as --32`, linked at 0x1000)
 */
const WRITER = [
  0xb8, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0,
  0xeb, 0x00, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xb3, 0x01, 0xad, 0x85, 0xc0, 0x74, 0x0c, 0x88, 0x18, 0xfe, 0xc3, 0x89,
  0x35, 0x00, 0x80, 0x00, 0x00, 0xeb, 0xef, 0xf4, 0xeb, 0xfd,
];
const CODE = 0x1000;
const PROGRESS = 0x8000;
const PD = 0x10000;
const LIST = 0x20000;
/** All of VRAM is mapped at this linear address (not its physical one) … */
const VRAM_LIN = 0x4000_0000;
/** … and VRAM frames 100–163 a second time here (the alias). */
const ALIAS_LIN = 0x7000_0000;
const ALIAS_FIRST = 100;
const ALIAS_COUNT = 64;

function rig() {
  const memory = new MachineMemory(4, 8);
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const clock = { ms: 0 };
  const hv = new Hypervisor({ layout: memory.layout, stats, now: () => clock.ms });
  const ramFrames = memory.layout.ramBytes >>> PAGE_SHIFT;
  hv.p2m.map(0, 0, ramFrames, P2M_R | P2M_W);
  const bar = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
  hv.setVramBar(bar);
  const cpu = new Cpu({
    memory,
    p2m: hv.p2m,
    io: new IoBus(),
    mmio: new MmioBus(),
    pic: { hasInterrupt: () => false, acknowledge: () => 0 },
    s2: hv,
    tsc: () => 0,
  });
  hv.attachTlb(cpu.tlb);

  const dv = new DataView(memory.sab);
  const le = (addr: number, v: number) => dv.setUint32(addr, v >>> 0, true);
  memory.u8.set(WRITER, CODE);
  // Page tables: identity for the first 4 MiB, VRAM at VRAM_LIN, the alias window at ALIAS_LIN.
  const PRESENT_RW = 0x3;
  let nextPt = PD + 0x1000;
  const pt = (pdeIndex: number) => {
    const at = nextPt;
    nextPt += 0x1000;
    le(PD + pdeIndex * 4, at | PRESENT_RW);
    return at;
  };
  const pt0 = pt(0);
  for (let i = 0; i < 1024; i++) le(pt0 + i * 4, (i << PAGE_SHIFT) | PRESENT_RW);
  for (let t = 0; t < hv.vramFrames / 1024; t++) {
    const p = pt((VRAM_LIN >>> 22) + t);
    for (let i = 0; i < 1024; i++) le(p + i * 4, ((bar + t * 1024 + i) << PAGE_SHIFT) | PRESENT_RW);
  }
  const pa = pt(ALIAS_LIN >>> 22);
  for (let i = 0; i < ALIAS_COUNT; i++) le(pa + i * 4, ((bar + ALIAS_FIRST + i) << PAGE_SHIFT) | PRESENT_RW);

  /** Load the write list (linear addresses), start the guest. */
  const start = (list: number[]) => {
    list.forEach((a, i) => le(LIST + i * 4, a));
    le(LIST + list.length * 4, 0);
    cpu.enterProtectedModeFlat(CODE, { eax: 0, ebx: 0 });
  };
  /** Writes completed so far (the guest records progress after each write). */
  const progress = () => {
    const esi = dv.getUint32(PROGRESS, true);
    return esi === 0 ? 0 : (esi - LIST) / 4;
  };
  /** Run until `n` writes have completed (one instruction at a time near the end). */
  const runUntil = (n: number) => {
    for (let steps = 0; progress() < n; steps++) {
      if (steps > 1_000_000) throw new Error(`the guest made no progress past write ${progress()}`);
      cpu.run(1);
    }
  };
  const track = (first: number, nr: number) => {
    const r = hv.trackDirtyVram(first, nr);
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    return r.value;
  };
  return { memory, stats, clock, hv, cpu, bar, start, progress, runUntil, track };
}

function bits(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bitmap.length * 8; i++) if (bitmap[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

const vram = (page: number, off = 0) => VRAM_LIN + page * 4096 + off;
const alias = (page: number, off = 0) => ALIAS_LIN + (page - ALIAS_FIRST) * 4096 + off;

describe('dirty tracking with the real CPU and MMU', () => {
  it('a guest write through its page tables shows up once, at the VRAM byte it wrote', () => {
    const r = rig();
    r.track(r.bar, 64);
    r.start([vram(5, 17)]);
    r.runUntil(1);
    expect(bits(r.track(r.bar, 64))).toEqual([5]);
    expect(r.memory.vram[5 * 4096 + 17]).toBe(1);
    expect(bits(r.track(r.bar, 64))).toEqual([]);
  });

  it('a write through a TLB entry cached writable before a call still shows up in the next call', () => {
    const r = rig();
    r.track(r.bar, 64);
    r.start([vram(9, 0), vram(9, 1), vram(9, 2)]);
    r.runUntil(1); // the TLB now holds page 9 writable
    expect(bits(r.track(r.bar, 64))).toEqual([9]);
    r.runUntil(2); // same page, same linear address: must walk again
    expect(bits(r.track(r.bar, 64))).toEqual([9]);
    r.runUntil(3);
    expect(bits(r.track(r.bar, 64))).toEqual([9]);
    expect(r.stats.f64[F64.HV_TLB_INVALIDATED]).toBeGreaterThanOrEqual(2);
  });

  it('the same VRAM page mapped at two linear addresses, written through each, is reported both times', () => {
    const r = rig();
    r.track(r.bar, 256);
    r.start([vram(120, 0), alias(120, 1), vram(120, 2), alias(120, 3)]);
    r.runUntil(2); // both aliases cached writable
    expect(bits(r.track(r.bar, 256))).toEqual([120]);
    r.runUntil(3);
    expect(bits(r.track(r.bar, 256))).toEqual([120]);
    r.runUntil(4);
    expect(bits(r.track(r.bar, 256))).toEqual([120]);
    expect(Array.from(r.memory.vram.subarray(120 * 4096, 120 * 4096 + 4))).toEqual([1, 2, 3, 4]);
  });

  it('idle drop: the first guest write faults once, completes, is reported, and tracking resumes', () => {
    const r = rig();
    r.hv.setIdleDrop(true);
    r.track(r.bar, 64);
    r.start([vram(3, 0), vram(3, 1), vram(4, 0)]);
    r.clock.ms = IDLE_DROP_MS;
    r.track(r.bar, 64);
    expect(r.hv.dropped).toBe(true);
    r.runUntil(1);
    expect(r.stats.f64[F64.HV_S2_FAULTS]).toBe(1);
    expect(r.memory.vram[3 * 4096]).toBe(1);
    expect(r.hv.dropped).toBe(false);
    r.runUntil(3);
    expect(r.stats.f64[F64.HV_S2_FAULTS]).toBe(1);
    expect(bits(r.track(r.bar, 64))).toEqual([3, 4]);
  });

  it('no lost writes: 100,000 random writes, calls at random slice boundaries, exact bitmaps', () => {
    const r = rig();
    let x = 0x2545f491;
    const rand = (n: number) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
    const N = 100_000;
    const pages: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < N; i++) {
      const k = rand(10);
      // Mostly a hot band of 300 pages (a 640×480×32 screen), sometimes anywhere, sometimes the alias.
      const page = k < 6 ? rand(300) : k < 9 ? rand(r.hv.vramFrames) : ALIAS_FIRST + rand(ALIAS_COUNT);
      pages.push(page);
      list.push(k === 9 ? alias(page, rand(4096)) : vram(page, rand(4096)));
    }
    const first = r.bar;
    const nr = 512;
    r.track(first, nr);
    r.hv.setIdleDrop(true);
    r.start(list);
    // `done` = writes known complete at the previous call; the write at index `done` may also
    // have completed (the progress store comes after the write), so it is allowed either side.
    let done = 0;
    let prevBits = new Set<number>();
    let calls = 0;
    while (done < N) {
      r.cpu.run(rand(4) === 0 ? 1 + rand(12) : 1 + rand(3000));
      r.clock.ms += rand(30) === 0 ? IDLE_DROP_MS : rand(40);
      if (rand(3) !== 0) continue;
      const now = r.progress();
      const b = new Set(bits(r.track(first, nr)));
      calls++;
      const allowed = new Set<number>();
      for (let i = done; i <= Math.min(now, N - 1); i++) allowed.add(pages[i]);
      for (const p of b) if (!allowed.has(p)) throw new Error(`call ${calls}: page ${p} reported, nobody wrote it`);
      for (let i = done + 1; i < now; i++)
        if (pages[i] < nr && !b.has(pages[i])) throw new Error(`call ${calls}: write ${i} to page ${pages[i]} lost`);
      if (done < now && pages[done] < nr && !b.has(pages[done]) && !prevBits.has(pages[done]))
        throw new Error(`call ${calls}: write ${done} to page ${pages[done]} lost`);
      prevBits = b;
      done = now;
    }
    expect(calls).toBeGreaterThan(100);
    expect(r.stats.f64[F64.HV_IDLE_DROPS] + r.stats.f64[F64.HV_TLB_INVALIDATED]).toBeGreaterThan(0);
  });
});
