/**
 * A stand-in for the CPU that runs the hand-written protected-mode programs under QEMU instead:
 * `CPU_ORACLE=qemu npx vitest run tests/cpu/protected.test.ts tests/cpu/paging.test.ts` checks the
 * tests' own expectations against another implementation of the architecture (QEMU's TCG), so that
 * a failure against our CPU is the CPU's, not the test's. Supports only what those tests use: one
 * run to HLT (or to a triple fault, which QEMU -no-reboot turns into an exit).
 *
 * Result (QEMU 8, TCG): every expectation of paging.test.ts and of the ring, gate and segment-load
 * tests holds; the three that QEMU is known not to model fail there — data-segment limit checks,
 * accesses through a null selector, writes to a code segment, expand-down limits (TCG checks none
 * of them) — and the later entries of those logs shift accordingly; port writes are not observed
 * through this stand-in, so the I/O-bitmap test cannot pass here (its #GP records do).
 *
 * tasks.test.ts and vm86.test.ts (QEMU 7.2): every expectation this stand-in can observe holds but
 * one: a fault after the commit point of a JMP/CALL task switch is reported by QEMU at the JMP,
 * where the SDM (vol. 3, 7.3, step 14) and our CPU report the new task's first instruction (through
 * an IDT task gate QEMU agrees). The others that fail there read what the stand-in does not model:
 * `cpu.eip/cr0/cpl/reg32`, hardware interrupts, port writes.
 *
 * The machine memory [0, 0xA0000) and [1 MiB, 2 MiB) is carried into QEMU by a Multiboot stub that
 * copies it into place and jumps to the entry point; after a second QEMU's monitor saves memory
 * back (pmemsave), which is copied into the machine memory.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MachineMemory } from '../../src/machine/memory';

const STUB_AT = 0x100_0000;
const BLOB_AT = STUB_AT + 0x1000;
const RANGES: [number, number][] = [
  [0, 0xa0000],
  [0x100000, 0x100000],
];
const SAVE_BYTES = 0x90_0000;

export const QEMU_RUN_EXIT = { BUDGET: 'BUDGET', HLT: 'HLT', TRIPLE_FAULT: 'TRIPLE_FAULT', STOPPED: 'STOPPED' };

export class QemuCpu {
  readonly reg32 = new Int32Array(8);
  eip = 0;
  readonly cr0 = 0;
  readonly cr2 = 0;
  readonly cr3 = 0;
  readonly cr4 = 0;
  readonly cpl = 0;
  instructions = 0;
  halted = false;
  readonly interruptFlag = false;
  readonly tlb = { invalidateWritableMappings: () => 0 };
  private readonly memory: MachineMemory;
  private regs: Record<string, number> = {};

  constructor(env: { memory: MachineMemory }) {
    this.memory = env.memory;
  }
  reset(): void {}
  getEflags(): number {
    return 2;
  }
  setEflags(): void {}
  setA20(): void {}
  enterProtectedModeFlat(eip: number, regs: Record<string, number>): void {
    this.eip = eip;
    this.regs = regs;
  }

  run(): string {
    if (this.halted) return QEMU_RUN_EXIT.HLT;
    const dir = mkdtempSync(join(tmpdir(), 'qemu-cpu-'));
    try {
      const blob = Buffer.concat(RANGES.map(([a, n]) => Buffer.from(this.memory.u8.subarray(a, a + n))));
      writeFileSync(join(dir, 'blob.bin'), blob);
      const esp = this.reg32[4] >>> 0 || (this.regs.esp ?? 0x9000);
      let copy = '';
      let off = 0;
      for (const [a, n] of RANGES) {
        copy += `mov $${BLOB_AT + off}, %esi\nmov $${a}, %edi\nmov $${n / 4}, %ecx\nrep movsl\n`;
        off += n;
      }
      writeFileSync(
        join(dir, 'stub.S'),
        `.section .multiboot, "a"\n.long 0x1BADB002, 0, -0x1BADB002\n.text\n.globl _start\n_start:\ncli\ncld\n${copy}` +
          `mov $${esp}, %esp\nmov $${this.regs.eax ?? 0}, %eax\nmov $${this.regs.ebx ?? 0}, %ebx\n` +
          `push $0x2\npopf\njmp *entry\nentry: .long ${this.eip}\n.section .blob, "a"\n.incbin "blob.bin"\n`,
      );
      writeFileSync(
        join(dir, 'link.ld'),
        `ENTRY(_start) SECTIONS { . = ${STUB_AT}; .text : { *(.multiboot) *(.text) } . = ${BLOB_AT}; .blob : { *(.blob) } }`,
      );
      execSync('as --32 -o stub.o stub.S && ld -m elf_i386 -T link.ld -o stub.elf stub.o', { cwd: dir });
      const out = join(dir, 'mem.bin');
      execSync(
        `(sleep 1.5; echo "pmemsave 0 ${SAVE_BYTES} mem.bin"; sleep 0.5; echo quit) | ` +
          `timeout 20 qemu-system-i386 -m 64 -kernel stub.elf -display none -monitor stdio -no-reboot -serial none > /dev/null 2>&1 || true`,
        { cwd: dir, shell: '/bin/sh' },
      );
      if (!existsSync(out)) return QEMU_RUN_EXIT.TRIPLE_FAULT; // QEMU left at the shutdown
      const mem = readFileSync(out);
      this.memory.u8.set(mem.subarray(0, 0xa0000), 0);
      this.memory.u8.set(mem.subarray(0x100000, SAVE_BYTES), 0x100000);
      this.halted = true;
      return QEMU_RUN_EXIT.HLT;
    } finally {
      if (!process.env.QEMU_KEEP) rmSync(dir, { recursive: true, force: true });
    }
  }
}
