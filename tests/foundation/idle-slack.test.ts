/**
 * The idle sleeps' slack (src/machine/idle-slack.ts): IDLE_SLACK_MS while someone types or the
 * guest works, UNATTENDED_SLACK_MS once neither for a while; then a real machine (the toy guest,
 * on the wall clock, run by its own loop) that goes to the long slack idle and back on a key.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ATTENDED_MS, IdleSlack, QUIET_INSTRUCTIONS_PER_S, UNATTENDED_SLACK_MS } from '../../src/machine/idle-slack';
import { IDLE_SLACK_MS, immediateYielder } from '../../src/machine/runloop';
import { Machine } from '../../src/machine/machine';
import { F64, I32 } from '../../src/shared/layout';

describe('the idle slack policy', () => {
  /** A policy observed once a second for `seconds` seconds from t, retiring `perSecond` instructions a second. */
  function run(s: IdleSlack, t: number, seconds: number, perSecond: number, vbe = 0, instr = { n: 0 }) {
    for (let i = 0; i <= seconds; i++) {
      s.observe(t + i * 1000, instr.n, vbe);
      instr.n += perSecond;
    }
    return t + seconds * 1000;
  }

  it('is short until a whole quiet second has been seen, then long when nobody typed', () => {
    const s = new IdleSlack();
    expect(s.slackMs(0)).toBe(IDLE_SLACK_MS);
    s.observe(0, 0, 0); // the first call only starts the window
    expect(s.slackMs(0)).toBe(IDLE_SLACK_MS);
    s.observe(500, 1000, 0); // within the second: nothing decided
    expect(s.slackMs(500)).toBe(IDLE_SLACK_MS);
    s.observe(1000, 2000, 0);
    expect(s.slackMs(1000)).toBe(UNATTENDED_SLACK_MS);
  });

  it('keeps the short slack for ATTENDED_MS after input, then goes long', () => {
    const s = new IdleSlack();
    const t = run(s, 0, 3, 100_000);
    expect(s.slackMs(t)).toBe(UNATTENDED_SLACK_MS);
    s.input(t);
    expect(s.slackMs(t)).toBe(IDLE_SLACK_MS);
    expect(s.slackMs(t + ATTENDED_MS - 1)).toBe(IDLE_SLACK_MS);
    expect(s.slackMs(t + ATTENDED_MS)).toBe(UNATTENDED_SLACK_MS);
  });

  it('keeps the short slack while the guest works or moves its display, and goes long a second after it stops', () => {
    const s = new IdleSlack();
    const instr = { n: 0 };
    let t = run(s, 0, 3, QUIET_INSTRUCTIONS_PER_S + 1000, 0, instr);
    expect(s.slackMs(t)).toBe(IDLE_SLACK_MS);
    t = run(s, t + 1000, 2, 1000, 0, instr);
    expect(s.slackMs(t)).toBe(UNATTENDED_SLACK_MS);
    // A display register moved (VBE_GEN): panning draws with next to no instructions.
    s.observe(t + 1000, instr.n, 1);
    expect(s.slackMs(t + 1000)).toBe(IDLE_SLACK_MS);
    s.observe(t + 2000, instr.n, 1);
    expect(s.slackMs(t + 2000)).toBe(UNATTENDED_SLACK_MS);
  });
});

describe('a machine left alone', () => {
  function hvmos(workload: string): Machine {
    const kernel = readFileSync(new URL('../../public/guest/hvmos.elf', import.meta.url));
    const r = Machine.create(
      { ramMiB: 16, vramMiB: 8, clock: 'wall', image: 'multiboot', cmdline: `workload=${workload}` },
      kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) as ArrayBuffer,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    return r.value;
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('sleeps on the long slack once idle and unattended, and on the short one again at a key', async () => {
    const m = hvmos('static');
    m.start();
    try {
      await sleep(2600); // boot, then a whole quiet second
      expect(m.idleSlackMs()).toBe(UNATTENDED_SLACK_MS);
      // At the long slack the 100-Hz guest wakes about 5 times a second, not 20.
      const s0 = m.stats.f64[F64.SLICES];
      await sleep(2000);
      expect(m.stats.f64[F64.SLICES] - s0).toBeLessThanOrEqual((2 * 1000) / UNATTENDED_SLACK_MS + 3);
      expect(m.sendScancodes([0x39, 0xb9]).ok).toBe(true); // space, down and up
      expect(m.idleSlackMs()).toBe(IDLE_SLACK_MS);
    } finally {
      m.destroy();
    }
  });

  it("keeps the beat of what the guest draws on its own timers: the typing workload's 250-ms cursor, left alone", async () => {
    const m = hvmos('typing');
    m.start();
    try {
      await sleep(2600);
      expect(m.idleSlackMs()).toBe(UNATTENDED_SLACK_MS);
      const pfn = m.stats.i32[I32.VBE_BAR0] >>> 12;
      m.trackDirtyVram(pfn, 768);
      const drawn: number[] = [];
      const end = performance.now() + 3000;
      while (performance.now() < end) {
        await sleep(5);
        const r = m.trackDirtyVram(pfn, 768);
        if (r.ok && r.value.some((b) => b !== 0)) drawn.push(performance.now());
      }
      const gaps = drawn.slice(1).map((t, i) => t - drawn[i]);
      gaps.sort((a, b) => a - b);
      // Every 250 ms: on a 200-ms grid the toggles due at 250, 500, 750 and 1,000 ms are seen at
      // 400, 600, 800 and 1,000 (gaps of 200 and 400), on a grid it does not fit more unevenly.
      expect(gaps.length).toBeGreaterThanOrEqual(8);
      expect(gaps[gaps.length >> 1]).toBeGreaterThan(230);
      expect(gaps[gaps.length >> 1]).toBeLessThan(270);
    } finally {
      m.destroy();
    }
  });

  it('keeps the short slack while the guest draws (the sprite workload: millions of instructions a second)', async () => {
    const m = hvmos('sprite');
    m.start();
    try {
      await sleep(3000);
      expect(m.idleSlackMs()).toBe(IDLE_SLACK_MS);
    } finally {
      m.destroy();
    }
  });
});
