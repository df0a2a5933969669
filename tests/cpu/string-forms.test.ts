/**
 * MOVS CMPS STOS LODS SCAS without REP from the decoded cache (D_STRING, decoded-cache.ts): Linux's
 * strcmp and strncmp loop on LODSB and SCASB, which each went through step() before. Each form's
 * result at both directions (DF) and the three element sizes, none of them reaching step(), and the
 * whole program's registers, flags and memory equal to step()'s alone. The forms with REP, a
 * segment override or 16-bit addresses stay step()'s.
 */
import { expect, it } from 'vitest';
import { describeCpu, le, loadForms, makeRig, runToHlt, type FormPart, type Rig } from './rig';

const CODE = 0x10000;
const SRC = 0x30000;
const DST = 0x31000;
const ECX = 1;

type Part = FormPart;

/** Runs the parts from CODE to their HLT; `stepOnly`: everything through step() (no window). */
function run(parts: Part[], stepOnly = false): { rig: Rig; slow: number[] } {
  const rig = makeRig(4);
  const tested = loadForms(rig, CODE, parts, stepOnly);
  rig.load(
    SRC,
    Array.from({ length: 64 }, (_, i) => (i * 7 + 1) & 0xff),
  );
  rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000, esi: SRC, edi: DST });
  const slow = runToHlt(rig, tested);
  return { rig, slow };
}

const PROGRAM: Part[] = [
  { t: [0xac] }, // lodsb: al = [SRC] = 01h, esi + 1
  { t: [0x66, 0xad] }, // lodsw: ax = [SRC+1], esi + 2
  { t: [0xaa] }, // stosb: [DST] = al, edi + 1
  { t: [0xab] }, // stosd: [DST+1] = eax, edi + 4
  { t: [0xa4] }, // movsb
  { t: [0x66, 0xa5] }, // movsw
  { t: [0xa5] }, // movsd
  [0x89, 0xc1], // mov ecx, eax
  [0xbe, ...le(SRC), 0xbf, ...le(DST + 0x20)], // mov esi, SRC; mov edi, DST+20h
  { t: [0xa6] }, // cmpsb: 01h vs 00h
  [0x9c, 0x58, 0x89, 0xc2], // pushfd; pop eax; mov edx, eax (CMPSB's flags)
  [0xb0, 0x00], // mov al, 0
  { t: [0xae] }, // scasb: 0 vs [DST+21h] = 0: ZF = 1
  { t: [0xa7] }, // cmpsd
  { t: [0xaf] }, // scasd
  [0xfd], // std
  { t: [0xad] }, // lodsd downward: esi - 4
  { t: [0x66, 0xab] }, // stosw downward: edi - 2
  { t: [0xa4] }, // movsb downward
  { t: [0xae] }, // scasb downward
  [0xfc], // cld
  [0xf3, 0xa4, 0x64, 0xac, 0x67, 0xac], // rep movsb (ecx); fs lodsb; lodsb with 16-bit addresses
];

describeCpu('string instructions without REP from the decoded cache', () => {
  it('LODS STOS MOVS CMPS SCAS of a byte, a word and a dword, upward and downward, never through step()', () => {
    const { rig, slow } = run(PROGRAM);
    expect(slow).toEqual([]);
    const want = run(PROGRAM, true).rig;
    expect(Array.from(rig.cpu.reg32)).toEqual(Array.from(want.cpu.reg32));
    expect(rig.cpu.getEflags()).toBe(want.cpu.getEflags());
    expect(Array.from(rig.memory.u8.subarray(DST - 0x40, DST + 0x40))).toEqual(
      Array.from(want.memory.u8.subarray(DST - 0x40, DST + 0x40)),
    );
    // Spot checks against the SDM: LODSW loaded [SRC + 1] (08h, 0Fh) after LODSB's ESI + 1, STOSB
    // stored its AL, STOSD then EAX at DST + 1.
    expect(rig.memory.u8[DST]).toBe(0x08);
    expect(rig.u32(DST + 1)).toBe(0x0f08);
    expect(rig.cpu.reg32[ECX]).toBe(0); // the REP MOVSB ran its count down
    expect(rig.cpu.instructions).toBe(want.cpu.instructions);
  });

  it('a strcmp loop (LODSB, SCASB, JNE, TEST AL, AL, JNZ) compiles into a block with both', () => {
    const rig = makeRig(4, undefined, { blockThreshold: 1 });
    // again: lodsb; scasb; jne done; test al, al; jnz again; done: hlt
    rig.load(CODE, [0xac, 0xae, 0x75, 0x04, 0x84, 0xc0, 0x75, 0xf8, 0xf4]);
    const text = Array.from({ length: 99 }, (_, i) => 0x41 + (i % 26));
    rig.load(SRC, [...text, 0]);
    rig.load(DST, [...text, 0]);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000, esi: SRC, edi: DST });
    rig.cpu.run(10_000);
    expect(rig.cpu.halted).toBe(true);
    expect(rig.cpu.instructions).toBe(100 * 5 + 1); // five a byte, the NUL too, and HLT
    expect(rig.cpu.reg32[6]).toBe(SRC + 100);
    const fns = (rig.cpu as unknown as { compiledBlocks: Map<string, { run: () => number }> }).compiledBlocks;
    const sources = [...fns.values()].map((f) => String(f.run));
    expect(sources.some((s) => (s.match(/\/\*t:D_STRING\*\//g) ?? []).length === 2)).toBe(true);
  });
});
