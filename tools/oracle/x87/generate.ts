/**
 * The host's x87 as oracle: draw operands across the classes (cases.ts) for every operation,
 * every RC and PC, run them natively through x87-oracle.c (an x86-64 program: the host cannot
 * run 32-bit programs, and the x87 behaves the same in long mode), and record the results under
 * tests/cpu/vectors/x87/. `npm run oracle:x87`.
 *
 * Each case is one array of hex strings: op, control word, A, B, M (inputs; A is ST0, B is ST1,
 * M the memory operand) then status word, tag word, ST0, ST1, ST2, M after, EFLAGS (outputs).
 * 80-bit values are written sign/exponent first ("3fff8000000000000000").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../generate';
import { OPS, controlWord, memOperand, operand, second, type Raw80 } from './cases';

export const X87_SEED = 0x8087;
const IN_BYTES = 40;
const OUT_BYTES = 48;

export interface X87VectorFile {
  format: 1;
  group: string;
  host: string;
  seed: number;
  fields: string[];
  cases: string[][];
}

const hexBytes = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function put80(buf: Uint8Array, at: number, v: Raw80): void {
  let s = v.sig;
  for (let i = 0; i < 8; i++) {
    buf[at + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  buf[at + 8] = v.se & 0xff;
  buf[at + 9] = v.se >> 8;
}

/** 80-bit bytes (little-endian) → "seeeSSSSSSSSSSSSSSSS". */
function hex80(b: Uint8Array, at: number): string {
  const se = b[at + 8] | (b[at + 9] << 8);
  let sig = '';
  for (let i = 7; i >= 0; i--) sig += b[at + i].toString(16).padStart(2, '0');
  return se.toString(16).padStart(4, '0') + sig;
}

const raw = (v: Raw80): string => v.se.toString(16).padStart(4, '0') + v.sig.toString(16).padStart(16, '0');

function hostName(): string {
  const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1].trim() : 'unknown';
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'x87-oracle-'));
  const src = new URL('./x87-oracle.c', import.meta.url).pathname;
  const outDir = new URL('../../../tests/cpu/vectors/x87/', import.meta.url).pathname;
  try {
    try {
      execFileSync('gcc', ['-O1', '-mno-red-zone', '-o', join(dir, 'x87-oracle'), src], { stdio: 'pipe' });
    } catch (e) {
      console.error(`oracle:x87: CANNOT BUILD THE x86-64 ORACLE (gcc): ${(e as Error).message}`);
      process.exit(2);
    }
    const rng = mulberry32(X87_SEED);
    const inputs: { op: number; cw: number; a: Raw80; b: Raw80; m: Uint8Array }[] = [];
    OPS.forEach((o, opIndex) => {
      for (let k = 0; k < o.count; k++) {
        // Constants: each RC twice. Stack faults: IE unmasked half the time.
        let cw = o.group === 'const' ? 0x037f | ((k & 3) << 10) : controlWord(rng);
        if (o.group === 'stack' && rng.below(2)) cw &= ~1;
        let a = operand(rng);
        if ((o.name === 'fst32' || o.name === 'fst64') && rng.below(2)) {
          const range = o.name === 'fst32' ? 160 : 1100;
          a = { se: (a.se & 0x8000) | (0x3fff + rng.below(2 * range) - range), sig: a.sig };
        }
        // F2XM1 and FYL2XP1 are defined on |x| ≤ 1 and |x| < 1 − √2/2: mostly draw inside.
        if (o.name === 'f2xm1' && rng.below(5) < 4) a = { se: (a.se & 0x8000) | (0x3ffe - rng.below(70)), sig: a.sig };
        if (o.name === 'fyl2xp1' && rng.below(5) < 4)
          a = { se: (a.se & 0x8000) | (0x3ffc - rng.below(70)), sig: a.sig };
        const b = second(rng, a);
        inputs.push({ op: opIndex, cw, a, b, m: memOperand(rng, o.mem) });
      }
    });
    const input = new Uint8Array(inputs.length * IN_BYTES);
    inputs.forEach((c, i) => {
      const at = i * IN_BYTES;
      input[at] = c.op;
      input[at + 2] = c.cw & 0xff;
      input[at + 3] = c.cw >> 8;
      put80(input, at + 4, c.a);
      put80(input, at + 14, c.b);
      input.set(c.m, at + 24);
    });
    const out = execFileSync(join(dir, 'x87-oracle'), { input, maxBuffer: 1 << 28 });
    if (out.length !== inputs.length * OUT_BYTES) throw new Error(`oracle returned ${out.length} bytes`);
    const groups = new Map<string, string[][]>();
    inputs.forEach((c, i) => {
      const at = i * OUT_BYTES;
      const o = OPS[c.op];
      const sw = out[at] | (out[at + 1] << 8);
      const tw = out[at + 2] | (out[at + 3] << 8);
      const eflags = /^f(u)?comi/.test(o.name) ? out.readUInt32LE(at + 44) & 0x8d5 : 0;
      // Empty registers (by the tag word) and memory an operation does not use are left out.
      const top = (sw >> 11) & 7;
      const st = (i: number): string => (((tw >> (2 * ((top + i) & 7))) & 3) === 3 ? '' : hex80(out, at + 4 + 10 * i));
      const stores = /^(fst|fist|fbstp)/.test(o.name) && o.name !== 'fsincos_full';
      const row = [
        o.name,
        c.cw.toString(16).padStart(4, '0'),
        raw(c.a),
        raw(c.b),
        o.mem === 'none' ? '' : hexBytes(c.m),
        sw.toString(16).padStart(4, '0'),
        tw.toString(16).padStart(4, '0'),
        st(0),
        st(1),
        st(2),
        stores ? hexBytes(out.subarray(at + 34, at + 44)) : '',
        eflags.toString(16),
      ];
      groups.set(o.group, [...(groups.get(o.group) ?? []), row]);
    });
    mkdirSync(outDir, { recursive: true });
    for (const [group, cases] of groups) {
      const file: X87VectorFile = {
        format: 1,
        group,
        host: hostName(),
        seed: X87_SEED,
        fields: ['op', 'cw', 'a', 'b', 'm', 'sw', 'tw', 'st0', 'st1', 'st2', 'mOut', 'eflags'],
        cases,
      };
      writeFileSync(join(outDir, `${group}.json`), JSON.stringify(file) + '\n');
      console.log(`${group.padEnd(8)} ${String(cases.length).padStart(6)} vectors`);
    }
    console.log(`oracle:x87: ${inputs.length} vectors from ${hostName()} written to tests/cpu/vectors/x87/`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
