/**
 * FERR# on the PC (QEMU's ioportF0): an x87 error with CR0.NE = 0 raises IRQ 13 on the slave PIC
 * (its line 5) and holds it; a write to port F0h lowers it, so the next error is a new edge.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';

const kernel = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));

describe('FERR# and port F0h', () => {
  it('the FPU error raises IRQ 13; OUT F0h clears it; the CPU is wired to it', () => {
    const r = Machine.create(
      { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'multiboot' },
      kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) as ArrayBuffer,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const pc = r.value.pc!;
    const irr13 = () => {
      pc.io.write(0xa0, 1, 0x0a); // OCW3: read the slave's IRR
      return (pc.io.read(0xa0, 1) >> 5) & 1;
    };
    expect(irr13()).toBe(0);
    // The CPU's FERR# hook is the latch's.
    const env = (pc.cpu as unknown as { env: { fpuError?: () => void } }).env;
    env.fpuError!();
    expect(irr13()).toBe(1);
    pc.pic.acknowledge(); // the request goes in service
    expect(irr13()).toBe(0);
    // Still asserted: a second error is no new edge until OUT F0h lowers the line.
    env.fpuError!();
    expect(irr13()).toBe(0);
    pc.io.write(0xf0, 1, 0);
    env.fpuError!();
    expect(irr13()).toBe(1);
  });
});
