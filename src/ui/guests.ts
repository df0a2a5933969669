/**
 * The guests the page offers besides a file of one's own: the toy guest (hvmos, this project's),
 * Debian's Linux (public/guest/linux/, built by `npm run guest:linux`), and the same Linux on a
 * disk that SeaBIOS boots (public/guest/disk/, built by `npm run guest:disk`).
 */
import { fetchInParts } from './fetch-parts';

/** Debian 12's i386 kernel with a BusyBox initramfs: a shell on the framebuffer (tty1) and on COM1. */
export const LINUX_GUEST = {
  /** The URL value (`?guest=linux`) and the view's kernel for it. */
  id: 'linux',
  name: 'Debian Linux 6.1',
  kernel: 'guest/linux/vmlinuz',
  initrd: 'guest/linux/initramfs.cpio.gz',
  /**
   * Kernel messages on COM1 and on the framebuffer console; the last console= is /dev/console
   * (the framebuffer's). nokaslr: the kernel stays where the loader put it, as in the CLI's tests.
   * cryptomgr.notests: Debian's kernel otherwise runs every crypto algorithm's self-test at
   * late init, 31.6 s of a 41-s boot (initcall_debug: crypto_algapi_init).
   * tsc=reliable: no clocksource watchdog on the TSC. Under host load the watchdog compares the
   * TSC with the HPET/PIT/jiffies over intervals the host stretched unevenly and can mark it
   * unstable; here the TSC is derived from the machine clock, as every timer is, so it is
   * reliable by construction.
   * High-resolution timers stay on (no highres=off): this kernel ticks 250 times a second even
   * when idle (CONFIG_HZ_PERIODIC), and with them each tick is an hrtimer on the PIT in one-shot
   * mode, which the machine fires late, once, when an idle guest's sleep ends (IDLE_SLACK_MS in
   * src/machine/runloop.ts); the kernel then counts the ticks that passed at once. With
   * highres=off the PIT is periodic and every tick runs (3,300 instructions each, against 4,200 for
   * an hrtimer tick): 825,000 instructions a second idle, against 135,000–190,000 now (README).
   */
  cmdline: 'nokaslr cryptomgr.notests tsc=reliable console=ttyS0 console=tty0',
  /** The kernel with its initramfs unpacked wants more than the toy guest's default RAM. */
  minRamMiB: 64,
} as const;

/**
 * "BIOS + disk": Debian's SeaBIOS and VGA BIOS (served at firmware/seabios/ by
 * vite.config.ts) boot a hard disk on IDE, as QEMU's `-hda` does: by default
 * public/guest/disk/linux.img, whose SYSLINUX starts the Linux guest with LINUX_GUEST's command line.
 */
export const DISK_GUEST = {
  /** The URL value (`?guest=disk`; `?hda=URL` names another disk image). */
  id: 'disk',
  name: 'SeaBIOS + disk',
  /** The guest's name when it boots a CD alone. */
  cdName: 'SeaBIOS + CD',
  bios: 'firmware/seabios/bios.bin',
  vgaBios: 'firmware/seabios/vgabios-stdvga.bin',
  disk: 'guest/disk/linux.img',
  /** The disk's Linux wants what the direct boot wants. */
  minRamMiB: LINUX_GUEST.minRamMiB,
  /** QEMU builds of SeaBIOS log to this port (the page drops the log; the CLI shows it). */
  debugconPort: 0x402,
} as const;

/**
 * A guest file from the page's own server, with an error that says why (and which, unless `named`
 * is false); a large one in parts fetched at once (fetch-parts.ts).
 */
export async function fetchGuestFile(url: string, named = true, get: typeof fetch = fetch): Promise<ArrayBuffer> {
  const which = named ? `${url}: ` : '';
  return fetchInParts(
    url,
    (res) => {
      if (!res.ok) throw new Error(`${which}HTTP ${res.status} ${res.statusText}`);
      // A server that answers every path with the app's page (vite's fallback) has no such file.
      if (res.headers.get('content-type')?.startsWith('text/html'))
        throw new Error(`${which}not found (the server sent a web page)`);
    },
    get,
  );
}
