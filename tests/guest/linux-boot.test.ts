import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e820Map } from '../../src/machine/boot/bios';
import { VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import { INITRAMFS_PATH, VMLINUZ_PATH } from '../../scripts/guest-linux/packages';

const RAM_MIB = 64;
const VRAM_MIB = 8;
/**
 * nokaslr: the kernel runs where the loader put it (the initrd's place below is then known).
 * cryptomgr.notests: no crypto self-tests at late init (31.6 s of guest time, ~3 G instructions).
 * No earlyprintk: its early UART set-up raises RTS, the UART starts handing over the typed input,
 * and the 8250 driver's probe later reads its first byte away (as typing that early on a real
 * serial line would lose it); console=ttyS0 replays the early messages anyway.
 */
const CMDLINE = 'nokaslr cryptomgr.notests console=ttyS0';
/**
 * Debian's kernel spends ~2.39 G instructions decompressing itself (XZ) before it prints its
 * banner, and ~0.47 G more to its shell's prompt (2.86 G, /init's loading of the disk and CD
 * modules included); the typed commands below run by 2.87 G.
 */
const BUDGET = 3e9;
/** What is typed on COM1; on icount the CLI hands all of stdin to the UART before the run. */
const INPUT = 'uname -r\necho sum=$((6*7))\n';

interface Run {
  status: number | null;
  stderr: string;
  serial: string;
  screen: Buffer;
  stats: { instructions: number; machineTimeMs: number; end: string };
}

/** `npm run cli` as a user runs it: the committed kernel and initramfs, COM1 to a file. */
function cli(dir: string, name: string): Promise<Run> {
  const out = (ext: string) => join(dir, `${name}.${ext}`);
  // prettier-ignore
  const args = [
    '--kernel', VMLINUZ_PATH, '--initrd', INITRAMFS_PATH, '--cmdline', CMDLINE,
    '--memory', String(RAM_MIB), '--vram', String(VRAM_MIB), '--clock', 'icount',
    '--max-instructions', String(BUDGET), '--serial', out('txt'), '--screenshot', out('png'),
    '--stats-json', out('json'),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'tools/cli.ts', ...args], { stdio: 'pipe' });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => {
      try {
        resolve({
          status,
          stderr,
          serial: readFileSync(out('txt'), 'latin1'),
          screen: readFileSync(out('png')),
          stats: JSON.parse(readFileSync(out('json'), 'utf8')) as Run['stats'],
        });
      } catch (e) {
        reject(new Error(`cli ${name} left no output (status ${status}): ${stderr}\n${(e as Error).message}`));
      }
    });
    p.stdin.end(INPUT);
  });
}

const hex16 = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;
const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

describe("Debian's Linux through the CLI on the icount clock, from the committed image, twice", () => {
  let dir: string;
  let a: Run;
  let b: Run;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linux-boot-'));
    // Two runs side by side (a core each where there are two): the second is the determinism check.
    [a, b] = await Promise.all([cli(dir, 'a'), cli(dir, 'b')]);
  }, 1_800_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs to its instruction budget (exit status 3), not a fault', () => {
    expect(a.stderr).toBe('');
    expect(a.status).toBe(3);
    expect(a.stats.end).toBe('instruction limit');
  });

  it('boots to its shell: banner, the x87 and a 1 GHz TSC found, fbcon on the framebuffer, /init and BusyBox', () => {
    const serial = a.serial;
    expect(serial).toMatch(/Linux version 6\.1\.0-50-686 .*Debian 6\.1\.176-1/);
    expect(serial).toContain('x86/fpu: x87 FPU will use FSAVE');
    // The TSC runs at 1 GHz on the machine clock; Linux's PIT calibration finds it.
    const mhz = Number(/tsc: Detected (\d+\.\d+) MHz processor/.exec(serial)?.[1]);
    expect(Math.abs(mhz - 1000)).toBeLessThan(1);
    expect(serial).toContain('vesafb: mode is 1024x768x32');
    expect(serial).toContain('Console: switching to colour frame buffer device 128x48');
    expect(serial).toContain('Run /init as init process');
    expect(serial).toMatch(/BusyBox v1\.35\.0 .* built-in shell \(ash\)/);
  });

  it('reports the E820 map, the command line and the initrd as the loader gave them', () => {
    const e820 = e820Map(RAM_MIB << 20, VRAM_BAR_DEFAULT, VRAM_MIB << 20).map(
      (e) =>
        `BIOS-e820: [mem ${hex16(e.addr)}-${hex16(e.addr + e.size - 1)}] ${e.type === 1 ? 'usable' : 'reserved'}`,
    );
    const printed = a.serial.split(/\r?\n/).flatMap((l) => l.match(/BIOS-e820: .*$/) ?? []);
    expect(printed).toEqual(e820);
    expect(a.serial).toContain(`Kernel command line: ${CMDLINE}`);
    // The initrd where the loader put it: page-aligned at the top of RAM (the kernel prints the
    // range it reserves, rounded out to pages).
    const initrdBytes = readFileSync(INITRAMFS_PATH).length;
    const start = Math.floor(((RAM_MIB << 20) - initrdBytes) / 0x1000) * 0x1000;
    const end = Math.ceil((start + initrdBytes) / 0x1000) * 0x1000 - 1;
    expect(a.serial).toContain(`RAMDISK: [mem ${hex8(start)}-${hex8(end)}]`);
  });

  it("runs what is typed on COM1 at the shell's prompt", () => {
    const shell = a.serial.slice(a.serial.indexOf('built-in shell'));
    expect(shell).toMatch(/\/ # uname -r\r?\n6\.1\.0-50-686\r?\n/);
    expect(shell).toMatch(/\/ # echo sum=\$\(\(6\*7\)\)\r?\nsum=42\r?\n/);
  });

  it("draws tty1 on vesafb's 1024×768×32 screen: /init's banner and the prompt", () => {
    // The kernel's own messages go to COM1 only with this command line; tty1 has the shell's.
    const png = PNG.sync.read(a.screen);
    expect([png.width, png.height]).toEqual([1024, 768]);
    let lit = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] | png.data[i + 1] | png.data[i + 2]) lit++;
    expect(lit).toBeGreaterThan(2_000);
  });

  it('prints the same serial output and draws the same screen on both runs, byte for byte', () => {
    expect(b.status).toBe(a.status);
    expect(b.serial.length).toBe(a.serial.length);
    expect(b.serial === a.serial).toBe(true);
    expect(b.screen.equals(a.screen)).toBe(true);
    expect(b.stats.instructions).toBe(a.stats.instructions);
    expect(b.stats.machineTimeMs).toBe(a.stats.machineTimeMs);
  });
});
