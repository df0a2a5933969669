/**
 * Makes tests/cpu/disasm-vectors.json: instruction bytes with what GNU objdump prints for them
 * (`objdump -D -b binary -m i386|i8086 -M intel`), the reference tests/cpu/disasm.test.ts holds
 * the disassembler (src/machine/cpu/disasm.ts) to. Run once with `npx tsx tools/disasm-vectors.ts`;
 * the file is committed so the test needs no binutils.
 *
 * The cases: every entry of the opcode table in each operand form (register, several 32- and
 * 16-bit memory forms, 0x66 and 0x67), encoded with fixed immediates, plus hand-picked prefix
 * combinations. Entries objdump decodes differently by design are left out (listed in SKIP).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCODES, x87Form, type Opcode, type Operand } from '../src/machine/cpu/opcodes';

export interface DisasmVector {
  /** Code size of the segment: 32 (objdump -m i386) or 16 (-m i8086). */
  mode: 16 | 32;
  /** Address of the first byte (objdump --adjust-vma), for branch targets. */
  address: number;
  hex: string;
  /** objdump's length and text (tabs and runs of spaces collapsed to one space). */
  length: number;
  objdump: string;
}

const ADDRESS = { 16: 0x1000, 32: 0x101000 } as const;

/** Left out: objdump decodes these differently on purpose (not a disassembler bug). */
const SKIP: Record<string, string> = {
  salc: 'D6 is (bad) to objdump',
};

/** ModR/M (+SIB +displacement) forms, the register form first. The reg field is OR-ed in. */
const RM32: number[][] = [
  [0xc1], // register (ecx / cx / cl)
  [0x03], // [ebx]
  [0x46, 0xf0], // [esi-0x10]
  [0x84, 0x73, 0x78, 0x56, 0x34, 0x12], // [ebx+esi*2+0x12345678]
  [0x05, 0x00, 0x20, 0x10, 0x00], // ds:0x102000
  [0x04, 0x24], // [esp]
  [0x0c, 0x8d, 0xf0, 0xff, 0xff, 0xff], // [ecx*4-0x10]
  [0x45, 0x00], // [ebp+0x0]
];
const RM16: number[][] = [
  [0xc2], // register
  [0x00], // [bx+si]
  [0x06, 0x34, 0x12], // ds:0x1234
  [0x46, 0x7f], // [bp+0x7f]
  [0x87, 0x00, 0x80], // [bx-0x8000]
];

function immediate(k: Operand, op32: boolean, ad32: boolean): number[] {
  switch (k) {
    case 'Ib':
      return [0x7f];
    case 'Ibs':
      return [0xf0];
    case 'Iw':
      return [0x34, 0x12];
    case 'Iv':
      return op32 ? [0x78, 0x56, 0x34, 0x12] : [0xcd, 0xab];
    case 'Jb':
      return [0xf0];
    case 'Jv':
      return op32 ? [0x00, 0x01, 0x00, 0x00] : [0x00, 0x81];
    case 'Ap':
      return [...(op32 ? [0x78, 0x56, 0x34, 0x12] : [0x34, 0x12]), 0x10, 0x00];
    case 'Ob':
    case 'Ov':
      return ad32 ? [0x00, 0x20, 0x10, 0x00] : [0x00, 0x20];
    default:
      return [];
  }
}

/**
 * Encodings of one entry in a mode: the register form and two memory forms (rotating through the
 * list with `salt`, so that the whole list is covered across entries), then with 0x66 (register and
 * one memory form) and with 0x67 (one memory form of the other address size).
 */
function encodings(o: Opcode, mode: 16 | 32, salt: number): number[][] {
  if (o.operands[0] === 'Fx') return x87Encodings(o.op, mode);
  const out: number[][] = [];
  const code32 = mode === 32;
  const opBytes = o.op > 0xff ? [0x0f, o.op & 0xff] : [o.op];
  const memOnly = o.operands.some(
    (k) => k === 'M' || k === 'Mb' || k === 'Mp' || k === 'Ma' || k === 'Mq' || k === 'Ms',
  );
  const regOnly = o.operands.some((k) => k === 'Rd');
  const sizeMatters = o.operands.some((k) => k.endsWith('v') || k === 'eAX' || k === 'Mp' || k === 'Ma');
  const usesAddress = o.modrm || o.operands.some((k) => k[0] === 'O' || k[0] === 'X' || k[0] === 'Y');
  const variants: { pre: number[]; forms: number }[] = [{ pre: [], forms: 3 }];
  if (sizeMatters || o.implicitSize) variants.push({ pre: [0x66], forms: 2 });
  if (usesAddress) variants.push({ pre: [0x67], forms: 1 });
  for (const { pre, forms: n } of variants) {
    const op32 = pre[0] === 0x66 ? !code32 : code32;
    const ad32 = pre[0] === 0x67 ? !code32 : code32;
    const all = ad32 ? RM32 : RM16;
    let forms: number[][] = [[]];
    if (o.modrm) {
      const mem = all.slice(1);
      const pick = [all[0], mem[salt % mem.length], mem[(salt + 3) % mem.length]];
      forms = (pre[0] === 0x67 ? pick.slice(1) : pick).slice(0, n);
      if (memOnly) forms = pick.slice(1, 1 + Math.max(1, n - 1));
      if (regOnly) forms = [all[0], [0x00]];
    }
    for (const form of forms) {
      let bytes = [...pre, ...opBytes];
      if (o.modrm) {
        const reg = o.ext ?? (o.operands.includes('Sw') || o.operands.includes('Cd') ? 3 : 2);
        bytes = [...bytes, (form[0] & 0xc7) | (reg << 3), ...form.slice(1)];
      }
      for (const k of o.operands) bytes = [...bytes, ...immediate(k, op32, ad32)];
      out.push(bytes);
    }
  }
  return out;
}

/**
 * An x87 escape: every memory form (reg 0–7, one addressing form, and with 0x66) and, in 32-bit
 * code, every register form (all 64 ModR/M values from C0), where x87Form names an instruction.
 */
function x87Encodings(op: number, mode: 16 | 32): number[][] {
  const out: number[][] = [];
  const mem = mode === 32 ? [0x03] : [0x07]; // [ebx] / [bx]
  for (let reg = 0; reg < 8; reg++) {
    if (!x87Form(op, reg << 3)) continue;
    out.push([op, (reg << 3) | mem[0]]);
    out.push([0x66, op, (reg << 3) | mem[0]]);
  }
  if (mode === 32) for (let m = 0xc0; m < 0x100; m++) if (x87Form(op, m)) out.push([op, m]);
  return out;
}

/** Hand-picked: prefixes (LOCK, REP, segment overrides, unused ones), edge encodings. */
const EXTRA: { mode: 16 | 32; hex: string }[] = [
  'f00fb111', // lock cmpxchg [ecx], edx
  'f0830001', // lock add dword ptr [eax], 1
  'f066ff00', // lock inc word ptr [eax]
  'f3a5', // rep movsd
  'f366a5', // rep movsw
  'f3aa', // rep stosb
  'f3a6', // repz cmpsb
  'f2ae', // repnz scasb
  'f36d', // rep insd
  'f36e', // rep outsb
  '64a5', // movs with fs source
  '67a5', // movs with 16-bit addresses
  '2ea4', // cs: source
  '26ac', // lods es:
  'f3c3', // repz ret
  '2e90', // cs nop
  '3e8b00', // explicit ds override
  '648b0424', // fs:[esp]
  '65a1000000f0', // mov eax, gs:0xf0000000
  '66e8feff', // callw
  '66e9feff', // jmpw
  'e9f6ffffff', // jmp back
  'ebfe', // jmp self
  '67e3fe', // jcxz
  'e3fe', // jecxz
  '8b0485f0ffffff', // no base, scaled index
  '8b0420', // [eax+eiz*1]
  '8b0464', // [esp+eiz*2]
  '8b0425785634f2', // [eiz*1+0xf2345678]
  '8b80f0ffffff', // [eax-0x10] with disp32
  '0f1f440000', // nop dword ptr [eax+eax*1+0x0]
  '660f1f840000000000', // nop word ptr [eax+eax*1+0x0]
  '0f20e0', // mov eax, cr4
  '0f22d8', // mov cr3, eax
  '0f21f8', // mov eax, dr7
  '0f2000', // mov CR with mod != 3: the r/m field is still a register
  'cd80',
  'cc',
  'c8100001', // enter 0x10, 1
  'ea785634121000', // jmp far
  '9a785634121000', // call far
  '6aff', // push 0xffffffff
  '83c0ff', // add eax, 0xffffffff
  '6683c0ff', // add ax, 0xffff
  '0fc7c8', // cmpxchg8b with a register: (bad)
  '8dc0', // lea with a register: (bad)
  'c4c0', // les with a register: (bad)
].map((hex) => ({ mode: 32 as const, hex }));
EXTRA.push(
  ...[
    'f3a5', // rep movsw (16-bit)
    '66f3a5', // rep movsd
    'e9fdff', // jmp back (16-bit wrap)
    'e3fe', // jcxz
    '67e3fe', // jecxz
    '8b0424', // 16-bit: [si]
    '678b0424', // 32-bit addressing in 16-bit code
    '66a1341200', // hmm: mov eax, ds:0x1234 (not 32-bit moffs)
    'ea34120010', // jmp 0x1000:0x1234
    '66ea785634121000', // jmp far 32
    'cf',
    '66cf', // iretd
    '60',
    '6660', // pushad
    '0f0110', // lgdtw
    '660f0110', // lgdtd
  ].map((hex) => ({ mode: 16 as const, hex })),
);

function objdump(dir: string, mode: 16 | 32, bytes: number[]): { length: number; text: string } {
  const file = join(dir, 'b.bin');
  writeFileSync(file, Buffer.from(bytes));
  const out = execFileSync(
    'objdump',
    [
      '-D',
      '-b',
      'binary',
      '-m',
      mode === 32 ? 'i386' : 'i8086',
      '-M',
      'intel',
      `--adjust-vma=0x${ADDRESS[mode].toString(16)}`,
      file,
    ],
    { encoding: 'utf8' },
  );
  // Lines "  addr:\tbytes\ttext"; a long instruction continues on lines with bytes only.
  const lines = out.split('\n').filter((l) => /^\s*[0-9a-f]+:\t/.test(l));
  const first = lines[0].split('\t');
  let length = first[1].trim().split(/\s+/).length;
  for (const l of lines.slice(1)) {
    const parts = l.split('\t');
    if (parts.length > 2 && parts[2].trim() !== '') break;
    length += parts[1].trim().split(/\s+/).length;
  }
  return { length, text: (first[2] ?? '').trim().replace(/\s+/g, ' ') };
}

function main(): void {
  try {
    execFileSync('objdump', ['--version'], { encoding: 'utf8' });
  } catch {
    process.stderr.write('disasm-vectors: GNU objdump is not installed; the committed vectors stay as they are\n');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'disasm-'));
  const cases: { mode: 16 | 32; bytes: number[] }[] = [];
  OPCODES.forEach((o, salt) => {
    if (o.mnemonic in SKIP) return;
    for (const mode of [32, 16] as const) for (const bytes of encodings(o, mode, salt)) cases.push({ mode, bytes });
  });
  for (const e of EXTRA) cases.push({ mode: e.mode, bytes: e.hex.match(/../g)!.map((h) => parseInt(h, 16)) });
  const seen = new Set<string>();
  const vectors: DisasmVector[] = [];
  for (const c of cases) {
    const hex = c.bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    if (seen.has(`${c.mode}:${hex}`)) continue;
    seen.add(`${c.mode}:${hex}`);
    const r = objdump(dir, c.mode, c.bytes);
    vectors.push({ mode: c.mode, address: ADDRESS[c.mode], hex, length: r.length, objdump: r.text });
  }
  rmSync(dir, { recursive: true });
  const version = execFileSync('objdump', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const file = new URL('../tests/cpu/disasm-vectors.json', import.meta.url);
  const body = { format: 1, objdump: version, skipped: SKIP, vectors };
  writeFileSync(file, `${JSON.stringify(body, null, 0).replace(/\},\{/g, '},\n{')}\n`);
  process.stdout.write(`disasm-vectors: ${vectors.length} vectors from ${version}\n`);
}

main();
