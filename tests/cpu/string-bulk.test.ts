/**
 * REP MOVS / REP STOS run as block copies when they can (cpu.ts, `stringBulk`); these cases are
 * the ones where a block copy could differ from the element-by-element definition (SDM vol. 2,
 * MOVS/STOS): a forward overlap that propagates bytes, elements crossing a page end, unaligned
 * dwords, and a copy over code that runs next. REPE/REPNE CMPSB and SCASB run as byte scans
 * (`scanBulk`): they end where the element-by-element path ends, with its registers, flags and
 * instruction count.
 */
import { expect, it, vi } from 'vitest';
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

  it('REPE/REPNE CMPSB and SCASB as byte scans end where the element-by-element path ends', () => {
    const OUT = 0x30000;
    const save = (slot: number): number[] => {
      const at = OUT + 16 * slot;
      return [
        ...[0x35, 0x3d, 0x0d].flatMap((modrm, i) => [0x89, modrm, ...imm32(at + 4 * i)]), // mov esi/edi/ecx → at
        0x9c, // pushf
        0x58, // pop eax
        0xa3,
        ...imm32(at + 12), // mov eax → at + 12
      ];
    };
    const cases: [number, number, number, number, number][] = [
      // [op (A6 CMPSB / AE SCASB), rep (F3 / F2), esi, edi, ecx] with AL = 0 for the scans
      [0xa6, 0xf3, 0x20f00, 0x22f80, 1000], // equal for 400 bytes across both page ends, then a difference
      [0xa6, 0xf3, 0x20f00, 0x22f80, 100], // equal all along: ECX runs out
      [0xa6, 0xf2, 0x21000, 0x24000, 3000], // REPNE: differ until byte 2500
      [0xae, 0xf2, 0, 0x25010, 6000], // REPNE SCASB: a zero at 5000, two page ends on
      [0xae, 0xf2, 0, 0x25010, 50], // not found in 50
      [0xae, 0xf3, 0, 0x27000, 9000], // REPE SCASB: zeros until 3000 on
    ];
    const code = [0xfc, ...mov(EAX, 0)];
    cases.forEach(([op, rep, esi, edi, ecx], i) =>
      code.push(...mov(ESI, esi), ...mov(EDI, edi), ...mov(ECX, ecx), 0x31, 0xc0, rep, op, ...save(i)),
    );
    code.push(0xf4);
    function run(bulk: boolean) {
      const rig = makeRig(4);
      for (let i = 0; i < 0x1000; i++) rig.load(0x20f00 + i, [(i * 13) & 0xff]);
      rig.load(
        0x22f80,
        Array.from({ length: 400 }, (_, i) => (i * 13) & 0xff),
      );
      rig.load(0x22f80 + 400, [0xee]);
      for (let i = 0; i < 3000; i++) rig.load(0x21000 + i, [i & 0xff]);
      for (let i = 0; i < 3000; i++) rig.load(0x24000 + i, [i === 2500 ? 2500 & 0xff : (i + 1) & 0xff]);
      for (let i = 0; i < 6000; i++) rig.load(0x25010 + i, [i === 5000 ? 0 : 1 + (i % 200)]);
      for (let i = 0; i < 9000; i++) rig.load(0x27000 + i, [i < 3000 ? 0 : 9]);
      rig.load(0x1000, code);
      rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
      const cpu = rig.cpu as unknown as { scanBulk(op: number, max: number): number };
      const scans = vi.spyOn(cpu, 'scanBulk');
      if (!bulk) scans.mockReturnValue(0);
      for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(777);
      expect(rig.cpu.halted).toBe(true);
      const out = Array.from({ length: 4 * cases.length }, (_, i) => rig.u32(OUT + 4 * i));
      const done = scans.mock.results.reduce((n, r) => n + (r.value as number), 0);
      return { out, instructions: rig.cpu.instructions, done };
    }
    const bulk = run(true);
    const elements = run(false);
    expect(bulk.out).toEqual(elements.out);
    expect(bulk.instructions).toBe(elements.instructions);
    expect(elements.out.slice(8, 12)).toEqual([0x21000 + 2501, 0x24000 + 2501, 3000 - 2501, expect.any(Number)]);
    expect(elements.out.slice(12, 15)).toEqual([0, 0x25010 + 5001, 6000 - 5001]);
    expect(bulk.done).toBeGreaterThan(10_000); // of 11,053 iterations: the scans ran as scans
  });
});
