import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/shared/api';
import { Machine } from '../../src/machine/machine';
import { immediateYielder } from '../../src/machine/runloop';
import { F64, I32, RunState } from '../../src/shared/layout';

const MBTEST = new URL('../../public/guest/mbtest.elf', import.meta.url);
const kernel = (): ArrayBuffer => {
  const b = readFileSync(MBTEST);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};
const config = { ramMiB: 4, vramMiB: 8, cmdline: 'x=1', clock: 'icount', image: 'multiboot' } as const;

function runToStop(m: Machine): RunState {
  for (let i = 0; i < 1000; i++) if (m.slice().next === 'stop') break;
  return Atomics.load(m.stats.i32, I32.STATE) as RunState;
}

describe('Multiboot boot', () => {
  it('a Multiboot kernel gets EAX = 0x2BADB002 and the info structure, prints on COM1 and 0xE9, writes POST and exits via 0xF4', () => {
    const r = Machine.create(config, kernel(), immediateYielder());
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    const post: number[] = [];
    m.onPost = (c) => post.push(c);
    let debugcon = '';
    m.onDebugcon = (b) => (debugcon += String.fromCharCode(b));
    expect(runToStop(m)).toBe(RunState.EXITED);
    expect(Atomics.load(m.stats.i32, I32.EXIT_STATUS)).toBe((0x10 << 1) | 1);
    const serial = m.serialRead();
    expect(serial.ok && serial.value).toBe('mbtest: hello from a Multiboot kernel, cmdline=x=1\n');
    expect(debugcon).toBe('mbtest: hello from a Multiboot kernel, cmdline=x=1\n');
    expect(post).toEqual([0x42]);
    m.destroy();
  });

  it('reset reloads the kernel and it runs again', () => {
    const r = Machine.create(config, kernel(), immediateYielder());
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    runToStop(m);
    m.serialRead();
    m.reset();
    expect(runToStop(m)).toBe(RunState.EXITED);
    const again = m.serialRead();
    expect(again.ok && again.value).toContain('hello');
    m.destroy();
  });

  const bad = (mutate: (b: Uint8Array, dv: DataView) => Uint8Array | void, ramMiB = 4) => {
    const b = new Uint8Array(kernel());
    const out = mutate(b, new DataView(b.buffer)) ?? b;
    const r = Machine.create({ ...config, ramMiB }, out.slice().buffer, immediateYielder());
    expect(r.ok).toBe(false);
    if (r.ok) return '';
    expect(r.code).toBe(ErrorCode.EBADIMAGE);
    return r.message;
  };
  const phdr = (dv: DataView) => dv.getUint32(28, true);

  it('refuses a file without a Multiboot header', () => {
    expect(bad((b) => b.fill(0, 0x1000, 0x3000))).toMatch(/no Multiboot header/);
  });
  it('refuses an empty or truncated kernel', () => {
    expect(bad(() => new Uint8Array(0))).toMatch(/empty or truncated/);
    expect(bad((b) => b.subarray(0, 0x1010))).toMatch(/truncated/);
  });
  it('refuses a non-ELF file without the a.out kludge', () => {
    expect(bad((b) => void (b[0] = 0))).toMatch(/not an ELF/);
  });
  it('refuses an ELF for another machine', () => {
    expect(bad((_b, dv) => dv.setUint16(18, 62, true))).toMatch(/not for i386/);
  });
  it('refuses a segment outside guest RAM', () => {
    expect(bad((_b, dv) => dv.setUint32(phdr(dv) + 12, 0x500000, true))).toMatch(/outside guest RAM/);
  });
  it('refuses a kernel too large for RAM', () => {
    expect(bad((_b, dv) => dv.setUint32(phdr(dv) + 20, 8 << 20, true))).toMatch(/outside guest RAM/);
  });
  it('refuses an entry point outside the loaded segments', () => {
    expect(bad((_b, dv) => dv.setUint32(24, 0x200000, true))).toMatch(/entry point/);
  });
  it('refuses a header that requires video mode information', () => {
    expect(
      bad((_b, dv) => {
        const at = 0x1000; // .text starts at file offset 0x1000 with the header
        expect(dv.getUint32(at, true)).toBe(0x1badb002);
        dv.setUint32(at + 4, 0x7, true);
        dv.setUint32(at + 8, -(0x1badb002 + 7) >>> 0, true);
      }),
    ).toMatch(/video mode/);
  });
});

describe('firmware boot', () => {
  it('a raw image starts at F000:FFF0 in real mode, reaches protected mode and writes its POST codes', () => {
    const b = readFileSync(new URL('../../public/guest/fwtest.bin', import.meta.url));
    const r = Machine.create(
      { ...config, image: 'firmware' },
      b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    const post: number[] = [];
    m.onPost = (c) => post.push(c);
    expect(runToStop(m)).toBe(RunState.EXITED);
    expect(post).toEqual([0x12, 0x34]);
    expect(Atomics.load(m.stats.i32, I32.EXIT_STATUS)).toBe((0x15 << 1) | 1);
    expect((m.pc?.cpu.cr0 ?? 0) & 1).toBe(1); // CR0.PE
    m.destroy();
  });
  it('refuses an empty image and one larger than 256 KiB', () => {
    for (const [bytes, why] of [
      [0, /empty/],
      [256 * 1024 + 1, /256 KiB/],
    ] as const) {
      const r = Machine.create({ ...config, image: 'firmware' }, new ArrayBuffer(bytes), immediateYielder());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(ErrorCode.EBADIMAGE);
        expect(r.message).toMatch(why);
      }
    }
  });
  it('the CLI runs it with --firmware and writes the POST log', () => {
    const log = `/tmp/cli-fw-${process.pid}.txt`;
    const fw = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', 'tools/cli.ts', '--firmware', 'public/guest/fwtest.bin', '--post-log', log, ...extra],
        { encoding: 'utf8', input: '' },
      );
    const r = fw('--clock', 'icount');
    expect(r.status).toBe(0x2b);
    expect(readFileSync(log, 'utf8')).toBe('POST=12\nPOST=34\n');
    // With the POST port moved, port 0x80 is nothing and the log stays empty.
    const moved = fw('--post-port', '0x84');
    expect(moved.status).toBe(0x2b);
    expect(readFileSync(log, 'utf8')).toBe('');
  });
});

describe('timer interrupts and the idle guest', () => {
  it('a guest taking 100 PIT ticks at 100 Hz with HLT between them runs ~1 s of machine time in a few thousand instructions', () => {
    const b = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));
    const r = Machine.create(
      config,
      b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    expect(runToStop(m)).toBe(RunState.EXITED);
    expect(Atomics.load(m.stats.i32, I32.EXIT_STATUS)).toBe((0x12 << 1) | 1);
    const out = m.serialRead();
    expect(out.ok && out.value).toBe('ticker: 100 ticks\n');
    expect(m.stats.f64[F64.IRQ_COUNT + 0]).toBe(100);
    // HLT sleeps to the next timer edge instead of spinning: the whole second is idle.
    expect(m.stats.f64[F64.INSTRUCTIONS]).toBeLessThan(5000);
    expect(m.machineTimeMs()).toBeGreaterThanOrEqual(1000);
    expect(m.machineTimeMs()).toBeLessThan(1011);
    expect(m.stats.f64[F64.IDLE_MS]).toBeGreaterThan(990);
    m.destroy();
  });
});

describe('the idle guest on the wall clock', () => {
  it('wakes the run loop once per PIT period, not several times (timers fire on a millisecond grid)', async () => {
    const b = readFileSync(new URL('../../public/guest/ticker.elf', import.meta.url));
    const r = Machine.create(
      { ...config, clock: 'wall' },
      b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
      immediateYielder(),
    );
    if (!r.ok) throw new Error(r.message);
    const m = r.value;
    m.start();
    while (m.state === RunState.RUNNING) await new Promise((res) => setTimeout(res, 50));
    expect(m.state).toBe(RunState.EXITED);
    expect(m.stats.f64[F64.IRQ_COUNT + 0]).toBe(100);
    // One slice per tick (100) plus a few for boot and late timers; fractional sleeps used to
    // come back 3–4 times per tick to find the deadline not yet reached.
    expect(m.stats.f64[F64.SLICES]).toBeLessThan(130);
    m.destroy();
  });
});

describe('the CLI', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'tools/cli.ts', ...args], { encoding: 'utf8', input: '' });

  it('prints COM1 to stdout, exits with (v << 1) | 1, and writes the POST log', () => {
    const r = cli('--kernel', 'public/guest/mbtest.elf', '--serial', '-', '--cmdline', 'hi', '--clock', 'icount');
    expect(r.stdout).toBe('mbtest: hello from a Multiboot kernel, cmdline=hi\n');
    expect(r.status).toBe(0x21);
  });
  it('with --clock icount two runs give identical output, instruction counts and machine time', () => {
    const run = (n: number) => {
      const json = `/tmp/cli-icount-${process.pid}-${n}.json`;
      const r = cli('--kernel', 'public/guest/mbtest.elf', '--serial', '-', '--clock', 'icount', '--stats-json', json);
      const s = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number>;
      return { out: r.stdout, status: r.status, instructions: s.instructions, machineTimeMs: s.machineTimeMs };
    };
    const a = run(1);
    expect(a.status).toBe(0x21);
    expect(a.instructions).toBeGreaterThan(100);
    expect(run(2)).toEqual(a);
  });
  it('stdin feeds COM1: on the icount clock all of it, reproducibly', () => {
    const run = () =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', 'tools/cli.ts', '--kernel', 'public/guest/hvmos.elf', '--clock', 'icount'].concat([
          '--cmdline',
          'workload=static exit=1',
          '--serial',
          '-',
        ]),
        { encoding: 'utf8', input: 'workload plasma\nworkload nosuch\n' },
      );
    const a = run();
    expect(a.status, a.stderr).toBe(1);
    // Both lines read in one trap: the unknown name is answered at once, the switch at its end.
    expect(a.stdout).toContain("hvmos: workload static\nhvmos: no workload 'nosuch'\nhvmos: workload plasma\n");
    expect(run().stdout).toBe(a.stdout);
  });
  it('--max-instructions stops the run with status 3 after exactly that many instructions, on either clock', () => {
    for (const clock of ['icount', 'wall']) {
      const json = `/tmp/cli-max-${process.pid}-${clock}.json`;
      // An odd count, off the engine's chunks and timer edges.
      const r = cli(
        '--kernel',
        'public/guest/bench.elf',
        '--clock',
        clock,
        '--max-instructions',
        '1234567',
        '--stats-json',
        json,
      );
      expect(r.status).toBe(3);
      expect((JSON.parse(readFileSync(json, 'utf8')) as { instructions: number }).instructions).toBe(1234567);
    }
  });
  it('bad input: exit status 2 and a message naming the reason', () => {
    const r = cli('--kernel', 'package.json');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no Multiboot header/);
    expect(r.stdout).toBe('');
    expect(cli('--bogus').status).toBe(2);
    expect(cli().status).toBe(2);
  });
  it('bad flag values are named by their flag, with the value given', () => {
    const kernel = ['--kernel', 'public/guest/bench.elf'];
    for (const [flag, value, reason] of [
      ['--memory', '1000', /^cli: --memory must be an integer from 4 to 256, got 1000$/m],
      ['--memory', 'lots', /^cli: --memory must be an integer from 4 to 256, got lots$/m],
      ['--vram', '12', /^cli: --vram must be 8, 16, 32 or 64, got 12$/m],
      ['--clock', 'sundial', /^cli: --clock must be "wall" or "icount", got sundial$/m],
      ['--post-port', '0x3f8', /^cli: --post-port must be a free I\/O port .*, got 1016$/m],
    ] as const) {
      const r = cli(...kernel, flag, value);
      expect(r.status, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toMatch(reason);
    }
  });
  it('--screenshot writes what the guest drew through PCI BAR0 and the Bochs VBE mode as a PNG', () => {
    const file = `/tmp/cli-draw-${process.pid}.png`;
    const r = cli('--kernel', 'public/guest/draw.elf', '--clock', 'icount', '--screenshot', file);
    expect(r.status).toBe((0x13 << 1) | 1);
    const png = PNG.sync.read(readFileSync(file));
    expect([png.width, png.height]).toEqual([320, 200]);
    for (const [x, y] of [
      [0, 0],
      [5, 7],
      [255, 199],
      [300, 100],
    ]) {
      const i = (y * 320 + x) * 4;
      expect(Array.from(png.data.subarray(i, i + 4)), `pixel ${x},${y}`).toEqual([x & 255, y, (x ^ y) & 255, 255]);
    }
  });
  it('--help documents every flag (on stderr: stdout is only for the guest)', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const flags = ['kernel', 'cmdline', 'firmware', 'bios', 'memory', 'vram', 'serial', 'debugcon', 'debugcon-port'];
    flags.push('vga-bios', 'option-rom', 'hda', 'boot', 'initrd', 'append', 'post-port', 'post-log');
    flags.push('clock', 'timeout', 'max-instructions', 'screenshot', 'stats', 'stats-json', 'trace', 'help');
    for (const f of flags) expect(r.stderr, `--${f}`).toMatch(new RegExp(`^  --${f} `, 'm'));
  });
});

describe('the guest tree', () => {
  it('rebuilding the test kernels from source gives the committed bytes', () => {
    const out = `/tmp/mbtest-rebuild-${process.pid}`;
    try {
      execFileSync('make', ['-s', '-C', 'guest/mbtest', `OUT=${out}`], { stdio: 'pipe' });
    } catch (e) {
      console.warn(`skipping: cannot build with the system toolchain (${String(e).slice(0, 80)})`);
      return;
    }
    execFileSync('make', ['-s', '-C', 'guest/fwtest', `OUT=${out}`], { stdio: 'pipe' });
    for (const name of ['mbtest.elf', 'ticker.elf', 'draw.elf', 'fwtest.bin'])
      expect(readFileSync(`${out}/${name}`).equals(readFileSync(`public/guest/${name}`)), name).toBe(true);
  });
});
