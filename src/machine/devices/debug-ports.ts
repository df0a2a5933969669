/**
 * The headless-run ports: the Bochs/QEMU debug console (0xE9: each byte written goes to a sink;
 * reading gives 0xE9, the "present" probe), the POST port (0x80 by default: codes are recorded)
 * and QEMU's isa-debug-exit (0xF4: writing v ends the run with status (v << 1) | 1).
 */
import type { AccessSize, IoBus } from '../bus';

export interface DebugPortSinks {
  debugcon(byte: number): void;
  post(code: number): void;
  exit(status: number): void;
}

export class DebugPorts {
  /** Every POST code written, in order. */
  readonly postCodes: number[] = [];

  constructor(
    private readonly sinks: DebugPortSinks,
    readonly postPort = 0x80,
  ) {}

  register(io: IoBus): void {
    io.register(0xe9, 1, {
      read: () => 0xe9,
      write: (_p: number, _s: AccessSize, v: number) => this.sinks.debugcon(v & 0xff),
    });
    io.register(this.postPort, 1, {
      read: () => 0xff,
      write: (_p: number, _s: AccessSize, v: number) => {
        this.postCodes.push(v & 0xff);
        this.sinks.post(v & 0xff);
      },
    });
    io.register(0xf4, 1, {
      read: () => 0xff,
      write: (_p: number, size: AccessSize, v: number) =>
        this.sinks.exit(((v & (size === 4 ? -1 : (1 << (size * 8)) - 1)) << 1) | 1),
    });
  }

  reset(): void {
    this.postCodes.length = 0;
  }
}
