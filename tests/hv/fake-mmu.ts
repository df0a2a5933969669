/**
 * A stand-in for the CPU's MMU in the hypervisor's unit tests: a one-level "page table"
 * (linear page → gfn) and a TLB that honours the contract of p2m.ts exactly — a translation is
 * cached writable only after P2m.setDirty, a write hit on a writable entry touches memory without
 * looking at the p2m (the fast path), and invalidateWritableMappings drops write permission from
 * every alias of the frames. A WRITE_ONCE verdict (trap mode) lets the one write through and
 * caches nothing writable, as src/machine/cpu/mmu.ts does.
 */
import {
  P2M_MFN_MASK,
  P2M_R,
  P2M_W,
  S2Verdict,
  type P2m,
  type SecondStageFaultHandler,
} from '../../src/machine/hv/p2m';
import { PAGE_SHIFT } from '../../src/shared/layout';

interface TlbEntry {
  gfn: number;
  mfn: number;
  writable: boolean;
}

export class FakeMmu {
  readonly pageTable = new Map<number, number>();
  readonly tlb = new Map<number, TlbEntry>();
  /** Slow-path walks, second-stage faults seen, writes discarded, writes let through once. */
  walks = 0;
  s2Faults = 0;
  discarded = 0;
  writtenOnce = 0;

  constructor(
    private readonly u8: Uint8Array,
    private readonly p2m: P2m,
    private readonly s2: SecondStageFaultHandler,
  ) {}

  /** Map linear page vpn onto guest frame gfn (like writing a PTE; the test calls invlpg if needed). */
  map(vpn: number, gfn: number): void {
    this.pageTable.set(vpn, gfn);
    this.tlb.delete(vpn);
  }

  write8(linear: number, value: number): void {
    const vpn = linear >>> PAGE_SHIFT;
    const off = linear & 0xfff;
    const t = this.tlb.get(vpn);
    if (t && t.writable) {
      this.u8[t.mfn * 4096 + off] = value; // the fast path: no p2m access at all
      return;
    }
    const gfn = this.pageTable.get(vpn);
    if (gfn === undefined) throw new Error(`page fault at ${linear.toString(16)}`);
    this.walks++;
    for (;;) {
      const e = this.p2m.entries[gfn];
      if ((e & P2M_R) === 0) return;
      if ((e & P2M_W) === 0) {
        this.s2Faults++;
        const verdict = this.s2.onWriteViolation(gfn);
        if (verdict === S2Verdict.DISCARD) {
          this.discarded++;
          return;
        }
        if (verdict === S2Verdict.WRITE_ONCE) {
          this.writtenOnce++;
          this.u8[(e & P2M_MFN_MASK) * 4096 + off] = value; // no TLB entry: the next write faults again
          return;
        }
        continue; // RETRY: walk the p2m again
      }
      this.p2m.setDirty(gfn);
      const mfn = e & P2M_MFN_MASK;
      this.tlb.set(vpn, { gfn, mfn, writable: true });
      this.u8[mfn * 4096 + off] = value;
      return;
    }
  }

  read8(linear: number): number {
    const vpn = linear >>> PAGE_SHIFT;
    let t = this.tlb.get(vpn);
    if (!t) {
      const gfn = this.pageTable.get(vpn);
      if (gfn === undefined) throw new Error(`page fault at ${linear.toString(16)}`);
      this.walks++;
      const e = this.p2m.entries[gfn];
      if ((e & P2M_R) === 0) return 0xff;
      this.p2m.setAccessed(gfn);
      t = { gfn, mfn: e & P2M_MFN_MASK, writable: false };
      this.tlb.set(vpn, t);
    }
    return this.u8[t.mfn * 4096 + (linear & 0xfff)];
  }

  invalidateWritableMappings(firstGfn: number, nr: number): number {
    let n = 0;
    for (const t of this.tlb.values())
      if (t.writable && t.gfn >= firstGfn && t.gfn < firstGfn + nr) {
        t.writable = false;
        n++;
      }
    return n;
  }

  invalidateMappings(firstGfn: number, nr: number): number {
    let n = 0;
    for (const [vpn, t] of this.tlb)
      if (t.gfn >= firstGfn && t.gfn < firstGfn + nr) {
        this.tlb.delete(vpn);
        n++;
      }
    return n;
  }
}
