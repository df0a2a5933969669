/**
 * Conditions read straight after an ALU operation. The CPU keeps the arithmetic flags lazily and
 * answers Jcc/SETcc/CMOVcc from the operands when it can (cpu.ts, `cond`); this checks every
 * condition code after each lazily-flagged operation against the condition evaluated (SDM vol. 1,
 * table B-1) on the EFLAGS that PUSHF then stores — the exact flags, checked themselves by the
 * oracle vectors.
 */
import { expect, it } from 'vitest';
import { describeCpu, hex32, makeRig } from './rig';

const CF = 1,
  PF = 4,
  ZF = 0x40,
  SF = 0x80,
  OF = 0x800;

/** Condition code cc (the low nibble of Jcc) on EFLAGS f. */
function condition(cc: number, f: number): boolean {
  const of = (f & OF) !== 0;
  const sf = (f & SF) !== 0;
  const zf = (f & ZF) !== 0;
  const cf = (f & CF) !== 0;
  const base = [of, cf, zf, cf || zf, sf, (f & PF) !== 0, sf !== of, zf || sf !== of][cc >> 1];
  return cc & 1 ? !base : base;
}

/** The operations under test, on EAX and EBX (or AL/BL, AX/BX), as machine code. */
const OPS: [string, number[]][] = [
  ['add', [0x01, 0xd8]],
  ['sub', [0x29, 0xd8]],
  ['cmp', [0x39, 0xd8]],
  ['and', [0x21, 0xd8]],
  ['or', [0x09, 0xd8]],
  ['xor', [0x31, 0xd8]],
  ['test', [0x85, 0xd8]],
  ['inc', [0x40]],
  ['dec', [0x48]],
  ['neg', [0xf7, 0xd8]],
  ['cmp8', [0x38, 0xd8]],
  ['add8', [0x00, 0xd8]],
  ['sub16', [0x66, 0x29, 0xd8]],
  ['cmp imm', [0x83, 0xf8, 0x05]],
  ['adc', [0x11, 0xd8]],
  ['shl cl', [0x89, 0xd9, 0xd3, 0xe0]],
  ['shr cl', [0x89, 0xd9, 0xd3, 0xe8]],
  ['sar cl', [0x89, 0xd9, 0xd3, 0xf8]],
  ['shl 5', [0xc1, 0xe0, 0x05]],
  ['shr 1', [0xd1, 0xe8]],
  ['sar 31', [0xc1, 0xf8, 0x1f]],
  ['shl then inc', [0xc1, 0xe0, 0x03, 0x40]],
];
const VALUES = [0, 1, 5, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678];

describeCpu('conditions after ALU operations (lazy flags)', () => {
  it('every condition code agrees with the EFLAGS the operation leaves', () => {
    // One loop per operation and condition code over a table of operand pairs: the same code runs
    // for every pair, so compiled blocks are compiled once and tested with their loop passes too.
    const TABLE = 0x100000; // per CF-in parity p: (a, b, (a ^ b ^ p) & 1), 12 bytes a pair
    const CODE = 0x10000;
    const OUT = 0x200000;
    const imm32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const pairs = VALUES.flatMap((a) => VALUES.map((b) => [a, b] as const));
    const tables = [0, 1].map((p) => pairs.flatMap(([a, b]) => [...imm32(a), ...imm32(b), ...imm32((a ^ b ^ p) & 1)]));
    const code: number[] = [];
    const cases: { op: string; a: number; b: number; cc: number; carry: number }[] = [];
    for (const [op, bytes] of OPS)
      for (let cc = 0; cc < 16; cc++) {
        for (const [a, b] of pairs) cases.push({ op, a, b, cc, carry: (a ^ b ^ cc) & 1 });
        code.push(0xbe, ...imm32(TABLE + (cc & 1) * tables[0].length)); // mov esi, table
        code.push(0xbd, ...imm32(pairs.length)); // mov ebp, count
        const body = [
          ...[0x8b, 0x06, 0x8b, 0x5e, 0x04], // mov eax, [esi]; mov ebx, [esi+4]
          ...[0x8b, 0x56, 0x08, 0xd1, 0xea], // mov edx, [esi+8]; shr edx, 1: CF in (INC, DEC and ADC read it)
          ...bytes,
          ...[0x0f, 0x90 | cc, 0xc2], // setcc dl (the register form: compiled blocks answer it inline)
          ...[0x0f, 0x90 | cc, 0x07], // setcc [edi]
          ...[0x88, 0x57, 0x01], // mov [edi+1], dl
          ...[0x9c, 0x59, 0x89, 0x4f, 0x04], // pushfd; pop ecx; mov [edi+4], ecx
          ...[0x83, 0xc7, 0x08, 0x83, 0xc6, 0x0c, 0x4d], // add edi, 8; add esi, 12; dec ebp
        ];
        code.push(...body, 0x75, -(body.length + 2) & 0xff); // jnz back
      }
    code.push(0xf4);
    const rig = makeRig(4);
    rig.load(TABLE, [...tables[0], ...tables[1]]);
    rig.load(CODE, code);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000, edi: OUT });
    for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(1_000_000);
    expect(rig.cpu.halted).toBe(true);
    const wrong: string[] = [];
    cases.forEach((c, i) => {
      const got = rig.u32(OUT + 8 * i) & 0xffff; // setcc [edi], then setcc dl's byte
      const flags = rig.u32(OUT + 8 * i + 4);
      const want = condition(c.cc, flags) ? 0x0101 : 0;
      if (got !== want)
        wrong.push(
          `${c.op} ${hex32(c.a)}, ${hex32(c.b)} (CF in ${c.carry}) cc ${c.cc}: set ${hex32(got)}, EFLAGS ${hex32(flags)}`,
        );
    });
    expect(wrong.slice(0, 10)).toEqual([]);
  });
});
