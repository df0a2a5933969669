/**
 * The ticker guest (guest/mbtest/ticker.S: PIT channel 0 at 100 Hz, HLT in a loop, "ticker: 100
 * ticks" on COM1 after 100 of them) in a machine of its own, on the clock a test asks for.
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';

export function tickerMachine(clock: 'wall' | 'icount'): Machine {
  const kernel = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));
  const r = Machine.create(
    { ramMiB: 4, vramMiB: 8, clock, image: 'multiboot' },
    kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) as ArrayBuffer,
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  return r.value;
}
