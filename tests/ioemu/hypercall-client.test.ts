import { describe, expect, it } from 'vitest';
import { HypervisorClient, type MachineLink } from '../../src/ioemu/hypercall-client';
import { ok, VramClient } from '../../src/shared/api';
import { Machine } from '../../src/machine/machine';
import { HV_CLIENT_IDLE_DROP, I32, PAGE_SHIFT, VRAM_BAR_DEFAULT } from '../../src/shared/layout';

const BAR_PFN = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;

function machine(): Machine {
  const made = Machine.create(
    { ramMiB: 16, vramMiB: 8, cmdline: '', clock: 'icount', image: 'pattern' },
    new ArrayBuffer(0),
  );
  if (!made.ok) throw new Error(made.message);
  made.value.listenForHypercalls();
  return made.value;
}

/** The machine as the page links it: its API (called in this thread) and, while it runs, its stats. */
function link(m: Machine, calls: string[] = []): MachineLink {
  return {
    api: {
      trackDirtyVram: async (first, nr, client) => (calls.push('comlink'), m.trackDirtyVram(first, nr, client)),
      setIdleDrop: async (on, client) => m.setIdleDrop(on, client),
      setTrapWrites: async (on, client) => m.setTrapWrites(on, client),
    },
    stats: m.stats,
  };
}

describe("the ioemu's hypercall client", () => {
  it('gives each display its own dirty-VRAM client, the same operations each time it is asked', async () => {
    const m = machine();
    const hv = new HypervisorClient(() => link(m));
    const a = hv.ops(VramClient.DISPLAY);
    const b = hv.ops(VramClient.DISPLAY_B);
    expect(hv.ops(VramClient.DISPLAY)).toBe(a);
    expect([a.client, b.client]).toEqual([VramClient.DISPLAY, VramClient.DISPLAY_B]);
    await a.trackDirtyVram(BAR_PFN, 16);
    await b.trackDirtyVram(BAR_PFN, 16);
    m.hv.markVramWritten(2 * 4096, 1);
    // Each client sees the write once: neither takes the other's bit.
    expect(await a.trackDirtyVram(BAR_PFN, 16)).toEqual(ok(Uint8Array.of(0x04, 0)));
    expect(await b.trackDirtyVram(BAR_PFN, 16)).toEqual(ok(Uint8Array.of(0x04, 0)));
    await b.setIdleDrop(true);
    expect(Atomics.load(m.stats.i32, I32.HV_CLIENT_STATE + VramClient.DISPLAY_B) & HV_CLIENT_IDLE_DROP).toBe(
      HV_CLIENT_IDLE_DROP,
    );
    expect(Atomics.load(m.stats.i32, I32.HV_CLIENT_STATE + VramClient.DISPLAY) & HV_CLIENT_IDLE_DROP).toBe(0);
    m.destroy();
  });

  it('goes through the shared-memory channel, or through comlink when asked (?hc=comlink)', async () => {
    const m = machine();
    const calls: string[] = [];
    await new HypervisorClient(() => link(m, calls)).ops(VramClient.DISPLAY).trackDirtyVram(BAR_PFN, 8);
    expect(calls).toEqual([]);
    await new HypervisorClient(() => link(m, calls), true).ops(VramClient.DISPLAY).trackDirtyVram(BAR_PFN, 8);
    expect(calls).toEqual(['comlink']);
    m.destroy();
  });

  it('answers ESTATE while no machine runs, without a call', async () => {
    const ops = new HypervisorClient(() => null).ops(VramClient.DISPLAY);
    expect(await ops.trackDirtyVram(BAR_PFN, 8)).toMatchObject({ ok: false, code: 'ESTATE' });
    expect(await ops.setIdleDrop(true)).toMatchObject({ ok: false, code: 'ESTATE' });
  });
});
