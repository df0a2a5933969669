/**
 * The headless machine: `npm run cli -- --kernel FILE [options]`. Runs the same Machine as the
 * browser worker, without the run loop (slices back to back), and maps the end of the run to an
 * exit status as QEMU users expect. Nothing goes to stdout but what the guest sent to sinks
 * directed there.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Machine } from '../src/machine/machine';
import { LINUXBOOT_ROM } from '../src/machine/pc';
import { isBzImage } from '../src/machine/boot/linux';
import { immediateYielder } from '../src/machine/runloop';
import { PNG } from 'pngjs';
import { convertRows } from '../src/ioemu/convert';
import { isShowable, readDisplayState } from '../src/ioemu/display-state';
import { convertFrame } from '../src/ioemu/vga-convert';
import {
  F64,
  I32,
  RAM_MIB_DEFAULT,
  RAM_MIB_MAX,
  RAM_MIB_MIN,
  RunState,
  VRAM_MIB_CHOICES,
  VRAM_MIB_DEFAULT,
} from '../src/shared/layout';

const HELP = `usage: npm run cli -- --kernel FILE [options]

  --kernel FILE            Linux bzImage (boot protocol 2.06+) or Multiboot (v1) ELF kernel; with
                           --bios, a bzImage the firmware boots (with --initrd and --append) through
                           QEMU's option ROM linuxboot_dma.bin, taken from the BIOS's folder
                           (scripts/ensure-seabios.mjs puts it in .cache/seabios) or --option-rom
  --initrd FILE            initrd (initramfs) for a Linux bzImage; for a Multiboot kernel, its
                           modules as QEMU takes them: "file args,file2" (each module's string is
                           its file name and arguments; ",," is a comma in a name)
  --firmware FILE          raw firmware image (<= 256 KiB), started at the reset vector in real mode
  --bios FILE              the same as --firmware (QEMU's word), e.g. SeaBIOS's bios.bin
  --vga-bios FILE          VGA BIOS for the display's PCI expansion ROM (e.g. vgabios-stdvga.bin)
  --option-rom FILE        an option ROM the firmware runs (fw_cfg genroms/NAME); may be repeated
  --hda FILE               raw hard disk image on the primary IDE channel (whole 512-byte sectors,
                           <= 1 GiB); the guest writes to a copy in memory, the file is not changed
  --cdrom FILE             ISO image in an ATAPI CD-ROM drive on the secondary IDE channel (whole
                           2048-byte sectors, <= 1 GiB, read-only); --boot d boots it (El Torito)
  --boot ORDER             firmware boot order, QEMU's letters: c hard disk, d CD-ROM, a floppy,
                           n network (e.g. c, or order=dc; default cad)
  --cmdline STR            kernel command line
  --kernel-unpack host|guest
                           who decompresses a bzImage's XZ payload: host (default), the loader,
                           which enters the kernel itself (and hands it a gzip initrd of one member
                           unpacked); guest, the kernel's own decompressor entered at code32_start,
                           as QEMU's -kernel does (slower: Debian's kernel spends 2.3 G instructions
                           there), and the kernel unpacks the initrd. Not with --bios
  --append STR             the same (QEMU's name for it)
  --memory MiB             guest RAM, ${RAM_MIB_MIN}-${RAM_MIB_MAX} (default ${RAM_MIB_DEFAULT})
  --vram MiB               VRAM, ${VRAM_MIB_CHOICES.join('/')} (default ${VRAM_MIB_DEFAULT})
  --serial FILE|-          COM1 output (- = stdout); stdin feeds COM1 input when not a TTY
                           (on the icount clock it is read to its end before the run starts)
  --debugcon FILE|-        debug console output, raw
  --debugcon-port PORT     the debug console's port (default 0xE9; SeaBIOS logs to 0x402)
  --post-log FILE          one line per POST code (POST=XX)
  --post-port PORT         the POST port (default 0x80; decimal or 0x hex)
  --clock wall|icount      device time source (default wall; icount is deterministic)
  --timeout SECONDS        stop after this much host time (exit 3)
  --max-instructions N     stop after exactly N instructions (exit 3)
  --screenshot FILE.png    the screen as the display shows it at the end, as a PNG
  --stats                  summary table on stderr at the end
  --stats-json FILE        the same as JSON
  --trace N                last N instructions on a fault or at exit
  --help                   this text

exit status: (v << 1) | 1 when the guest writes v to port 0xF4; 0 when it halts with
interrupts off; 2 bad input; 3 timeout or instruction limit; 4 triple fault.
`;

/** MachineConfig fields and the flags that set them. */
const CONFIG_FLAGS: readonly (readonly [string, string])[] = [
  ['ramMiB', 'memory'],
  ['vramMiB', 'vram'],
  ['cmdline', 'cmdline'],
  ['kernelUnpack', 'kernel-unpack'],
  ['clock', 'clock'],
  ['postPort', 'post-port'],
  ['debugconPort', 'debugcon-port'],
  ['vgaBios', 'vga-bios'],
  ['optionRoms', 'option-rom'],
  ['hda', 'hda'],
  ['cdrom', 'cdrom'],
  ['boot', 'boot'],
];

function fail(message: string): never {
  process.stderr.write(`cli: ${message}\n`);
  process.exit(2);
}

/**
 * QEMU's -initrd list for a Multiboot kernel (hw/i386/multiboot.c): modules separated by commas,
 * ",," standing for a comma in a name; each entry, the file name and its arguments, is the
 * module's string.
 */
function parseModules(list: string): string[] {
  return list
    .split(/(?<!,),(?!,)/)
    .map((m) => m.replaceAll(',,', ','))
    .filter((m) => m.trim() !== '');
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * One byte to fd, waiting while it is full: stdout may be a non-blocking pipe (a parent that
 * reads it late, as spawnSync under load does), where a write fails with EAGAIN instead of waiting.
 */
function writeByte(fd: number, b: number): void {
  for (;;) {
    try {
      writeSync(fd, Buffer.of(b));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function sinkFor(target: string | undefined): ((b: number) => void) | null {
  if (target === undefined) return null;
  if (target === '-') return (b) => writeByte(1, b);
  let fd: number;
  try {
    fd = openSync(target, 'w');
  } catch (e) {
    fail(`cannot open ${target}: ${(e as Error).message}`);
  }
  process.on('exit', () => closeSync(fd));
  return (b) => writeSync(fd, Buffer.of(b));
}

function main(): void {
  let args;
  try {
    args = parseArgs({
      options: {
        kernel: { type: 'string' },
        cmdline: { type: 'string' },
        append: { type: 'string' },
        'kernel-unpack': { type: 'string' },
        initrd: { type: 'string' },
        memory: { type: 'string', default: String(RAM_MIB_DEFAULT) },
        vram: { type: 'string', default: String(VRAM_MIB_DEFAULT) },
        serial: { type: 'string' },
        debugcon: { type: 'string' },
        'debugcon-port': { type: 'string' },
        'post-log': { type: 'string' },
        'post-port': { type: 'string' },
        clock: { type: 'string', default: 'wall' },
        timeout: { type: 'string' },
        'max-instructions': { type: 'string' },
        stats: { type: 'boolean', default: false },
        'stats-json': { type: 'string' },
        trace: { type: 'string' },
        firmware: { type: 'string' },
        bios: { type: 'string' },
        'vga-bios': { type: 'string' },
        'option-rom': { type: 'string', multiple: true },
        hda: { type: 'string' },
        cdrom: { type: 'string' },
        boot: { type: 'string' },
        screenshot: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n${HELP}`);
  }
  if (args.help) {
    process.stderr.write(HELP);
    process.exit(0);
  }
  if (args.bios !== undefined && args.firmware !== undefined) fail('--bios and --firmware are the same flag: give one');
  const firmware = args.firmware ?? args.bios;
  // Both: the firmware boots the kernel (QEMU's -bios with -kernel).
  const imagePath = firmware ?? args.kernel;
  if (imagePath === undefined) fail(`--kernel or --firmware is required\n${HELP}`);
  if (args.cmdline !== undefined && args.append !== undefined)
    fail('give --cmdline or --append (the same thing), not both');
  if (args.initrd !== undefined && args.kernel === undefined) fail('--initrd goes with --kernel (a Linux bzImage)');
  if (args['kernel-unpack'] !== undefined && (args.kernel === undefined || firmware !== undefined))
    fail('--kernel-unpack goes with --kernel alone (with --bios the firmware runs the kernel as it is)');
  const cmdline = args.cmdline ?? args.append ?? '';
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number, not ${JSON.stringify(v)}`);
    return n;
  };
  const timeout = num('timeout', args.timeout);
  const maxInstructions = num('max-instructions', args['max-instructions']);
  const traceN = num('trace', args.trace) ?? 0;
  const readBuffer = (path: string): ArrayBuffer => {
    let b: Buffer;
    try {
      b = readFileSync(path);
    } catch (e) {
      fail(`cannot read ${path}: ${(e as Error).message}`);
    }
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  const buf = readBuffer(imagePath);
  const kernel = firmware !== undefined && args.kernel !== undefined ? readBuffer(args.kernel) : undefined;
  if (kernel && !isBzImage(kernel))
    fail(`${args.kernel}: the firmware boots a Linux bzImage only; a Multiboot kernel boots without --bios`);
  // A bzImage takes one initrd; a Multiboot kernel takes modules, QEMU's way.
  const multibootModules = args.initrd !== undefined && !isBzImage(kernel ?? buf);
  const initrd = args.initrd !== undefined && !multibootModules ? readBuffer(args.initrd) : undefined;
  const modules = multibootModules
    ? parseModules(args.initrd!).map((cmdline) => ({ cmdline, data: readBuffer(cmdline.split(' ')[0]) }))
    : undefined;
  const vgaBios = args['vga-bios'] !== undefined ? readBuffer(args['vga-bios']) : undefined;
  const hda = args.hda !== undefined ? readBuffer(args.hda) : undefined;
  const cdrom = args.cdrom !== undefined ? readBuffer(args.cdrom) : undefined;
  const optionRoms = (args['option-rom'] ?? []).map((path) => ({ name: basename(path), data: readBuffer(path) }));
  // QEMU finds its linuxboot_dma.bin in its data folder; ours is the BIOS's (.cache/seabios).
  if (kernel && !optionRoms.some((r) => r.name === LINUXBOOT_ROM)) {
    const rom = join(dirname(firmware!), LINUXBOOT_ROM);
    if (!existsSync(rom))
      fail(
        `--kernel with --bios needs QEMU's ${LINUXBOOT_ROM} next to the BIOS or as --option-rom (node scripts/ensure-seabios.mjs fetches it into .cache/seabios)`,
      );
    optionRoms.push({ name: LINUXBOOT_ROM, data: readBuffer(rom) });
  }
  // A number where the flag holds one, else the text as given (so that a rejection quotes it).
  const asNumber = (v: string): number | string => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
  const created = Machine.create(
    {
      ramMiB: asNumber(args.memory),
      vramMiB: asNumber(args.vram),
      cmdline,
      ...(initrd ? { initrd } : {}),
      ...(kernel ? { kernel } : {}),
      ...(modules ? { modules } : {}),
      clock: args.clock,
      image: firmware !== undefined ? 'firmware' : 'multiboot',
      postPort: args['post-port'] !== undefined ? asNumber(args['post-port']) : undefined,
      debugconPort: args['debugcon-port'] !== undefined ? asNumber(args['debugcon-port']) : undefined,
      vgaBios,
      optionRoms: optionRoms.length ? optionRoms : undefined,
      hda,
      cdrom,
      boot: args.boot?.replace(/^order=/, ''),
      ...(args['kernel-unpack'] !== undefined ? { kernelUnpack: args['kernel-unpack'] } : {}),
    },
    buf,
    immediateYielder(),
  );
  if (!created.ok) {
    // The machine's config names its fields; say which flag set the one it rejects.
    const flag = CONFIG_FLAGS.find(([field]) => created.message.startsWith(`${field} `));
    fail(flag ? `--${flag[1]}${created.message.slice(flag[0].length)}` : `${imagePath}: ${created.message}`);
  }
  const m = created.value;
  // The loader was to unpack the kernel and could not: say why (the kernel's own decompressor runs).
  const unpacked = m.pc?.linuxBoot?.unpacked;
  if (unpacked && 'reason' in unpacked)
    process.stderr.write(
      `cli: ${imagePath}: not unpacked by the loader (${unpacked.reason}): its own decompressor runs\n`,
    );
  m.onSerial = sinkFor(args.serial) ?? (() => {});
  m.onDebugcon = sinkFor(args.debugcon) ?? (() => {});
  const postLines: string[] = [];
  m.onPost = (code) => postLines.push(`POST=${code.toString(16).padStart(2, '0').toUpperCase()}`);
  if (!process.stdin.isTTY) {
    // On the icount clock the whole input is there from the start, so that the run is reproducible
    // (the UART hands it to the guest when its driver asserts RTS); otherwise it streams in.
    let input: Buffer | null = null;
    if (args.clock === 'icount') {
      try {
        input = readFileSync(0);
      } catch {
        input = null; // a non-blocking stdin with nothing yet: stream it instead
      }
    }
    if (input !== null) m.pc?.uart.receive(input);
    else {
      process.stdin.on('data', (d: Buffer) => m.pc?.uart.receive(d));
      process.stdin.on('error', () => {});
    }
  }

  // Exactly N instructions: on icount two runs then end in the same state.
  if (maxInstructions !== undefined && m.pc) m.pc.instructionLimit = maxInstructions;
  const t0 = performance.now();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const finish = (status: number, why: string): void => {
    m.destroy();
    process.stdin.destroy();
    const f64 = m.stats.f64;
    const seconds = (performance.now() - t0) / 1000;
    const summary = {
      end: why,
      exitStatus: status,
      instructions: f64[F64.INSTRUCTIONS],
      seconds,
      mips: f64[F64.INSTRUCTIONS] / seconds / 1e6,
      guestMs: f64[F64.GUEST_MS],
      idleMs: f64[F64.IDLE_MS],
      machineTimeMs: m.machineTimeMs(),
      irqs: Object.fromEntries(
        Array.from({ length: 16 }, (_, i) => [i, f64[F64.IRQ_COUNT + i]]).filter(([, n]) => (n as number) > 0),
      ),
      hvMs: f64[F64.HV_MS],
      hvHypercalls: f64[F64.HV_HYPERCALLS],
      hvPagesScanned: f64[F64.HV_PAGES_SCANNED],
      hvPagesDirty: f64[F64.HV_PAGES_DIRTY],
      hvSecondStageFaults: f64[F64.HV_S2_FAULTS],
      hvTlbInvalidated: f64[F64.HV_TLB_INVALIDATED],
      hvIdleDrops: f64[F64.HV_IDLE_DROPS],
      hvRearms: f64[F64.HV_REARMS],
    };
    if (args.screenshot !== undefined) screenshot(m, args.screenshot);
    if (args['post-log'] !== undefined) writeFileSync(args['post-log'], postLines.map((l) => `${l}\n`).join(''));
    if (args.stats) {
      process.stderr.write(
        `\n${Object.entries(summary)
          .map(
            ([k, v]) =>
              `${k.padEnd(20)} ${typeof v === 'number' ? +v.toFixed(3) : typeof v === 'object' ? JSON.stringify(v) : v}`,
          )
          .join('\n')}\n`,
      );
    }
    if (args['stats-json'] !== undefined) writeFileSync(args['stats-json'], JSON.stringify(summary, null, 2));
    const fault = m.lastFault();
    if (fault) process.stderr.write(`cli: ${fault.reason}\n${fault.trace.join('\n')}\n`);
    else if (traceN > 0 && m.pc) process.stderr.write(`${m.pc.cpu.trace(traceN).join('\n')}\n`);
    process.exitCode = status;
  };
  const step = (): void => {
    for (let i = 0; i < 50; i++) {
      const outcome = m.slice();
      const state = Atomics.load(m.stats.i32, I32.STATE);
      if (outcome.next === 'stop') {
        if (state === RunState.EXITED) return finish(Atomics.load(m.stats.i32, I32.EXIT_STATUS) & 0xff, 'exit port');
        if (state === RunState.HALTED) return finish(0, 'halted with interrupts off');
        if (state === RunState.TRIPLE_FAULT) return finish(4, 'triple fault');
        return finish(4, 'internal error');
      }
      if (maxInstructions !== undefined && m.stats.f64[F64.INSTRUCTIONS] >= maxInstructions)
        return finish(3, 'instruction limit');
      if (timeout !== undefined && performance.now() - t0 >= timeout * 1000) return finish(3, 'timeout');
      if (outcome.next === 'sleep' && args.clock !== 'icount') Atomics.wait(sleeper, 0, 0, outcome.ms);
    }
    setImmediate(step); // let stdin data in
  };
  step();
}

/**
 * The VRAM as the display shows it, as a PNG: the Bochs VBE mode, or the legacy VGA's text or
 * graphics mode (the text cursor drawn, blinking characters in their visible phase).
 */
function screenshot(m: Machine, file: string): void {
  const mode = readDisplayState(m.stats);
  if (!isShowable(mode, m.memory.vram.byteLength)) {
    process.stderr.write(`cli: --screenshot: the display shows nothing (no VBE or VGA mode); ${file} not written\n`);
    return;
  }
  const png = new PNG({ width: mode.width, height: mode.height });
  if (mode.kind === 'vbe') convertRows(m.memory.vram, mode, mode.palette, png.data);
  else png.data.set(new Uint8Array(convertFrame(m.memory.vram, mode).buffer));
  writeFileSync(file, PNG.sync.write(png));
}

main();
