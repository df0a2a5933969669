/**
 * The CPU benchmarks' machine (bench:cpu, bench/cpu-ab.ts): a CPU with RAM identity-mapped in a
 * p2m, the caller's I/O ports, no interrupts and no platform, started at a Multiboot ELF's entry
 * the way the platform's loader starts it (segments, the information structure, EAX/EBX).
 */
import type { CpuEnv } from '../src/machine/cpu/cpu';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC } from '../src/machine/boot/multiboot';
import { MmioBus, type IoBus } from '../src/machine/bus';
import { P2m, P2M_R, P2M_W, S2Verdict } from '../src/machine/hv/p2m';
import { MachineMemory } from '../src/machine/memory';
import { PAGE_SHIFT } from '../src/shared/layout';

export interface BareCpu {
  enterProtectedModeFlat(eip: number, regs: Record<string, number>): void;
}

/** Builds the machine with `Cpu` (this tree's or another's), loads `elf` (named `name` in errors) and enters it. */
export function bootBareCpu<C extends BareCpu>(
  Cpu: new (env: CpuEnv) => C,
  elf: Uint8Array,
  name: string,
  io: IoBus,
  ramMiB: number,
): C {
  const memory = new MachineMemory(ramMiB, 8);
  const p2m = new P2m();
  p2m.map(0, 0, memory.layout.ramBytes >>> PAGE_SHIFT, P2M_R | P2M_W);
  const cpu = new Cpu({
    memory,
    p2m,
    io,
    mmio: new MmioBus(),
    pic: { hasInterrupt: () => false, acknowledge: () => 0 },
    s2: { onWriteViolation: () => S2Verdict.RETRY },
    tsc: () => 0,
  });
  const boot = loadMultiboot(
    elf.buffer.slice(elf.byteOffset, elf.byteOffset + elf.byteLength) as ArrayBuffer,
    memory,
    '',
  );
  if (!boot.ok) throw new Error(`${name}: ${boot.message}`);
  cpu.enterProtectedModeFlat(boot.value.entry, { eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: boot.value.info });
  return cpu;
}
