import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { E820_RAM, FW_CFG_VERSION_DMA, FwCfg, FwCfgDmaCtl, FwCfgKey } from '../../src/machine/devices/fw-cfg';
import { ideMachine } from './ide-rig';

/** The port protocol as SeaBIOS speaks it: a 16-bit key to 0x510, then bytes from 0x511. */
function rig(ramBytes = 32 << 20, bootOrder?: string[]) {
  const io = new IoBus();
  const fw = new FwCfg({ ramBytes, cpus: 1, bootOrder });
  io.attach(fw);
  const select = (key: number) => io.write(0x510, 2, key);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => io.read(0x511, 1));
  const item = (key: number, n: number) => (select(key), bytes(n));
  /** The file directory read as firmware does: count, then 64-byte entries (big-endian numbers). */
  const directory = () => {
    const count = new DataView(item(FwCfgKey.FILE_DIR, 4).buffer).getUint32(0);
    return Array.from({ length: count }, () => {
      const e = bytes(64);
      const dv = new DataView(e.buffer);
      const name = new TextDecoder().decode(e.subarray(8, 8 + e.subarray(8).indexOf(0)));
      return { size: dv.getUint32(0), select: dv.getUint16(4), name };
    });
  };
  return { fw, io, select, bytes, item, directory };
}

describe("QEMU's fw_cfg (ports 0x510/0x511)", () => {
  it('key 0 reads the signature "QEMU"; the ID offers the port interface and not DMA', () => {
    const { item } = rig();
    expect(new TextDecoder().decode(item(FwCfgKey.SIGNATURE, 4))).toBe('QEMU');
    expect(Array.from(item(FwCfgKey.ID, 4))).toEqual([1, 0, 0, 0]);
  });

  it('RAM size (u64) and the CPU count (u16) are little-endian; past the end and unknown keys read 0', () => {
    const { item } = rig(48 << 20);
    expect(new DataView(item(FwCfgKey.RAM_SIZE, 8).buffer).getBigUint64(0, true)).toBe(BigInt(48 << 20));
    expect(Array.from(item(FwCfgKey.NB_CPUS, 4))).toEqual([1, 0, 0, 0]);
    expect(Array.from(item(0x1234, 3))).toEqual([0, 0, 0]);
  });

  it('the file directory lists etc/e820 and bootorder with big-endian sizes and keys from 0x20, in name order', () => {
    const { directory } = rig(32 << 20, ['/pci@i0cf8/ide@1,1/drive@0/disk@0']);
    const dir = directory();
    expect(dir.map((f) => f.name)).toEqual(['bootorder', 'etc/e820']);
    expect(dir.map((f) => f.select)).toEqual([0x20, 0x21]);
    expect(dir[1].size).toBe(20);
    expect(dir[0].size).toBe('/pci@i0cf8/ide@1,1/drive@0/disk@0\n\0'.length);
  });

  it('selecting a file key reads the file: etc/e820 holds all RAM below 4 GiB as one RAM entry', () => {
    const { directory, item } = rig(32 << 20);
    const e820 = directory().find((f) => f.name === 'etc/e820')!;
    const dv = new DataView(item(e820.select, e820.size).buffer);
    expect(dv.getBigUint64(0, true)).toBe(0n);
    expect(dv.getBigUint64(8, true)).toBe(BigInt(32 << 20));
    expect(dv.getUint32(16, true)).toBe(E820_RAM);
  });

  it('a file added later (a kernel for the firmware, an option ROM) gets a key and shows in the directory', () => {
    const { fw, directory, item } = rig();
    fw.addFile('genroms/test.bin', Uint8Array.of(0x55, 0xaa, 1));
    const f = directory().find((e) => e.name === 'genroms/test.bin')!;
    expect(f.size).toBe(3);
    expect(Array.from(item(f.select, 4))).toEqual([0x55, 0xaa, 1, 0]);
  });

  it('selecting again starts the item over; a machine reset selects the signature', () => {
    const { fw, select, bytes } = rig();
    select(FwCfgKey.SIGNATURE);
    bytes(2);
    select(FwCfgKey.SIGNATURE);
    expect(new TextDecoder().decode(bytes(4))).toBe('QEMU');
    select(FwCfgKey.RAM_SIZE);
    fw.reset();
    expect(new TextDecoder().decode(bytes(4))).toBe('QEMU');
  });
});

describe("fw_cfg's DMA interface (0x514–0x51B) in a machine", () => {
  /** RAM addresses of the access structure and of the data it names. */
  const ACCESS = 0x10000;
  const DATA = 0x20000;

  function dmaRig() {
    const m = ideMachine();
    const io = m.pc!.io;
    const ram = m.memory.u8;
    const dv = new DataView(ram.buffer, ram.byteOffset);
    /**
     * An FWCfgDmaAccess at `at` (big-endian control, length, address), started as SeaBIOS does:
     * OUTL of the address byte-swapped to 0x518 (the high half at 0x514 is 0). The control word
     * as the device left it.
     */
    const transfer = (control: number, length: number, address: number, at = ACCESS, high = 0) => {
      if (at < ram.length) {
        dv.setUint32(at, control);
        dv.setUint32(at + 4, length);
        dv.setBigUint64(at + 8, BigInt(address));
      }
      const swap = (v: number) => new DataView(Uint32Array.of(v).buffer).getUint32(0, false);
      io.write(0x514, 4, swap(high));
      io.write(0x518, 4, swap(at));
      return at < ram.length ? dv.getUint32(at) : null;
    };
    const key = (name: string) => {
      io.write(0x510, 2, FwCfgKey.FILE_DIR);
      const n = Array.from({ length: 4 }, () => io.read(0x511, 1)).reduce((v, b) => (v << 8) | b, 0);
      for (let i = 0; i < n; i++) {
        const e = Uint8Array.from({ length: 64 }, () => io.read(0x511, 1));
        if (new TextDecoder().decode(e.subarray(8, 8 + name.length)) === name) return (e[4] << 8) | e[5];
      }
      throw new Error(`no ${name}`);
    };
    return { m, io, ram, dv, transfer, key };
  }
  const { READ, SKIP, SELECT, WRITE, ERROR } = FwCfgDmaCtl;

  it('the ID says DMA; its ports read the signature "QEMU CFG"', () => {
    const { io, m } = dmaRig();
    io.write(0x510, 2, FwCfgKey.ID);
    expect(io.read(0x511, 4) & FW_CFG_VERSION_DMA).toBe(FW_CFG_VERSION_DMA);
    const sig = [io.read(0x514, 4), io.read(0x518, 4)].flatMap((v) => [
      v & 0xff,
      (v >> 8) & 0xff,
      (v >> 16) & 0xff,
      v >>> 24,
    ]);
    expect(String.fromCharCode(...sig)).toBe('QEMU CFG');
    expect(String.fromCharCode(io.read(0x51b, 1))).toBe('G');
    m.destroy();
  });

  it('select + read puts the item in memory and writes back control 0; skip moves on; past the end reads zeros', () => {
    const { ram, dv, transfer, key, m } = dmaRig();
    // The file directory's count (big-endian u32), selected and read by one access.
    expect(transfer((FwCfgKey.FILE_DIR << 16) | SELECT | READ, 4, DATA)).toBe(0);
    expect(dv.getUint32(DATA)).toBe(2); // bootorder, etc/e820
    // etc/e820 (20 bytes): skip the entry's address, read its length (the RAM: 4 MiB).
    const e820 = key('etc/e820');
    expect(transfer((e820 << 16) | SELECT | SKIP, 8, 0)).toBe(0);
    expect(transfer(READ, 8, DATA)).toBe(0);
    expect(dv.getBigUint64(DATA, true)).toBe(BigInt(4 << 20));
    // 4 bytes left (the type); reading 8 gives them and then zeros.
    ram.fill(0xee, DATA, DATA + 8);
    expect(transfer(READ, 8, DATA)).toBe(0);
    expect(Array.from(ram.subarray(DATA, DATA + 8))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    m.destroy();
  });

  it('data that does not land in memory ends in the error bit; so does a write; an access above 4 GiB is not read', () => {
    const { io, dv, transfer, m } = dmaRig();
    // 0x80000000: neither RAM (4 MiB) nor a device.
    expect(transfer((FwCfgKey.SIGNATURE << 16) | SELECT | READ, 4, 0x80000000)).toBe(ERROR);
    expect(transfer((FwCfgKey.SIGNATURE << 16) | SELECT | WRITE, 4, DATA)).toBe(ERROR);
    // The high half set: the access is at 1_0001_0000, which does not exist; nothing is read or written.
    dv.setUint32(ACCESS, (FwCfgKey.RAM_SIZE << 16) | SELECT | READ);
    dv.setUint32(ACCESS + 4, 4);
    dv.setBigUint64(ACCESS + 8, BigInt(DATA));
    dv.setUint32(DATA, 0x12345678);
    transfer((FwCfgKey.RAM_SIZE << 16) | SELECT | READ, 4, DATA, ACCESS, 1);
    expect([dv.getUint32(ACCESS), dv.getUint32(DATA)]).toEqual([(FwCfgKey.RAM_SIZE << 16) | SELECT | READ, 0x12345678]);
    // The port interface goes on as before.
    io.write(0x510, 2, FwCfgKey.SIGNATURE);
    expect(io.read(0x511, 4)).toBe(0x554d4551); // "QEMU"
    m.destroy();
  });
});
