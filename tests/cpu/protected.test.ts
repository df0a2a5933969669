/**
 * Protected mode by hand-written programs (tests/cpu/programs/tests.S, run on the machine of
 * pm-machine.ts): ring transitions through gates and IRET with the TSS stack switch, the error
 * codes of #GP/#NP/#SS/#TS/#UD/#DE and the saved EIP of faults, and a triple fault.
 */
import { expect, it } from 'vitest';
import { describeCpu, RunExit } from './rig';
import { L, pmMachine, SEL, SYM } from './pm-machine';

const GP = 13;
const NP = 11;
const SS = 12;
const TS = 10;

describeCpu('protected mode: rings, gates, IRET', () => {
  const m = pmMachine('rings');
  const log = (m.runToHalt(), m.log());

  it('IRET to ring 3 loads CS with RPL 3 and nulls data segment registers of DPL 0', () => {
    expect(m.rec(0)).toBe(0);
    expect(m.rec(1) & 0xffff).toBe(SEL.CODE3);
  });

  it('INT through a DPL-3 interrupt gate switches to TSS.SS0:ESP0 and pushes SS, ESP, EFLAGS, CS, EIP', () => {
    const e = log[0];
    expect(e.vector).toBe(0x30);
    expect(e.cs).toBe(SEL.CODE3);
    expect(e.eip).toBe(SYM.at_int30 + 2); // a trap-like event: the return address follows INT n
    expect(e.esp).toBe(L.RING3_STACK);
    expect(e.ss).toBe(SEL.DATA3);
    // The handler's frame sits just below TSS.ESP0: SS ESP EFLAGS CS EIP, error, vector, EAX, EBX.
    expect(e.handlerEsp).toBe(L.TSS_ESP0 - 9 * 4);
  });

  it('IRET from ring 0 back to ring 3 restores the ring-3 stack', () => {
    expect(m.rec(2)).toBe(L.RING3_STACK);
  });

  it('a far CALL through a DPL-3 call gate reaches ring 0 on the TSS stack and LRET returns to ring 3', () => {
    const e = log[1];
    expect(e.vector).toBe(0x100);
    expect(e.error & 0xffff).toBe(SEL.CODE0); // CS inside the gate's target
    expect(e.eip).toBe(SYM.after_lcall);
    expect(e.cs).toBe(SEL.CODE3);
    expect(e.esp).toBe(L.RING3_STACK);
    expect(e.ss).toBe(SEL.DATA3);
    expect(e.handlerEsp).toBe(L.TSS_ESP0 - 6 * 4);
    expect(m.rec(3) & 0xffff).toBe(SEL.CODE3);
    expect(m.rec(4)).toBe(L.RING3_STACK);
  });

  it('INT n through a gate of DPL < CPL is #GP with the IDT error code (vector × 8 + 2)', () => {
    const e = log[2];
    expect([e.vector, e.error]).toEqual([GP, 0x31 * 8 + 2]);
    expect(e.eip).toBe(SYM.at_int31); // a fault: EIP of the INT instruction
    expect(e.cs).toBe(SEL.CODE3);
  });

  it('CLI at CPL 3 with IOPL 0 is #GP(0)', () => {
    expect([log[3].vector, log[3].error]).toEqual([GP, 0]);
  });

  it('loading FS with a DPL-0 data selector at CPL 3 is #GP(selector)', () => {
    expect([log[4].vector, log[4].error]).toEqual([GP, SEL.DATA0]);
  });

  it('a stack switch to a null TSS.SS0 is #TS(0), with the INT instruction as the saved EIP', () => {
    const e = log[5];
    expect([e.vector, e.error & 0xfffc]).toEqual([TS, 0]);
    expect(e.eip).toBe(SYM.at_int30_ts);
  });

  it('a stack switch to a not-present TSS.SS0 is #SS(selector), not #TS (SDM vol. 2, INT n)', () => {
    const e = log[6];
    expect([e.vector, e.error & 0xfffc]).toEqual([SS, SEL.NOTPRESENT]);
    expect(e.eip).toBe(SYM.at_int30_ss);
  });

  it('MOV from CR0 at CPL 3 is #GP(0); HLT at CPL 3 is #GP(0)', () => {
    expect([log[7].vector, log[7].error]).toEqual([GP, 0]);
    expect(m.rec(5) & 0xffff).toBe(SEL.CODE3);
    expect([log[8].vector, log[8].error, log[8].cs]).toEqual([GP, 0, SEL.CODE3]);
    expect(log.length).toBe(9);
    expect(m.cpu.halted).toBe(true);
  });
});

describeCpu('protected mode: segment loads and their error codes', () => {
  const m = pmMachine('segments');
  const log = (m.runToHalt(), m.log());
  const codes = log.map((e) => [e.vector, e.vector === 6 || e.vector === 0 ? 0 : e.error]);

  it('not-present DS is #NP(selector), at the faulting instruction', () => {
    expect(codes[0]).toEqual([NP, SEL.NOTPRESENT]);
    expect(log[0].eip).toBe(SYM.at_np);
    expect(log[0].cs).toBe(SEL.CODE0);
  });
  it('not-present SS is #SS(selector)', () => expect(codes[1]).toEqual([SS, SEL.NOTPRESENT]));
  it('a code segment in SS is #GP(selector)', () => expect(codes[2]).toEqual([GP, SEL.CODE0]));
  it('a null SS is #GP(0)', () => expect(codes[3]).toEqual([GP, 0]));
  it('a selector beyond the GDT limit is #GP(selector)', () => expect(codes[4]).toEqual([GP, 0x1f8]));
  it('an access crossing the segment limit is #GP(0); the last dword inside is fine', () => {
    expect(codes[5]).toEqual([GP, 0]);
    expect(m.rec(0)).toBe(m.u32(0xffc));
  });
  it('an access through a null data selector is #GP(0)', () => expect(codes[6]).toEqual([GP, 0]));
  it('a write to a code segment is #GP(0)', () => expect(codes[7]).toEqual([GP, 0]));
  it('UD2 is #UD and DIV by zero is #DE', () => {
    expect(codes[8]).toEqual([6, 0]);
    expect(codes[9]).toEqual([0, 0]);
  });
  it('LOCK on a register destination or on NOP is #UD', () => {
    expect(codes[10]).toEqual([6, 0]);
    expect(codes[11]).toEqual([6, 0]);
    expect(m.rec(1)).toBe(0xdead);
    expect(log.length).toBe(12);
  });
});

describeCpu('protected mode: LAR/LSL/VERR/VERW, expand-down, conforming code, I/O bitmap', () => {
  const m = pmMachine('selectors');
  const log = (m.runToHalt(), m.log());
  const byte = (off: number) => m.memory.u8[L.REC + off];

  it('LAR gives the access rights (bits 23:20 and 15:8; 19:16 undefined) and sets ZF', () => {
    expect(byte(0)).toBe(1);
    expect(m.rec(1) & 0x00f0ff00).toBe(0x00c0f200);
  });
  it('LSL gives the byte-granular limit, scaled when G = 1', () => {
    expect(m.rec(2)).toBe(0xfff);
    expect(m.rec(3)).toBe(0xffffffff);
  });
  it('LAR of a selector beyond the GDT limit clears ZF and leaves the destination', () => {
    expect(byte(16)).toBe(0);
    expect(m.rec(5)).toBe(0x5a5a5a5a);
  });
  it('VERR/VERW: readable code is readable, never writable; data is writable', () => {
    expect([byte(24), byte(25), byte(26)]).toEqual([1, 0, 1]);
  });
  it('an expand-down segment faults at offsets up to its limit and allows those above', () => {
    expect([log[0].vector, log[0].error, log[0].eip]).toEqual([GP, 0, SYM.at_expand_down]);
    expect(m.rec(7)).toBe(m.u32(0x1000));
  });
  it('a far CALL to conforming code from ring 3 stays at CPL 3 (CS.RPL = 3)', () => {
    expect(m.rec(8) & 0xffff).toBe(SEL.CONFORMING | 3);
  });
  it('at CPL 3 > IOPL, the TSS I/O bitmap allows port 0x80, denies ports past its end and a word write that covers a denied port', () => {
    expect(m.portWrites).toEqual([{ port: 0x80, size: 1, value: 0x42 }]);
    expect([log[1].vector, log[1].error, log[1].eip]).toEqual([GP, 0, SYM.at_out_e9]);
    expect([log[2].vector, log[2].error]).toEqual([GP, 0]);
    expect([log[3].vector, log[3].error, log[3].cs]).toEqual([GP, 0, SEL.CODE3]);
    expect(log.length).toBe(4);
  });
});

describeCpu('triple fault', () => {
  it('an exception with no usable IDT shuts the processor down: run() reports TRIPLE_FAULT, no host exception', () => {
    const m = pmMachine('triple');
    expect(m.runToHalt()).toBe(RunExit.TRIPLE_FAULT);
  });
});
