/**
 * The dirty heat map: where the guest writes. Each display tile keeps a count of the refreshes
 * that found it written (the pages the hypervisor reported dirty, or poll found changed), and the
 * counts fade by half every HEAT_HALF_LIFE_MS of wall time, so a tile the guest keeps writing
 * glows and one it stopped writing cools. A full repaint (a mode switch, a new range) is not a
 * write and is not counted. No DOM here: the display draws it (hvm-display.ts).
 */

/** Wall time in which a tile's count halves. */
export const HEAT_HALF_LIFE_MS = 1500;
/** Counts below this are dropped to zero (nothing left to draw). */
const COLD = 0.05;
/** A count that shows at full heat: about a tile written at every refresh at 30 Hz (1 / (1 − 0.5^(33/1500)) ≈ 66). */
const FULL_HEAT = 64;

export class HeatMap {
  counts = new Float32Array(0);
  tilesX = 0;
  tilesY = 0;
  private last = -1;
  /** Tiles with a count at or above COLD after the last add or fade. */
  hotTiles = 0;

  /** One refresh's repainted tiles (tilesX × tilesY flags) at wall time now (ms). */
  add(tiles: Uint8Array, tilesX: number, tilesY: number, full: boolean, now: number): void {
    if (tilesX !== this.tilesX || tilesY !== this.tilesY) {
      // A new picture size: the old tiles are not these.
      this.tilesX = tilesX;
      this.tilesY = tilesY;
      this.counts = new Float32Array(tilesX * tilesY);
    }
    this.fade(now);
    if (full) return;
    const c = this.counts;
    let hot = 0;
    for (let i = 0; i < c.length; i++) {
      if (tiles[i]) c[i] += 1;
      if (c[i] >= COLD) hot++;
    }
    this.hotTiles = hot;
  }

  /** Let the counts cool to wall time now (ms). */
  fade(now: number): void {
    const c = this.counts;
    if (this.last >= 0 && now > this.last) {
      const k = 0.5 ** ((now - this.last) / HEAT_HALF_LIFE_MS);
      let hot = 0;
      for (let i = 0; i < c.length; i++) {
        const v = c[i] * k;
        c[i] = v < COLD ? 0 : v;
        if (c[i] !== 0) hot++;
      }
      this.hotTiles = hot;
    }
    this.last = now;
  }

  /** The heat of a count, 0 (cold) to 1 (a tile written at every refresh), on a log scale. */
  static heat(count: number): number {
    return count <= 0 ? 0 : Math.min(1, Math.log2(1 + count) / Math.log2(1 + FULL_HEAT));
  }

  /** The colour of a tile at heat h (0–1): blue through yellow to red, more opaque as it heats. */
  static color(h: number): string {
    const r = Math.round(255 * Math.min(1, 2 * h));
    const g = Math.round(255 * (h < 0.5 ? h * 2 : 2 - 2 * h));
    const b = Math.round(255 * Math.max(0, 1 - 2 * h));
    return `rgba(${r}, ${g}, ${b}, ${(0.2 + 0.5 * h).toFixed(2)})`;
  }
}
