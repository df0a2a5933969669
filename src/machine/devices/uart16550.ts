/**
 * A 16550A UART (COM1 at 0x3F8): divisor latch, IER/IIR/FCR/LCR/MCR/LSR/MSR/SCR, a receive FIFO
 * fed by the host, loopback (MCR.4), and the interrupt line (THRE and received-data interrupts by
 * IIR priority). The transmitter is infinitely fast: a byte written to THR goes to the sink at
 * once, so LSR.THRE/TEMT are always set.
 *
 * The host end of the line (the page's console, the CLI's stdin) uses RTS/CTS flow control: its
 * bytes wait until the guest asserts RTS (MCR.1, as a driver does once the port is programmed)
 * and then fill the FIFO (16 bytes, or the 1-byte holding register with FIFOs off) as the guest
 * reads it. So input sent before the guest is ready is neither lost (an FCR clear empties only
 * the FIFO) nor overruns it, and it arrives at a point the guest's own actions fix (a run on the
 * icount clock stays reproducible).
 */
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';

const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const MCR_RTS = 0x02;
const MCR_LOOP = 0x10;

export class Uart16550 implements Device {
  readonly name = 'serial (COM1)';
  readonly ports: readonly PortRange[];
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private fcr = 0;
  private dll = 12;
  private dlm = 0;
  private readonly rx: number[] = [];
  /** Bytes the host sent that the line has not delivered yet (flow control), from hostHead on. */
  private host: number[] = [];
  private hostHead = 0;
  /** THRE interrupt pending (set on THR empty while enabled, cleared by reading IIR or writing THR). */
  private threPending = false;

  constructor(
    private readonly out: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void = () => {},
    readonly base = 0x3f8,
  ) {
    this.ports = [
      {
        first: base,
        count: 8,
        handler: {
          read: (port: number, _s: AccessSize) => this.read(port - base),
          write: (port: number, _s: AccessSize, v: number) => this.write(port - base, v & 0xff),
        },
      },
    ];
  }

  saveState(): unknown {
    return {
      ...{ ier: this.ier, lcr: this.lcr, mcr: this.mcr, scr: this.scr, fcr: this.fcr, dll: this.dll, dlm: this.dlm },
      ...{ rx: [...this.rx], host: this.host.slice(this.hostHead), threPending: this.threPending },
    };
  }

  reset(): void {
    this.ier = this.lcr = this.mcr = this.scr = this.fcr = 0;
    this.dll = 12;
    this.dlm = 0;
    this.rx.length = 0;
    this.threPending = false;
    this.update();
  }

  /** Host input (console or stdin): delivered into the receive FIFO as flow control allows. */
  receive(bytes: Iterable<number>): void {
    for (const b of bytes) this.host.push(b & 0xff);
    this.deliver();
  }

  /** Host bytes into the FIFO while the guest asserts RTS (not in loopback) and the FIFO has room. */
  private deliver(): void {
    if ((this.mcr & (MCR_RTS | MCR_LOOP)) === MCR_RTS) {
      const depth = this.fcr & 1 ? 16 : 1;
      while (this.rx.length < depth && this.hostHead < this.host.length) this.rx.push(this.host[this.hostHead++]);
      if (this.hostHead === this.host.length) {
        this.host = [];
        this.hostHead = 0;
      }
    }
    this.update();
  }

  /** Bytes waiting in the receive FIFO. */
  get pending(): number {
    return this.rx.length;
  }

  private get dlab(): boolean {
    return (this.lcr & 0x80) !== 0;
  }

  private iir(): number {
    const fifo = this.fcr & 1 ? 0xc0 : 0;
    if (this.ier & 1 && this.rx.length > 0) return fifo | 0x04;
    if (this.ier & 2 && this.threPending) return fifo | 0x02;
    return fifo | 0x01;
  }

  private update(): void {
    this.setIrq((this.iir() & 1) === 0 && (this.mcr & 0x08) !== 0);
  }

  read(reg: number): number {
    switch (reg) {
      case 0: {
        if (this.dlab) return this.dll;
        const v = this.rx.shift() ?? 0;
        this.deliver();
        return v;
      }
      case 1:
        return this.dlab ? this.dlm : this.ier;
      case 2: {
        const v = this.iir();
        if ((v & 0x0f) === 0x02) {
          this.threPending = false;
          this.update();
        }
        return v;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        return (this.rx.length > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
      case 6:
        // MSR: in loopback, the modem inputs follow MCR; otherwise CTS, DSR and DCD are asserted.
        return this.mcr & MCR_LOOP ? ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x03) << 4) : 0xb0;
      default:
        return this.scr;
    }
  }

  write(reg: number, v: number): void {
    switch (reg) {
      case 0:
        if (this.dlab) {
          this.dll = v;
          return;
        }
        if (this.mcr & MCR_LOOP) this.rx.push(v);
        else this.out(v);
        this.threPending = true;
        break;
      case 1:
        if (this.dlab) {
          this.dlm = v;
          return;
        }
        if (v & 2 && !(this.ier & 2)) this.threPending = true; // enabling THRE with THR empty interrupts at once
        this.ier = v & 0x0f;
        break;
      case 2:
        this.fcr = v & 0xc9;
        if (v & 2) this.rx.length = 0;
        this.deliver();
        return;
      case 3:
        this.lcr = v;
        return;
      case 4:
        this.mcr = v & 0x1f;
        this.deliver();
        return;
      case 7:
        this.scr = v;
        return;
      default:
        return;
    }
    this.update();
  }
}
