/**
 * The wall clock as a guest sees it (src/machine/paced-clock.ts): a step per retired instruction
 * that follows the host's pace and slews toward the wall, stepping only when the CPU halts (never
 * past a timer edge) and dropping a lag past MAX_LAG_MS. Then Linux's PIT calibration of the TSC (pit_calibrate_tsc in
 * arch/x86/kernel/tsc.c), run as machine code on the wall clock, finds every loop iteration within
 * ten times the shortest and the TSC at 1 GHz.
 */
import { describe, expect, it, vi } from 'vitest';
import { MAX_LAG_MS, PacedWallClock } from '../../src/machine/paced-clock';
import { IDLE_SLACK_MS } from '../../src/machine/runloop';
import { BUSY_SLICE_MIN_INSTRUCTIONS, SLICE_MS, stalledSlice } from '../../src/machine/machine';
import { F64, I32, RunState } from '../../src/shared/layout';
import { tickerMachine } from '../guest/ticker-run';

/** A host whose wall and CPU the test moves: `run(n, ms)` retires n instructions in ms of wall time. */
function host() {
  const h = { wall: 1000, instr: 0 };
  const clock = new PacedWallClock(
    () => h.instr,
    () => h.wall,
  );
  const run = (n: number, ms: number) => {
    h.instr += n;
    h.wall += ms;
    clock.resync();
  };
  return { h, clock, run };
}

describe('the paced wall clock', () => {
  it('moves with every instruction, never back, and stands still only when the CPU does', () => {
    const { h, clock, run } = host();
    run(20_000, 1);
    let last = clock.now();
    for (let i = 0; i < 1000; i++) {
      h.instr++;
      const t = clock.now();
      expect(t).toBeGreaterThan(last);
      last = t;
    }
    h.wall += 3; // wall time alone moves nothing until the next resync
    expect(clock.now()).toBe(last);
  });

  it('follows the wall at the host pace: after a second of steady work it is within a millisecond', () => {
    const { h, clock, run } = host();
    for (let i = 0; i < 1000; i++) run(20_000, 1); // 20 MIPS
    expect(Math.abs(clock.now() - (h.wall - 1000))).toBeLessThan(1);
  });

  it('slews a lag (a host hiccup) by at most a quarter more per chunk, and drops one past MAX_LAG_MS', () => {
    const { h, clock, run } = host();
    for (let i = 0; i < 200; i++) run(20_000, 1);
    const chunk = () => {
      const before = clock.now();
      h.instr += 20_000;
      const step = clock.now() - before;
      h.instr -= 20_000;
      return step;
    };
    const steady = chunk();
    run(20_000, 10); // one chunk took 10 ms instead of 1
    const step = chunk();
    expect(step).toBeGreaterThan(steady); // catching up…
    expect(step).toBeLessThanOrEqual(1.25 * steady + 1e-9); // …gently
    // A stall past the bound (a paused page): the guest does not see it. Machine time goes on from
    // where it was, the stall is counted as dropped, and the clock follows the wall from there.
    const before = clock.now();
    run(20_000, MAX_LAG_MS + 100);
    expect(clock.now() - before).toBeLessThan(2 * steady);
    expect(clock.droppedMs).toBeGreaterThan(MAX_LAG_MS);
    for (let i = 0; i < 1000; i++) run(20_000, 1);
    expect(Math.abs(clock.now() - (h.wall - 1000 - clock.droppedMs))).toBeLessThan(1);
  });

  it('steps to the wall when the CPU halted, never backwards', () => {
    const { h, clock, run } = host();
    run(20_000, 1);
    h.wall += 30;
    clock.stepToWall();
    expect(clock.now()).toBeCloseTo(h.wall - 1000, 6);
    const t = clock.now();
    h.wall -= 5; // a wall that went back (it does not, but the clock must not follow)
    clock.stepToWall();
    expect(clock.now()).toBe(t);
  });

  it('steps a halted CPU no further than the next timer edge, and drops a halt past MAX_LAG_MS', () => {
    const { h, clock, run } = host();
    run(20_000, 1);
    const t = clock.now();
    h.wall += 30;
    clock.stepToWall(t + 4); // the next PIT edge, 4 ms on
    expect(clock.now()).toBeCloseTo(t + 4, 9);
    clock.stepToWall(t + 8);
    expect(clock.now()).toBeCloseTo(t + 8, 9);
    h.wall += MAX_LAG_MS + 500; // the page sat paused
    const u = clock.now();
    clock.stepToWall(u + 4);
    expect(clock.now()).toBe(u);
    expect(clock.droppedMs).toBeGreaterThan(MAX_LAG_MS);
  });
});

const CODE = 0x200000;
const OUT = 0x201000;
/** CAL_LATCH: 10 ms of the PIT's 1.193182 MHz. */
const LATCH = Math.round(1193182 / 100);
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
/** pit_calibrate_tsc's loop: PIT channel 2 in mode 0 for 10 ms, RDTSC at every read of port 61h. */
const CALIBRATION = [
  ...[0xe4, 0x61, 0x24, 0xfd, 0x0c, 0x01, 0xe6, 0x61], // gate high, speaker off
  ...[0xb0, 0xb0, 0xe6, 0x43], // channel 2, mode 0, binary
  ...[0xb0, LATCH & 0xff, 0xe6, 0x42, 0xb0, LATCH >> 8, 0xe6, 0x42],
  ...[0x0f, 0x31, 0x89, 0xc6, 0xa3, ...le(OUT)], // rdtsc; mov esi, eax; mov [OUT], eax
  ...[0x31, 0xc9, 0xbb, ...le(0xffffffff), 0x31, 0xed], // count = 0, min = ~0, max = 0
  // loop: in al, 61h; test al, 20h; jnz done
  ...[0xe4, 0x61, 0xa8, 0x20, 0x75, 0x17],
  ...[0x0f, 0x31, 0x89, 0xc7, 0x29, 0xf0, 0x89, 0xfe], // rdtsc; delta = eax − prev; prev = now
  ...[0x39, 0xd8, 0x73, 0x02, 0x89, 0xc3], // min
  ...[0x39, 0xe8, 0x76, 0x02, 0x89, 0xc5], // max
  ...[0x41, 0xeb, 0xe3], // count++; jmp loop
  // done: rdtsc; [OUT+4] = end, [OUT+8] = min, [OUT+12] = max, [OUT+16] = count; cli; hlt
  ...[0x0f, 0x31, 0xa3, ...le(OUT + 4), 0x89, 0x1d, ...le(OUT + 8), 0x89, 0x2d, ...le(OUT + 12)],
  ...[0x89, 0x0d, ...le(OUT + 16), 0xfa, 0xf4],
];

describe("Linux's PIT calibration of the TSC on the wall clock", () => {
  it('sees no iteration ten times longer than the shortest, over 1,000+ reads, and a 1 GHz TSC, through host stalls', () => {
    // The host's clock, made deterministic: it advances a little at every look, and every 2,000th
    // look 30 ms at once (a GC, a busy machine): the guest must not see those stalls.
    let looks = 0;
    let wall = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (wall += ++looks % 2000 === 0 ? 30 : 0.002));
    const m = tickerMachine('wall');
    const pc = m.pc!;
    m.memory.u8.set(CALIBRATION, CODE);
    pc.cpu.codeChanged();
    // Twice, measuring the second: as Linux does it, after its decompressor has run.
    for (let run = 0; run < 2; run++) {
      pc.cpu.enterProtectedModeFlat(CODE, {});
      Atomics.store(m.stats.i32, I32.STATE, RunState.RUNNING);
      for (let i = 0; i < 10_000 && m.slice().next !== 'stop'; i++);
    }
    const dv = new DataView(m.memory.sab);
    const [start, end, min, max, count] = [0, 4, 8, 12, 16].map((o) => dv.getUint32(OUT + o, true));
    m.destroy();
    now.mockRestore();
    expect(looks).toBeGreaterThan(2000); // stalls happened
    expect(count).toBeGreaterThanOrEqual(1000); // CAL_PIT_LOOPS
    expect(min).toBeGreaterThan(0);
    expect(max).toBeLessThanOrEqual(10 * min);
    // 10 ms of PIT at 1 GHz (mode 0 counts LATCH + 1 ticks to OUT high).
    expect(Math.abs((end - start) / ((LATCH + 1) / 1193.182) / 1e6 - 1)).toBeLessThan(0.01);
  });
});

describe('timer ticks on a wall clock that leaps', () => {
  it("loses no PIT tick when the host's wall jumps ahead of a halted guest: 100 ticks at 100 Hz are 1 s of machine time", () => {
    // The host's clock advances a little at every look and leaps 37 ms every 300th look (a busy
    // host, a slow slice), so a halted guest's time lands several PIT periods past an edge. Linux
    // counts jiffies from these edges and marks its TSC unstable when they fall behind it.
    let looks = 0;
    let wall = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (wall += ++looks % 300 === 0 ? 37 : 0.002));
    const m = tickerMachine('wall');
    let serial = '';
    m.onSerial = (b) => (serial += String.fromCharCode(b));
    Atomics.store(m.stats.i32, I32.STATE, RunState.RUNNING);
    for (let i = 0; i < 1_000_000 && m.slice().next !== 'stop'; i++);
    const machineMs = m.pc!.machineTimeMs();
    m.destroy();
    now.mockRestore();
    expect(serial).toBe('ticker: 100 ticks\n');
    expect(looks).toBeGreaterThan(3000); // leaps happened
    // The 100th edge comes at 1,000 ms after the PIT was programmed (a few instructions in).
    expect(machineMs).toBeGreaterThanOrEqual(1000);
    expect(machineMs).toBeLessThan(1010);
  });

  it('keeps sleeping with the slack after a slice that a host stall made overrun its budget (stalled, not busy)', async () => {
    const m = tickerMachine('wall');
    let serial = '';
    let slices = NaN;
    m.onSerial = (b) => {
      serial += String.fromCharCode(b);
      if (b === 10) slices = m.stats.f64[F64.SLICES];
    };
    const pc = m.pc!;
    const runSlice = pc.runSlice.bind(pc);
    let calls = 0;
    // The fifth slice as a host stall inside it makes it: the guest's few instructions, then the
    // thread stops past the budget, and the slice ends on its budget ("continue").
    pc.runSlice = (budgetMs, now) => {
      const outcome = runSlice(budgetMs, now);
      if (++calls !== 5) return outcome;
      const end = performance.now() + 2 * SLICE_MS;
      while (performance.now() < end);
      return { next: 'continue' };
    };
    const t0 = performance.now();
    m.start();
    while (!serial.includes('\n') && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    m.destroy();
    expect(serial).toBe('ticker: 100 ticks\n');
    expect(calls).toBeGreaterThan(5);
    // The slack held through the stall: about one wake-up per IDLE_SLACK_MS over the guest's
    // second. Counted as busy, the stall turned the slack off for IDLE_SETTLE_MS: a wake-up for
    // every 10-ms tick after it, ~95 in all.
    expect(slices).toBeLessThanOrEqual(1000 / IDLE_SLACK_MS + 10);
    expect(stalledSlice(5000, 2 * SLICE_MS)).toBe(true);
    expect(stalledSlice(BUSY_SLICE_MIN_INSTRUCTIONS, SLICE_MS)).toBe(false); // a busy slice's work
    expect(stalledSlice(100, SLICE_MS / 2)).toBe(false); // ended early, not on its budget
  });
});

describe("the RTC's date on the wall clock", () => {
  /** The ticker guest on the wall clock, with the host's date and monotonic clock in the test's hands. */
  function machine() {
    const host = { date: Date.UTC(2026, 11, 3, 10, 0, 0), mono: 0 };
    const date = vi.spyOn(Date, 'now').mockImplementation(() => host.date);
    const now = vi.spyOn(performance, 'now').mockImplementation(() => host.mono);
    const m = tickerMachine('wall');
    const pc = m.pc!;
    const rtc = (): string => {
      const get = (reg: number) => (pc.io.write(0x70, 1, reg), pc.io.read(0x71, 1).toString(16).padStart(2, '0'));
      return `${get(0x04)}:${get(0x02)}:${get(0x00)}`;
    };
    const restore = () => {
      m.destroy();
      date.mockRestore();
      now.mockRestore();
    };
    return { host, m, pc, rtc, restore };
  }

  it('reads the host date again after a reboot, as a battery-backed RTC keeps running', () => {
    const { host, m, rtc, restore } = machine();
    expect(rtc()).toBe('10:00:00');
    host.date += 90 * 60_000; // an hour and a half later the guest reboots
    host.mono += 90 * 60_000;
    m.reset();
    const after = rtc();
    restore();
    expect(after).toBe('11:30:00');
  });

  it('keeps the paused time in the date though machine time drops it (QEMU: the RTC follows the host)', () => {
    const { host, m, pc, rtc, restore } = machine();
    Atomics.store(m.stats.i32, I32.STATE, RunState.RUNNING);
    m.slice();
    const t0 = pc.machineTimeMs();
    host.date += 60_000; // the page sat paused for a minute
    host.mono += 60_000;
    m.slice();
    const machineMs = pc.machineTimeMs() - t0;
    const date = rtc();
    restore();
    expect(machineMs).toBeLessThan(100); // the guest's timers do not see the pause…
    expect(date).toBe('10:01:00'); // …its date does
  });
});

describe('an idle machine on the wall clock, run by its own loop', () => {
  it(`wakes at most once per IDLE_SLACK_MS (${IDLE_SLACK_MS} ms) and still delivers every 100-Hz tick at its machine time`, async () => {
    const m = tickerMachine('wall');
    let serial = '';
    /** Machine time and slices run when the guest printed its line (after its 100th tick). */
    let machineMs = NaN;
    let slices = NaN;
    m.onSerial = (b) => {
      serial += String.fromCharCode(b);
      if (b === 10) [machineMs, slices] = [m.pc!.machineTimeMs(), m.stats.f64[F64.SLICES]];
    };
    const t0 = performance.now();
    m.start();
    while (!serial.includes('\n') && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    m.destroy();
    expect(serial).toBe('ticker: 100 ticks\n');
    // 100 ticks, 10 ms apart: one slice each without the slack; with it, the ticks that fell due
    // during a sleep run together in the next slice (a few more slices while the guest boots).
    expect(slices).toBeLessThanOrEqual(1000 / IDLE_SLACK_MS + 10);
    // None lost: the 100th edge is 1,000 ms of machine time after the PIT was programmed.
    expect(machineMs).toBeGreaterThanOrEqual(1000);
    expect(machineMs).toBeLessThan(1010);
  });
});

describe('one-shot timers of a halted guest on the wall clock', () => {
  const HANDLER = 0x200000;
  const OUT = 0x201000;
  /** IRQ 0's handler: [OUT] = the TSC's low dword at delivery, [OUT+8] += 1; EOI; IRET. */
  const CODE = [
    ...[0x50, 0x52, 0x0f, 0x31, 0xa3, ...le(OUT), 0x89, 0x15, ...le(OUT + 4), 0xff, 0x05, ...le(OUT + 8)],
    ...[0xb0, 0x20, 0xe6, 0x20, 0x5a, 0x58, 0xcf],
  ];
  /**
   * The ticker guest halted in its idle loop with IRQ 0 sent to HANDLER, then channel 0
   * reprogrammed by the test (mode 0: a one-shot count, as Linux's high-resolution timers use;
   * mode 2: periodic) for 10 ms, and the host's wall moved 37 ms before the next slice.
   * Returns the machine time of the last delivery after the count was loaded, and how many came.
   */
  function sleepPast(mode: 0 | 2): { lateMs: number; deliveries: number } {
    const host = { mono: 0 };
    const now = vi.spyOn(performance, 'now').mockImplementation(() => host.mono);
    const m = tickerMachine('wall');
    const pc = m.pc!;
    Atomics.store(m.stats.i32, I32.STATE, RunState.RUNNING);
    for (let i = 0; i < 100 && !pc.cpu.halted; i++) m.slice();
    expect(pc.cpu.halted).toBe(true);
    const dv = new DataView(m.memory.sab);
    const idt = (pc.cpu as unknown as { idtBase: number }).idtBase + 0x20 * 8;
    dv.setUint16(idt, HANDLER & 0xffff, true);
    dv.setUint16(idt + 6, HANDLER >>> 16, true);
    m.memory.u8.set(CODE, HANDLER);
    pc.cpu.codeChanged();
    pc.io.write(0x43, 1, 0x30 | (mode << 1));
    pc.io.write(0x40, 1, LATCH & 0xff);
    pc.io.write(0x40, 1, LATCH >> 8);
    const t0 = pc.machineTimeMs();
    host.mono += 37;
    m.slice();
    const tsc = dv.getUint32(OUT, true) + dv.getUint32(OUT + 4, true) * 2 ** 32;
    const deliveries = dv.getUint32(OUT + 8, true);
    m.destroy();
    now.mockRestore();
    return { lateMs: tsc / 1e6 - t0, deliveries };
  }

  it('fires a one-shot count that fell due during the sleep once, late, at the wall: the guest sees the time that passed', () => {
    const { lateMs, deliveries } = sleepPast(0);
    expect(deliveries).toBe(1);
    expect(lateMs).toBeGreaterThanOrEqual(36.9);
    expect(lateMs).toBeLessThan(37.5);
  });

  it('delivers every periodic edge at its own machine time all the same (10, 20 and 30 ms, none at the wall)', () => {
    const { lateMs, deliveries } = sleepPast(2);
    expect(deliveries).toBe(3);
    expect(lateMs).toBeGreaterThanOrEqual(30);
    expect(lateMs).toBeLessThan(30.5);
  });
});
