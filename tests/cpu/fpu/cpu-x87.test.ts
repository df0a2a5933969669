/**
 * The x87 as the CPU presents it (SDM vol. 3, 2.5 and 9.2; vol. 1, 8.1.8 and 8.7): CPUID.FPU and
 * the classic FNINIT/FNSTSW probe, CR0.EM/MP/TS and #NM, an unmasked exception reported as #MF
 * at the next waiting instruction (CR0.NE = 1) or as FERR# (CR0.NE = 0), the last-instruction
 * pointers, and a store that faults leaving the register stack as it was.
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, le, loadFlatTables, makeRig } from '../rig';
import type { CpuEnv } from '../../../src/machine/cpu/cpu';
import { f80ToHex } from '../../../src/machine/cpu/fpu/f80';

const GDT = 0x1000;
const IDT = 0x2000;
const HANDLERS = 0x3000;
const CODE = 0x10000;
const DATA = 0x20000;
const PD = 0x40000;
const PT = 0x41000;
const NM = 7;
const PF = 14;
const MF = 16;

const CR0_MP = 2,
  CR0_EM = 4,
  CR0_TS = 8,
  CR0_NE = 0x20,
  CR0_PG = 0x80000000;
/** mov eax, imm32; mov cr0, eax (from the flat protected-mode entry, CR0 = 0x11). */
const setCr0 = (bits: number): number[] => [0xb8, ...le(0x11 | bits), 0x0f, 0x22, 0xc0];

/**
 * Runs `bytes` in flat 32-bit ring 0 (EBX = DATA) until a HLT: each exception vector v has a
 * handler at HANDLERS + 8v that halts. Returns the vector raised (−1: none) and the rig.
 */
function run(bytes: number[], data: number[] = [], env: Partial<CpuEnv> = {}, regs: Record<string, number> = {}) {
  const rig = makeRig(4, undefined, env);
  const gate = flatTables(rig, GDT, IDT);
  for (let v = 0; v < 32; v++) {
    gate(v, HANDLERS + 8 * v);
    rig.load(HANDLERS + 8 * v, [0xf4, 0x83, 0xc4, 0x04, 0xcf]); // hlt; add esp, 4; iret (#PF's error code)
  }
  rig.load(DATA, data);
  rig.load(CODE, [...loadFlatTables(GDT, IDT), ...bytes, 0xf4]);
  rig.cpu.enterProtectedModeFlat(CODE, { ebx: DATA, esp: 0x9000, ...regs });
  rig.cpu.run(10_000);
  const eip = (rig.cpu.eip >>> 0) - 1;
  const vector = eip >= HANDLERS && eip < HANDLERS + 8 * 32 ? (eip - HANDLERS) >> 3 : -1;
  /** The EIP the exception saved (the top of the handler's stack, past an error code if any). */
  const savedEip = (errorCode: boolean) => rig.u32(0x9000 - (errorCode ? 16 : 12));
  return { vector, rig, savedEip };
}
/** The code's address of byte `k` of the test's own bytes (after the LGDT/LIDT prelude). */
const at = (k: number) => CODE + loadFlatTables(GDT, IDT).length + k;

describeCpu('the x87 as the CPU presents it', () => {
  it('CPUID leaf 1 reports an FPU, and the classic probe finds one: FNINIT; FNSTSW gives 0, FNSTCW 037Fh', () => {
    const { rig, vector } = run(
      [
        ...[0xb8, ...le(1), 0x0f, 0xa2], // mov eax, 1; cpuid
        ...[0x89, 0x56, 0x08], // mov [esi+8], edx (CPUID wrote EBX)
        ...[0x66, 0xc7, 0x06, 0x5a, 0x5a], // mov word [esi], 0x5a5a
        ...[0xdb, 0xe3], // fninit
        ...[0xdd, 0x3e], // fnstsw [esi]
        ...[0xd9, 0x7e, 0x02], // fnstcw [esi+2]
      ],
      [0, 0, 0, 0],
      {},
      { esi: DATA },
    );
    expect(vector).toBe(-1);
    expect(rig.u32(DATA + 8) & 1).toBe(1);
    expect(rig.dv.getUint16(DATA, true)).toBe(0);
    expect(rig.dv.getUint16(DATA + 2, true)).toBe(0x037f);
  });

  it('after RESET the FPU holds control word 0040h and tag word 5555h (SDM vol. 3, table 9-1)', () => {
    const rig = makeRig(4);
    rig.cpu.reset();
    expect(rig.cpu.fpu.cw).toBe(0x0040);
    expect(rig.cpu.fpu.tagWord).toBe(0x5555);
    expect(rig.cpu.fpu.statusWord).toBe(0);
  });

  it('CR0.EM makes every escape #NM, the control ones too, but not FWAIT', () => {
    expect(run([...setCr0(CR0_EM), 0xd9, 0xe8]).vector).toBe(NM); // fld1
    expect(run([...setCr0(CR0_EM), 0xdb, 0xe3]).vector).toBe(NM); // fninit
    expect(run([...setCr0(CR0_EM), 0x9b]).vector).toBe(-1); // fwait
  });

  it('CR0.TS makes every escape #NM, FWAIT only with CR0.MP; CLTS lets them run', () => {
    const { vector, savedEip } = run([...setCr0(CR0_TS), 0xd9, 0xe8]);
    expect(vector).toBe(NM);
    expect(savedEip(false)).toBe(at(setCr0(0).length)); // a fault: the escape itself
    expect(run([...setCr0(CR0_TS), 0x9b]).vector).toBe(-1);
    expect(run([...setCr0(CR0_TS | CR0_MP), 0x9b]).vector).toBe(NM);
    // clts; fwait; fninit; fld1 (after RESET every exception is unmasked and the stack full of zeros)
    const { vector: v, rig } = run([...setCr0(CR0_TS | CR0_MP), 0x0f, 0x06, 0x9b, 0xdb, 0xe3, 0xd9, 0xe8]);
    expect(v).toBe(-1);
    expect(f80ToHex(rig.cpu.fpu.st(0))).toBe('3fff8000000000000000');
  });

  // fninit; fldcw [ebx] (ZE unmasked); fld1; fldz; fdivp st1, st0: 1/0 leaves ZE pending.
  const divideByZero = [0xdb, 0xe3, 0xd9, 0x2b, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9];
  const cwZeUnmasked = [0x7b, 0x03];

  it('CR0.NE = 1: an unmasked exception is #MF at the next waiting instruction, not at FNSTSW', () => {
    const prefix = [...setCr0(CR0_NE), ...divideByZero, 0xdf, 0xe0]; // … fnstsw ax
    const { vector, rig, savedEip } = run([...prefix, 0xd9, 0xe8], cwZeUnmasked); // fld1 waits
    expect(vector).toBe(MF);
    expect(savedEip(false)).toBe(at(prefix.length));
    const sw = rig.cpu.reg32[0] & 0xffff;
    expect(sw & 0x80fd).toBe(0x8084); // B, ES and ZE; no other flag
    // FWAIT alone reports it too; FNCLEX first clears it.
    expect(run([...setCr0(CR0_NE), ...divideByZero, 0x9b], cwZeUnmasked).vector).toBe(MF);
    expect(run([...setCr0(CR0_NE), ...divideByZero, 0xdb, 0xe2, 0x9b, 0xd9, 0xe8], cwZeUnmasked).vector).toBe(-1);
  });

  it('CR0.NE = 0: the exception goes out as FERR# (IRQ 13 on a PC) when it becomes pending, and execution goes on', () => {
    let ferr = 0;
    const { vector, rig } = run([...divideByZero, 0xd9, 0xe8], cwZeUnmasked, { fpuError: () => void ferr++ });
    expect(vector).toBe(-1);
    expect(ferr).toBeGreaterThanOrEqual(1);
    expect(rig.cpu.fpu.statusWord & 0x80).toBe(0x80);
    // Masked, nothing is signalled.
    ferr = 0;
    expect(run(divideByZero, [0x7f, 0x03], { fpuError: () => void ferr++ }).vector).toBe(-1);
    expect(ferr).toBe(0);
  });

  it('FNSTENV stores FCS:FIP, FOP and FDS:FDP of the last non-control instruction (32-bit protected layout)', () => {
    // fninit; fld dword [ebx+0x40]; fldcw [ebx] (a control: does not move the pointers); fnstenv [ebx+0x60]
    const code = [0xdb, 0xe3, 0xd9, 0x43, 0x40, 0xd9, 0x2b, 0xd9, 0x73, 0x60];
    const data = new Array<number>(0x100).fill(0);
    data[0] = 0x7f;
    data[1] = 0x03;
    const { rig } = run(code, data);
    const env = DATA + 0x60;
    expect(rig.u32(env + 12)).toBe(at(2)); // FIP: the FLD
    expect(rig.u32(env + 16) & 0xffff).toBe(0x08); // FCS
    expect((rig.u32(env + 16) >>> 16) & 0x7ff).toBe(0x143); // FOP: D9 → 1, ModR/M 43
    expect(rig.u32(env + 20)).toBe(DATA + 0x40); // FDP
    expect(rig.u32(env + 24) & 0xffff).toBe(0x10); // FDS
    expect(rig.cpu.fpu.cw & 0x3f).toBe(0x3f); // FNSTENV masks every exception afterwards
  });

  it('FCOMI writes ZF, PF, CF and clears OF, SF, AF; FCMOVcc moves on the condition', () => {
    // fninit; fld1; fldz; push 0x8d7; popfd; fcomi st0, st1 (0 < 1: CF); pushfd; pop [ebx]
    //   fcmovb st0, st1 (CF = 1: ST0 ← 1)
    const { rig } = run(
      [0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xee, 0x68, ...le(0x8d7), 0x9d, 0xdb, 0xf1, 0x9c, 0x8f, 0x03, 0xda, 0xc1],
      [0, 0, 0, 0],
    );
    expect(rig.u32(DATA) & 0x8d5).toBe(0x01);
    expect(f80ToHex(rig.cpu.fpu.st(0))).toBe('3fff8000000000000000');
  });

  it('a store that page-faults leaves the register stack as it was; the restarted store completes and pops', () => {
    // Identity paging of the first 4 MiB but for the page at 0x30000; FSTP qword [0x30000].
    const pte = (i: number) => (i === 0x30 ? 0 : (i << 12) | 3);
    const code = [
      ...[0xb8, ...le(PD), 0x0f, 0x22, 0xd8], // mov eax, PD; mov cr3, eax
      ...setCr0(CR0_PG),
      ...[0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb], // fninit; fld1; fldpi
      ...[0xdd, 0x1d, ...le(0x30000)], // fstp qword [0x30000]
    ];
    const rig = makeRig(4);
    const gate = flatTables(rig, GDT, IDT);
    gate(PF, HANDLERS);
    rig.load(HANDLERS, [0xf4, 0x83, 0xc4, 0x04, 0xcf]);
    rig.setU32(PD, PT | 3);
    for (let i = 0; i < 1024; i++) rig.setU32(PT + 4 * i, pte(i));
    rig.load(CODE, [...loadFlatTables(GDT, IDT), ...code, 0xf4]);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(1000);
    expect(rig.cpu.eip >>> 0).toBe(HANDLERS + 1);
    expect(rig.cpu.cr2 >>> 0).toBe(0x30000);
    expect(rig.cpu.fpu.statusWord & 0x3800).toBe(6 << 11); // TOP: two pushes, no pop
    expect(f80ToHex(rig.cpu.fpu.st(0))).toBe('4000c90fdaa22168c235');
    // The handler maps the page and returns to the FSTP.
    rig.setU32(PT + 4 * 0x30, 0x30000 | 3);
    rig.cpu.halted = false;
    rig.cpu.run(1000);
    expect(rig.u32(0x30004)).toBe(0x400921fb); // π as a double
    expect(rig.cpu.fpu.statusWord & 0x3800).toBe(7 << 11);
    expect(f80ToHex(rig.cpu.fpu.st(0))).toBe('3fff8000000000000000');
  });

  it('the forms this CPU does not have are #UD: FISTTP (SSE3), reserved slots, the undocumented aliases', () => {
    for (const bytes of [
      [0xdb, 0x0b], // fisttp dword [ebx]
      [0xd9, 0x0b], // D9 /1 memory
      [0xdd, 0xc9], // DD C8+i (fxch4)
      [0xd9, 0xd9], // D9 D8+i (fstp1)
      [0xd9, 0xe2], // D9 E2
      [0xdb, 0xe5], // the 287's FRSTPM
    ])
      expect(run(bytes, [0, 0, 0, 0]).vector, bytes.map((b) => b.toString(16)).join(' ')).toBe(6);
    expect(run([0xdf, 0xc1]).vector).toBe(-1); // FFREEP, kept since the 287
  });
});
