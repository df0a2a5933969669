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
 * Not implemented: the DMA interface (ports 0x514–0x51B; the ID's bit 1 stays clear, so firmware
 * uses the data port) and writes to items.
 */
import type { AccessSize } from '../bus';
import type { Device, PortRange } from './device';

export const FW_CFG_PORT_SEL = 0x510;
export const FW_CFG_PORT_DATA = 0x511;

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

/** FW_CFG_ID feature bits: the traditional (port) interface; DMA (not offered). */
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
}

export class FwCfg implements Device {
  readonly name = 'fw_cfg';
  private readonly items = new Map<number, Uint8Array>();
  private readonly files = new Map<string, Uint8Array>();
  private selector = 0;
  private offset = 0;

  constructor(machine: FwCfgMachine) {
    this.setItem(FwCfgKey.SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setItem(FwCfgKey.ID, le(FW_CFG_VERSION, 4));
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

  readonly ports: readonly PortRange[] = [
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
  ];

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
  }

  saveState(): unknown {
    return { selector: this.selector, offset: this.offset };
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
