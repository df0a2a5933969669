/**
 * `npx tsx bench/cpu-ab.ts OLD_TREE`: the CPU of another checkout (OLD_TREE, e.g. made with
 * `git archive <commit> | tar -x -C /tmp/old && ln -s $PWD/node_modules /tmp/old/`) against this
 * one, on the benchmark kernel of bench/cpu.ts, interleaved in slices of 2 M instructions and
 * timed in process CPU time. On a shared machine the wall-clock figure of `npm run bench:cpu`
 * moves with the load; the ratio printed here moves much less. Not a substitute for bench:cpu.
 * `--interp` turns both CPUs' block compiler off (CpuEnv.blockThreshold = -1): the interpreter's
 * own speed (the decoded-instruction cache and step()), which runs the cold code of real guests.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IoBus, type AccessSize } from '../src/machine/bus';
import { bootBareCpu } from './bare-cpu';
import type { CpuEnv } from '../src/machine/cpu/cpu';

interface AbCpu {
  readonly instructions: number;
  enterProtectedModeFlat(eip: number, regs: Record<string, number>): void;
  run(max: number): unknown;
}
type AbCtor = new (env: CpuEnv) => AbCpu;

const INTERP = process.argv.includes('--interp');
const old = process.argv.slice(2).find((a) => !a.startsWith('--'));
if (!old) {
  console.error('usage: npx tsx bench/cpu-ab.ts OLD_TREE [--interp]');
  process.exit(2);
}
const trees = [resolve(old), resolve(import.meta.dirname, '..')];
const ctors: AbCtor[] = [];
for (const t of trees) {
  const Cpu = ((await import(/* @vite-ignore */ `${t}/src/machine/cpu/cpu.ts`)) as { Cpu: AbCtor }).Cpu;
  ctors.push(
    INTERP
      ? class extends Cpu {
          constructor(env: CpuEnv) {
            super({ ...env, blockThreshold: -1 });
          }
        }
      : Cpu,
  );
}
const elf = new Uint8Array(readFileSync('public/guest/bench.elf'));

function machine(Cpu: AbCtor): { cpu: AbCpu; done: () => boolean; us: number } {
  const io = new IoBus();
  let finished = false;
  io.register(0x80, 1, {
    read: () => 0xff,
    write: (_p: number, s: AccessSize, v: number) => void (finished ||= s === 1 && v === 0xff),
  });
  io.register(0xe9, 1, { read: () => 0xff, write: () => undefined });
  io.register(0xf4, 1, { read: () => 0xff, write: () => void (finished = true) });
  // This tree's Multiboot loader for both CPUs: the memory they start from is the same.
  const cpu = bootBareCpu(Cpu, elf, 'public/guest/bench.elf', io, 32);
  return { cpu, done: () => finished, us: 0 };
}

const ms = ctors.map(machine);
while (ms.some((m) => !m.done()))
  for (const m of ms) {
    if (m.done()) continue;
    const t0 = process.cpuUsage().user;
    m.cpu.run(2_000_000);
    m.us += process.cpuUsage().user - t0;
  }
const mips = ms.map((m) => m.cpu.instructions / m.us);
console.log(
  `${INTERP ? 'interpreter alone: ' : ''}old ${mips[0].toFixed(1)} MIPS, new ${mips[1].toFixed(1)} MIPS (CPU time), new/old ${(mips[1] / mips[0]).toFixed(2)}`,
);
