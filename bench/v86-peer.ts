/**
 * The peer of bench:cpu: the same Multiboot kernel on npm `v86` (a pinned dev dependency used
 * only here; its wasm JIT on, as its npm build ships), in this Node process. v86 boots SeaBIOS
 * (Debian's images, `scripts/ensure-seabios.mjs`) and enters the kernel through its Multiboot
 * option ROM; the kernel's phase markers on port 0x80 are timed with `performance.now()` inside
 * v86's port handler, so a phase's time is wall time from its marker to the next, as ours.
 *
 * v86's npm package has no port-listening API: the handlers go on its internal I/O bus
 * (`emulator.v86.cpu.io.register_write`), the way its own tests attach devices.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

/** The part of v86's emulator object this runner touches. */
interface V86Emulator {
  add_listener(event: string, fn: () => void): void;
  stop(): Promise<void> | void;
  destroy(): Promise<void> | void;
  v86: {
    cpu: {
      io: {
        register_write(
          port: number,
          device: object,
          w8?: (v: number) => void,
          w16?: (v: number) => void,
          w32?: (v: number) => void,
        ): void;
      };
    };
  };
}
type V86Ctor = new (options: Record<string, unknown>) => V86Emulator;

export interface PeerMark {
  kind: 'start' | 'sum' | 'done';
  value: number;
  t: number;
  /** Process CPU time (user + system, all threads: v86's JIT compiles in V8's background threads), ms. */
  cpu: number;
}

export interface PeerRun {
  version: string;
  marks: PeerMark[];
  /** From the first phase's marker to the last one's end. */
  seconds: number;
  /** The same span in process CPU time. */
  cpuSeconds: number;
}

/** Process CPU time so far, ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Where v86 is: the installed dev dependency, else V86_DIR (an unpacked `npm pack v86@VERSION`). */
function locate(): { module: string; wasm: string; version: string } | null {
  const dirs: string[] = [];
  try {
    dirs.push(join(createRequire(import.meta.url).resolve('v86/package.json'), '..'));
  } catch {
    // not installed: `npm ci` brings it (package.json pins it)
  }
  if (process.env.V86_DIR) dirs.push(process.env.V86_DIR);
  for (const dir of dirs) {
    const module = join(dir, 'build', 'libv86.mjs');
    const wasm = join(dir, 'build', 'v86.wasm');
    if (existsSync(module) && existsSync(wasm)) {
      const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
      return { module, wasm, version };
    }
  }
  return null;
}

/** Runs `elf` on v86 until the kernel's exit port; null (with the reason printed) when v86 or a BIOS is missing. */
export async function runOnV86(elf: Uint8Array, timeoutMs: number): Promise<PeerRun | null> {
  const where = locate();
  if (!where) {
    console.log('bench:cpu: v86 is not installed (run `npm ci`; or V86_DIR=unpacked package); no ratio');
    return null;
  }
  let biosDir: string;
  try {
    biosDir = execFileSync('node', ['scripts/ensure-seabios.mjs'], { encoding: 'utf8' }).trim();
  } catch {
    console.log('bench:cpu: no SeaBIOS image for v86 (scripts/ensure-seabios.mjs failed); no ratio');
    return null;
  }
  const image = (bytes: Uint8Array) => ({
    buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  });
  const { V86 } = (await import(/* @vite-ignore */ where.module)) as { V86: V86Ctor };
  const marks: PeerMark[] = [];
  return new Promise<PeerRun | null>((resolve) => {
    const emulator = new V86({
      wasm_path: where.wasm,
      bios: image(readFileSync(join(biosDir, 'bios.bin'))),
      vga_bios: image(readFileSync(join(biosDir, 'vgabios-stdvga.bin'))),
      multiboot: image(elf),
      memory_size: 64 << 20,
      autostart: true,
      fastboot: true,
      disable_keyboard: true,
      disable_mouse: true,
    });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      void Promise.resolve(emulator.stop()).then(() => emulator.destroy());
      const first = marks.find((m) => m.kind === 'start');
      const last = marks.findLast((m) => m.kind === 'done');
      if (!ok || !first || !last) {
        console.log('bench:cpu: the kernel did not finish on v86');
        resolve(null);
        return;
      }
      resolve({
        version: where.version,
        marks,
        seconds: (last.t - first.t) / 1000,
        cpuSeconds: (last.cpu - first.cpu) / 1000,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    emulator.add_listener('emulator-loaded', () => {
      const io = emulator.v86.cpu.io;
      io.register_write(
        0x80,
        {},
        (v) => marks.push({ kind: v === 0xff ? 'done' : 'start', value: v, t: performance.now(), cpu: cpuMs() }),
        undefined,
        (v) => marks.push({ kind: 'sum', value: v >>> 0, t: performance.now(), cpu: cpuMs() }),
      );
      io.register_write(0xf4, {}, () => finish(true));
    });
  });
}
