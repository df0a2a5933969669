/**
 * Virtual-8086 mode (SDM vol. 3, chapter 20) by the programs of programs/tasks.S: entered by IRET
 * from ring 0 and by a task switch, real-mode segment arithmetic at CPL 3, the IOPL-sensitive
 * instructions, the I/O bitmap whatever IOPL, and interrupts and exceptions to a ring-0 monitor
 * through 32-bit gates, whose frame holds GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP (+ error), and
 * IRET back. No CR4.VME: CPUID says VME = 0.
 */
import { describe, expect, it } from 'vitest';
import { gate, L, SEL } from './pm-machine';
import {
  EFLAGS_IF,
  EFLAGS_NT,
  EFLAGS_VM,
  IOPL3,
  T,
  taskGate,
  taskMachine,
  TSEL,
  TSS32,
  TSYM,
  type TaskMachine,
} from './task-machine';

const GP = 13;
const UD = 6;
const V86_CS = T.VBASE >>> 4;

interface VEntry {
  entryDs: number;
  vector: number;
  error: number;
  eip: number;
  cs: number;
  eflags: number;
  esp: number;
  ss: number;
  es: number;
  ds: number;
  fs: number;
  gs: number;
  handlerEsp: number;
}

function vlog(m: TaskMachine): VEntry[] {
  const out: VEntry[] = [];
  for (let a = T.VLOG; a < m.u32(T.VLOGPTR); a += T.VLOG_ENTRY) {
    const w = (i: number) => m.u32(a + 4 * i);
    out.push({
      entryDs: w(0),
      vector: w(1),
      error: w(2),
      eip: w(3),
      cs: w(4) & 0xffff,
      eflags: w(5),
      esp: w(6),
      ss: w(7) & 0xffff,
      es: w(8) & 0xffff,
      ds: w(9) & 0xffff,
      fs: w(10) & 0xffff,
      gs: w(11) & 0xffff,
      handlerEsp: w(12),
    });
  }
  return out;
}

/** The ring-0 monitor's gates: #GP, #UD, IRQ 0 (vector 0x20), INT 0x41 (DPL 3); 0x42 leads to ring-3 code. */
function monitor(m: TaskMachine): void {
  m.idt(GP, gate(SEL.CODE0, TSYM.vm_gp, 0xe, 0));
  m.idt(UD, gate(SEL.CODE0, TSYM.vm_ud, 0xe, 0));
  m.idt(0x20, gate(SEL.CODE0, TSYM.vm_irq, 0xe, 0));
  m.idt(0x41, gate(SEL.CODE0, TSYM.vm_int41, 0xe, 3));
  m.idt(0x42, gate(SEL.CODE3, 0, 0xe, 3));
}

/** The IRET frame at VFRAME: EIP CS EFLAGS ESP SS ES DS FS GS. */
function frame(m: TaskMachine, ip: number, eflags: number, es: number, ds: number, fs: number, gs: number): void {
  [ip, V86_CS, eflags, 0x200, 0x3800, es, ds, fs, gs].forEach((v, i) => m.setU32(T.VFRAME + 4 * i, v));
}

const ip = (label: string) => TSYM[label] - T.VBASE;
/** The monitor's ESP: the CPU's 9 dwords, an error code (the CPU's or the stub's), the vector, EAX, EBX. */
const MONITOR_ESP = L.TSS_ESP0 - 13 * 4;

describe('virtual-8086 mode at IOPL 3, entered by IRET', () => {
  const pic = { pending: 1, hasInterrupt: () => pic.pending > 0, acknowledge: () => (pic.pending--, 0x20) };
  const m = taskMachine('v_enter', pic);
  monitor(m);
  frame(m, ip('v_main'), EFLAGS_VM | IOPL3 | EFLAGS_IF | 2, 0, 0x4000, 0x5000, 0x6000);
  m.runToHalt();
  const log = vlog(m);

  it('an interrupt from VM86 reaches the ring-0 handler on TSS.SS0:ESP0 with GS FS DS ES SS ESP EFLAGS CS EIP pushed and the data segments null', () => {
    const e = log[0];
    expect([e.vector, e.eip, e.cs]).toEqual([0x20, ip('v_main'), V86_CS]);
    expect(e.eflags & (EFLAGS_VM | IOPL3 | EFLAGS_IF)).toBe(EFLAGS_VM | IOPL3 | EFLAGS_IF);
    expect([e.esp, e.ss, e.es, e.ds, e.fs, e.gs]).toEqual([0x200, 0x3800, 0, 0x4000, 0x5000, 0x6000]);
    expect(e.entryDs).toBe(0);
    expect(e.handlerEsp).toBe(MONITOR_ESP); // no error code: the stub pushed a dummy one
  });

  it('IRET from ring 0 returns to VM86, which runs real-mode code: base = selector × 16, CPL 3', () => {
    expect(m.u32(0x30010) & 0xffff).toBe(0x1234);
    expect(m.u32(0x30012) & 0xffff).toBe(V86_CS);
    expect(m.u32(0x30014) & 0xffff).toBe(0x3800);
    expect(m.u32(0x30016) & 0xffff).toBe(0x200); // SP as before the interrupt
    expect(m.u32(0x48010) & 0xffff).toBe(0x5a5a);
    expect(m.u32(0x3001c) & 0xffff).toBe(0x1234);
  });

  it('PUSHFD in VM86 shows VM = 0 in the image; CLI/STI/PUSHF run at IOPL 3', () => {
    const image = m.u32(0x30018);
    expect(image & EFLAGS_VM).toBe(0);
    expect(image & (IOPL3 | EFLAGS_IF)).toBe(IOPL3 | EFLAGS_IF);
  });

  it('OUT uses the TSS I/O bitmap whatever IOPL: port 0x80 allowed, 0xE9 #GP(0)', () => {
    expect(m.portWrites).toEqual([{ port: 0x80, size: 1, value: 0x42 }]);
    expect([log[1].vector, log[1].error, log[1].eip, log[1].ds]).toEqual([GP, 0, ip('v_out_e9'), 0x3000]);
    expect(log[1].handlerEsp).toBe(MONITOR_ESP);
  });

  it('INT n at IOPL 3 goes through the DPL-3 gate to ring 0 and returns after the INT', () => {
    expect([log[2].vector, log[2].eip, log[2].cs]).toEqual([0x41, ip('v_after_int41'), V86_CS]);
    expect(log[2].eflags & EFLAGS_VM).toBe(EFLAGS_VM);
  });

  it('a gate whose code segment is not ring 0 is #GP(its selector)', () => {
    expect([log[3].vector, log[3].error, log[3].eip]).toEqual([GP, SEL.CODE3 & 0xfffc, ip('v_int42')]);
  });

  it('IRET in VM86 at IOPL 3 is the real-mode IRET: IF from the image, IOPL and VM kept', () => {
    expect(log[4].eflags & (EFLAGS_VM | IOPL3 | EFLAGS_IF)).toBe(EFLAGS_VM | IOPL3);
    expect(log[4].esp).toBe(0x200);
  });

  it('HLT in VM86 is #GP(0) (CPL 3); the monitor halts in ring 0', () => {
    expect([log[4].vector, log[4].error, log[4].eip]).toEqual([GP, 0, ip('v_hlt')]);
    expect(log.length).toBe(5);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.cpl).toBe(0);
    expect(m.cpu.getEflags() & EFLAGS_VM).toBe(0);
  });
});

describe('virtual-8086 mode at IOPL 0: the IOPL-sensitive instructions', () => {
  const m = taskMachine('v_enter');
  monitor(m);
  frame(m, ip('v_sens'), EFLAGS_VM | 2, 0, 0, 0, 0);
  m.runToHalt();
  const log = vlog(m);
  const codes = log.map((e) => [e.vector, e.error, e.eip]);

  it('CLI, STI, PUSHF, POPF, INT n and IRET are #GP(0) at the instruction, the stack untouched', () => {
    expect(codes.slice(0, 6)).toEqual(
      ['v_cli', 'v_sti', 'v_pushf', 'v_popf', 'v_int', 'v_iret'].map((l) => [GP, 0, ip(l)]),
    );
    for (const e of log.slice(0, 6)) {
      expect(e.esp).toBe(0x200);
      expect(e.cs).toBe(V86_CS);
      expect(e.eflags & (EFLAGS_VM | IOPL3)).toBe(EFLAGS_VM);
    }
  });

  it('IN from a port the bitmap allows runs at IOPL 0; OUT to a denied port is #GP(0)', () => {
    expect(m.memory.u8[L.REC]).toBe(0xff); // the test rig's port 0x80 reads all ones
    expect(codes[6]).toEqual([GP, 0, ip('v_out_e9b')]);
  });

  it('INT3 is not IOPL-sensitive: the DPL-0 gate makes it #GP(vector × 8 + 2)', () => {
    expect(codes[7]).toEqual([GP, 3 * 8 + 2, ip('v_int3')]);
  });

  it('a protected-mode-only instruction (LAR) is #UD; HLT is #GP(0)', () => {
    expect(codes[8]).toEqual([UD, 0, ip('v_lar')]);
    expect(codes[9]).toEqual([GP, 0, ip('v_hlt2')]);
    expect(log.length).toBe(10);
  });
});

describe('virtual-8086 mode entered by a task switch', () => {
  it('a TSS with EFLAGS.VM = 1 starts VM86 with its real-mode selectors; faults go to the monitor on its SS0:ESP0', () => {
    const m = taskMachine('v_task');
    monitor(m);
    m.runToHalt();
    expect(m.u32(0x30020) & 0xffff).toBe(0x3000);
    expect(m.u32(0x30022) & 0xffff).toBe(0x100);
    expect(m.u32(0x30024) & 0xffff).toBe(0x3800);
    const log = vlog(m);
    expect(log.length).toBe(1);
    const e = log[0];
    expect([e.vector, e.error, e.eip, e.cs, e.ss, e.esp, e.ds]).toEqual([
      GP,
      0,
      ip('v_task_hlt'),
      V86_CS,
      0x3800,
      0x100,
      0x3000,
    ]);
    expect(e.eflags & (EFLAGS_VM | IOPL3)).toBe(EFLAGS_VM | IOPL3);
    expect(e.handlerEsp).toBe(T.V86_RING0_STACK - 13 * 4);
    expect(m.gdtType(TSEL.TSS_V86)).toBe(11);
    expect(m.u32(L.TSS + TSS32.EIP)).toBe(TSYM.v_task + 7);
  });
});

describe('a task switch out of virtual-8086 mode and back', () => {
  it('INT n through a task gate saves the VM86 task (EFLAGS.VM = 1, real-mode selectors); IRET in the handler task resumes it in VM86', () => {
    const m = taskMachine('v_enter');
    monitor(m);
    m.idt(0x43, taskGate(TSEL.TSS_B, 3));
    frame(m, ip('v_tg'), EFLAGS_VM | IOPL3 | 2, 0x1000, 0x2000, 0x3000, 0x4000);
    m.runToHalt();
    expect(m.rec(4)).toBe(1); // the handler task ran once
    expect(m.rec(0) & (EFLAGS_VM | EFLAGS_NT)).toBe(EFLAGS_NT);
    const saved = (off: number) => m.u32(L.TSS + off);
    expect(saved(TSS32.EFLAGS) & EFLAGS_VM).toBe(EFLAGS_VM);
    expect(saved(TSS32.EIP)).toBe(ip('v_tg_back'));
    expect([TSS32.CS, TSS32.SS, TSS32.ES, TSS32.DS, TSS32.FS, TSS32.GS].map((f) => saved(f) & 0xffff)).toEqual([
      V86_CS,
      0x3800,
      0x1000,
      0x2000,
      0x3000,
      0x4000,
    ]);
    expect(m.u32(0x30030) & 0xffff).toBe(0x7777); // VM86 again after the IRET: DS × 16
    const log = vlog(m);
    expect(log.map((e) => [e.vector, e.eip, e.cs])).toEqual([[GP, ip('v_tg_hlt'), V86_CS]]);
    expect(log[0].eflags & EFLAGS_VM).toBe(EFLAGS_VM);
  });
});

describe('CPUID', () => {
  it('does not claim VME (leaf 1, EDX bit 1); PSE, TSC, CX8, PGE and CMOV stay', () => {
    const m = taskMachine('v_enter');
    // cpuid; hlt at a scratch address in ring 0 (the kernel's entry jumps there).
    m.load(0x48000, [0x31, 0xc0, 0x40, 0x0f, 0xa2, 0xf4]); // xor eax,eax; inc eax; cpuid; hlt
    m.setU32(L.TEST_ENTRY, 0x48000);
    m.runToHalt();
    const edx = m.cpu.reg32[2];
    expect(edx & 2).toBe(0);
    expect(edx & ((1 << 3) | (1 << 4) | (1 << 8) | (1 << 13) | (1 << 15))).toBe(
      (1 << 3) | (1 << 4) | (1 << 8) | (1 << 13) | (1 << 15),
    );
  });
});
