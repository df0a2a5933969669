/**
 * The CS limit on instruction fetch and SS's limit on PUSH/POP (SDM vol. 3, 5.3): an instruction
 * whose bytes run past CS's limit is #GP(0) at that instruction; a push or pop outside an
 * expand-up stack's limit, or at or below an expand-down one's (or past its top), is #SS(0) at
 * the instruction, ESP as before it. Inside the limits the same code runs. The program was
 * assembled with `as --32` from the listing in the comment.
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, hexBytes, loadFlatTables, makeRig, putDescriptor } from './rig';
import { segment } from './pm-machine';

const GDT = 0x1000;
const IDT = 0x2000;
const CODE = 0x10000;
const LOG = 0x8000;

// 0 cs_limit: ljmp $0x18,$CODE+0x40       40 nop; nop; 42 mov $1,%eax (to 46, past the limit 45)
// 60 ss_up: mov $0x20,%ax; mov %ax,%ss; mov $0x1000,%esp; push $5; pop %ebx (inside);
//    mov $0xffe,%esp; 73 pop %eax (ffe..1001: past the limit fff)
// 80 ss_down_push: SS 0x28; mov $0x1010,%esp; push $5; pop %ebx (above the limit: inside);
//    8e pusha (ff0..100f: reaches the limit)
// a0 ss_down_pop: SS 0x28; mov $0xfffffffe,%esp; ab pop %eax (past the top)
// 200 #GP: movl $13,LOG; jmp record     240 #SS: movl $12,LOG
// 24a record: error code, EIP, CS to LOG+4/8/c, ESP to LOG+10; hlt
// 300: CS 0x30 (base CODE+300h, limit 7Fh), offsets in it: 00 jmp 90h; 10 call 90h;
//    20 push $0x90; 25 ret; 30 xor %eax,%eax; 32 jz 90h; 40 mov $0x90,%eax; 45 call *%eax;
//    50 jmp 60h (inside); 60 hlt
// 400, 410, 420, 430, 440, 470: ljmp $0x30 to 00, 10, 20, 30, 40, 50
// 450: ljmp $0x30,$0x90 (past its limit)    460: lcall $0x30,$0x90
const PROGRAM: [number, string][] = [
  [0x00, 'ea40000100180000'],
  [0x40, '9090b801000000f4'],
  [0x60, '66b820008ed0bc001000006a055bbcfe0f000058f4'],
  [0x80, '66b828008ed0bc101000006a055b60f4'],
  [0xa0, '66b828008ed0bcfeffffff58f4'],
  [0x200, 'c705008000000d000000eb3e'],
  [0x240, 'c705008000000c0000008b0424a3048000008b442404a3088000008b442408a30c800000892510800000f4'],
  [0x300, 'e98b000000'],
  [0x310, 'e87b000000'],
  [0x320, '6890000000c3'],
  [0x330, '31c0745c'],
  [0x340, 'b890000000ffd0'],
  [0x350, 'eb0e'],
  [0x360, 'f4'],
  [0x400, 'ea000000003000'],
  [0x410, 'ea100000003000'],
  [0x420, 'ea200000003000'],
  [0x430, 'ea300000003000'],
  [0x440, 'ea400000003000'],
  [0x450, 'ea900000003000'],
  [0x460, '9a900000003000'],
  [0x470, 'ea500000003000'],
];

/** Runs the program from `entry` to a HLT; the fault the handlers recorded, if any. */
function run(entry: number) {
  const rig = makeRig(4);
  const gate = flatTables(rig, GDT, IDT);
  gate(13, CODE + 0x200);
  gate(12, CODE + 0x240);
  const put = (sel: number, d: [number, number]) => putDescriptor(rig, GDT + sel, d);
  put(0x18, segment(0, CODE + 0x45, 0x9a, 4)); // 32-bit code, limit CODE + 45h
  put(0x20, segment(0, 0xfff, 0x92, 4)); // 32-bit stack, expand-up, limit FFFh
  put(0x28, segment(0x20000, 0xfff, 0x96, 4)); // 32-bit stack, expand-down, limit FFFh
  put(0x30, segment(CODE + 0x300, 0x7f, 0x9a, 4)); // 32-bit code, base CODE + 300h, limit 7Fh
  rig.load(GDT + 0x100, [0x37, 0]); // the GDTR's limit: seven entries
  for (const [at, bytes] of PROGRAM) rig.load(CODE + at, hexBytes(bytes));
  const pre = loadFlatTables(GDT, IDT);
  rig.load(CODE + entry - pre.length, pre);
  rig.cpu.enterProtectedModeFlat(CODE + entry - pre.length, { esp: 0x9000 });
  rig.cpu.run(1000);
  expect(rig.cpu.halted, `EIP ${(rig.cpu.eip >>> 0).toString(16)}`).toBe(true);
  const fault = {
    vector: rig.u32(LOG),
    code: rig.u32(LOG + 4),
    eip: rig.u32(LOG + 8) - CODE,
    /** EIP as pushed: the offset in the faulting CS. */
    offset: rig.u32(LOG + 8),
    cs: rig.u32(LOG + 12),
    esp: rig.u32(LOG + 16),
  };
  return { cpu: rig.cpu, fault };
}

describeCpu('segment limits on instruction fetch and on the stack', () => {
  it('an instruction past the CS limit is #GP(0) at it; the ones before it ran', () => {
    const { cpu, fault } = run(0x00);
    expect(fault).toMatchObject({ vector: 13, code: 0, eip: 0x42, cs: 0x18 });
    expect(cpu.reg32[0]).not.toBe(1);
  });

  it('a POP past an expand-up stack’s limit is #SS(0), ESP as before; a PUSH and POP inside run', () => {
    const { cpu, fault } = run(0x60);
    expect(cpu.reg32[3]).toBe(5);
    // The handler's frame (error code, EIP, CS, EFLAGS) lies below the ESP of the POP.
    expect(fault).toMatchObject({ vector: 12, code: 0, eip: 0x73, cs: 0x08, esp: 0xffe - 16 });
  });

  it('an expand-down stack: a PUSHA reaching its limit is #SS(0); pushes above the limit run', () => {
    const { cpu, fault } = run(0x80);
    expect(cpu.reg32[3]).toBe(5);
    expect(fault).toMatchObject({ vector: 12, code: 0, eip: 0x8e, esp: 0x1010 - 16 });
  });

  it('an expand-down stack: a POP past its top (4 GiB) is #SS(0)', () => {
    const { fault } = run(0xa0);
    expect(fault).toMatchObject({ vector: 12, code: 0, eip: 0xab, esp: 0xfffffffe - 16 });
  });

  it('a near JMP, Jcc, CALL (direct or indirect) or RET past CS’s limit is #GP(0) at the branch; CALL pushes nothing', () => {
    // The handler's frame (error code, EIP, CS, EFLAGS) lies just below the ESP the branch left.
    const at = (entry: number) => run(entry).fault;
    expect(at(0x400)).toMatchObject({ vector: 13, code: 0, offset: 0x00, cs: 0x30, esp: 0x9000 - 16 });
    expect(at(0x410)).toMatchObject({ vector: 13, code: 0, offset: 0x10, cs: 0x30, esp: 0x9000 - 16 });
    expect(at(0x420)).toMatchObject({ vector: 13, code: 0, offset: 0x25, cs: 0x30, esp: 0x9000 - 4 - 16 });
    expect(at(0x430)).toMatchObject({ vector: 13, code: 0, offset: 0x32, cs: 0x30, esp: 0x9000 - 16 });
    expect(at(0x440)).toMatchObject({ vector: 13, code: 0, offset: 0x45, cs: 0x30, esp: 0x9000 - 16 });
  });

  it('a near branch inside the limit runs', () => {
    const { cpu, fault } = run(0x470);
    expect(fault.vector).toBe(0);
    expect(cpu.eip).toBe(0x61);
  });

  it('a far JMP or CALL to an offset past the target segment’s limit is #GP(0) at it, in the caller’s CS, nothing pushed', () => {
    expect(run(0x450).fault).toMatchObject({ vector: 13, code: 0, eip: 0x450, cs: 0x08, esp: 0x9000 - 16 });
    expect(run(0x460).fault).toMatchObject({ vector: 13, code: 0, eip: 0x460, cs: 0x08, esp: 0x9000 - 16 });
  });
});
