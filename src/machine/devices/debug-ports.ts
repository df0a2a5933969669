/**
 * The headless-run ports, three tiny devices after QEMU's:
 *  - isa-debugcon (`iobase` 0xE9 by default, 0x402 where SeaBIOS's QEMU build logs): each byte
 *    written goes to a sink; a read returns 0xE9 (QEMU's `readback`), which is how SeaBIOS decides
 *    the console is there before it logs anything (src/hw/serialio.c, qemu_debug_preinit);
 *  - the POST port (0x80 by default): codes are recorded;
 *  - isa-debug-exit (0xF4): writing v ends the run with status (v << 1) | 1.
 */
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';

/** What a read of the debug console returns (QEMU's isa-debugcon `readback` default). */
export const DEBUGCON_READBACK = 0xe9;

export class Debugcon implements Device {
  readonly name = 'isa-debugcon';
  readonly ports: readonly PortRange[];

  constructor(
    sink: (byte: number) => void,
    readonly iobase = 0xe9,
  ) {
    this.ports = [
      {
        first: iobase,
        count: 1,
        handler: { read: () => DEBUGCON_READBACK, write: (_p: number, _s: AccessSize, v: number) => sink(v & 0xff) },
      },
    ];
  }

  reset(): void {}
}

export class PostPort implements Device {
  readonly name = 'POST port';
  readonly ports: readonly PortRange[];
  /** Every POST code written, in order. */
  readonly postCodes: number[] = [];

  constructor(
    sink: (code: number) => void,
    readonly port = 0x80,
  ) {
    this.ports = [
      {
        first: port,
        count: 1,
        handler: {
          read: () => 0xff,
          write: (_p: number, _s: AccessSize, v: number) => {
            this.postCodes.push(v & 0xff);
            sink(v & 0xff);
          },
        },
      },
    ];
  }

  saveState(): unknown {
    return { postCodes: [...this.postCodes] };
  }

  reset(): void {
    this.postCodes.length = 0;
  }
}

export class DebugExit implements Device {
  readonly name = 'isa-debug-exit';
  readonly ports: readonly PortRange[];

  constructor(exit: (status: number) => void) {
    this.ports = [
      {
        first: 0xf4,
        count: 1,
        handler: {
          read: () => 0xff,
          write: (_p: number, size: AccessSize, v: number) =>
            exit(((v & (size === 4 ? -1 : (1 << (size * 8)) - 1)) << 1) | 1),
        },
      },
    ];
  }

  reset(): void {}
}
