/**
 * The kernel for the firmware's Linux-boot path (QEMU's -bios with -kernel) as fw_cfg items, read
 * through the ports as QEMU's linuxboot_dma.bin reads them: each part's address, size and data,
 * and the setup header patched the way QEMU's x86_load_linux patches it.
 */
import { describe, expect, it } from 'vitest';
import { FwCfgKey } from '../../src/machine/devices/fw-cfg';
import { Machine } from '../../src/machine/machine';
import { LINUXBOOT_ROM } from '../../src/machine/pc';
import { immediateYielder } from '../../src/machine/runloop';
import { ErrorCode, type MachineConfig } from '../../src/shared/api';

const SETUP_SECTS = 4;
const SETUP_BYTES = (SETUP_SECTS + 1) * 512;
const PM_BYTES = 0x3000;

/** A bzImage (protocol 2.15) with the header fields a loader reads; its bytes elsewhere count up. */
function bzImage(initrdAddrMax = 0x7fffffff): Uint8Array {
  const b = Uint8Array.from({ length: SETUP_BYTES + PM_BYTES }, (_, i) => (i * 7) & 0xff);
  b.fill(0, 0x1f1, 0x26c);
  const dv = new DataView(b.buffer);
  b[0x1f1] = SETUP_SECTS;
  dv.setUint32(0x1f4, PM_BYTES / 16, true); // syssize
  dv.setUint16(0x1fe, 0xaa55, true);
  b[0x200] = 0xeb; // jmp short over the header, which ends at 0x26c
  b[0x201] = 0x6a;
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, 0x020f, true);
  b[0x211] = 0x01; // LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true); // code32_start
  dv.setUint32(0x22c, initrdAddrMax, true);
  dv.setUint32(0x230, 0x200000, true); // kernel_alignment
  b[0x234] = 1; // relocatable
  dv.setUint32(0x238, 2047, true); // cmdline_size
  dv.setBigUint64(0x258, 0x200000n, true); // pref_address
  dv.setUint32(0x260, 0x400000, true); // init_size
  return b;
}

const buffer = (b: Uint8Array): ArrayBuffer => b.slice().buffer;
/** A stand-in for SeaBIOS: the items are there before the firmware runs, so it never runs here. */
const FIRMWARE = new Uint8Array(0x10000).fill(0xf4);
const ROM = Uint8Array.of(0x55, 0xaa, 1, 0xcb);
const CMDLINE = 'console=ttyS0 rdinit=/bin/sh';

function create(config: Partial<MachineConfig>) {
  return Machine.create(
    {
      ramMiB: 32,
      vramMiB: 8,
      clock: 'icount',
      image: 'firmware',
      cmdline: CMDLINE,
      optionRoms: [{ name: LINUXBOOT_ROM, data: buffer(ROM) }],
      ...config,
    },
    buffer(FIRMWARE),
    immediateYielder(),
  );
}

/** A machine and the fw_cfg items read through its ports. */
function items(config: Partial<MachineConfig>) {
  const r = create(config);
  if (!r.ok) throw new Error(r.message);
  const io = r.value.pc!.io;
  const read = (key: number, n: number) => {
    io.write(0x510, 2, key);
    return Uint8Array.from({ length: n }, () => io.read(0x511, 1));
  };
  const u32 = (key: number) => new DataView(read(key, 4).buffer).getUint32(0, true);
  return { m: r.value, read, u32 };
}

describe('fw_cfg items of a kernel for the firmware (QEMU -bios with -kernel)', () => {
  it('the setup code goes to 0x10000 with its header patched, the kernel to 1 MiB, the command line to 0x20000', () => {
    const kernel = bzImage();
    const { m, read, u32 } = items({ kernel: buffer(kernel) });
    expect(u32(FwCfgKey.SETUP_ADDR)).toBe(0x10000);
    expect(u32(FwCfgKey.SETUP_SIZE)).toBe(SETUP_BYTES);
    const setup = read(FwCfgKey.SETUP_DATA, SETUP_BYTES);
    const hdr = new DataView(setup.buffer);
    expect(setup[0x210]).toBe(0xb0); // type_of_loader: QEMU (ID 0xB)
    expect(setup[0x211]).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    expect(hdr.getUint16(0x224, true)).toBe(0x20000 - 0x10000 - 0x200); // heap_end_ptr: up to the command line
    expect(hdr.getUint32(0x228, true)).toBe(0x20000); // cmd_line_ptr
    expect([hdr.getUint32(0x218, true), hdr.getUint32(0x21c, true)]).toEqual([0, 0]); // no initrd
    // Everything else is the file's.
    const patched = new Set([
      0x210,
      0x211,
      0x224,
      0x225,
      ...[0, 1, 2, 3].flatMap((i) => [0x228 + i, 0x218 + i, 0x21c + i]),
    ]);
    const differs = [...setup.keys()].filter((i) => setup[i] !== kernel[i] && !patched.has(i));
    expect(differs).toEqual([]);

    expect(u32(FwCfgKey.KERNEL_ADDR)).toBe(0x100000);
    expect(u32(FwCfgKey.KERNEL_SIZE)).toBe(PM_BYTES);
    expect(read(FwCfgKey.KERNEL_DATA, PM_BYTES)).toEqual(kernel.subarray(SETUP_BYTES));
    expect(u32(FwCfgKey.CMDLINE_ADDR)).toBe(0x20000);
    expect(u32(FwCfgKey.CMDLINE_SIZE)).toBe(CMDLINE.length + 1);
    expect(new TextDecoder().decode(read(FwCfgKey.CMDLINE_DATA, CMDLINE.length + 1))).toBe(`${CMDLINE}\0`);
    expect(u32(FwCfgKey.INITRD_SIZE)).toBe(0); // no item: the ROM copies nothing
    // The ROM boots first, as QEMU's bootindex 0 has it.
    const dir = read(FwCfgKey.FILE_DIR, 4 + 3 * 64);
    const names = [0, 1, 2].map((i) => {
      const name = dir.subarray(4 + i * 64 + 8, 4 + i * 64 + 64);
      return new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
    });
    expect(names).toEqual(['bootorder', 'etc/e820', `genroms/${LINUXBOOT_ROM}`]);
    const bootorder = (dir[4 + 2] << 8) | dir[4 + 3];
    expect(new TextDecoder().decode(read(dir[4 + 5] | (dir[4 + 4] << 8), bootorder))).toBe(
      `/rom@genroms/${LINUXBOOT_ROM}\n\0`,
    );
    m.destroy();
  });

  it("the initrd goes page-aligned as high as the header allows, clear of the top 160 KiB QEMU keeps for the firmware's ACPI tables and data", () => {
    const initrd = Uint8Array.from({ length: 0x12345 }, (_, i) => (i * 13) & 0xff);
    const check = (initrdAddrMax: number, addr: number) => {
      const { m, read, u32 } = items({ kernel: buffer(bzImage(initrdAddrMax)), initrd: buffer(initrd) });
      expect(u32(FwCfgKey.INITRD_ADDR)).toBe(addr);
      expect(u32(FwCfgKey.INITRD_SIZE)).toBe(initrd.length);
      expect(read(FwCfgKey.INITRD_DATA, initrd.length)).toEqual(initrd);
      const hdr = new DataView(read(FwCfgKey.SETUP_DATA, 0x220).buffer);
      expect([hdr.getUint32(0x218, true), hdr.getUint32(0x21c, true)]).toEqual([addr, initrd.length]);
      m.destroy();
    };
    const pageBelow = (top: number) => Math.floor((top - initrd.length) / 0x1000) * 0x1000;
    check(0x7fffffff, pageBelow((32 << 20) - 0x28000)); // RAM's top bounds it
    check(0xffffff, pageBelow(16 << 20)); // initrd_addr_max bounds it
  });

  it('is refused by name without the option ROM, for a kernel that is not a bzImage, and with a non-firmware image', () => {
    const noRom = create({ kernel: buffer(bzImage()), optionRoms: [] });
    expect(noRom.ok || noRom.message).toMatch(/needs QEMU's option ROM linuxboot_dma\.bin/);
    const notBz = create({ kernel: buffer(new Uint8Array(0x4000)) });
    expect(notBz.ok || [notBz.code, notBz.message]).toEqual([
      ErrorCode.EBADIMAGE,
      expect.stringMatching(/not a Linux bzImage/),
    ]);
    const initrdAlone = create({ initrd: buffer(Uint8Array.of(1)) });
    expect(initrdAlone.ok || initrdAlone.code).toBe(ErrorCode.EINVAL);
    const multiboot = create({ kernel: buffer(bzImage()), image: 'multiboot' });
    expect(multiboot.ok || multiboot.message).toMatch(/kernel must be an ArrayBuffer, given with image "firmware"/);
  });
});
