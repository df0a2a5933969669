import { describe, expect, it } from 'vitest';
import { checkConfig, ErrorCode, type MachineConfig } from '../../src/shared/api';
import { I32, RunState } from '../../src/shared/layout';
import { readFileSync } from 'node:fs';
import { Machine } from '../../src/machine/machine';
import { PATTERN_HEIGHT, PATTERN_WIDTH, patternPixel } from '../../src/machine/pattern';

const config: MachineConfig = { ramMiB: 8, vramMiB: 8, cmdline: '', clock: 'icount', image: 'pattern' };

function make(): Machine {
  const m = Machine.create(config, new ArrayBuffer(0));
  if (!m.ok) throw new Error(m.message);
  return m.value;
}

describe('Machine in Node', () => {
  it('runs without a browser and writes the pattern into VRAM through the shared memory', () => {
    const m = make();
    for (let i = 0; i < 50; i++) m.slice();
    // Check rows of frame 0, which the first slice certainly completed.
    const view = new Uint32Array(m.handles.memory, m.handles.layout.vramOffset, PATTERN_WIDTH * PATTERN_HEIGHT);
    const seen = new Set<number>();
    for (const [x, y] of [
      [0, 0],
      [17, 3],
      [639, 479],
      [320, 240],
    ]) {
      const v = view[y * PATTERN_WIDTH + x];
      let f = -1;
      for (let k = 0; k < 100_000 && f < 0; k++) if (patternPixel(x, y, k) === v) f = k;
      expect(f, `pixel ${x},${y}`).toBeGreaterThanOrEqual(0);
      seen.add(f);
    }
    expect(m.stats.f64[13]).toBe(50); // F64.SLICES
    expect(Atomics.load(m.stats.i32, I32.VBE_XRES)).toBe(PATTERN_WIDTH);
    m.destroy();
  });

  it('starts, pauses and reports its state in the stats block', async () => {
    const m = make();
    expect(m.state).toBe(RunState.PAUSED);
    expect(m.start().ok).toBe(true);
    expect(m.state).toBe(RunState.RUNNING);
    await new Promise((r) => setTimeout(r, 30));
    expect(m.pause().ok).toBe(true);
    const seq = Atomics.load(m.stats.i32, I32.SLICE_SEQ);
    expect(seq).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(Atomics.load(m.stats.i32, I32.SLICE_SEQ)).toBe(seq);
    m.destroy();
  });
});

describe('the boundary checks its arguments', () => {
  it.each([
    ['not an object', 42],
    ['RAM too small', { ...config, ramMiB: 2 }],
    ['RAM not an integer', { ...config, ramMiB: '32' }],
    ['VRAM not a choice', { ...config, vramMiB: 12 }],
    ['clock unknown', { ...config, clock: 'tsc' }],
    ['image kind unknown', { ...config, image: 'iso' }],
    ['cmdline not a string', { ...config, cmdline: 7 }],
  ])('create refuses %s with EINVAL', (_name, bad) => {
    const r = Machine.create(bad, new ArrayBuffer(0));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(ErrorCode.EINVAL);
    expect(checkConfig(bad).ok).toBe(false);
  });

  it('refuses an image that is not an ArrayBuffer', () => {
    const r = Machine.create(config, 'kernel' as unknown as ArrayBuffer);
    expect(r.ok || r.code).toBe(ErrorCode.EINVAL);
  });

  it('refuses bad input events and hypercall arguments with EINVAL, never a throw', () => {
    const m = make();
    const codes = [
      m.sendScancodes('abc'),
      m.sendScancodes([256]),
      m.serialWrite(12),
      m.trackDirtyVram('0', 1),
      m.trackDirtyVram(0, 1.5),
      m.setIdleDrop('yes'),
    ].map((r) => (r.ok ? 'ok' : r.code));
    expect(codes).toEqual(Array(codes.length).fill(ErrorCode.EINVAL));
    m.destroy();
  });
});

describe('a triple fault is handled by the machine', () => {
  // guest/mbtest/triple.S: prints a line on COM1, then INT3 with an empty IDT: the processor shuts down.
  const kernel = () => new Uint8Array(readFileSync('public/guest/triple.elf')).buffer;
  const boot = (tripleFault?: 'reset' | 'stop') => {
    const m = Machine.create(
      {
        ramMiB: 8,
        vramMiB: 8,
        cmdline: '',
        clock: 'icount',
        image: 'multiboot',
        ...(tripleFault ? { tripleFault } : {}),
      },
      kernel(),
    );
    if (!m.ok) throw new Error(m.message);
    return m.value;
  };
  const faults = (m: Machine) => Atomics.load(m.stats.i32, I32.FAULT_SEQ);
  const runUntil = (m: Machine, done: () => boolean) => {
    for (let i = 0; i < 200 && !done(); i++) m.slice();
  };
  const banners = (out: string) => out.split('triple: about to shut down').length - 1;

  it("with tripleFault 'reset' it reports the fault, resets and runs the kernel again; a second one at once stops it (a reboot loop)", () => {
    const m = boot('reset');
    let out = '';
    runUntil(m, () => faults(m) === 1);
    out += (m.serialRead() as { value: string }).value;
    expect(m.state).toBe(RunState.RUNNING);
    expect(m.lastFault()?.reason).toContain('the machine was reset');
    expect(m.lastFault()?.trace.length).toBeGreaterThan(0);
    runUntil(m, () => faults(m) === 2);
    out += (m.serialRead() as { value: string }).value;
    expect(banners(out)).toBe(2);
    expect(m.state).toBe(RunState.TRIPLE_FAULT);
    expect(m.lastFault()?.reason).toContain('reboot loop');
    m.destroy();
  });

  it('by default it reports the fault and stops in state TRIPLE_FAULT (QEMU -no-reboot, as the CLI wants)', () => {
    const m = boot();
    runUntil(m, () => m.state === RunState.TRIPLE_FAULT);
    expect(faults(m)).toBe(1);
    expect(m.lastFault()?.reason).toContain('the machine stopped');
    expect(banners((m.serialRead() as { value: string }).value)).toBe(1);
    m.destroy();
  });

  it("refuses a tripleFault that is not 'reset' or 'stop'", () => {
    const r = checkConfig({ ...config, tripleFault: 'reboot' });
    expect(r.ok || r.code).toBe(ErrorCode.EINVAL);
  });
});
