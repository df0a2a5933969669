/**
 * Every template of the block compiler (src/machine/cpu/block-gen.ts), compiled and run at least
 * once, against the interpreter. The list of templates is not kept here: it is asked of the
 * generator, which names the template of each piece of code it writes (Gen.templates, and a
 * comment `/*t:NAME*\/` in the source) — each handler of the decoded cache (D_*), with its
 * variants (ADC/SBB through the CPU, a shift by CL), each generic form it inlines (G_*) per
 * operand size and register or memory operand, each condition and CF taken from the lazy flags
 * of each kind, the loop edge, a fault's flush, the exit after a memory access. The probe feeds
 * the generator every entry the CPU's own decoder makes (every opcode of the one-byte and 0F maps,
 * with and without 0x66, register and memory operands, several immediates), alone, after a flag
 * setter and as a loop. So a template added to the generator, or a form added to the decoder
 * that reaches a new template, fails this test until a program here runs it.
 *
 * The programs: directed ones (calls and returns of every kind, a fault in the middle of a block
 * with flags pending, the forms the random programs do not make) and the seeded random programs
 * of block-programs.ts; each runs with every block compiled at its first execution and with the
 * interpreter alone, and the state must agree at every run() boundary.
 *
 * Also: the generated code names no member of the CPU or the MMU but those of BlockHost and
 * BlockMmu (block-host.ts), the typed face that `npm run typecheck` holds the CPU to.
 */
import { describe, expect, it } from 'vitest';
import { Gen, type Insn } from '../../src/machine/cpu/block-gen';
import { C, MMU } from '../../src/machine/cpu/block-host';
import { blockable } from '../../src/machine/cpu/blocks';
import { D_ALU_JCC, D_ALU_RI, D_ALU_RR, D_TEST_RI, D_TEST_RR } from '../../src/machine/cpu/decoded';
import { fuzzRng } from './fuzz';
import { CODE, randomProgram, rigHalted, runProgram } from './block-programs';
import { flatTables, le, loadFlatTables, makeRig, type Decoder } from './rig';

const START = 0x1000;

/** The decoder of a fresh CPU, set for 32-bit code at START. */
function decoder(): Decoder {
  const cpu = makeRig(4).cpu as unknown as Decoder;
  cpu.dCode32 = true;
  cpu.dEip = START;
  return cpu;
}
const handler = (w0: number) => w0 & 0x3f;

/** One decoded entry as compileBlock makes an instruction of a block. */
function insnAt(e: Omit<Insn, 'eip' | 'next' | 'n'>, eip: number, n: number): Insn {
  return { ...e, eip, next: (eip + ((e.w0 >>> 8) & 15)) | 0, n };
}

/** Every entry the decoder makes from the one-byte and 0F maps (32-bit code), fused pairs too. */
function decodedEntries(cpu: Decoder): Omit<Insn, 'eip' | 'next' | 'n'>[] {
  const out = new Map<string, Omit<Insn, 'eip' | 'next' | 'n'>>();
  const q = new Uint8Array(16);
  const modrms: number[] = [];
  for (let reg = 0; reg < 8; reg++)
    modrms.push(0xc0 | (reg << 3), 0xc5 | (reg << 3), 0x03 | (reg << 3), 0x43 | (reg << 3));
  const add = (w0: number) => {
    const e = { w0, w1: cpu.dW1, disp: cpu.dDisp, imm: cpu.dImm };
    out.set(`${e.w0},${e.w1},${e.disp},${e.imm}`, e);
  };
  for (const prefix of [[], [0x66]])
    for (let op = 0; op < 512; op++)
      for (const modrm of modrms)
        for (const fill of [0x00, 0x05, 0xff]) {
          const bytes = [...prefix, ...(op < 256 ? [op] : [0x0f, op & 0xff]), modrm];
          q.fill(fill);
          q.set(bytes);
          const w0 = cpu.decodeForm(q);
          if (!blockable(w0)) continue;
          add(w0);
          const h = handler(w0);
          if (h !== D_ALU_RR && h !== D_ALU_RI && h !== D_TEST_RR && h !== D_TEST_RI) continue;
          // A register ALU form followed by Jcc: the fused entry (fuseJcc), with each condition.
          const len = cpu.dLen;
          for (let cc = 0; cc < 16; cc++) {
            q.fill(fill);
            q.set(bytes);
            q[len] = 0x70 | cc;
            q[len + 1] = 0x10;
            cpu.decodeForm(q);
            const fused = cpu.fuseJcc(w0, q, 15);
            if (handler(fused) === D_ALU_JCC) add(fused);
          }
        }
  return [...out.values()];
}

/** The entry of the instruction `bytes` (one the decoder caches). */
function entryOf(cpu: Decoder, bytes: number[]): Omit<Insn, 'eip' | 'next' | 'n'> {
  const q = new Uint8Array(16);
  q.set(bytes);
  const w0 = cpu.decodeForm(q);
  return { w0, w1: cpu.dW1, disp: cpu.dDisp, imm: cpu.dImm };
}

/** Members generated code named that the face does not list (see generate()). */
const unlisted = new Set<string>();

/** The generator on these entries as one block at START (the last may branch back: a loop). */
function generate(entries: Omit<Insn, 'eip' | 'next' | 'n'>[], loop = false): Gen {
  const insns: Insn[] = [];
  let eip = START;
  let n = 0;
  for (const e of entries) {
    const i = insnAt(e, eip, n);
    insns.push(i);
    n += handler(e.w0) === D_ALU_JCC ? 2 : 1;
    eip = i.next;
  }
  if (loop) {
    const last = insns[insns.length - 1];
    last.imm = (START - last.next) | 0; // the Jcc's target: the block's first instruction
  }
  const gen = new Gen(insns, n, START);
  const source = gen.source();
  // The typed face: nothing but BlockHost's and BlockMmu's members by name.
  for (const [, obj, name] of source.matchAll(/\b(c|mmu)\.([A-Za-z_$][\w$]*)/g))
    if (!(obj === 'c' ? name in C : name in MMU)) unlisted.add(`${obj}.${name}`);
  return gen;
}

/** Every template the generator has, by probing it with the decoder's entries. */
function generatorTemplates(): Set<string> {
  const all = new Set<string>();
  const cpu = decoder();
  const entries = decodedEntries(cpu);
  const jcc = Array.from({ length: 16 }, (_, cc) => entryOf(cpu, [0x70 | cc, 0x10]));
  const inc = entryOf(cpu, [0x40]);
  const add = entryOf(cpu, [0x01, 0xc8]); // add eax, ecx: replaces the flags before anything reads them
  // Setters grouped by what they leave pending (the condition they give a following JZ names it).
  const setters = new Map<string, Omit<Insn, 'eip' | 'next' | 'n'>>();
  for (const e of entries) {
    const alone = generate([e]).templates;
    for (const t of alone) all.add(t);
    const after = generate([e, jcc[4]]).templates;
    const key =
      [...after]
        .filter((t) => !alone.has(t))
        .sort()
        .join() +
      '|' +
      [...alone].sort().join();
    if (!setters.has(key)) setters.set(key, e);
  }
  for (const e of setters.values()) {
    for (const j of [...jcc, inc, add]) for (const t of generate([e, j]).templates) all.add(t);
    for (const t of generate([e, jcc[5]], true).templates) all.add(t);
    for (const t of generate([e, inc, jcc[5]], true).templates) all.add(t);
  }
  return all;
}

/** A tiny assembler for the directed programs: bytes, labels, and references to labels. */
type Piece = number | { label: string } | { rel32: string } | { rel8: string } | { abs32: string };
function assemble(pieces: Piece[], at: number): number[] {
  const labels = new Map<string, number>();
  const size = (p: Piece) => (typeof p === 'number' ? 1 : 'label' in p ? 0 : 'rel8' in p ? 1 : 4);
  let pc = at;
  for (const p of pieces) {
    if (typeof p === 'object' && 'label' in p) labels.set(p.label, pc);
    pc += size(p);
  }
  const out: number[] = [];
  pc = at;
  const target = (name: string) => {
    const t = labels.get(name);
    if (t === undefined) throw new Error(`no label ${name}`);
    return t;
  };
  for (const p of pieces) {
    pc += size(p);
    if (typeof p === 'number') out.push(p);
    else if ('rel32' in p) out.push(...le((target(p.rel32) - pc) | 0));
    else if ('rel8' in p) out.push((target(p.rel8) - pc) & 0xff);
    else if ('abs32' in p) out.push(...le(target(p.abs32)));
  }
  return out;
}

const GDT = 0x1000;
const IDT = 0x2000;
const DE_HANDLER = 0x18000;

/** mov ebp, n; L: body; dec ebp; jnz L — then what follows the loop. */
const loop = (n: number, body: Piece[], after: Piece[] = [0xf4]): Piece[] => [
  0xbd,
  ...le(n),
  { label: 'L' },
  ...body,
  0x4d,
  0x0f,
  0x85,
  { rel32: 'L' },
  ...after,
];

/** The directed programs: what the random ones do not make. */
const DIRECTED: { name: string; pieces: Piece[]; setup?: Parameters<typeof runProgram>[4] }[] = [
  {
    name: 'calls and returns of every kind, LEAVE, PUSH [mem], indirect jumps',
    pieces: loop(
      9,
      [
        ...[0xe8, { rel32: 'F' }], // call F (a frame: push ebp; mov ebp, esp; sub esp; leave; ret)
        ...[0xb8, { abs32: 'F' }, 0xff, 0xd0], // mov eax, F; call eax
        ...[0x89, 0x03, 0xff, 0x13], // mov [ebx], eax; call [ebx]
        ...[0x6a, 0x07, 0xe8, { rel32: 'G' }], // push 7; call G (ret 4)
        ...[0xff, 0x33, 0x59], // push dword [ebx]; pop ecx
        ...[0xb9, { abs32: 'J1' }, 0xff, 0xe1], // mov ecx, J1; jmp ecx
        { label: 'J1' },
        ...[0xc7, 0x43, 0x04, { abs32: 'J2' }, 0xff, 0x63, 0x04], // mov dword [ebx+4], J2; jmp [ebx+4]
        { label: 'J2' },
        ...[0xeb, { rel8: 'J3' }, 0xf4], // jmp J3 (over a HLT)
        { label: 'J3' },
        ...[0x90, 0xf3, 0x90, 0x0f, 0x1f, 0x00], // nop; pause; nop dword [eax]
        ...[0x0f, 0xb6, 0x4b, 0x09, 0x01, 0xc8, 0x99], // movzx ecx, byte [ebx+9]; add eax, ecx; cdq
      ],
      [
        0xf4,
        { label: 'F' },
        ...[0x55, 0x89, 0xe5, 0x83, 0xec, 0x08, 0x89, 0x45, 0xfc, 0x01, 0x45, 0xfc, 0xc9, 0xc3],
        { label: 'G' },
        ...[0x8b, 0x54, 0x24, 0x04, 0x01, 0xd6, 0xc2, 0x04, 0x00], // mov edx, [esp+4]; add esi, edx; ret 4
      ],
    ),
  },
  {
    // #DE in the middle of a compiled block, flags of an ADD pending: the catch writes them, the
    // interpreter delivers the fault at the DIV; the handler skips it (inc esi; add [esp], 2; iret).
    name: 'a fault in a compiled block with flags pending',
    pieces: [
      ...loadFlatTables(GDT, IDT),
      ...loop(12, [
        ...[0x31, 0xd2, 0x05, ...le(3)], // xor edx, edx; add eax, 3
        ...[0x89, 0xe9, 0x83, 0xe1, 0x03], // mov ecx, ebp; and ecx, 3
        ...[0x01, 0xc8, 0xf7, 0xf1], // add eax, ecx; div ecx (#DE when ecx = 0)
        ...[0x0f, 0x92, 0xc1, 0x01, 0xc7], // setb cl; add edi, eax
        ...[0xb8, ...le(0x80000000), 0x99], // mov eax, 80000000h; cdq
        ...[0x89, 0xe9, 0x83, 0xe1, 0x03, 0x49], // mov ecx, ebp; and ecx, 3; dec ecx
        ...[0x83, 0xc7, 0x05, 0xf7, 0xf9, 0x01, 0xd7], // add edi, 5; idiv ecx (#DE when ecx = 0 or −1); add edi, edx
      ]),
    ],
    setup: {
      setup: (rig) => {
        flatTables(rig, GDT, IDT)(0, DE_HANDLER);
        rig.load(DE_HANDLER, [0x46, 0x83, 0x04, 0x24, 0x02, 0xcf]);
      },
    },
  },
  {
    // MUL and IMUL write EFLAGS whole; a block skips that write when the next instructions replace
    // the flags before anything reads them (flags/dead). Here a SETcc, a CMOVcc and a SETO read
    // them in between, after a XOR that left CF = 0 where the MUL sets it.
    name: 'the flags of MUL and IMUL read before they are replaced',
    pieces: loop(9, [
      ...[0x89, 0xe9, 0xc1, 0xe1, 0x1c, 0x31, 0xd2], // mov ecx, ebp; shl ecx, 28; xor edx, edx
      ...[0xb8, ...le(0x12345678), 0xf7, 0xe1], // mov eax, 0x12345678; mul ecx (CF = OF = 1)
      ...[0x0f, 0x92, 0xc3, 0x01, 0xd8], // setc bl; add eax, ebx
      ...[0x6b, 0xd0, 0x07, 0x0f, 0x90, 0xc1, 0x01, 0xcf], // imul edx, eax, 7; seto cl; add edi, ecx
      ...[0x0f, 0xaf, 0xc5, 0x0f, 0x42, 0xf2, 0x09, 0xc7], // imul eax, ebp; cmovc esi, edx; or edi, eax
    ]),
  },
  {
    name: 'the forms the random programs do not make',
    pieces: loop(5, [
      ...[0x66, 0x0f, 0x44, 0xc1, 0x66, 0x0f, 0x45, 0x43, 0x04], // cmovz ax, cx; cmovnz ax, [ebx+4]
      ...[0xf6, 0xd1, 0xf6, 0xd9, 0xf6, 0xe1, 0xf6, 0xe9, 0xf6, 0x53, 0x05], // not/neg/mul/imul cl; not byte [ebx+5]
      ...[0xf7, 0x53, 0x05, 0x66, 0xf7, 0xd1, 0xf7, 0xe9], // not dword [ebx+5]; not cx; imul ecx
      ...[0xc7, 0x43, 0x10, ...le(7), 0x89, 0xe8, 0x31, 0xd2, 0xf7, 0x73, 0x10], // mov dword [ebx+16], 7; mov eax, ebp; xor edx, edx; div dword [ebx+16]
      ...[0x89, 0xe8, 0x31, 0xd2, 0x66, 0xf7, 0x73, 0x10], // mov eax, ebp; xor edx, edx; div word [ebx+16]
      ...[0xb9, ...le(3), 0x89, 0xe8, 0x99, 0x66, 0xf7, 0xf9], // mov ecx, 3; mov eax, ebp; cdq; idiv cx
      ...[0x89, 0xe8, 0xf6, 0x73, 0x10, 0x89, 0xe8, 0xf6, 0xf9], // mov eax, ebp; div byte [ebx+16]; mov eax, ebp; idiv cl
      ...[0x66, 0x0f, 0xaf, 0xc1, 0x6b, 0x43, 0x04, 0x05, 0x66, 0x6b, 0xc1, 0x07], // imul ax, cx; imul eax, [ebx+4], 5; imul ax, cx, 7
      ...[0x66, 0xff, 0xc0, 0x66, 0xff, 0x4b, 0x06, 0xfe, 0xc1, 0xfe, 0x4b, 0x07], // inc ax; dec word [ebx+6]; inc cl; dec byte [ebx+7]
      ...[0x66, 0x8d, 0x43, 0x04, 0x66, 0x0f, 0xb6, 0xc1, 0x66, 0x0f, 0xbf, 0x4b, 0x08], // lea ax, [ebx+4]; movzx ax, cl; movsx cx, word [ebx+8]
      ...[0xc0, 0xe0, 0x03, 0xd0, 0xe9, 0xd2, 0xc2, 0xc0, 0x7b, 0x09, 0x02], // shl al, 3; shr cl, 1; rol dl, cl; sar byte [ebx+9], 2
      ...[0x0f, 0xa4, 0xc8, 0x05, 0x0f, 0xad, 0xc8, 0x66, 0x0f, 0xac, 0x43, 0x0a, 0x03], // shld eax, ecx, 5; shrd eax, ecx, cl; shrd [ebx+10], ax, 3
      ...[0x0f, 0xa4, 0x43, 0x0c, 0x03, 0x0f, 0xad, 0x4b, 0x10], // shld [ebx+12], eax, 3; shrd [ebx+16], ecx, cl
      ...[0x66, 0xf7, 0xc0, 0x81, 0x00, 0x66, 0xf7, 0x43, 0x0c, 0x00, 0x80], // test ax, 0x81; test word [ebx+12], 0x8000
      ...[0xc1, 0xe0, 0x00, 0x85, 0x43, 0x04], // shl eax, 0; test [ebx+4], eax
      ...[0x02, 0xc1, 0x66, 0x03, 0xc1, 0x8a, 0xd1, 0x66, 0x8b, 0xd1, 0x66, 0x85, 0xc1], // add al, cl; add ax, cx; mov dl, cl; mov dx, cx; test ax, cx
      ...[0x01, 0xc8, 0x0f, 0x9e, 0xc1, 0xc1, 0xe8, 0x03, 0x0f, 0x94, 0xc1], // add eax, ecx; setle cl; shr eax, 3; sete cl
      ...[0xc1, 0xe0, 0x03, 0x78, 0x00, 0xd1, 0xc0, 0xd3, 0xc9], // shl eax, 3; js $+2; rol eax, 1; ror ecx, cl
      ...[0xc1, 0xc0, 0x00, 0xc1, 0xf8, 0x03, 0x0f, 0x98, 0xc1, 0xc1, 0xea, 0x05, 0x0f, 0x98, 0xc2], // rol eax, 0; sar eax, 3; sets cl; shr edx, 5; sets dl
      ...[0x0f, 0x31], // rdtsc (msr-sysenter.test.ts checks the count it reads in a compiled loop)
    ]),
  },
  {
    // The forms Linux's idle tick ran through step() (idle-forms.test.ts has their results).
    name: 'CMPXCHG, XADD, BT*, XCHG, PUSHFD, PUSH Sreg and the flag instructions',
    pieces: loop(7, [
      ...[0x9c, 0x59, 0xf5, 0xf9, 0xf8, 0xfd, 0xfc, 0xfa], // pushfd; pop ecx; cmc; stc; clc; std; cld; cli
      ...[0x1e, 0x0f, 0xa8, 0x5a, 0x5a], // push ds; push gs; pop edx; pop edx
      ...[0x89, 0xe8, 0x3e, 0x0f, 0xb1, 0x4b, 0x04, 0x0f, 0xb0, 0xd1], // mov eax, ebp; ds cmpxchg [ebx+4], ecx; cmpxchg cl, dl
      ...[0x3e, 0x0f, 0xc1, 0x43, 0x08, 0x0f, 0xc0, 0xd1], // ds xadd [ebx+8], eax; xadd cl, dl
      ...[0x0f, 0xab, 0x6b, 0x10, 0x0f, 0xba, 0x73, 0x14, 0x05, 0x0f, 0xa3, 0xe9], // bts [ebx+16], ebp; btr dword [ebx+20], 5; bt ecx, ebp
      ...[0x87, 0x43, 0x18, 0x86, 0xd1, 0x64, 0xa1, ...le(0x30000)], // xchg [ebx+24], eax; xchg cl, dl; mov eax, fs:[30000h]
    ]),
  },
  {
    // Linux's strcmp loops on LODSB and SCASB (string-forms.test.ts has their results).
    name: 'MOVS CMPS STOS LODS SCAS without REP',
    pieces: loop(6, [
      ...[0x89, 0xde, 0x8d, 0x7b, 0x20], // mov esi, ebx; lea edi, [ebx+32]
      ...[0xac, 0x66, 0xad, 0xaa, 0xab, 0xa4, 0x66, 0xa5, 0xa5], // lodsb; lodsw; stosb; stosd; movsb; movsw; movsd
      ...[0xa6, 0x0f, 0x94, 0xc1, 0xae, 0xa7, 0xaf, 0x0f, 0x95, 0xc2], // cmpsb; sete cl; scasb; cmpsd; scasd; setne dl
      ...[0xfd, 0xad, 0xaa, 0xfc], // std; lodsd; stosb; cld
    ]),
  },
];

/** The templates named in the sources of the blocks a CPU compiled. */
function compiledTemplates(cpu: unknown): string[] {
  const fns = (cpu as { compiledBlocks: Map<string, { run: () => number }> }).compiledBlocks;
  const out: string[] = [];
  for (const fn of fns.values()) for (const [, t] of String(fn.run).matchAll(/\/\*t:([^*]+)\*\//g)) out.push(t);
  return out;
}

describe('every template of the block compiler', () => {
  it('compiled and run at least once, each agrees with the interpreter', () => {
    const expected = generatorTemplates();
    // The probe itself reached every kind of template.
    for (const kind of [
      'D_ALU_RR/inline',
      'D_ALU_RR/carry',
      'G_MOV_RM/16/mem',
      'cond/LZ_SUB/6',
      'cf/LZ_SHL',
      'loop',
      'flags/dead',
    ])
      expect([...expected]).toContain(kind);
    expect([...unlisted], 'members generated code reaches outside BlockHost/BlockMmu').toEqual([]);
    const covered = new Set<string>();
    const run = (name: string, code: number[], seed: number, slices: number[], opts = {}) => {
      const ref = runProgram(code, seed, -1, slices, opts);
      const got = runProgram(code, seed, 1, slices, {
        ...opts,
        after: (rig) => compiledTemplates(rig.cpu).forEach((t) => covered.add(t)),
      });
      expect(got, `${name}, slices ${slices.join()}`).toEqual(ref);
      expect(rigHalted(ref), `${name} ends in HLT`).toBe(true);
    };
    for (const d of DIRECTED)
      for (const slices of [[100_000], [3, 7]]) run(d.name, assemble(d.pieces, CODE), 1, slices, d.setup);
    for (let seed = 1; seed <= 60; seed++) run(`seed ${seed}`, randomProgram(fuzzRng(seed)), seed, [100_000]);
    const missing = [...expected].filter((t) => !covered.has(t)).sort();
    expect(missing, 'templates no program here compiled').toEqual([]);
  }, 240_000);
});
