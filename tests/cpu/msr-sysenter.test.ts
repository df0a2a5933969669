/**
 * The model-specific registers CPUID promises (MSR and SEP, SDM vol. 4 table 2-2 for the P6):
 * IA32_TSC and IA32_SYSENTER_CS/ESP/EIP through RDMSR/WRMSR, #GP(0) for any other; SYSENTER and
 * SYSEXIT between ring 0 and ring 3 with flat segments from the MSR (SDM vol. 2, SYSENTER).
 */
import { expect, it, vi } from 'vitest';
import { describeCpu, flatTables, le, loadFlatTables, makeRig, putDescriptor } from './rig';
import { segment } from './pm-machine';

const GDT = 0x1000;
const IDT = 0x2000;
const HANDLERS = 0x3000;
const CODE = 0x10000;
const USER = 0x11000;
const KENTRY = 0x12000;
const GP = 13;

/** mov ecx, msr; mov eax, lo; xor edx, edx; wrmsr */
const wrmsr = (msr: number, lo: number) => [0xb9, ...le(msr), 0xb8, ...le(lo), 0x31, 0xd2, 0x0f, 0x30];

function machine(code: number[], user: number[] = [], tsc = () => 0) {
  const rig = makeRig(4, undefined, { tsc });
  const gate = flatTables(rig, GDT, IDT);
  for (let v = 0; v < 32; v++) {
    gate(v, HANDLERS + v);
    rig.load(HANDLERS + v, [0xf4]);
  }
  rig.load(CODE, [...loadFlatTables(GDT, IDT), ...code, 0xf4]);
  rig.load(USER, user);
  rig.load(KENTRY, [0xf4]);
  rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
  return rig;
}
const vectorOf = (eip: number) => (eip - 1 >= HANDLERS && eip - 1 < HANDLERS + 32 ? eip - 1 - HANDLERS : -1);

describeCpu('MSRs, SYSENTER and SYSEXIT', () => {
  it('CPUID leaf 1 reports DE, MSR, MCE and SEP; RDMSR reads back what WRMSR wrote to SYSENTER_CS/ESP/EIP', () => {
    const rig = machine([
      ...[0xb8, ...le(1), 0x0f, 0xa2, 0x89, 0x15, ...le(0x20000)], // cpuid; mov [0x20000], edx
      ...wrmsr(0x174, 0x12345), // SYSENTER_CS keeps 16 bits
      ...wrmsr(0x176, 0xcafe0000),
      ...[0xb9, ...le(0x174), 0x0f, 0x32, 0x89, 0xc3], // rdmsr; mov ebx, eax
      ...[0xb9, ...le(0x176), 0x0f, 0x32], // rdmsr → eax
    ]);
    rig.cpu.run(1000);
    const features = (1 << 2) | (1 << 5) | (1 << 7) | (1 << 11);
    expect(rig.u32(0x20000) & features).toBe(features);
    expect(rig.cpu.reg32[3]).toBe(0x2345);
    expect(rig.cpu.reg32[0] >>> 0).toBe(0xcafe0000);
    expect(rig.cpu.reg32[2]).toBe(0); // EDX: the high half
  });

  it('CR4 takes DE and MCE, which CPUID reports, and reads them back; a bit CPUID does not promise is #GP(0)', () => {
    const rig = machine([
      ...[0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x48, 0x0f, 0x22, 0xe0], // mov cr4 → eax; or eax, DE | MCE; mov eax → cr4
      ...[0x0f, 0x20, 0xe3], // mov cr4 → ebx
      ...[0x0d, ...le(0x200), 0x0f, 0x22, 0xe0], // or eax, OSFXSR; mov eax → cr4
    ]);
    rig.cpu.run(1000);
    expect(rig.cpu.reg32[3] & 0x48).toBe(0x48);
    expect(vectorOf(rig.cpu.eip >>> 0)).toBe(GP);
  });

  it('an MSR the CPU does not have is #GP(0), for RDMSR and WRMSR', () => {
    for (const op of [0x32, 0x30]) {
      const rig = machine([0xb9, ...le(0x1b), 0x0f, op]); // IA32_APIC_BASE: no APIC
      rig.cpu.run(1000);
      expect(vectorOf(rig.cpu.eip >>> 0)).toBe(GP);
    }
  });

  it('WRMSR to IA32_TSC sets the counter RDTSC reads, which goes on counting from there', () => {
    let cycles = 5000;
    const rig = machine([...wrmsr(0x10, 1_000_000), 0x0f, 0x31], [], () => cycles);
    rig.cpu.run(6); // the prelude, the WRMSR and its three setup instructions
    cycles += 250;
    rig.cpu.run(1);
    expect(rig.cpu.reg32[0]).toBe(1_000_250);
  });

  for (const alone of [false, true])
    it(`RDTSC in a loop reads the count of the instructions retired before it, each turn (also in a compiled loop)${alone ? ', step() alone' : ''}`, () => {
      // With the counter = instructions retired, each turn's reading is 5 more than the one before:
      // rdtsc; mov [edi], eax; add edi, 4; dec ecx; jnz. A compiled loop settles the count only at
      // its exit: its RDTSC adds what the block has retired so far (rdtscAt).
      const loop = [0x0f, 0x31, 0x89, 0x07, 0x83, 0xc7, 0x04, 0x49, 0x75, 0xf6];
      const rig: ReturnType<typeof machine> = machine(
        [0xbf, ...le(0x20000), 0xb9, ...le(200), ...loop],
        [],
        () => rig.cpu.instructions,
      );
      // RDTSC is defined once (move-ops.ts, `tsc`): the cache's D_RDTSC, a block's call, step()'s case.
      if (alone) vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);
      rig.cpu.run(100_000);
      const first = rig.u32(0x20000);
      for (let i = 1; i < 200; i++) expect(rig.u32(0x20000 + 4 * i) - first).toBe(5 * i);
    });

  it('RDTSC outside ring 0 with CR4.TSD = 1 is #GP(0); with TSD = 0 it reads the counter (also through step() alone)', () => {
    const TSS = 0x4000;
    for (const [tsd, alone] of [
      [true, false],
      [false, false],
      [true, true],
      [false, true],
    ]) {
      const rig = machine(
        [
          ...[0x66, 0xb8, 0x18, 0x00, 0x0f, 0x00, 0xd8], // ltr 18h: ring 0's stack for the #GP
          ...(tsd ? [0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x04, 0x0f, 0x22, 0xe0] : []), // CR4.TSD = 1
          ...wrmsr(0x174, 0x08),
          ...[0xba, ...le(USER), 0xb9, ...le(0x7000), 0x0f, 0x35], // sysexit to USER
        ],
        [0x0f, 0x31, 0xf4], // rdtsc; hlt
        () => 0x1234,
      );
      putDescriptor(rig, GDT + 0x18, segment(TSS, 0x67, 0x89, 0)); // a 32-bit TSS
      rig.load(GDT + 0x100, [0x1f, 0, ...le(GDT)]);
      rig.setU32(TSS + 4, 0x9000); // ESP0
      rig.setU32(TSS + 8, 0x10); // SS0
      if (alone) vi.spyOn(rig.cpu as unknown as { openWindow(): boolean }, 'openWindow').mockReturnValue(false);
      rig.cpu.run(1000);
      // #GP either way, from ring 3: at the RDTSC under TSD, else at the HLT after it.
      expect(vectorOf(rig.cpu.eip >>> 0)).toBe(GP);
      const faultEip = rig.u32((rig.cpu.reg32[4] >>> 0) + 4);
      expect([faultEip, rig.cpu.reg32[0] === 0x1234]).toEqual(tsd ? [USER, false] : [USER + 2, true]);
    }
  });

  it('SYSEXIT drops to ring 3 at EDX with ESP = ECX; SYSENTER comes back to ring 0 at SYSENTER_EIP', () => {
    const rig = machine(
      [
        ...wrmsr(0x174, 0x08),
        ...wrmsr(0x175, 0x9000),
        ...wrmsr(0x176, KENTRY),
        ...[0xba, ...le(USER), 0xb9, ...le(0x7000), 0xfb, 0x0f, 0x35], // mov edx, USER; mov ecx, 0x7000; sti; sysexit
      ],
      [0xbe, ...le(0x1234), 0x0f, 0x34], // mov esi, 0x1234; sysenter
    );
    rig.cpu.run(2 + 12 + 4); // the prelude, three WRMSRs, and up to SYSEXIT
    expect(rig.cpu.eip >>> 0).toBe(USER);
    expect(rig.cpu.cpl).toBe(3);
    expect(rig.cpu.segSel[1]).toBe(0x1b); // CS = SYSENTER_CS + 16, RPL 3
    expect(rig.cpu.segSel[2]).toBe(0x23); // SS = SYSENTER_CS + 24, RPL 3
    expect(rig.cpu.reg32[4]).toBe(0x7000);
    expect(rig.cpu.interruptFlag).toBe(true);
    rig.cpu.run(2);
    expect(rig.cpu.eip >>> 0).toBe(KENTRY);
    expect(rig.cpu.cpl).toBe(0);
    expect(rig.cpu.segSel[1]).toBe(0x08);
    expect(rig.cpu.segSel[2]).toBe(0x10);
    expect(rig.cpu.reg32[4]).toBe(0x9000);
    expect(rig.cpu.reg32[6]).toBe(0x1234);
    expect(rig.cpu.interruptFlag).toBe(false); // SYSENTER clears IF
  });

  it('SYSENTER with SYSENTER_CS null is #GP(0)', () => {
    const rig = machine([0x0f, 0x34]);
    rig.cpu.run(1000);
    expect(vectorOf(rig.cpu.eip >>> 0)).toBe(GP);
  });
});
