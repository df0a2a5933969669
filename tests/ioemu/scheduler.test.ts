import { afterEach, describe, expect, it } from 'vitest';
import { VramClient } from '../../src/shared/api';
import { HV_CLIENT_DROPPED, I32 } from '../../src/shared/layout';
import { RefreshScheduler, ringBell, type FrameHost } from '../../src/ioemu/scheduler';
import { expected, mismatches, publish, rig, type Geometry } from './fakes';

/** Node's timers as the browser's: a frame is the next timer turn. Frames asked for are counted; `visible` says whether the page can be seen. */
const frames = { asked: 0, visible: true };
const nodeHost: FrameHost = {
  now: () => performance.now(),
  visible: () => frames.visible,
  setTimer: (cb, ms) => setTimeout(cb, ms),
  clearTimer: (id) => clearTimeout(id as NodeJS.Timeout),
  requestFrame: (cb) => (frames.asked++, setTimeout(cb, 0)),
  cancelFrame: (id) => clearTimeout(id as NodeJS.Timeout),
};

const G: Geometry = { width: 320, height: 200, bpp: 32, virtWidth: 320, yOffset: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until cond() holds (checked every 5 ms), failing after ms. */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

/**
 * The display loop over a refresher and a fake hypervisor. `write` is a guest write as the
 * machine announces it: the hypervisor moves DIRTY_GEN, and the worker rings the display bell at
 * the end of its slice (src/machine/machine.ts).
 */
function loop(mode: 'poll' | 'dirty' | 'dirty-idle', hz = 50) {
  const t = rig(mode, { skipUnmovedGen: true });
  publish(t.stats, G);
  const bell = { i32: t.stats.i32, index: I32.DISPLAY_BELL };
  const s = new RefreshScheduler(nodeHost, {
    refresh: () => t.r.refresh(),
    wouldSkip: (now) => t.r.wouldSkip(now),
    sleepFor: (now) => t.r.sleepFor(now),
    paintsLate: () => t.r.mode !== 'poll',
  });
  s.hz = hz;
  s.setBell(bell);
  const write = (offset: number, bytes: number[]) => {
    t.vram.set(bytes, offset);
    t.hv.write(offset, bytes.length);
    ringBell(bell);
  };
  const shows = () => mismatches(t.surface.rgba(), expected(t.vram, t.stats, G)) === 0;
  running.push(s);
  return { ...t, s, write, shows, refreshes: () => t.r.counters.refreshes };
}
const running: RefreshScheduler[] = [];
afterEach(() => {
  for (const s of running.splice(0)) s.stop();
  frames.visible = true;
});

describe('the display loop sleeps until the machine rings', () => {
  it('in dirty mode no refresh runs while nothing changes, and a write after a long quiet period is shown at once', async () => {
    const l = loop('dirty');
    await l.ready;
    l.s.start();
    await until(() => l.s.asleep);
    expect(l.shows()).toBe(true);
    const n = l.refreshes();
    await sleep(400); // 20 periods at 50 Hz
    expect(l.refreshes()).toBe(n);
    expect(l.s.asleep).toBe(true);

    l.write(4 * 320 * 10 + 40, [0x11, 0x22, 0x33, 0xff]);
    await until(() => l.refreshes() > n && l.shows());
    await until(() => l.s.asleep);
    expect(l.s.counters.wakes).toBeGreaterThanOrEqual(1);
  });

  it('a wake from the bell refreshes in its own task, asking for no frame (the canvas change brings the one that shows it); a hidden page waits for a frame', async () => {
    const l = loop('dirty');
    await l.ready;
    l.s.start();
    await until(() => l.s.asleep);
    const asked = frames.asked;
    const n = l.refreshes();
    l.write(4 * 320 * 20 + 40, [0x44, 0x55, 0x66, 0xff]);
    await until(() => l.refreshes() > n && l.shows());
    await until(() => l.s.asleep);
    expect(frames.asked).toBe(asked);

    frames.visible = false;
    l.write(4 * 320 * 30 + 40, [0x77, 0x88, 0x99, 0xff]);
    await until(() => frames.asked > asked && l.shows());
  });

  it('poll mode never sleeps: it keeps comparing at its rate, each refresh in a frame (it paints in the refresh itself)', async () => {
    const l = loop('poll');
    await l.ready;
    const asked = frames.asked;
    l.s.start();
    await until(() => l.refreshes() >= 10);
    expect(frames.asked - asked).toBeGreaterThanOrEqual(10);
    expect(l.s.counters.sleeps).toBe(0);
    expect(l.s.asleep).toBe(false);
  });

  it('a mode switch during a sleep repaints at once (wake), and a resolution change announced by the bell too', async () => {
    const l = loop('dirty');
    await l.ready;
    l.s.start();
    await until(() => l.s.asleep);
    const full = l.r.counters.fullRepaints;
    await l.r.setMode('dirty-idle');
    l.s.wake();
    await until(() => l.r.counters.fullRepaints > full);
    // A pan/resize comes from the guest: the VBE state moves, the worker rings.
    await until(() => l.s.asleep, 5000);
    const g2 = { ...G, width: 160, height: 100 };
    publish(l.stats, g2);
    ringBell({ i32: l.stats.i32, index: I32.DISPLAY_BELL });
    await until(() => l.surface.width === 160);
    expect(mismatches(l.surface.rgba(), expected(l.vram, l.stats, g2))).toBe(0);
  });

  it('dirty-idle sleeps at most until the idle clock wants its next call, then not at all once the drop is engaged', async () => {
    const l = loop('dirty-idle');
    await l.ready;
    l.s.start();
    await until(() => l.s.asleep);
    // Not dropped yet: the loop wakes by itself within a second to make the idle clock's call.
    const calls = l.hv.calls;
    await until(() => l.hv.calls > calls, 2500);
    // The hypervisor engages the drop (it says so in the client's state word); from then on no call is needed.
    Atomics.store(l.stats.i32, I32.HV_CLIENT_STATE + VramClient.DISPLAY, HV_CLIENT_DROPPED);
    Atomics.add(l.stats.i32, I32.DIRTY_GEN, 1); // the drop moves the generation (hv README, rule 4)
    ringBell({ i32: l.stats.i32, index: I32.DISPLAY_BELL });
    await until(() => l.hv.calls > calls + 1);
    await until(() => l.s.asleep);
    const settled = l.hv.calls;
    await sleep(1300);
    expect(l.hv.calls).toBe(settled);
    // A bell with nothing behind it (the generation did not move): the loop looks, and sleeps on.
    const wakes = l.s.counters.wakes;
    ringBell({ i32: l.stats.i32, index: I32.DISPLAY_BELL });
    await until(() => l.s.counters.wakes > wakes && l.s.asleep);
    expect(l.hv.calls).toBe(settled);
  });

  it('without the generation skip (gen=0) it never sleeps', async () => {
    const t = rig('dirty');
    publish(t.stats, G);
    const s = new RefreshScheduler(nodeHost, {
      refresh: () => t.r.refresh(),
      wouldSkip: (now) => t.r.wouldSkip(now),
      sleepFor: (now) => t.r.sleepFor(now),
    });
    running.push(s);
    s.hz = 50;
    s.setBell({ i32: t.stats.i32, index: I32.DISPLAY_BELL });
    await t.ready;
    s.start();
    await until(() => t.r.counters.refreshes >= 8);
    expect(s.counters.sleeps).toBe(0);
  });
});
