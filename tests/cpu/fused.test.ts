/**
 * The decoded-instruction cache fuses a register CMP/TEST/ALU form with the Jcc after it into
 * one entry (cpu.ts, `fuseJcc`). It must stay two instructions to the outside: counted as two,
 * stoppable between them by the budget, and forgotten when the Jcc's bytes are rewritten. Also
 * here: code rewritten by a device inside an I/O callback, which only the cache's epoch catches.
 */
import { expect, it } from 'vitest';
import { describeCpu, makeRig } from './rig';

/** mov ecx, 1000; L: add eax, 3; sub ecx, 1; jnz L; hlt */
const LOOP = [0xb9, 0xe8, 0x03, 0x00, 0x00, 0x83, 0xc0, 0x03, 0x83, 0xe9, 0x01, 0x75, 0xf8, 0xf4];

describeCpu('the decoded-instruction cache: fused CMP/ALU + Jcc, device writes', () => {
  it('retires as two instructions, and a budget can end between them', () => {
    const big = makeRig(4);
    big.load(0x1000, LOOP);
    big.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    big.cpu.run(100_000);
    expect(big.cpu.halted).toBe(true);
    expect(big.cpu.instructions).toBe(1 + 3 * 1000 + 1); // mov, 1000 × (add, sub, jnz), hlt
    expect(big.cpu.reg32[0]).toBe(3000);

    const small = makeRig(4);
    small.load(0x1000, LOOP);
    small.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    const eips: number[] = [];
    for (let i = 0; i < 12; i++) {
      const before = small.cpu.instructions;
      small.cpu.run(1);
      expect(small.cpu.instructions - before).toBe(1);
      eips.push(small.cpu.eip >>> 0);
    }
    // One instruction per run(1): the SUB and the JNZ stop separately.
    expect(eips.slice(0, 7)).toEqual([0x1005, 0x1008, 0x100b, 0x1005, 0x1008, 0x100b, 0x1005]);
    for (let i = 0; i < 1000 && !small.cpu.halted; i++) small.cpu.run(7); // odd slices
    expect(small.cpu.halted).toBe(true);
    expect(small.cpu.instructions).toBe(big.cpu.instructions);
    expect(small.cpu.reg32[0]).toBe(3000);
  });

  it('code a device rewrites in its port callback (as DMA would) is decoded afresh in the same run()', () => {
    const rig = makeRig(4);
    // loop: mov eax, 1 (B8 imm32, cached after the first pass); out 0x99, al; cmp eax, 2; jne loop; hlt
    rig.load(0x1000, [0xb8, 1, 0, 0, 0, 0xe6, 0x99, 0x83, 0xf8, 0x02, 0x75, 0xf4, 0xf4]);
    let writes = 0;
    rig.io.register(0x99, 1, {
      read: () => 0xff,
      write: () => {
        if (++writes === 3) rig.memory.u8[0x1001] = 2; // the MOV's immediate becomes 2
      },
    });
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(1000);
    expect(rig.cpu.halted).toBe(true);
    expect(writes).toBe(4);
    expect(rig.cpu.reg32[0]).toBe(2);
  });

  it('with externalCodeWrites false (the PC platform), a writer that calls codeChanged() is seen at once', () => {
    const rig = makeRig(4, undefined, { externalCodeWrites: false });
    rig.load(0x1000, [0xb8, 1, 0, 0, 0, 0xe6, 0x99, 0x83, 0xf8, 0x02, 0x75, 0xf4, 0xf4]);
    let writes = 0;
    rig.io.register(0x99, 1, {
      read: () => 0xff,
      write: () => {
        if (++writes === 3) {
          rig.memory.u8[0x1001] = 2;
          (rig.cpu as unknown as { codeChanged(): void }).codeChanged();
        }
      },
    });
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(1000);
    expect(rig.cpu.halted).toBe(true);
    expect(writes).toBe(4);
    expect(rig.cpu.reg32[0]).toBe(2);
  });

  it('a store that turns the JE of a cached pair into JNE is obeyed', () => {
    const rig = makeRig(4);
    rig.load(0x1000, [
      0xbb,
      0,
      0,
      0,
      0, // mov ebx, 0
      0xb8,
      5,
      0,
      0,
      0, // mov eax, 5
      0x83,
      0xf8,
      0x05, // again: cmp eax, 5
      0x74,
      0x02, // je taken
      0x43, // inc ebx
      0xf4, // hlt
      0xc6,
      0x05,
      0x0d,
      0x10,
      0x00,
      0x00,
      0x75, // taken: mov byte [0x100d], 0x75 (je → jne)
      0xeb,
      0xf0, // jmp again
    ]);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(1000);
    expect(rig.cpu.halted).toBe(true);
    expect(rig.cpu.reg32[3]).toBe(1);
  });
});
