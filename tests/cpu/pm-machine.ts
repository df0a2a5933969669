/**
 * The protected-mode test machine: descriptor tables, TSS and (for paging tests) page tables
 * written here, the kernel and test routines of tests/cpu/programs/ (assembled with
 * programs/build.sh; the .bin files are committed) loaded at their addresses. The numbers are
 * those of programs/layout.inc.
 */
import { readFileSync } from 'node:fs';
import type { InterruptController } from '../../src/machine/bus';
import { makeRig, putDescriptor, type Rig, RunExit } from './rig';

export const L = {
  GDTR: 0x0f00,
  IDTR: 0x0f08,
  GDT: 0x1000,
  IDT: 0x2000,
  TSS: 0x3000,
  KERNEL: 0x4000,
  STUBS: 0x4200,
  CALLGATE_TARGET: 0x4100,
  TS_HANDLER: 0x4180,
  SS_HANDLER: 0x4188,
  LOGPTR: 0x0f10,
  RESUME: 0x0f14,
  FIXUP_ADDR: 0x0f18,
  TEST_ENTRY: 0x0f20,
  LOG: 0x8000,
  LOG_ENTRY: 48,
  REC: 0xc000,
  TSS_ESP0: 0x7000,
  RING3_STACK: 0xb000,
  KERNEL_STACK: 0x9000,
  TESTS: 0x10000,
} as const;

const TSS_LIMIT = 0x68 + 17;

export const SEL = {
  CODE0: 0x08,
  DATA0: 0x10,
  CODE3: 0x1b,
  DATA3: 0x23,
  TSS: 0x28,
  CALLGATE3: 0x33,
  NOTPRESENT: 0x38,
  SMALL: 0x40,
  CONFORMING: 0x48,
  EXPAND_DOWN: 0x50,
} as const;

const programs = new URL('./programs/', import.meta.url);
const bin = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`${name}.bin`, programs)));
/** Label addresses of the test routines (programs/tests.sym). */
export const SYM: Record<string, number> = Object.fromEntries(
  readFileSync(new URL('tests.sym', programs), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([addr, name]) => [name, Number(addr)]),
);

/** A segment descriptor (SDM vol. 3, 3.4.5). access = P|DPL|S|type; flags nibble = G|D/B|L|AVL. */
export function segment(base: number, limit: number, access: number, flags = 0x4): [number, number] {
  let g = 0;
  if (limit > 0xfffff) {
    limit >>>= 12;
    g = 0x8;
  }
  const lo = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const hi =
    (((base >>> 16) & 0xff) |
      (access << 8) |
      (((limit >>> 16) & 0xf) << 16) |
      ((flags | g) << 20) |
      (base & 0xff000000)) >>>
    0;
  return [lo, hi];
}
/** A gate descriptor: type 0xE interrupt, 0xF trap, 0xC call (SDM vol. 3, 5.8.3 and 6.11). */
export function gate(selector: number, offset: number, type: number, dpl: number): [number, number] {
  return [
    ((offset & 0xffff) | (selector << 16)) >>> 0,
    ((offset & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8)) >>> 0,
  ];
}

export interface LogEntry {
  vector: number;
  error: number;
  eip: number;
  cs: number;
  eflags: number;
  esp: number;
  ss: number;
  cr2: number;
  ecx: number;
  esi: number;
  edi: number;
  handlerEsp: number;
}

export interface PmMachine extends Rig {
  /** Run until the CPU halts (or the budget ends); returns the RunExit. */
  runToHalt(budget?: number): number | string;
  log(): LogEntry[];
  rec(i: number): number;
}

export function pmMachine(entry: string, pic?: InterruptController): PmMachine {
  const rig = makeRig(16, pic);
  const put = (addr: number, d: [number, number]) => putDescriptor(rig, addr, d);
  const gdt: [number, number][] = [
    [0, 0],
    segment(0, 0xffffffff, 0x9a, 0x4), // 0x08 ring-0 code
    segment(0, 0xffffffff, 0x92, 0x4), // 0x10 ring-0 data
    segment(0, 0xffffffff, 0xfa, 0x4), // 0x18 ring-3 code
    segment(0, 0xffffffff, 0xf2, 0x4), // 0x20 ring-3 data
    segment(L.TSS, TSS_LIMIT, 0x89, 0), // 0x28 32-bit TSS, available, with an I/O bitmap for ports 0–135
    gate(SEL.CODE0, L.CALLGATE_TARGET, 0xc, 3), // 0x30 call gate, DPL 3
    segment(0, 0xffffffff, 0x12, 0x4), // 0x38 data, not present
    segment(0, 0xfff, 0x92, 0x4), // 0x40 data, limit 4 KiB - 1
    segment(0, 0xffffffff, 0x9e, 0x4), // 0x48 conforming code, DPL 0
    segment(0, 0xfff, 0x96, 0x4), // 0x50 data, expand-down, limit 0xfff: valid offsets 0x1000–0xffffffff
  ];
  gdt.forEach((d, i) => put(L.GDT + 8 * i, d));
  rig.dv.setUint16(L.GDTR, gdt.length * 8 - 1, true);
  rig.setU32(L.GDTR + 2, L.GDT);
  const vectors = 51;
  for (let v = 0; v < vectors; v++) {
    let d = gate(SEL.CODE0, L.STUBS + 16 * v, 0xe, 0);
    if (v === 0x30) d = gate(SEL.CODE0, L.STUBS + 16 * v, 0xe, 3);
    if (v === 0x32) d = gate(SEL.CODE0, L.STUBS + 16 * v, 0xf, 3);
    if (v === 10) d = gate(SEL.CONFORMING, L.TS_HANDLER, 0xe, 0);
    put(L.IDT + 8 * v, d);
  }
  rig.dv.setUint16(L.IDTR, vectors * 8 - 1, true);
  rig.setU32(L.IDTR + 2, L.IDT);
  rig.setU32(L.TSS + 4, L.TSS_ESP0);
  rig.setU32(L.TSS + 8, SEL.DATA0);
  // The I/O permission bitmap (SDM vol. 1, 19.5.2): ports 0–135 covered, only port 0x80 allowed;
  // ports past the TSS limit are denied.
  rig.dv.setUint16(L.TSS + 0x66, 0x68, true);
  for (let i = 0; i < 17; i++) rig.memory.u8[L.TSS + 0x68 + i] = i === 0x80 >> 3 ? 0xfe : 0xff;
  rig.memory.u8[L.TSS + 0x68 + 17] = 0xff;
  rig.load(L.KERNEL, bin('kernel'));
  rig.load(L.TESTS, bin('tests'));
  rig.setU32(L.LOGPTR, L.LOG);
  rig.setU32(L.TEST_ENTRY, SYM[entry]);
  rig.cpu.enterProtectedModeFlat(L.KERNEL, { esp: L.KERNEL_STACK });
  rig.cpu.reg32[4] = L.KERNEL_STACK;
  rig.program(`programs/kernel.S running ${entry}`);
  return {
    ...rig,
    runToHalt(budget = 100_000) {
      let exit: number | string = 0;
      for (let n = 0; n < budget && !rig.cpu.halted; n += 1000) {
        exit = rig.cpu.run(1000);
        if (exit === RunExit.TRIPLE_FAULT) break;
      }
      return exit;
    },
    log() {
      const out: LogEntry[] = [];
      const end = rig.u32(L.LOGPTR);
      for (let a = L.LOG; a < end; a += L.LOG_ENTRY) {
        const w = (i: number) => rig.u32(a + 4 * i);
        out.push({
          vector: w(0),
          error: w(1),
          eip: w(2),
          cs: w(3) & 0xffff,
          eflags: w(4),
          esp: w(5),
          ss: w(6) & 0xffff,
          cr2: w(7),
          ecx: w(8),
          esi: w(9),
          edi: w(10),
          handlerEsp: w(11),
        });
      }
      return out;
    },
    rec: (i) => rig.u32(L.REC + 4 * i),
  };
}
