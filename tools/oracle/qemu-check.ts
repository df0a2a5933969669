/**
 * `npx tsx tools/oracle/qemu-check.ts`: runs every committed vector image under QEMU (TCG, ring 0,
 * via a Multiboot stub that calls the image's run_all) and compares with the host's results under
 * each vector's `defined` mask. A second implementation that disagrees on a compared bit points at
 * either a QEMU bug or a mask that compares a bit the SDM leaves undefined; it checks the vectors,
 * not our CPU.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PUSHAD_ORDER, RUN_ALL_OFFSET, STATE_BYTES, type VectorFile } from './image';

const dir = new URL('../../tests/cpu/vectors/', import.meta.url);
let total = 0;
let differ = 0;
const byForm = new Map<string, number>();
for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
  const vf = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as VectorFile;
  const image = Buffer.from(vf.image, 'base64');
  const tmp = mkdtempSync(join(tmpdir(), 'oracle-qemu-'));
  try {
    writeFileSync(join(tmp, 'image.bin'), image);
    writeFileSync(
      join(tmp, 'stub.S'),
      `.section .multiboot, "a"\n.long 0x1BADB002, 0, -0x1BADB002\n.text\n.globl _start\n_start:\ncli\n` +
        `mov $0x300000, %esp\ncall ${vf.base + RUN_ALL_OFFSET}\n1: hlt\njmp 1b\n.section .image, "awx"\n.incbin "image.bin"\n`,
    );
    writeFileSync(
      join(tmp, 'link.ld'),
      `ENTRY(_start) SECTIONS { . = 0x200000; .text : { *(.multiboot) *(.text) } . = ${vf.base}; .image : { *(.image) } }`,
    );
    execSync('as --32 -o stub.o stub.S && ld -m elf_i386 --no-warn-rwx-segments -T link.ld -o stub.elf stub.o', {
      cwd: tmp,
    });
    execSync(
      `(sleep 2; echo "pmemsave ${vf.base} ${image.length} mem.bin"; sleep 0.5; echo quit) | ` +
        `timeout 30 qemu-system-i386 -m 64 -kernel stub.elf -display none -monitor stdio -no-reboot -serial none > /dev/null 2>&1 || true`,
      { cwd: tmp, shell: '/bin/sh' },
    );
    const mem = readFileSync(join(tmp, 'mem.bin'));
    const u32 = (o: number) => mem.readUInt32LE(o);
    for (const c of vf.cases) {
      total++;
      const regs = new Array<number>(8);
      PUSHAD_ORDER.forEach((r, j) => (regs[r] = u32(c.outOffset + 4 * j)));
      const flags = u32(c.outOffset + STATE_BYTES - 4);
      const slot = mem.subarray(c.slotOffset, c.slotOffset + c.memIn.length / 2).toString('hex');
      const bad: string[] = [];
      regs.forEach(
        (v, i) => v !== c.out.regs[i] && bad.push(`r${i} ${v.toString(16)} host ${c.out.regs[i].toString(16)}`),
      );
      if ((flags ^ c.out.flags) & (process.env.ALL_FLAGS ? 0xcd5 : c.defined))
        bad.push(`flags ${flags.toString(16)} host ${c.out.flags.toString(16)} mask ${c.defined.toString(16)}`);
      if (slot !== c.memOut) bad.push('memory');
      if (bad.length) {
        differ++;
        if ((byForm.get(c.name) ?? 0) < 2) console.log(`${c.name} [${c.bytes}] ${bad.join('; ')}`);
        byForm.set(c.name, (byForm.get(c.name) ?? 0) + 1);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
console.log(
  `qemu-check: ${total - differ}/${total} vectors agree; differing forms: ${[...byForm.keys()].join(', ') || 'none'}`,
);
