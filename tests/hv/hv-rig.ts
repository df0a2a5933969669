/**
 * The hypervisor unit tests' machine: 4 MiB RAM, 8 MiB VRAM at the default BAR, the hypervisor, a
 * fake MMU honouring the p2m contract (fake-mmu.ts) with all of VRAM mapped at linear 0x4000_0000,
 * and a hand-driven machine clock.
 */
import { I32, PAGE_SHIFT, STATS_BYTES, VRAM_BAR_DEFAULT, statsViews } from '../../src/shared/layout';
import { MachineMemory } from '../../src/machine/memory';
import { Hypervisor } from '../../src/machine/hv/hypervisor';
import { FakeMmu } from './fake-mmu';

/** A 4 MiB RAM / 8 MiB VRAM machine with the hypervisor, a fake MMU and a hand-driven machine clock. */
export function rig() {
  const memory = new MachineMemory(4, 8);
  const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
  const clock = { ms: 0 };
  const hv = new Hypervisor({ layout: memory.layout, stats, now: () => clock.ms });
  const bar = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
  hv.setVramBar(bar);
  const mmu = new FakeMmu(memory.u8, hv.p2m, hv);
  hv.attachTlb(mmu);
  // The guest maps all of VRAM at linear 0x4000_0000 (a different address from its physical one).
  const LIN = 0x4000_0000 >>> PAGE_SHIFT;
  for (let i = 0; i < hv.vramFrames; i++) mmu.map(LIN + i, bar + i);
  /** Guest write of one byte into VRAM page i (offset off) through the linear mapping. */
  const writePage = (i: number, value = 0xaa, off = 0) => mmu.write8(((LIN + i) << PAGE_SHIFT) + off, value);
  const f = (slot: number) => stats.f64[slot];
  const gen = () => Atomics.load(stats.i32, I32.DIRTY_GEN);
  const track = (first: number, nr: number) => {
    const r = hv.trackDirtyVram(first, nr);
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    return r.value;
  };
  return { memory, stats, clock, hv, bar, mmu, LIN, writePage, f, gen, track };
}

/** Indices of the set bits of a Xen-layout bitmap (bit i = byte[i >> 3] bit i & 7). */
export function bits(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bitmap.length * 8; i++) if (bitmap[i >> 3] & (1 << (i & 7))) out.push(i);
  return out;
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
