import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { DEBUGCON_READBACK } from '../../src/machine/devices/debug-ports';
import { ErrorCode } from '../../src/shared/api';

const kernel = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));
const create = (extra: Record<string, unknown>) =>
  Machine.create(
    { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'multiboot', ...extra },
    kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) as ArrayBuffer,
    immediateYielder(),
  );

describe('the debug console (isa-debugcon)', () => {
  it('sits at 0xE9 by default: reads give 0xE9, writes go to the sink', () => {
    const r = create({});
    if (!r.ok) throw new Error(r.message);
    const out: number[] = [];
    r.value.onDebugcon = (b) => out.push(b);
    const io = r.value.pc!.io;
    expect(io.read(0xe9, 1)).toBe(DEBUGCON_READBACK);
    io.write(0xe9, 1, 0x41);
    expect(out).toEqual([0x41]);
  });

  it('moves to 0x402 as SeaBIOS expects: reading it back gives 0xE9, and 0xE9 is left free', () => {
    const r = create({ debugconPort: 0x402 });
    if (!r.ok) throw new Error(r.message);
    const out: number[] = [];
    r.value.onDebugcon = (b) => out.push(b);
    const io = r.value.pc!.io;
    expect(io.read(0x402, 1)).toBe(0xe9);
    for (const ch of 'ok\n') io.write(0x402, 1, ch.charCodeAt(0));
    io.write(0xe9, 1, 0x58);
    expect(String.fromCharCode(...out)).toBe('ok\n');
    expect(io.read(0xe9, 1)).toBe(0xff);
  });

  it("refuses a port another device decodes, naming the device (the machine's device list decides)", () => {
    for (const [port, owner] of [
      [0x3f8, /serial/],
      [0x70, /mc146818rtc/],
      [0xcfc, /PCI/],
      [0xf4, /isa-debug-exit/],
    ] as const) {
      const r = create({ debugconPort: port });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(ErrorCode.EINVAL);
        expect(r.message).toMatch(/^debugconPort must be a free I\/O port/);
        expect(r.message).toMatch(owner);
      }
    }
    const clash = create({ debugconPort: 0x402, postPort: 0x402 });
    expect(!clash.ok && clash.message).toMatch(/^postPort .*isa-debugcon's/);
  });
});
