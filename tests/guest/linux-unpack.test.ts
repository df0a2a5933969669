/**
 * Debian's kernel decompressed two ways gives the same kernel: its own XZ decompressor run by our
 * CPU (kernelUnpack 'guest', about 2.3 G instructions of real code on icount) leaves in RAM, when it
 * jumps to the kernel, the text segment that the loader's decoder (boot/xz.ts, unpack.ts) places
 * there with kernelUnpack 'host'. The CLI's boot test (linux-boot.test.ts) runs the default, 'host'.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { unpackKernel } from '../../src/machine/boot/unpack';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';

/** The decompressor's work (2.33 G measured) and some margin. */
const BUDGET = 2.6e9;
/** Instructions run between looks at EIP: the kernel has not yet changed its text this soon. */
const CHUNK = 10_000;

const file = (path: string): ArrayBuffer => {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

describe("Debian's kernel unpacked by its own decompressor and by the loader", () => {
  it('the guest decompressor enters the kernel with the text segment the loader places, byte for byte', () => {
    const kernel = file(VMLINUZ_PATH);
    const bytes = new Uint8Array(kernel);
    const host = unpackKernel(bytes, (bytes[0x1f1] + 1) * 512, 0x1000000, 0x200c000);
    if (typeof host === 'string') throw new Error(host);
    const text = host.segments[0];
    const end = text.paddr + text.memsz;

    const r = Machine.create(
      {
        ramMiB: 64,
        vramMiB: 8,
        cmdline: 'nokaslr console=ttyS0',
        clock: 'icount',
        image: 'multiboot',
        initrd: file(INITRAMFS_PATH),
        kernelUnpack: 'guest',
      },
      kernel,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    const cpu = m.pc!.cpu;
    // Run in chunks until EIP is in the kernel proper (physical startup_32 on, or its virtual
    // addresses once it pages): the decompressor runs from its own copy above the kernel's image.
    const inKernel = () => {
      const lin = (cpu.segBase[1] + cpu.eip) >>> 0;
      return (lin >= text.paddr && lin < end) || lin >= 0xc0000000;
    };
    const run = cpu.run.bind(cpu);
    let entered = false;
    cpu.run = (n: number) => {
      let exit = run(Math.min(n, CHUNK));
      for (let done = CHUNK; done < n && exit === 0 && !inKernel(); done += CHUNK) exit = run(Math.min(n - done, CHUNK));
      if (inKernel()) {
        entered = true;
        cpu.requestStop();
      }
      return exit;
    };
    while (!entered && cpu.instructions < BUDGET) if (m.slice().next === 'stop') break;
    expect(entered).toBe(true);
    // The decompressor's own work, then the kernel's first instructions.
    expect(cpu.instructions).toBeGreaterThan(2e9);
    const ram = m.memory.u8.subarray(text.paddr, text.paddr + text.data.length);
    let differing = 0;
    for (let i = 0; i < ram.length; i++) if (ram[i] !== text.data[i]) differing++;
    expect(differing).toBe(0);
    m.destroy();
  }, 600_000);
});
