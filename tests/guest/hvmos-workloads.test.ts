/**
 * hvmos (guest/hvmos), headless on the icount clock: every workload boots, runs for guest seconds
 * and leaves through the exit port; a ring-3 fault is reported; the alias page is written through
 * both of its mappings; idle is idle.
 */
import { describe, expect, it } from 'vitest';
import { F64, I32 } from '../../src/shared/layout';
import { EXIT_EXCEPTION, EXIT_OK, Guest, exitStatus } from './hvmos-run';

const runs = new Map<string, Guest>();
/** Boots, runs to the exit port and checks the exit is clean; one run per command line. */
function runWorkload(cmdline: string, onSlice?: (g: Guest) => void): Guest {
  const seen = runs.get(cmdline);
  if (seen && !onSlice) return seen;
  const g = new Guest(cmdline);
  runs.set(cmdline, g);
  const status = g.runToExit(() => onSlice?.(g));
  g.destroy();
  expect(status, g.serial).toBe(exitStatus(EXIT_OK));
  return g;
}

/** user.c's work(): a sieve of Eratosthenes and an LCG walk folded into FNV-1a, computed here independently. */
function benchWork(round: number): number {
  let h = (2166136261 ^ round) >>> 0;
  const sieve = new Uint8Array(65536).fill(1);
  for (let i = 2; i * i < sieve.length; i++) if (sieve[i]) for (let j = i * i; j < sieve.length; j += i) sieve[j] = 0;
  for (let i = 2; i < sieve.length; i++) if (sieve[i]) h = Math.imul(h ^ i, 16777619) >>> 0;
  let x = (round + 1) >>> 0;
  for (let i = 0; i < 500000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    h = Math.imul(h ^ (x >>> 16), 16777619) >>> 0;
  }
  return h;
}

describe('hvmos workloads', () => {
  // Two guest seconds each; the ones that write every frame at small modes and bench (busy by
  // design: 100 M instructions a guest second on the icount clock) for 0.4 s, to keep the suite
  // quick: the point is that each boots, runs as ring-3 tasks and exits cleanly.
  const cases: [string, string, number][] = [
    ['static', 'exit=2', 2000],
    ['clock', 'exit=2', 2000],
    ['typing', 'exit=2', 2000],
    ['scroll', 'exit=2 mode=320x240x32', 2000],
    ['sprite', 'exit=2 mode=640x480x32', 2000],
    ['plasma', 'exit=2 mode=320x240x16', 2000],
    ['stress', 'exit=2.05 seed=3 mode=640x480x32', 2050],
    ['bench', 'exit=0.25 mode=320x240x32', 250],
  ];
  for (const [name, args, ms] of cases)
    it(`${name} boots, runs ${ms / 1000} s of guest time as a ring-3 task and exits cleanly`, () => {
      const g = runWorkload(`workload=${name} ${args}`);
      expect(g.serial).toContain(`hvmos: workload ${name}\n`);
      expect(g.serial).toContain(`hvmos: exit after ${ms} ms of uptime`);
      expect(g.serial).not.toContain('exception');
      expect(g.m.machineTimeMs()).toBeGreaterThanOrEqual(ms);
      expect(g.m.machineTimeMs()).toBeLessThan(ms + 50);
    });

  it('the boot log names the RTC time, the display, the mode and the framebuffer mapping', () => {
    const g = runWorkload('workload=static exit=2');
    expect(g.serial).toMatch(/^hvmos: booting, cmdline 'workload=static exit=2', RAM 32 MiB\n/);
    // The icount clock's RTC starts at a fixed date; written as dates are (two-digit fields).
    expect(g.serial).toContain('hvmos: RTC 2026-01-01 00:00:00\n');
    expect(g.serial).toContain('hvmos: display at 00:2.0, BAR0 0xe0000000, VRAM 8 MiB, mode 1024x768x32\n');
    expect(g.serial).toContain(
      'hvmos: paging on; VRAM at virtual 0xd0000000 (4 MiB pages), alias page VRAM+0x00100000 also at 0xc0000000\n',
    );
    const i32 = g.m.stats.i32;
    expect([i32[I32.VBE_ENABLED], i32[I32.VBE_XRES], i32[I32.VBE_YRES], i32[I32.VBE_BPP]]).toEqual([1, 1024, 768, 32]);
  });

  it('workload=fault: a ring-3 write to a supervisor page is reported (vector, error code, EIP, CR2) and exits with its code', () => {
    const g = new Guest('workload=fault');
    const status = g.runToExit();
    g.destroy();
    expect(status).toBe(exitStatus(EXIT_EXCEPTION + 14));
    // Error code 7: present, write, user (SDM vol. 3A, 4.7); CR2 is the address written.
    expect(g.serial).toMatch(
      /hvmos: exception 14 \(#PF\) err=0x00000007 eip=0x4000[0-9a-f]{4} cr2=0x00100000 cs=0x0000001b in ring 3, task 1, workload fault\n$/,
    );
  });

  it('stress writes the alias page through both mappings, and VRAM holds what the guest wrote last', () => {
    const g = runWorkload('workload=stress exit=2.05 seed=3 mode=640x480x32');
    const reports = [...g.serial.matchAll(/stress: (\d+) random writes, alias checks (\d+) ok (\d+) bad, last alias write 0x([0-9a-f]{8}) at VRAM\+0x([0-9a-f]{8})\n/g)];
    expect(reports.length).toBe(2);
    for (const [, writes, ok, bad] of reports) {
      expect(Number(writes)).toBeGreaterThan(0);
      expect(Number(ok)).toBeGreaterThan(0);
      expect(Number(bad)).toBe(0);
    }
    // The last report's write must be in VRAM at that offset (the alias page is VRAM+1 MiB), unless
    // a later random write hit the same word: compare against VRAM as the host sees it.
    const [, , , , value, offset] = reports[1];
    const vram = new DataView(g.m.memory.vram.buffer, g.m.memory.vram.byteOffset, g.m.memory.vram.byteLength);
    const off = parseInt(offset, 16);
    expect(off >>> 12).toBe(0x100000 >>> 12);
    expect(vram.getUint32(off, true).toString(16).padStart(8, '0')).toBe(value);
  });

  it('bench: both ring-3 tasks, preempted by the timer, compute the checksums a host computation gives, round by round', () => {
    const g = runWorkload('workload=bench exit=0.25 mode=320x240x32');
    const sums = new Map<string, string[]>();
    for (const [, task, round, sum] of g.serial.matchAll(/bench: task (\d) round (\d+) checksum (0x[0-9a-f]{8}) in \d+ ms/g))
      sums.set(`${round}`, [...(sums.get(`${round}`) ?? []), `${task}:${sum}`]);
    const complete = [...sums.entries()].filter(([, v]) => v.length === 2);
    expect(complete.length).toBeGreaterThanOrEqual(2);
    for (const [round, v] of complete) {
      expect(v[0].slice(2)).toBe(v[1].slice(2));
      expect(v[0].slice(2)).toBe(`0x${benchWork(Number(round)).toString(16).padStart(8, '0')}`);
    }
    expect(g.serial).toMatch(/hvmos: exit after 250 ms of uptime, \d+ task switches/);
    const switches = Number(/(\d+) task switches/.exec(g.serial)?.[1]);
    expect(switches).toBeGreaterThan(15); // time slices of one tick between two busy tasks
  });

  it('pan boots, moves the VBE Y offset over a tall virtual screen 50 times a second and exits cleanly', () => {
    const starts = new Set<number>();
    const g = runWorkload('workload=pan exit=2 mode=320x240x8', (g) => starts.add(g.m.stats.i32[I32.VBE_START]));
    // Each Y offset write publishes the display state once (VBE_GEN); idle time passes within a
    // slice on the icount clock, so the slices see only some of the offsets.
    expect(g.m.stats.i32[I32.VBE_GEN]).toBeGreaterThan(90);
    expect(Math.max(...starts)).toBeGreaterThan(0);
    for (const s of starts) expect(s % 320).toBe(0); // whole lines
    expect(g.m.stats.i32[I32.VBE_VIRT_HEIGHT]).toBeGreaterThanOrEqual(4 * 240);
  });

  it('idle is idle: static costs only timer ticks, clock little more (instructions per guest second)', () => {
    // Between 1.5 s and 3.5 s of guest time: two RTC seconds (2 s and 3 s), 200 timer ticks.
    const perSecond = (name: string): number => {
      const g = new Guest(`workload=${name} exit=4`);
      g.runUntil(1500);
      const before = g.m.stats.f64[F64.INSTRUCTIONS];
      g.runUntil(3500);
      const per = (g.m.stats.f64[F64.INSTRUCTIONS] - before) / 2;
      expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
      g.destroy();
      return per;
    };
    const idle = perSecond('static');
    const clock = perSecond('clock');
    expect(idle).toBeLessThan(3_000); // 100 timer interrupts a second on the idle fast path, ~12 instructions each
    expect(clock).toBeLessThan(12_000); // plus one redrawn digit a second and its system calls
    expect(clock).toBeGreaterThan(idle);
  });
});
