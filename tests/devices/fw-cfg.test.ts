import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { E820_RAM, FwCfg, FwCfgKey } from '../../src/machine/devices/fw-cfg';

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
