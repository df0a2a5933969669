/**
 * The page's view state: what lives in the address bar (so a view can be shared), how it is read
 * (each bad value replaced, and said) and written. The one place the page checks these values:
 * RAM and VRAM sizes with the machine's own checks (src/shared/layout.ts, which checkConfig and so
 * the CLI use too), the toy guest's workload and video mode here (the controls and what the guest
 * announces on COM1 are checked with the same functions).
 */
import { DISPLAY_MODES, type DisplayModeName } from '../ioemu/refresh';
import { DISK_GUEST, LINUX_GUEST } from './guests';
import { DEFAULT_LINUX_SCENARIO, LINUX_SCENARIOS, LINUX_SCENARIO_TITLE, isLinuxScenario } from './linux-scenarios';
import { RAM_MIB_DEFAULT, VRAM_MIB_DEFAULT, isValidRamMiB, isValidVramMiB } from '../shared/layout';
import type { KernelUnpack } from '../shared/api';

/** The toy guest's workloads (guest/hvmos), in the order of the keys 1–9. */
export const WORKLOADS = ['static', 'clock', 'typing', 'scroll', 'sprite', 'plasma', 'stress', 'pan', 'bench'] as const;
export const DEFAULT_KERNEL = 'guest/hvmos.elf';

/** One of the toy guest's workloads. */
export function isWorkload(name: unknown): name is string {
  return (WORKLOADS as readonly unknown[]).includes(name);
}

/** A video mode the toy guest takes on its command line (mode=) or COM1 (`mode`): WxHxBPP, BPP 8/15/16/24/32. */
export function isVideoMode(mode: unknown): mode is string {
  return typeof mode === 'string' && /^\d{3,4}x\d{3,4}x(8|15|16|24|32)$/.test(mode);
}

/** What is drawn over the screen: nothing, the tiles each refresh repainted, or the dirty heat map. */
export const OVERLAYS = ['none', 'tiles', 'heat'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** The page's state that lives in the URL, so a view can be shared. */
export interface ViewState {
  mode: DisplayModeName;
  /** The toy guest's workload (WORKLOADS), or with Linux its display scenario (linux-scenarios.ts). */
  workload: string;
  hz: number;
  vram: number;
  mem: number;
  /** The guest's video mode, WxHxBPP (passed on its command line). */
  res: string;
  /**
   * Kernel URL, "pattern" for the foundation's built-in test pattern, "linux" (`?guest=linux`) for
   * Debian's Linux, or "disk" (`?guest=disk`, or `?hda=URL`) for SeaBIOS booting a disk.
   */
  kernel: string;
  /**
   * With the disk guest: the disk image's URL (`?hda=`, QEMU's word), or null for the committed
   * one (none when a CD is given without a disk).
   */
  hda: string | null;
  /** With the disk guest: a CD image's URL (`?cdrom=`, QEMU's word) for the ATAPI drive, booted first; or null. */
  cdrom: string | null;
  /** With firmware for a kernel: a VGA BIOS's URL for the display's ROM BAR (vgabios-stdvga.bin), or null. */
  vgabios: string | null;
  /** Dirty modes: skip the hypercall while the dirty generation has not moved (gen=0 turns it off). */
  gen: boolean;
  /** The clock workload's period in seconds (the guest's tick=; 1 unless the URL says). */
  tick: number;
  /** What poll compares: the whole VRAM (pre-3.3 ioemu, default) or only the displayed range (scope=displayed). */
  scope: 'vram' | 'displayed';
  /** `hc=comlink`: trackDirtyVram through comlink instead of the shared-memory channel (for comparison). */
  hc: 'comlink' | 'shared';
  /** The A/B view (`ab=MODE`): a second display of the same guest in this mode, side by side; null: one display. */
  ab: DisplayModeName | null;
  /** What is drawn over the screen (`overlay=tiles|heat`); none by default. */
  overlay: Overlay;
  /**
   * Who decompresses a Linux bzImage (MachineConfig.kernelUnpack): the loader ('host', default) or
   * the kernel's own decompressor (`unpack=guest`, the boot protocol's way: about 2.3 G more
   * instructions for Debian's kernel).
   */
  unpack: KernelUnpack;
}

export function readViewState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const mode = q.get('mode') as DisplayModeName;
  const hz = Number(q.get('hz'));
  const vram = Number(q.get('vram'));
  const mem = Number(q.get('mem'));
  const res = q.get('res') ?? '';
  const guest = q.get('hda') !== null || q.get('cdrom') !== null ? DISK_GUEST.id : q.get('guest');
  const bigGuest = guest === LINUX_GUEST.id || guest === DISK_GUEST.id;
  return {
    mode: DISPLAY_MODES.includes(mode) ? mode : 'dirty-idle',
    workload: workloadFor(guest === LINUX_GUEST.id ? LINUX_GUEST.id : '', q.get('workload') ?? ''),
    hz: hz >= 10 && hz <= 60 ? Math.round(hz) : 30,
    vram: isValidVramMiB(vram) ? vram : VRAM_MIB_DEFAULT,
    // Linux (directly or from the disk) gets the RAM it needs unless the address says otherwise
    // (then a clear error if too little).
    mem: isValidRamMiB(mem) ? mem : bigGuest ? LINUX_GUEST.minRamMiB : RAM_MIB_DEFAULT,
    res: isVideoMode(res) ? res : '1024x768x32',
    kernel:
      q.get('image') === 'pattern'
        ? 'pattern'
        : guest === LINUX_GUEST.id || guest === DISK_GUEST.id
          ? guest
          : (q.get('kernel') ?? DEFAULT_KERNEL),
    hda: guest === DISK_GUEST.id ? q.get('hda') : null,
    cdrom: guest === DISK_GUEST.id ? q.get('cdrom') : null,
    vgabios: q.get('vgabios'),
    gen: q.get('gen') !== '0',
    scope: q.get('scope') === 'displayed' ? 'displayed' : 'vram',
    hc: q.get('hc') === 'comlink' ? 'comlink' : 'shared',
    ab: DISPLAY_MODES.includes(q.get('ab') as DisplayModeName) ? (q.get('ab') as DisplayModeName) : null,
    unpack: q.get('unpack') === 'guest' ? 'guest' : 'host',
    overlay: (OVERLAYS as readonly (string | null)[]).includes(q.get('overlay'))
      ? (q.get('overlay') as Overlay)
      : 'none',
    tick:
      Number.isInteger(Number(q.get('tick'))) && Number(q.get('tick')) >= 1 && Number(q.get('tick')) <= 60
        ? Number(q.get('tick'))
        : 1,
  };
}

/** The workload a guest runs: the asked one if that guest has it, else its default (hvmos: clock, Linux: blink). */
export function workloadFor(kernel: string, asked: string): string {
  if (kernel === LINUX_GUEST.id) return isLinuxScenario(asked) ? asked : DEFAULT_LINUX_SCENARIO;
  return isWorkload(asked) ? asked : 'clock';
}

/** The workload control's choices: the toy guest's (numbered as its keys 1–9) or Linux's scenarios. */
export function workloadChoices(linux: boolean): { value: string; label: string; title: string }[] {
  if (linux) return LINUX_SCENARIOS.map((s) => ({ value: s, label: s, title: LINUX_SCENARIO_TITLE[s] }));
  return WORKLOADS.map((w, i) => ({ value: w, label: `${i + 1} ${w}`, title: '' }));
}

export function writeViewState(v: ViewState): string {
  const q = new URLSearchParams({
    mode: v.mode,
    workload: v.workload,
    hz: String(v.hz),
    vram: String(v.vram),
    mem: String(v.mem),
    res: v.res,
  });
  if (v.kernel === LINUX_GUEST.id || v.kernel === DISK_GUEST.id) q.set('guest', v.kernel);
  else if (v.kernel !== DEFAULT_KERNEL) q.set('kernel', v.kernel);
  if (v.kernel === DISK_GUEST.id && v.hda !== null) q.set('hda', v.hda);
  if (v.kernel === DISK_GUEST.id && v.cdrom !== null) q.set('cdrom', v.cdrom);
  if (v.vgabios !== null) q.set('vgabios', v.vgabios);
  if (!v.gen) q.set('gen', '0');
  if (v.tick !== 1) q.set('tick', String(v.tick));
  if (v.scope !== 'vram') q.set('scope', v.scope);
  if (v.hc === 'comlink') q.set('hc', 'comlink');
  if (v.ab) q.set('ab', v.ab);
  if (v.overlay !== 'none') q.set('overlay', v.overlay);
  if (v.unpack === 'guest') q.set('unpack', 'guest');
  return `?${q}`;
}

/**
 * The address's values that the page could not use, each with what it uses instead
 * ("hz=7 → 30"), so that a replaced value is said, not silently dropped.
 */
export function replacedValues(search: string, v: ViewState): string[] {
  const q = new URLSearchParams(search);
  const out: string[] = [];
  const check = (key: string, used: string | number | boolean) => {
    const given = q.get(key);
    if (given !== null && given !== String(used)) out.push(`${key}=${given} → ${String(used)}`);
  };
  check('mode', v.mode);
  check('workload', v.workload);
  check('hz', v.hz);
  check('vram', v.vram);
  check('mem', v.mem);
  check('res', v.res);
  check('tick', v.tick);
  if (q.has('scope') && q.get('scope') !== v.scope) check('scope', v.scope);
  if (q.has('ab') && !v.ab) out.push(`ab=${q.get('ab')} → one display`);
  if (q.has('overlay')) check('overlay', v.overlay);
  if (q.has('unpack')) check('unpack', v.unpack);
  if (q.has('hc') && q.get('hc') !== 'comlink') out.push(`hc=${q.get('hc')} → the shared-memory channel`);
  // A guest the page does not have boots the toy guest (hvmos, also the name of the default).
  const guest = q.get('guest');
  if (guest !== null && ![LINUX_GUEST.id, DISK_GUEST.id, 'hvmos'].includes(guest) && v.kernel !== DISK_GUEST.id)
    out.push(`guest=${guest} → hvmos`);
  return out;
}
