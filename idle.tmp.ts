import { readFileSync } from 'node:fs';
import { Machine } from '/work/main/src/machine/machine';
import { F64 } from '/work/main/src/shared/layout';
const b = readFileSync('/work/main/public/guest/hvmos.elf');
const r = Machine.create({ ramMiB: 32, vramMiB: 8, cmdline: 'workload=static', clock: 'wall', image: 'multiboot' }, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
if (!r.ok) throw new Error(r.message);
const m = r.value;
m.start();
setTimeout(() => {
  const f = m.stats.f64; const g0 = f[F64.GUEST_MS], s0 = f[F64.SLICES], i0 = f[F64.INSTRUCTIONS];
  setTimeout(() => {
    const f = m.stats.f64;
    console.log(`slices ${f[F64.SLICES] - s0}, guest ms ${(f[F64.GUEST_MS] - g0).toFixed(1)}, per slice ${((f[F64.GUEST_MS] - g0) / (f[F64.SLICES] - s0) * 1000).toFixed(1)} us, instr ${f[F64.INSTRUCTIONS] - i0}`);
    process.exit(0);
  }, 5000);
}, 3000);
