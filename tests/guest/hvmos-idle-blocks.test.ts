/**
 * An idle guest makes the block compiler do nothing. hvmos's `static` workload draws its desktop and
 * then idles in HLT, woken by the PIT at 100 Hz and by the RTC's update interrupt once a second.
 * The timer handler runs often enough to be compiled in the first second; the once-a-second RTC
 * path must never be (Cpu.coolBlockHits): each new block is a `new Function` that V8 then tiers up
 * over minutes, work an idle browser tab paid for on its compiler threads.
 */
import { describe, expect, it } from 'vitest';
import { F64 } from '../../src/shared/layout';
import { Guest } from './hvmos-run';

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
});
