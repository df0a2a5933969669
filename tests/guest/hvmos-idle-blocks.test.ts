/**
 * An idle guest makes the block compiler do nothing. hvmos's `static` workload draws its desktop and
 * then idles in HLT, woken by the PIT at 100 Hz and by the RTC's update interrupt once a second.
 * The boot's drawing loops are compiled; neither the once-a-second RTC path nor the 100-Hz timer
 * handler is (a block needs BLOCK_THRESHOLD starts within HOT_WINDOW_MS): each new block is a
 * `new Function` that V8 then tiers up over minutes, work an idle browser tab paid for on its
 * compiler threads, and code that starts a few hundred times a second runs faster interpreted.
 */
import { describe, expect, it } from 'vitest';
import { F64, I32, RunState } from '../../src/shared/layout';
import { Guest } from './hvmos-run';
import { tickerMachine } from './ticker-run';

describe('the block compiler while the guest idles', () => {
  it('compiles the hot boot and timer code, and no new block in 60 s of idling with a 1 Hz RTC interrupt', () => {
    const g = new Guest('workload=static');
    const cpu = g.m.pc!.cpu;
    expect(g.runUntil(5_000)).toBe(false);
    const afterBoot = cpu.blockFunctions;
    expect(afterBoot).toBeGreaterThan(0); // the block compiler is on and did compile
    const irq8 = () => g.m.stats.f64[F64.IRQ_COUNT + 8];
    const rtc0 = irq8();
    expect(g.runUntil(65_000)).toBe(false);
    expect(irq8() - rtc0).toBeGreaterThanOrEqual(55); // the RTC's update interrupt kept coming
    expect(cpu.blockFunctions).toBe(afterBoot);
  });

  it('leaves a 100-Hz timer handler interpreted: it starts 100 times a second, never 32 times within 20 ms', () => {
    const m = tickerMachine('icount');
    let serial = '';
    m.onSerial = (b) => (serial += String.fromCharCode(b));
    Atomics.store(m.stats.i32, I32.STATE, RunState.RUNNING);
    for (let i = 0; i < 100_000 && m.slice().next !== 'stop'; i++);
    const blocks = m.pc!.cpu.blockFunctions;
    const ticks = m.stats.f64[F64.IRQ_COUNT];
    m.destroy();
    expect(serial).toBe('ticker: 100 ticks\n');
    expect(ticks).toBeGreaterThanOrEqual(100);
    expect(blocks).toBe(0);
  });

  it('starts a hotness period after 100 M instructions, or after 10 s of machine time while the guest idles', () => {
    // The threshold's fall back bounds the new functions per instruction run: a period of machine
    // time would let a slow host on the wall clock (fewer instructions per second) compile more.
    const g = new Guest('workload=static');
    const cpu = g.m.pc!.cpu;
    const periods: { n: number; t: number }[] = [];
    const start = cpu.startHotnessPeriod.bind(cpu);
    cpu.startHotnessPeriod = () => {
      periods.push({ n: cpu.instructions, t: g.m.machineTimeMs() });
      start();
    };
    expect(g.runUntil(65_000)).toBe(false);
    g.destroy();
    expect(periods.length).toBeGreaterThanOrEqual(5); // 60 s of idling at least
    for (let i = 1; i < periods.length; i++) {
      const ran = periods[i].n - periods[i - 1].n;
      const passed = periods[i].t - periods[i - 1].t;
      expect(ran >= 100_000_000 || passed >= 10_000).toBe(true);
    }
  });
});
