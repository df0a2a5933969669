import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { Uart16550 } from '../../src/machine/devices/uart16550';

function rig() {
  const io = new IoBus();
  const out: number[] = [];
  const irq: boolean[] = [];
  const uart = new Uart16550(
    (b) => out.push(b),
    (level) => irq.push(level),
  );
  io.attach(uart);
  return { io, uart, out, irq, last: () => irq.at(-1) };
}

describe('the 16550 UART', () => {
  it('sends THR bytes to the sink with THRE and TEMT always set', () => {
    const { io, out } = rig();
    io.write(0x3f8, 1, 0x41);
    expect(out).toEqual([0x41]);
    expect(io.read(0x3fd, 1) & 0x60).toBe(0x60);
  });
  it('enabling the THRE interrupt raises IRQ 4 (with OUT2), and reading IIR (0x02) clears it', () => {
    const { io, last } = rig();
    io.write(0x3fc, 1, 0x08); // OUT2: the interrupt line reaches the PIC
    io.write(0x3f9, 1, 0x02);
    expect(last()).toBe(true);
    expect(io.read(0x3fa, 1) & 0x0f).toBe(0x02);
    expect(last()).toBe(false);
    expect(io.read(0x3fa, 1) & 0x0f).toBe(0x01);
  });
  it('received bytes set LSR.DR and the received-data interrupt, which outranks THRE', () => {
    const { io, uart, last } = rig();
    io.write(0x3fc, 1, 0x0a); // OUT2, RTS
    io.write(0x3f9, 1, 0x03);
    uart.receive([0x61, 0x62]);
    expect(io.read(0x3fd, 1) & 1).toBe(1);
    expect(io.read(0x3fa, 1) & 0x0f).toBe(0x04);
    expect([io.read(0x3f8, 1), io.read(0x3f8, 1)]).toEqual([0x61, 0x62]);
    expect(io.read(0x3fd, 1) & 1).toBe(0);
    expect(last()).toBe(true); // THRE still pending
  });
  it('the divisor latch (DLAB) replaces RBR/THR and IER', () => {
    const { io, out } = rig();
    io.write(0x3fb, 1, 0x80);
    io.write(0x3f8, 1, 0x01);
    io.write(0x3f9, 1, 0x00);
    expect([io.read(0x3f8, 1), io.read(0x3f9, 1)]).toEqual([1, 0]);
    io.write(0x3fb, 1, 0x03);
    expect(out).toEqual([]);
  });
  it('host input waits for RTS: sent before the guest programs the port, none of it is lost', () => {
    const { io, uart } = rig();
    uart.receive([0x68, 0x69]); // the host types before the driver has run
    expect(io.read(0x3fd, 1) & 1).toBe(0); // nothing on the line yet
    io.write(0x3fa, 1, 0xc7); // the driver: FIFOs on and cleared ...
    io.write(0x3fc, 1, 0x0b); // ... then DTR, RTS, OUT2: the host may send
    expect([io.read(0x3f8, 1), io.read(0x3f8, 1)]).toEqual([0x68, 0x69]);
    expect(io.read(0x3fd, 1) & 1).toBe(0);
    io.write(0x3fc, 1, 0x09); // RTS dropped: the host holds what it sends
    uart.receive([0x6a]);
    expect(io.read(0x3fd, 1) & 1).toBe(0);
    io.write(0x3fc, 1, 0x0b);
    expect(io.read(0x3f8, 1)).toBe(0x6a);
  });
  it('host input fills the 16-byte FIFO (1 byte with FIFOs off) and follows as the guest reads', () => {
    const { io, uart } = rig();
    io.write(0x3fc, 1, 0x0b);
    const text = Array.from({ length: 100 }, (_, i) => 0x20 + i);
    uart.receive(text);
    expect(uart.pending).toBe(1); // FIFOs off: the holding register
    io.write(0x3fa, 1, 0x01); // FIFOs on
    expect(uart.pending).toBe(16);
    const got: number[] = [];
    while (io.read(0x3fd, 1) & 1) got.push(io.read(0x3f8, 1));
    expect(got).toEqual(text);
  });
  it('loopback (MCR.4) returns written bytes as received ones', () => {
    const { io, out } = rig();
    io.write(0x3fc, 1, 0x12); // loopback (and RTS, which loops back to CTS)
    io.write(0x3f8, 1, 0x5a);
    expect(out).toEqual([]);
    expect(io.read(0x3f8, 1)).toBe(0x5a);
  });
  it('in loopback the host input is held off the line', () => {
    const { io, uart } = rig();
    io.write(0x3fc, 1, 0x12);
    uart.receive([0x41]);
    expect(io.read(0x3fd, 1) & 1).toBe(0);
    io.write(0x3fc, 1, 0x02); // loopback off: the host's byte arrives
    expect(io.read(0x3f8, 1)).toBe(0x41);
  });
});
