/**
 * The task-switch and virtual-8086 test machine: the protected-mode machine of pm-machine.ts plus
 * programs/tasks.S at 0x20000, more GDT entries (TSSs, a task gate, an LDT, a code segment based
 * at the program) and the TSSs' contents. Each test then points IDT entries where it needs them.
 * The numbers are those at the top of programs/tasks.S.
 */
import { readFileSync } from 'node:fs';
import type { InterruptController } from '../../src/machine/bus';
import { gate, L, pmMachine, segment, SEL, type PmMachine } from './pm-machine';
import { putDescriptor } from './rig';

export const T = {
  TASKS: 0x20000,
  VBASE: 0x22000,
  TSS_B: 0x30000,
  TSS_C16: 0x30100,
  TSS_DF: 0x30200,
  TSS_BADLIMIT: 0x30300,
  TSS_NP: 0x30400,
  TSS_V86: 0x30500,
  TSS_E: 0x30600,
  LDT: 0x30800,
  B_STACK: 0x38000,
  DF_STACK: 0x39000,
  E_STACK: 0x3a000,
  V86_RING0_STACK: 0x3b000,
  C16_STACK: 0xf000,
  PD: 0x40000,
  VLOGPTR: 0x0f30,
  VRESUME: 0x0f34,
  VFRAME: 0x0f40,
  VLOG: 0xd000,
  VLOG_ENTRY: 64,
} as const;

export const TSEL = {
  TSS_B: 0x58,
  TASKGATE_B: 0x60,
  TSS_C16: 0x68,
  TSS_DF: 0x70,
  TSS_BADLIMIT: 0x78,
  TSS_NP: 0x80,
  TSS_V86: 0x88,
  CODE_AT_TASKS: 0x90,
  LDT: 0x98,
  TSS_E: 0xa0,
  /** The flat ring-0 data segment of the LDT. */
  LDT_DATA: 0x0c,
} as const;

/** Label addresses of programs/tasks.S. */
export const TSYM: Record<string, number> = Object.fromEntries(
  readFileSync(new URL('./programs/tasks.sym', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([addr, name]) => [name, Number(addr)]),
);

/** 32-bit TSS fields (SDM vol. 3, figure 7-2), by byte offset. */
export const TSS32 = {
  LINK: 0x00,
  ESP0: 0x04,
  SS0: 0x08,
  CR3: 0x1c,
  EIP: 0x20,
  EFLAGS: 0x24,
  EAX: 0x28,
  ECX: 0x2c,
  EDX: 0x30,
  EBX: 0x34,
  ESP: 0x38,
  EBP: 0x3c,
  ESI: 0x40,
  EDI: 0x44,
  ES: 0x48,
  CS: 0x4c,
  SS: 0x50,
  DS: 0x54,
  FS: 0x58,
  GS: 0x5c,
  LDT: 0x60,
  IOMAP: 0x66,
} as const;

export interface Tss32 {
  eip: number;
  esp: number;
  eflags?: number;
  cs?: number;
  ss?: number;
  ds?: number;
  es?: number;
  fs?: number;
  gs?: number;
  ldt?: number;
  link?: number;
  eax?: number;
  ebx?: number;
  ss0?: number;
  esp0?: number;
}

export interface TaskMachine extends PmMachine {
  /** Writes a 32-bit TSS (CR3 = the page directory, I/O map base past the limit unless set). */
  tss32(addr: number, t: Tss32): void;
  /** Points IDT entry `vector` at a gate descriptor. */
  idt(vector: number, d: [number, number]): void;
  /** The type field (low 5 bits of the access byte) of a GDT descriptor. */
  gdtType(sel: number): number;
  u16(addr: number): number;
}

export const EFLAGS_VM = 1 << 17;
export const EFLAGS_NT = 1 << 14;
export const EFLAGS_IF = 1 << 9;
export const IOPL3 = 3 << 12;

export function taskMachine(entry: string, pic?: InterruptController): TaskMachine {
  const m = pmMachine('rings', pic);
  const put = (addr: number, d: [number, number]) => putDescriptor(m, addr, d);
  m.load(T.TASKS, new Uint8Array(readFileSync(new URL('./programs/tasks.bin', import.meta.url))));
  m.setU32(L.TEST_ENTRY, TSYM[entry]);
  m.program(`programs/kernel.S running programs/tasks.S ${entry}`);
  const gdt: [number, [number, number]][] = [
    [TSEL.TSS_B, segment(T.TSS_B, 0x67, 0x89, 0)],
    [TSEL.TASKGATE_B, gate(TSEL.TSS_B, 0, 0x5, 0)],
    [TSEL.TSS_C16, segment(T.TSS_C16, 0x2b, 0x81, 0)], // 16-bit TSS, available
    [TSEL.TSS_DF, segment(T.TSS_DF, 0x67, 0x89, 0)],
    [TSEL.TSS_BADLIMIT, segment(T.TSS_BADLIMIT, 0x50, 0x89, 0)],
    [TSEL.TSS_NP, segment(T.TSS_NP, 0x67, 0x09, 0)], // P = 0
    [TSEL.TSS_V86, segment(T.TSS_V86, 0x68 + 17, 0x89, 0)],
    [TSEL.CODE_AT_TASKS, segment(T.TASKS, 0xffff, 0x9a, 0x4)],
    [TSEL.LDT, segment(T.LDT, 0x0f, 0x82, 0)],
    [TSEL.TSS_E, segment(T.TSS_E, 0x67, 0x89, 0)],
  ];
  for (const [sel, d] of gdt) put(L.GDT + sel, d);
  m.dv.setUint16(L.GDTR, TSEL.TSS_E + 7, true);
  put(T.LDT + 8, segment(0, 0xffffffff, 0x92, 0x4));
  // The IDT grows to vector 0x43 (entries past the kernel's 51 start not present).
  m.dv.setUint16(L.IDTR, 0x44 * 8 - 1, true);
  // Identity page tables (supervisor and user, writable) with one hole at 0x5f000, for #DF.
  m.setU32(T.PD, (T.PD + 0x1000) | 7);
  for (let i = 0; i < 1024; i++) m.setU32(T.PD + 0x1000 + 4 * i, i === 0x5f ? 0 : (i << 12) | 7);
  m.setU32(L.TSS + TSS32.CR3, T.PD);
  m.setU32(T.VLOGPTR, T.VLOG);

  const tss32 = (addr: number, t: Tss32) => {
    const w = (off: number, v: number) => m.setU32(addr + off, v);
    w(TSS32.LINK, t.link ?? 0);
    w(TSS32.ESP0, t.esp0 ?? 0);
    w(TSS32.SS0, t.ss0 ?? 0);
    w(TSS32.CR3, T.PD);
    w(TSS32.EIP, t.eip);
    w(TSS32.EFLAGS, t.eflags ?? 2);
    w(TSS32.EAX, t.eax ?? 0);
    w(TSS32.EBX, t.ebx ?? 0);
    w(TSS32.ESP, t.esp);
    w(TSS32.CS, t.cs ?? SEL.CODE0);
    w(TSS32.SS, t.ss ?? SEL.DATA0);
    w(TSS32.DS, t.ds ?? SEL.DATA0);
    w(TSS32.ES, t.es ?? SEL.DATA0);
    w(TSS32.FS, t.fs ?? SEL.DATA0);
    w(TSS32.GS, t.gs ?? SEL.DATA0);
    w(TSS32.LDT, t.ldt ?? 0);
    m.dv.setUint16(addr + TSS32.IOMAP, 0x68, true);
  };
  tss32(T.TSS_B, { eip: TSYM.b_loop, esp: T.B_STACK, ds: TSEL.LDT_DATA, ldt: TSEL.LDT, ebx: 0xb0b0b0b0 });
  tss32(T.TSS_DF, { eip: TSYM.b_df, esp: T.DF_STACK });
  tss32(T.TSS_BADLIMIT, { eip: TSYM.b_loop, esp: T.B_STACK });
  tss32(T.TSS_NP, { eip: TSYM.b_loop, esp: T.B_STACK });
  tss32(T.TSS_E, { eip: TSYM.e_start, esp: T.E_STACK, gs: SEL.NOTPRESENT, link: SEL.TSS });
  // Task V86: EFLAGS.VM = 1, IOPL 3; real-mode selectors; its ring-0 stack for the monitor.
  tss32(T.TSS_V86, {
    eip: TSYM.v_task_code - T.VBASE,
    eflags: EFLAGS_VM | IOPL3 | 2,
    esp: 0x100,
    cs: T.VBASE >>> 4,
    ss: 0x3800,
    ds: 0x3000,
    es: 0,
    fs: 0,
    gs: 0,
    ss0: SEL.DATA0,
    esp0: T.V86_RING0_STACK,
  });
  // Its I/O bitmap (SDM vol. 1, 19.5.2) as the main TSS's: ports 0–135, only 0x80 allowed.
  for (let i = 0; i < 17; i++) m.memory.u8[T.TSS_V86 + 0x68 + i] = i === 0x80 >> 3 ? 0xfe : 0xff;
  // Task C: a 16-bit TSS (SDM vol. 3, figure 7-11): IP, FLAGS, AX…DI, ES, CS, SS, DS, LDT.
  const w16 = (off: number, v: number) => m.dv.setUint16(T.TSS_C16 + off, v, true);
  w16(0x0e, TSYM.c_entry - T.TASKS);
  w16(0x10, 2);
  w16(0x12 + 2 * 2, 0x5555); // DX
  w16(0x12 + 2 * 4, T.C16_STACK); // SP
  w16(0x22, SEL.DATA0); // ES
  w16(0x24, TSEL.CODE_AT_TASKS); // CS
  w16(0x26, SEL.DATA0); // SS
  w16(0x28, SEL.DATA0); // DS

  return {
    ...m,
    tss32,
    idt: (vector, d) => put(L.IDT + 8 * vector, d),
    gdtType: (sel) => m.memory.u8[L.GDT + (sel & 0xfff8) + 5] & 0x1f,
    u16: (a) => m.dv.getUint16(a, true),
  };
}

/** An IDT task gate for a TSS selector (SDM vol. 3, 6.11, figure 6-2). */
export const taskGate = (tss: number, dpl = 0): [number, number] => gate(tss, 0, 0x5, dpl);
