/**
 * Debian's SeaBIOS and VGA BIOS for the tests that boot them: scripts/ensure-seabios.mjs fetches
 * them on first use (once per test file, before its tests) and prints the folder that holds
 * bios.bin and vgabios-stdvga.bin. Then the machine they boot in: 32 MiB on the icount clock,
 * SeaBIOS's log (QEMU builds write it to port 0x402) and COM1 collected.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import type { MachineConfig } from '../../src/shared/api';
import { F64 } from '../../src/shared/layout';

/** Registers the fetch for this test file; the returned function gives the folder inside a test. */
export function seabiosFolder(): () => string {
  let dir = '';
  beforeAll(() => {
    dir = execFileSync(process.execPath, ['scripts/ensure-seabios.mjs'], { encoding: 'utf8', timeout: 300_000 }).trim();
  }, 300_000);
  return () => dir;
}

/** A file of the folder as an ArrayBuffer of its own. */
export function firmwareFile(dir: string, name: string): ArrayBuffer {
  const b = readFileSync(`${dir}/${name}`);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export interface SeabiosRun {
  m: Machine;
  /** What SeaBIOS (and anything after it) wrote to the debug console so far. */
  log(): string;
  /** What the guest wrote to COM1 so far. */
  serial(): string;
  /** Run until `done` holds, the guest stops, or the machine has run `budget` instructions in all. */
  runUntil(budget: number, done?: () => boolean): void;
}

/**
 * A machine whose firmware is `bios` from the folder (bios.bin unless said), with the debug console
 * on 0x402 and `config` on top (the media, the VGA BIOS, the boot order, option ROMs).
 */
export function seabiosMachine(dir: string, config: Partial<MachineConfig> = {}, bios = 'bios.bin'): SeabiosRun {
  const r = Machine.create(
    { ramMiB: 32, vramMiB: 8, clock: 'icount', image: 'firmware', debugconPort: 0x402, ...config },
    firmwareFile(dir, bios),
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  const m = r.value;
  let log = '';
  let serial = '';
  m.onDebugcon = (b) => (log += String.fromCharCode(b));
  m.onSerial = (b) => (serial += String.fromCharCode(b));
  return {
    m,
    log: () => log,
    serial: () => serial,
    runUntil(budget, done = () => false) {
      while (m.stats.f64[F64.INSTRUCTIONS] < budget && !done()) if (m.slice().next === 'stop') break;
    },
  };
}
