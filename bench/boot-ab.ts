/**
 * `npx tsx bench/boot-ab.ts OLD_TREE [--rounds N]`: Linux's boot to its shell prompt (Node, icount
 * clock) on another checkout's machine (OLD_TREE, made as for bench/cpu-ab.ts) against this one's,
 * both in one process and interleaved slice by slice, so that the load of a shared host falls on
 * both alike. Prints per round each tree's host time to the prompt (the sum of its slices' wall
 * time and of their main-thread CPU time) and the instruction count at the prompt's last byte, which must be the
 * same: the boot is deterministic on icount. Each round is a fresh process (V8 caches compiled functions by
 * source, which would favour the second boot of a process). Main-thread CPU comes from
 * /proc/self/task (Linux; 10 ms ticks, summed over hundreds of slices).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
const child = args.includes('--child');
const old = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds');
if (!old) {
  console.error('usage: npx tsx bench/boot-ab.ts OLD_TREE [--rounds N]');
  process.exit(2);
}
const trees = [resolve(old), resolve(import.meta.dirname, '..')];

interface AbMachine {
  slice(): { next: string; ms?: number };
  onSerial: ((b: number) => void) | null;
  stats: { f64: Float64Array };
  destroy(): void;
}

if (child) {
  const file = (p: string) => {
    const b = readFileSync(p);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  const mainCpu = () => {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // ms
  };
  const boots: { m: AbMachine; serial: string; done: boolean; wall: number; cpu: number; n: number; at: number }[] = [];
  for (const t of trees) {
    const { Machine } = await import(/* @vite-ignore */ `${t}/src/machine/machine.ts`);
    const { immediateYielder } = await import(/* @vite-ignore */ `${t}/src/machine/runloop.ts`);
    const { F64 } = await import(/* @vite-ignore */ `${t}/src/shared/layout.ts`);
    const { LINUX_GUEST } = await import(/* @vite-ignore */ `${t}/src/ui/guests.ts`);
    // This tree's images for both: the same guest.
    const r = Machine.create(
      {
        ramMiB: LINUX_GUEST.minRamMiB,
        vramMiB: 8,
        cmdline: LINUX_GUEST.cmdline,
        clock: 'icount',
        image: 'multiboot',
        initrd: file(`public/${LINUX_GUEST.initrd}`),
      },
      file(`public/${LINUX_GUEST.kernel}`),
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const m = r.value as AbMachine;
    const b = { m, serial: '', done: false, wall: 0, cpu: 0, n: 0, at: Number(F64.INSTRUCTIONS) };
    // The count when the prompt's last byte goes out (the slices end wherever their time runs out).
    const cpu = (m as unknown as { engine?: { cpu?: { instructions: number } } }).engine?.cpu;
    m.onSerial = (c) => {
      b.serial += String.fromCharCode(c);
      if (b.n === 0 && b.serial.endsWith('/ # ')) b.n = cpu?.instructions ?? -1;
    };
    boots.push(b);
  }
  while (boots.some((b) => !b.done))
    for (const b of boots) {
      if (b.done) continue;
      const t = performance.now();
      const c = mainCpu();
      const out = b.m.slice();
      b.wall += performance.now() - t;
      b.cpu += mainCpu() - c;
      if (/\/ # /.test(b.serial) || out.next === 'stop' || b.wall > 120_000) {
        b.done = true;
        if (b.n === 0) b.n = b.m.stats.f64[b.at];
      }
    }
  console.log(JSON.stringify(boots.map((b) => ({ wall: b.wall, cpu: b.cpu, n: b.n }))));
  for (const b of boots) b.m.destroy();
} else {
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const out = execFileSync('npx', ['tsx', import.meta.filename, old, '--child'], { encoding: 'utf8' });
    const [a, b] = JSON.parse(out.trim().split('\n').pop()!) as { wall: number; cpu: number; n: number }[];
    const s = (v: number) => (v / 1000).toFixed(2);
    ratios.push(a.wall / b.wall);
    console.log(
      `round ${i + 1}: old ${s(a.wall)} s (main CPU ${s(a.cpu)}), new ${s(b.wall)} s (main CPU ${s(b.cpu)}), ` +
        `old/new ${(a.wall / b.wall).toFixed(3)} (CPU ${(a.cpu / b.cpu).toFixed(3)}); ` +
        `instructions ${a.n} / ${b.n}${a.n === b.n ? '' : ' DIFFER'}`,
    );
  }
  ratios.sort((x, y) => x - y);
  console.log(`median old/new ${ratios[ratios.length >> 1].toFixed(3)}`);
}
