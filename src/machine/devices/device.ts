/**
 * The one face every device shows the machine (STYLE.md: TinyEMU's tiny face): a name, the I/O
 * ports and guest-physical MMIO ranges it decodes, reset, and, for devices with a clock, what
 * happens when time passes and when it next may interrupt. The machine wires a list of these;
 * devices never know each other (their IRQ lines and platform hooks are callbacks they are given).
 */
import type { IoBus, MmioBus, MmioHandler, PortRange } from '../bus';

export type { PortRange };

export interface MmioRange {
  base: number;
  length: number;
  handler: MmioHandler;
}

export interface Device {
  /** QEMU's name for the device where it has one (shown in wiring errors). */
  readonly name: string;
  /** The I/O ports it decodes (fixed once the device is built). */
  readonly ports: readonly PortRange[];
  /** Guest-physical ranges it decodes; reached only where the p2m marks the frames P2M_MMIO. */
  readonly mmio?: readonly MmioRange[];
  /** Back to the power-on state. */
  reset(): void;
  /** Time passed: raise what is due by now (machine time, from the clock the device was given). */
  advance?(): void;
  /** Machine time (ms) of the next event that may interrupt, or Infinity. */
  nextDeadlineMs?(): number;
  /**
   * Machine time (ms) that a halted CPU's time may not step past before the device has raised
   * what is due then (default: nextDeadlineMs()). A periodic timer's edges are counted by the
   * guest (Linux's jiffies in periodic mode) and each must come at its own time; a one-shot
   * count only ends a wait, which may end late (Infinity): an idle guest's one-shot timer then
   * fires at the end of the run loop's timer slack, the guest seeing the time that passed, as a
   * guest of a busy host sees its timer interrupt late (src/machine/runloop.ts, IDLE_SLACK_MS).
   */
  nextStrictDeadlineMs?(): number;
  /** The device's state as plain data, for a later snapshot (devices that have it cheaply). */
  saveState?(): unknown;
}

/** Two devices decode the same port: a wiring bug, or a configured port that is not free. */
export class PortConflict extends Error {
  constructor(
    readonly port: number,
    readonly owner: string,
    readonly claimant: string,
  ) {
    super(`port 0x${port.toString(16)} claimed by ${claimant} is ${owner}'s`);
  }
}

/** The device decoding each port, as the wiring derives it from the list (undefined: free). */
export function portOwners(devices: readonly Device[]): (Device | undefined)[] {
  const owners: (Device | undefined)[] = new Array(0x10000);
  for (const d of devices)
    for (const r of d.ports)
      for (let p = r.first; p < r.first + r.count; p++) {
        const o = owners[p];
        if (o) throw new PortConflict(p, o.name, d.name);
        owners[p] = d;
      }
  return owners;
}

/** Register every device's ports and MMIO ranges on the buses (throws PortConflict on overlap). */
export function wireDevices(devices: readonly Device[], io: IoBus, mmio: MmioBus): void {
  portOwners(devices);
  for (const d of devices) {
    io.attach(d);
    for (const r of d.mmio ?? []) mmio.register(r.base, r.length, r.handler);
  }
}
