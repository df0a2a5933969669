/**
 * Code that changes under the CPU: the guest's own stores into its instruction stream (SDM vol. 3,
 * 11.6: the next fetch sees them, with or without a jump in between), and bytes changed by someone
 * else (the other thread, a device) between or during runs. A decoded-instruction or block cache
 * must not serve stale code in any of these cases.
 */
import { expect, it, vi } from 'vitest';
import { describeCpu, makeRig } from './rig';

/**
 *   1000: mov $0x11111111,%ecx; mov $0x8000,%edi
 *   again: mov %ecx,target+1; jmp target
 *   target: mov $0,%ebx; mov %ebx,(%edi); add $4,%edi; add $0x11111111,%ecx; cmp $0x8010,%edi; jne again
 *   mov $0x8010,%edi; mov $0x55555555,%ecx
 *   again2: mov %ecx,next+1            (no jump: the very next instruction is the one modified)
 *   next: mov $0,%ebx; mov %ebx,(%edi); add $4,%edi; add $0x11111111,%ecx; cmp $0x8020,%edi; jne again2
 *   hlt
 * (as --32, linked at 0x1000)
 */
const SMC = [
  0xb9, 0x11, 0x11, 0x11, 0x11, 0xbf, 0x00, 0x80, 0x00, 0x00, 0x89, 0x0d, 0x13, 0x10, 0x00, 0x00, 0xeb, 0x00, 0xbb,
  0x00, 0x00, 0x00, 0x00, 0x89, 0x1f, 0x83, 0xc7, 0x04, 0x81, 0xc1, 0x11, 0x11, 0x11, 0x11, 0x81, 0xff, 0x10, 0x80,
  0x00, 0x00, 0x75, 0xe0, 0xbf, 0x10, 0x80, 0x00, 0x00, 0xb9, 0x55, 0x55, 0x55, 0x55, 0x89, 0x0d, 0x3b, 0x10, 0x00,
  0x00, 0xbb, 0x00, 0x00, 0x00, 0x00, 0x89, 0x1f, 0x83, 0xc7, 0x04, 0x81, 0xc1, 0x11, 0x11, 0x11, 0x11, 0x81, 0xff,
  0x20, 0x80, 0x00, 0x00, 0x75, 0xe2, 0xf4,
];

/** loop: mov $IMM,%eax (B8 imm32); mov %eax,0x8000 (A3 00 80 00 00); jmp loop (EB F4) */
const LOOP = [0xb8, 0x01, 0x00, 0x00, 0x00, 0xa3, 0x00, 0x80, 0x00, 0x00, 0xeb, 0xf4];

describeCpu('self-modifying and externally modified code', () => {
  it('a store into the instruction stream is seen by the next fetch, after a jump and without one', () => {
    const rig = makeRig(4);
    rig.load(0x1000, SMC);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(1000);
    expect(rig.cpu.halted).toBe(true);
    const got = Array.from({ length: 8 }, (_, i) => rig.u32(0x8000 + 4 * i));
    expect(got).toEqual([
      0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555, 0x66666666, 0x77777777, 0x88888888,
    ]);
  });

  it('code bytes changed by another agent between run() calls are executed as changed', () => {
    const rig = makeRig(4);
    rig.load(0x1000, LOOP);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    for (let v = 1; v <= 5; v++) {
      rig.setU32(0x1001, v * 0x01010101); // the immediate of the MOV, as the other thread would
      rig.cpu.run(3 * 50); // fifty rounds of the loop
      expect(rig.u32(0x8000)).toBe(v * 0x01010101);
    }
  });

  it('code whose frame no one changed keeps its decoded entries from one run() to the next', () => {
    // Every run() distrusts memory (externalCodeWrites, the default): the frame's bytes are
    // compared with those its entries were decoded from instead of decoding them all again.
    const rig = makeRig(4);
    rig.load(0x1000, LOOP);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    const cpu = rig.cpu as unknown as { decodeAt(d: Int32Array, idx: number): number };
    const decodeAt = vi.spyOn(cpu, 'decodeAt');
    rig.cpu.run(3 * 50);
    expect(decodeAt).toHaveBeenCalled();
    decodeAt.mockClear();
    rig.cpu.run(3 * 50);
    rig.cpu.codeChanged();
    rig.cpu.run(3 * 50);
    expect(decodeAt).not.toHaveBeenCalled();
    // A byte of the frame changed (not even an instruction's): decoded afresh.
    rig.load(0x1f00, [0x90]);
    rig.cpu.run(3 * 50);
    expect(decodeAt).toHaveBeenCalled();
    expect(rig.u32(0x8000)).toBe(1);
  });

  it('a page of code replaced whole (as a loader or DMA would) is decoded afresh', () => {
    const rig = makeRig(4);
    rig.load(0x1000, LOOP);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(300);
    // Replace with: mov $0xCAFE,%eax; mov %eax,0x8000; hlt
    rig.load(0x1000, [0xb8, 0xfe, 0xca, 0x00, 0x00, 0xa3, 0x00, 0x80, 0x00, 0x00, 0xf4, 0xf4]);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(100);
    expect(rig.u32(0x8000)).toBe(0xcafe);
    expect(rig.cpu.halted).toBe(true);
  });
  it('an offset once run through step() is cached again when its bytes change', () => {
    // loop: cwde; fwait (98 9B: not cached, step(); EAX stays 0); mov %eax,0x8000; jmp loop
    const rig = makeRig(4);
    rig.load(0x1000, [0x98, 0x9b, 0xa3, 0x00, 0x80, 0x00, 0x00, 0xeb, 0xf7]);
    rig.cpu.enterProtectedModeFlat(0x1000, { eax: 0, esp: 0x9000 });
    const cpu = rig.cpu as unknown as { step(): void };
    const step = vi.spyOn(cpu, 'step');
    rig.cpu.run(4 * 50);
    expect(rig.u32(0x8000)).toBe(0);
    expect(step).toHaveBeenCalledTimes(100);
    // Now inc %eax; nop: both cached forms, at the same offsets.
    rig.load(0x1000, [0x40, 0x90]);
    step.mockClear();
    rig.cpu.run(4 * 50);
    expect(rig.u32(0x8000)).toBe(50);
    expect(step).not.toHaveBeenCalled();
  });
});

/**
 * 0x1000: call the code of 600 frames in turn (0x100000 + 0x1000 i: mov $imm,%eax; ret), summing
 * EAX into 0x8000 — more frames than the decoded cache holds, so frames give their entries away —
 * then store 0x55 and 0x66 into the first frame's immediate, calling it after each (0x8004, 0x8008).
 */
const MANY_FRAMES =
  'bb0000100031ffffd301c781c30010000081fb0080350075ee893d00800000c7050100100055000000bb00001000ffd3a3' +
  '04800000c7050100100066000000ffd3a308800000f4';

describeCpu('the decoded cache past its size', () => {
  it('code in more frames than it holds runs as written, and stores into a frame decoded again are seen', () => {
    const rig = makeRig(8);
    rig.load(
      0x1000,
      MANY_FRAMES.match(/../g)!.map((h) => parseInt(h, 16)),
    );
    let sum = 0;
    for (let i = 0; i < 600; i++) {
      const imm = (i * 7 + 1) >>> 0;
      rig.load(0x100000 + 0x1000 * i, [0xb8, ...[0, 8, 16, 24].map((s) => (imm >>> s) & 0xff), 0xc3]);
      sum = (sum + imm) >>> 0;
    }
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(100_000);
    expect(rig.cpu.halted).toBe(true);
    expect([rig.u32(0x8000), rig.u32(0x8004), rig.u32(0x8008)]).toEqual([sum, 0x55, 0x66]);
  });
});
