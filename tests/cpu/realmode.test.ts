/**
 * Real mode from reset (programs/realmode.S): the first fetch at linear 0xFFFFFFF0 (CS base
 * 0xFFFF0000), an INT through the IVT, segment arithmetic, 32-bit operands, a round trip through
 * protected mode that leaves a 4 GiB DS limit behind ("unreal" mode), and the A20 gate. The same
 * program, booted as a floppy sector under QEMU, leaves the memory these tests expect.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { InterruptController } from '../../src/machine/bus';
import { P2M_R, P2M_W } from '../../src/machine/hv/p2m';
import { makeRig } from './rig';

const program = new Uint8Array(readFileSync(new URL('./programs/realmode.bin', import.meta.url)));
const ROM_FRAME = 0xf0; // the RAM frame standing in for the firmware's top page
/** At F000:FFF0 (physical 0xFFFFFFF0 → frame ROM_FRAME, offset 0xFF0): jmp far 0000:7C00. */
const RESET_JUMP = [0xea, 0x00, 0x7c, 0x00, 0x00];

function boot(pic?: InterruptController) {
  const rig = makeRig(4, pic);
  rig.p2m.map(0xfffff, ROM_FRAME, 1, P2M_R | P2M_W);
  rig.load((ROM_FRAME << 12) + 0xff0, RESET_JUMP);
  rig.load(0x7c00, program);
  rig.cpu.reset();
  return rig;
}

describe('real mode', () => {
  it('starts at F000:FFF0 with CS base 0xFFFF0000, in real mode', () => {
    const rig = boot();
    expect(rig.cpu.eip >>> 0).toBe(0xfff0);
    expect(rig.cpu.cr0 & 1).toBe(0);
    rig.cpu.run(1);
    expect(rig.cpu.eip >>> 0).toBe(0x7c00);
  });

  it('runs INT through the IVT, segment arithmetic, 32-bit operands, and keeps a 4 GiB limit after a trip through protected mode', () => {
    const rig = boot();
    rig.cpu.run(200);
    expect(rig.cpu.halted).toBe(true);
    const u16 = (a: number) => rig.dv.getUint16(a, true);
    expect(u16(0x6000)).toBe(0x1234); // the INT 0x40 handler ran
    expect(u16(0x6002)).toBe(0x7000 - 6); // FLAGS, CS, IP pushed
    expect(u16(0x6004) & ~0x10).toBe(0x0046); // IF and TF cleared by INT; ZF PF from the XOR (AF undefined)
    expect(u16(0x12350)).toBe(0xbeef); // ES = 0x1234 → base 0x12340
    expect(rig.u32(0x6008)).toBe(0x12345678);
    expect(rig.u32(0x200000)).toBe(0xcafef00d); // unreal: a 32-bit offset past 64 KiB
    expect(u16(0x600c)).toBe(1);
    expect(rig.cpu.cr0 & 1).toBe(0);
  });

  it('with A20 masked, FFFF:0010 wraps to physical 0; with A20 on it is 0x100000', () => {
    // mov $0xffff,%ax; mov %ax,%es; movw $0x5555,%es:0x10; hlt
    const code = [0xb8, 0xff, 0xff, 0x8e, 0xc0, 0x26, 0xc7, 0x06, 0x10, 0x00, 0x55, 0x55, 0xf4];
    for (const a20 of [false, true]) {
      const rig = boot();
      rig.load(0x7c00, code);
      rig.cpu.run(1); // the reset jump, with A20 as at power-on
      rig.cpu.setA20(a20);
      rig.cpu.run(10);
      expect(rig.cpu.halted).toBe(true);
      expect(rig.dv.getUint16(a20 ? 0x100000 : 0, true)).toBe(0x5555);
      expect(rig.dv.getUint16(a20 ? 0 : 0x100000, true)).not.toBe(0x5555);
    }
  });
});

describe('real-mode segment limits', () => {
  it('a word at offset 0xFFFF crosses the 64 KiB limit: #GP through the IVT; a byte there does not', () => {
    const rig = makeRig(4);
    rig.p2m.map(0xfffff, ROM_FRAME, 1, P2M_R | P2M_W);
    rig.load((ROM_FRAME << 12) + 0xff0, RESET_JUMP);
    // xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7000; IVT[13] = 0000:7D00;
    // mov al,[0xffff]; mov ax,[0xffff]; hlt
    rig.load(
      0x7c00,
      [
        0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0xc7, 0x06, 0x34, 0x00, 0x00, 0x7d, 0xc7, 0x06, 0x36,
        0x00, 0x00, 0x00, 0xa0, 0xff, 0xff, 0xa1, 0xff, 0xff, 0xf4,
      ],
    );
    rig.load(0x7d00, [0xc7, 0x06, 0x00, 0x60, 0x47, 0x47, 0xf4]); // the #GP handler: mov word [0x6000], 0x4747; hlt
    rig.cpu.reset();
    rig.cpu.run(100);
    expect(rig.cpu.halted).toBe(true);
    expect(rig.dv.getUint16(0x6000, true)).toBe(0x4747);
    expect(rig.dv.getUint16(0x7000 - 6, true), 'the IP pushed: the word access (a fault)').toBe(0x7c00 + 24);
  });

  it('a request the controller raises during a REP is taken at the end of its slice of 1,024 iterations', () => {
    // The REP polls the controller itself (repEventDue); the run loop must then look too, also
    // where no RF is set (real mode).
    let retired = () => 0;
    const r = boot({ hasInterrupt: () => retired() > 100, acknowledge: () => 0x20 });
    retired = () => r.cpu.instructions;
    r.setU32(0x20 * 4, 0x7d00); // IVT 20h → 0000:7D00: hlt
    r.load(0x7d00, [0xf4]);
    // sti; mov $0x2000,%di; mov $5000,%cx; rep stosb; hlt — the REP begins after 4 instructions
    r.load(0x7c00, [0xfb, 0xbf, 0x00, 0x20, 0xb9, 0x88, 0x13, 0xf3, 0xaa, 0xf4]);
    r.cpu.run(20_000);
    expect(r.cpu.eip >>> 0).toBe(0x7d01);
    expect(r.cpu.reg32[1] & 0xffff).toBe(5000 - 1024);
  });
});
