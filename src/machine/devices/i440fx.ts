/**
 * The i440FX host bridge (82441FX PMC, 8086:1237 at 00:00.0) as QEMU's pc machine shows it:
 * subsystem 1af4:1100 (SeaBIOS looks for it to know it runs on QEMU, src/fw/paravirt.c) and the
 * PAM registers (config 0x59–0x5F) that choose, per segment of 0xC0000–0xFFFFF, whether reads and
 * writes reach the DRAM underneath ("shadow RAM") or the PCI/ISA side (the firmware ROM for
 * 0xE0000–0xFFFFF, nothing for the rest). The bridge only decodes the registers; the platform
 * remaps the frames (src/machine/shadow-ram.ts), told through `onPam`.
 *
 * 82441FX data sheet, PAM registers: PAM0 bits 7:4 cover 0xF0000–0xFFFFF (bits 3:0 reserved);
 * PAM1–PAM6 have two 16 KiB segments each, the low nibble for the lower one, from 0xC0000 up to
 * 0xEC000. In each nibble bit 0 is RE (reads go to DRAM) and bit 1 WE (writes go to DRAM); the
 * other bits are not kept (they read back as 0).
 */
import { PciFunction } from './pci-function';

/** A PAM nibble's RE/WE pair: 0 = both to PCI, 1 = read DRAM, 2 = write DRAM, 3 = DRAM. */
export const PamMode = {
  PCI: 0,
  READ: 1,
  WRITE: 2,
  READ_WRITE: 3,
} as const;
export type PamMode = (typeof PamMode)[keyof typeof PamMode];

export const PAM0 = 0x59;

/** One PAM-controlled segment: guest-physical base and size. */
export interface PamSegment {
  base: number;
  size: number;
}

/** Segment 0 is 0xF0000 (64 KiB, PAM0's high nibble); segments 1–12 the 16 KiB ones from 0xC0000. */
export const PAM_SEGMENTS: readonly PamSegment[] = [
  { base: 0xf0000, size: 0x10000 },
  ...Array.from({ length: 12 }, (_, i) => ({ base: 0xc0000 + i * 0x4000, size: 0x4000 })),
];

/** The PAM register and nibble (0 low, 1 high) that control segment i. */
function pamNibble(segment: number): [reg: number, shift: number] {
  return segment === 0 ? [PAM0, 4] : [PAM0 + 1 + ((segment - 1) >> 1), ((segment - 1) & 1) * 4];
}

export class I440fxHostBridge extends PciFunction {
  constructor(private readonly onPam: (segment: number, mode: PamMode) => void) {
    super({ vendor: 0x8086, device: 0x1237, classCode: 0x060000, revision: 0x02 });
    this.reset();
  }

  override reset(): void {
    super.reset();
    for (let i = 0; i < 7; i++) this.config[PAM0 + i] = 0;
    for (let s = 0; s < PAM_SEGMENTS.length; s++) this.onPam(s, PamMode.PCI);
  }

  /** The mode config space gives segment i now. */
  pamMode(segment: number): PamMode {
    const [reg, shift] = pamNibble(segment);
    return ((this.config[reg] >> shift) & 3) as PamMode;
  }

  protected override writeByte(reg: number, value: number): void {
    if (reg < PAM0 || reg > PAM0 + 6) return super.writeByte(reg, value);
    const before = PAM_SEGMENTS.map((_, s) => this.pamMode(s));
    this.config[reg] = value & (reg === PAM0 ? 0x30 : 0x33);
    for (let s = 0; s < PAM_SEGMENTS.length; s++) {
      const mode = this.pamMode(s);
      if (mode !== before[s]) this.onPam(s, mode);
    }
  }

  /**
   * Every segment to DRAM, readable and writable: the state a direct kernel boot starts in (as if
   * firmware had shadowed itself and left the window open), which keeps 0xC0000–0xFFFFF plain RAM.
   */
  shadowReadWrite(): void {
    this.writeByte(PAM0, 0x30);
    for (let i = 1; i < 7; i++) this.writeByte(PAM0 + i, 0x33);
  }
}
