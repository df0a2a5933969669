/**
 * The port-I/O and MMIO buses: how the CPU reaches devices. A device registers the ports or the
 * guest-physical range it decodes; nothing else couples them (STYLE.md: TinyEMU's tiny face).
 * Reads of nothing return all ones, writes to nothing are dropped, as on a PC.
 */

export type AccessSize = 1 | 2 | 4;

export interface PortHandler {
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;

/** Ports [first, first + count) decoded by one handler. */
export interface PortRange {
  first: number;
  count: number;
  handler: PortHandler;
}

export class IoBus {
  private readonly handlers: (PortHandler | undefined)[] = new Array(0x10000);

  /** Claim every port range a device decodes. */
  attach(device: { readonly ports: readonly PortRange[] }): void {
    for (const r of device.ports) this.register(r.first, r.count, r.handler);
  }

  /** Claim ports [first, first + count). Throws (a wiring bug, not a guest action) on overlap. */
  register(first: number, count: number, handler: PortHandler): void {
    for (let p = first; p < first + count; p++) {
      if (this.handlers[p]) throw new Error(`port 0x${p.toString(16)} already claimed`);
      this.handlers[p] = handler;
    }
  }

  /** Give up ports [first, first + count) where `handler` decodes them (a PCI I/O BAR that moved or was switched off). */
  unregister(first: number, count: number, handler: PortHandler): void {
    for (let p = first; p < first + count; p++) if (this.handlers[p] === handler) this.handlers[p] = undefined;
  }

  read(port: number, size: AccessSize): number {
    const h = this.handlers[port & 0xffff];
    return h ? h.read(port & 0xffff, size) >>> 0 : ALL_ONES[size];
  }

  write(port: number, size: AccessSize, value: number): void {
    const h = this.handlers[port & 0xffff];
    if (h) h.write(port & 0xffff, size, value);
  }
}

export interface MmioHandler {
  /** addr is the guest-physical address; the access never crosses the registered range. */
  read(addr: number, size: AccessSize): number;
  write(addr: number, size: AccessSize, value: number): void;
}

interface MmioRange {
  base: number;
  end: number;
  handler: MmioHandler;
}

/** Guest-physical ranges that are not backed by machine memory (p2m entries with P2M_MMIO or none). */
export class MmioBus {
  private ranges: MmioRange[] = [];

  register(base: number, length: number, handler: MmioHandler): void {
    this.ranges.push({ base, end: base + length, handler });
  }

  /** Stop decoding every range of this handler (a BAR that moved or was switched off). */
  unregister(handler: MmioHandler): void {
    this.ranges = this.ranges.filter((r) => r.handler !== handler);
  }

  read(addr: number, size: AccessSize): number {
    for (const r of this.ranges) if (addr >= r.base && addr < r.end) return r.handler.read(addr, size) >>> 0;
    return ALL_ONES[size];
  }

  write(addr: number, size: AccessSize, value: number): void {
    for (const r of this.ranges)
      if (addr >= r.base && addr < r.end) {
        r.handler.write(addr, size, value);
        return;
      }
  }
}

/**
 * What the CPU asks the interrupt controller (the PIC pair) at instruction boundaries: at the
 * start of each run(), after a port or MMIO access or FERR#, once EFLAGS.IF is set, after one it
 * held (the STI/MOV SS shadow) or took, and between the slices of a REP string instruction. The
 * request line may therefore rise only between runs or in a device's callback (the PC platform's
 * timers fire between runs, its devices raise requests in their port and MMIO handlers).
 */
export interface InterruptController {
  /** True when an unmasked interrupt request is waiting (the INTR line is up). */
  hasInterrupt(): boolean;
  /** INTA cycle: the vector to deliver (the PIC moves the request to in-service). */
  acknowledge(): number;
}
