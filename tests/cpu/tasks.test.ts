/**
 * Hardware task switches (SDM vol. 3, chapter 7) by the programs of programs/tasks.S on the machine
 * of task-machine.ts: JMP and CALL to a TSS, a task gate, IRET through the back-link, IDT task
 * gates for INT n, a hardware interrupt, #GP (its error code on the new task's stack) and #DF with
 * the faulting task's stack unusable; busy bits, EFLAGS.NT, CR0.TS; the faults of a switch.
 */
import { describe, expect, it } from 'vitest';
import { describeCpu, flatTables, le, loadFlatTables, makeRig, putDescriptor, RunExit } from './rig';
import { L, segment, SEL } from './pm-machine';
import { EFLAGS_IF, EFLAGS_NT, T, taskGate, taskMachine, TSEL, TSS32, TSYM } from './task-machine';

const TSS_AVAILABLE = 9;
const TSS_BUSY = 11;
const CR0_TS = 8;
const rec = (m: { rec(i: number): number }, off: number) => m.rec(off / 4);

describe('task switch by JMP', () => {
  const m = taskMachine('t_jmp');
  m.tss32(T.TSS_B, { eip: TSYM.b_jmp, esp: T.B_STACK, ds: TSEL.LDT_DATA, ldt: TSEL.LDT, ebx: 0xb0b0b0b0 });
  m.runToHalt();

  it('the new task runs with TR, LDTR, registers and segments from its TSS; NT = 0; CR0.TS = 1', () => {
    expect(rec(m, 0)).toBe(TSEL.TSS_B);
    expect(rec(m, 4)).toBe(TSEL.LDT);
    expect(rec(m, 8) & EFLAGS_NT).toBe(0);
    expect(rec(m, 12) & CR0_TS).toBe(CR0_TS);
    expect(rec(m, 16)).toBe(0xb0b0b0b0);
    expect(rec(m, 20)).toBe(TSEL.LDT_DATA); // a DS from its LDT worked
  });

  it('the old task is saved in its TSS: EIP after the JMP, general registers, selectors; no back-link', () => {
    // B's JMP back saved B; the first task's fields were saved by the first JMP.
    expect(m.u32(T.TSS_B + TSS32.EIP)).toBe(TSYM.b_jmp_out + 7);
    expect(m.u32(T.TSS_B + TSS32.LINK)).toBe(0);
    expect(m.u32(L.TSS + TSS32.EAX)).toBe(0x1234);
    expect(m.u32(L.TSS + TSS32.EBP)).toBe(0x5678);
    expect(m.u32(L.TSS + TSS32.EIP)).toBe(TSYM.t_jmp_back);
    expect(m.u16(L.TSS + TSS32.CS)).toBe(SEL.CODE0);
    expect(m.u16(L.TSS + TSS32.SS)).toBe(SEL.DATA0);
  });

  it('JMP back resumes the first task where it left, with its registers; busy bits follow the running task', () => {
    expect(rec(m, 0x40)).toBe(0x1234);
    expect(rec(m, 0x44)).toBe(0x5678);
    expect(rec(m, 0x48)).toBe(SEL.TSS);
    expect(m.gdtType(SEL.TSS)).toBe(TSS_BUSY);
    expect(m.gdtType(TSEL.TSS_B)).toBe(TSS_AVAILABLE);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.eip >>> 0).toBe(TSYM.t_jmp_end); // after the final HLT
  });
});

describe('task switch by CALL, IRET back through the link', () => {
  const m = taskMachine('t_call');
  m.runToHalt();

  it('the called task has NT = 1, the caller in its link field, and both tasks busy', () => {
    expect(rec(m, 0) & EFLAGS_NT).toBe(EFLAGS_NT);
    expect(rec(m, 4)).toBe(SEL.TSS);
    expect([rec(m, 8) & 0x1f, rec(m, 12) & 0x1f]).toEqual([TSS_BUSY, TSS_BUSY]);
    expect(rec(m, 20)).toBe(TSYM.t_call_back2); // the second CALL's return point (REC is overwritten)
  });

  it('IRET returns to the caller after its CALL, with its registers and NT = 0, and frees the called task', () => {
    expect(rec(m, 0x40) & EFLAGS_NT).toBe(0);
    expect(rec(m, 0x44)).toBe(0x1111);
    expect([rec(m, 0x48) & 0x1f, rec(m, 0x4c) & 0x1f]).toEqual([TSS_BUSY, TSS_AVAILABLE]);
  });

  it('a CALL through a task gate resumes the task after its IRET (the EIP IRET saved in its TSS)', () => {
    expect(rec(m, 16)).toBe(2);
    expect(m.u32(T.TSS_B + TSS32.EIP)).toBe(TSYM.b_iret + 1);
    expect(m.u32(L.TSS + TSS32.EFLAGS) & EFLAGS_NT).toBe(0); // IRET saved the old task with NT cleared
    expect(m.gdtType(TSEL.TSS_B)).toBe(TSS_AVAILABLE);
    expect(m.cpu.cr0 & CR0_TS).toBe(CR0_TS);
  });
});

describe('IDT task gates: INT n and a hardware interrupt', () => {
  const pic = { pending: 0, hasInterrupt: () => pic.pending > 0, acknowledge: () => (pic.pending--, 0x20) };
  const m = taskMachine('t_int', pic);
  m.idt(0x31, taskGate(TSEL.TSS_B));
  m.idt(0x20, taskGate(TSEL.TSS_B));
  pic.pending = 1;
  m.runToHalt();

  it('INT n through a task gate runs the task with NT = 1 and the link; IRET returns after the INT', () => {
    expect(rec(m, 0x40)).toBe(1);
    expect(rec(m, 4)).toBe(SEL.TSS);
  });

  it('a hardware interrupt through a task gate runs the same task (after its IRET) and returns; IF comes from the TSS', () => {
    expect(rec(m, 16)).toBe(2);
    expect(rec(m, 0) & (EFLAGS_NT | EFLAGS_IF)).toBe(EFLAGS_NT); // the handler task's EFLAGS.IF = 0 from its TSS
    expect(m.u32(L.TSS + TSS32.EFLAGS) & EFLAGS_IF).toBe(EFLAGS_IF); // the interrupted task, saved with IF = 1
    expect(rec(m, 0x44) & EFLAGS_NT).toBe(0);
    expect(m.gdtType(TSEL.TSS_B)).toBe(TSS_AVAILABLE);
    expect(m.cpu.halted).toBe(true);
  });
});

describe('exceptions through task gates', () => {
  it('#GP through a task gate: the error code is pushed on the new task stack; the old task saved at the faulting MOV', () => {
    const m = taskMachine('t_gp');
    m.tss32(T.TSS_B, { eip: TSYM.b_gp, esp: T.B_STACK });
    m.idt(13, taskGate(TSEL.TSS_B));
    m.runToHalt();
    expect(rec(m, 0)).toBe(0x1f8);
    expect(rec(m, 4)).toBe(T.B_STACK - 4);
    expect(rec(m, 8)).toBe(SEL.TSS);
    expect(rec(m, 12)).toBe(TSYM.t_gp_at);
    expect(rec(m, 16) & EFLAGS_NT).toBe(EFLAGS_NT);
    expect(m.log()).toEqual([]);
  });

  it('#DF through a task gate runs on its own stack when the faulting task has none; CR3 from its TSS', () => {
    const m = taskMachine('t_df');
    m.idt(8, taskGate(TSEL.TSS_DF));
    expect(m.runToHalt()).not.toBe(RunExit.TRIPLE_FAULT);
    expect(rec(m, 32)).toBe(1);
    expect(rec(m, 0)).toBe(0); // #DF's error code
    expect(rec(m, 4)).toBe(T.DF_STACK - 4);
    expect(rec(m, 8)).toBe(0x5fffc); // CR2: the first push
    expect(rec(m, 12)).toBe(SEL.TSS);
    expect(rec(m, 16)).toBe(TSYM.t_df_at);
    expect(rec(m, 20)).toBe(0x60000); // the faulting task's ESP, as before the faulting PUSH
    expect(rec(m, 24) & EFLAGS_NT).toBe(EFLAGS_NT);
    expect(rec(m, 28)).toBe(T.PD);
    expect(m.gdtType(TSEL.TSS_DF)).toBe(TSS_BUSY);
    expect(m.gdtType(SEL.TSS)).toBe(TSS_BUSY);
  });
});

describe('a task switch whose old TSS is not present', () => {
  it('is #PF at the JMP with nothing changed: no busy bit, no saved field, CR0.TS clear', () => {
    const m = taskMachine('t_tsspf');
    m.setU32(T.PD + 0x1000 + 4 * (L.TSS >>> 12), 0); // the page of the running task's TSS
    m.runToHalt();
    const log = m.log();
    expect(log.map((e) => [e.vector, e.error, e.eip, e.cr2])).toEqual([[14, 2, TSYM.t_tsspf_at, L.TSS]]);
    expect(m.gdtType(TSEL.TSS_B)).toBe(TSS_AVAILABLE);
    expect(m.gdtType(SEL.TSS)).toBe(TSS_BUSY);
    expect(m.u32(L.TSS + TSS32.EIP)).toBe(0);
    expect(m.cpu.cr0 & CR0_TS).toBe(0);
  });
});

describe('the faults of a task switch', () => {
  const m = taskMachine('t_faults');
  const log = (m.runToHalt(), m.log());

  it('a TSS limit below 0x67 is #TS(selector), before anything changes', () => {
    expect([log[0].vector, log[0].error & 0xffff, log[0].eip]).toEqual([10, TSEL.TSS_BADLIMIT, TSYM.t_badlimit]);
    expect(m.gdtType(TSEL.TSS_BADLIMIT)).toBe(TSS_AVAILABLE);
  });
  it('a TSS not present is #NP(selector)', () => {
    expect([log[1].vector, log[1].error, log[1].eip]).toEqual([11, TSEL.TSS_NP, TSYM.t_np]);
  });
  it('a JMP to the running (busy) task is #GP(selector)', () => {
    expect([log[2].vector, log[2].error, log[2].eip]).toEqual([13, SEL.TSS, TSYM.t_busy]);
  });
  it('a not-present GS in the new TSS is #NP(selector) after the commit point, taken in the new task at its first instruction', () => {
    expect([log[3].vector, log[3].error, log[3].eip, log[3].cs]).toEqual([11, SEL.NOTPRESENT, TSYM.e_start, SEL.CODE0]);
    expect(log[3].handlerEsp).toBe(T.E_STACK - 7 * 4); // the new task's stack: EFLAGS CS EIP error vector EAX EBX
    expect(rec(m, 0)).toBe(TSEL.TSS_E); // the handler returned into task E
    expect(rec(m, 4)).toBe(SEL.NOTPRESENT);
    expect(m.gdtType(TSEL.TSS_E)).toBe(TSS_BUSY);
    expect(m.gdtType(SEL.TSS)).toBe(TSS_AVAILABLE);
  });
  it('IRET with NT = 1 to a link that is not a busy TSS is #TS(link)', () => {
    expect([log[4].vector, log[4].error & 0xffff, log[4].eip]).toEqual([10, SEL.TSS, TSYM.t_iret_ts]);
    expect(log.length).toBe(5);
    expect(m.cpu.halted).toBe(true);
  });
});

describe('a fault after the commit point of a switch through an IDT task gate', () => {
  it('is delivered in the new task, at its first instruction and on its stack; the task then IRETs back to the interrupted one', () => {
    const m = taskMachine('t_int_e');
    m.idt(0x31, taskGate(TSEL.TSS_E));
    m.runToHalt();
    const log = m.log();
    expect(log.length).toBe(1);
    expect([log[0].vector, log[0].error, log[0].eip, log[0].cs]).toEqual([11, SEL.NOTPRESENT, TSYM.e_start, SEL.CODE0]);
    expect(log[0].handlerEsp).toBe(T.E_STACK - 7 * 4);
    expect(rec(m, 0)).toBe(TSEL.TSS_E);
    expect(rec(m, 4) & EFLAGS_NT).toBe(EFLAGS_NT);
    expect(rec(m, 0x40)).toBe(1);
    expect(m.u32(L.TSS + TSS32.EIP)).toBe(TSYM.t_int_e_back);
    expect(m.gdtType(TSEL.TSS_E)).toBe(TSS_AVAILABLE);
    expect(m.gdtType(SEL.TSS)).toBe(TSS_BUSY);
  });
});

describe('a 16-bit TSS', () => {
  it('CALL to a 16-bit TSS loads IP, FLAGS and the low words of the registers, FS = 0; IRET returns', () => {
    const m = taskMachine('t_call16');
    m.runToHalt();
    expect(rec(m, 0) & EFLAGS_NT).toBe(EFLAGS_NT);
    expect(rec(m, 4)).toBe(SEL.TSS);
    expect(rec(m, 8) >>> 0).toBe(0xabcd5555);
    expect(rec(m, 12)).toBe(0);
    expect(rec(m, 16) & 0x1f).toBe(3); // busy 16-bit TSS
    expect(rec(m, 0x40) >>> 0).toBe(0xabcd1234);
    expect(rec(m, 0x44) & 0x1f).toBe(1); // available again
    expect(m.u16(T.TSS_C16 + 0x0e)).toBe(TSYM.c_iret + 1 - T.TASKS); // IP saved after the IRET
  });
});

describe('reset after tasks ran', () => {
  it('leaves TR and LDTR as the SDM gives them after RESET: selector 0, base 0, limit 0xFFFF (table 9-1)', () => {
    const m = taskMachine('t_jmp');
    m.tss32(T.TSS_B, { eip: TSYM.b_jmp, esp: T.B_STACK, ds: TSEL.LDT_DATA, ldt: TSEL.LDT, ebx: 0 });
    m.runToHalt();
    // The descriptor caches are not visible to a program before it loads them again: read them.
    const cpu = m.cpu as unknown as Record<'trSel' | 'trBase' | 'trLimit' | 'ldtSel' | 'ldtBase' | 'ldtLimit', number>;
    expect(cpu.trBase).not.toBe(0); // a TSS was loaded
    m.cpu.reset();
    expect([cpu.trSel, cpu.trBase, cpu.trLimit]).toEqual([0, 0, 0xffff]);
    expect([cpu.ldtSel, cpu.ldtBase, cpu.ldtLimit]).toEqual([0, 0, 0xffff]);
  });
});

describeCpu('the TSS T (debug trap) bit', () => {
  it('a switch to a task whose TSS has T = 1 traps (#DB, DR6.BT) before its first instruction', () => {
    const GDT = 0x1000;
    const IDT = 0x2000;
    const CODE = 0x10000;
    const HANDLER = 0x11000;
    const TASK_B = 0x12000;
    const TSS_A = 0x3000;
    const TSS_B = 0x3100;
    const rig = makeRig(4);
    const gate = flatTables(rig, GDT, IDT);
    // 0x28: TSS A (the running task), 0x30: TSS B; 32-bit available TSSs, limit 0x67.
    for (const [at, base] of [
      [GDT + 0x28, TSS_A],
      [GDT + 0x30, TSS_B],
    ]) {
      const [lo, hi] = segment(base, 0x67, 0x89, 0);
      rig.setU32(at, lo);
      rig.setU32(at + 4, hi);
    }
    rig.load(GDT + 0x100, [0x37, 0]); // the GDT's limit with the two TSSs
    const set32 = (at: number, v: number) => rig.setU32(at, v);
    set32(TSS_B + TSS32.EIP, TASK_B);
    set32(TSS_B + TSS32.EFLAGS, 2);
    set32(TSS_B + TSS32.ESP, 0x9800);
    for (const [field, sel] of [
      [TSS32.CS, 0x08],
      [TSS32.SS, 0x10],
      [TSS32.DS, 0x10],
      [TSS32.ES, 0x10],
      [TSS32.FS, 0x10],
      [TSS32.GS, 0x10],
    ])
      set32(TSS_B + field, sel);
    rig.load(TSS_B + 0x64, [1, 0, 0x68, 0]); // T = 1; the I/O map base past the limit
    gate(1, HANDLER);
    // #DB: push eax; mov eax, dr6; mov [0x8000], eax; mov eax, [esp+4]; mov [0x8004], eax; pop eax; iret
    rig.load(HANDLER, [
      0x50,
      0x0f,
      0x21,
      0xf0,
      0xa3,
      ...le(0x8000),
      0x8b,
      0x44,
      0x24,
      0x04,
      0xa3,
      ...le(0x8004),
      0x58,
      0xcf,
    ]);
    rig.load(TASK_B, [0x90, 0xf4]); // nop; hlt
    // lgdt; lidt; mov ax, 0x28; ltr ax; jmp 0x30:0
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE, [...pre, 0x66, 0xb8, 0x28, 0, 0x0f, 0x00, 0xd8, 0xea, 0, 0, 0, 0, 0x30, 0]);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.halted).toBe(true);
    expect(rig.cpu.eip >>> 0).toBe(TASK_B + 2);
    expect(rig.u32(0x8004), 'the trap came before the new task ran').toBe(TASK_B);
    expect(rig.u32(0x8000) & 0x8000, 'DR6.BT').toBe(0x8000);
  });
});

/**
 * An exception with an error code through an IDT task gate (SDM vol. 2, INT n, TASK-GATE: after
 * the switch, "Push(error code)"): the code goes on the new task's stack, as wide as its TSS
 * (32 bits for a 32-bit TSS, 16 for a 16-bit one, as Bochs pushes it). Ring 0 loads DS with a
 * selector past the GDT: #GP(40h), through IDT 13's task gate to task B.
 */
describeCpu('an error code through an IDT task gate, sized by the new TSS', () => {
  /**
   * `ring3`: task B (32-bit TSS) runs at ring 3 from EIP 6000h past its code segment's limit FFFh,
   * its ring-0 stack 10h:9000h; IDT 8 leads to a ring-0 handler at 5000h.
   */
  function errorCodeOnB(b32: boolean, ring3 = false) {
    const GDT = 0x1000;
    const IDT = 0x2000;
    const TSS_A = 0x3000;
    const TSS_B = 0x3100;
    const TASK_B = 0x6000;
    const CODE = 0x10000;
    const rig = makeRig(4);
    flatTables(rig, GDT, IDT);
    const put = (at: number, d: [number, number]) => putDescriptor(rig, at, d);
    put(GDT + 0x18, segment(TSS_A, 0x67, 0x89, 0));
    put(GDT + 0x20, b32 ? segment(TSS_B, 0x67, 0x89, 0) : segment(TSS_B, 0x2b, 0x81, 0));
    put(GDT + 0x30, segment(0, 0xfff, 0xfa, 4)); // ring-3 code, limit FFFh
    put(GDT + 0x38, segment(0, 0xffffffff, 0xf2, 4)); // ring-3 data
    rig.load(GDT + 0x100, [0x3f, 0]);
    put(IDT + 8 * 13, [0x20 << 16, 0x8500]); // a task gate to task B
    put(IDT + 8 * 8, [(0x08 << 16) | 0x5000, 0x8e00]); // #DF: an interrupt gate to ring 0
    rig.load(0x5000, [0xf4]);
    if (b32) {
      rig.setU32(TSS_B + TSS32.EIP, TASK_B);
      rig.setU32(TSS_B + TSS32.EFLAGS, 2);
      rig.setU32(TSS_B + TSS32.ESP, 0x7000);
      for (const field of [TSS32.SS, TSS32.DS, TSS32.ES, TSS32.FS, TSS32.GS])
        rig.setU32(TSS_B + field, ring3 ? 0x3b : 0x10);
      rig.setU32(TSS_B + TSS32.CS, ring3 ? 0x33 : 0x08);
      rig.setU32(TSS_B + TSS32.ESP0, 0x9000);
      rig.setU32(TSS_B + TSS32.SS0, 0x10);
    } else {
      // IP, FLAGS, SP; ES, CS, SS, DS (SDM vol. 3, figure 7-11)
      for (const [off, v] of [
        [0x0e, TASK_B],
        [0x10, 2],
        [0x1a, 0x7000],
        [0x22, 0x10],
        [0x24, 0x08],
        [0x26, 0x10],
        [0x28, 0x10],
      ])
        rig.load(TSS_B + off, [v & 0xff, v >>> 8]);
    }
    rig.memory.u8.fill(0xa5, 0x6ff8, 0x7000);
    rig.load(TASK_B, [0xf4]);
    // mov $0x18,%ax; ltr %ax; mov $0x40,%ax; mov %ax,%ds (#GP(40h))
    const pre = loadFlatTables(GDT, IDT);
    rig.load(CODE, [...pre, 0x66, 0xb8, 0x18, 0, 0x0f, 0x00, 0xd8, 0x66, 0xb8, 0x40, 0, 0x8e, 0xd8, 0xf4]);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.cpu.eip >>> 0, ring3 ? 'halted in the #DF handler' : 'halted in task B').toBe(
      ring3 ? 0x5001 : TASK_B + 1,
    );
    const esp = rig.cpu.reg32[4] >>> 0;
    const frame = Array.from({ length: 6 }, (_, i) => rig.u32(esp + 4 * i));
    return { esp, below: [...rig.memory.u8.subarray(0x6ff8, 0x7000)], frame };
  }

  it('a 32-bit TSS: the error code in 4 bytes below its ESP', () => {
    expect(errorCodeOnB(true)).toMatchObject({ esp: 0x6ffc, below: [0xa5, 0xa5, 0xa5, 0xa5, 0x40, 0, 0, 0] });
  });

  it('a 16-bit TSS: in 2 bytes', () => {
    expect(errorCodeOnB(false)).toMatchObject({ esp: 0x6ffe, below: [0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0x40, 0] });
  });

  it('pushed before the new EIP is checked: then #GP(0) in task B, a #DF during the #GP, ESP as the TSS gave it', () => {
    const { below, frame } = errorCodeOnB(true, true);
    expect(below, 'the error code written').toEqual([0xa5, 0xa5, 0xa5, 0xa5, 0x40, 0, 0, 0]);
    // #DF(0) at task B's first instruction, CS 33h, its stack 3Bh:7000h
    expect([frame[0], frame[1], frame[2], frame[4], frame[5]]).toEqual([0, 0x6000, 0x33, 0x7000, 0x3b]);
  });
});
