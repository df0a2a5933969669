/**
 * The platform's side of the i440FX PAM registers: what a PAM segment of 0xC0000–0xFFFFF maps to
 * in the p2m. The host bridge decodes the registers (devices/i440fx.ts) and calls `setSegment`;
 * this remaps the segment's guest frames (src/machine/hv/README.md, "The platform's side": the
 * platform maps RAM and ROM) and drops every cached translation of them, so the next access walks
 * the p2m again, and tells the CPU that the code there may have changed.
 *
 *   RE WE   reads            writes           p2m entry
 *   1  1    RAM              RAM              RAM frame, P2M_R | P2M_W
 *   1  0    RAM              dropped          RAM frame, P2M_R (a write is a second-stage fault, discarded)
 *   0  0    ROM / nothing    dropped          ROM frame, P2M_R (0xE0000–0xFFFFF) / unmapped (below)
 *   0  1    ROM / nothing    RAM              P2M_MMIO: this file's handler splits the two
 *
 * The "PCI side" below 0xE0000 decodes nothing (reads all ones), as on QEMU's pc without option
 * ROMs there. RAM is at machine offset 0, so the RAM behind guest frame g is machine frame g.
 * Only the hypervisor clears A/D bits or tracks dirty frames: a remap writes fresh entries for
 * frames that no dirty-log client covers (VRAM is never in this window), and invalidates the TLB
 * in the same step, so "a cached writable translation implies P2M_D" keeps holding.
 */
import { PAGE_SHIFT } from '../shared/layout';
import type { AccessSize, MmioHandler, PortRange } from './bus';
import type { Device, MmioRange } from './devices/device';
import { PAM_SEGMENTS, PamMode } from './devices/i440fx';
import { P2M_R, P2M_W, type P2m } from './hv/p2m';
import type { MachineMemory } from './memory';

const WINDOW_BASE = 0xc0000;
const WINDOW_BYTES = 0x40000;
/** Where the firmware ROM shows through when the PCI side decodes (the last 128 KiB below 1 MiB). */
const ROM_WINDOW_BASE = 0xe0000;

/** The PAM segment (index into PAM_SEGMENTS) holding guest-physical addr in the window. */
function segmentOf(addr: number): number {
  return addr >= 0xf0000 ? 0 : 1 + ((addr - WINDOW_BASE) >>> 14);
}

export interface TlbInvalidator {
  invalidateMappings(firstGfn: number, nr: number): number;
}

export class ShadowRam implements Device {
  readonly name = 'shadow RAM (i440FX PAM)';
  readonly ports: readonly PortRange[] = [];
  private readonly modes = new Uint8Array(PAM_SEGMENTS.length);
  /** Machine frame of the ROM bytes that decode at 0xE0000 on the PCI side, or null (no firmware). */
  private romMfn: number | null = null;
  /** The handler for write-only segments (reads from the PCI side, writes into RAM). */
  readonly mmio: readonly MmioRange[];

  constructor(
    private readonly memory: MachineMemory,
    private readonly p2m: P2m,
    private readonly tlb: TlbInvalidator,
    private readonly codeChanged: () => void,
  ) {
    const handler: MmioHandler = {
      read: (addr: number, size: AccessSize) => {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.pciSideByte(addr + i);
        return v >>> 0;
      },
      write: (addr: number, size: AccessSize, value: number) => {
        // Writes also come here when the frame is unmapped or a read-only one discarded them:
        // only a segment with WE set takes them.
        for (let i = 0; i < size; i++)
          if (this.modes[segmentOf(addr + i)] & PamMode.WRITE) this.memory.u8[addr + i] = (value >>> (i * 8)) & 0xff;
      },
    };
    this.mmio = [{ base: WINDOW_BASE, length: WINDOW_BYTES, handler }];
  }

  saveState(): unknown {
    return { modes: Array.from(this.modes), romMfn: this.romMfn };
  }

  /** The segments' modes come from the host bridge, whose reset sets them. */
  reset(): void {}

  /** The firmware ROM's last 128 KiB now start at machine frame mfn (null: no firmware). */
  setRom(mfn: number | null): void {
    this.romMfn = mfn;
    for (let s = 0; s < PAM_SEGMENTS.length; s++) this.apply(s);
  }

  /** The host bridge's hook: segment s now routes as mode. */
  setSegment(segment: number, mode: PamMode): void {
    this.modes[segment] = mode;
    this.apply(segment);
  }

  private pciSideByte(addr: number): number {
    if (this.romMfn === null || addr < ROM_WINDOW_BASE) return 0xff;
    return this.memory.u8[(this.romMfn << PAGE_SHIFT) + (addr - ROM_WINDOW_BASE)];
  }

  private apply(segment: number): void {
    const { base, size } = PAM_SEGMENTS[segment];
    const gfn = base >>> PAGE_SHIFT;
    const n = size >>> PAGE_SHIFT;
    switch (this.modes[segment]) {
      case PamMode.READ_WRITE:
        this.p2m.map(gfn, gfn, n, P2M_R | P2M_W);
        break;
      case PamMode.READ:
        this.p2m.map(gfn, gfn, n, P2M_R);
        break;
      case PamMode.WRITE:
        this.p2m.mapMmio(gfn, n);
        break;
      default:
        if (this.romMfn !== null && base >= ROM_WINDOW_BASE)
          this.p2m.map(gfn, this.romMfn + ((base - ROM_WINDOW_BASE) >>> PAGE_SHIFT), n, P2M_R);
        else this.p2m.unmap(gfn, n);
    }
    this.tlb.invalidateMappings(gfn, n);
    this.codeChanged();
  }
}
