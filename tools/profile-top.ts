/**
 * `npx tsx tools/profile-top.ts [file.cpuprofile | dir] [--top N]`: the functions with the most
 * self time in a V8 CPU profile (as written by `node --cpu-prof`, e.g. `npm run bench:cpu:profile`),
 * with their share of all samples. The newest profile in the directory is used when given a dir.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

const args = process.argv.slice(2);
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
let target = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--top') ?? 'bench-results/profile';
if (statSync(target).isDirectory()) {
  const files = readdirSync(target)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(target, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!files.length) throw new Error(`no .cpuprofile in ${target}`);
  target = files[0];
}
const profile = JSON.parse(readFileSync(target, 'utf8')) as Profile;
const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
const ms = (profile.endTime - profile.startTime) / 1000;
const byFunction = new Map<string, number>();
for (const n of profile.nodes) {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
  const key = `${functionName || '(anonymous)'}  ${file ? `${file}:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + (n.hitCount ?? 0));
}
console.log(`${target}: ${total} samples over ${ms.toFixed(0)} ms`);
console.log('  self %  function');
for (const [key, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${((100 * hits) / total).toFixed(1).padStart(8)}  ${key}`);
