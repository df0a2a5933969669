/**
 * Hardware interrupts (programs/tests.S, "interrupts"): the CPU asks the interrupt controller at
 * instruction boundaries only when EFLAGS.IF = 1 and no STI or MOV SS shadow is in force (SDM
 * vol. 3, 6.8.3 and vol. 2, STI), delivers through the IDT, and wakes from HLT.
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, le, makeRig } from './rig';
import { L, pmMachine, SEL, SYM } from './pm-machine';

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
    const pre = [0x0f, 0x01, 0x15, ...le(GDT + 0x100), 0x0f, 0x01, 0x1d, ...le(IDT + 0x800)];
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
