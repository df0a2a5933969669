import { expect, it } from 'vitest';
import { fuzzCase } from './fuzz';
import { MmioBus } from '../../src/machine/bus';
import { describeCpu, le, makeRig } from './rig';

describeCpu('CPU regressions found by the long fuzz run', () => {
  it('run() returns even when every interrupt handler faults at once (seed 1122, real mode, hung before)', () => {
    const outcome = fuzzCase(1122, 'real', 20000);
    expect(outcome.exits.length).toBeGreaterThan(0);
  });
});

describeCpu('CPU regressions found in review', () => {
  it('with paging off, a device above 2 GiB (0xFEE00000) is reached by loads and stores', () => {
    const mmio = new MmioBus();
    const rig = makeRig(4, undefined, { mmio });
    const seen: number[] = [];
    mmio.register(0xfee00000, 4096, {
      read: (addr) => (seen.push(addr >>> 0), 0x12345678),
      write: (addr, _size, value) => void seen.push(addr >>> 0, value),
    });
    rig.p2m.mapMmio(0xfee00, 1);
    // mov eax, [0xFEE00020]; mov dword [0xFEE00030], 0xCAFE; hlt
    rig.load(0x1000, [0xa1, 0x20, 0x00, 0xe0, 0xfe, 0xc7, 0x05, 0x30, 0x00, 0xe0, 0xfe, 0xfe, 0xca, 0, 0, 0xf4]);
    rig.cpu.enterProtectedModeFlat(0x1000, { esp: 0x8000 });
    rig.cpu.run(10);
    expect(rig.cpu.reg32[0] >>> 0).toBe(0x12345678);
    expect(seen).toEqual([0xfee00020, 0xfee00030, 0xcafe]);
  });
});

describeCpu('descriptor accessed bits', () => {
  it('loading CS and DS sets the accessed bit of their descriptors, and only theirs (SDM vol. 3, 3.4.5.1)', () => {
    const GDT = 0x1000;
    const CODE = 0x10000;
    const rig = makeRig(4);
    const desc = (access: number) => [0xff, 0xff, 0, 0, 0, access, 0xcf, 0];
    // null, 0x08 code and 0x10 data (accessed), then 0x18 code, 0x20 data, 0x28 data (not accessed)
    rig.load(GDT, [...desc(0), ...desc(0x9b), ...desc(0x93), ...desc(0x9a), ...desc(0x92), ...desc(0x92)]);
    rig.load(GDT + 0x100, [0x2f, 0, ...le(GDT)]);
    // lgdt [GDT+0x100]; ljmp 0x18:next; next: mov ax, 0x20; mov ds, ax; hlt
    const next = CODE + 14;
    rig.load(CODE, [
      0x0f,
      0x01,
      0x15,
      ...le(GDT + 0x100),
      0xea,
      ...le(next),
      0x18,
      0,
      0x66,
      0xb8,
      0x20,
      0,
      0x8e,
      0xd8,
      0xf4,
    ]);
    rig.cpu.enterProtectedModeFlat(CODE, { esp: 0x9000 });
    rig.cpu.run(10);
    expect(rig.cpu.halted).toBe(true);
    const access = (sel: number) => rig.memory.u8[GDT + sel + 5];
    expect([access(0x18), access(0x20), access(0x28)]).toEqual([0x9b, 0x93, 0x92]);
  });
});
