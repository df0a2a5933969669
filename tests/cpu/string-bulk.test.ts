/**
 * REP MOVS / REP STOS run as block copies when they can (cpu.ts, `stringBulk`); these cases are
 * the ones where a block copy could differ from the element-by-element definition (SDM vol. 2,
 * MOVS/STOS): a forward overlap that propagates bytes, elements crossing a page end, unaligned
 * dwords, and a copy over code that runs next. REPE/REPNE CMPSB and SCASB run as byte scans
 * (`scanBulk`): they end where the element-by-element path ends, with its registers, flags and
 * instruction count.
 */
import { expect, it, vi } from 'vitest';
import { describeCpu, flatTables, hex32, hexBytes, le, loadFlatTables, makeRig, type Rig } from './rig';
import { P2M_R, S2Verdict } from '../../src/machine/hv/p2m';

const imm32 = le;
const mov = (opcode: number, v: number): number[] => [opcode, ...imm32(v)];
/** Stores the registers the ModR/M bytes name (mov [at + 4 i], reg) and EFLAGS (at + 12). */
const saveRegs = (at: number, modrms: number[]): number[] => [
  ...modrms.flatMap((modrm, i) => [0x89, modrm, ...imm32(at + 4 * i)]),
  0x9c, // pushf
  0x58, // pop eax
  0xa3,
  ...imm32(at + 12), // mov eax → at + 12
];
/** CR3 = pd, then CR0.PG on. */
const pagingOn = (pd: number): number[] => [
  0xb8,
  ...imm32(pd), // mov eax, pd
  ...[0x0f, 0x22, 0xd8], // mov cr3, eax
  ...[0x0f, 0x20, 0xc0], // mov eax, cr0
  ...[0x0d, ...imm32(0x80000000)], // or eax, CR0.PG
  ...[0x0f, 0x22, 0xc0], // mov cr0, eax
];
/** A page directory at pd whose first entry maps linear 0–4 MiB through the table at pt, identity. */
function identityPaging(rig: Rig, pd: number, pt: number): void {
  rig.setU32(pd, pt | 7);
  for (let i = 0; i < 1024; i++) rig.setU32(pt + 4 * i, (i << 12) | 7);
}
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

  it('a REP STOSB into a frame the hypervisor traps writes to faults to it once per store', () => {
    // Trap mode (S2Verdict.WRITE_ONCE): each write is let through once and recorded, so a block
    // fill may not use one such translation for more than one element.
    const faults: number[] = [];
    const rig = makeRig(4, undefined, {
      s2: { onWriteViolation: (gfn: number) => (faults.push(gfn), S2Verdict.WRITE_ONCE) },
    });
    rig.p2m.map(0x50, 0x50, 1, P2M_R);
    const code = [0xfc, ...mov(EDI, 0x4fff0), ...mov(ECX, 0x40), ...mov(EAX, 0xab), 0xf3, 0xaa, 0xf4];
    rig.load(0x1000, code);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(1000);
    expect(rig.cpu.halted).toBe(true);
    expect(faults).toEqual(Array.from({ length: 0x30 }, () => 0x50));
    expect([...rig.memory.u8.subarray(0x4fff0, 0x50030)]).toEqual(Array.from({ length: 0x40 }, () => 0xab));
  });

  it('REPE/REPNE CMPSB and SCASB as byte scans end where the element-by-element path ends', () => {
    const OUT = 0x30000;
    const save = (slot: number): number[] => saveRegs(OUT + 16 * slot, [0x35, 0x3d, 0x0d]); // esi, edi, ecx
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

/**
 * The bulk paths against the element-by-element path, on one program run both ways: through
 * pages mapped out of order (runs must not join frames that are not adjacent in machine memory),
 * misaligned and overlapping copies upward and downward (DF = 1), fills of every element size,
 * scans that stop on the last byte of a page, ECX = 0, and #PF on a page in the middle of a REP
 * (its handler logs ECX, ESI, EDI and CR2, maps the page and returns into the REP). run() is
 * called with budgets that end inside REPs, on and around the ends of 1,024-iteration slices:
 * after every call the instruction count, the registers and EFLAGS must be those of the
 * element-by-element path.
 */
describeCpu('REP string instructions in bulk, exactly as element by element', () => {
  const GDT = 0x2000;
  const IDT = 0x3000;
  const HANDLER = 0x4000;
  const FAULTS = 0x5000; // the #PF handler's log pointer, then its log
  const OUT = 0x6000; // each case's ECX, ESI, EDI and EFLAGS
  const CODE = 0x8000;
  const PD = 0x10000;
  const PT = 0x11000; // linear 0–4 MiB
  const SCRAMBLED = 0x200000; // 16 pages mapped to frames 0x300000… in reverse order
  const ABSENT = [0x214000, 0x21b000, 0x218000, 0x21d000]; // not present until the #PF handler maps them
  const save = (slot: number): number[] => saveRegs(OUT + 16 * slot, [0x0d, 0x35, 0x3d]); // ecx, esi, edi
  interface Case {
    op: number[]; // prefixes and opcode
    esi: number;
    edi: number;
    ecx: number;
    eax?: number;
    down?: boolean; // DF = 1
    name?: string;
  }
  const cases: Case[] = [
    { op: [0xf3, 0xa4], esi: 0x100001, edi: 0x140003, ecx: 20000 }, // misaligned MOVSB, TLB cold
    { op: [0xf3, 0xa4], esi: 0x100005, edi: 0x140002, ecx: 20000 }, // the same pages, TLB warm: runs of pages
    { op: [0xf3, 0xa5], esi: 0x100004, edi: 0x150000, ecx: 5000 }, // MOVSD, 4 apart modulo 8
    { op: [0xf3, 0xa4], esi: 0x100005, edi: SCRAMBLED + 7, ecx: 40000 }, // into pages out of order
    { op: [0xf3, 0xa4], esi: 0x100009, edi: SCRAMBLED + 1, ecx: 40000 }, // again, TLB warm
    { op: [0xf3, 0xa5], esi: SCRAMBLED + 3, edi: 0x160001, ecx: 12000 }, // out of them
    { op: [0xf3, 0xa4], esi: SCRAMBLED + 5, edi: 0x160003, ecx: 30000 }, // again, bytes, TLB warm
    { op: [0xf3, 0xa4], esi: 0x180000, edi: 0x180001, ecx: 5000 }, // forward overlap: propagates
    { op: [0xf3, 0xa5], esi: 0x182000, edi: 0x182002, ecx: 3000 }, // forward overlap inside an element
    { op: [0xf3, 0xa4], esi: 0x186003, edi: 0x186000, ecx: 9000 }, // backward overlap: a block copy
    { op: [0xf3, 0xa4], esi: 0x186003, edi: 0x186000, ecx: 9000, down: true }, // downward: propagates
    { op: [0xf3, 0xa4], esi: 0x104e21, edi: 0x144e23, ecx: 20000, down: true }, // downward, TLB cold
    { op: [0xf3, 0xa4], esi: 0x104e25, edi: 0x144e22, ecx: 20000, down: true }, // again, TLB warm
    { op: [0xf3, 0xa5], esi: 0x188000, edi: 0x188006, ecx: 3000, down: true }, // overlap above: a block copy
    { op: [0xf3, 0xa4], esi: 0x10a000, edi: SCRAMBLED + 0xf800, ecx: 30000, down: true }, // out of order
    { op: [0xf3, 0xa4], esi: 0x10a003, edi: SCRAMBLED + 0xf801, ecx: 30000, down: true }, // again, TLB warm
    { op: [0xf3, 0xa4], esi: SCRAMBLED + 0xf805, edi: 0x16f802, ecx: 30000, down: true }, // out of them
    { op: [0x66, 0xf3, 0xab], esi: 0, edi: 0x17e001, ecx: 3001, eax: 0x1234, down: true }, // STOSW down
    { op: [0xf3, 0xab], esi: 0, edi: SCRAMBLED + 0x9ffe, ecx: 4100, eax: 0x2468ace0, down: true },
    { op: [0xf3, 0xaa], esi: 0, edi: 0x21e100, ecx: 0x1000, eax: 0x5a, down: true }, // #PF on 0x21dfff
    { op: [0xf3, 0xaa], esi: 0, edi: 0x170001, ecx: 10000, eax: 0x11223344 }, // STOSB
    { op: [0x66, 0xf3, 0xab], esi: 0, edi: 0x174003, ecx: 3001, eax: 0x11223344 }, // STOSW, odd address
    { op: [0xf3, 0xab], esi: 0, edi: 0x178002, ecx: 2500, eax: 0x11223344 }, // STOSD, even address
    { op: [0xf3, 0xab], esi: 0, edi: SCRAMBLED + 0x6ffe, ecx: 4100, eax: 0x55667788 }, // out of order
    { op: [0xf3, 0xa4], esi: 0x100000, edi: 0x213800, ecx: 12000 }, // #PF on the destination's 2nd page
    { op: [0xf3, 0xab], esi: 0, edi: 0x21aff0, ecx: 3000, eax: 0x99aabbcc }, // #PF on STOSD's 2nd page
    { op: [0xf3, 0xae], esi: 0, edi: 0x217f00, ecx: 3000 }, // REPE SCASB: #PF on its 2nd page
    { op: [0xf3, 0xa6], esi: 0x190000, edi: 0x1a0000, ecx: 9000, name: 'repe cmpsb' },
    { op: [0xf3, 0xa6], esi: 0x190001, edi: 0x1a4003, ecx: 9000, name: 'repe cmpsb misaligned' },
    { op: [0xf2, 0xa6], esi: 0x190000, edi: 0x1b0000, ecx: 9000, name: 'repne cmpsb' },
    { op: [0xf2, 0xae], esi: 0, edi: 0x1c0000, ecx: 9000, eax: 0x77, name: 'repne scasb' },
    { op: [0xf3, 0xae], esi: 0, edi: 0x1c0000, ecx: 9000, eax: 0x55, name: 'repe scasb' },
    { op: [0xf3, 0xa6], esi: 0x190000, edi: 0x190000, ecx: 9000, name: 'repe cmpsb itself' },
    { op: [0xf3, 0xa6], esi: 0x190000, edi: 0x1a0000, ecx: 0, name: 'ecx 0' }, // nothing, flags kept
    { op: [0xf3, 0xa4], esi: 0x100000, edi: 0x140000, ecx: 0 },
  ];
  const code = [...loadFlatTables(GDT, IDT), ...pagingOn(PD)];
  cases.forEach((c, i) =>
    code.push(
      ...mov(ESI, c.esi),
      ...mov(EDI, c.edi),
      ...mov(ECX, c.ecx),
      ...mov(EAX, c.eax ?? 0),
      c.down ? 0xfd : 0xfc,
      ...c.op,
      ...save(i),
    ),
  );
  code.push(0xf4);
  // push eax; push edx; log ECX, ESI, EDI, CR2 at [FAULTS] and advance it; map CR2's page
  // (identity, P | RW | US) in PT; pop edx; pop eax; drop the error code; iretd
  const handler = hexBytes(
    '5052' +
      '8b1500500000' +
      '890a' +
      '897204' +
      '897a08' +
      '0f20d0' +
      '89420c' +
      '83c210' +
      '891500500000' +
      'c1e80c' +
      '89c2' +
      'c1e20c' +
      '83ca07' +
      '89148500100100' +
      '5a58' +
      '83c404' +
      'cf',
  );
  const budgets = [1, 5, 1000, 23, 1, 1024, 1023, 1025, 4096, 3, 4095, 7777, 2, 50_000, 333];

  function run(bulk: boolean) {
    const rig = makeRig(4);
    const gate = flatTables(rig, GDT, IDT);
    gate(14, HANDLER);
    rig.load(HANDLER, handler);
    rig.setU32(FAULTS, FAULTS + 16);
    identityPaging(rig, PD, PT);
    for (let i = 0; i < 16; i++) rig.setU32(PT + 4 * ((SCRAMBLED >>> 12) + i), (0x300000 + (15 - i) * 0x1000) | 7);
    for (const page of ABSENT) rig.setU32(PT + 4 * (page >>> 12), 0);
    const m = rig.memory.u8;
    for (let a = 0x100000; a < 0x1a0000; a++) m[a] = (a * 7 + (a >>> 9)) & 0xff;
    for (let a = 0x300000; a < 0x310000; a++) m[a] = (a * 5 + 3) & 0xff;
    m.copyWithin(0x1a0000, 0x190000, 0x192000);
    m[0x1a0fff] = 0xee; // REPE CMPSB's difference, on the last byte of a page
    m.copyWithin(0x1a4003, 0x190001, 0x191fff);
    m[0x1a4003 + 0x1ffe] = 0xee; // the misaligned one's: at ESI 0x191fff, its page's last byte
    for (let a = 0x1b0000; a < 0x1b2000; a++) m[a] = m[a - 0x1b0000 + 0x190000] ^ 0x80;
    m[0x1b1fff] = m[0x191fff]; // REPNE CMPSB: the same byte, on a page's last
    m.fill(0x55, 0x1c0000, 0x1c1fff);
    m[0x1c1fff] = 0x77; // REPNE SCASB finds it; REPE SCASB (AL = 0x55) stops there
    m.fill(0, 0x217f00, 0x219000);
    m.fill(9, 0x219000, 0x21a000);
    rig.load(CODE, code);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    const cpu = rig.cpu as unknown as { stringBulk(...a: number[]): number; scanBulk(...a: number[]): number };
    const copies = vi.spyOn(cpu, 'stringBulk');
    const scans = vi.spyOn(cpu, 'scanBulk');
    if (!bulk) {
      copies.mockReturnValue(0);
      scans.mockReturnValue(0);
    }
    const states: string[] = [];
    for (let i = 0; !rig.cpu.halted; i++) {
      expect(i, 'the program ends').toBeLessThan(1000);
      rig.cpu.run(budgets[i % budgets.length]);
      const regs = [...rig.cpu.reg32].map(hex32).join(' ');
      states.push(`${rig.cpu.instructions} eip ${hex32(rig.cpu.eip)} ${regs} fl ${hex32(rig.cpu.getEflags())}`);
    }
    const done = [...copies.mock.results, ...scans.mock.results].reduce(
      (n, r) => n + (r.type === 'return' ? (r.value as number) : 0),
      0,
    );
    const out = Array.from({ length: 4 * cases.length }, (_, i) => rig.u32(OUT + 4 * i));
    const faults = Array.from({ length: 4 * 4 }, (_, i) => rig.u32(FAULTS + 16 + 4 * i));
    return { rig, states, done, out, faults };
  }
  const bulk = run(true);
  const elements = run(false);

  it('leaves memory as the element-by-element path does', () => {
    const a = bulk.rig.memory.u8.subarray(0, 0x400000);
    const b = elements.rig.memory.u8.subarray(0, 0x400000);
    const diff = a.findIndex((v, i) => v !== b[i]);
    expect(diff < 0 ? 'same' : `first difference at ${hex32(diff)}`).toBe('same');
  });

  it('retires the same instructions with the same registers at the end of every run()', () => {
    expect(bulk.states.length).toBe(elements.states.length);
    const i = bulk.states.findIndex((s, j) => s !== elements.states[j]);
    expect(i < 0 ? 'same' : `run ${i}: ${bulk.states[i]} instead of ${elements.states[i]}`).toBe('same');
    expect(bulk.out).toEqual(elements.out);
    expect(bulk.done).toBeGreaterThan(200_000); // most iterations ran in bulk
  });

  it('faults on a page in the middle of a REP with the registers of the iterations before it', () => {
    expect(bulk.faults).toEqual(elements.faults);
    expect(bulk.faults.map(hex32)).toEqual(
      [
        [0x1000 - 0x101, 0, 0x21dfff, 0x21dfff], // STOSB downward: ECX, ESI, EDI, CR2
        [12000 - 0x800, 0x100800, 0x214000, 0x214000], // MOVSB
        [3000 - 4, 0, 0x21b000, 0x21b000], // STOSD
        [3000 - 0x100, 0, 0x218000, 0x218000], // REPE SCASB
      ]
        .flat()
        .map(hex32),
    );
  });

  it('stops REPE/REPNE on the last byte of a page, with that comparison’s flags', () => {
    const at = (name: string) => cases.findIndex((c) => c.name === name);
    const regs = (name: string) => bulk.out.slice(4 * at(name), 4 * at(name) + 3);
    const zf = (name: string) => bulk.out[4 * at(name) + 3] & 0x40;
    expect(regs('repe cmpsb')).toEqual([9000 - 0x1000, 0x191000, 0x1a1000]); // the 4,096th differs
    expect(regs('repe cmpsb misaligned')).toEqual([9000 - 0x1fff, 0x192000, 0x1a6002]);
    expect(regs('repne cmpsb')).toEqual([9000 - 0x2000, 0x192000, 0x1b2000]);
    expect(regs('repne scasb')).toEqual([9000 - 0x2000, 0, 0x1c2000]);
    expect(zf('repne scasb')).toBe(0x40); // found
    expect(regs('repe scasb')).toEqual([9000 - 0x2000, 0, 0x1c2000]);
    expect(zf('repe scasb')).toBe(0); // ended on a difference
    expect(regs('repe cmpsb itself')).toEqual([0, 0x190000 + 9000, 0x190000 + 9000]);
    expect(zf('repe cmpsb itself')).toBe(0x40);
    expect(regs('ecx 0')).toEqual([0, 0x190000, 0x1a0000]);
    expect(bulk.out[4 * at('ecx 0') + 3]).toBe(bulk.out[4 * at('repe cmpsb itself') + 3]); // flags kept
  });
});

describeCpu('a REP split by a page fault', () => {
  it('retires each iteration once: as many instructions as without the fault, plus its handler’s', () => {
    const GDT = 0x2000;
    const IDT = 0x3000;
    const HANDLER = 0x4000;
    const CODE = 0x8000;
    const PD = 0x10000;
    const PT = 0x11000; // linear 0–4 MiB, identity
    const ABSENT = 0x21000; // not present in the first run until the #PF handler maps it
    const code = [
      ...loadFlatTables(GDT, IDT),
      ...pagingOn(PD),
      ...mov(EDI, ABSENT - 0x100),
      ...mov(ECX, 0x300),
      ...mov(EAX, 0x5a),
      0xfc, // cld
      ...[0xf3, 0xaa], // rep stosb: 0x100 bytes, then the #PF on ABSENT, then the other 0x200
      0xf4,
    ];
    // mov dword [PT + 4 × page], ABSENT | P | RW | US; add esp, 4 (the error code); iretd
    const handler = [0xc7, 0x05, ...imm32(PT + 4 * (ABSENT >>> 12)), ...imm32(ABSENT | 7), 0x83, 0xc4, 0x04, 0xcf];
    const HANDLER_INSTRUCTIONS = 3;
    const retired = (absent: boolean) => {
      const rig = makeRig(4);
      flatTables(rig, GDT, IDT)(14, HANDLER);
      rig.load(HANDLER, handler);
      identityPaging(rig, PD, PT);
      if (absent) rig.setU32(PT + 4 * (ABSENT >>> 12), 0);
      rig.load(CODE, code);
      rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
      rig.cpu.run(100_000);
      expect(rig.cpu.halted).toBe(true);
      expect(rig.cpu.reg32[1]).toBe(0); // ECX: every iteration done
      expect(rig.memory.u8[ABSENT + 0x1ff]).toBe(0x5a);
      return rig.cpu.instructions;
    };
    expect(retired(true)).toBe(retired(false) + HANDLER_INSTRUCTIONS);
  });
});
