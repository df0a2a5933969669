/**
 * Guest stores through the VGA's 0xA0000–0xBFFFF window land in VRAM and in the hypervisor's
 * dirty log as LFB stores do: trackDirtyVram over the VRAM BAR reports the frames of the planes
 * they changed (and only those), in dirty mode and in trap mode. The guest is a 64 KiB firmware
 * written out here: real mode, text-mode registers, two character cells written at 0xB8000.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { I32, PAGE_SHIFT, RunState, VRAM_BAR_DEFAULT } from '../../src/shared/layout';

const BAR = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;
/** The tracked range: the first 8 VRAM frames (an 80×25 screen and its font). */
const NR = 8;

function firmware(): ArrayBuffer {
  const rom = new Uint8Array(0x10000);
  // prettier-ignore
  rom.set([
    0xba, 0xc4, 0x03,                         // mov dx, 0x3c4
    0xb8, 0x02, 0x03, 0xef,                   // SR2 (map mask) = 3: planes 0 and 1
    0xb8, 0x04, 0x02, 0xef,                   // SR4 (memory mode) = 2: odd/even
    0xba, 0xce, 0x03,                         // mov dx, 0x3ce
    0xb8, 0x06, 0x0e, 0xef,                   // GR6 = 0x0e: the window at 0xB8000
    0xb8, 0x00, 0xb8, 0x8e, 0xc0,             // mov ax, 0xb800; mov es, ax
    0x26, 0xc7, 0x06, 0xa0, 0x00, 0x41, 0x1f, // mov word [es:0x00a0], 0x1f41: cell 80
    0x26, 0xc7, 0x06, 0x98, 0x08, 0x42, 0x2e, // mov word [es:0x0898], 0x2e42: cell 1100
    0xfa, 0xf4,                               // cli; hlt
  ]);
  rom.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0); // reset vector: jmp far f000:0000
  return rom.buffer;
}

const frames = (bitmap: Uint8Array) =>
  Array.from({ length: NR }, (_, i) => i).filter((i) => bitmap[i >> 3] & (1 << (i & 7)));

describe('stores through the VGA window and the dirty log', () => {
  for (const trap of [false, true])
    it(`mark the VRAM frames of the planes they wrote (${trap ? 'trap' : 'dirty'} mode)`, () => {
      const made = Machine.create(
        { ramMiB: 8, vramMiB: 8, cmdline: '', clock: 'icount', image: 'firmware' },
        firmware(),
        immediateYielder(),
      );
      if (!made.ok) throw new Error(made.message);
      const m = made.value;
      m.setTrapWrites(trap);
      const first = m.trackDirtyVram(BAR, NR);
      expect(first.ok && frames(first.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const gen = Atomics.load(m.stats.i32, I32.DIRTY_GEN);
      while (m.slice().next !== 'stop');
      expect(m.state).toBe(RunState.HALTED);
      // Cell i: character in plane 0, attribute in plane 1 of plane address i (VRAM bytes 4i, 4i + 1).
      const vram = m.memory.vram;
      expect([vram[80 * 4], vram[80 * 4 + 1], vram[1100 * 4], vram[1100 * 4 + 1]]).toEqual([0x41, 0x1f, 0x42, 0x2e]);
      expect(Atomics.load(m.stats.i32, I32.DIRTY_GEN)).toBeGreaterThan(gen);
      const after = m.trackDirtyVram(BAR, NR);
      expect(after.ok && frames(after.value)).toEqual([0, 1]); // 320 → frame 0, 4400 → frame 1
      const quiet = m.trackDirtyVram(BAR, NR);
      expect(quiet.ok && frames(quiet.value)).toEqual([]);
      m.destroy();
    });
});
