/**
 * BOUND and ARPL (SDM vol. 2), and the ModR/M reg fields the SDM reserves: 8F /1–7, C6 /1–7,
 * C7 /1–7 and 0F D0–FF are #UD, not POP / MOV / BSWAP.
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, le, loadFlatTables, makeRig } from './rig';

const GDT = 0x1000;
const IDT = 0x2000;
const HANDLERS = 0x3000;
const CODE = 0x10000;
const DATA = 0x20000;

/** Runs `bytes` in flat 32-bit ring 0 with EBX = DATA; returns the exception vector raised (−1: none) and the rig. */
function run(bytes: number[], data: number[] = [], regs: Record<string, number> = {}) {
  const rig = makeRig(4);
  const gate = flatTables(rig, GDT, IDT);
  for (let v = 0; v < 32; v++) {
    gate(v, HANDLERS + v);
    rig.load(HANDLERS + v, [0xf4]);
  }
  rig.load(DATA, data);
  const pre = loadFlatTables(GDT, IDT);
  rig.load(CODE, [...pre, ...bytes, 0xf4]);
  rig.cpu.enterProtectedModeFlat(CODE, { ebx: DATA, esp: 0x9000, ...regs });
  rig.cpu.run(2);
  rig.cpu.run(1);
  const eip = (rig.cpu.eip >>> 0) - (rig.cpu.halted ? 1 : 0);
  const vector = eip >= HANDLERS && eip < HANDLERS + 32 ? eip - HANDLERS : -1;
  return { vector, rig };
}

describeCpu('BOUND, ARPL and reserved reg fields', () => {
  const bounds = [...le(-5), ...le(10)]; // lower −5, upper 10 (signed dwords)
  it('BOUND passes an index inside [lower, upper] and raises #BR (5) outside, as a fault', () => {
    for (const [index, vector] of [
      [-5, -1],
      [10, -1],
      [0, -1],
      [11, 5],
      [-6, 5],
    ]) {
      const { vector: v, rig } = run([0x62, 0x03], bounds, { eax: index }); // bound eax, [ebx]
      expect(v, `index ${index}`).toBe(vector);
      // A fault: the saved EIP is the BOUND itself (pushed at the top of the handler's stack).
      if (vector === 5) expect(rig.u32(0x9000 - 12)).toBe(CODE + 14);
    }
  });

  it('BOUND with 16-bit operands compares signed words; a register operand is #UD', () => {
    expect(run([0x66, 0x62, 0x03], [0xfb, 0xff, 0x0a, 0x00], { eax: 0xfffb }).vector).toBe(-1); // −5 in [−5, 10]
    expect(run([0x66, 0x62, 0x03], [0xfb, 0xff, 0x0a, 0x00], { eax: 0x000b }).vector).toBe(5);
    expect(run([0x62, 0xc1]).vector).toBe(6);
  });

  it("ARPL raises the destination selector's RPL to the source's and sets ZF; otherwise clears ZF", () => {
    let { rig } = run([0x63, 0xc8], [], { eax: 0x0010, ecx: 0x0013 }); // arpl ax, cx
    expect(rig.cpu.reg32[0] & 0xffff).toBe(0x0013);
    expect(rig.cpu.getEflags() & 0x40).toBe(0x40);
    ({ rig } = run([0x63, 0xc8], [], { eax: 0x0013, ecx: 0x0011 }));
    expect(rig.cpu.reg32[0] & 0xffff).toBe(0x0013);
    expect(rig.cpu.getEflags() & 0x40).toBe(0);
  });

  it('8F, C6 and C7 with a reg field other than 0, and 0F D0–FF, are #UD', () => {
    for (let reg = 1; reg < 8; reg++) {
      expect(run([0x8f, 0xc0 | (reg << 3)]).vector, `8f /${reg}`).toBe(6);
      expect(run([0xc6, 0xc0 | (reg << 3), 1]).vector, `c6 /${reg}`).toBe(6);
      expect(run([0xc7, 0xc0 | (reg << 3), 1, 0, 0, 0]).vector, `c7 /${reg}`).toBe(6);
    }
    for (let b = 0xd0; b <= 0xff; b++) expect(run([0x0f, b, 0xc0]).vector, `0f ${b.toString(16)}`).toBe(6);
    expect(run([0x0f, 0xc8]).vector).toBe(-1); // BSWAP EAX still is one
  });
});
