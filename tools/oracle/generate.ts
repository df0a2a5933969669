/**
 * The host CPU as oracle: generate instruction vectors from the forms list, run them natively in a
 * static 32-bit program, record the results under tests/cpu/vectors/. `npm run oracle`.
 *
 * Needs `as --32`, `ld -m elf_i386` and a kernel that runs 32-bit programs; says so and exits 2
 * when it cannot. The committed vectors are what the unit tests use, so the tests do not need any
 * of this.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { forms, interesting, RANDOM_FLAGS, SLOT_BYTES, type Form, type Rng, type VectorInput } from './forms';
import {
  HALT_OFFSET,
  IMAGE_BASE,
  PUSHAD_ORDER,
  RUN_ALL_OFFSET,
  SCRATCH_STACK_BYTES,
  STATE_BYTES,
  type VectorCase,
  type VectorFile,
} from './image';

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    u32,
    below: (n) => u32() % n,
    pick: (xs) => xs[u32() % xs.length],
  };
}

const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const hex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

interface Pending {
  form: Form;
  input: VectorInput;
  bytes: number[];
  defined: number;
}

/** Build the image for one group of vectors. */
export function buildImage(pending: Pending[]): { image: Uint8Array; cases: VectorCase[] } {
  const stubBytes = (p: Pending): number => 6 + 5 + 2 + 5 + p.bytes.length + 5 + 2 + 6 + 1;
  const runAllBytes = pending.length * 5 + 1;
  let codeEnd = RUN_ALL_OFFSET + runAllBytes;
  const entries: number[] = [];
  for (const p of pending) {
    entries.push(codeEnd);
    codeEnd += stubBytes(p);
  }
  const align = (x: number): number => (x + 63) & ~63;
  const savedEsp = align(codeEnd);
  const scratchTop = savedEsp + 64 + SCRATCH_STACK_BYTES;
  const inBase = scratchTop;
  const outBase = inBase + pending.length * STATE_BYTES;
  const slotBase = align(outBase + pending.length * STATE_BYTES);
  const total = slotBase + pending.length * SLOT_BYTES;
  const image = new Uint8Array(total);
  image[HALT_OFFSET] = 0xf4;
  const A = (off: number): number[] => le32(IMAGE_BASE + off);
  let at = RUN_ALL_OFFSET;
  for (const e of entries) {
    const rel = e - (at + 5);
    image.set([0xe8, ...le32(rel)], at);
    at += 5;
  }
  image[at] = 0xc3;
  const cases: VectorCase[] = [];
  pending.forEach((p, i) => {
    const inOff = inBase + i * STATE_BYTES;
    const outOff = outBase + i * STATE_BYTES;
    const slotOff = slotBase + i * SLOT_BYTES;
    const code = [
      ...[0x89, 0x25, ...A(savedEsp)],
      ...[0xbc, ...A(inOff)],
      0x61,
      0x9d,
      ...[0xbc, ...A(scratchTop)],
      ...p.bytes,
      ...[0xbc, ...A(outOff + STATE_BYTES)],
      0x9c,
      0x60,
      ...[0x8b, 0x25, ...A(savedEsp)],
      0xc3,
    ];
    if (code.length !== stubBytes(p)) throw new Error('stub size');
    image.set(code, entries[i]);
    const state = PUSHAD_ORDER.flatMap((r) => le32(p.input.regs[r]));
    image.set([...state, ...le32(p.input.flags | 2)], inOff);
    image.set(p.input.mem, slotOff);
    cases.push({
      name: p.form.name,
      bytes: hex(p.bytes),
      entry: entries[i],
      in: { regs: [...p.input.regs], flags: (p.input.flags | 2) >>> 0 },
      out: { regs: [], flags: 0 },
      defined: p.defined,
      outOffset: outOff,
      slotOffset: slotOff,
      memIn: hex(p.input.mem),
      memOut: '',
    });
  });
  return { image, cases };
}

const WRAPPER = `
  .section .image,"awx"
  .incbin "image.bin"
  .text
  .globl _start
_start:
  call IMAGE_BASE + RUN_ALL
  cld
  mov $IMAGE_BASE, %ecx
  mov $IMAGE_LEN, %edx
1:mov $4, %eax
  mov $1, %ebx
  int $0x80
  test %eax, %eax
  jle 2f
  add %eax, %ecx
  sub %eax, %edx
  jnz 1b
2:mov $1, %eax
  xor %ebx, %ebx
  int $0x80
`;
const LINKER = `SECTIONS { . = ${IMAGE_BASE}; .image : { *(.image) } .text : { *(.text) } /DISCARD/ : { *(.note*) } }`;

/** Assemble, link and run the image natively; returns the image after the run. */
function runNative(image: Uint8Array, dir: string): Uint8Array {
  writeFileSync(join(dir, 'image.bin'), image);
  writeFileSync(join(dir, 'wrapper.S'), WRAPPER);
  writeFileSync(join(dir, 'link.ld'), LINKER);
  const sym = [
    `--defsym=IMAGE_BASE=${IMAGE_BASE}`,
    `--defsym=RUN_ALL=${RUN_ALL_OFFSET}`,
    `--defsym=IMAGE_LEN=${image.length}`,
  ];
  execFileSync('as', ['--32', ...sym, '-o', 'wrapper.o', 'wrapper.S'], { cwd: dir });
  execFileSync(
    'ld',
    ['-m', 'elf_i386', '-static', '--no-warn-rwx-segments', '-T', 'link.ld', '-o', 'oracle', 'wrapper.o'],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const out = execFileSync(join(dir, 'oracle'), { maxBuffer: 1 << 28 });
  if (out.length !== image.length) throw new Error(`native run returned ${out.length} bytes, expected ${image.length}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * The 64-bit stand-in for the image's 32-bit stubs, for groups whose forms mean the same in 64-bit
 * mode (Form.same64): per case, the registers and EFLAGS of its input, ESP at the scratch stack
 * top, the instruction, then the registers stored where the 32-bit stub's PUSHFD/PUSHAD put them
 * (ESP as PUSHAD records it there: the out block's top − 4). 32-bit register writes zero-extend,
 * so the low halves are the 32-bit results. R15 keeps the host stack (no form names it).
 */
function stubs64(cases: VectorCase[]): Uint8Array {
  const scratchTop = IMAGE_BASE + cases[0].outOffset - cases.length * STATE_BYTES;
  const abs = (off: number) => [0x04, 0x25, ...le32(off)]; // ModR/M r/m 100 + SIB: disp32, no base
  const code: number[] = [];
  const entries = cases.map((c) => {
    const at = code.length;
    const out = IMAGE_BASE + c.outOffset;
    for (let r = 0; r < 8; r++) if (r !== 4) code.push(0xb8 + r, ...le32(c.in.regs[r])); // mov r32, imm32
    code.push(0x68, ...le32(c.in.flags), 0x9d); // push imm32; popfq
    code.push(0x49, 0x89, 0xe7); // mov r15, rsp
    code.push(0xbc, ...le32(scratchTop)); // mov esp, scratch top
    code.push(...c.bytes.match(/../g)!.map((h) => parseInt(h, 16)));
    PUSHAD_ORDER.forEach((r, j) => {
      if (r === 4) code.push(0xc7, ...abs(out + 4 * j), ...le32(out + STATE_BYTES - 4));
      else code.push(0x89, (r << 3) | 0x04, 0x25, ...le32(out + 4 * j));
    });
    code.push(0xbc, ...le32(scratchTop), 0x9c, 0x58); // mov esp, scratch top; pushfq; pop rax
    code.push(0x89, ...abs(out + 32)); // mov [out + 32], eax
    code.push(0x4c, 0x89, 0xfc, 0xfc, 0xc3); // mov rsp, r15; cld; ret
    return at;
  });
  // Run-all at the start: call each stub, ret.
  const runAll: number[] = [];
  const runAllLen = cases.length * 5 + 1;
  entries.forEach((e, i) => runAll.push(0xe8, ...le32(runAllLen + e - (i * 5 + 5))));
  runAll.push(0xc3);
  return Uint8Array.from([...runAll, ...code]);
}

const WRAPPER64 = `
  .section .image,"awx"
  .incbin "image.bin"
  .section .stubs,"awx"
stubs:
  .incbin "stubs.bin"
  .text
  .globl _start
_start:
  call stubs
  mov $IMAGE_BASE, %esi
  mov $IMAGE_LEN, %edx
1:mov $1, %eax
  mov $1, %edi
  syscall
  test %rax, %rax
  jle 2f
  add %rax, %rsi
  sub %rax, %rdx
  jnz 1b
2:mov $60, %eax
  xor %edi, %edi
  syscall
`;

/** Runs a group of same64 forms as a static 64-bit program; returns the image after the run. */
function runNative64(image: Uint8Array, cases: VectorCase[], dir: string): Uint8Array {
  writeFileSync(join(dir, 'image.bin'), image);
  writeFileSync(join(dir, 'stubs.bin'), stubs64(cases));
  writeFileSync(join(dir, 'wrapper64.S'), WRAPPER64);
  writeFileSync(
    join(dir, 'link64.ld'),
    `SECTIONS { . = ${IMAGE_BASE}; .image : { *(.image) } . = ALIGN(0x100000); .stubs : { *(.stubs) } .text : { *(.text) } /DISCARD/ : { *(.note*) } }`,
  );
  const sym = [`--defsym=IMAGE_BASE=${IMAGE_BASE}`, `--defsym=IMAGE_LEN=${image.length}`];
  execFileSync('as', ['--64', ...sym, '-o', 'wrapper64.o', 'wrapper64.S'], { cwd: dir });
  execFileSync('ld', ['-static', '--no-warn-rwx-segments', '-T', 'link64.ld', '-o', 'oracle64', 'wrapper64.o'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const out = execFileSync(join(dir, 'oracle64'), { maxBuffer: 1 << 28 });
  if (out.length !== image.length) throw new Error(`native run returned ${out.length} bytes, expected ${image.length}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function canRun32(dir: string): string | null {
  try {
    writeFileSync(join(dir, 'probe.S'), '.globl _start\n_start: mov $1,%eax\n mov $7,%ebx\n int $0x80\n');
    execFileSync('as', ['--32', '-o', 'probe.o', 'probe.S'], { cwd: dir });
    execFileSync('ld', ['-m', 'elf_i386', '-static', '-o', 'probe', 'probe.o'], { cwd: dir });
  } catch (e) {
    return `cannot assemble/link 32-bit programs (as --32, ld -m elf_i386): ${(e as Error).message}`;
  }
  try {
    execFileSync(join(dir, 'probe'));
    return 'the 32-bit probe did not exit with status 7';
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 7) return null;
    return `this kernel does not run 32-bit programs (probe failed: ${(e as Error).message})`;
  }
}

/**
 * The vectors of one group before the native run: random inputs from `rng` (shared across groups,
 * in forms() order), the encodings, and the image. Deterministic, so a change to forms.ts that
 * would change the committed vectors shows without running anything (tests/cpu/oracle-forms.test.ts).
 */
export function draftGroup(fs: Form[], rng: Rng, perForm: number): { image: Uint8Array; cases: VectorCase[] } {
  const pending: Pending[] = [];
  // The data's address is not known until the layout is; stubs are the same size whatever
  // the addresses, so build twice: once to learn the slot base, once for real.
  const slotAddr: number[] = [];
  const draft: { form: Form; input: VectorInput; rngState: number }[] = [];
  for (const form of fs)
    for (let k = 0; k < (fs.length < 50 ? perForm * 4 : perForm); k++) {
      const regs = Array.from({ length: 8 }, () => interesting(rng));
      regs[4] = 0;
      const mem = new Uint8Array(SLOT_BYTES);
      for (let i = 0; i < SLOT_BYTES; i++) mem[i] = rng.below(256);
      const flags = rng.u32() & RANDOM_FLAGS;
      draft.push({ form, input: { regs, flags, mem, slot: 0 }, rngState: rng.u32() });
    }
  // Pass 1: sizes (instruction lengths do not depend on the slot address).
  for (const d of draft) {
    const r = mulberry32(d.rngState);
    const copy: VectorInput = { ...d.input, regs: [...d.input.regs], mem: d.input.mem.slice() };
    pending.push({ form: d.form, input: copy, bytes: d.form.encode(copy, r), defined: 0 });
  }
  const layout = buildImage(pending);
  layout.cases.forEach((c) => slotAddr.push(IMAGE_BASE + c.slotOffset));
  // Pass 2: the real encodings with the slot addresses.
  pending.length = 0;
  draft.forEach((d, i) => {
    const r = mulberry32(d.rngState);
    const input: VectorInput = { ...d.input, slot: slotAddr[i] };
    const bytes = d.form.encode(input, r);
    pending.push({ form: d.form, input, bytes, defined: d.form.defined(input) | 0x400 });
  });
  const { image, cases } = buildImage(pending);
  cases.forEach((c, i) => {
    if (c.slotOffset + IMAGE_BASE !== slotAddr[i]) throw new Error('layout changed between passes');
  });
  return { image, cases };
}

function hostName(): string {
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

const u32At = (b: Uint8Array, off: number): number =>
  (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;

function main(): void {
  const args = process.argv.slice(2);
  const perForm = Number(args[args.indexOf('--per-form') + 1] || 0) || DEFAULT_PER_FORM;
  const seed = Number(args[args.indexOf('--seed') + 1] || 0) || DEFAULT_SEED;
  const outDir = new URL('../../tests/cpu/vectors/', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'oracle-'));
  try {
    const why = canRun32(dir);
    if (why)
      console.error(
        `oracle: this host cannot run 32-bit programs (${why}).\nOnly the groups whose forms mean the same in 64-bit mode are recorded (as a 64-bit program); the other committed vectors stay as they are.`,
      );
    const rng = mulberry32(seed);
    const groups = new Map<string, Form[]>();
    for (const f of forms()) groups.set(f.group, [...(groups.get(f.group) ?? []), f]);
    mkdirSync(outDir, { recursive: true });
    let total = 0;
    for (const [group, fs] of groups) {
      // Drafted whatever happens: the random draws of the later groups depend on it.
      const { image, cases } = draftGroup(fs, rng, perForm);
      const in64 = fs.every((f) => f.same64);
      if (why && !in64) continue;
      const after = why ? runNative64(image, cases, dir) : runNative(image, dir);
      for (const c of cases) {
        const regs = new Array<number>(8);
        PUSHAD_ORDER.forEach((r, j) => (regs[r] = u32At(after, c.outOffset + 4 * j)));
        c.out = { regs, flags: u32At(after, c.outOffset + 32) };
        c.memOut = hex(after.subarray(c.slotOffset, c.slotOffset + SLOT_BYTES));
      }
      const file: VectorFile = {
        format: 1,
        group,
        host: why ? `${hostName()} (64-bit mode)` : hostName(),
        seed,
        base: IMAGE_BASE,
        image: Buffer.from(image).toString('base64'),
        cases,
      };
      writeFileSync(join(outDir, `${group}.json`), JSON.stringify(file) + '\n');
      total += cases.length;
      console.log(
        `${group.padEnd(8)} ${String(fs.length).padStart(4)} forms ${String(cases.length).padStart(5)} vectors`,
      );
    }
    console.log(`oracle: ${total} vectors from ${hostName()} written to tests/cpu/vectors/`);
  } finally {
    if (!process.env.ORACLE_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
}

/** The committed default seed and vectors per form (`npm run oracle` without arguments). */
export const DEFAULT_SEED = 0x1386;
export const DEFAULT_PER_FORM = 6;

// Run only as a script (tests import draftGroup).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
