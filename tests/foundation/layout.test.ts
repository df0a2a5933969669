import { TRACK_DIRTY_VRAM_MAX_NR } from '../../src/shared/api';
import { describe, expect, it } from 'vitest';
import {
  HV_CLIENT_SLOTS,
  F64,
  I32,
  memoryLayout,
  RAM_MIB_MAX,
  RAM_MIB_MIN,
  ROM_BYTES,
  SECONDS_RING_LEN,
  STATS_BYTES,
  STATS_F64_OFFSET,
  statsViews,
  VRAM_MIB_CHOICES,
} from '../../src/shared/layout';

describe('memory layout', () => {
  it('places RAM, VRAM and ROM back to back without overlap for every allowed size', () => {
    for (const ram of [RAM_MIB_MIN, 32, 100, RAM_MIB_MAX])
      for (const vram of VRAM_MIB_CHOICES) {
        const l = memoryLayout(ram, vram);
        expect(l.ramBytes).toBe(ram << 20);
        expect(l.vramOffset).toBe(l.ramBytes);
        expect(l.romOffset).toBe(l.vramOffset + l.vramBytes);
        expect(l.totalBytes).toBe(l.romOffset + ROM_BYTES);
        expect(l.vramOffset % 4096).toBe(0);
      }
  });

  it('refuses sizes outside the documented choices', () => {
    expect(() => memoryLayout(3, 8)).toThrow(RangeError);
    expect(() => memoryLayout(257, 8)).toThrow(RangeError);
    expect(() => memoryLayout(32, 12)).toThrow(RangeError);
    expect(() => memoryLayout(32.5, 8)).toThrow(RangeError);
  });
});

describe('stats/control block', () => {
  it('gives every I32 field its own word inside the block', () => {
    const fields = Object.entries(I32).filter(([k]) => !['COUNT', 'PALETTE', 'PALETTE_ENTRIES'].includes(k));
    const used = new Set<number>();
    for (const [name, idx] of fields) {
      expect(idx, name).toBeGreaterThanOrEqual(0);
      expect(idx, name).toBeLessThan(I32.PALETTE);
      expect(used.has(idx), `${name} overlaps`).toBe(false);
      used.add(idx);
    }
    // The dirty-VRAM clients' state words after HV_CLIENT_STATE belong to nobody else.
    for (let k = 1; k < HV_CLIENT_SLOTS; k++) expect(used.has(I32.HV_CLIENT_STATE + k), `client word ${k}`).toBe(false);
    expect(I32.PALETTE + I32.PALETTE_ENTRIES).toBeLessThanOrEqual(I32.COUNT);
  });

  it('gives every F64 field its own slot, with the per-IRQ counters last', () => {
    const fields = Object.entries(F64).filter(([k]) => k !== 'COUNT' && k !== 'IRQ_COUNT');
    const used = new Set<number>();
    for (const [name, idx] of fields) {
      expect(idx, name).toBeLessThan(F64.IRQ_COUNT);
      expect(used.has(idx), `${name} overlaps`).toBe(false);
      used.add(idx);
    }
    expect(F64.IRQ_COUNT + 16).toBeLessThanOrEqual(F64.COUNT);
  });

  it('lays the F64 block after the I32 block, 8-aligned, then the bitmap and the seconds ring, within the buffer', () => {
    expect(STATS_F64_OFFSET % 8).toBe(0);
    expect(STATS_F64_OFFSET).toBe(I32.COUNT * 4);
    const v = statsViews(new SharedArrayBuffer(STATS_BYTES));
    expect(v.i32.byteOffset + v.i32.byteLength).toBeLessThanOrEqual(v.f64.byteOffset);
    expect(v.f64.byteOffset + v.f64.byteLength).toBe(v.bitmap.byteOffset);
    expect(v.bitmap.byteOffset + v.bitmap.byteLength).toBe(v.seconds.byteOffset);
    expect(v.seconds.byteOffset % 8).toBe(0);
    expect(v.seconds.length).toBe(SECONDS_RING_LEN * F64.COUNT);
    expect(v.seconds.byteOffset + v.seconds.byteLength).toBe(STATS_BYTES);
    expect(v.bitmap.byteLength * 8).toBe(TRACK_DIRTY_VRAM_MAX_NR);
  });
});
