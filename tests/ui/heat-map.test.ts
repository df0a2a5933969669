import { describe, expect, it } from 'vitest';
import { HEAT_HALF_LIFE_MS, HeatMap } from '../../src/ui/heat-map';

/** Flags for a 4 × 2 tile picture with the given tiles set. */
const tiles = (...set: number[]) => {
  const t = new Uint8Array(8);
  for (const i of set) t[i] = 1;
  return t;
};

describe('the dirty heat map', () => {
  it('counts, per tile, the refreshes that found it written', () => {
    const h = new HeatMap();
    for (let k = 0; k < 5; k++) h.add(tiles(1, 6), 4, 2, false, 1000); // same instant: no fading
    h.add(tiles(6), 4, 2, false, 1000);
    expect(Array.from(h.counts)).toEqual([0, 5, 0, 0, 0, 0, 6, 0]);
    expect(h.hotTiles).toBe(2);
  });

  it('does not count a full repaint (a mode switch is not a write)', () => {
    const h = new HeatMap();
    h.add(tiles(0, 1, 2, 3, 4, 5, 6, 7), 4, 2, true, 0);
    expect(h.hotTiles).toBe(0);
    expect(Array.from(h.counts).every((c) => c === 0)).toBe(true);
  });

  it('halves every half-life and drops to zero when cold, so a tile no longer written cools', () => {
    const h = new HeatMap();
    for (let k = 0; k < 8; k++) h.add(tiles(2), 4, 2, false, 0);
    h.fade(HEAT_HALF_LIFE_MS);
    expect(h.counts[2]).toBeCloseTo(4);
    h.fade(3 * HEAT_HALF_LIFE_MS);
    expect(h.counts[2]).toBeCloseTo(1);
    h.fade(20 * HEAT_HALF_LIFE_MS);
    expect(h.counts[2]).toBe(0);
    expect(h.hotTiles).toBe(0);
  });

  it('starts over when the picture changes size', () => {
    const h = new HeatMap();
    h.add(tiles(3), 4, 2, false, 0);
    h.add(new Uint8Array(6), 3, 2, false, 0);
    expect(h.counts.length).toBe(6);
    expect(h.hotTiles).toBe(0);
  });

  it('colours a warmer tile redder and more opaque, on a log scale that saturates at about every refresh for a few seconds', () => {
    expect(HeatMap.heat(0)).toBe(0);
    expect(HeatMap.heat(1)).toBeLessThan(HeatMap.heat(8));
    expect(HeatMap.heat(1000)).toBe(1);
    expect(HeatMap.color(0)).toBe('rgba(0, 0, 255, 0.20)');
    expect(HeatMap.color(1)).toBe('rgba(255, 0, 0, 0.70)');
  });
});
