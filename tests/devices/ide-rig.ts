/**
 * What the IDE tests share: a channel's register ports by name, a machine around the PIIX3 IDE
 * (the ticker guest, never run, just the devices wired as the PC wires them) and what firmware
 * does to its bus master (BAR4 placed, I/O and bus mastering on) and a PRD table in RAM.
 */
import { readFileSync } from 'node:fs';
import type { IoBus } from '../../src/machine/bus';
import { PIIX3_IDE_DEVFN } from '../../src/machine/devices/piix3-ide';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import type { MachineConfig } from '../../src/shared/api';

/** A channel's command block (base..base+7) and control block (ctrl) registers. */
export function channelPorts(base: number, ctrl: number) {
  return {
    DATA: base,
    ERROR: base + 1,
    FEATURES: base + 1,
    COUNT: base + 2,
    LBA_LOW: base + 3,
    LBA_MID: base + 4,
    LBA_HIGH: base + 5,
    DEVICE: base + 6,
    STATUS: base + 7,
    COMMAND: base + 7,
    CONTROL: ctrl,
  } as const;
}

/** Read `bytes` through the data port, 16 bits at a time (what REP INSW does). */
export function readPio(io: IoBus, data: number, bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 2) {
    const w = io.read(data, 2);
    b[i] = w & 0xff;
    b[i + 1] = w >>> 8;
  }
  return b;
}

/** A 4 MiB machine on icount with the ticker loaded (not run) and the media of `media`. */
export function ideMachine(media: Pick<MachineConfig, 'hda' | 'hdaUrl' | 'hdaFile' | 'cdrom'> = {}): Machine {
  const ticker = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));
  const r = Machine.create(
    { ramMiB: 4, vramMiB: 8, clock: 'icount', image: 'multiboot', ...media },
    ticker.buffer.slice(ticker.byteOffset, ticker.byteOffset + ticker.byteLength) as ArrayBuffer,
    immediateYielder(),
  );
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

/** PCI configuration cycles to the IDE function (mechanism #1 at 0xCF8/0xCFC). */
export function ideConfig(io: IoBus) {
  const select = (reg: number) => io.write(0xcf8, 4, (0x80000000 | (PIIX3_IDE_DEVFN << 8) | reg) >>> 0);
  return {
    read: (reg: number) => (select(reg), io.read(0xcfc, 4)),
    write: (reg: number, v: number) => (select(reg), io.write(0xcfc, 4, v)),
  };
}

/** What firmware does: the bus master's BAR4 at `base`, I/O space and bus mastering on. */
export function placeBusMaster(io: IoBus, base: number): void {
  const cfg = ideConfig(io);
  cfg.write(0x20, base);
  cfg.write(0x04, cfg.read(0x04) | 0x05);
}

/** A PRD table at `at` in RAM: [address, bytes] regions, the last with end of table. */
export function writePrdTable(ram: Uint8Array, at: number, regions: readonly [number, number][]): void {
  const dv = new DataView(ram.buffer, ram.byteOffset);
  regions.forEach(([addr, bytes], i) => {
    dv.setUint32(at + i * 8, addr, true);
    dv.setUint16(at + i * 8 + 4, bytes & 0xffff, true);
    dv.setUint16(at + i * 8 + 6, i === regions.length - 1 ? 0x8000 : 0, true);
  });
}
