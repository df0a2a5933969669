/**
 * The forms Linux's idle tick ran through step() (src/machine/cpu/README.md, "Linux's idle tick"),
 * now decoded-cache forms and compiled in blocks: CMPXCHG and XADD (with the DS prefix Linux's UP
 * alternatives put where LOCK was, and with LOCK), BT/BTS/BTR/BTC with a register or an immediate
 * bit offset, XCHG, PUSHFD, CLC/STC/CMC/CLI/CLD/STD, MOV between the accumulator and a moffs with
 * a segment override. Each program's results are the SDM's, written out here, and none of the
 * instructions under test reaches step() (a spy records the EIPs step() runs). In both CPU modes:
 * interpreted from the cache, and compiled into blocks at first execution. The host's results for
 * the 0F forms are in the oracle's atomic, bit and lock vectors, which run here through the cache
 * with the forms seen in execGeneric. CLI's #GP(0) at CPL 3 > IOPL: protected.test.ts (rings).
 * Beside them, MOV m16, Sreg (8C, which step() runs): its write checked against the segment. The
 * segment-register and moffs programs run through step() alone as well (its cases generated from
 * MOVE_SEMANTICS: tools/gen-moves.ts).
 */
import { expect, it, vi } from 'vitest';
import { G_BT, G_BTI, G_CMPXCHG, G_XADD, G_XCHG, G_XCHG8 } from '../../src/machine/cpu/decoded';
import { readVectors, runVectors } from './oracle-run';
import {
  describeCpu,
  flatTables,
  le,
  loadFlatTables,
  loadForms,
  makeRig,
  putDescriptor,
  runToHlt,
  type FormPart,
  type Rig,
} from './rig';
import { segment } from './pm-machine';
import type { InterruptController } from '../../src/machine/bus';

const CODE = 0x10000;
const DATA = 0x30000;
const GDT = 0x1000;
const IDT = 0x2000;
const GP_HANDLER = 0x18000;
/** The base of the FS segment the segment-register and moffs tests load. */
const FS_BASE = 0x40000;
const CF = 1;
const DF = 1 << 10;
const IF = 1 << 9;

type Part = FormPart;

interface Ran {
  rig: Rig;
  /** The EIPs of the instructions under test that step() ran. */
  slow: number[];
}

/**
 * Runs the parts from CODE (flat ring 0, ESP 0x9000, EFLAGS `eflags`) to their HLT; with
 * `stepOnly`, every instruction through step() (the decoded cache opens no window).
 */
function run(parts: Part[], eflags = 2, setup?: (rig: Rig) => void, pic?: InterruptController, stepOnly = false): Ran {
  const rig = makeRig(4, pic);
  const tested = loadForms(rig, CODE, parts, stepOnly);
  setup?.(rig);
  rig.cpu.enterProtectedModeFlat(CODE, { ebx: DATA, esp: 0x9000 });
  rig.cpu.setEflags(eflags);
  const slow = runToHlt(rig, tested);
  return { rig, slow };
}

/**
 * Flat tables, GDT entry 18h a data segment at FS_BASE with limit FFFh, and #GP to a HLT at
 * GP_HANDLER (the segment-register and moffs tests' common set-up).
 */
function fsSegmentAndGpHalt(rig: Rig): void {
  const gp = flatTables(rig, GDT, IDT);
  putDescriptor(rig, GDT + 0x18, segment(FS_BASE, 0xfff, 0x92));
  rig.load(GDT + 0x100, [31, 0]);
  gp(13, GP_HANDLER);
  rig.load(GP_HANDLER, [0xf4]);
}
const r32 = (rig: Rig, r: number) => rig.cpu.reg32[r] >>> 0;
const [EAX, ECX, EDX, , ESP, , ESI, EDI] = [0, 1, 2, 3, 4, 5, 6, 7];

describeCpu('the idle tick’s forms, from the decoded cache and blocks', () => {
  it('CMPXCHG: equal, the source stored and ZF = 1; not, the destination into the accumulator and ZF = 0', () => {
    const { rig, slow } = run([
      [0xc7, 0x03, ...le(5)], // mov dword [ebx], 5
      [0xb8, ...le(5), 0xb9, ...le(9)], // mov eax, 5; mov ecx, 9
      { t: [0x3e, 0x0f, 0xb1, 0x0b] }, // ds cmpxchg [ebx], ecx: equal
      { t: [0x0f, 0x94, 0xc2] }, // setz dl (1)
      [0xb8, ...le(7)], // mov eax, 7
      { t: [0x3e, 0x0f, 0xb1, 0x0b] }, // ds cmpxchg [ebx], ecx: 9 ≠ 7, eax ← 9
      { t: [0x0f, 0x94, 0xc6] }, // setz dh (0)
      [0x89, 0xc6], // mov esi, eax (9)
      [0xc6, 0x43, 0x04, 0x33, 0xb0, 0x33, 0xb1, 0x44], // mov byte [ebx+4], 33h; mov al, 33h; mov cl, 44h
      { t: [0xf0, 0x0f, 0xb0, 0x4b, 0x04] }, // lock cmpxchg [ebx+4], cl: equal, 44h stored
      [0xbf, ...le(0x1234abcd), 0xb8, ...le(0xffff0001)], // mov edi, 1234abcdh; mov eax, ffff0001h
      { t: [0x66, 0x0f, 0xb1, 0xcf] }, // cmpxchg di, cx: abcd ≠ 0001, ax ← abcd, di kept
    ]);
    expect(slow).toEqual([]);
    expect(rig.u32(DATA)).toBe(9);
    expect(r32(rig, EDX) & 0xffff).toBe(0x0001);
    expect(r32(rig, ESI)).toBe(9);
    expect(rig.memory.u8[DATA + 4]).toBe(0x44);
    expect(r32(rig, EAX)).toBe(0xffffabcd);
    expect(r32(rig, EDI)).toBe(0x1234abcd);
    expect(rig.cpu.getEflags() & 0x40).toBe(0); // ZF = 0 after the last
  });

  it('XADD: the sum into the destination, the old destination into the source register; XADD r, r leaves the sum', () => {
    const { rig, slow } = run([
      [0xc7, 0x43, 0x08, ...le(10), 0xb8, ...le(3)], // mov dword [ebx+8], 10; mov eax, 3
      { t: [0x3e, 0x0f, 0xc1, 0x43, 0x08] }, // ds xadd [ebx+8], eax: [ebx+8] = 13, eax = 10
      [0xb9, ...le(6)], // mov ecx, 6
      { t: [0x0f, 0xc1, 0xc9] }, // xadd ecx, ecx: 12
      [0xba, ...le(1), 0xbe, ...le(2)], // mov edx, 1; mov esi, 2
      { t: [0x0f, 0xc1, 0xd6] }, // xadd esi, edx: esi = 3, edx = 2
      [0xc6, 0x43, 0x0c, 0xff, 0xb4, 0x02], // mov byte [ebx+12], ffh; mov ah, 2
      { t: [0xf0, 0x0f, 0xc0, 0x63, 0x0c] }, // lock xadd [ebx+12], ah: 01h, CF = 1; ah = ffh
    ]);
    expect(slow).toEqual([]);
    expect(rig.u32(DATA + 8)).toBe(13);
    expect(r32(rig, EAX)).toBe(0xff0a);
    expect(r32(rig, ECX)).toBe(12);
    expect([r32(rig, ESI), r32(rig, EDX)]).toEqual([3, 2]);
    expect(rig.memory.u8[DATA + 12]).toBe(1);
    expect(rig.cpu.getEflags() & CF).toBe(CF);
  });

  it('BT/BTS/BTR/BTC: a register bit offset on memory is signed and addresses beyond the operand; an immediate one does not', () => {
    const BITS = DATA + 0x100;
    // Each CF is rotated into EDI (rcl edi, 1), the first one highest.
    const cfOut = [0xd1, 0xd7];
    const { rig, slow } = run(
      [
        [0x8d, 0x9b, ...le(0x100), 0x31, 0xff], // lea ebx, [ebx+100h]; xor edi, edi
        [0xb9, ...le(-1)], // mov ecx, -1
        { t: [0x0f, 0xa3, 0x0b] }, // bt [ebx], ecx: bit 31 of [ebx-4] = 1
        cfOut,
        [0xb9, ...le(33)], // mov ecx, 33
        { t: [0x3e, 0x0f, 0xa3, 0x0b] }, // ds bt [ebx], ecx: bit 1 of [ebx+4] = 1
        cfOut,
        [0xb9, ...le(100)], // mov ecx, 100: bit 4 of [ebx+12]
        { t: [0x0f, 0xab, 0x0b] }, // bts [ebx], ecx: was 0, now 1
        cfOut,
        { t: [0x0f, 0xb3, 0x0b] }, // btr [ebx], ecx: was 1, now 0
        cfOut,
        { t: [0xf0, 0x0f, 0xbb, 0x0b] }, // lock btc [ebx], ecx: was 0, now 1
        cfOut,
        [0xb9, ...le(-33)], // mov ecx, -33: bit 31 of [ebx-8]
        { t: [0x0f, 0xab, 0x0b] }, // bts [ebx], ecx: was 0
        cfOut,
        [0x66, 0xb9, 0xff, 0xff], // mov cx, ffffh: the word at [ebx-2], its bit 15 = bit 31 of [ebx-4]
        { t: [0x66, 0x0f, 0xa3, 0x0b] }, // bt [ebx], cx: 1
        cfOut,
        { t: [0x0f, 0xba, 0x23, 0x21] }, // bt dword [ebx], 33: bit 1 of [ebx] = 0 (33 mod 32)
        cfOut,
        { t: [0x3e, 0x0f, 0xba, 0x2b, 0x03] }, // ds bts dword [ebx], 3: was 0
        cfOut,
        { t: [0x3e, 0x0f, 0xba, 0x33, 0x00] }, // ds btr dword [ebx], 0: was 1
        cfOut,
        [0xba, ...le(37), 0xb8, ...le(0x20)], // mov edx, 37; mov eax, 20h
        { t: [0x0f, 0xa3, 0xd0] }, // bt eax, edx: bit 37 mod 32 = 5 of eax = 1
        cfOut,
        { t: [0x0f, 0xba, 0xf8, 0x05] }, // btc eax, 5: was 1, eax = 0
        cfOut,
      ],
      2,
      (rig) => {
        rig.setU32(BITS - 4, 0x80000000);
        rig.setU32(BITS, 1);
        rig.setU32(BITS + 4, 2);
      },
    );
    expect(slow).toEqual([]);
    expect(r32(rig, EDI).toString(2)).toBe('110100100111');
    expect(rig.u32(BITS + 12)).toBe(0x10);
    expect(rig.u32(BITS - 8)).toBe(0x80000000);
    expect(rig.u32(BITS)).toBe(8);
    expect(r32(rig, EAX)).toBe(0);
  });

  it('XCHG r/m32, r32 and r/m8, r8, with memory and registers', () => {
    const { rig, slow } = run([
      [0xc7, 0x03, ...le(0x11111111), 0xb9, ...le(0x22222222)], // mov dword [ebx], 11111111h; mov ecx, 22222222h
      { t: [0x87, 0x0b] }, // xchg [ebx], ecx
      [0xbc, ...le(0x8000), 0xba, ...le(0x9000)], // mov esp, 8000h; mov edx, 9000h
      { t: [0x87, 0xd4] }, // xchg esp, edx (Linux's 87 dc: a stack switch)
      [0xb0, 0xaa, 0xb4, 0xbb], // mov al, aah; mov ah, bbh
      { t: [0x86, 0xc4] }, // xchg ah, al
      [0xc6, 0x43, 0x04, 0x5a], // mov byte [ebx+4], 5ah
      { t: [0x86, 0x63, 0x04] }, // xchg [ebx+4], ah
    ]);
    expect(slow).toEqual([]);
    expect([rig.u32(DATA), r32(rig, ECX)]).toEqual([0x22222222, 0x11111111]);
    expect([r32(rig, ESP), r32(rig, EDX)]).toEqual([0x9000, 0x8000]);
    expect(r32(rig, EAX) & 0xffff).toBe(0x5abb);
    expect(rig.memory.u8[DATA + 4]).toBe(0xaa);
  });

  it('PUSHFD pushes EFLAGS with the pending arithmetic flags built; CLC STC CMC CLI CLD STD set their flag', () => {
    const AC = 1 << 18;
    const ID = 1 << 21;
    const NT = 1 << 14;
    const IOPL3 = 3 << 12;
    const { rig, slow } = run(
      [
        [0xb8, ...le(0x7fffffff), 0x83, 0xc0, 0x01], // mov eax, 7fffffffh; add eax, 1: OF SF AF PF, CF = 0
        { t: [0x9c] }, // pushfd
        [0x5e], // pop esi
        [0xb8, ...le(-1), 0x83, 0xc0, 0x01], // mov eax, -1; add eax, 1: CF = 1 (pending)
        { t: [0xf5] }, // cmc: CF = 0
        [0x0f, 0x92, 0xc1], // setc cl (0)
        { t: [0xf9] }, // stc
        [0x0f, 0x92, 0xc5], // setc ch (1)
        { t: [0xf8] }, // clc
        [0x0f, 0x92, 0xc2], // setc dl (0)
        { t: [0xfd] }, // std
        { t: [0xfa] }, // cli
        { t: [0x9c] }, // pushfd
        [0x5f], // pop edi: DF = 1, IF = 0
        { t: [0xfc] }, // cld
      ],
      IF | AC | ID | NT | IOPL3 | 2,
    );
    expect(slow).toEqual([]);
    const base = AC | ID | NT | IOPL3 | 2;
    expect(r32(rig, ESI)).toBe(base | IF | 0x800 | 0x80 | 0x10 | 0x04); // OF SF AF PF
    expect(r32(rig, ECX) & 0xffff).toBe(0x0100);
    expect(r32(rig, EDX) & 0xff).toBe(0);
    expect(r32(rig, EDI) & (DF | IF | CF | base)).toBe(DF | base);
    expect(r32(rig, ESP)).toBe(0x9000);
    expect(rig.cpu.getEflags() & (DF | IF)).toBe(0);
  });

  for (const stepOnly of [false, true])
    it(`PUSH ES CS SS DS FS GS push the selector zero-extended to a dword${stepOnly ? ' (step() alone)' : ''}`, () => {
      const { rig, slow } = run(
        [
          { t: [0x06] }, // push es
          { t: [0x0e] }, // push cs
          { t: [0x16] }, // push ss
          { t: [0x1e] }, // push ds
          { t: [0x0f, 0xa0] }, // push fs
          { t: [0x0f, 0xa8] }, // push gs
        ],
        2,
        (rig) => rig.memory.u8.fill(0xff, 0x9000 - 24, 0x9000),
        undefined,
        stepOnly,
      );
      expect(slow.length > 0).toBe(stepOnly);
      expect(r32(rig, ESP)).toBe(0x9000 - 24);
      expect([5, 4, 3, 2, 1, 0].map((i) => rig.u32(0x9000 - 24 + 4 * i))).toEqual([0x10, 0x08, 0x10, 0x10, 0x10, 0x10]);
    });

  for (const stepOnly of [false, true])
    it(`MOV DS/ES/FS/GS, r/m16 and POP DS/ES/FS/GS load the segment; a bad selector is #GP(selector) with ESP as before the POP${stepOnly ? ' (step() alone)' : ''}`, () => {
      const { rig, slow } = run(
        [
          loadFlatTables(GDT, IDT),
          [0x6a, 0x18], // push 18h
          { t: [0x07] }, // pop es
          [0xc7, 0x03, ...le(0x18)], // mov dword [ebx], 18h
          { t: [0x8e, 0x23] }, // mov fs, [ebx]
          [0xb8, ...le(0xffff0018)], // mov eax, ffff0018h
          { t: [0x8e, 0xe8] }, // mov gs, eax (its low word)
          { t: [0x66, 0x8e, 0xd8] }, // mov ds, ax (0x66 changes nothing)
          [0x26, 0x8b, 0x35, ...le(0x10)], // mov esi, es:[10h]
          [0x6a, 0x10], // push 10h
          { t: [0x1f] }, // pop ds
          [0x6a, 0x10], // push 10h
          { t: [0x0f, 0xa9] }, // pop gs
          [0x6a, 0x40], // push 40h: past the GDT's limit
          { t: [0x0f, 0xa1] }, // pop fs: #GP(40h)
        ],
        2,
        (rig) => {
          fsSegmentAndGpHalt(rig);
          rig.setU32(FS_BASE + 0x10, 0x600dcafe);
        },
        undefined,
        stepOnly,
      );
      expect(slow.length > 0).toBe(stepOnly);
      const sel = rig.cpu.segSel;
      const [ES, DS, FS, GS] = [0, 3, 4, 5];
      expect([sel[ES], sel[DS], sel[FS], sel[GS]]).toEqual([0x18, 0x10, 0x18, 0x10]);
      expect(rig.cpu.segBase[FS]).toBe(FS_BASE);
      expect(r32(rig, ESI)).toBe(0x600dcafe);
      // The #GP(40h) at POP FS: the frame (error, EIP, CS, EFLAGS) sits below the 40h still pushed.
      expect(rig.cpu.eip >>> 0).toBe(GP_HANDLER + 1);
      const sp = r32(rig, ESP);
      expect([rig.u32(sp), rig.u32(sp + 16), sp + 20]).toEqual([0x40, 0x40, 0x9000]);
      expect(rig.memory.u8.subarray(rig.u32(sp + 4), rig.u32(sp + 4) + 2)).toEqual(Uint8Array.of(0x0f, 0xa1));
    });

  it('IN and OUT by an imm8 port and by DX, of a byte and a dword', () => {
    const { rig, slow } = run([
      [0xb8, ...le(0x12345678), 0xba, ...le(0x800080)], // mov eax, 12345678h; mov edx, 800080h (DX = 80h)
      { t: [0xe6, 0x80] }, // out 80h, al
      { t: [0xee] }, // out dx, al
      { t: [0xe7, 0x80] }, // out 80h, eax
      { t: [0xef] }, // out dx, eax
      [0xb2, 0xe9], // mov dl, e9h
      { t: [0xe4, 0xe9] }, // in al, e9h: FFh
      [0x89, 0xc6], // mov esi, eax
      { t: [0xed] }, // in eax, dx: FFFFFFFFh
    ]);
    expect(slow).toEqual([]);
    expect(rig.portWrites).toEqual([
      { port: 0x80, size: 1, value: 0x78 },
      { port: 0x80, size: 1, value: 0x78 },
      { port: 0x80, size: 4, value: 0x12345678 },
      { port: 0x80, size: 4, value: 0x12345678 },
    ]);
    expect(r32(rig, ESI)).toBe(0x123456ff);
    expect(r32(rig, EAX)).toBe(0xffffffff);
  });

  it('STI: an interrupt waiting is delivered after the instruction that follows it, not before', () => {
    let pending = true;
    const pic: InterruptController = {
      hasInterrupt: () => pending,
      acknowledge: () => ((pending = false), 0x20),
    };
    const HANDLER = 0x18000;
    const { rig, slow } = run(
      [
        loadFlatTables(GDT, IDT),
        [0x31, 0xf6], // xor esi, esi
        { t: [0xfb] }, // sti
        [0x46, 0x46, 0x46], // inc esi (in the shadow); inc esi; inc esi
      ],
      2,
      (rig) => {
        flatTables(rig, GDT, IDT)(0x20, HANDLER);
        rig.load(HANDLER, [0x89, 0x35, ...le(0x8000), 0xcf]); // mov [8000h], esi; iretd
      },
      pic,
    );
    expect(slow).toEqual([]);
    expect(rig.u32(0x8000)).toBe(1);
    expect(r32(rig, ESI)).toBe(3);
    expect(rig.cpu.getEflags() & IF).toBe(IF);
  });

  for (const stepOnly of [false, true])
    it(`MOV between the accumulator and an FS-relative moffs (A0–A3, 0x66): FS base and limit${stepOnly ? ' (step() alone)' : ''}`, () => {
      const { rig, slow } = run(
        [
          loadFlatTables(GDT, IDT),
          [0x66, 0xb8, 0x18, 0x00, 0x8e, 0xe0], // mov ax, 18h; mov fs, ax
          { t: [0x64, 0xa1, ...le(0x10)] }, // mov eax, fs:[10h]
          [0x89, 0xc6], // mov esi, eax
          { t: [0x64, 0x66, 0xa1, ...le(0x14)] }, // mov ax, fs:[14h]
          { t: [0x64, 0xa0, ...le(0x18)] }, // mov al, fs:[18h]
          { t: [0x64, 0xa2, ...le(0x20)] }, // mov fs:[20h], al
          { t: [0x64, 0x66, 0xa3, ...le(0x22)] }, // mov fs:[22h], ax
          { t: [0x3e, 0xa0, ...le(FS_BASE + 0x19)] }, // mov al, ds:[FS_BASE + 19h]
          [0x89, 0xc7], // mov edi, eax
          { t: [0x64, 0xa1, ...le(0xffe)] }, // mov eax, fs:[ffeh]: past the limit (fffh), #GP(0)
        ],
        2,
        (rig) => {
          fsSegmentAndGpHalt(rig);
          rig.setU32(FS_BASE + 0x10, 0xcafef00d);
          rig.setU32(FS_BASE + 0x14, 0x5678);
          rig.setU32(FS_BASE + 0x18, 0x9a77);
        },
        undefined,
        stepOnly,
      );
      expect(slow.length > 0).toBe(stepOnly);
      expect(r32(rig, ESI)).toBe(0xcafef00d);
      expect(r32(rig, EDI)).toBe(0xcafe569a);
      expect(rig.u32(FS_BASE + 0x20)).toBe(0x56770077);
      // The #GP(0) at the last MOV: its handler's HLT, the faulting EIP and error code 0 on the stack.
      expect(rig.cpu.eip >>> 0).toBe(GP_HANDLER + 1);
      const sp = r32(rig, ESP);
      expect(rig.u32(sp)).toBe(0);
      expect(rig.memory.u8[rig.u32(sp + 4)]).toBe(0x64);
    });

  it('MOV m16, Sreg (8C, which step() runs) writes the selector through the segment: past its limit is #GP(0)', () => {
    const { rig } = run(
      [
        loadFlatTables(GDT, IDT),
        [0x66, 0xb8, 0x18, 0x00, 0x8e, 0xe0], // mov ax, 18h; mov fs, ax
        [0x64, 0x8c, 0x1d, ...le(0x10)], // mov fs:[10h], ds
        [0x64, 0x8c, 0x05, ...le(0xffe)], // mov fs:[ffeh], es: the last word inside the limit (fffh)
        [0x64, 0x8c, 0x25, ...le(0xfff)], // mov fs:[fffh], fs: past it, #GP(0)
      ],
      2,
      fsSegmentAndGpHalt,
    );
    expect(rig.u32(FS_BASE + 0x10)).toBe(0x10);
    expect(rig.memory.u8[FS_BASE + 0xffe] | (rig.memory.u8[FS_BASE + 0xfff] << 8)).toBe(0x10);
    expect(rig.memory.u8[FS_BASE + 0x1000]).toBe(0);
    expect(rig.cpu.eip >>> 0).toBe(GP_HANDLER + 1);
    const sp = r32(rig, ESP);
    expect(rig.u32(sp)).toBe(0);
    const at = rig.u32(sp + 4);
    expect([...rig.memory.u8.subarray(at, at + 3)]).toEqual([0x64, 0x8c, 0x25]);
  });
});

describeCpu('the oracle’s CMPXCHG, XADD, BT* and XCHG vectors through the decoded cache', () => {
  for (const [file, forms] of [
    ['atomic.json', [G_CMPXCHG, G_XADD, G_XCHG, G_XCHG8]],
    ['bit.json', [G_BT, G_BTI]],
    ['lock.json', [G_CMPXCHG, G_XADD, G_BT, G_BTI, G_XCHG]],
  ] as const)
    it(`${file}: as the host, each form run by execGeneric`, () => {
      const seen = new Set<number>();
      const { failures } = runVectors(readVectors(file), (rig) => {
        const cpu = rig.cpu as unknown as { execGeneric(x: number, d: Int32Array, p: number): void };
        const exec = cpu.execGeneric.bind(cpu);
        vi.spyOn(cpu, 'execGeneric').mockImplementation((x, d, p) => {
          seen.add((x >>> 8) & 63);
          exec(x, d, p);
        });
      });
      expect(failures.slice(0, 10)).toEqual([]);
      for (const f of forms) expect([...seen]).toContain(f);
    });
});
