/**
 * Hardware interrupts (programs/tests.S, "interrupts"): the CPU asks the interrupt controller at
 * instruction boundaries only when EFLAGS.IF = 1 and no STI or MOV SS shadow is in force (SDM
 * vol. 3, 6.8.3 and vol. 2, STI), delivers through the IDT, and wakes from HLT.
 */
import { expect, it, vi } from 'vitest';
import { MmioBus } from '../../src/machine/bus';
import { describeCpu, flatTables, hexBytes, loadFlatTables, makeRig, putDescriptor } from './rig';
import { gate, L, pmMachine, SEL, SYM, segment } from './pm-machine';

const VECTOR = 0x20;

/** A controller with a count of requests; each INTA takes one. */
function fakePic() {
  const pic = {
    pending: 0,
    acknowledged: 0,
    hasInterrupt: () => pic.pending > 0,
    acknowledge: () => {
      pic.pending--;
      pic.acknowledged++;
      return VECTOR;
    },
  };
  return pic;
}

describeCpu('hardware interrupts', () => {
  it('IF = 0 holds a request; STI delivers it after the next instruction; MOV SS shields the next one; HLT wakes', () => {
    const pic = fakePic();
    const m = pmMachine('interrupts', pic);
    pic.pending = 1;
    const stepUntil = (eip: number) => {
      for (let i = 0; i < 1000 && m.cpu.eip >>> 0 !== eip; i++) m.cpu.run(1);
      expect(m.cpu.eip >>> 0).toBe(eip);
    };

    stepUntil(SYM.at_mov_ss);
    expect(m.rec(0)).toBe(L.LOG); // nothing was delivered while IF = 0
    let log = m.log();
    expect(log.length).toBe(1);
    expect(log[0].vector).toBe(VECTOR);
    expect(log[0].eip).toBe(SYM.at_after_sti_shadow); // the instruction after STI ran first
    expect(log[0].cs).toBe(SEL.CODE0);
    expect(m.rec(1)).toBe(L.LOG);

    m.cpu.run(1); // MOV SS
    pic.pending = 1; // raised now: the shadow covers the next instruction
    stepUntil(SYM.at_hlt);
    log = m.log();
    expect(log.length).toBe(2);
    expect(log[1].eip).toBe(SYM.at_after_ss_shadow);

    m.cpu.run(100);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.eip >>> 0).toBe(SYM.at_after_hlt); // HLT has retired; EIP points after it
    expect(m.log().length).toBe(2);
    pic.pending = 1;
    m.cpu.run(100);
    log = m.log();
    expect(log.length).toBe(3);
    expect(log[2].eip).toBe(SYM.at_after_hlt);
    expect(m.rec(3)).toBe(L.LOG + 3 * L.LOG_ENTRY);
    expect(m.cpu.halted).toBe(true); // the final CLI; HLT
    expect(pic.acknowledged).toBe(3);
  });
});

/**
 * The EXT bit (bit 0) of a #TS/#NP/#SS/#GP error code says the fault came while delivering an
 * event external to the program: a hardware interrupt or an earlier exception, not an INT n
 * (SDM vol. 3, 6.13).
 */
describeCpu('error codes: the EXT bit', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const HANDLERS = 0x3000;
  const CODE = 0x10000;
  /** Runs `bytes` with IDT gates 6, 0x20 and 0x21 not present; the #NP handler halts. Returns #NP's error code. */
  function npErrorCode(bytes: number[], irq: boolean): number {
    let pending = irq;
    const rig = makeRig(4, {
      hasInterrupt: () => pending,
      acknowledge: () => ((pending = false), 0x20),
    });
    const gate = flatTables(rig, GDT, IDT);
    gate(NP, HANDLERS);
    rig.load(HANDLERS, [0xf4]);
    for (const v of [6, 0x20, 0x21]) {
      gate(v, HANDLERS + 0x100);
      rig.memory.u8[IDT + 8 * v + 5] &= 0x7f; // P = 0
    }
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE, [...pre, ...bytes, 0xf4]);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(20);
    expect(rig.cpu.eip >>> 0, 'halted in the #NP handler').toBe(HANDLERS + 1);
    return rig.u32(rig.cpu.reg32[4] >>> 0);
  }
  const NP = 11;

  it('a hardware interrupt through a not-present gate: #NP(vector × 8 + IDT + EXT)', () => {
    expect(npErrorCode([0xfb, 0x90], true)).toBe(0x20 * 8 + 2 + 1); // sti; nop
  });
  it('an exception through a not-present gate: EXT set too (#UD from UD2)', () => {
    expect(npErrorCode([0x0f, 0x0b], false)).toBe(6 * 8 + 2 + 1);
  });
  it('INT n through a not-present gate: EXT clear', () => {
    expect(npErrorCode([0xcd, 0x21], false)).toBe(0x21 * 8 + 2);
  });
});

/**
 * Single-step (EFLAGS.TF, SDM vol. 3, 17.3.1.4): a #DB trap after every instruction that began
 * with TF set, with EIP at the next instruction and DR6.BS set; none after the POPF that sets TF,
 * for INT n and its handler (delivery clears TF, and its IRET began with TF clear), or after a MOV
 * SS (the shadow holds it to the next instruction); one per iteration of a REP string instruction.
 */
describeCpu('single-step traps (TF)', () => {
  it('trap after each instruction begun with TF set, with the exceptions the SDM gives', () => {
    const GDT = 0x1000;
    const IDT = 0x2000;
    const CODE = 0x10000;
    const LOG = 0x8000;
    // Assembled with as --32 from this listing (offsets in hex from CODE):
    //  0 pushfl; orl $0x100,(%esp); popfl
    //  9 a: nop           a b: movl $1,%eax      f c: int $0x30        11 d: nop
    // 12 e: movw %ss,%ax  15 f: movw %ax,%ss     17 g: nop
    // 18 h: movl $3,%ecx; movl $0x500,%esi; movl $0x600,%edi   27 i: rep movsb
    // 29 j: pushfl        2a k: andl $~0x100,(%esp)            31 l: popfl   32 m: nop; hlt
    // 100: #DB handler: push %eax; mov 4(%esp),%eax; mov %eax,(%ebp); add $4,%ebp; pop %eax; iret
    // 140: int 0x30 handler: inc %ebx; iret
    const code = [
      0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x30, 0x90, 0x66,
      0x8c, 0xd0, 0x8e, 0xd0, 0x90, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xbe, 0x00, 0x05, 0x00, 0x00, 0xbf, 0x00, 0x06, 0x00,
      0x00, 0xf3, 0xa4, 0x9c, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff, 0x9d, 0x90, 0xf4,
    ];
    const rig = makeRig(4);
    const gate = flatTables(rig, GDT, IDT);
    gate(1, CODE + 0x100);
    gate(0x30, CODE + 0x140);
    rig.load(CODE + 0x100, [0x50, 0x8b, 0x44, 0x24, 0x04, 0x89, 0x45, 0x00, 0x83, 0xc5, 0x04, 0x58, 0xcf]);
    rig.load(CODE + 0x140, [0x43, 0xcf]);
    rig.load(0x500, [7, 8, 9]);
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE - pre.length, [...pre, ...code]);
    rig.cpu.enterProtectedModeFlat(CODE - pre.length, { esp: 0x9000, ebp: LOG });
    rig.cpu.run(1000);
    expect(rig.cpu.halted, `EIP ${(rig.cpu.eip >>> 0).toString(16)}`).toBe(true);
    const n = (rig.cpu.reg32[5] - LOG) / 4;
    const log = Array.from({ length: n }, (_, i) => rig.u32(LOG + 4 * i) - CODE);
    // mov %edi then the three iterations of rep movsb: i, i, i, then j
    expect(log).toEqual([0x0a, 0x0f, 0x12, 0x15, 0x18, 0x1d, 0x22, 0x27, 0x27, 0x27, 0x29, 0x2a, 0x31, 0x32]);
    expect(rig.cpu.reg32[3]).toBe(1); // the INT 0x30 handler ran once
    expect([0, 1, 2].map((i) => rig.memory.u8[0x600 + i])).toEqual([7, 8, 9]);
    expect(rig.cpu.getEflags() & 0x100).toBe(0);
  });
});

/**
 * An interrupt gate to an inner ring whose stack (from the TSS) has no room for the whole frame:
 * #SS(new SS selector, EXT) before anything is pushed, reported in the interrupted context (SDM
 * vol. 2, INT n: "IF new stack does not have room for 24 bytes (error code pushed) or 20 bytes (no
 * error code) THEN #SS(error_code(NewSS, 0, EXT))"). Ring 3 runs the event; its gates lead to ring
 * 1, whose stack is expand-down with room for 12 bytes; the #SS handler is ring 0's.
 */
describeCpu('the inner stack of an interrupt gate without room for its frame', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const TSS = 0x4000;
  const HANDLERS = 0x5000;
  const CODE = 0x10000;
  const RING3 = 0x10100;
  const SS1 = 0x28 | 1;
  /** Runs `bytes` at ring 3; returns the #SS handler's frame on ring 0's stack, or null. */
  function ssFrame(bytes: number[]) {
    const rig = makeRig(4);
    const gate = flatTables(rig, GDT, IDT);
    gate(12, HANDLERS);
    rig.load(HANDLERS, [0xf4]);
    const put = (sel: number, d: [number, number]) => putDescriptor(rig, GDT + sel, d);
    put(0x18, segment(TSS, 0x67, 0x89, 0));
    put(0x20, segment(0, 0xffffffff, 0xba, 4)); // ring 1 code
    put(0x28, segment(0, 0x8000 - 13, 0xb6, 4)); // ring 1 stack, expand-down: 12 bytes below 8000h
    put(0x30, segment(0, 0xffffffff, 0xfa, 4)); // ring 3 code
    put(0x38, segment(0, 0xffffffff, 0xf2, 4)); // ring 3 data
    put(0x40, segment(0, 0xfff, 0xba, 4)); // ring 1 code of limit FFFh
    rig.load(GDT + 0x100, [0x47, 0]);
    // INT 22h: to offset 16000h of that segment, past its limit.
    rig.load(IDT + 8 * 0x22, [0x00, 0x60, 0x40, 0, 0, 0xee, 0x01, 0]);
    rig.setU32(TSS + 4, 0x9000); // ESP0
    rig.setU32(TSS + 8, 0x10); // SS0
    rig.setU32(TSS + 12, 0x8000); // ESP1
    rig.setU32(TSS + 16, SS1);
    // Vectors 6 (#UD) and 0x21 (INT n from ring 3: DPL 3) go to ring 1.
    for (const [v, access] of [
      [6, 0x8e],
      [0x21, 0xee],
    ])
      rig.load(IDT + 8 * v, [0x00, 0x60, 0x21, 0, 0, access, 0x01, 0]);
    // mov $0x18,%ax; ltr %ax; iretd to RING3 with SS:ESP 3Bh:7000h
    const enter = hexBytes('66b818000f00d86a3b68007000009c6a336800010100cf');
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE, [...pre, ...enter]);
    rig.load(RING3, bytes);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.eip >>> 0, 'halted in the #SS handler').toBe(HANDLERS + 1);
    const esp = rig.cpu.reg32[4] >>> 0;
    const at = (i: number) => rig.u32(esp + 4 * i);
    return { esp, code: at(0), eip: at(1), cs: at(2), oldEsp: at(4), oldSs: at(5) };
  }

  it('INT n: #SS(SS1) at the INT, in ring 3, nothing pushed on ring 1’s stack', () => {
    expect(ssFrame([0xcd, 0x21])).toEqual({
      esp: 0x9000 - 24,
      code: SS1 & 0xfffc,
      eip: RING3,
      cs: 0x33,
      oldEsp: 0x7000,
      oldSs: 0x3b,
    });
  });

  it('the stack is checked before the gate’s offset: #SS(SS1), not #GP(0), for a gate past its segment’s limit', () => {
    expect(ssFrame([0xcd, 0x22])).toMatchObject({ code: SS1 & 0xfffc, eip: RING3, cs: 0x33 });
  });

  it('an exception (#UD from UD2): the same, with EXT set', () => {
    expect(ssFrame([0x0f, 0x0b])).toEqual({
      esp: 0x9000 - 24,
      code: (SS1 & 0xfffc) | 1,
      eip: RING3,
      cs: 0x33,
      oldEsp: 0x7000,
      oldSs: 0x3b,
    });
  });
});

/**
 * An interrupt taken between iterations of a REP string instruction pushes RF = 1 and the REP's own
 * EIP, with ECX as far as the iterations done (SDM vol. 3, 17.3.1.1: its IRETD resumes the REP
 * without stopping at an instruction breakpoint on it again).
 */
describeCpu('an interrupt between iterations of REP STOSB', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const HANDLER = 0x3000;
  const CODE = 0x10000;
  /** The REP STOSB of 5,000 with a request raised once `after` instructions have retired. */
  function interrupted(after: number, bulk = true) {
    let rig: ReturnType<typeof makeRig> | null = null;
    rig = makeRig(4, {
      hasInterrupt: () => rig!.cpu.instructions > after,
      acknowledge: () => VECTOR,
    });
    const gate = flatTables(rig, GDT, IDT);
    gate(VECTOR, HANDLER);
    rig.load(HANDLER, [0xf4]);
    const pre = loadFlatTables(GDT, IDT);
    // sti; mov $0x20000,%edi; mov $5000,%ecx; rep stosb; hlt
    const rep = CODE + pre.length + 11;
    rig.load(CODE, [...pre, 0xfb, 0xbf, 0, 0, 2, 0, 0xb9, 0x88, 0x13, 0, 0, 0xf3, 0xaa, 0xf4]);
    if (!bulk) vi.spyOn(rig.cpu as unknown as { stringBulk(): number }, 'stringBulk').mockReturnValue(0);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(20_000);
    return { rig, rep };
  }

  it('pushes the REP’s EIP and EFLAGS with RF = 1; ECX counts the iterations left', () => {
    // Raised once the REP has begun: it is delivered between two of its iterations.
    const { rig, rep } = interrupted(100);
    expect(rig.cpu.eip >>> 0, 'in the handler').toBe(HANDLER + 1);
    const esp = rig.cpu.reg32[4] >>> 0;
    expect(rig.u32(esp)).toBe(rep);
    expect(rig.u32(esp + 8) & 0x10000).toBe(0x10000);
    const left = rig.cpu.reg32[1];
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(5000);
    expect(rig.cpu.getEflags() & 0x10000).toBe(0); // the handler runs with RF clear
  });

  it('is delivered at the end of the REP’s slice of 1,024 iterations in which it was raised', () => {
    // The REP begins after 5 instructions: its slices end at 1,029, 2,053, 3,077 retired.
    for (const [after, left] of [
      [100, 5000 - 1024],
      [1028, 5000 - 1024],
      [1029, 5000 - 2048],
      [2500, 5000 - 3072],
    ])
      for (const bulk of [true, false])
        expect([after, bulk, interrupted(after, bulk).rig.cpu.reg32[1]]).toEqual([after, bulk, left]);
  });
});

/**
 * Which loads of SS hold interrupts for one instruction (SDM vol. 3, 6.8.3): MOV SS and POP SS,
 * not LSS; and of consecutive MOV SS only the first (the SDM guarantees no more; Bochs and QEMU
 * let the second end the shadow).
 */
describeCpu('the MOV SS shadow: which loads, and how many', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const CODE = 0x10000;
  /**
   * Runs `bytes` (after LGDT, LIDT) with a request raised once `after` instructions have retired
   * (between two runs, as the platform's timers raise theirs); the handler (at CODE + 0x40) logs
   * the EIP it returns to. Returns that EIP, as an offset.
   */
  function deliveredAt(bytes: string, after: number): number {
    let raised = false;
    const rig = makeRig(4, {
      hasInterrupt: () => raised && rig.u32(0x8000) === 0,
      acknowledge: () => 0x20,
    });
    const gate = flatTables(rig, GDT, IDT);
    gate(0x20, CODE + 0x40);
    // 40: mov (%esp),%eax; mov %eax,0x8000; hlt
    rig.load(CODE + 0x40, hexBytes('8b0424a300800000f4'));
    rig.setU32(0x5000, 0x9000); // LSS's operand: ESP, then SS = 0x10
    rig.setU32(0x5004, 0x10);
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE - pre.length, [...pre, ...hexBytes(bytes)]);
    rig.cpu.enterProtectedModeFlat(CODE - pre.length, { esp: 0x9000 });
    rig.cpu.run(after);
    raised = true;
    rig.cpu.run(50);
    expect(rig.cpu.halted).toBe(true);
    return rig.u32(0x8000) - CODE;
  }

  it('two MOV SS in a row: the request raised during the first waits for the second, not longer', () => {
    // 0 sti; nop; mov %ss,%eax   4 mov %eax,%ss   6 mov %eax,%ss   8 nop   9 hlt
    expect(deliveredAt('fb908cd08ed08ed090f4', 2 + 4)).toBe(8);
  });

  it('LSS does not hold interrupts: a request raised during it is taken right after it', () => {
    // 0 sti; nop   2 lss 0x5000,%esp   9 nop   a hlt
    expect(deliveredAt('fb900fb2250050000090f4', 2 + 3)).toBe(9);
  });
});

/**
 * An interrupt or exception never goes to an outer ring: a gate whose code segment has DPL > CPL,
 * conforming or not, is #GP(code selector, EXT) (SDM vol. 2, INT n: "IF descriptor does not
 * indicate a code segment or code segment descriptor DPL > CPL THEN #GP(error_code(new
 * code-segment selector,0,EXT))"; Bochs alike). Ring 0 raises it; the #GP handler is ring 0's.
 */
describeCpu('a gate to a code segment of DPL > CPL', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const HANDLERS = 0x5000;
  const CODE = 0x10000;
  /** Runs `bytes` at ring 0, vector 23h gated to selector 20h of `access`: the #GP frame. */
  function gpFrame(bytes: string, access: number, pending = 0) {
    const rig = makeRig(4, { hasInterrupt: () => pending > 0, acknowledge: () => (pending--, 0x23) });
    flatTables(rig, GDT, IDT)(13, HANDLERS);
    rig.load(HANDLERS, [0xf4]);
    const [lo, hi] = segment(0, 0xffffffff, access, 4);
    rig.setU32(GDT + 0x20, lo);
    rig.setU32(GDT + 0x24, hi);
    rig.load(GDT + 0x100, [0x27, 0]);
    const [glo, ghi] = gate(0x20, 0x6000, 0xe, 3); // a 32-bit interrupt gate, DPL 3
    rig.setU32(IDT + 8 * 0x23, glo);
    rig.setU32(IDT + 8 * 0x23 + 4, ghi);
    rig.load(0x6000, [0xf4]);
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE - pre.length, [...pre, ...hexBytes(bytes)]);
    rig.cpu.enterProtectedModeFlat(CODE - pre.length, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.eip >>> 0, 'halted in the #GP handler').toBe(HANDLERS + 1);
    expect(rig.cpu.cpl).toBe(0);
    const esp = rig.cpu.reg32[4] >>> 0;
    return { esp, code: rig.u32(esp), eip: rig.u32(esp + 4) - CODE, cs: rig.u32(esp + 8) };
  }

  it('INT n from ring 0 to ring-3 code, non-conforming or conforming: #GP(selector) at the INT', () => {
    for (const access of [0xfa, 0xfe])
      expect(gpFrame('cd23f4', access), access.toString(16)).toEqual({ esp: 0x9000 - 16, code: 0x20, eip: 0, cs: 8 });
  });

  it('a hardware interrupt: #GP(selector + EXT), EIP at the instruction it came before', () => {
    // 0 sti   1 nop   2 hlt: the request is taken after the NOP
    expect(gpFrame('fb90f4', 0xfa, 1)).toEqual({ esp: 0x9000 - 16, code: 0x21, eip: 2, cs: 8 });
  });
});

/**
 * An interrupt to the same ring checks its whole frame before the first push (SDM vol. 2, INT n,
 * INTRA-PRIVILEGE-LEVEL-INTERRUPT: "IF current stack does not have room for 16 bytes (error code
 * pushed) or 12 bytes (no error code) THEN #SS(EXT)"): a fault leaves nothing written below ESP.
 * Ring 3 runs on an expand-up stack (selector 4Bh, base 40000h, limit FFFFh) at ESP 8 or 4 and
 * raises an event whose gate leads to ring-3 code; the #SS goes to ring 0 through the TSS.
 */
describeCpu('a same-ring interrupt frame without room on its stack', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const TSS = 0x4000;
  const HANDLERS = 0x5000;
  const CODE = 0x10000;
  const RING3 = 0x10100;
  const STACK3 = 0x40000;
  const MARK = 0xa5;
  /** Runs `bytes` at ring 3 (after it switches to the small stack): the #SS frame, and the markers. */
  function ssFrame(bytes: string) {
    const rig = makeRig(4);
    flatTables(rig, GDT, IDT)(12, HANDLERS);
    rig.load(HANDLERS, [0xf4]);
    const put = (at: number, d: [number, number]) => putDescriptor(rig, at, d);
    put(GDT + 0x18, segment(TSS, 0x67, 0x89, 0));
    put(GDT + 0x30, segment(0, 0xffffffff, 0xfa, 4)); // ring-3 code
    put(GDT + 0x38, segment(0, 0xffffffff, 0xf2, 4)); // ring-3 data
    put(GDT + 0x48, segment(STACK3, 0xffff, 0xf2, 4)); // ring-3 stack, 32-bit, limit FFFFh
    rig.load(GDT + 0x100, [0x4f, 0]);
    put(IDT + 8 * 6, gate(0x33, 0x6000, 0xe, 3)); // #UD: a 32-bit interrupt gate to ring 3
    put(IDT + 8 * 0x24, gate(0x33, 0x6000, 0xe, 3)); // INT 24h: the same
    put(IDT + 8 * 0x25, gate(0x33, 0x6000, 0x6, 3)); // INT 25h: a 16-bit one
    rig.setU32(TSS + 4, 0x9000); // ESP0
    rig.setU32(TSS + 8, 0x10); // SS0
    rig.memory.u8.fill(MARK, STACK3, STACK3 + 8);
    // mov $0x18,%ax; ltr %ax; iretd to RING3 with SS:ESP 3Bh:7000h
    const enter = hexBytes('66b818000f00d86a3b68007000009c6a336800010100cf');
    rig.load(CODE, [...loadFlatTables(GDT, IDT), ...enter]);
    rig.load(RING3, hexBytes(bytes));
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.eip >>> 0, 'halted in the #SS handler').toBe(HANDLERS + 1);
    const esp = rig.cpu.reg32[4] >>> 0;
    const at = (i: number) => rig.u32(esp + 4 * i);
    const marked = [...rig.memory.u8.subarray(STACK3, STACK3 + 8)].every((b) => b === MARK);
    return { frame: { code: at(0), eip: at(1) - RING3, cs: at(2), oldEsp: at(4), oldSs: at(5) }, marked };
  }
  // 0 mov $0x4b,%ax; mov %ax,%ss   6 mov $n,%esp   b the event
  const onStack = (esp: number, event: string) => `66b84b008ed0bc${hexLe32(esp)}${event}`;

  it('INT n through a 32-bit gate at ESP 8 (12 bytes), or a 16-bit one at ESP 4 (6 bytes): #SS(0), nothing written', () => {
    for (const [esp, event] of [
      [8, 'cd24'],
      [4, 'cd25'],
    ] as const) {
      const { frame, marked } = ssFrame(onStack(esp, event));
      expect(frame, event).toEqual({ code: 0, eip: 0x0b, cs: 0x33, oldEsp: esp, oldSs: 0x4b });
      expect(marked, 'nothing written below ESP').toBe(true);
    }
  });

  it('an exception (#UD from UD2): #SS(EXT), nothing written', () => {
    const { frame, marked } = ssFrame(onStack(8, '0f0b'));
    expect(frame).toEqual({ code: 1, eip: 0x0b, cs: 0x33, oldEsp: 8, oldSs: 0x4b });
    expect(marked).toBe(true);
  });
});

/**
 * An interrupt from virtual-8086 mode through a 16-bit interrupt gate (SDM vol. 2, INT n,
 * INTERRUPT-FROM-VIRTUAL-8086-MODE: "Following pushes are 16 bits for 16-bit IDT gates"): GS, FS,
 * DS, ES, SS, SP, FLAGS (its low word: VM is not in it), CS, IP go on the ring-0 stack from the
 * TSS in 2-byte slots, 18 bytes; the data segment registers are then null, VM = 0, CPL 0.
 */
describeCpu('an interrupt from virtual-8086 mode through a 16-bit gate', () => {
  it('pushes the nine 16-bit slots on TSS.SS0:ESP0 and enters ring 0 with null data segments', () => {
    const GDT = 0x1000;
    const IDT = 0x2000;
    const TSS = 0x3000;
    const HANDLER = 0x5000;
    const ENTRY = 0x30000;
    const rig = makeRig(4);
    flatTables(rig, GDT, IDT);
    const [tlo, thi] = segment(TSS, 0x67, 0x89, 0);
    rig.setU32(GDT + 0x18, tlo);
    rig.setU32(GDT + 0x1c, thi);
    rig.load(GDT + 0x100, [0x1f, 0]);
    const [glo, ghi] = gate(0x08, HANDLER, 0x6, 3); // INT 30h: a 16-bit interrupt gate, DPL 3
    rig.setU32(IDT + 8 * 0x30, glo);
    rig.setU32(IDT + 8 * 0x30 + 4, ghi);
    rig.setU32(TSS + 4, 0x9000); // ESP0
    rig.setU32(TSS + 8, 0x10); // SS0
    rig.load(HANDLER, [0xf4]);
    rig.load(0x10200, [0xcd, 0x30, 0xf4]); // 1000:0200 int $0x30
    // mov $0x18,%ax; ltr %ax; push GS 5555h, FS 4444h, DS 3333h, ES 2222h, SS 2000h, ESP 100h,
    // EFLAGS (VM, IOPL 3), CS 1000h, EIP 200h; iretd
    const enter = hexBytes(
      '66b818000f00d8' +
        ['5555', '4444', '3333', '2222', '2000', '0100', '23002', '1000', '0200']
          .map((v) => `68${hexLe32(parseInt(v, 16))}`)
          .join('') +
        'cf',
    );
    rig.load(ENTRY, [...loadFlatTables(GDT, IDT), ...enter]);
    rig.cpu.enterProtectedModeFlat(ENTRY, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.eip >>> 0, 'halted in the ring-0 handler').toBe(HANDLER + 1);
    expect(rig.cpu.cpl).toBe(0);
    expect(rig.cpu.reg32[4] >>> 0).toBe(0x9000 - 18);
    const words = Array.from({ length: 9 }, (_, i) => rig.u32(0x9000 - 18 + 2 * i) & 0xffff);
    // IP (after the INT), CS, FLAGS, SP, SS, ES, DS, FS, GS
    expect(words).toEqual([0x202, 0x1000, 0x3002, 0x100, 0x2000, 0x2222, 0x3333, 0x4444, 0x5555]);
    expect([0, 3, 4, 5].map((s) => rig.cpu.segSel[s])).toEqual([0, 0, 0, 0]); // ES, DS, FS, GS
    expect(rig.cpu.getEflags() & 0x20000).toBe(0);
  });
});

/** A 32-bit immediate's bytes, little-endian, as hex. */
function hexLe32(v: number): string {
  return [0, 8, 16, 24].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')).join('');
}

/**
 * The run loop asks the interrupt controller only where a request can have come up since its
 * last look (InterruptController, bus.ts): a port or MMIO access (the device's callback may raise
 * one), EFLAGS.IF newly set with one waiting, FERR#. Each request below comes up in the middle of
 * one run and is taken at the very next boundary, not at the next run() or event.
 */
describeCpu('requests that come up within a run', () => {
  const GDT = 0x1000;
  const IDT = 0x2000;
  const CODE = 0x10000;
  const HANDLER = CODE + 0x40;
  const MMIO = 0x40000000;
  /**
   * Runs `bytes` (after LGDT, LIDT, and ESP = 9000h) in one run with `raise` wired to the port 70h
   * device, the MMIO device and FERR#; the handler logs the EIP it returns to. Returns it as an
   * offset, or -1 when nothing was delivered.
   */
  function deliveredAt(bytes: string, raiseOn: 'port' | 'mmio' | 'ferr' | 'none', pending = false): number {
    const pic = { pending, hasInterrupt: () => pic.pending, acknowledge: () => ((pic.pending = false), 0x20) };
    const raise = (on: typeof raiseOn) => () => void (on === raiseOn && (pic.pending = true));
    const mmio = new MmioBus();
    const rig = makeRig(4, pic, { mmio, fpuError: raise('ferr') });
    rig.io.register(0x70, 1, { read: () => (raise('port')(), 0), write: raise('port') });
    rig.p2m.mapMmio(MMIO >>> 12, 1);
    mmio.register(MMIO, 4096, { read: () => (raise('mmio')(), 0), write: raise('mmio') });
    flatTables(rig, GDT, IDT)(0x20, HANDLER);
    rig.setU32(0x8000, 0xffffffff);
    // mov (%esp),%eax; mov %eax,0x8000; hlt
    rig.load(HANDLER, hexBytes('8b0424a300800000f4'));
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE - pre.length, [...pre, ...hexBytes(bytes)]);
    rig.cpu.enterProtectedModeFlat(CODE - pre.length, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.halted).toBe(true);
    return rig.u32(0x8000) === 0xffffffff ? -1 : rig.u32(0x8000) - CODE;
  }

  // Each begins `sti; nop`: the boundary after STI's shadow has the controller asked anyway.
  it('a request raised by an OUT or an IN is taken right after it', () => {
    // 0 sti   1 nop   2 out %al,$0x70   4 nop   5 nop   6 hlt
    expect(deliveredAt('fb90e6709090f4', 'port')).toBe(4);
    // 0 sti   1 nop   2 in $0x70,%al   4 nop   5 nop   6 hlt
    expect(deliveredAt('fb90e4709090f4', 'port')).toBe(4);
  });

  it('a request raised by an MMIO load or store is taken right after it', () => {
    // 0 sti   1 nop   2 mov 0x40000000,%eax   7 nop   8 nop   9 hlt
    expect(deliveredAt('fb90a1000000409090f4', 'mmio')).toBe(7);
    // 0 sti   1 nop   2 mov %eax,0x40000000   7 nop   8 nop   9 hlt
    expect(deliveredAt('fb90a3000000409090f4', 'mmio')).toBe(7);
  });

  it('a request waiting while IF = 0 is taken right after the POPFD or IRETD that sets IF', () => {
    // 0 pushfd   1 orl $0x200,(%esp)   8 popfd   9 nop   a nop   b hlt
    expect(deliveredAt('9c810c24000200009d9090f4', 'none', true)).toBe(9);
    // 0 pushfd   1 orl $0x200,(%esp)   8 push %cs   9 push $0x10010   e iretd   f nop   10 nop   11 hlt
    expect(deliveredAt('9c810c24000200000e6810000100cf9090f4', 'none', true)).toBe(0x10);
  });

  it('a second request waiting when the first enters its handler through a trap gate (IF = 1) is taken after the handler’s first instruction', () => {
    let pending = 2;
    const rig = makeRig(4, { hasInterrupt: () => pending > 0, acknowledge: () => 0x22 - pending-- });
    const gate = flatTables(rig, GDT, IDT);
    rig.load(IDT + 8 * 0x20, [0x00, 0x01, 0x08, 0, 0, 0x8f, 0x01, 0]); // 20h: a 32-bit trap gate to 10100h
    rig.load(CODE + 0x100, hexBytes('9090f4')); // nop; nop; hlt
    gate(0x21, HANDLER);
    rig.setU32(0x8000, 0xffffffff);
    rig.load(HANDLER, hexBytes('8b0424a300800000f4')); // mov (%esp),%eax; mov %eax,0x8000; hlt
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE - pre.length, [...pre, ...hexBytes('fb9090f4')]); // sti; nop; nop; hlt
    rig.cpu.enterProtectedModeFlat(CODE - pre.length, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.u32(0x8000) - CODE).toBe(0x101);
  });

  it('FERR# (an x87 exception unmasked, CR0.NE = 0) is taken right after the instruction that raised it', () => {
    // 0 sti   1 fninit   3 push $0x37b   8 fldcw (%esp) (ZM clear)   b fldz   d fld1
    // f fdiv %st(1),%st (1/0: #Z pending, FERR#)   11 fwait   12 nop   13 hlt
    expect(deliveredAt('fbdbe3687b030000d92c24d9eed9e8d8f19b90f4', 'ferr')).toBe(0x11);
  });
});
