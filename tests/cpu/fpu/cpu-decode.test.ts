/**
 * The x87 through the CPU's decoder: every oracle vector of tests/cpu/vectors/x87/ run as machine
 * code (FNINIT, FLDCW, FLD m80 B, FLD m80 A, the instruction's own encoding, FNSAVE) on the
 * emulated CPU gives the host's results, status word, tag word, stored memory and FCOMI's EFLAGS
 * bit for bit; the transcendentals give what the FPU gives when called directly (which
 * transcendental.test.ts holds within 1 ulp of the host). A wrong row of the escape decoding (a
 * reversed FSUBR, a FISTP that does not pop, a 16-bit integer read as 32) fails here.
 */
import { expect, it } from 'vitest';
import { loadGroup, runCase } from './vectors';
import { describeCpu, le, makeRig } from '../rig';

const CODE = 0x10000;
const CW = 0x20000;
const A = 0x20010;
const B = 0x20020;
const M = 0x20030;
const EFL = 0x20080;
const SAVE = 0x20100;

/** A memory form: escape byte, reg field, operand at M (disp32, mod 00 r/m 101). */
const m = (esc: number, reg: number): number[] => [esc, (reg << 3) | 5, ...le(M)];
const fld1x6 = Array.from({ length: 6 }, () => [0xd9, 0xe8]).flat();
const fstpSt0x2 = [0xdd, 0xd8, 0xdd, 0xd8];

/** Each oracle operation's encoding (SDM vol. 2, A.5), as the host ran it. */
const ENCODING: Record<string, number[]> = {
  fadd: [0xd8, 0xc1],
  fsub: [0xd8, 0xe1],
  fsubr: [0xd8, 0xe9],
  fmul: [0xd8, 0xc9],
  fdiv: [0xd8, 0xf1],
  fdivr: [0xd8, 0xf9],
  fadd32: m(0xd8, 0),
  fadd64: m(0xdc, 0),
  fiadd32: m(0xda, 0),
  fimul16: m(0xde, 1),
  fdiv32: m(0xd8, 6),
  fsubr64: m(0xdc, 5),
  fcom32: m(0xd8, 2),
  fcomp64: m(0xdc, 3),
  ficom32: m(0xda, 2),
  fucompp: [0xda, 0xe9],
  fadd_st2: [0xd8, 0xc2],
  faddp_st2: [0xde, 0xc2],
  fld_full: [...fld1x6, 0xd9, 0xeb],
  fptan_full: [...fld1x6, 0xd9, 0xf2],
  fsincos_full: [...fld1x6, 0xd9, 0xfb],
  fxtract_full: [...fld1x6, 0xd9, 0xf4],
  fst32_empty: [...fstpSt0x2, ...m(0xd9, 2)],
  fxch_st3: [0xd9, 0xcb],
  fcom_st3: [0xd8, 0xd3],
  fcomi_st3: [0xdb, 0xf3],
  fist32_empty: [...fstpSt0x2, ...m(0xdb, 3)],
  fsqrt: [0xd9, 0xfa],
  fprem: [0xd9, 0xf8],
  fprem1: [0xd9, 0xf5],
  fscale: [0xd9, 0xfd],
  fxtract: [0xd9, 0xf4],
  frndint: [0xd9, 0xfc],
  fchs: [0xd9, 0xe0],
  fabs: [0xd9, 0xe1],
  fcom: [0xd8, 0xd1],
  fucom: [0xdd, 0xe1],
  fcomi: [0xdb, 0xf1],
  fucomi: [0xdb, 0xe9],
  ftst: [0xd9, 0xe4],
  fxam: [0xd9, 0xe5],
  fld32: m(0xd9, 0),
  fld64: m(0xdd, 0),
  fst32: m(0xd9, 3),
  fst64: m(0xdd, 3),
  fst80: m(0xdb, 7),
  fild16: m(0xdf, 0),
  fild32: m(0xdb, 0),
  fild64: m(0xdf, 5),
  fist16: m(0xdf, 3),
  fist32: m(0xdb, 3),
  fist64: m(0xdf, 7),
  fbld: m(0xdf, 4),
  fbstp: m(0xdf, 6),
  fsin: [0xd9, 0xfe],
  fcos: [0xd9, 0xff],
  fsincos: [0xd9, 0xfb],
  fptan: [0xd9, 0xf2],
  fpatan: [0xd9, 0xf3],
  f2xm1: [0xd9, 0xf0],
  fyl2x: [0xd9, 0xf1],
  fyl2xp1: [0xd9, 0xf9],
  fld1: [0xd9, 0xe8],
  fldz: [0xd9, 0xee],
  fldl2t: [0xd9, 0xe9],
  fldl2e: [0xd9, 0xea],
  fldpi: [0xd9, 0xeb],
  fldlg2: [0xd9, 0xec],
  fldln2: [0xd9, 0xed],
};
/** The operations whose result is a store to M (compared as the ten bytes there). */
const STORES = new Set([
  'fst32_empty',
  'fist32_empty',
  'fst32',
  'fst64',
  'fst80',
  'fist16',
  'fist32',
  'fist64',
  'fbstp',
]);
const FCOMI = new Set(['fcomi', 'fucomi', 'fcomi_st3']);
/** OF, SF, ZF, AF, PF, CF all set before the compare: FCOMI must clear OF/SF/AF and write ZF/PF/CF. */
const FLAGS_BEFORE = 0x8d5 | 2;

const bytes = (hex: string): number[] => (hex.match(/../g) ?? []).map((h) => parseInt(h, 16));
const hex = (u: ArrayLike<number>): string => Array.from(u, (v) => v.toString(16).padStart(2, '0')).join('');
/** An 80-bit value from its hex (sign/exponent first, as the vectors write it) to memory order. */
const f80Bytes = (h: string): number[] => bytes(h).reverse();

function program(name: string): number[] {
  return [
    ...[0xdb, 0xe3], // fninit
    ...[0xd9, 0x2d, ...le(CW)], // fldcw [CW]
    ...[0xdb, 0x2d, ...le(B)], // fld tbyte [B]
    ...[0xdb, 0x2d, ...le(A)], // fld tbyte [A]
    ...[0x68, ...le(FLAGS_BEFORE), 0x9d], // push imm32; popfd
    ...ENCODING[name],
    ...[0x9c, 0x8f, 0x05, ...le(EFL)], // pushfd; pop dword [EFL]
    ...[0xdd, 0x35, ...le(SAVE)], // fnsave [SAVE]
    0xf4,
  ];
}

describeCpu('the x87 instructions decoded by the CPU agree with the host', () => {
  const rig = makeRig(4);
  const u8 = rig.memory.u8;
  /** One vector through the CPU, in the fields of the vector files. */
  function runOnCpu(row: string[]) {
    const [name, cw, a, b, mem] = row;
    rig.load(CW, [parseInt(cw.slice(2), 16), parseInt(cw.slice(0, 2), 16)]);
    rig.load(A, f80Bytes(a));
    rig.load(B, f80Bytes(b));
    u8.fill(0xcc, M, M + 10);
    if (mem) rig.load(M, bytes(mem));
    rig.load(CODE, program(name));
    rig.cpu.codeChanged();
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.halted, `${name} ran to its HLT`).toBe(true);
    // FNSAVE's 32-bit protected-mode image: CW, SW, TW in the low words of the first three
    // dwords, the registers ST0.. from byte 28.
    const sw = rig.dv.getUint16(SAVE + 4, true);
    const tw = rig.dv.getUint16(SAVE + 8, true);
    const top = (sw >> 11) & 7;
    const st = [0, 1, 2].map((i) =>
      ((tw >> (2 * ((top + i) & 7))) & 3) === 3 ? '' : hex(u8.slice(SAVE + 28 + 10 * i, SAVE + 38 + 10 * i).reverse()),
    );
    const eflags = rig.u32(EFL);
    return {
      sw: sw.toString(16).padStart(4, '0'),
      tw: tw.toString(16).padStart(4, '0'),
      st,
      mOut: STORES.has(name) ? hex(u8.slice(M, M + 10)) : '',
      eflags: FCOMI.has(name) ? (eflags & 0x45).toString(16) : '0',
      cleared: FCOMI.has(name) ? eflags & 0x890 : 0,
    };
  }

  for (const group of ['arith', 'misc', 'compare', 'convert', 'const', 'stack', 'trans']) {
    const file = loadGroup(group);
    it(`${group}: ${file.cases.length} vectors`, () => {
      const failures: string[] = [];
      for (const row of file.cases) {
        const got = runOnCpu(row);
        const want =
          group === 'trans'
            ? { ...runCase(row), cleared: 0 }
            : { sw: row[5], tw: row[6], st: [row[7], row[8], row[9]], mOut: row[10], eflags: row[11], cleared: 0 };
        if (JSON.stringify(got) !== JSON.stringify(want) && failures.length < 20)
          failures.push(
            `${row.slice(0, 5).join(' ')}\n   want ${JSON.stringify(want)}\n   got  ${JSON.stringify(got)}`,
          );
      }
      expect(failures.join('\n')).toBe('');
    });
  }
});
