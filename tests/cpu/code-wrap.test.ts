/**
 * The end of a 16-bit code segment of limit FFFFh, in real mode and in protected mode: an
 * instruction whose bytes run on past offset FFFFh is #GP(0) at it (the segment's end limits code
 * as it does data, SDM vol. 3, 22.33.1 and 5.3; Bochs agrees), while a complete instruction that
 * ends at FFFFh is followed by the one at IP 0 (IP is 16 bits wide: the 8086's wrap, kept by later
 * processors, as OS/2 Museum's "Does (E)IP Wrap Around in 16-bit Segments?" observes). A near JMP
 * of operand size 32 to an offset past FFFFh is #GP(0) at the JMP (vol. 2, JMP: "IF tempEIP is
 * beyond the code segment limit THEN #GP(0)"), through the decoded-instruction cache and compiled
 * blocks as through step(). The code was assembled with `as --32` (.code16 where 16-bit).
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, loadFlatTables, makeRig, hexBytes } from './rig';
import { segment } from './pm-machine';
import { P2M_R, P2M_W } from '../../src/machine/hv/p2m';

/** The 16-bit code segment's base, in both modes (real mode: CS = 1000h). */
const BASE = 0x10000;
/** At offset FFF0h: 14 NOPs, then `mov $0x1234,%ax` (B8 34 12), whose last byte would be at offset 0. */
const STRADDLE = '9090909090909090909090909090b834';
/** At offset FFF0h: 15 NOPs, then `inc %ax` at FFFFh. */
const ENDS_AT_FFFF = '90909090909090909090909090909040';
/** At offset 0: the straddling MOV's byte 12h — or, for the wrap, `mov $0x77,%bl; hlt`. */
const AT_ZERO_BYTE = '12';
const AT_ZERO_CODE = 'b377f4';

/** Real mode from reset through a far JMP to 1000:FFF0; #GP (IVT 13) logs vector, IP and CS at 6000h. */
function runReal(top: string, zero: string, more: [number, string][] = []) {
  const rig = makeRig(4);
  rig.p2m.map(0xfffff, 0xf0, 1, P2M_R | P2M_W);
  rig.load((0xf0 << 12) + 0xff0, [0xea, 0xf0, 0xff, 0x00, 0x10]); // jmp far 1000:FFF0
  rig.load(BASE + 0xfff0, hexBytes(top));
  rig.load(BASE, hexBytes(zero));
  for (const [at, bytes] of more) rig.load(BASE + at, hexBytes(bytes));
  rig.load(13 * 4, [0x00, 0x7e, 0, 0]); // IVT 13 → 0000:7E00
  // 7E00: movw $13,0x6000; pop %ax; mov %ax,0x6002; pop %ax; mov %ax,0x6004; hlt
  rig.load(0x7e00, hexBytes('c70600600d0058a3026058a30460f4'));
  rig.cpu.reset();
  rig.cpu.run(200);
  const u16 = (a: number) => rig.dv.getUint16(a, true);
  return { cpu: rig.cpu, fault: { vector: u16(0x6000), ip: u16(0x6002), cs: u16(0x6004) } };
}

/**
 * Protected mode: flat 32-bit code at 4000h jumps to 0x18:`entry`, a 16-bit code segment at BASE of
 * limit FFFFh; #GP (a 32-bit interrupt gate) logs vector, error code, EIP and CS at 8000h.
 */
function runProtected(entry: number, parts: [number, string][]) {
  const rig = makeRig(4);
  const gate = flatTables(rig, 0x1000, 0x2000);
  gate(13, 0x5000);
  // 5000: movl $13,0x8000; pop %eax ×3 to 0x8004 (error code), 0x8008 (EIP), 0x800c (CS); hlt
  rig.load(0x5000, hexBytes('c705008000000d00000058a30480000058a30880000058a30c800000f4'));
  const [lo, hi] = segment(BASE, 0xffff, 0x9a, 0); // 16-bit code (D = 0), limit FFFFh
  rig.setU32(0x1018, lo);
  rig.setU32(0x101c, hi);
  rig.load(0x1100, [0x1f, 0]); // the GDTR's limit: four entries
  for (const [at, bytes] of parts) rig.load(BASE + at, hexBytes(bytes));
  const pre = loadFlatTables(0x1000, 0x2000);
  const jump = [0xea, entry & 0xff, entry >>> 8, 0, 0, 0x18, 0]; // ljmp $0x18,$entry
  rig.load(0x4000, [...pre, ...jump]);
  rig.cpu.enterProtectedModeFlat(0x4000, { esp: 0x9000 });
  rig.cpu.run(200);
  const fault = { vector: rig.u32(0x8000), code: rig.u32(0x8004), eip: rig.u32(0x8008), cs: rig.u32(0x800c) };
  return { cpu: rig.cpu, fault };
}

describeCpu('the end of a 16-bit code segment', () => {
  it('real mode: an instruction running past IP FFFFh is #GP at it; one ending at FFFFh is followed by IP 0', () => {
    const straddle = runReal(STRADDLE, AT_ZERO_BYTE);
    expect(straddle.fault).toEqual({ vector: 13, ip: 0xfffe, cs: 0x1000 });
    const wrap = runReal(ENDS_AT_FFFF, AT_ZERO_CODE);
    expect(wrap.fault.vector).toBe(0);
    expect(wrap.cpu.halted).toBe(true);
    expect(wrap.cpu.reg32[3] & 0xff).toBe(0x77); // the MOV at IP 0 ran
    expect(wrap.cpu.eip).toBe(3);
  });

  it('protected mode, limit FFFFh: the same #GP(0) at the straddling instruction, the same wrap after FFFFh', () => {
    const straddle = runProtected(0xfff0, [
      [0xfff0, STRADDLE],
      [0, AT_ZERO_BYTE],
    ]);
    expect(straddle.fault).toEqual({ vector: 13, code: 0, eip: 0xfffe, cs: 0x18 });
    const wrap = runProtected(0xfff0, [
      [0xfff0, ENDS_AT_FFFF],
      [0, AT_ZERO_CODE],
    ]);
    expect(wrap.fault.vector).toBe(0);
    expect(wrap.cpu.reg32[3] & 0xff).toBe(0x77);
    expect(wrap.cpu.eip).toBe(3);
  });

  it('real mode: a far JMP with 0x66 to an offset past FFFFh is #GP at the JMP', () => {
    // FFF0: ljmpl $0x1000,$0x12345 (66 EA, offset 12345h); a HLT lies there, past the segment.
    const rig = runReal('66ea452301000010', AT_ZERO_BYTE, [[0x12345, 'f4']]);
    expect(rig.fault).toEqual({ vector: 13, ip: 0xfff0, cs: 0x1000 });
  });

  it('a near JMP of operand size 32 to an offset past FFFFh is #GP(0) at the JMP', () => {
    // 20: jmp .+0x12325 with 0x66 (66 E9 rel32: to 12345h); a HLT lies there, past the segment.
    const { fault } = runProtected(0x20, [
      [0x20, '66e91f230100'],
      [0x12345, 'f4'],
    ]);
    expect(fault).toEqual({ vector: 13, code: 0, eip: 0x20, cs: 0x18 });
  });
});
