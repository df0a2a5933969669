/**
 * REP MOVS / REP STOS run as block copies when they can (cpu.ts, `stringBulk`); these cases are
 * the ones where a block copy could differ from the element-by-element definition (SDM vol. 2,
 * MOVS/STOS): a forward overlap that propagates bytes, elements crossing a page end, unaligned
 * dwords, and a copy over code that runs next.
 */
import { expect, it } from 'vitest';
import { describeCpu, makeRig } from './rig';

const imm32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const mov = (opcode: number, v: number): number[] => [opcode, ...imm32(v)];
const ESI = 0xbe,
  EDI = 0xbf,
  ECX = 0xb9,
  EAX = 0xb8;

/** The element-by-element reference on a byte array (DF = 0). */
function movs(m: Uint8Array, src: number, dst: number, count: number, size: number): void {
  for (let i = 0; i < count; i++) for (let b = 0; b < size; b++) m[dst + i * size + b] = m[src + i * size + b];
}

describeCpu('REP MOVS / STOS as block copies', () => {
  it('agree with the element-by-element definition', () => {
    const rig = makeRig(4);
    const ref = new Uint8Array(0x30000);
    for (let i = 0x20000; i < 0x30000; i++) ref[i] = (i * 7 + (i >> 8)) & 0xff;
    rig.load(0x20000, ref.subarray(0x20000));
    const code = [
      0xfc, // cld
      ...mov(ESI, 0x20010),
      ...mov(EDI, 0x20011),
      ...mov(ECX, 300),
      0xf3,
      0xa4, // overlap: propagates
      ...mov(ESI, 0x21004),
      ...mov(EDI, 0x20ffd),
      ...mov(ECX, 700),
      0xf3,
      0xa5, // dwords, both cross pages
      ...mov(ESI, 0x22ff9),
      ...mov(EDI, 0x24ff3),
      ...mov(ECX, 20),
      0xf3,
      0xa5, // unaligned dwords
      ...mov(ESI, 0x25100),
      ...mov(EDI, 0x25000),
      ...mov(ECX, 1000),
      0xf3,
      0xa4, // backward overlap
      ...mov(EAX, 0x11223344),
      ...mov(EDI, 0x26ff0),
      ...mov(ECX, 40),
      0xf3,
      0xaa, // stosb across a page
      ...mov(EDI, 0x27001),
      ...mov(ECX, 1100),
      0xf3,
      0xab, // unaligned stosd across a page
      ...mov(EDI, 0x28ffc),
      ...mov(ECX, 3000),
      0xf3,
      0xab, // aligned stosd, many pages
      0xf4,
    ];
    rig.load(0x1000, code);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(100_000);
    expect(rig.cpu.halted).toBe(true);
    movs(ref, 0x20010, 0x20011, 300, 1);
    movs(ref, 0x21004, 0x20ffd, 700, 4);
    movs(ref, 0x22ff9, 0x24ff3, 20, 4);
    movs(ref, 0x25100, 0x25000, 1000, 1);
    ref.fill(0x44, 0x26ff0, 0x26ff0 + 40);
    for (let i = 0; i < 1100; i++) ref.set([0x44, 0x33, 0x22, 0x11], 0x27001 + 4 * i);
    for (let i = 0; i < 3000; i++) ref.set([0x44, 0x33, 0x22, 0x11], 0x28ffc + 4 * i);
    const got = Array.from({ length: 0x10000 }, (_, i) => rig.u32(0x20000 + i) & 0xff);
    const diff = got.findIndex((v, i) => v !== ref[0x20000 + i]);
    expect(diff < 0 ? 'same' : `first difference at 0x${(0x20000 + diff).toString(16)}`).toBe('same');
    expect(rig.cpu.reg32[1]).toBe(0); // ECX
    expect(rig.cpu.reg32[7] >>> 0).toBe(0x28ffc + 4 * 3000); // EDI
  });

  it('a REP MOVS over code already run (and cached) is seen by the next fetch', () => {
    const rig = makeRig(4);
    const target = 0x1006;
    const code = [
      0xfc, // cld
      ...mov(0xbb, 2), // mov ebx, 2
      ...mov(EAX, 1), // target: mov eax, 1
      0x4b, // dec ebx
      0x74,
      0x13, // jz done
      ...mov(ESI, 0x3000),
      ...mov(EDI, target),
      ...mov(ECX, 5),
      0xf3,
      0xa4, // rep movsb over target
      0xeb,
      0xe5, // jmp target
      0xf4, // done: hlt
    ];
    expect(code.length).toBe(0x22);
    rig.load(0x1000, code);
    rig.load(0x3000, mov(EAX, 0x77));
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(100); // one run(): the copy and both passes over the target
    expect(rig.cpu.halted).toBe(true);
    expect(rig.cpu.reg32[0]).toBe(0x77);
  });
});
