/**
 * 16-bit code and word-size forms in the decoded-instruction cache (decoded-cache.ts, decodeForm
 * and decodeWord): a real-mode loop mixing 16-bit forms (no prefix), 32-bit operands (0x66) and
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
