/**
 * Debug-register breakpoints (SDM vol. 3, 17.2–17.3): DR0–DR3 with DR7's enables, R/W and LEN.
 * An instruction breakpoint is a #DB fault before the instruction (EIP at it, DR6.Bn, RF = 0 in
 * the pushed EFLAGS), which the handler's IRETD with RF = 1 in the image lets run once; a data
 * breakpoint is a #DB trap after the access's instruction (EIP at the next one), for writes or
 * for reads and writes of the 1, 2 or 4 bytes LEN covers, implicit stack writes included; a
 * breakpoint DR7 does not enable never fires; a fault pushes RF = 1, so the faulting instruction,
 * restarted, does not stop at its breakpoint again; DR7.GD makes a MOV DRn a #DB fault with
 * DR6.BD. The programs were assembled with `as --32` from the listings in the comments.
 */
import { expect, it } from 'vitest';
import type { InterruptController } from '../../src/machine/bus';
import { describeCpu, flatTables, loadFlatTables, makeRig, type Rig, hexBytes } from './rig';

const GDT = 0x1000;
const IDT = 0x2000;
const CODE = 0x10000;
const LOG = 0x8000;
const RF = 0x10000;

/** Runs `main` at CODE (handlers at CODE + offset, by vector) to HLT; returns the rig and its log. */
function runProgram(
  main: string,
  handlers: [vector: number, offset: number][],
  parts: [number, string][],
  pic?: InterruptController,
) {
  const rig = makeRig(4, pic);
  const gate = flatTables(rig, GDT, IDT);
  for (const [vector, offset] of handlers) gate(vector, CODE + offset);
  for (const [offset, bytes] of parts) rig.load(CODE + offset, hexBytes(bytes));
  const pre = loadFlatTables(GDT, IDT);
  rig.load(CODE - pre.length, [...pre, ...hexBytes(main)]);
  rig.cpu.enterProtectedModeFlat(CODE - pre.length, { esp: 0x9000, ebp: LOG });
  rig.cpu.run(2000);
  expect(rig.cpu.halted, `EIP ${(rig.cpu.eip >>> 0).toString(16)}`).toBe(true);
  return { rig, log: events(rig) };
}

/** The handlers' records: vector, EIP - CODE, the pushed EFLAGS' RF, and DR6 (or the error code). */
function events(rig: Rig) {
  const n = (rig.cpu.reg32[5] - LOG) / 16;
  return Array.from({ length: n }, (_, i) => {
    const at = LOG + 16 * i;
    return {
      vector: rig.u32(at),
      eip: rig.u32(at + 4) - CODE,
      rf: (rig.u32(at + 8) & RF) !== 0,
      dr6: rig.u32(at + 12),
    };
  });
}

/**
 * 180 log: mov %eax,(%ebp); EIP, EFLAGS, DR6 to 4/8/12(%ebp); add $16,%ebp;
 * orl $0x10000,12(%esp) (RF in the image); pop %eax; iret
 */
const LOG_AND_RESUME = '8945008b4424048945048b44240c8945080f21f089450c83c510814c240c0000010058cf';

describeCpu('debug-register breakpoints', () => {
  it('instruction, write and read/write breakpoints, implicit stack writes, disabled ones, RF, GD', () => {
    //  0 mov $target,%eax; mov %eax,%dr0       8 mov $0x5000,%eax; mov %eax,%dr1
    // 10 mov $0x5012,%eax; mov %eax,%dr2      18 mov $0x5100,%eax; mov %eax,%dr3 (never enabled)
    // 20 mov $0x07d00019,%eax; mov %eax,%dr7  (L0 execute; G1 write, LEN 4; L2 read/write, LEN 2)
    // 28 nop                                   29 target: inc %ebx     2a inc %ebx
    // 2b movl $5,0x5000 (trap, B1)             35 mov 0x5000,%ecx (a read: none)
    // 3b movb 0x5011,%cl (below the word: none)  41 mov 0x5010,%edx (covers 0x5012: trap, B2)
    // 47 movl $7,0x5100 (DR3 off: none)        51 mov $0x5004,%esp     56 push %esi (trap, B1)
    // 57 mov $0x9000,%esp                      5c ud2 (#UD; its handler skips it)
    // 5e mov %dr7,%eax; or $0x2000,%eax; mov %eax,%dr7 (GD)   69 gd_mov: mov %dr6,%eax (#DB, BD)
    // 6c xor %eax,%eax; mov %eax,%dr7          71 movl $6,0x5000 (nothing armed: none)   7b hlt
    // 100 #DB: push %eax; mov $1,%eax; jmp log     140 #UD: push %eax; mov $6,%eax; addl $2,4(%esp); jmp log
    // 180 log: mov %eax,(%ebp); EIP, EFLAGS, DR6 to 4/8/12(%ebp); add $16,%ebp;
    //          orl $0x10000,12(%esp) (RF in the image); pop %eax; iret
    const main =
      'b8290001000f23c0b8005000000f23c8b8125000000f23d0b8005100000f23d8b81900d0070f23f8904343c7050050000005000000' +
      '8b0d005000008a0d115000008b1510500000c7050051000007000000bc0450000056bc009000000f0b0f21f80d002000000f23f8' +
      '0f21f031c00f23f8c7050050000006000000f4';
    const { rig, log } = runProgram(
      main,
      [
        [1, 0x100],
        [6, 0x140],
      ],
      [
        [0x100, '50b801000000eb78'],
        [0x140, '50b8060000008344240402eb33'],
        [0x180, '8945008b4424048945048b44240c8945080f21f089450c83c510814c240c0000010058cf'],
      ],
    );
    expect(log.map(({ vector, eip, rf }) => ({ vector, eip, rf }))).toEqual([
      { vector: 1, eip: 0x29, rf: false }, // before `target`; RF as it was
      { vector: 1, eip: 0x35, rf: false }, // after the store to 0x5000
      { vector: 1, eip: 0x47, rf: false }, // after the dword read over 0x5012
      { vector: 1, eip: 0x57, rf: false }, // after the PUSH to 0x5000
      { vector: 6, eip: 0x5e, rf: true }, // ud2 at 5c, a fault: RF = 1 (EIP as its handler moved it)
      { vector: 1, eip: 0x69, rf: true }, // general detect: a fault, before the MOV DRn
    ]);
    const low = log.map((e) => e.dr6 & 0xf);
    expect([low[0], low[1], low[2], low[3]]).toEqual([1, 2, 4, 2]);
    expect(log[5].dr6 & 0x2000).toBe(0x2000); // DR6.BD
    expect(rig.cpu.reg32[3]).toBe(2); // `target` ran once, after the handler's IRETD with RF
    expect(rig.u32(0x5000)).toBe(6);
    expect(rig.u32(0x5100)).toBe(7);
    expect(rig.cpu.getEflags() & RF).toBe(0); // RF lasted one instruction
  });

  it('a fault pushes RF = 1: the instruction restarted after it does not stop at its breakpoint again', () => {
    //  0 mov $bp_insn,%eax; mov %eax,%dr0      8 mov $1,%eax; mov %eax,%dr7 (L0, execute)
    // 10 mov $0x1234,%eax (a selector past the GDT's limit)   15 bp_insn: mov %ax,%ds   17 hlt
    // 100 #DB: log vector 1, EIP, EFLAGS; set RF in the image; iret
    // 140 #GP: log vector 13, EIP, EFLAGS, the error code; mov $0x10,%eax; iret (RF as pushed)
    const main = 'b8150001000f23c0b8010000000f23f8b8341200008ed8f4';
    const { rig, log } = runProgram(
      main,
      [
        [1, 0x100],
        [13, 0x140],
      ],
      [
        [0x100, 'c7450001000000508b4424048945048b44240c89450883c510814c240c0000010058cf'],
        [0x140, 'c745000d0000005889450c8b04248945048b44240889450883c510b810000000cf'],
      ],
    );
    expect(log).toEqual([
      { vector: 1, eip: 0x15, rf: false, dr6: expect.any(Number) as number },
      { vector: 13, eip: 0x15, rf: true, dr6: 0x1234 }, // dr6 holds the error code here
    ]);
    expect(rig.cpu.segSel[3]).toBe(0x10);
  });

  it('entering the #DB handler clears DR7.GD, whatever the #DB is for: the handler may read DR6 and DR7', () => {
    //  0 mov $target,%eax; mov %eax,%dr0       8 mov $0x2001,%eax; mov %eax,%dr7 (L0 execute, GD)
    // 10 target: nop   11 hlt
    // 100 #DB: push %eax; DR6, DR7 and the pushed EIP to (%ebp), 4(%ebp), 8(%ebp); add $12,%ebp;
    //     orl $0x10000,12(%esp); pop %eax; iret
    const main = 'b8100001000f23c0b8012000000f23f890f4';
    const { rig } = runProgram(
      main,
      [[1, 0x100]],
      [[0x100, '500f21f08945000f21f88945048b44240489450883c50c814c240c0000010058cf']],
    );
    expect(rig.cpu.reg32[5]).toBe(LOG + 12); // one #DB: the handler's MOV DRn did not fault
    expect(rig.u32(LOG) & 0x200f).toBe(1); // B0, not BD
    expect(rig.u32(LOG + 4) & 0x2000).toBe(0);
    expect(rig.u32(LOG + 8) - CODE).toBe(0x10);
  });

  it('no breakpoint while DR7 enables none, whatever DR0–DR3 and R/W hold', () => {
    //  0 mov $target,%eax; mov %eax,%dr0; mov %eax,%dr1   b mov $0x00330000,%eax; mov %eax,%dr7
    //    (R/W and LEN set, L/G clear)   13 target: inc %ebx   14 movl $1,target   1e hlt
    const main = 'b8130001000f23c00f23c8b8000033000f23f843c7051300010001000000f4';
    const { rig, log } = runProgram(main, [[1, 0x100]], [[0x100, 'f4']]);
    expect(log).toEqual([]);
    expect(rig.cpu.reg32[3]).toBe(1);
  });

  it('I/O breakpoints (CR4.DE, R/W = 10): a trap after IN, OUT or OUTS touching the port range; none without DE; DR4 is #UD under DE', () => {
    //  0 mov %cr4,%eax; or $8,%eax; mov %eax,%cr4 (DE)     9 DR0 = 80h   11 DR1 = 71h
    // 19 DR7 = 620005h (L0: I/O, 1 byte; L1: I/O, 2 bytes: ports 70h–71h)
    // 21 out %al,$0x80 (B0)   23 out %al,$0x81 (none)   25 mov $0x70,%dx; 29 in (%dx),%al (B1)
    // 2a mov $0x6f,%dx; 2e in (%dx),%ax (6Fh–70h: B1)   30 mov $0x80,%dx; mov $0x5000,%esi; 39 outsb (B0)
    // 3a CR4.DE off   43 out %al,$0x80 (none: R/W = 10 means nothing without DE)   45 CR4.DE on
    // 4e mov %dr4,%eax (#UD: DR4 does not exist under DE)   51 hlt
    const main =
      '0f20e083c8080f22e0b8800000000f23c0b8710000000f23c8b8050062000f23f8e680e68166ba7000ec66ba6f0066ed' +
      '66ba8000be005000006e0f20e083e0f70f22e0e6800f20e083c8080f22e00f21e0f4';
    const { log } = runProgram(
      main,
      [
        [1, 0x100],
        [6, 0x140],
      ],
      [
        [0x100, '50b801000000eb78'],
        [0x140, '50b8060000008344240403eb33'], // #UD: skip the 3-byte MOV
        [0x180, '8945008b4424048945048b44240c8945080f21f089450c83c510814c240c0000010058cf'],
      ],
    );
    expect(log.map(({ vector, eip, rf, dr6 }) => ({ vector, eip, rf, b: vector === 1 ? dr6 & 0xf : 0 }))).toEqual([
      { vector: 1, eip: 0x23, rf: false, b: 1 }, // after OUT 80h
      { vector: 1, eip: 0x2a, rf: false, b: 2 }, // after IN from 70h
      { vector: 1, eip: 0x30, rf: false, b: 2 }, // after the word IN from 6Fh, reaching 70h
      { vector: 1, eip: 0x3a, rf: false, b: 1 }, // after OUTSB to 80h
      { vector: 6, eip: 0x51, rf: true, b: 0 }, // MOV from DR4 under DE (EIP as its handler moved it)
    ]);
  });

  it('after MOV SS: a breakpoint on the next instruction is not triggered, the one after it is (SDM vol. 3, 17.3.1.1)', () => {
    //  0 mov $after_ss,%eax; mov %eax,%dr0     8 mov $later,%eax; mov %eax,%dr1
    // 10 mov $5,%eax; mov %eax,%dr7 (L0, L1: execute)   18 mov %ss,%eax   1a mov %eax,%ss
    // 1c after_ss: inc %ebx (DR0: not triggered)   1d later: inc %ebx (DR1: #DB)   1e hlt
    const main = 'b81c0001000f23c0b81d0001000f23c8b8050000000f23f88cd08ed04343f4';
    const { rig, log } = runProgram(
      main,
      [[1, 0x100]],
      [
        [0x100, '50b801000000eb78'],
        [0x180, LOG_AND_RESUME],
      ],
    );
    expect(log.map(({ vector, eip, dr6 }) => ({ vector, eip, b: dr6 & 0xf }))).toEqual([
      { vector: 1, eip: 0x1d, b: 2 },
    ]);
    expect(rig.cpu.reg32[3]).toBe(2);
  });

  it('a data breakpoint MOV SS hits traps after the next instruction; before an INT3, once the #BP handler is entered (6.8.3)', () => {
    //  0 movw $0x10,0x5000   9 mov $0x5000,%eax; mov %eax,%dr0   11 mov $0x70001,%eax; mov %eax,%dr7
    //    (L0: read/write, 2 bytes)   19 mov 0x5000,%ss (B0)   1f inc %ebx   20 mov 0x5000,%ss (B0)
    // 26 int3   27 hlt
    // 100 #DB: log vector 1   140 #BP: log vector 3   180 log (as above); iret
    const main = '66c705005000001000b8005000000f23c0b8010007000f23f88e1500500000438e1500500000ccf4';
    const { log } = runProgram(
      main,
      [
        [1, 0x100],
        [3, 0x140],
      ],
      [
        [0x100, '50b801000000eb78'],
        [0x140, '50b803000000eb38'],
        [0x180, LOG_AND_RESUME],
      ],
    );
    expect(log.map(({ vector, eip, dr6 }) => ({ vector, eip, b: vector === 1 ? dr6 & 0xf : 0 }))).toEqual([
      { vector: 1, eip: 0x20, b: 1 }, // after the INC that followed the first MOV SS
      { vector: 1, eip: 0x140, b: 1 }, // at the #BP handler's first instruction, before it runs
      { vector: 3, eip: 0x27, b: 0 }, // then the #BP handler itself
    ]);
  });

  it('single-step over MOV SS: one trap, after the instruction that follows it (6.8.3)', () => {
    //  0 mov %ss,%eax   2 pushf; orl $0x100,(%esp); 0a popf (TF)   0b mov %eax,%ss   0d inc %ebx
    // 0e nop   0f hlt   100 #DB: push %eax; clear TF in the image; mov $1,%eax; jmp log
    const main = '8cd09c810c24000100009d8ed04390f4';
    const { log } = runProgram(
      main,
      [[1, 0x100]],
      [
        [0x100, '508164240cfffeffffb801000000eb70'],
        [0x180, LOG_AND_RESUME],
      ],
    );
    expect(log.map(({ vector, eip, dr6 }) => ({ vector, eip, bs: (dr6 & 0x4000) !== 0 }))).toEqual([
      { vector: 1, eip: 0x0e, bs: true },
    ]);
  });

  it('INT1 (ICEBP, F1) is a #DB trap: EIP after it, no B0–B3 set; the handler returns past it', () => {
    // 0 int1   1 inc %ebx   2 hlt      100 #DB: log vector 1
    const { rig, log } = runProgram(
      'f143f4',
      [[1, 0x100]],
      [
        [0x100, '50b801000000eb78'],
        [0x180, LOG_AND_RESUME],
      ],
    );
    expect(log.map(({ vector, eip, dr6 }) => ({ vector, eip, b: dr6 & 0xf }))).toEqual([{ vector: 1, eip: 1, b: 0 }]);
    expect(rig.cpu.reg32[3]).toBe(1);
  });
});

/**
 * The STI shadow (SDM vol. 2, STI; vol. 3, 6.8.3 and the VMX interruptibility state, "blocking by
 * STI"): an STI that sets IF holds maskable interrupts on the boundary after it, and nothing else.
 * Unlike MOV SS's, it does not hold the single-step or data-breakpoint traps (Bochs's STI inhibits
 * interrupts only; QEMU's keeps TF): the single-step trap of STI comes right after it.
 */
describeCpu('the STI shadow holds interrupts, not debug traps', () => {
  /** A controller with one request raised from the start (vector 20h); INTA takes it. */
  const onePending = () => {
    let pending = 1;
    return { hasInterrupt: () => pending > 0, acknowledge: () => (pending--, 0x20) };
  };

  it('single-step over STI with IF 0 → 1 traps after STI; a data breakpoint the next instruction hits, after it', () => {
    //  0 mov $0x5000,%eax; mov %eax,%dr0   8 mov $0xd0001,%eax; mov %eax,%dr7 (L0: write, LEN 4)
    // 10 cli   11 pushf; orl $0x100,(%esp); 19 popf (TF)   1a sti   1b movl $5,0x5000 (B0)
    // 25 inc %ebx   26 pushf; andl $~0x100,(%esp); 2e popf   2f hlt
    // 100 #DB: log vector 1 (TF stays set in the image)
    const main = 'b8005000000f23c0b801000d000f23f8fa9c810c24000100009dfbc7050050000005000000439c812424fffeffff9df4';
    const { rig, log } = runProgram(
      main,
      [[1, 0x100]],
      [
        [0x100, '50b801000000eb78'],
        [0x180, LOG_AND_RESUME],
      ],
    );
    expect(log.map(({ vector, eip }) => ({ vector, eip }))).toEqual(
      [0x1b, 0x25, 0x26, 0x27, 0x2e, 0x2f].map((eip) => ({ vector: 1, eip })),
    );
    const [afterSti, afterStore] = log;
    expect(rig.u32(LOG + 8) & 0x300, 'the pushed EFLAGS: STI has set IF; TF').toBe(0x300);
    expect(afterSti.dr6 & 0x400f, 'BS alone').toBe(0x4000);
    expect(afterStore.dr6 & 0x400f, 'BS and B0').toBe(0x4001);
    expect(rig.u32(0x5000)).toBe(5);
    expect(rig.cpu.reg32[3]).toBe(1);
  });

  it('a request pending as STI runs is taken after the next instruction, not before', () => {
    // 0 cli   1 sti   2 inc %ebx   3 nop   4 hlt      140 vector 20h: log it
    const { rig, log } = runProgram(
      'fafb4390f4',
      [[0x20, 0x140]],
      [
        [0x140, '50b820000000eb38'],
        [0x180, LOG_AND_RESUME],
      ],
      onePending(),
    );
    expect(log.map(({ vector, eip }) => ({ vector, eip }))).toEqual([{ vector: 0x20, eip: 3 }]);
    expect(rig.cpu.reg32[3]).toBe(1);
  });

  it('with TF set too, the #DB after STI comes first and uses the shadow up: the request is taken on its IRET', () => {
    //  0 cli   1 pushf; orl $0x100,(%esp); 9 popf   a sti   b inc %ebx   c nop   d hlt
    // 100 #DB: clear TF in the image; log vector 1   140 vector 20h: log it
    const { rig, log } = runProgram(
      'fa9c810c24000100009dfb4390f4',
      [
        [1, 0x100],
        [0x20, 0x140],
      ],
      [
        [0x100, '508164240cfffeffffb801000000eb70'],
        [0x140, '50b820000000eb38'],
        [0x180, LOG_AND_RESUME],
      ],
      onePending(),
    );
    expect(log.map(({ vector, eip }) => ({ vector, eip }))).toEqual([
      { vector: 1, eip: 0x0b }, // the single-step trap of STI, on the shadow's boundary
      { vector: 0x20, eip: 0x0b }, // after the #DB handler's IRET (IF = 0 inside it), before the INC
    ]);
    expect(rig.cpu.reg32[3]).toBe(1);
  });
});
