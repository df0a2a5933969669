/**
 * Hardware interrupts (programs/tests.S, "interrupts"): the CPU asks the interrupt controller at
 * instruction boundaries only when EFLAGS.IF = 1 and no STI or MOV SS shadow is in force (SDM
 * vol. 3, 6.8.3 and vol. 2, STI), delivers through the IDT, and wakes from HLT.
 */
import { expect, it } from 'vitest';
import { describeCpu } from './rig';
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
