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
import { I32 } from '../../src/shared/layout';
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

  it("INT 10h AX=0004h through the VGA BIOS sets CGA's 320×200 in 4 colours: odd lines from the bank at 0xBA000, as the ioemu renders them", () => {
    // An MBR that sets mode 04h, fills CGA line 0 (0xB8000) with 0x1B, line 1 (0xBA000) with 0xE4
    // and line 2 (0xB8050) with 0xFF, and exits with 0x10.
    const disk = new Uint8Array(64 * 1024);
    // prettier-ignore
    disk.set([
      0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xfb, // cli; ds = ss = 0; sp = 7C00h; sti
      0xb8, 0x04, 0x00, 0xcd, 0x10,                   // mov ax, 0004h; int 10h
      0xb8, 0x00, 0xb8, 0x8e, 0xc0, 0xfc,             // mov ax, B800h; mov es, ax; cld
      0x31, 0xff, 0xb0, 0x1b, 0xb9, 0x50, 0x00, 0xf3, 0xaa, // di = 0:     80 × 1Bh
      0xbf, 0x00, 0x20, 0xb0, 0xe4, 0xb9, 0x50, 0x00, 0xf3, 0xaa, // di = 2000h: 80 × E4h
      0xbf, 0x50, 0x00, 0xb0, 0xff, 0xb9, 0x50, 0x00, 0xf3, 0xaa, // di = 80:    80 × FFh
      0xb0, 0x10, 0xe6, 0xf4, 0xf4,                   // mov al, 10h; out F4h, al; hlt
    ]);
    disk.set([0x55, 0xaa], 510);
    const run = seabiosMachine(biosDir(), {
      vgaBios: firmwareFile(biosDir(), 'vgabios-stdvga.bin'),
      hda: disk.buffer,
      boot: 'c',
    });
    run.runUntil(BUDGET);
    const { m } = run;
    expect(Atomics.load(m.stats.i32, I32.EXIT_STATUS)).toBe((0x10 << 1) | 1);
    const s = readDisplayState(m.stats);
    expect([s.kind, s.width, s.height, s.bankBit]).toEqual(['cga4', 320, 200, 0x4000]);
    const vram = m.memory.vram;
    expect(isShowable(s, vram.length)).toBe(true);
    const frame = convertFrame(vram, s);
    // The picture as CGA's memory map says: 2-bit pixels, most significant first, through the
    // attribute palette the VGA BIOS loaded and the DAC.
    const colour = (index: number) => {
      const c = s.palette[s.attrMap[index]];
      return (0xff000000 | ((c & 0xff) << 16) | (c & 0xff00) | ((c >>> 16) & 0xff)) >>> 0;
    };
    const expected = (byte: number) => Array.from({ length: 320 }, (_, x) => colour((byte >> (6 - 2 * (x & 3))) & 3));
    const line = (y: number) => Array.from(frame.subarray(y * 320, (y + 1) * 320));
    expect(line(0)).toEqual(expected(0x1b));
    expect(line(1)).toEqual(expected(0xe4));
    expect(line(2)).toEqual(expected(0xff));
    expect(line(3)).toEqual(expected(0x00));
    // Four colours, background black.
    expect(new Set([0, 1, 2, 3].map(colour)).size).toBe(4);
    expect(colour(0)).toBe(0xff000000);
    m.destroy();
  });
});
