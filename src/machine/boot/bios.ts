/**
 * What a PC BIOS leaves in low memory for the kernel it hands over to, when the machine boots a
 * kernel directly (no firmware runs): the BIOS data area words that kernels read, and the memory
 * map (the E820 table) that both the Linux and the Multiboot loaders describe.
 *
 * The BDA's layout is IBM's (PC/AT Technical Reference, "BIOS Data Area"); Linux reads the EBDA
 * segment at 0x40E and the base-memory size at 0x413 (arch/x86/kernel/ebda.c) to keep the EBDA
 * out of its allocator, and many small kernels find COM1 at 0x400.
 */
import type { MachineMemory } from '../memory';

/** The extended BIOS data area: the last KiB below 640 KiB, as SeaBIOS and QEMU place it. */
export const EBDA_BASE = 0x9fc00;
/** The BIOS area at the top of the first MiB (no ROM is mapped there for a kernel boot, but a kernel scans it). */
export const BIOS_AREA = 0xf0000;

/** The standard port addresses of COM1–COM4; only COM1 is wired (a 16550 at 0x3F8). */
const COM_PORTS = [0x3f8, 0, 0, 0];

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  addr: number;
  size: number;
  type: typeof E820_RAM | typeof E820_RESERVED;
}

/**
 * The machine's physical memory map: RAM below the EBDA, the EBDA and the BIOS area reserved,
 * RAM from 1 MiB to the top of guest RAM, and the VRAM BAR reserved (it is device memory, not RAM;
 * saying so keeps a kernel's allocator off it before PCI is probed).
 */
export function e820Map(ramBytes: number, vramBar: number, vramBytes: number): E820Entry[] {
  return [
    { addr: 0, size: EBDA_BASE, type: E820_RAM },
    { addr: EBDA_BASE, size: 0xa0000 - EBDA_BASE, type: E820_RESERVED },
    { addr: BIOS_AREA, size: 0x100000 - BIOS_AREA, type: E820_RESERVED },
    { addr: 0x100000, size: ramBytes - 0x100000, type: E820_RAM },
    { addr: vramBar, size: vramBytes, type: E820_RESERVED },
  ];
}

/**
 * The BDA words a kernel reads: COM port addresses (0x400), the equipment word (0x410), the base
 * memory size in KiB (0x413) and the EBDA segment (0x40E); the EBDA's first byte is its size in KiB.
 */
export function fillBiosDataArea(memory: MachineMemory): void {
  const u8 = memory.u8;
  u8.fill(0, 0x400, 0x500);
  const dv = new DataView(memory.sab, 0x400, 0x100);
  COM_PORTS.forEach((port, i) => dv.setUint16(i * 2, port, true));
  dv.setUint16(0x0e, EBDA_BASE >>> 4, true);
  // Equipment word: bits 9–11 the number of serial ports; bits 4–5 = 00, a video adapter with its
  // own BIOS (EGA or later); bit 1, a math coprocessor (the CPU's x87).
  const comCount = COM_PORTS.filter((p) => p !== 0).length;
  dv.setUint16(0x10, (comCount << 9) | 2, true);
  dv.setUint16(0x13, EBDA_BASE >>> 10, true);
  u8.fill(0, EBDA_BASE, 0xa0000);
  u8[EBDA_BASE] = (0xa0000 - EBDA_BASE) >>> 10;
}
