import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  F64,
  HV_CLIENT_DROPPED,
  HV_CLIENT_IDLE_DROP,
  HV_CLIENT_TRAP,
  I32,
  RunState,
  SECONDS_RING_LEN,
  STATS_BYTES,
  statsViews,
} from '../../src/shared/layout';
import { VramClient } from '../../src/shared/api';
import { newIoemuCounters } from '../../src/ioemu/refresh';
import {
  METER_HOLD_S,
  MeterSampler,
  meterChanged,
  meterMoved,
  perModeMeans,
  samplesToCsv,
  type MeterSample,
} from '../../src/ui/meter-sampler';

const label = { mode: 'dirty-idle', workload: 'clock', vramMiB: 8, hz: 30 };

describe('the meter: counters to % of a core per second of wall time', () => {
  afterEach(() => vi.restoreAllMocks());

  it('turns one second of counters into percentages, MIPS and per-refresh figures', () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const io = newIoemuCounters();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    expect(sampler.sample(io, 0, stats, label)).toBeNull(); // the first call only starts a window
    now += 2000; // a two-second window
    Object.assign(io, {
      workMs: 20,
      refreshes: 60,
      pagesCompared: 0,
      pagesChanged: 30,
      tilesRepainted: 120,
      hypercalls: 60,
    });
    stats.f64[F64.GUEST_MS] = 100;
    stats.f64[F64.IDLE_MS] = 1800;
    stats.f64[F64.HV_MS] = 2;
    stats.f64[F64.INSTRUCTIONS] = 50e6;
    stats.f64[F64.HV_PAGES_SCANNED] = 768 * 60;
    stats.f64[F64.PUBLISHED_AT_MS] = 2000; // the worker's own clock: two seconds since its last publish
    Atomics.store(stats.i32, I32.HV_CLIENT_STATE, HV_CLIENT_IDLE_DROP); // the display's client
    Atomics.store(stats.i32, I32.STATE, RunState.RUNNING);
    const s = sampler.sample(io, 4, stats, label)!;
    expect(s.windowMs).toBe(2000);
    expect(s.ioemuPct).toBeCloseTo(1); // 20 ms in 2 s
    expect(s.uiPct).toBeCloseTo(0.2);
    expect(s.guestPct).toBeCloseTo(5);
    expect(s.idlePct).toBeCloseTo(90);
    expect(s.hvPct).toBeCloseTo(0.1);
    expect(s.mips).toBeCloseTo(25);
    expect(s.refreshHz).toBeCloseTo(30);
    expect(s.dirtyPagesPerRefresh).toBeCloseTo(0.5);
    expect(s.tilesPerRefresh).toBeCloseTo(2);
    expect(s.hvPagesScannedPerS).toBeCloseTo(768 * 30);
    expect(s.idleDrop).toBe('armed');
    expect(s.machine).toBe('running');
    Atomics.store(stats.i32, I32.HV_CLIENT_STATE, HV_CLIENT_IDLE_DROP | HV_CLIENT_DROPPED);
    now += 1000;
    expect(sampler.sample(io, 4, stats, label)!.idleDrop).toBe('engaged');
    // Another client's meter (the A/B view's second display) reports that client's state.
    now += 1000;
    expect(sampler.sample(io, 4, stats, label, VramClient.DISPLAY_B)!.idleDrop).toBe('off');
  });

  it("takes the worker's figures over the worker's own window, so a late publish never shows more than 100 % of a core", () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const io = newIoemuCounters();
    Atomics.store(stats.i32, I32.STATE, RunState.RUNNING);
    stats.f64[F64.PUBLISHED_AT_MS] = 500;
    sampler.sample(io, 0, stats, label);
    // The page looks after 1000 ms, but the worker published 1,140 ms of busy slices in that time
    // (its last publish came just before this look, its previous one just after the last look).
    now += 1000;
    stats.f64[F64.GUEST_MS] = 1140;
    stats.f64[F64.PUBLISHED_AT_MS] = 500 + 1140;
    stats.f64[F64.INSTRUCTIONS] = 1;
    const s = sampler.sample(io, 0, stats, label)!;
    expect(s.guestPct).toBeCloseTo(100);
    expect(s.guestPct).toBeLessThanOrEqual(100);
  });

  it("reports every second of a look that came seconds late, from the worker's seconds ring", () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const io = newIoemuCounters();
    Atomics.store(stats.i32, I32.STATE, RunState.RUNNING);
    // The worker, once a second of its time: guest time 10 ms more each second, 20 ms in the fourth.
    const publish = (at: number, guestMs: number) => {
      stats.f64[F64.PUBLISHED_AT_MS] = at;
      stats.f64[F64.GUEST_MS] = guestMs;
      stats.f64[F64.INSTRUCTIONS] = guestMs * 1000;
      const n = Atomics.load(stats.i32, I32.SECONDS_SEQ);
      stats.seconds.set(stats.f64, (n % SECONDS_RING_LEN) * F64.COUNT);
      Atomics.store(stats.i32, I32.SECONDS_SEQ, n + 1);
    };
    publish(100, 0);
    expect(sampler.catchUp(io, 0, stats, label)).toEqual([]); // the first look only starts a window
    publish(1100, 10);
    publish(2100, 20);
    publish(3100, 30);
    publish(4100, 50);
    // The page looks 4.2 s later (the display did one refresh as it woke), just after one more slice.
    now += 4200;
    io.workMs = 3;
    io.refreshes = 1;
    stats.f64[F64.PUBLISHED_AT_MS] = 4300;
    stats.f64[F64.GUEST_MS] = 51;
    stats.f64[F64.INSTRUCTIONS] = 51_000;
    const got = sampler.catchUp(io, 0, stats, label);
    // p → 1100 → 2100 → 3100 → now: the entry at 4100 is within half a second of now (no sliver).
    expect(got.map((x) => Math.round(x.windowMs))).toEqual([1000, 1000, 1000, 1200]);
    expect(got.map((x) => +x.guestPct.toFixed(3))).toEqual([1, 1, 1, +((100 * 21) / 1200).toFixed(3)]);
    expect(got.map((x) => x.ioemuPct)).toEqual([0, 0, 0, (100 * 3) / 1200]); // the ioemu's work: at the end
    expect(got.map((x) => Math.round(x.t * 1000))).toEqual([1000, 2000, 3000, 4200]);
    // A look a second later is one sample, as sample() gives.
    now += 1000;
    stats.f64[F64.PUBLISHED_AT_MS] = 5300;
    expect(sampler.catchUp(io, 0, stats, label)).toHaveLength(1);
  });

  it('says the machine is paused (no worker window at all)', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    const io = newIoemuCounters();
    Atomics.store(stats.i32, I32.STATE, RunState.PAUSED);
    sampler.sample(io, 0, stats, label);
    now += 1000;
    const s = sampler.sample(io, 0, stats, label)!;
    expect(s.machine).toBe('paused');
    expect(s.guestPct).toBe(0);
  });

  it('trap mode: faults per second and hypervisor µs per fault, from HV_S2_FAULTS and HV_FAULT_MS', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const io = newIoemuCounters();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    Atomics.store(stats.i32, I32.STATE, RunState.RUNNING);
    sampler.sample(io, 0, stats, { ...label, mode: 'trap' });
    now += 1000;
    stats.f64[F64.PUBLISHED_AT_MS] = now; // the worker publishes as the page looks
    expect(sampler.sample(io, 0, stats, { ...label, mode: 'trap' })!.hvUsPerFault).toBe(0); // no fault: no cost figure
    now += 2000;
    stats.f64[F64.PUBLISHED_AT_MS] = now;
    stats.f64[F64.HV_S2_FAULTS] = 400_000;
    stats.f64[F64.HV_FAULT_MS] = 600;
    stats.f64[F64.HV_MS] = 610;
    const s = sampler.sample(io, 0, stats, { ...label, mode: 'trap' })!;
    expect(s.hvFaultsPerS).toBeCloseTo(200_000);
    expect(s.hvUsPerFault).toBeCloseTo(1.5);
    expect(s.hvPct).toBeCloseTo(30.5);
    expect(s.hvTrap).toBe(false); // the word says whether the hypervisor traps, not the label
    Atomics.store(stats.i32, I32.HV_CLIENT_STATE, HV_CLIENT_TRAP);
    now += 1000;
    expect(sampler.sample(io, 0, stats, { ...label, mode: 'trap' })!.hvTrap).toBe(true);
    expect(samplesToCsv([s]).split('\n')[0].split(',')).toEqual(
      expect.arrayContaining(['hvFaultsPerS', 'hvUsPerFault']),
    );
  });

  it('starts a new window instead of differencing counters of another machine or refresher', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const stats = statsViews(new SharedArrayBuffer(STATS_BYTES));
    sampler.sample(newIoemuCounters(), 0, stats, label);
    now += 1000;
    expect(sampler.sample(newIoemuCounters(), 0, stats, label)).toBeNull(); // a new refresher
    now += 1000;
    expect(sampler.sample(null, 0, statsViews(new SharedArrayBuffer(STATS_BYTES)), label)).toBeNull(); // a new machine
  });

  it('exports samples as CSV with a header row and one line per second', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const sampler = new MeterSampler();
    const io = newIoemuCounters();
    sampler.sample(io, 0, null, label);
    const rows = [1, 2].map(() => {
      now += 1000;
      io.workMs += 1;
      return sampler.sample(io, 0, null, label)!;
    });
    const csv = samplesToCsv(rows).trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[0].split(',')).toContain('ioemuPct');
    const col = csv[0].split(',').indexOf('ioemuPct');
    expect(csv[1].split(',')[col]).toBe('0.1');
    expect(csv[2].split(',')[csv[0].split(',').indexOf('mode')]).toBe('"dirty-idle"');
  });
});

describe('the meter draws only what moved', () => {
  const quiet: MeterSample = {
    t: 100,
    windowMs: 1000,
    mode: 'dirty-idle',
    workload: 'static',
    vramMiB: 8,
    hz: 30,
    ioemuPct: 0,
    uiPct: 0.02,
    hvPct: 0,
    guestPct: 0.4,
    idlePct: 99.5,
    mips: 0.05,
    refreshHz: 0,
    pagesComparedPerRefresh: 0,
    dirtyPagesPerRefresh: 0,
    tilesPerRefresh: 0,
    hypercallsPerS: 0,
    hvPagesScannedPerS: 0,
    hvFaultsPerS: 0,
    hvUsPerFault: 0,
    idleDrop: 'engaged',
    machine: 'running',
    hvTrap: false,
  };
  const next = (patch: Partial<MeterSample>): MeterSample => ({ ...quiet, t: quiet.t + 1, ...patch });

  it('holds its figures while the display sleeps and the guest idles (noise in idle time is not news)', () => {
    expect(meterMoved(quiet, next({ guestPct: 0.6, idlePct: 99.3, mips: 0.07, uiPct: 0.03 }))).toBe(false);
  });

  it('draws at once for display work, a mode or label change, the idle drop, or a real change in the guest', () => {
    expect(meterMoved(null, quiet)).toBe(true);
    expect(meterMoved(quiet, next({ refreshHz: 2, ioemuPct: 0.01 }))).toBe(true);
    expect(meterMoved(quiet, next({ hypercallsPerS: 1 }))).toBe(true);
    expect(meterMoved(quiet, next({ mode: 'poll' }))).toBe(true);
    expect(meterMoved(quiet, next({ idleDrop: 'armed' }))).toBe(true);
    expect(meterMoved(quiet, next({ guestPct: 30, mips: 40 }))).toBe(true);
    // …and the first quiet second after display work, so the screen shows it went quiet.
    expect(meterMoved({ ...quiet, refreshHz: 30, ioemuPct: 0.05 }, next({}))).toBe(true);
  });

  it(`holds for at most ${METER_HOLD_S} s`, () => {
    expect(meterMoved(quiet, next({ t: quiet.t + METER_HOLD_S - 1 }))).toBe(false);
    expect(meterMoved(quiet, next({ t: quiet.t + METER_HOLD_S }))).toBe(true);
    // Only time moved: what lets the meter sleep through the next hold (cpu-meter.ts).
    expect(meterChanged(quiet, next({ t: quiet.t + METER_HOLD_S }))).toBe(false);
    expect(meterChanged(quiet, next({ t: quiet.t + 1, refreshHz: 30 }))).toBe(true);
  });
});

describe("the meter: per-mode means and the seed's ratio", () => {
  const at = (t: number, mode: string, ioemuPct: number, machine: MeterSample['machine'] = 'running') =>
    ({ t, mode, ioemuPct, machine }) as MeterSample;

  it("averages each mode's seconds after its first two, and divides poll by dirty + idle drop", () => {
    const samples = [
      at(1, 'dirty-idle', 5), // the switch's repaint: left out
      at(2, 'dirty-idle', 5),
      at(3, 'dirty-idle', 0.02),
      at(4, 'dirty-idle', 0.04),
      at(5, 'poll', 0.5),
      at(6, 'poll', 0.5),
      at(7, 'poll', 6),
      at(8, 'poll', 6, 'paused'), // not running: left out
    ];
    const m = perModeMeans(samples);
    expect(m.rows).toEqual([
      { mode: 'dirty-idle', pct: 0.03, seconds: 2 },
      { mode: 'poll', pct: 6, seconds: 1 },
    ]);
    expect(m.ratio).toBeCloseTo(200);
  });

  it('has no ratio until both modes were measured', () => {
    expect(perModeMeans([at(1, 'poll', 6), at(3, 'poll', 6)]).ratio).toBeNull();
  });
});
