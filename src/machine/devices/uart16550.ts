/**
 * A 16550A UART (COM1 at 0x3F8): divisor latch, IER/IIR/FCR/LCR/MCR/LSR/MSR/SCR, a receive FIFO
 * fed by the host, loopback (MCR.4), and the interrupt line (THRE and received-data interrupts by
 * IIR priority). The transmitter is infinitely fast: a byte written to THR goes to the sink at
 * once, so LSR.THRE/TEMT are always set.
 */
import type { AccessSize, IoBus } from '../bus';

const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

export class Uart16550 {
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private fcr = 0;
  private dll = 12;
  private dlm = 0;
  private readonly rx: number[] = [];
  /** THRE interrupt pending (set on THR empty while enabled, cleared by reading IIR or writing THR). */
  private threPending = false;

  constructor(
    private readonly out: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void = () => {},
    readonly base = 0x3f8,
  ) {}

  register(io: IoBus): void {
    io.register(this.base, 8, {
      read: (port: number, _s: AccessSize) => this.read(port - this.base),
      write: (port: number, _s: AccessSize, v: number) => this.write(port - this.base, v & 0xff),
    });
  }

  reset(): void {
    this.ier = this.lcr = this.mcr = this.scr = this.fcr = 0;
    this.dll = 12;
    this.dlm = 0;
    this.rx.length = 0;
    this.threPending = false;
    this.update();
  }

  /** Host input (console or stdin) into the receive FIFO (16 bytes deep when FIFOs are on, else 1; overflow drops). */
  receive(bytes: Iterable<number>): void {
    for (const b of bytes) this.rx.push(b & 0xff);
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
        this.update();
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
        return this.mcr & 0x10 ? ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x03) << 4) : 0xb0;
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
        if (this.mcr & 0x10) this.rx.push(v);
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
        break;
      case 3:
        this.lcr = v;
        return;
      case 4:
        this.mcr = v & 0x1f;
        break;
      case 7:
        this.scr = v;
        return;
      default:
        return;
    }
    this.update();
  }
}
