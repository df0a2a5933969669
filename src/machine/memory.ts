import { memoryLayout, type MemoryLayout } from '../shared/layout';

/**
 * The machine memory: one SharedArrayBuffer holding guest RAM, VRAM and the firmware ROM, with
 * the views every part of the machine uses. Offsets here are machine addresses; the p2m maps
 * guest-physical frames onto them.
 */
export class MachineMemory {
  readonly layout: MemoryLayout;
  readonly sab: SharedArrayBuffer;
  /** The whole machine memory, byte-addressed. */
  readonly u8: Uint8Array;
  /** VRAM only (offset 0 = first byte of VRAM). */
  readonly vram: Uint8Array;

  constructor(ramMiB: number, vramMiB: number, sab?: SharedArrayBuffer) {
    this.layout = memoryLayout(ramMiB, vramMiB);
    if (sab && sab.byteLength !== this.layout.totalBytes) throw new RangeError('machine memory size mismatch');
    this.sab = sab ?? new SharedArrayBuffer(this.layout.totalBytes);
    this.u8 = new Uint8Array(this.sab);
    this.vram = new Uint8Array(this.sab, this.layout.vramOffset, this.layout.vramBytes);
  }
}
