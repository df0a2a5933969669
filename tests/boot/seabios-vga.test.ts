/**
 * SeaBIOS with Debian's VGA BIOS (vgabios-stdvga.bin on the display's ROM BAR, both fetched by
 * scripts/ensure-seabios.mjs) on the icount clock: the VGA BIOS sets text mode 3 through the
 * legacy VGA registers and loads its font into plane 2, and SeaBIOS's banner and boot messages
 * appear on the text screen, read here from VRAM (the VGA's planes) and from the display state
 * the device publishes, and rendered as the display and --screenshot render it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/machine/machine';
import { readDisplayState, isShowable } from '../../src/ioemu/display-state';
import { convertFrame } from '../../src/ioemu/vga-convert';
import { firmwareFile, seabiosFolder, seabiosMachine } from './seabios-files';

const BUDGET = 12_000_000;

const biosDir = seabiosFolder();

function bootToNoBootableDevice(): Machine {
  const run = seabiosMachine(biosDir(), { vgaBios: firmwareFile(biosDir(), 'vgabios-stdvga.bin') });
  run.runUntil(BUDGET, () => run.log().includes('No bootable device'));
  expect(run.log()).toContain('No bootable device');
  return run.m;
}

describe('SeaBIOS and its VGA BIOS on the legacy VGA', () => {
  it('show the banner and the boot messages on an 80×25 text screen', () => {
    const m = bootToNoBootableDevice();
    const s = readDisplayState(m.stats);
    expect(s.kind).toBe('text');
    expect([s.text!.cols, s.text!.rows, s.text!.charWidth, s.text!.charHeight]).toEqual([80, 25, 9, 16]);
    expect([s.width, s.height]).toEqual([720, 400]);
    // The screen's characters: plane 0 of plane address start + row × 80 + column.
    const vram = m.memory.vram;
    const rows = Array.from({ length: 25 }, (_, row) =>
      String.fromCharCode(
        ...Array.from({ length: 80 }, (_, col) => vram[s.start + row * s.lineBytes + col * 4] || 32),
      ).trimEnd(),
    );
    expect(rows[0]).toMatch(/^SeaBIOS \(version 1\.16\.\d+-debian/);
    expect(rows).toContain('Booting from Hard Disk...');
    expect(rows.some((r) => r.startsWith('No bootable device.'))).toBe(true);
    // Grey on black (attribute 0x07), and the cursor on.
    expect(vram[s.start + 1]).toBe(0x07);
    expect(s.text!.cursor).toBeGreaterThanOrEqual(0);
    // The rendered screen, grey (VGA colour 7, 0xAAAAAA) on black: the banner's 'S' has grey
    // dots and nothing else but black; the empty last row is all black.
    expect(isShowable(s, vram.length)).toBe(true);
    const frame = convertFrame(vram, s, { cursorOn: false, blinkOn: true });
    const GREY = 0xffaaaaaa;
    const BLACK = 0xff000000;
    const colours = (x0: number, y0: number, w: number, h: number) => {
      const n = new Map<number, number>();
      for (let y = y0; y < y0 + h; y++)
        for (let x = x0; x < x0 + w; x++) n.set(frame[y * 720 + x], (n.get(frame[y * 720 + x]) ?? 0) + 1);
      return n;
    };
    const s0 = colours(0, 0, 9, 16);
    expect([...s0.keys()].sort()).toEqual([BLACK, GREY].sort());
    expect(s0.get(GREY)).toBeGreaterThan(10);
    expect([...colours(0, 384, 720, 16).keys()]).toEqual([BLACK]);
    m.destroy();
  });

  it('--screenshot in the CLI renders the text screen: 720×400, the banner grey on black', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seabios-shot-'));
    try {
      const file = join(dir, 'shot.png');
      const r = spawnSync(
        process.execPath,
        [
          ...['--import', 'tsx', 'tools/cli.ts', '--bios', `${biosDir()}/bios.bin`],
          ...['--vga-bios', `${biosDir()}/vgabios-stdvga.bin`, '--debugcon-port', '0x402', '--clock', 'icount'],
          ...['--max-instructions', String(BUDGET), '--screenshot', file],
        ],
        { encoding: 'utf8', input: '' },
      );
      expect(r.status, r.stderr).toBe(3); // the instruction limit
      const png = PNG.sync.read(readFileSync(file));
      expect([png.width, png.height]).toEqual([720, 400]);
      const colours = (x0: number, y0: number, w: number, h: number) => {
        const n = new Map<string, number>();
        for (let y = y0; y < y0 + h; y++)
          for (let x = x0; x < x0 + w; x++) {
            const k = Array.from(png.data.subarray((y * 720 + x) * 4, (y * 720 + x) * 4 + 4)).join(',');
            n.set(k, (n.get(k) ?? 0) + 1);
          }
        return n;
      };
      const banner = colours(0, 0, 9, 16);
      expect([...banner.keys()].sort()).toEqual(['0,0,0,255', '170,170,170,255']);
      expect(banner.get('170,170,170,255')).toBeGreaterThan(10);
      expect([...colours(0, 384, 720, 16).keys()]).toEqual(['0,0,0,255']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
