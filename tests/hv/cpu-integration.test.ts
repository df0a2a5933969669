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
import { TLB_MISS } from '../../src/machine/cpu/mmu';

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

/**
 * `code` runs at CODE (default WRITER); `blockThreshold` as CpuEnv's (1: every block compiled on
 * its first execution, -1: interpreted only). Second-stage faults are counted per guest frame.
 */
function rig(code: number[] = WRITER, blockThreshold?: number) {
  const memory = new MachineMemory(4, 8);
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const clock = { ms: 0 };
  const hv = new Hypervisor({ layout: memory.layout, stats, now: () => clock.ms });
  const ramFrames = memory.layout.ramBytes >>> PAGE_SHIFT;
  hv.p2m.map(0, 0, ramFrames, P2M_R | P2M_W);
  const bar = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
  hv.setVramBar(bar);
  const faultsAt = new Map<number, number>();
  const cpu = new Cpu({
    memory,
    p2m: hv.p2m,
    io: new IoBus(),
    mmio: new MmioBus(),
    pic: { hasInterrupt: () => false, acknowledge: () => 0 },
    s2: {
      onWriteViolation: (gfn) => {
        faultsAt.set(gfn, (faultsAt.get(gfn) ?? 0) + 1);
        return hv.onWriteViolation(gfn);
      },
    },
    tsc: () => 0,
    blockThreshold,
  });
  hv.attachTlb(cpu.tlb);

  const dv = new DataView(memory.sab);
  const le = (addr: number, v: number) => dv.setUint32(addr, v >>> 0, true);
  memory.u8.set(code, CODE);
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
  /** Run until HLT. */
  const runToHlt = () => {
    for (let steps = 0; !cpu.halted; steps++) {
      if (steps > 1000) throw new Error('the guest did not halt');
      cpu.run(100_000);
    }
  };
  /** The page directory and the page tables, as bytes (the guest's A/D bits live there). */
  const pageTables = () => memory.u8.slice(PD, nextPt);
  return { memory, stats, clock, hv, cpu, bar, start, progress, runUntil, runToHlt, track, faultsAt, pageTables, dv };
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

  it('a write through a TLB entry cached writable before tracking began still shows up after the first call', () => {
    const r = rig();
    r.start([vram(7, 0), vram(7, 1)]);
    r.runUntil(1); // page 7 cached writable while nothing tracks it
    expect(bits(r.track(r.bar, 64))).toEqual(Array.from({ length: 64 }, (_, i) => i)); // a new range: all dirty
    r.runUntil(2); // the same translation: it must walk again, or this write is lost
    expect(bits(r.track(r.bar, 64))).toEqual([7]);
    expect(r.memory.vram[7 * 4096 + 1]).toBe(2);
  });

  it('a harvest drops write permission from the tracked frames only: RAM and untracked VRAM stay writable', () => {
    const r = rig();
    r.track(r.bar, 16);
    r.start([vram(3, 0), vram(40, 0), 0x3000, vram(3, 1), vram(40, 1), 0x3001]);
    r.runUntil(3); // VRAM 3 (tracked), VRAM 40 (not), RAM page 3: all cached writable
    const invalidated = r.stats.f64[F64.HV_TLB_INVALIDATED];
    expect(bits(r.track(r.bar, 16))).toEqual([3]);
    expect(r.stats.f64[F64.HV_TLB_INVALIDATED] - invalidated).toBe(1);
    const writable = (lin: number) => r.cpu.mmu.cached(lin, true, false) !== TLB_MISS;
    expect([writable(vram(3)), writable(vram(40)), writable(0x3000)]).toEqual([false, true, true]);
    r.runUntil(6);
    expect(bits(r.track(r.bar, 16))).toEqual([3]);
    expect([r.memory.vram[3 * 4096 + 1], r.memory.vram[40 * 4096 + 1], r.memory.u8[0x3001]]).toEqual([4, 5, 6]);
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

/**
 * Trap mode's guest: paging on as WRITER, then EBX picks one store form, EBP is the value, ESI/EDI/ECX
 * the string registers:
 *
 *   1015: mov %ebp,%eax; cld; cmp $1..7,%ebx; je …; hlt
 *   103c: rep stosl; hlt          (1)   103f: rep stosb; hlt   (2)
 *   1042: rep movsb; hlt          (3)   1045: rep movsl; hlt   (4)
 *   1048: mov %eax,(%edi); add $4,%edi; inc %eax; dec %ecx; jnz 1048; hlt   (5: a compiled block's inline store)
 *   1052: mov %eax,(%edi); hlt    (6)   1055: mov %ax,(%edi); hlt   (7)
 * (assembled with `as --32`, linked at 0x1000; the first 21 bytes are WRITER's)
 */
const STORES = [
  0xb8, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0,
  0xeb, 0x00, 0x89, 0xe8, 0xfc, 0x83, 0xfb, 0x01, 0x74, 0x1f, 0x83, 0xfb, 0x02, 0x74, 0x1d, 0x83, 0xfb, 0x03, 0x74,
  0x1b, 0x83, 0xfb, 0x04, 0x74, 0x19, 0x83, 0xfb, 0x05, 0x74, 0x17, 0x83, 0xfb, 0x06, 0x74, 0x1c, 0x83, 0xfb, 0x07,
  0x74, 0x1a, 0xf4, 0xf3, 0xab, 0xf4, 0xf3, 0xaa, 0xf4, 0xf3, 0xa4, 0xf4, 0xf3, 0xa5, 0xf4, 0x89, 0x07, 0x83, 0xc7,
  0x04, 0x40, 0x49, 0x75, 0xf7, 0xf4, 0x89, 0x07, 0xf4, 0x66, 0x89, 0x07, 0xf4,
];
const STOSD = 1;
const STOSB = 2;
const MOVSB = 3;
const MOVSD = 4;
const STORE_LOOP = 5;
const STORE32 = 6;
const STORE16 = 7;
/** RAM the MOVS forms copy from (identity-mapped). */
const SRC = 0x30000;

for (const [how, threshold] of [
  ['interpreted', -1],
  ['compiled', 1],
] as const)
  describe(`trap mode with the real CPU and MMU (${how})`, () => {
    /** A trapping rig over VRAM pages [0, 64), the guest about to run store form `form`. */
    const trapRig = (form: number, regs: Record<string, number>) => {
      const r = rig(STORES, threshold);
      r.hv.setTrapWrites(true);
      r.track(r.bar, 64);
      r.cpu.enterProtectedModeFlat(CODE, { ebx: form, ...regs });
      return r;
    };
    const faults = (r: ReturnType<typeof rig>) => r.stats.f64[F64.HV_S2_FAULTS];

    it('REP STOSD across three tracked pages: one fault per dword stored, every page reported, VRAM filled', () => {
      const n = 1024 + 20;
      const r = trapRig(STOSD, { edi: vram(10, 4096 - 40), ecx: n, ebp: 0x11223344 });
      r.runToHlt();
      expect(faults(r)).toBe(n);
      expect(bits(r.track(r.bar, 64))).toEqual([10, 11, 12]);
      const v = new DataView(r.memory.sab, r.memory.layout.vramOffset);
      const start = 11 * 4096 - 40;
      for (let i = 0; i < n; i++) expect(v.getUint32(start + i * 4, true)).toBe(0x11223344);
      expect([v.getUint32(start - 4, true), v.getUint32(start + n * 4, true)]).toEqual([0, 0]);
    });

    it('REP STOSB from a tracked page into an untracked one: faults only for the tracked bytes', () => {
      const r = trapRig(STOSB, { edi: vram(63, 4096 - 100), ecx: 300, ebp: 0x5a });
      r.runToHlt();
      expect(faults(r)).toBe(100);
      expect([...r.faultsAt]).toEqual([[r.bar + 63, 100]]);
      expect(bits(r.track(r.bar, 64))).toEqual([63]);
      expect(r.memory.vram.subarray(63 * 4096 - 100 + 4096, 64 * 4096 + 200).every((b) => b === 0x5a)).toBe(true);
    });

    it('REP MOVSB and REP MOVSD from RAM across tracked pages: one fault per element moved', () => {
      for (const [form, n, size] of [
        [MOVSB, 5000, 1],
        [MOVSD, 2000, 4],
      ] as const) {
        const r = trapRig(form, { esi: SRC, edi: vram(20, 4000), ecx: n });
        const src = Uint8Array.from({ length: n * size }, (_, i) => (i * 7 + 3) & 255);
        r.memory.u8.set(src, SRC);
        r.runToHlt();
        expect(faults(r), `size ${size}`).toBe(n);
        expect(bits(r.track(r.bar, 64)), `size ${size}`).toEqual([20, 21, 22]);
        expect(r.memory.vram.slice(20 * 4096 + 4000, 20 * 4096 + 4000 + n * size)).toEqual(src);
      }
    });

    it('a loop of dword stores (the block compiler inlines them): one fault per store', () => {
      const n = 3000;
      const r = trapRig(STORE_LOOP, { edi: vram(40), ecx: n, ebp: 1000 });
      r.runToHlt();
      expect(faults(r)).toBe(n);
      expect(bits(r.track(r.bar, 64))).toEqual([40, 41, 42]);
      const v = new DataView(r.memory.sab, r.memory.layout.vramOffset);
      for (let i = 0; i < n; i += 97) expect(v.getUint32(40 * 4096 + i * 4, true)).toBe(1000 + i);
    });

    it('a store crossing from a tracked page into an untracked one faults on the tracked page only', () => {
      const r = trapRig(STORE32, { edi: vram(63, 4094), ebp: 0x44332211 });
      r.runToHlt();
      expect([...r.faultsAt.keys()]).toEqual([r.bar + 63]);
      // Both pages are translated once each before the bytes are stored: one fault for the store.
      expect(r.faultsAt.get(r.bar + 63)).toBe(1);
      expect(bits(r.track(r.bar, 64))).toEqual([63]);
      expect(Array.from(r.memory.vram.subarray(64 * 4096 - 2, 64 * 4096 + 2))).toEqual([0x11, 0x22, 0x33, 0x44]);
    });

    it('a store crossing from an untracked page into a tracked one faults on the tracked page only', () => {
      const r = rig(STORES, threshold);
      r.hv.setTrapWrites(true);
      r.track(r.bar + 1, 63); // page 0 untracked
      r.cpu.enterProtectedModeFlat(CODE, { ebx: STORE16, edi: vram(0, 4095), ebp: 0xbbaa });
      r.runToHlt();
      expect([...r.faultsAt.keys()]).toEqual([r.bar + 1]);
      expect(r.faultsAt.get(r.bar + 1)).toBe(1); // one store, one fault
      expect(bits(r.track(r.bar + 1, 63))).toEqual([0]);
      expect(Array.from(r.memory.vram.subarray(4095, 4097))).toEqual([0xaa, 0xbb]);
    });

    it("the guest's own page tables get the same A/D bits in trap mode as in dirty mode", () => {
      const tables: Uint8Array[] = [];
      for (const trap of [false, true]) {
        const r = rig(STORES, threshold);
        r.hv.setTrapWrites(trap);
        r.track(r.bar, 64);
        r.cpu.enterProtectedModeFlat(CODE, { ebx: STORE_LOOP, edi: vram(5, 8), ecx: 2000, ebp: 7 });
        r.runToHlt();
        expect(faults(r)).toBe(trap ? 2000 : 0);
        tables.push(r.pageTables());
        // The PTEs of VRAM pages 5 and 6 (in the first VRAM page table, after PD and the low table) have A and D.
        const vramPt = PD + 0x2000;
        for (const page of [5, 6]) expect(r.dv.getUint32(vramPt + page * 4, true) & 0x60).toBe(0x60);
        expect(r.dv.getUint32(vramPt + 7 * 4, true) & 0x60).toBe(0);
      }
      expect(tables[1]).toEqual(tables[0]);
    });

    it('switching trap ↔ dirty ↔ dirty-idle between slices of a store loop loses no write', () => {
      let x = 0x9e3779b9;
      const rand = (k: number) => {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x % k;
      };
      const n = 40_000; // dwords: pages 0–39 in order, so "written so far" is EDI's progress
      const r = rig(STORES, threshold);
      r.track(r.bar, 64);
      r.cpu.enterProtectedModeFlat(CODE, { ebx: STORE_LOOP, edi: vram(0), ecx: n, ebp: 1 });
      const vramDv = new DataView(r.memory.sab, r.memory.layout.vramOffset);
      /** Dwords stored so far: the first that still holds 0 (the loop stores 1, 2, 3, …). */
      let done = 0;
      const stored = () => {
        while (done < n && vramDv.getUint32(done * 4, true) !== 0) done++;
        return done;
      };
      let before = 0;
      let switches = 0;
      while (!r.cpu.halted) {
        r.cpu.run(1 + rand(5000));
        const mode = rand(4);
        if (mode < 3) {
          r.hv.setTrapWrites(mode === 0);
          r.hv.setIdleDrop(mode === 2);
          switches++;
        }
        r.clock.ms += rand(20) === 0 ? IDLE_DROP_MS : rand(50);
        const now = stored();
        const b = bits(r.track(r.bar, 64));
        // Pages holding dwords [before, now) must all be reported; nothing past the last one may be.
        const firstPage = before >> 10;
        const lastPage = (Math.max(now, 1) - 1) >> 10;
        if (now > before)
          for (let p = firstPage; p <= lastPage; p++) expect(b, `pages ${firstPage}–${lastPage}`).toContain(p);
        for (const p of b) expect(p).toBeLessThanOrEqual(now >> 10);
        before = now;
      }
      expect(stored()).toBe(n);
      expect(switches).toBeGreaterThan(10);
      expect(r.stats.f64[F64.HV_S2_FAULTS]).toBeGreaterThan(1000);
    });
  });
