import { expect, it } from 'vitest';
import { fuzzCase } from './fuzz';
import { MmioBus } from '../../src/machine/bus';
import { describeCpu, makeRig } from './rig';

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
