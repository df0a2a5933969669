/**
 * 16-bit code and prefixed forms in the decoded-instruction cache (decoder.ts: decodeForm,
 * decodeWord): a 32-bit loop of LOCK-prefixed read-modify-writes, SHLD/SHRD and a 0x66 word add,
 * and a real-mode loop mixing 16-bit forms (no prefix), 32-bit operands (0x66) and
 * 32-bit addressing (0x67) runs from the cache and the compiled blocks, not through step(), and
 * ends in the state step() alone reaches; a 16-bit branch whose target wraps past IP 0 still lands
 * at the masked IP (SDM vol. 2, JMP: "EIP ← tempEIP AND 0000FFFFH").
 */
import { expect, vi } from 'vitest';
import { P2M_R, P2M_W } from '../../src/machine/hv/p2m';
import { describeCpu, makeRig } from './rig';
import { it } from 'vitest';

const ROM_FRAME = 0xf0; // the RAM frame standing in for the firmware's top page

/**
 * At 0000:7C00 (as --32, .code16):
 *   mov $200,%cx; xor %eax,%eax; mov $0x12345,%ebx; mov $0x8000,%edi; xor %dx,%dx
 * 1: add %cx,%ax; imul $7,%bx,%bx; add %eax,%ebx; mov %bx,(%edi); add (%edi),%dx; shl $3,%dx
 *    rol $5,%edx; lea 3(%ebx,%eax,2),%si; test $1,%si; jz 2f; inc %bp
 * 2: movzbw %dl,%di; cmovs %di,%si; and $0x8000,%edi; or $0x8000,%edi; dec %cx; jnz 1b; hlt
 */
const LOOP16 = [
  0xb9, 0xc8, 0x00, 0x66, 0x31, 0xc0, 0x66, 0xbb, 0x45, 0x23, 0x01, 0x00, 0x66, 0xbf, 0x00, 0x80, 0x00, 0x00, 0x31,
  0xd2, 0x01, 0xc8, 0x6b, 0xdb, 0x07, 0x66, 0x01, 0xc3, 0x67, 0x89, 0x1f, 0x67, 0x03, 0x17, 0xc1, 0xe2, 0x03, 0x66,
  0xc1, 0xc2, 0x05, 0x67, 0x8d, 0x74, 0x43, 0x03, 0xf7, 0xc6, 0x01, 0x00, 0x74, 0x01, 0x45, 0x0f, 0xb6, 0xfa, 0x0f,
  0x48, 0xf7, 0x66, 0x81, 0xe7, 0x00, 0x80, 0x00, 0x00, 0x66, 0x81, 0xcf, 0x00, 0x80, 0x00, 0x00, 0x49, 0x75, 0xc8,
  0xf4,
];

/** A real-mode machine whose reset vector jumps far to `cs:ip`. */
function boot(cs: number, ip: number) {
  const rig = makeRig(4);
  rig.p2m.map(0xfffff, ROM_FRAME, 1, P2M_R | P2M_W);
  rig.load((ROM_FRAME << 12) + 0xff0, [0xea, ip & 0xff, ip >> 8, cs & 0xff, cs >> 8]);
  rig.cpu.reset();
  return rig;
}

/**
 * At 0x1000, 32-bit flat (as --32):
 *   mov $100,%ecx; mov $0x8000,%edi; mov $0x12345678,%eax; mov $0x9abcdef0,%edx
 * 1: lock add %ecx,(%edi); shld $7,%edx,%eax; shrd %cl,%eax,%edx; addw %cx,4(%edi)
 *    lock incl 8(%edi); add %ecx,%edx; dec %ecx; jnz 1b; hlt
 */
const PREFIXED32 = [
  0xb9, 0x64, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x80, 0x00, 0x00, 0xb8, 0x78, 0x56, 0x34, 0x12, 0xba, 0xf0, 0xde, 0xbc,
  0x9a, 0xf0, 0x01, 0x0f, 0x0f, 0xa4, 0xd0, 0x07, 0x0f, 0xad, 0xc2, 0x66, 0x01, 0x4f, 0x04, 0xf0, 0xff, 0x47, 0x08,
  0x01, 0xca, 0x49, 0x75, 0xe9, 0xf4,
];

describeCpu('prefixed 32-bit forms through the decoded-instruction cache', () => {
  function runLoop(cacheOff: boolean) {
    const rig = makeRig(4);
    rig.load(0x1000, PREFIXED32);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    const cpu = rig.cpu as unknown as { step(): void; openWindow(): boolean };
    if (cacheOff) vi.spyOn(cpu, 'openWindow').mockReturnValue(false);
    const step = vi.spyOn(cpu, 'step');
    for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(53);
    const mem = [0x8000, 0x8004, 0x8008].map((a) => rig.u32(a));
    return {
      halted: rig.cpu.halted,
      regs: Array.from(rig.cpu.reg32),
      flags: rig.cpu.getEflags(),
      mem,
      steps: step.mock.calls.length,
    };
  }

  it('LOCK on a memory destination, SHLD/SHRD and a 0x66 form end in the state step() alone reaches, without step()', () => {
    const cached = runLoop(false);
    const stepped = runLoop(true);
    expect(stepped.halted).toBe(true);
    expect(stepped.mem).toEqual([5050, 5050, 100]);
    expect({ ...cached, steps: 0 }).toEqual({ ...stepped, steps: 0 });
    expect(cached.steps).toBeLessThanOrEqual(1); // the HLT
  });
});

describeCpu('16-bit code through the decoded-instruction cache', () => {
  function runLoop(cacheOff: boolean) {
    const rig = boot(0, 0x7c00);
    rig.load(0x7c00, LOOP16);
    const cpu = rig.cpu as unknown as { step(): void; openWindow(): boolean };
    if (cacheOff) vi.spyOn(cpu, 'openWindow').mockReturnValue(false);
    const step = vi.spyOn(cpu, 'step');
    for (let i = 0; i < 100 && !rig.cpu.halted; i++) rig.cpu.run(97);
    return {
      halted: rig.cpu.halted,
      eip: rig.cpu.eip,
      regs: Array.from(rig.cpu.reg32),
      flags: rig.cpu.getEflags(),
      mem: rig.u32(0x8000),
      steps: step.mock.calls.length,
    };
  }

  it('a loop of 16-bit, 0x66 and 0x67 forms ends in the state step() alone reaches, without step()', () => {
    const cached = runLoop(false);
    const stepped = runLoop(true);
    expect(stepped.halted).toBe(true);
    expect(stepped.steps).toBeGreaterThan(200 * 15);
    expect({ ...cached, steps: 0 }).toEqual({ ...stepped, steps: 0 });
    // The reset vector's far jump and the HLT: nothing of the loop itself.
    expect(cached.steps).toBeLessThanOrEqual(3);
  });

  it('a 16-bit JMP whose target wraps below IP 0 lands at the masked IP, in the same segment', () => {
    // At 1000:0002: jmp short -0x10 → IP (4 - 0x10) & 0xFFFF = 0xFFF4, linear 0x1FFF4 (a HLT);
    // linear 0xFFF4, where an unmasked IP would land, holds mov $1,%al; hlt.
    const rig = boot(0x1000, 0x0002);
    rig.load(0x10002, [0xeb, 0xf0]);
    rig.load(0x1fff4, [0xf4]);
    rig.load(0xfff4, [0xb0, 0x01, 0xf4]);
    rig.cpu.run(10);
    expect(rig.cpu.halted).toBe(true);
    expect(rig.cpu.eip >>> 0).toBe(0xfff5);
    expect(rig.cpu.reg32[0] & 0xff).toBe(0);
  });
});
