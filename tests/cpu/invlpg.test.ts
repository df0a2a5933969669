/**
 * INVLPG drops one page's translation (SDM vol. 3, 4.10.4.1) and nothing else: the CPU's caches of
 * code keyed by linear page (the decoded-code window, the interpreter's fetch page, compiled
 * blocks) must see a code page remapped and invalidated, also the very page that executes the
 * INVLPG, while an INVLPG of any other page leaves them as they are.
 */
import { expect, it } from 'vitest';
import { describeCpu, flatTables, makeRig } from './rig';

const PD = 0x20000;
const PT = 0x21000;

/** 0x1000: mov $PD,%eax; mov %eax,%cr3; mov %cr0,%eax; or $0x80000000,%eax; mov %eax,%cr0; jmp 0x2000 */
const SETUP = 'b8000002000f22d80f20c00d000000800f22c0e9e80f0000';
/**
 * 0x2000 (frame 0x2000):
 *   mov $0,%esi; 1: call 0x3000; inc %esi; cmp $100,%esi; jne 1b     (page 3 becomes hot code)
 *   mov %eax,0x8000
 *   movl $0x5003,PT+3*4; invlpg 0x3000; call 0x3000; mov %eax,0x8004   (page 3 → frame 0x5000)
 *   movl $0x6003,PT+2*4; clc; invlpg 0x2000                             (this page → frame 0x6000)
 *   after: clc; mov $0x33,%eax; setc %bl; mov %eax,0x8008; mov %ebx,0x800c; hlt
 * (as --32, linked at 0x1000)
 */
const PAGE2 =
  'be00000000e8f60f00004683fe6475f5a300800000c7050c100200035000000f013d00300000e8d50f0000a304800000' +
  'c7050810020003600000f80f013d00200000f8b8330000000f92c3a308800000891d0c800000f4';
const AFTER = 0x42;

const bytes = (hex: string): number[] => hex.match(/../g)!.map((h) => parseInt(h, 16));

describeCpu('INVLPG and the caches of code', () => {
  it('a code page remapped and invalidated runs its new frame: another page, and the page executing INVLPG', () => {
    const rig = makeRig(4);
    rig.setU32(PD, PT | 3);
    for (let i = 0; i < 1024; i++) rig.setU32(PT + 4 * i, (i << 12) | 3);
    rig.load(0x1000, bytes(SETUP));
    rig.load(0x2000, bytes(PAGE2));
    rig.load(0x3000, bytes('b811000000c3')); // mov $0x11,%eax; ret
    rig.load(0x5000, bytes('b822000000c3')); // mov $0x22,%eax; ret
    // Frame 0x6000: page 2 again, but stc and mov $0x44 after its INVLPG (the step() form first,
    // so that the interpreter's fetch page is tested as well as the decoded window).
    const b = bytes(PAGE2);
    b[AFTER] = 0xf9;
    b[AFTER + 2] = 0x44;
    rig.load(0x6000, b);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(10_000);
    expect(rig.cpu.halted).toBe(true);
    expect([rig.u32(0x8000), rig.u32(0x8004), rig.u32(0x8008), rig.u32(0x800c) & 0xff]).toEqual([0x11, 0x22, 0x44, 1]);
  });

  it('a hot call into a code page made not present faults at the target: its EIP, the ESP after the push', () => {
    // 0x1000: lgdt 0x12100; lidt 0x13800; paging on (CR3 = PD); jmp 0x2000
    // 0x2000: mov $0,%esi; 1: call 0x3000; inc %esi; cmp $100,%esi; jne 1b   (page 3 hot, across pages)
    //         movl $0,PT+3*4; invlpg 0x3000; mov %esp,0x8000; call 0x3000; mov %eax,0x8004; hlt
    // 0x2032: #PF: the saved EIP into 0x8010, ESP before the fault into 0x8014, incl 0x8018,
    //         page 3 present again; add $4,%esp; iret     (as --32, linked at 0x1000)
    // 0x3000: mov $0x11,%eax; ret
    const rig = makeRig(4);
    rig.setU32(PD, PT | 3);
    for (let i = 0; i < 1024; i++) rig.setU32(PT + 4 * i, (i << 12) | 3);
    flatTables(rig, 0x12000, 0x13000)(14, 0x2032);
    rig.load(0x1000, bytes('0f0115002101000f011d00380100b8000002000f22d80f20c00d000000800f22c0e9da0f0000'));
    rig.load(
      0x2000,
      bytes(
        'be00000000e8f60f00004683fe6475f5c7050c100200000000000f013d00300000892500800000e8d40f0000a304800000f4' +
          '8b442404a3108000008d442410a314800000ff0518800000c7050c1002000330000083c404cf',
      ),
    );
    rig.load(0x3000, bytes('b811000000c3'));
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x9000 });
    rig.cpu.run(10_000);
    expect(rig.cpu.halted).toBe(true);
    expect([rig.u32(0x8010), rig.u32(0x8014), rig.u32(0x8018), rig.u32(0x8004)]).toEqual([
      0x3000,
      rig.u32(0x8000) - 4,
      1,
      0x11,
    ]);
  });
});
