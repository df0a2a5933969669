/**
 * QEMU's firmware configuration interface (fw_cfg) on its x86 I/O ports: write a 16-bit key to the
 * selector (0x510), then read the item's bytes one by one from the data port (0x511); reading past
 * the end, or an item that does not exist, gives 0. Items are QEMU's fixed keys (the "QEMU"
 * signature, the feature ID, RAM size, CPU counts, …) and named files, listed in the file directory
 * (key 0x19: a big-endian count, then per file a big-endian size, key and reserved word and a
 * 56-byte NUL-padded name; files take keys from 0x20 in name order, as QEMU sorts them).
 * SeaBIOS reads it in src/fw/paravirt.c: the signature, the ID, `etc/e820` for the RAM map, the
 * CPU count, the boot order, later the kernel/initrd/cmdline of its Linux loader.
 *
 *
 * With guest memory to reach it offers the DMA interface too (QEMU's docs/specs/fw_cfg.rst, "DMA
 * interface"; the ID's bit 1 says so, and SeaBIOS then reads, skips and selects by DMA): the
 * 64-bit big-endian address register at 0x514 (high half) and 0x518 (low half; writing it starts
 * the transfer) names an FWCfgDmaAccess in guest memory (big-endian u32 control, u32 length, u64
 * address); reading the ports gives the signature "QEMU CFG". The transfer runs at once, inside
 * the OUT, and writes the control word back: 0 when done, the error bit when the access or its
 * data fell outside memory or asked to write an item.
 *
 * Not implemented: writes to items (the write channel: a DMA write ends in the error bit).
 */
import type { AccessSize } from '../bus';
import type { DmaMemory } from '../dma';
import type { Device, PortRange } from './device';

export const FW_CFG_PORT_SEL = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
/** The DMA address register: its high half here, the low half 4 ports up. */
export const FW_CFG_PORT_DMA = 0x514;
/** What the DMA ports read: "QEMU CFG" (the bytes in this order from 0x514 on). */
export const FW_CFG_DMA_SIGNATURE = 'QEMU CFG';

/** FWCfgDmaAccess.control bits; the selector rides in bits 31–16 with SELECT. */
export const FwCfgDmaCtl = { ERROR: 0x01, READ: 0x02, SKIP: 0x04, SELECT: 0x08, WRITE: 0x10 } as const;
/** Bytes of an FWCfgDmaAccess. */
export const FW_CFG_DMA_ACCESS_BYTES = 16;

/** QEMU's fixed keys (include/standard-headers/linux/qemu_fw_cfg.h). */
export const FwCfgKey = {
  SIGNATURE: 0x00,
  ID: 0x01,
  UUID: 0x02,
  RAM_SIZE: 0x03,
  NOGRAPHIC: 0x04,
  NB_CPUS: 0x05,
  KERNEL_ADDR: 0x07,
  KERNEL_SIZE: 0x08,
  KERNEL_CMDLINE: 0x09,
  INITRD_ADDR: 0x0a,
  INITRD_SIZE: 0x0b,
  BOOT_DEVICE: 0x0c,
  NUMA: 0x0d,
  BOOT_MENU: 0x0e,
  MAX_CPUS: 0x0f,
  KERNEL_ENTRY: 0x10,
  KERNEL_DATA: 0x11,
  INITRD_DATA: 0x12,
  CMDLINE_ADDR: 0x13,
  CMDLINE_SIZE: 0x14,
  CMDLINE_DATA: 0x15,
  SETUP_ADDR: 0x16,
  SETUP_SIZE: 0x17,
  SETUP_DATA: 0x18,
  FILE_DIR: 0x19,
  FILE_FIRST: 0x20,
  /** x86's own keys. */
  ACPI_TABLES: 0x8000,
  SMBIOS_ENTRIES: 0x8001,
  IRQ0_OVERRIDE: 0x8002,
  E820_TABLE: 0x8003,
} as const;

/** FW_CFG_ID feature bits: the traditional (port) interface; DMA. */
export const FW_CFG_VERSION = 0x01;
export const FW_CFG_VERSION_DMA = 0x02;

/** Bytes of a file directory entry (size, select, reserved, name[56]). */
export const FW_CFG_FILE_ENTRY_BYTES = 64;
const NAME_BYTES = 56;

/** QEMU's e820 types. */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  address: number;
  length: number;
  type: number;
}

/** `etc/e820`: packed little-endian {u64 address, u64 length, u32 type} entries, as QEMU writes them. */
export function e820File(entries: readonly E820Entry[]): Uint8Array {
  const out = new Uint8Array(entries.length * 20);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    dv.setBigUint64(i * 20, BigInt(e.address), true);
    dv.setBigUint64(i * 20 + 8, BigInt(e.length), true);
    dv.setUint32(i * 20 + 16, e.type, true);
  });
  return out;
}

function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Number((BigInt(value) >> BigInt(i * 8)) & 0xffn);
  return out;
}

export interface FwCfgMachine {
  /** Guest RAM below 4 GiB, bytes. */
  ramBytes: number;
  cpus: number;
  /** OpenFirmware device paths, highest priority first (QEMU's bootindex order); empty: none. */
  bootOrder?: readonly string[];
  /** Guest memory for the DMA interface (absent: no DMA interface, the ID says so). */
  dma?: DmaMemory;
}

export class FwCfg implements Device {
  readonly name = 'fw_cfg';
  private readonly items = new Map<number, Uint8Array>();
  private readonly files = new Map<string, Uint8Array>();
  private selector = 0;
  private offset = 0;
  /** The DMA address register's high half, as last written (the low half's write starts a transfer). */
  private dmaHigh = 0;
  private readonly dma: DmaMemory | null;

  readonly ports: readonly PortRange[];

  constructor(machine: FwCfgMachine) {
    this.dma = machine.dma ?? null;
    this.ports = [
      {
        first: FW_CFG_PORT_SEL,
        count: 2,
        handler: {
          read: (p: number, size: AccessSize) => (p === FW_CFG_PORT_SEL ? 2 ** (size * 8) - 1 : this.readData(size)),
          write: (p: number, _s: AccessSize, v: number) => {
            if (p === FW_CFG_PORT_SEL) this.select(v & 0xffff);
          },
        },
      },
      ...(this.dma ? [this.dmaPorts()] : []),
    ];
    this.setItem(FwCfgKey.SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setItem(FwCfgKey.ID, le(FW_CFG_VERSION | (this.dma ? FW_CFG_VERSION_DMA : 0), 4));
    this.setItem(FwCfgKey.UUID, new Uint8Array(16));
    this.setItem(FwCfgKey.RAM_SIZE, le(machine.ramBytes, 8));
    this.setItem(FwCfgKey.NOGRAPHIC, le(0, 2));
    this.setItem(FwCfgKey.NB_CPUS, le(machine.cpus, 2));
    this.setItem(FwCfgKey.MAX_CPUS, le(machine.cpus, 2));
    this.setItem(FwCfgKey.NUMA, le(0, 8));
    this.setItem(FwCfgKey.BOOT_MENU, le(0, 2));
    this.setItem(FwCfgKey.ACPI_TABLES, le(0, 2));
    this.setItem(FwCfgKey.SMBIOS_ENTRIES, le(0, 2));
    this.setItem(FwCfgKey.E820_TABLE, le(0, 4)); // no reservations: etc/e820 says it all
    // QEMU lists all of RAM below 4 GiB as one RAM range; the firmware carves its own holes.
    this.addFile('etc/e820', e820File([{ address: 0, length: machine.ramBytes, type: E820_RAM }]));
    const order = machine.bootOrder ?? [];
    this.addFile('bootorder', new TextEncoder().encode(order.length ? `${order.join('\n')}\n\0` : ''));
  }

  /** The DMA interface's 8 ports. */
  private dmaPorts(): PortRange {
    return {
      first: FW_CFG_PORT_DMA,
      count: 8,
      handler: {
        read: (p: number, size: AccessSize) => {
          let v = 0;
          for (let i = 0; i < size; i++) v |= FW_CFG_DMA_SIGNATURE.charCodeAt((p - FW_CFG_PORT_DMA + i) & 7) << (i * 8);
          return v >>> 0;
        },
        write: (p: number, size: AccessSize, v: number) => {
          // The register is big-endian (QEMU's DEVICE_BIG_ENDIAN): the first port takes the most
          // significant byte, so a little-endian OUTL carries the half byte-swapped. Only
          // 32-bit halves are taken, as QEMU's.
          if (size !== 4) return;
          const half = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
          if (p === FW_CFG_PORT_DMA) this.dmaHigh = half >>> 0;
          else if (p === FW_CFG_PORT_DMA + 4) {
            const high = this.dmaHigh;
            this.dmaHigh = 0;
            this.dmaTransfer(high, half >>> 0);
          }
        },
      },
    };
  }

  /** A fixed-key item (kernel, initrd, cmdline for firmware's Linux loader come this way too). */
  setItem(key: number, data: Uint8Array): void {
    this.items.set(key, data);
  }

  /** A named file; the directory and the file keys are rebuilt (keys follow name order). */
  addFile(name: string, data: Uint8Array): void {
    if (new TextEncoder().encode(name).length >= NAME_BYTES) throw new RangeError(`fw_cfg file name too long: ${name}`);
    this.files.set(name, data);
    const names = [...this.files.keys()].sort();
    const dir = new Uint8Array(4 + names.length * FW_CFG_FILE_ENTRY_BYTES);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, names.length); // big-endian, as every number in the directory
    names.forEach((n, i) => {
      const at = 4 + i * FW_CFG_FILE_ENTRY_BYTES;
      const bytes = this.files.get(n)!;
      dv.setUint32(at, bytes.length);
      dv.setUint16(at + 4, FwCfgKey.FILE_FIRST + i);
      dir.set(new TextEncoder().encode(n), at + 8);
      this.items.set(FwCfgKey.FILE_FIRST + i, bytes);
    });
    this.items.set(FwCfgKey.FILE_DIR, dir);
  }

  reset(): void {
    this.selector = 0;
    this.offset = 0;
    this.dmaHigh = 0;
  }

  saveState(): unknown {
    return { selector: this.selector, offset: this.offset, dmaHigh: this.dmaHigh };
  }

  /**
   * One DMA transfer (QEMU's fw_cfg_dma_transfer): the access at address high:low is read, the
   * item selected if asked, then `length` bytes read into memory or skipped from the item's
   * current offset (past its end, a read gives zeros); the control word goes back with 0, or
   * with the error bit when memory could not be reached or a write was asked for.
   */
  private dmaTransfer(high: number, low: number): void {
    const dma = this.dma!;
    const access = new Uint8Array(FW_CFG_DMA_ACCESS_BYTES);
    const dv = new DataView(access.buffer);
    const status = (control: number) => {
      if (high === 0)
        dma.write(low, Uint8Array.of(control >>> 24, (control >>> 16) & 0xff, (control >>> 8) & 0xff, control & 0xff));
    };
    // The physical address space is 32 bits: an access above it cannot be read or answered.
    if (high !== 0 || !dma.read(low, access)) return status(FwCfgDmaCtl.ERROR);
    const control = dv.getUint32(0);
    let length = dv.getUint32(4);
    const address = dv.getBigUint64(8);
    if (control & FwCfgDmaCtl.SELECT) this.select(control >>> 16);
    const read = (control & FwCfgDmaCtl.READ) !== 0;
    if (!read && control & FwCfgDmaCtl.WRITE) return status(length ? FwCfgDmaCtl.ERROR : 0);
    if (!read && !(control & FwCfgDmaCtl.SKIP)) length = 0;
    const item = this.items.get(this.selector);
    const available = item ? Math.max(0, item.length - this.offset) : 0;
    const n = Math.min(length, available);
    if (read && length) {
      if (address + BigInt(length) > 0x100000000n) return status(FwCfgDmaCtl.ERROR);
      const data = new Uint8Array(length); // the bytes past the item's end are zeros
      if (n) data.set(item!.subarray(this.offset, this.offset + n));
      if (!dma.write(Number(address), data)) {
        this.offset += n;
        return status(FwCfgDmaCtl.ERROR);
      }
    }
    this.offset += n;
    status(0);
  }

  private select(key: number): void {
    this.selector = key & ~0x4000; // the write-channel bit: writes are not offered, reads as usual
    this.offset = 0;
  }

  /** The next byte(s) of the selected item; a wider read takes the following bytes, first in the low bits. */
  private readData(size: AccessSize): number {
    const item = this.items.get(this.selector);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = item && this.offset < item.length ? item[this.offset++] : 0;
      v |= b << (i * 8);
    }
    return v >>> 0;
  }
}
