/**
 * Guest-physical memory as a bus-master device sees it (the PIIX3's IDE DMA engine): reads and
 * writes through the p2m, as the MMU's slow path does them, so that the hypervisor's contract
 * holds for device writes too: a write sets P2M_D first (a tracked VRAM frame tells the dirty log),
 * a write to a frame without P2M_W asks the hypervisor (ROM: dropped; a dropped-then-tracked frame:
 * re-armed; trap mode: let through once), unmapped and MMIO frames read as all ones and drop
 * writes (no peer-to-peer DMA). After a write the CPU is told that code may have changed.
 */
import {
  P2M_D,
  P2M_MFN_MASK,
  P2M_MMIO,
  P2M_R,
  P2M_W,
  S2Verdict,
  type P2m,
  type SecondStageFaultHandler,
} from './hv/p2m';
import { PAGE_SHIFT } from '../shared/layout';

const PAGE = 1 << PAGE_SHIFT;

export interface DmaMemory {
  /**
   * Fill `into` from guest-physical address `gpa` onwards. False when part of the range is not
   * memory (unmapped or MMIO: those bytes read as all ones), QEMU's MEMTX error.
   */
  read(gpa: number, into: Uint8Array): boolean;
  /**
   * Store `from` at guest-physical address `gpa` onwards. False when part of the range is not
   * memory (those bytes are dropped); a write to ROM is dropped without an error, as QEMU's.
   */
  write(gpa: number, from: Uint8Array): boolean;
}

export function guestDma(
  machine: Uint8Array,
  p2m: P2m,
  s2: SecondStageFaultHandler,
  codeChanged: () => void,
): DmaMemory {
  /** Each page-sized piece of [gpa, gpa + length): its gfn, offset in the page, offset in the buffer, length. */
  const pieces = (gpa: number, length: number, each: (gfn: number, at: number, done: number, n: number) => void) => {
    let done = 0;
    while (done < length) {
      const a = (gpa + done) >>> 0;
      const at = a & (PAGE - 1);
      const n = Math.min(PAGE - at, length - done);
      each(a >>> PAGE_SHIFT, at, done, n);
      done += n;
    }
  };
  return {
    read(gpa, into) {
      let ok = true;
      pieces(gpa, into.length, (gfn, at, done, n) => {
        const e = p2m.entries[gfn];
        if ((e & P2M_R) === 0 || e & P2M_MMIO) {
          into.fill(0xff, done, done + n);
          ok = false;
        } else {
          p2m.setAccessed(gfn);
          const m = (e & P2M_MFN_MASK) * PAGE + at;
          into.set(machine.subarray(m, m + n), done);
        }
      });
      return ok;
    },
    write(gpa, from) {
      let ok = true;
      pieces(gpa, from.length, (gfn, at, done, n) => {
        let e = p2m.entries[gfn];
        if ((e & P2M_R) === 0 || e & P2M_MMIO) {
          ok = false;
          return;
        }
        if ((e & P2M_W) === 0) {
          const verdict = s2.onWriteViolation(gfn);
          if (verdict === S2Verdict.DISCARD) return;
          e = p2m.entries[gfn];
          if (verdict === S2Verdict.RETRY && (e & P2M_W) === 0) return;
        }
        if (e & P2M_W && (e & P2M_D) === 0) p2m.setDirty(gfn);
        const m = (e & P2M_MFN_MASK) * PAGE + at;
        machine.set(from.subarray(done, done + n), m);
      });
      codeChanged();
      return ok;
    },
  };
}
