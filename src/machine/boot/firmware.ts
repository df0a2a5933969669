/**
 * Firmware boot: a raw image (≤ 256 KiB: SeaBIOS's bios.bin or bios-256k.bin, or any ROM) placed
 * at the end of the machine's ROM region and mapped read-only so that it ends at 4 GiB, as a PC's
 * flash is. Its last 128 KiB also decode at 0xE0000–0xFFFFF while the i440FX PAM registers send
 * that window to the PCI side (their power-on state): the platform's ShadowRam does that mapping.
 * The CPU then starts at the reset vector, F000:FFF0 (SDM vol. 3, 9.1.4).
 */
import { PAGE_SHIFT, ROM_BYTES } from '../../shared/layout';
import { P2M_R, type P2m } from '../hv/p2m';
import type { MachineMemory } from '../memory';

export type FirmwareResult = { ok: true; legacyMfn: number } | { ok: false; message: string };

/**
 * Copy the image into the ROM region and map it below 4 GiB. Returns the machine frame of the
 * image's last 128 KiB (what decodes at 0xE0000 on the PCI side), or why the image was refused.
 */
export function loadFirmware(image: ArrayBuffer, memory: MachineMemory, p2m: P2m): FirmwareResult {
  const size = image.byteLength;
  if (size === 0) return { ok: false, message: 'the firmware image is empty' };
  if (size > ROM_BYTES)
    return { ok: false, message: `the firmware image is ${size} bytes; at most ${ROM_BYTES} (256 KiB) fit the ROM` };
  const rom = memory.layout.romOffset;
  memory.u8.fill(0, rom, rom + ROM_BYTES);
  memory.u8.set(new Uint8Array(image), rom + ROM_BYTES - size);
  const romFrame = rom >>> PAGE_SHIFT;
  const frames = ROM_BYTES >>> PAGE_SHIFT;
  p2m.map(0x100000 - frames, romFrame, frames, P2M_R);
  return { ok: true, legacyMfn: romFrame + frames - (0x20000 >>> PAGE_SHIFT) };
}
