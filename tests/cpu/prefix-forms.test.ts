/**
 * The 64-bit arithmetic of 32-bit code and the word and byte forms (bench:cpu's prefix phase,
 * issue 17) run inline in compiled blocks: SHLD/SHRD of a dword by an immediate and by CL, on a
 * register and in memory; ADC/SBB in every dword form; the word shifts and rotates of a register;
 * the byte and word ALU forms but ADC/SBB (alu-ops.ts' SHIFT_DOUBLE, ALU_OPS' results and
 * `carry`, GROUP2_AT_ONCE, pasted by block-gen.ts and block-gen-generic.ts), not through
 * execGeneric, Cpu.aluCarry, Cpu.shift or Cpu.alu. They end, at every run() boundary, in the
 * state of the interpreter alone, flags included (PUSHFD after them), with a #GP in the middle of
 * a compiled block restarting the faulting SHLD/SHRD/ADC/SBB/word ADD with the flags pending
 * before it (the handler widens DS and IRETs into it).
 */
import { describe, expect, it, vi } from 'vitest';
import { DATA, runProgram } from './block-programs';
import { flatTables, le, loadFlatTables, putDescriptor, type Rig } from './rig';
import { segment } from './pm-machine';

const GDT = 0x1000;
const IDT = 0x2000;
const GP_HANDLER = 0x18000;
/** mov edx, 18h; mov ds, dx: DS limited to DATA + 7Fh (a block starts after the segment load). */
const NARROW_DS = [0xba, ...le(0x18), 0x8e, 0xda];

const BODY = [
  ...NARROW_DS,
  ...[0x01, 0xe8, 0x11, 0x83, ...le(0x80)], // add eax, ebp; adc [ebx+80h], eax (#GP, then again)
  ...[0x1b, 0x4b, 0x04, 0x9c, 0x5a, 0x01, 0xd7], // sbb ecx, [ebx+4]; pushfd; pop edx; add edi, edx
  ...NARROW_DS,
  ...[0x29, 0xc8, 0x0f, 0xa4, 0x83, ...le(0x84), 0x09], // sub eax, ecx; shld [ebx+84h], eax, 9 (#GP)
  ...[0x89, 0xe9, 0x0f, 0xad, 0xc8, 0x0f, 0x92, 0xc2, 0x01, 0xd6], // mov ecx, ebp; shrd eax, ecx, cl; setc dl; add esi, edx
  ...NARROW_DS,
  ...[0x31, 0xf0, 0x0f, 0xad, 0x8b, ...le(0x88)], // xor eax, esi; shrd [ebx+88h], ecx, cl (#GP)
  ...[0x83, 0xd0, 0x11, 0x19, 0x4b, 0x08, 0x9c, 0x5a, 0x01, 0xd7], // adc eax, 11h; sbb [ebx+8], ecx; pushfd; pop edx; add edi, edx
  ...[0x0f, 0xa4, 0xc1, 0x03, 0x0f, 0xa4, 0xc8, 0x05, 0x01, 0xc7], // shld ecx, eax, 3; shld eax, ecx, 5 (flags dead); add edi, eax
  ...[0x0f, 0xac, 0xc8, 0x1f, 0x0f, 0x90, 0xc2, 0x01, 0xd6], // shrd eax, ecx, 31; seto dl; add esi, edx
  ...[0x0f, 0xa4, 0x43, 0x0c, 0x01, 0x0f, 0xa5, 0x4b, 0x10, 0x9c, 0x5a, 0x01, 0xd7], // shld [ebx+12], eax, 1; shld [ebx+16], ecx, cl; pushfd; pop edx; add edi, edx
  ...[0x0f, 0xa4, 0xc8, 0x00, 0x0f, 0xad, 0xc8, 0x9c, 0x5a, 0x01, 0xd7], // shld eax, ecx, 0; shrd eax, ecx, cl (CL 0 when EBP is 32); pushfd; pop edx; add edi, edx
  ...[0x11, 0xd6, 0x19, 0xe8, 0x13, 0x43, 0x14, 0x83, 0xde, 0x7f], // adc esi, edx; sbb eax, ebp; adc eax, [ebx+20]; sbb esi, 7Fh
  ...[0xf9, 0x41, 0x11, 0xc8, 0x39, 0xf8, 0x4a, 0x19, 0xd6], // stc; inc ecx; adc eax, ecx; cmp eax, edi; dec edx; sbb esi, edx (CF kept by INC/DEC)
  ...[0x9c, 0x5a, 0x01, 0xd7], // pushfd; pop edx; add edi, edx
  ...[0x66, 0xc1, 0xea, 0x03, 0x66, 0xd1, 0xc0, 0x66, 0xd3, 0xd1], // shr dx, 3; rol ax, 1; rcl cx, cl
  ...[0x66, 0xc1, 0xf8, 0x05, 0x66, 0xd3, 0xe2, 0x66, 0xc1, 0xd9, 0x07], // sar ax, 5; shl dx, cl; rcr cx, 7
  ...[0x9c, 0x5a, 0x01, 0xd7], // pushfd; pop edx; add edi, edx
  ...NARROW_DS,
  ...[0x01, 0xe8, 0x66, 0x01, 0x83, ...le(0x90)], // add eax, ebp; add [ebx+90h], ax (#GP)
  ...[0x66, 0x31, 0x53, 0x1a, 0x00, 0x4b, 0x1c, 0x84, 0xc9, 0x0f, 0x94, 0xc2], // xor [ebx+26], dx; add [ebx+28], cl; test cl, cl; sete dl
  ...[0x38, 0xcc, 0x0f, 0x9c, 0xc6, 0x3c, 0x80, 0x0f, 0x92, 0xc2], // cmp ah, cl; setl dh; cmp al, 80h; setb dl
  ...[0x66, 0x83, 0xc0, 0x7f, 0x66, 0x2b, 0x43, 0x04, 0x9c, 0x5a, 0x01, 0xd7], // add ax, 7Fh; sub ax, [ebx+4]; pushfd; pop edx; add edi, edx
];
/** mov ebp, 40; L: BODY; dec ebp; jnz L; hlt */
const PROGRAM = [0xbd, ...le(40), ...BODY, 0x4d, 0x0f, 0x85, ...le(-(BODY.length + 7)), 0xf4];

/** The #GP handler widens DS again (flat 10h) and counts the fault at 9100h; IRETD restarts the instruction. */
function setup(rig: Rig) {
  flatTables(rig, GDT, IDT)(13, GP_HANDLER);
  putDescriptor(rig, GDT + 0x18, segment(0, DATA + 0x7f, 0x93));
  rig.load(GDT + 0x100, [31, 0, ...le(GDT)]);
  // add esp, 4 (the error code); push eax; mov eax, 10h; mov ds, ax; pop eax; inc dword [9100h]; iretd
  rig.load(GP_HANDLER, [0x83, 0xc4, 0x04, 0x50, 0xb8, ...le(0x10), 0x8e, 0xd8, 0x58, 0xff, 0x05, ...le(0x9100), 0xcf]);
}

const CODE_BYTES = [...loadFlatTables(GDT, IDT), ...PROGRAM];
const run = (threshold: number, slices: number[]) => runProgram(CODE_BYTES, 17, threshold, slices, { setup });

/** Whether the caller is a compiled block's function (blocks.ts names each one `block`). */
const fromBlock = () => /\n\s+at (Object\.)?block \[as run\] \(eval at compileBlock/.test(new Error().stack ?? '');

describe('SHLD/SHRD, ADC/SBB, word shifts, byte and word ALU forms in compiled blocks', () => {
  it('run inline: no execGeneric, aluCarry, shift or alu call from a compiled block', () => {
    let generic = 0;
    let carry = 0;
    let shift = 0;
    let alu = 0;
    let faults = 0;
    runProgram(CODE_BYTES, 17, 1, [100_000], {
      setup: (rig) => {
        setup(rig);
        const cpu = rig.cpu as unknown as { execGeneric(): void; aluCarry(): number; shift(): number; alu(): number };
        const g = cpu.execGeneric.bind(cpu);
        const a = cpu.aluCarry.bind(cpu);
        vi.spyOn(cpu, 'execGeneric').mockImplementation((...args: unknown[]) => {
          if (fromBlock()) generic++;
          (g as (...x: unknown[]) => void)(...args);
        });
        const al = cpu.alu.bind(cpu);
        vi.spyOn(cpu, 'alu').mockImplementation((...args: unknown[]) => {
          if (fromBlock()) alu++;
          return (al as (...x: unknown[]) => number)(...args);
        });
        const sh = cpu.shift.bind(cpu);
        vi.spyOn(cpu, 'shift').mockImplementation((...args: unknown[]) => {
          if (fromBlock()) shift++;
          return (sh as (...x: unknown[]) => number)(...args);
        });
        vi.spyOn(cpu, 'aluCarry').mockImplementation((...args: unknown[]) => {
          if (fromBlock()) carry++;
          return (a as (...x: unknown[]) => number)(...args);
        });
      },
      after: (rig) => void (faults = rig.u32(0x9100)),
    });
    expect(faults).toBe(4 * 40); // each narrow-DS access faulted once a pass, and restarted
    expect({ generic, carry, shift, alu }).toEqual({ generic: 0, carry: 0, shift: 0, alu: 0 });
  });

  for (const slices of [[100_000], [3, 7], [1, 2, 3], [5, 11, 2]])
    it(`end where the interpreter ends, at every run() boundary (slices ${slices.join()})`, () => {
      const ref = run(-1, slices);
      const got = run(1, slices);
      expect((ref[ref.length - 1] as { halted: boolean }).halted).toBe(true);
      expect(got).toEqual(ref);
    });
});
