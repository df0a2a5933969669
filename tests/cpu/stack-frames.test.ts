/**
 * Instructions that push a frame of several slots — PUSHA/PUSHAD, ENTER, a far CALL on the current
 * stack (direct, or through a call gate to the same ring) — check the whole frame before the first
 * push (SDM vol. 2, PUSHA: "#SS(0) If the starting or ending stack address is outside the stack
 * segment limit"; ENTER: "If the new value of the SP or ESP register is outside the stack segment
 * limit", "#PF ... if a write using the final value of the stack pointer ... would cause a page
 * fault"; CALL: "IF stack not large enough for return address THEN #SS(0)", before the target
 * offset's #GP(0)). A fault leaves ESP and the memory below it as they were. A 16-bit stack whose
 * frame wraps past offset 0 has a slot straddling 0FFFFh–10000h, which is outside any 16-bit
 * segment: #SS(0), in real mode too (vol. 3, 22.33.1), where SP = 1 shuts the CPU down (the #SS's
 * own frame straddles again: PUSHA's "Operation"). The programs were assembled with `as --32`
 * from the listings in the comments; the handlers are reached through 16-bit interrupt gates, so
 * that their 2-byte slots wrap cleanly where the 4-byte ones under test straddle.
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, hexBytes, le, loadFlatTables, makeRig, putDescriptor, RunExit } from './rig';
import { gate, segment } from './pm-machine';
import { P2M_R, P2M_W } from '../../src/machine/hv/p2m';

const GDT = 0x1000;
const IDT = 0x2000;
const CODE = 0x4000;
const LOG = 0x8000;
const PD = 0xa000;
const PT = 0xb000;
/** The 16-bit stack segment's base (selector 0x18, limit FFFFh). */
const STACK16 = 0x20000;
/** Paged programs: the stack's page 0x70000 is present, 0x6F000 below it is not. */
const ABSENT_PAGE = 0x6f;
const MARK = 0xa5;

// 000 mov $0x18,%ax; mov %ax,%ss; mov $6,%esp; 0b pushal; hlt
// 020 SS 18h, ESP 6; mov $0x100,%ebp; 10 enter $0,$2; hlt
// 040 SS 18h, ESP 6; mov $0x100,%ebp; 10 enter $4,$0; hlt
// 060 SS 18h, ESP 6; 0b lcall $0x08,$CODE+1f0h; hlt
// 080 SS 18h, ESP 6; 0b lcall $0x20,$0x90 (past the limit 7Fh of 0x20); hlt
// 0a0 SS 18h, ESP 6; 0b lcall $0x28,$0 (a 32-bit call gate to 0x08:CODE+1f0h); hlt
// 0c0 paging on (CR3 = PD); mov $0x70010,%esp; mov $0x1234,%ebp; 1d enter $0x20,$0; hlt
// 100 paging on; mov $0x70010,%esp; 18 pushal; hlt
// 140 SS 18h, ESP 2; 0b push $5 (its 4 bytes at FFFEh–10001h); hlt
// 160 SS 18h, ESP FFFFh; 0b pop %eax; hlt
// 1f0 hlt
// 200 #SS: movl $12,LOG; jmp record   210 #GP: 13   220 #PF: 14
// 240 record: ESP to LOG+10; the 16-bit frame's error code, IP, CS popped (SP wraps) to LOG+4/8/c;
//     CR2 to LOG+14; hlt
const PROGRAM: [number, string][] = [
  [0x000, '66b818008ed0bc0600000060f4'],
  [0x020, '66b818008ed0bc06000000bd00010000c8000002f4'],
  [0x040, '66b818008ed0bc06000000bd00010000c8040000f4'],
  [0x060, '66b818008ed0bc060000009af04100000800f4'],
  [0x080, '66b818008ed0bc060000009a900000002000f4'],
  [0x0a0, '66b818008ed0bc060000009a000000002800f4'],
  [0x0c0, 'b800a000000f22d80f20c00d000000800f22c0bc10000700bd34120000c8200000f4'],
  [0x100, 'b800a000000f22d80f20c00d000000800f22c0bc1000070060f4'],
  [0x140, '66b818008ed0bc020000006a05f4'],
  [0x160, '66b818008ed0bcffff000058f4'],
  [0x1f0, 'f4'],
  [0x200, 'c705008000000c000000eb34'],
  [0x210, 'c705008000000d000000eb24'],
  [0x220, 'c705008000000e000000eb14'],
  [0x240, '89251080000031c06658a3048000006658a3088000006658a30c8000000f20d0a314800000f4'],
];

/** Runs the protected-mode program from `entry` to a HLT: the fault the handlers recorded (vector 0: none). */
function runPm(entry: number) {
  const rig = makeRig(4);
  flatTables(rig, GDT, IDT);
  const put = (at: number, d: [number, number]) => putDescriptor(rig, at, d);
  for (const [vector, handler] of [
    [12, 0x200],
    [13, 0x210],
    [14, 0x220],
  ])
    put(IDT + 8 * vector, gate(0x08, CODE + handler, 0x6, 0)); // 16-bit interrupt gates
  put(GDT + 0x18, segment(STACK16, 0xffff, 0x92, 0)); // 16-bit stack (B = 0), expand-up, limit FFFFh
  put(GDT + 0x20, segment(CODE + 0x300, 0x7f, 0x9a, 4)); // 32-bit code, limit 7Fh
  put(GDT + 0x28, gate(0x08, CODE + 0x1f0, 0xc, 0)); // 32-bit call gate to the same ring
  rig.load(GDT + 0x100, [0x2f, 0]); // six entries
  rig.setU32(PD, PT | 3);
  for (let i = 0; i < 1024; i++) rig.setU32(PT + 4 * i, i === ABSENT_PAGE ? 0 : (i << 12) | 3);
  // Markers where a push-by-push frame would have written before faulting.
  rig.memory.u8.fill(MARK, STACK16 + 0xffe0, STACK16 + 0x10004);
  rig.memory.u8.fill(MARK, 0x70000, 0x70010);
  for (const [at, bytes] of PROGRAM) rig.load(CODE + at, hexBytes(bytes));
  const pre = loadFlatTables(GDT, IDT);
  rig.load(CODE + entry - pre.length, pre);
  rig.cpu.enterProtectedModeFlat(CODE + entry - pre.length, { esp: 0x9000 });
  rig.cpu.run(1000);
  expect(rig.cpu.halted, `EIP ${(rig.cpu.eip >>> 0).toString(16)}`).toBe(true);
  const fault = {
    vector: rig.u32(LOG),
    code: rig.u32(LOG + 4),
    /** The pushed IP, as an offset in PROGRAM. */
    ip: rig.u32(LOG + 8) - (CODE & 0xffff),
    esp: rig.u32(LOG + 16),
    cr2: rig.u32(LOG + 20),
  };
  const marked = (from: number, to: number) => [...rig.memory.u8.subarray(from, to)].every((b) => b === MARK);
  return { cpu: rig.cpu, fault, marked };
}

describeCpu('multi-slot pushes: the whole frame checked before the first push', () => {
  it('PUSHAD on a 16-bit stack at SP 6 (its second slot straddles FFFFh): #SS(0), nothing written', () => {
    const { fault, marked } = runPm(0x000);
    // The handler's 16-bit frame (FLAGS, CS, IP, error code) went below SP 6: 4, 2, 0, FFFEh.
    expect(fault).toMatchObject({ vector: 12, code: 0, ip: 0x0b, esp: 0xfffe });
    expect(marked(STACK16 + 0xffe0, STACK16 + 0xfffe)).toBe(true);
    expect(marked(STACK16 + 0x10000, STACK16 + 0x10004)).toBe(true);
  });

  it('ENTER: a frame-pointer copy straddling FFFFh, or a final SP straddling it, is #SS(0); EBP and the stack as before', () => {
    for (const entry of [0x020, 0x040]) {
      const { cpu, fault, marked } = runPm(entry);
      expect(fault).toMatchObject({ vector: 12, code: 0, ip: entry + 0x10, esp: 0xfffe });
      expect(cpu.reg32[5]).toBe(0x100);
      expect(marked(STACK16 + 0x10000, STACK16 + 0x10004)).toBe(true);
    }
  });

  it('a far CALL whose return address does not fit is #SS(0), before the target offset’s #GP(0); nothing pushed', () => {
    const direct = runPm(0x060);
    expect(direct.fault).toMatchObject({ vector: 12, code: 0, ip: 0x6b, esp: 0xfffe });
    expect(direct.marked(STACK16 + 0x10000, STACK16 + 0x10004)).toBe(true);
    // The target offset 90h lies past its segment's limit: the stack is checked first.
    expect(runPm(0x080).fault).toMatchObject({ vector: 12, code: 0, ip: 0x8b });
    // Through a call gate to the same ring.
    const gated = runPm(0x0a0);
    expect(gated.fault).toMatchObject({ vector: 12, code: 0, ip: 0xab, esp: 0xfffe });
    expect(gated.marked(STACK16 + 0x10000, STACK16 + 0x10004)).toBe(true);
  });

  it('a single PUSH or POP whose slot straddles FFFFh of a 16-bit stack is #SS(0), ESP as before', () => {
    const push = runPm(0x140);
    expect(push.fault).toMatchObject({ vector: 12, code: 0, ip: 0x14b, esp: 2 - 8 + 0x10000 });
    expect(push.marked(STACK16 + 0x10000, STACK16 + 0x10002)).toBe(true);
    expect(runPm(0x160).fault).toMatchObject({ vector: 12, code: 0, ip: 0x16b, esp: 0xffff - 8 });
  });

  it('ENTER whose final ESP lies on a page not present is #PF there, with EBP and ESP as before', () => {
    const { cpu, fault } = runPm(0x0c0);
    expect(fault).toMatchObject({ vector: 14, code: 2, ip: 0xdd, esp: 0x70010 - 8 });
    expect(fault.cr2).toBe(0x70010 - 4 - 0x20);
    expect(cpu.reg32[5]).toBe(0x1234);
  });

  it('PUSHAD reaching a page not present is #PF at its first slot there, nothing written above it', () => {
    const { fault, marked } = runPm(0x100);
    expect(fault).toMatchObject({ vector: 14, code: 2, ip: 0x118, cr2: 0x6fffc, esp: 0x70010 - 8 });
    // The handler's frame took 70008h–7000Fh; a push-by-push PUSHAD wrote EBX and EDX below it.
    expect(marked(0x70000, 0x70008)).toBe(true);
  });
});

// Real mode, at 0000:7C00 + offset (SS = 0):
// 00 xor %ax,%ax; mov %ax,%ss; mov $7,%sp; 07 pusha; hlt        10 the same with SP = 1
// 20 SS 0, SP 6; 07 lcalll $0,$0x7d00 (32-bit: its 4-byte IP slot straddles FFFFh); hlt
// 40 SS 0, SP 6; mov $0x100,%bp; 0a enter $5,$0 (the final SP, FFFFh, straddles); hlt
// 60 SS 0, SP 2; 07 pushl %eax (FFFEh–10001h); hlt     70 SS 0, SP FFFFh; 07 pop %ax; hlt
// 100 hlt      200 #SS (IVT 12): movw $12,0x6000; mov %sp,0x6002; hlt
const REAL: [number, string][] = [
  [0x00, '31c08ed0bc070060f4'],
  [0x10, '31c08ed0bc010060f4'],
  [0x20, '31c08ed0bc0600669a007d00000000f4'],
  [0x40, '31c08ed0bc0600bd0001c8050000f4'],
  [0x60, '31c08ed0bc02006650f4'],
  [0x70, '31c08ed0bcffff58f4'],
  [0x100, 'f4'],
  [0x200, 'c70600600c0089260260f4'],
];

/** Real mode from reset, jumping to 0000:7C00 + entry. */
function runReal(entry: number) {
  const rig = makeRig(4);
  const romFrame = 0xf0;
  rig.p2m.map(0xfffff, romFrame, 1, P2M_R | P2M_W);
  rig.load((romFrame << 12) + 0xff0, [0xea, ...le(0x7c00 + entry).slice(0, 2), 0, 0]);
  for (const [at, bytes] of REAL) rig.load(0x7c00 + at, hexBytes(bytes));
  rig.load(12 * 4, [0x00, 0x7e, 0, 0]); // IVT 12 → 0000:7E00
  rig.memory.u8.fill(MARK, 0xffe0, 0x10004);
  rig.cpu.reset();
  const exit = rig.cpu.run(100);
  const marked = (from: number, to: number) => [...rig.memory.u8.subarray(from, to)].every((b) => b === MARK);
  return { exit, ss: rig.dv.getUint16(0x6000, true), sp: rig.dv.getUint16(0x6002, true), marked };
}

describeCpu('multi-slot pushes in real mode: a slot straddling offset FFFFh', () => {
  it('PUSHA at SP 7 is #SS, nothing written; at SP 1 the #SS cannot be delivered either: shutdown', () => {
    const at7 = runReal(0x00);
    expect(at7.exit).toBe(RunExit.HLT);
    expect(at7).toMatchObject({ ss: 12, sp: 7 - 6 });
    expect(at7.marked(0xffe0, 0x10002)).toBe(true);
    expect(runReal(0x10).exit).toBe(RunExit.TRIPLE_FAULT);
  });

  it('a PUSH or POP whose slot straddles FFFFh is #SS (a dword at SP 2, a word at SP FFFFh)', () => {
    const push = runReal(0x60);
    expect(push).toMatchObject({ exit: RunExit.HLT, ss: 12, sp: 0xfffc });
    expect(push.marked(0x10000, 0x10002)).toBe(true); // the #SS frame itself took FFFCh–1h
    expect(runReal(0x70)).toMatchObject({ exit: RunExit.HLT, ss: 12, sp: 0xffff - 6 });
  });

  it('a 32-bit far CALL and ENTER whose slot would straddle FFFFh are #SS, nothing written', () => {
    for (const entry of [0x20, 0x40]) {
      const r = runReal(entry);
      expect(r.exit).toBe(RunExit.HLT);
      expect(r).toMatchObject({ ss: 12, sp: 0 });
      expect(r.marked(0xffe0, 0x10004)).toBe(true);
    }
  });
});

/**
 * A call gate's or interrupt gate's switch to an inner 16-bit stack (from the TSS) whose frame
 * wraps past offset 0 is checked slot by slot in the gate's slot size (SDM vol. 2, CALL: "IF new
 * stack does not have room for parameters plus 8 bytes (16-bit gate) / 16 bytes (32-bit gate)
 * THEN #SS(NewSS)"; INT n likewise): a 2-byte slot at SP 1 or a 4-byte one at SP 2 straddles
 * 0FFFFh–10000h, outside the segment. The fault is #SS(new SS selector) before the first push,
 * reported in ring 3's context with nothing written below the inner stack's top. Ring 3 makes the
 * transfer; the gates lead to ring-1 code on a 16-bit ring-1 stack (selector 29h, limit FFFFh).
 * A call gate's parameters are read through the caller's SS, within its limit, else #SS(0).
 */
describeCpu('a gate’s inner 16-bit stack whose frame wraps past offset 0', () => {
  const TSS = 0x3000;
  const HANDLERS = 0x5000;
  const ENTRY = 0x10000;
  const RING3 = 0x10100;
  const STACK1 = 0x30000;
  const SS1 = 0x28 | 1;
  /** Runs `bytes` in ring 3 with TSS.ESP1 = `sp1`: the #SS handler's frame (ring 0) and the markers. */
  function innerFault(bytes: string, sp1: number) {
    const rig = makeRig(4);
    flatTables(rig, GDT, IDT)(12, HANDLERS);
    rig.load(HANDLERS, [0xf4]);
    const put = (at: number, d: [number, number]) => putDescriptor(rig, at, d);
    put(GDT + 0x18, segment(TSS, 0x67, 0x89, 0));
    put(GDT + 0x20, segment(0, 0xffffffff, 0xba, 4)); // ring-1 code
    put(GDT + 0x28, segment(STACK1, 0xffff, 0xb2, 0)); // ring-1 stack: 16-bit (B = 0), limit FFFFh
    put(GDT + 0x30, segment(0, 0xffffffff, 0xfa, 4)); // ring-3 code
    put(GDT + 0x38, segment(0, 0xffffffff, 0xf2, 4)); // ring-3 data
    put(GDT + 0x40, gate(0x20, 0x6000, 0x4, 3)); // 16-bit call gate, DPL 3
    put(GDT + 0x48, gate(0x20, 0x6000, 0xc, 3)); // 32-bit call gate, DPL 3
    const [plo, phi] = gate(0x20, 0x6000, 0xc, 3);
    put(GDT + 0x50, [plo, phi | 2]); // 32-bit call gate, DPL 3, two parameters
    put(GDT + 0x58, segment(0, 0x6fff, 0xf2, 4)); // ring-3 stack, 32-bit, limit 6FFFh
    rig.load(GDT + 0x100, [0x5f, 0]);
    put(IDT + 8 * 0x21, gate(0x20, 0x6000, 0x6, 3)); // 16-bit interrupt gate, DPL 3
    put(IDT + 8 * 0x22, gate(0x20, 0x6000, 0xe, 3)); // 32-bit interrupt gate, DPL 3
    rig.setU32(TSS + 4, 0x9000); // ESP0
    rig.setU32(TSS + 8, 0x10); // SS0
    rig.setU32(TSS + 12, sp1); // ESP1
    rig.setU32(TSS + 16, SS1);
    rig.memory.u8.fill(MARK, STACK1, STACK1 + 0x100);
    rig.memory.u8.fill(MARK, STACK1 + 0xfff0, STACK1 + 0x10004);
    // mov $0x18,%ax; ltr %ax; iretd to RING3 with SS:ESP 3Bh:7000h
    const enter = hexBytes('66b818000f00d86a3b68007000009c6a336800010100cf');
    rig.load(ENTRY, [...loadFlatTables(GDT, IDT), ...enter]);
    rig.load(RING3, hexBytes(bytes));
    rig.cpu.enterProtectedModeFlat(ENTRY, { esp: 0x9000, ebx: 0x1234 });
    rig.cpu.run(100);
    expect(rig.cpu.eip >>> 0, 'halted in the #SS handler').toBe(HANDLERS + 1);
    const esp = rig.cpu.reg32[4] >>> 0;
    const at = (i: number) => rig.u32(esp + 4 * i);
    const marked = [
      ...rig.memory.u8.subarray(STACK1, STACK1 + 0x100),
      ...rig.memory.u8.subarray(STACK1 + 0xfff0, STACK1 + 0x10004),
    ].every((b) => b === MARK);
    return {
      frame: { esp, code: at(0), eip: at(1), cs: at(2), oldEsp: at(4), oldSs: at(5) },
      marked,
      ebx: rig.cpu.reg32[3],
    };
  }
  /** Ring 3's context, as the #SS handler finds it: the transferring instruction's. */
  const ring3 = { esp: 0x9000 - 24, code: SS1 & 0xfffc, eip: RING3, cs: 0x33, oldEsp: 0x7000, oldSs: 0x3b };

  it('a call gate: a 16-bit gate at SP 5 (its CS slot at FFFFh) and a 32-bit gate at SP 6 (its ESP slot at FFFEh)', () => {
    for (const [bytes, sp1] of [
      ['9a000000004300', 5], // lcall $0x43,$0
      ['9a000000004b00', 6], // lcall $0x4b,$0
    ] as const) {
      const { frame, marked, ebx } = innerFault(bytes, sp1);
      expect(frame, bytes).toEqual(ring3);
      expect(marked, 'nothing written below the inner stack’s top').toBe(true);
      expect(ebx).toBe(0x1234);
    }
  });

  it('the caller’s parameters are read through its SS: one past its limit is #SS(0), nothing written', () => {
    // 0 mov $0x5b,%ax; mov %ax,%ss   6 mov $0x6ffc,%esp (the second parameter at 7000h)
    // b lcall $0x53,$0 (a 32-bit gate with two parameters)
    const { frame, marked } = innerFault('66b85b008ed0bcfc6f00009a000000005300', 0x100);
    expect(frame).toEqual({ ...ring3, code: 0, eip: RING3 + 0x0b, oldEsp: 0x6ffc, oldSs: 0x5b });
    expect(marked, 'nothing written on the inner stack').toBe(true);
  });

  it('the parameters are copied after the new stack is checked: its #SS(new SS) comes before theirs', () => {
    // as above, with TSS.ESP1 = 6: the 24-byte frame's second slot straddles FFFFh
    const { frame, marked } = innerFault('66b85b008ed0bcfc6f00009a000000005300', 6);
    expect(frame).toEqual({ ...ring3, eip: RING3 + 0x0b, oldEsp: 0x6ffc, oldSs: 0x5b });
    expect(marked).toBe(true);
  });

  it('an interrupt gate: INT n through a 16-bit gate at SP 5 and a 32-bit gate at SP 6', () => {
    for (const [bytes, sp1] of [
      ['cd21', 5],
      ['cd22', 6],
    ] as const) {
      const { frame, marked } = innerFault(bytes, sp1);
      expect(frame, bytes).toEqual(ring3);
      expect(marked, 'nothing written below the inner stack’s top').toBe(true);
    }
  });
});
