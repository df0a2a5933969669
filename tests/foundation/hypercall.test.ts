import { describe, expect, it } from 'vitest';
import { HypercallChannel } from '../../src/ioemu/hypercall-client';
import { VramClient } from '../../src/shared/api';
import { Machine } from '../../src/machine/machine';
import { PAGE_SHIFT, VRAM_BAR_DEFAULT } from '../../src/shared/layout';

function machine(): Machine {
  const made = Machine.create(
    { ramMiB: 16, vramMiB: 8, cmdline: '', clock: 'icount', image: 'pattern' },
    new ArrayBuffer(0),
  );
  if (!made.ok) throw new Error(made.message);
  return made.value;
}

const BAR_PFN = VRAM_BAR_DEFAULT >>> PAGE_SHIFT;

describe('the shared-memory hypercall channel', () => {
  it('serves trackDirtyVram with the comlink call’s semantics: all dirty first, then only what was written', async () => {
    const m = machine();
    m.listenForHypercalls();
    const ch = new HypercallChannel(m.stats);
    const first = await ch.trackDirtyVram(BAR_PFN, 300);
    expect(first.ok && first.value.length).toBe(38);
    expect(first.ok && first.value.slice(0, 37).every((b) => b === 0xff)).toBe(true);
    const quiet = await ch.trackDirtyVram(BAR_PFN, 300);
    expect(quiet.ok && quiet.value.every((b) => b === 0)).toBe(true);
    m.hv.markVramWritten(5 * 4096 + 10, 1); // a device-side write to page 5
    const one = await ch.trackDirtyVram(BAR_PFN, 300);
    expect(one.ok && Array.from(one.value.slice(0, 2))).toEqual([0x20, 0]);
    m.destroy();
  });

  it('returns the hypervisor’s refusal as EINVAL and changes nothing', async () => {
    const m = machine();
    m.listenForHypercalls();
    const ch = new HypercallChannel(m.stats);
    const outside = await ch.trackDirtyVram(BAR_PFN + 2047, 2);
    expect(outside.ok).toBe(false);
    expect(!outside.ok && outside.code).toBe('EINVAL');
    const tooBig = await ch.trackDirtyVram(BAR_PFN, 262_145);
    expect(!tooBig.ok && tooBig.code).toBe('EINVAL');
    m.destroy();
  });

  it('queues overlapping calls and answers each in order', async () => {
    const m = machine();
    m.listenForHypercalls();
    const ch = new HypercallChannel(m.stats);
    const [a, b, c] = await Promise.all([
      ch.trackDirtyVram(BAR_PFN, 16),
      ch.trackDirtyVram(BAR_PFN, 16),
      ch.trackDirtyVram(BAR_PFN, 0),
    ]);
    expect(a.ok && Array.from(a.value)).toEqual([0xff, 0xff]);
    expect(b.ok && Array.from(b.value)).toEqual([0, 0]);
    expect(c.ok && c.value.length).toBe(0);
    m.destroy();
  });

  it('carries the client with each request: two clients interleaved on one channel each get their own bitmap', async () => {
    const m = machine();
    m.listenForHypercalls();
    const ch = new HypercallChannel(m.stats);
    await Promise.all([ch.trackDirtyVram(BAR_PFN, 16), ch.trackDirtyVram(BAR_PFN, 16, VramClient.DISPLAY_B)]);
    m.hv.markVramWritten(3 * 4096, 1);
    const [a, b, again] = await Promise.all([
      ch.trackDirtyVram(BAR_PFN, 16, VramClient.DISPLAY),
      ch.trackDirtyVram(BAR_PFN, 16, VramClient.DISPLAY_B),
      ch.trackDirtyVram(BAR_PFN, 16, VramClient.DISPLAY),
    ]);
    expect(a.ok && Array.from(a.value)).toEqual([0x08, 0]);
    expect(b.ok && Array.from(b.value)).toEqual([0x08, 0]);
    expect(again.ok && Array.from(again.value)).toEqual([0, 0]);
    const unknown = await ch.trackDirtyVram(BAR_PFN, 16, 9 as VramClient);
    expect(!unknown.ok && unknown.code).toBe('EINVAL');
    m.destroy();
  });

  it('is served between slices even without the doorbell listener', async () => {
    const m = machine();
    const ch = new HypercallChannel(m.stats);
    const pending = ch.trackDirtyVram(BAR_PFN, 8);
    await Promise.resolve();
    m.slice();
    const r = await pending;
    expect(r.ok && Array.from(r.value)).toEqual([0xff]);
    m.destroy();
  });
});
