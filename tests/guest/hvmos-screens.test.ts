/**
 * hvmos on screen and at the keyboard: `--screenshot` of static and clock at a fixed guest time
 * equals the committed reference PNGs pixel for pixel; every colour depth draws; keys 1-9 and the
 * serial command switch workloads at run time; typing echoes; the image rebuilds byte for byte.
 *
 * The references come from the CLI itself; after a deliberate change to what hvmos draws:
 *   HVMOS_UPDATE_REFS=1 npx vitest run tests/guest/hvmos-screens.test.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { convertRows } from '../../src/ioemu/convert';
import { readDisplayState } from '../../src/ioemu/display-state';
import { I32 } from '../../src/shared/layout';
import { EXIT_BAD_MODE, EXIT_OK, Guest, HVMOS_PATH, exitStatus } from './hvmos-run';

const REF = 'tests/guest/ref';

function cliScreenshot(cmdline: string): PNG {
  const dir = mkdtempSync(join(tmpdir(), 'hvmos-shot-'));
  try {
    const file = join(dir, 'shot.png');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'tools/cli.ts', '--kernel', HVMOS_PATH, '--cmdline', cmdline, '--clock', 'icount', '--screenshot', file],
      { encoding: 'utf8', input: '' },
    );
    expect(r.status, r.stderr).toBe(exitStatus(EXIT_OK));
    return PNG.sync.read(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectSameImage(name: string, shot: PNG): void {
  const ref = `${REF}/${name}.png`;
  if (process.env.HVMOS_UPDATE_REFS === '1' || !existsSync(ref)) {
    if (process.env.CI) throw new Error(`${ref} is missing`);
    writeFileSync(ref, PNG.sync.write(shot));
  }
  const want = PNG.sync.read(readFileSync(ref));
  expect([shot.width, shot.height]).toEqual([want.width, want.height]);
  let differ = 0;
  for (let i = 0; i < want.data.length; i += 4) if (want.data.readUInt32BE(i) !== shot.data.readUInt32BE(i)) differ++;
  expect(differ, `${differ} pixels differ from ${ref}`).toBe(0);
}

/** The visible screen as 0xRRGGBB values, through the ioemu's converter. */
function screen(g: Guest): { width: number; height: number; px: (x: number, y: number) => number } {
  const mode = readDisplayState(g.m.stats);
  const rgba = new Uint8Array(mode.width * mode.height * 4);
  convertRows(g.m.memory.vram, mode, mode.palette, rgba);
  return {
    width: mode.width,
    height: mode.height,
    px: (x, y) => {
      const o = (y * mode.width + x) * 4;
      return (rgba[o] << 16) | (rgba[o + 1] << 8) | rgba[o + 2];
    },
  };
}

const near = (a: number, b: number, tolerance: number): boolean =>
  [16, 8, 0].every((s) => Math.abs(((a >> s) & 0xff) - ((b >> s) & 0xff)) <= tolerance);

describe('hvmos on screen', () => {
  it('--screenshot of static (1024x768x32, after 1 s) equals the reference', () => {
    expectSameImage('static', cliScreenshot('workload=static exit=1'));
  });

  it('--screenshot of clock at guest time 2.5 s equals the reference', () => {
    expectSameImage('clock', cliScreenshot('workload=clock exit=2.5'));
  });

  it('draws in every colour depth: 8 (RGB 3-3-2 in the DAC), 15, 16, 24 and 32 bpp', () => {
    for (const bpp of [8, 15, 16, 24, 32]) {
      const g = new Guest(`workload=static mode=640x480x${bpp} exit=0.5`);
      expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
      g.destroy();
      expect(g.m.stats.i32[I32.VBE_BPP]).toBe(bpp);
      const s = screen(g);
      expect([s.width, s.height]).toEqual([640, 480]);
      // The task bar (0x202020), its "hvmos" button (0x2b5797) and the desktop's top (0x1f4e79),
      // each as exact as the depth allows.
      const tolerance = bpp === 8 ? 40 : bpp < 24 ? 8 : 0;
      expect(near(s.px(2, 478), 0x202020, tolerance), `${bpp} bpp task bar`).toBe(true);
      expect(near(s.px(6, 460), 0x2b5797, tolerance), `${bpp} bpp button`).toBe(true);
      expect(near(s.px(300, 2), 0x1f4e79, tolerance), `${bpp} bpp desktop`).toBe(true);
      if (bpp === 8) {
        const pal = g.m.stats.i32.subarray(I32.PALETTE, I32.PALETTE + 256);
        expect([pal[0x00], pal[0xe0], pal[0x1c], pal[0x03], pal[0xff]]).toEqual([0, 0xff0000, 0x00ff00, 0x0000ff, 0xffffff]);
      }
    }
  });

  it('refuses a malformed mode and one larger than VRAM, with its exit code', () => {
    const g = new Guest('workload=static mode=1000x700x12');
    expect(g.runToExit()).toBe(exitStatus(EXIT_BAD_MODE));
    g.destroy();
    expect(g.serial).toContain('hvmos: bad mode=');
    const big = new Guest('workload=static mode=2560x1600x32'); // 16,000 KiB: more than 8 MiB of VRAM
    expect(big.runToExit()).toBe(exitStatus(EXIT_BAD_MODE));
    big.destroy();
    expect(big.serial).toContain('hvmos: the mode does not fit in VRAM\n');
  });
});

describe('hvmos input', () => {
  it('key 3 and the serial command `workload NAME` switch workloads at run time', () => {
    const g = new Guest('workload=clock exit=2');
    g.runUntil(500);
    // The host sends scancode set 2; the i8042 translates "3" (0x26) to set 1 (0x04) for the guest.
    g.m.sendScancodes([0x26, 0xf0, 0x26]);
    g.runUntil(1000);
    expect(g.serial).toContain('hvmos: workload clock\nhvmos: workload typing\n');
    g.m.serialWrite('workload static\r');
    g.runUntil(1500);
    expect(g.serial).toContain('hvmos: workload typing\nhvmos: workload static\n');
    g.m.serialWrite('workload nosuch\n');
    expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
    g.destroy();
    expect(g.serial).toContain("hvmos: no workload 'nosuch'\n");
    expect(g.serial).not.toContain('exception');
  });

  it('keys 1-9 walk through all nine workloads, 150 ms each, without a fault (Alt+4 out of typing)', () => {
    const g = new Guest('workload=pan mode=320x240x32 exit=1.4');
    // Set 2 make/break codes of the digits 1-9 (the i8042 hands the guest set 1: 0x02-0x0A).
    const keys = [0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36, 0x3d, 0x3e, 0x46];
    keys.forEach((k, i) => {
      g.runUntil(100 + i * 150);
      // In typing (key 3) a digit is text: leave it with Alt+4 (left Alt: 0x11).
      g.m.sendScancodes(i === 3 ? [0x11, k, 0xf0, k, 0xf0, 0x11] : [k, 0xf0, k]);
    });
    expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
    g.destroy();
    const order = [...g.serial.matchAll(/hvmos: workload (\w+)/g)].map((m) => m[1]);
    expect(order).toEqual(['pan', 'static', 'clock', 'typing', 'scroll', 'sprite', 'plasma', 'stress', 'pan', 'bench']);
    expect(g.serial).not.toContain('exception');
  });

  it('in typing a digit is text, not a switch; Alt+digit switches; help and unknown commands are answered on COM1', () => {
    const g = new Guest('workload=typing exit=1.2');
    g.runUntil(300);
    g.m.sendScancodes([0x16, 0xf0, 0x16, 0x1e, 0xf0, 0x1e]); // "1", "2": typed
    g.runUntil(500);
    expect(g.serial).not.toContain('hvmos: workload static');
    g.m.sendScancodes([0x11, 0x1e, 0xf0, 0x1e, 0xf0, 0x11]); // Alt+2: clock
    g.runUntil(700);
    g.m.serialWrite('help\nfrobnicate\n');
    expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
    g.destroy();
    expect(g.serial).toContain('hvmos: workload typing\nhvmos: workload clock\n');
    expect(g.serial).toContain('hvmos: commands: help; workload NAME; tick SECONDS (1-3600); mode WxHxBPP');
    expect(g.serial).toContain('hvmos: workloads: static clock typing scroll sprite plasma stress pan bench fault\n');
    expect(g.serial).toContain("hvmos: unknown command 'frobnicate' (help lists the commands)\n");
  });

  it('typing echoes serial input (with backspace) and keys into its window, none of the command that started it', () => {
    const g = new Guest('workload=clock exit=1');
    g.runUntil(300);
    g.m.serialWrite('workload typing\r\nHi\x7fo'); // a terminal's Enter, then "Hi", DEL, "o"
    g.runUntil(600);
    g.m.sendScancodes([0x12, 0x1c, 0xf0, 0x1c, 0xf0, 0x12]); // shift + a: "A"
    expect(g.runToExit()).toBe(exitStatus(EXIT_OK));
    g.destroy();
    const s = screen(g);
    // The window's text starts at (48, 66); count text-coloured pixels per 8x14 cell (the cursor
    // is below, in rows 14-15).
    const ink = (cell: number) => {
      let n = 0;
      for (let y = 66; y < 80; y++) for (let x = 48 + cell * 8; x < 56 + cell * 8; x++) if (s.px(x, y) === 0x202020) n++;
      return n;
    };
    expect([ink(0), ink(1), ink(2)].every((n) => n > 5), `${ink(0)} ${ink(1)} ${ink(2)}`).toBe(true);
    expect(ink(3) + ink(4) + ink(5)).toBe(0);
  });
});

// Where gcc cannot build 32-bit code the rebuild test is reported as skipped, never passed.
const haveGcc32 = spawnSync('gcc', ['-m32', '-ffreestanding', '-c', '-x', 'c', '/dev/null', '-o', '/dev/null']).status === 0;

describe('hvmos build', () => {
  it.skipIf(!haveGcc32)('rebuilding hvmos from source gives the committed bytes (skipped without gcc -m32)', () => {
    const out = mkdtempSync(join(tmpdir(), 'hvmos-rebuild-'));
    try {
      execFileSync('make', ['-s', '-C', 'guest/hvmos', `OUT=${out}`], { stdio: 'pipe' });
      expect(readFileSync(join(out, 'hvmos.elf')).equals(readFileSync(HVMOS_PATH))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
