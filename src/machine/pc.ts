/**
 * The PC engine: the CPU, the hypervisor's p2m and the devices, wired; a Multiboot kernel loaded
 * and entered. One slice runs the CPU in chunks until the host-time budget is spent, and turns
 * HLT, the exit port and triple faults into the run loop's outcomes and the stats block's state.
 */
import { PacedWallClock } from './paced-clock';
import { FpuErrorLatch } from './devices/ferr';
import { ErrorCode, type ClockKind, type FaultReport, type KernelUnpack } from '../shared/api';
import { F64, I32, PAGE_SHIFT, RunState, VRAM_BAR_DEFAULT, type StatsViews } from '../shared/layout';
import { IoBus, MmioBus, type MmioHandler, type PortHandler } from './bus';
import { Cpu, RunExit } from './cpu/cpu';
import type { Engine } from './engine';
import { P2M_MMIO, P2M_R, P2M_W } from './hv/p2m';
import type { Hypervisor } from './hv/hypervisor';
import { loadFirmware } from './boot/firmware';
import { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, type MultibootModule } from './boot/multiboot';
import { fillBiosDataArea } from './boot/bios';
import {
  DEFAULT_LINUX_MODE,
  isBzImage,
  linuxBootItems,
  loadLinux,
  RNG_SEED_BYTES,
  setDispiMode,
  type LinuxBootState,
} from './boot/linux';
import { portOwners, wireDevices, type Device } from './devices/device';
import { Debugcon, DebugExit, PostPort } from './devices/debug-ports';
import { Uart16550 } from './devices/uart16550';
import { Pic } from './devices/pic';
import { Pit } from './devices/pit';
import { BochsVbe } from './devices/vbe';
import { VGA_WINDOW_BASE, VGA_WINDOW_BYTES } from './devices/vga';
import { Pci } from './devices/pci';
import { Cmos } from './devices/cmos';
import { I8042 } from './devices/i8042';
import { ShadowRam } from './shadow-ram';
import { FwCfg, FwCfgKey } from './devices/fw-cfg';
import { Piix3Ide, PIIX3_IDE_DEVFN } from './devices/piix3-ide';
import { AtaDisk } from './devices/ata-disk';
import type { BlockMedium } from './devices/block-medium';
import { AtapiCdrom } from './devices/atapi';
import { BM_PORTS } from './devices/ide-bus-master';
import { guestDma } from './dma';
import { vgaFont8x16 } from './boot/vga-font';
import type { MachineMemory } from './memory';
import type { SliceOutcome } from './runloop';

/** The icount clock's calendar starts here, so deterministic runs read the same RTC. */
export const ICOUNT_EPOCH_MS = Date.UTC(2026, 0, 1);

/** Instructions per run() call: small enough to check the time budget often. */
const CHUNK = 20_000;
/** The icount clock's rate: one instruction = 10 ns of machine time (a nominal 100 MIPS). */
export const ICOUNT_INSTRUCTIONS_PER_MS = 100_000;
/** A halted guest with no timer armed is looked at again after this long (host input may wake it). */
const IDLE_POLL_MS = 50;
/** The outcomes without a field, shared (runSlice returns them often; the run loop only reads them). */
const CONTINUE: SliceOutcome = Object.freeze({ next: 'continue' });
const STOP: SliceOutcome = Object.freeze({ next: 'stop' });
/**
 * The block compiler's hotness period (Cpu.startHotnessPeriod): this many retired instructions
 * (1 s of the icount clock). It bounds the new functions per instruction run, so it counts
 * instructions, not machine time: on the wall clock a slow or busy host runs fewer instructions per
 * second, and a one-second period let the threshold fall back that much more often — Linux's boot
 * in the page made 3 times the functions of a Node run on icount (1,517 vs 515 from the kernel's
 * banner to the prompt, in Node on the wall clock), and their compilation on V8's threads took more
 * CPU than the guest's own.
 */
const BLOCK_HOTNESS_PERIOD_INSTRUCTIONS = 100_000_000;
/** An idle guest runs few instructions: its period ends after this much machine time (ms) at most. */
const BLOCK_HOTNESS_PERIOD_MAX_MS = 10_000;

export interface PcSinks {
  serial(byte: number): void;
  debugcon(byte: number): void;
  post(code: number): void;
}

/** A kernel the loader refused: the reason, for an EBADIMAGE result. */
export class BootError extends Error {
  readonly code = ErrorCode.EBADIMAGE;
}

/** A configured port that a device already decodes: the reason, for an EINVAL result. */
export class ConfigError extends Error {
  readonly code = ErrorCode.EINVAL;
}

export interface PcOptions {
  /**
   * 'multiboot': a kernel entered in protected mode, a Linux bzImage or a Multiboot ELF (told apart
   * by the bzImage's header, as QEMU's -kernel does); 'firmware': a ROM started at the reset vector.
   */
  kind?: 'multiboot' | 'firmware';
  cmdline: string;
  /** A Linux initrd (initramfs), loaded with a bzImage. */
  initrd?: ArrayBuffer;
  /** Multiboot modules, with their strings (QEMU's -initrd "file args,file2"). */
  modules?: readonly MultibootModule[];
  clock: ClockKind;
  postPort?: number;
  /** The debug console's port (QEMU's isa-debugcon iobase): 0xE9 by default, 0x402 for SeaBIOS. */
  debugconPort?: number;
  /** A VGA BIOS image for the display's expansion-ROM BAR (QEMU's vgabios-stdvga.bin). */
  vgaBios?: ArrayBuffer;
  /** Option ROMs handed to the firmware as fw_cfg files genroms/NAME (QEMU's -option-rom). */
  optionRoms?: readonly { name: string; data: ArrayBuffer }[];
  /**
   * A raw image for the primary IDE channel's device 0 (QEMU's -hda); the machine writes to a
   * copy. Or the medium itself (an image read by ranges from a URL, block-medium.ts).
   */
  hda?: ArrayBuffer | BlockMedium;
  /** An ATAPI CD-ROM drive on the secondary IDE channel's device 0 (QEMU's -cdrom) with this ISO image in it, or empty (null). */
  cdrom?: ArrayBuffer | null;
  /** The firmware's boot order, QEMU's -boot letters (a, c, d, n); default "cad". */
  boot?: string;
  /**
   * With 'firmware': a Linux bzImage for the firmware's Linux-boot path (QEMU's -bios with
   * -kernel), with `cmdline` and `initrd`, handed over as fw_cfg items for QEMU's option ROM
   * linuxboot_dma.bin, which must be among `optionRoms` and boots first.
   */
  kernel?: ArrayBuffer;
  /** Who decompresses a bzImage loaded directly (MachineConfig.kernelUnpack); default 'host'. */
  kernelUnpack?: KernelUnpack;
}

/** QEMU's option ROM that boots a kernel from fw_cfg by DMA (pc-bios/optionrom/linuxboot_dma.c). */
export const LINUXBOOT_ROM = 'linuxboot_dma.bin';

export class PcEngine implements Engine {
  readonly io = new IoBus();
  readonly mmio = new MmioBus();
  readonly cpu: Cpu;
  /** What the loader did with a bzImage at the last boot (null for any other image). */
  linuxBoot: LinuxBootState | null = null;
  fault: FaultReport | null = null;
  /** Machine time on the wall clock (paced by retired instructions; begun at each boot). */
  private wallClock!: PacedWallClock;
  private idleClockMs = 0;
  readonly pic = new Pic();
  readonly pit: Pit;
  readonly cmos: Cmos;
  readonly kbc: I8042;
  readonly vbe: BochsVbe;
  readonly shadow: ShadowRam;
  readonly pci: Pci;
  readonly uart: Uart16550;
  readonly post: PostPort;
  readonly fwCfg: FwCfg;
  /** FERR# → IRQ 13, cleared by port F0h. */
  readonly ferr = new FpuErrorLatch((level) => this.pic.setIrq(13, level));
  readonly ide: Piix3Ide;
  /** Every device, as wired: ports and MMIO ranges, reset, time. */
  readonly devices: readonly Device[];
  /** The devices with a clock (advanced before each chunk; their deadlines bound it). */
  private readonly timed: readonly Device[];
  private resetRequested = false;
  /** When the block compiler's hotness period began: retired instructions, machine time (ms). */
  private hotnessPeriodInstructions = 0;
  private hotnessPeriodMs = 0;

  constructor(
    private readonly memory: MachineMemory,
    private readonly hv: Hypervisor,
    private readonly stats: StatsViews,
    private readonly image: ArrayBuffer,
    private readonly options: PcOptions,
    sinks: PcSinks,
  ) {
    this.cpu = new Cpu({
      memory,
      p2m: hv.p2m,
      io: this.io,
      mmio: this.mmio,
      pic: this.pic,
      s2: hv,
      tsc: () => this.machineTimeMs() * 1e6, // a 1 GHz time-stamp counter on the machine clock
      fpuError: () => this.ferr.assert(),
      // Besides the CPU only the loader, the display's clear and a PAM remap change what guest
      // memory holds; each says so (codeChanged).
      externalCodeWrites: false,
      hotClockMs: () => this.machineTimeMs(),
    });
    hv.attachTlb(this.cpu.tlb);
    hv.p2m.map(0, 0, memory.layout.ramBytes >>> PAGE_SHIFT, P2M_R | P2M_W);
    this.pit = new Pit(
      () => this.machineTimeMs(),
      () => this.raiseIrq(0),
      () => this.pic.holds(0),
    );
    this.cmos = new Cmos(
      () => this.machineTimeMs(),
      () => this.rtcEpochMs + (options.clock === 'icount' ? 0 : this.wallClock.droppedMs),
      memory.layout.ramBytes,
      () => this.raiseIrq(8),
    );
    this.kbc = new I8042({
      irq1: () => this.raiseIrq(1),
      setA20: (on) => this.cpu.setA20(on),
      reset: () => this.requestReset(),
    });
    this.vbe = new BochsVbe(
      stats,
      memory.vram,
      (offset, length) => {
        hv.markVramWritten(offset, length);
        this.cpu.codeChanged(); // a guest may run code from VRAM
      },
      // The 0xA0000 window's stores: the CPU made them (through MMIO), nothing cached is stale.
      { windowWritten: (offset, length) => hv.markVramWritten(offset, length), now: () => this.machineTimeMs() },
    );
    hv.p2m.mapMmio(VGA_WINDOW_BASE >>> PAGE_SHIFT, VGA_WINDOW_BYTES >>> PAGE_SHIFT); // the VGA decodes it, not RAM
    // Guest memory as the bus masters see it (the IDE engine, fw_cfg's DMA): their writes happen
    // inside the OUT that starts them, so the CPU is told, as for a PAM remap.
    const dma = guestDma(memory.u8, hv.p2m, hv, () => this.cpu.codeChanged());
    this.ide = new Piix3Ide(
      [
        options.hda
          ? new AtaDisk(options.hda instanceof ArrayBuffer ? new Uint8Array(options.hda.slice(0)) : options.hda)
          : null,
        null,
        // Read-only: the drive reads the buffer it was given, never a copy.
        options.cdrom !== undefined ? new AtapiCdrom(options.cdrom && new Uint8Array(options.cdrom)) : null,
      ],
      (irq, level) => {
        if (level) this.stats.f64[F64.IRQ_COUNT + irq]++;
        this.pic.setIrq(irq, level);
      },
      {
        memory: dma,
        mapPorts: (base, handler) => this.mapBusMaster(base, handler),
      },
    );
    this.shadow = new ShadowRam(memory, hv.p2m, this.cpu.tlb, () => this.cpu.codeChanged());
    this.pci = new Pci(memory.layout.vramBytes, stats, (gfn) => hv.setVramBar(gfn), {
      onPam: (segment, mode) => this.shadow.setSegment(segment, mode),
      reset: () => this.requestReset(),
      vgaBios: options.vgaBios ? new Uint8Array(options.vgaBios) : undefined,
      setRomBar: (base, size, rom) => this.mapExpansionRom(base, size, rom),
      functions: [[PIIX3_IDE_DEVFN, this.ide.pci]],
    });
    this.uart = new Uart16550(sinks.serial, (level) => {
      if (level) this.stats.f64[F64.IRQ_COUNT + 4]++;
      this.pic.setIrq(4, level);
    });
    const exit = new DebugExit((status) => {
      Atomics.store(this.stats.i32, I32.EXIT_STATUS, status);
      this.finalState = RunState.EXITED;
      this.cpu.requestStop();
    });
    // A kernel for the firmware boots first, as QEMU gives its ROM bootindex 0.
    const bootOrder = options.kernel ? [`/rom@genroms/${LINUXBOOT_ROM}`] : [];
    this.fwCfg = new FwCfg({ ramBytes: memory.layout.ramBytes, cpus: 1, dma, bootOrder });
    if (options.kernel) this.addLinuxBoot(options);
    for (const rom of options.optionRoms ?? []) this.fwCfg.addFile(`genroms/${rom.name}`, new Uint8Array(rom.data));
    const boot = options.boot ?? 'cad';
    this.cmos.setBootOrder(boot);
    this.fwCfg.setItem(FwCfgKey.BOOT_DEVICE, Uint8Array.of(boot.charCodeAt(0), 0));
    const fixed: Device[] = [
      ...[this.pic, this.pit, this.cmos, this.kbc, this.vbe, this.shadow, this.pci, this.uart],
      ...[this.fwCfg, this.ide, exit, this.ferr],
    ];
    // The ports a user may move must land on free ones: the wiring knows which are taken.
    const debugcon = new Debugcon(sinks.debugcon, this.freePort(fixed, 'debugconPort', options.debugconPort ?? 0xe9));
    this.post = new PostPort(sinks.post, this.freePort([...fixed, debugcon], 'postPort', options.postPort ?? 0x80));
    this.devices = [...fixed, debugcon, this.post];
    wireDevices(this.devices, this.io, this.mmio);
    this.timed = this.devices.filter((d) => d.advance);
    this.boot();
  }

  /** The kernel, initrd and command line as fw_cfg items for the firmware's Linux-boot path. */
  private addLinuxBoot(options: PcOptions): void {
    if (options.kind !== 'firmware') throw new BootError('a kernel for the firmware goes with a firmware image');
    if (!options.optionRoms?.some((r) => r.name === LINUXBOOT_ROM))
      throw new BootError(
        `a kernel for the firmware needs QEMU's option ROM ${LINUXBOOT_ROM} among the option ROMs (scripts/ensure-seabios.mjs fetches it)`,
      );
    const r = linuxBootItems(options.kernel!, this.memory.layout.ramBytes, options.cmdline, options.initrd);
    if (!r.ok) throw new BootError(r.message);
    for (const [key, data] of r.value.items) this.fwCfg.setItem(key, data);
  }

  /** The guest frames an expansion ROM decodes at now (only frames nothing else had), and its handler. */
  private romWindow: { gfns: number[]; handler: MmioHandler } | null = null;

  /**
   * A PCI expansion-ROM BAR moved, or was switched on or off: its frames become MMIO (reads reach
   * the ROM through the MMIO bus; the CPU copies it out, as firmware does) and their cached
   * translations are dropped. A ROM placed over RAM or another BAR does not displace them.
   */
  private mapExpansionRom(base: number | null, size: number, handler: MmioHandler): void {
    const p2m = this.hv.p2m;
    if (this.romWindow) {
      for (const g of this.romWindow.gfns) {
        if (p2m.entries[g] & P2M_MMIO) p2m.unmap(g, 1);
        this.cpu.tlb.invalidateMappings(g, 1);
      }
      this.mmio.unregister(this.romWindow.handler);
      this.romWindow = null;
    }
    if (base === null) return;
    const gfns: number[] = [];
    const end = Math.ceil((base + size) / 4096); // not >>>: base + size may be 4 GiB
    for (let g = base >>> PAGE_SHIFT; g < end; g++)
      if (p2m.entries[g] === 0) {
        p2m.mapMmio(g, 1);
        this.cpu.tlb.invalidateMappings(g, 1);
        gfns.push(g);
      }
    this.mmio.register(base, size, handler);
    this.romWindow = { gfns, handler };
  }

  /** A device pulled the CPU's reset line: the slice reboots the machine after this instruction. */
  private requestReset(): void {
    this.resetRequested = true;
    this.cpu.requestStop();
  }

  /** Where the IDE bus master's registers are decoded now (its BAR4), or null. */
  private busMasterBase: number | null = null;

  /**
   * Decode the IDE bus master's 16 ports at the base its BAR4 was given. A base whose ports another
   * device decodes is not decoded (the guest placed the BAR badly: on a PC both would answer).
   */
  private mapBusMaster(base: number | null, handler: PortHandler): void {
    if (this.busMasterBase !== null) this.io.unregister(this.busMasterBase, BM_PORTS, handler);
    this.busMasterBase = null;
    if (base === null) return;
    try {
      this.io.register(base, BM_PORTS, handler);
      this.busMasterBase = base;
    } catch {
      this.io.unregister(base, BM_PORTS, handler);
    }
  }

  private freePort(devices: readonly Device[], field: string, port: number): number {
    const owner = portOwners(devices)[port];
    if (owner)
      throw new ConfigError(
        `${field} must be a free I/O port (0-0xffff, not a device's: 0x${port.toString(16)} is ${owner.name}'s), got ${port}`,
      );
    return port;
  }

  private finalState: RunState | null = null;

  /** False until the first boot: a new SharedArrayBuffer is all zeros already (ECMA-262 CreateSharedByteDataBlock). */
  private ramUsed = false;

  private boot(): void {
    // Clearing RAM that is still zero would touch every page of it: up to a second for 256 MiB.
    if (this.ramUsed) this.memory.u8.fill(0, 0, this.memory.layout.ramBytes);
    this.ramUsed = true;
    if (this.options.kind === 'firmware') {
      const r = loadFirmware(this.image, this.memory, this.hv.p2m);
      if (!r.ok) throw new BootError(r.message);
      this.shadow.setRom(r.legacyMfn);
      this.cpu.reset();
    } else {
      this.shadow.setRom(null);
      this.pci.bridge.shadowReadWrite();
      this.ide.pci.enableChannels();
      if (isBzImage(this.image)) {
        if (this.options.modules?.length)
          throw new BootError('Multiboot modules go with a Multiboot kernel; this is a Linux bzImage (give an initrd)');
        this.bootLinux();
      } else {
        if (this.options.initrd)
          throw new BootError('an initrd goes with a Linux bzImage; this kernel is not one (give Multiboot modules)');
        const r = loadMultiboot(this.image, this.memory, this.options.cmdline, this.options.modules);
        if (!r.ok) throw new BootError(r.message);
        fillBiosDataArea(this.memory);
        // No VGA BIOS runs before a Multiboot kernel: the loader leaves text mode 3 as one would
        // (GRUB hands over in it), so a kernel's console at 0xB8000 shows.
        this.vbe.vga.setMode3(vgaFont8x16());
        this.cpu.enterProtectedModeFlat(r.value.entry, { eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: r.value.info });
      }
    }
    this.cpu.codeChanged(); // a new image in memory
    this.finalState = null;
    this.fault = null;
    // The RTC runs on across a reboot as a battery-backed one does: on the wall clock, whose machine
    // time starts again at 0, it reads the host's date again (icount's dates are fixed, for
    // reproducible runs).
    this.rtcEpochMs = this.options.clock === 'icount' ? ICOUNT_EPOCH_MS : Date.now();
    this.wallClock = new PacedWallClock(() => this.cpu.instructions);
    this.idleClockMs = 0;
    this.hotnessPeriodMs = 0; // machine time starts again at 0
  }

  /** Wall-clock ms since the Unix epoch at machine time 0 of this boot (the RTC's date; see boot()). */
  private rtcEpochMs = ICOUNT_EPOCH_MS;

  /**
   * A bzImage through the 32-bit boot protocol: the loader sets a VBE mode (as a boot loader's
   * `vga=` would), describes it in screen_info, and the CPU enters its stub, which loads the boot
   * GDT and jumps to code32_start.
   */
  private bootLinux(): void {
    const { width, height, bpp } = DEFAULT_LINUX_MODE;
    const framebuffer = { base: VRAM_BAR_DEFAULT, vramBytes: this.memory.layout.vramBytes, width, height, bpp };
    const r = loadLinux(this.image, this.memory, {
      cmdline: this.options.cmdline,
      initrd: this.options.initrd,
      framebuffer,
      unpack: this.options.kernelUnpack ?? 'host',
      rngSeed: this.rngSeed(),
    });
    if (!r.ok) throw new BootError(r.message);
    this.linuxBoot = r.value;
    fillBiosDataArea(this.memory);
    setDispiMode(this.io, width, height, bpp);
    this.cpu.enterProtectedModeFlat(r.value.stub, { esi: r.value.bootParams, esp: r.value.stackTop });
  }

  /**
   * The seed a directly loaded Linux gets for its random number generator (loadLinux's rngSeed):
   * from the host's on the wall clock, new at every boot; on the icount clock a fixed one, so a
   * run is reproducible (its randomness is then no secret, as nothing else of an icount run is).
   */
  private rngSeed(): Uint8Array {
    const seed = new Uint8Array(RNG_SEED_BYTES);
    if (this.options.clock === 'wall') crypto.getRandomValues(seed);
    else for (let i = 0; i < seed.length; i++) seed[i] = (i * 0x9e + 0x3b) & 0xff;
    return seed;
  }

  private raiseIrq(irq: number): void {
    this.stats.f64[F64.IRQ_COUNT + irq]++;
    this.pic.pulseIrq(irq);
  }

  reset(): void {
    for (const d of this.devices) d.reset();
    this.resetRequested = false;
    this.boot();
  }

  machineTimeMs(): number {
    if (this.options.clock === 'icount') return this.cpu.instructions / ICOUNT_INSTRUCTIONS_PER_MS + this.idleClockMs;
    return this.wallClock.now();
  }

  /**
   * The machine stops running at this instruction count (the CLI's --max-instructions): slices end
   * on host time, so without it a run would stop a variable number of instructions past the limit.
   */
  instructionLimit = Infinity;

  runSlice(budgetMs: number, now: number): SliceOutcome {
    const f64 = this.stats.f64;
    const icount = this.options.clock === 'icount';
    // A CPU that slept in HLT measured nothing meanwhile: its time steps to the wall rather than
    // racing to catch up, up to the next periodic timer edge at most (PacedWallClock: none is
    // skipped); a one-shot timer that fell due meanwhile fires now, late (Device.nextStrictDeadlineMs).
    if (!icount && this.cpu.halted) this.wallClock.stepToWall(this.nextDeadlineMs(true));
    // A new hotness period for the block compiler (Cpu.startHotnessPeriod).
    const t = this.machineTimeMs();
    if (
      this.cpu.instructions - this.hotnessPeriodInstructions >= BLOCK_HOTNESS_PERIOD_INSTRUCTIONS ||
      t - this.hotnessPeriodMs >= BLOCK_HOTNESS_PERIOD_MAX_MS
    ) {
      this.cpu.startHotnessPeriod();
      this.hotnessPeriodInstructions = this.cpu.instructions;
      this.hotnessPeriodMs = t;
    }
    for (;;) {
      if (!icount) this.wallClock.resync();
      // Indexed loops, no closures, shared outcomes: an idle guest runs this a hundred times a
      // second in code V8 may never optimize, where each iterator, closure or object literal is a
      // heap allocation, and the garbage collections they add cost the worker (and make V8 throw
      // away and recompile optimized code).
      const timed = this.timed;
      for (let i = 0; i < timed.length; i++) timed[i].advance!();
      let chunk = CHUNK;
      const left = this.instructionLimit - f64[F64.INSTRUCTIONS];
      if (left <= 0) return CONTINUE;
      if (left < chunk) chunk = left;
      // Run up to the next timer edge: on icount exactly, so device time is a function of the
      // instruction count; on the wall clock at the current step, so that a catching-up clock
      // cannot carry a chunk across two edges of a periodic timer (the PIC latches one).
      const until = this.nextDeadlineMs() - this.machineTimeMs();
      if (until < Infinity) {
        const perMs = icount ? ICOUNT_INSTRUCTIONS_PER_MS : 1 / this.wallClock.stepMs;
        chunk = Math.max(1, Math.min(chunk, Math.ceil(until * perMs)));
      }
      const before = this.cpu.instructions;
      const exit = this.cpu.run(chunk);
      f64[F64.INSTRUCTIONS] += this.cpu.instructions - before;
      if (this.resetRequested) {
        // The keyboard controller, port 0x92 or port 0xCF9 pulsed the reset line: reboot the kernel.
        this.reset();
        continue;
      }
      if (exit === RunExit.STOPPED || this.finalState !== null) return this.stop(this.finalState ?? RunState.EXITED);
      if (exit === RunExit.TRIPLE_FAULT) {
        this.fault = {
          reason: 'triple fault: the processor shut down',
          trace: this.cpu.shutdownTrace,
        };
        return this.stop(RunState.TRIPLE_FAULT);
      }
      if (exit === RunExit.HLT) {
        if (!this.cpu.interruptFlag) return this.stop(RunState.HALTED);
        // Halted with IF = 1: sleep until the next timer edge (an idle guest costs close to nothing).
        const deadline = this.nextDeadlineMs();
        if (icount) {
          const wait = this.waitUntil(deadline);
          // Idle time in machine time; in wall mode the Machine measures the real sleep instead.
          f64[F64.IDLE_MS] += wait;
          this.idleClockMs += wait;
          if (performance.now() - now >= budgetMs) return CONTINUE;
          continue;
        }
        // The halted CPU's time is the wall's, up to the next timer edge (see PacedWallClock).
        this.wallClock.stepToWall(deadline);
        const wait = this.waitUntil(deadline);
        // Sleep whole milliseconds, rounded up: browser timers fire on a millisecond grid (often a
        // little early), and a fractional sleep came back 3–4 times per 10 ms PIT period to find
        // the deadline not yet reached. An interrupt up to 1 ms late is timer jitter a guest sees
        // on real hardware too.
        if (wait > 0.05) return { next: 'sleep', ms: Math.ceil(wait) };
        continue;
      }
      if (performance.now() - now >= budgetMs) return CONTINUE;
    }
  }

  /** Machine ms from now until `deadline` (IDLE_POLL_MS when there is none). */
  private waitUntil(deadline: number): number {
    return deadline === Infinity ? IDLE_POLL_MS : Math.max(0, deadline - this.machineTimeMs()) + 1e-6;
  }

  /**
   * The earliest machine time at which a device may raise an interrupt; `strict`: the earliest
   * that a halted CPU's time may not step past (Device.nextStrictDeadlineMs).
   */
  private nextDeadlineMs(strict = false): number {
    let t = Infinity;
    const timed = this.timed;
    for (let i = 0; i < timed.length; i++) {
      const dev = timed[i];
      const d = (strict && dev.nextStrictDeadlineMs ? dev.nextStrictDeadlineMs() : dev.nextDeadlineMs?.()) ?? Infinity;
      if (d < t) t = d;
    }
    return t;
  }

  private stop(state: RunState): SliceOutcome {
    Atomics.store(this.stats.i32, I32.STATE, state);
    return STOP;
  }
}
