/**
 * What the page boots, and how: the URL's kernel (the toy guest by default), Debian's Linux,
 * SeaBIOS with a disk (the committed one, the URL's or a file), the built-in test pattern, or a
 * kernel file of one's own; the machine config the view asks for; and what runs now (its name,
 * whether it is the toy guest whose workload and clock controls the page offers or the Linux
 * guest whose display scenarios it offers, the disk's name). Booting itself is the connection's
 * (machine-connection.ts).
 */
import type { MachineConfig, Result } from '../shared/api';
import { DISK_GUEST, fetchGuestFile, LINUX_GUEST } from './guests';
import {
  cdImageProblem,
  diskImageProblem,
  diskMachineConfig,
  diskNameOf,
  fetchDiskHead,
  fetchSeabios,
  mbrProblem,
  type DiskGuestMedia,
} from './disk-guest';
import type { ViewState } from './view-state';

/** The toy guest's file name: its workloads and clock period apply only to it. */
export const TOY_GUEST = 'hvmos.elf';

const isElf = (b: ArrayBuffer) => {
  const u = new Uint8Array(b, 0, Math.min(4, b.byteLength));
  return u.length === 4 && u[0] === 0x7f && u[1] === 0x45 && u[2] === 0x4c && u[3] === 0x46;
};

/** A Linux bzImage: "HdrS" at 0x202 (the setup header's magic, as QEMU's -kernel tells it). */
const isBzImage = (b: ArrayBuffer) => b.byteLength >= 0x206 && new DataView(b).getUint32(0x202, true) === 0x53726448;

/** How to boot a file: a Multiboot ELF or a Linux bzImage, or raw firmware (named .bin or .rom); else why it is not a kernel. */
export function imageKind(name: string, image: ArrayBuffer): { kind: 'multiboot' | 'firmware' } | { why: string } {
  if (isElf(image) || isBzImage(image)) return { kind: 'multiboot' };
  if (/\.(bin|rom)$/i.test(name)) return { kind: 'firmware' };
  return {
    why: `${name} is not a kernel: a Multiboot ELF file starts with 7F 45 4C 46 ("\\x7fELF"), a Linux bzImage has "HdrS" at 0x202; raw firmware images must be named .bin or .rom, raw disk images .img, .raw, .hdd or .dsk.`,
  };
}

export type BootImage = { config: MachineConfig; image: ArrayBuffer };

export class GuestLoader {
  /** The running guest's name ('' before the first boot). */
  kernelName = '';
  /** The running kernel is the toy guest, whose workload and clock controls the page offers. */
  toyGuest = true;
  /** The running disk's name (the file name a save offers). */
  diskName: string | null = null;
  /** The running CD's name, or null. */
  cdName: string | null = null;

  /** Debian's Linux from the page's server runs (its display scenarios need its initramfs). */
  get linuxGuest(): boolean {
    return this.kernelName === LINUX_GUEST.name;
  }

  /**
   * The running guest is SeaBIOS with the disk `name` and the CD `cd` (their names on the status
   * line; the disk's on the saved file).
   */
  private setDiskGuest(name: string | null, cd: string | null = null): void {
    const media = [name, cd].filter((n) => n !== null).join(', ') || 'no disc';
    this.kernelName = name === null ? `${DISK_GUEST.cdName} (${media})` : `${DISK_GUEST.name} (${media})`;
    this.toyGuest = false;
    this.diskName = name;
    this.cdName = cd;
  }

  constructor(private readonly onError: (message: string) => void) {}

  /** The machine config the view asks for; `base` keeps what the view does not say (an initrd). */
  config(view: ViewState, image: MachineConfig['image'], base?: MachineConfig): MachineConfig {
    return {
      ...base,
      ramMiB: view.mem,
      vramMiB: view.vram,
      // The toy guest's settings, or Linux's own command line (kept across Reset and RAM changes).
      cmdline:
        view.kernel === LINUX_GUEST.id
          ? LINUX_GUEST.cmdline
          : `workload=${view.workload} mode=${view.res}${view.tick !== 1 ? ` tick=${view.tick}` : ''}`,
      clock: 'wall',
      // The machine resets itself after a triple fault, as a PC does; the page shows the report.
      tripleFault: 'reset',
      kernelUnpack: view.unpack,
      image,
    };
  }

  /** The image to boot at load (and after a worker crash): the URL's kernel, or the toy guest. */
  async firstImage(view: ViewState): Promise<BootImage | null> {
    if (view.kernel === 'pattern') {
      this.kernelName = 'test pattern';
      return { config: this.config(view, 'pattern'), image: new ArrayBuffer(0) };
    }
    if (view.kernel === LINUX_GUEST.id) {
      try {
        const [image, initrd] = await Promise.all([
          fetchGuestFile(LINUX_GUEST.kernel),
          fetchGuestFile(LINUX_GUEST.initrd),
        ]);
        this.kernelName = LINUX_GUEST.name;
        this.toyGuest = false;
        return { config: { ...this.config(view, 'multiboot'), initrd }, image };
      } catch (e) {
        this.onError(`Could not boot ${LINUX_GUEST.name}: ${e instanceof Error ? e.message : String(e)}.`);
        return null;
      }
    }
    if (view.kernel === DISK_GUEST.id) {
      // A CD alone boots without the committed disk; with ?hda= too, both are in the machine.
      const url = view.hda ?? (view.cdrom === null ? DISK_GUEST.disk : null);
      try {
        // A disk by URL is read by the machine, by ranges (block-medium.ts): always, whatever its
        // size, as the page cannot know it without asking; the machine reads a small one (32 MiB
        // at most) whole at once. The page reads only its first sector, to check it boots.
        const [seabios, head, cdrom] = await Promise.all([
          fetchSeabios(),
          url !== null ? fetchDiskHead(url) : undefined,
          view.cdrom !== null ? fetchGuestFile(view.cdrom) : undefined,
        ]);
        const name = url !== null ? diskNameOf(url) : null;
        const cdName = view.cdrom !== null ? diskNameOf(view.cdrom) : null;
        const why =
          (head && mbrProblem(name!, head.first)) || (cdrom && cdImageProblem(cdName!, cdrom, head !== undefined));
        if (why) throw new Error(why);
        this.setDiskGuest(name, cdName);
        return {
          config: diskMachineConfig(this.config(view, 'firmware'), seabios.vgaBios, { hdaUrl: head?.url, cdrom }),
          image: seabios.bios,
        };
      } catch (e) {
        this.onError(
          `Could not boot ${DISK_GUEST.name} from ${[url, view.cdrom].filter((u) => u !== null).join(' and ')}: ${e instanceof Error ? e.message : String(e)}. Load a disk or CD image of your own, or open the page with ?guest=disk for the committed disk.`,
        );
        return null;
      }
    }
    try {
      // The kernel's own URL is in the message already: its failure is said without it again.
      const image = await fetchGuestFile(view.kernel, false);
      const name = view.kernel.split('/').pop() ?? view.kernel;
      const k = imageKind(name, image);
      if ('why' in k) throw new Error(k.why);
      this.kernelName = name;
      this.toyGuest = name === TOY_GUEST;
      const config = this.config(view, k.kind);
      // SeaBIOS shows nothing on the screen without a VGA BIOS: the URL's, if it names one.
      if (k.kind === 'firmware' && view.vgabios !== null) config.vgaBios = await fetchGuestFile(view.vgabios);
      return { config, image };
    } catch (e) {
      this.onError(
        `Could not boot the kernel ${view.kernel}: ${e instanceof Error ? e.message : String(e)}. Load a kernel of your own, or open the page without ?kernel= for the toy guest.`,
      );
      return null;
    }
  }

  /**
   * Boot a file of the user's with `boot`: named before it boots (the console marks the new
   * machine's output with its name), the old name back if it does not.
   */
  async bootFile(
    file: File,
    view: ViewState,
    boot: (config: MachineConfig, image: ArrayBuffer) => Promise<Result<void>>,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    const image = await file.arrayBuffer();
    const k = imageKind(file.name, image);
    if ('why' in k) return { ok: false, message: k.why };
    const before = { kernelName: this.kernelName, toyGuest: this.toyGuest };
    this.kernelName = file.name;
    this.toyGuest = file.name === TOY_GUEST;
    const r = await boot(this.config(view, k.kind), image);
    if (r.ok) return { ok: true };
    Object.assign(this, before);
    return { ok: false, message: `Could not boot ${file.name}: ${r.message}.` };
  }

  /**
   * SeaBIOS boots a disk image of the user's with `boot`; a bad one leaves the running guest.
   * `booting` runs once the image passed its checks and gives the view to make the config of
   * (the page raises the RAM to what the disk's Linux wants).
   */
  async bootDiskFile(
    file: File,
    booting: () => ViewState,
    boot: (config: MachineConfig, image: ArrayBuffer) => Promise<Result<void>>,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    // The machine reads the file by slices as the guest reads it (config.hdaFile): the page checks
    // its size and its first sector only.
    const why = diskImageProblem(file.name, file.size, await file.slice(0, 512).arrayBuffer());
    if (why) return { ok: false, message: why };
    return this.bootSeabios(file.name, () => this.setDiskGuest(file.name), { hdaFile: file }, booting, boot);
  }

  /**
   * SeaBIOS boots a CD image of the user's (picked or dropped) with `boot`, from its ATAPI drive;
   * the running disk guest's disk stays in the machine, as the guest left it (`currentDisk`: its
   * URL while a disk read by ranges is unwritten), and
   * boots after the CD. A bad image leaves the running guest.
   */
  async bootCdFile(
    file: File,
    booting: () => ViewState,
    boot: (config: MachineConfig, image: ArrayBuffer) => Promise<Result<void>>,
    currentDisk: () => Promise<{ hda: ArrayBuffer } | { hdaUrl: string } | { hdaFile: Blob } | null>,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    const cdrom = await file.arrayBuffer();
    const disk = this.diskName !== null ? await currentDisk() : null;
    const why = cdImageProblem(file.name, cdrom, disk !== null);
    if (why) return { ok: false, message: why };
    const diskName = disk ? this.diskName : null;
    const media: DiskGuestMedia = { ...disk, cdrom };
    return this.bootSeabios(file.name, () => this.setDiskGuest(diskName, file.name), media, booting, boot);
  }

  /**
   * Put a CD image of the user's in the running guest's drive with `change` (no reboot: the guest
   * sees a new disc, as a PC's drive shows it), or take the disc out (null). The image must be
   * whole sectors; it need not be bootable. A bad one leaves the disc that was in.
   */
  async changeCd(
    file: File | null,
    change: (image: ArrayBuffer | null) => Promise<Result<void>>,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    const image = file && (await file.arrayBuffer());
    const why = file && image && cdImageProblem(file.name, image, true);
    if (why) return { ok: false, message: why };
    const r = await change(image);
    if (!r.ok) return { ok: false, message: `Could not change the CD: ${r.message}.` };
    this.setDiskGuest(this.diskName, file?.name ?? null);
    return { ok: true };
  }

  /**
   * SeaBIOS (fetched on first use) boots the given drives with `boot`, after `becomeGuest` names
   * them; when anything fails, the names the loader had come back and the running guest stays.
   */
  private async bootSeabios(
    name: string,
    becomeGuest: () => void,
    drives: DiskGuestMedia,
    booting: () => ViewState,
    boot: (config: MachineConfig, image: ArrayBuffer) => Promise<Result<void>>,
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    const before = {
      kernelName: this.kernelName,
      toyGuest: this.toyGuest,
      diskName: this.diskName,
      cdName: this.cdName,
    };
    try {
      const seabios = await fetchSeabios();
      becomeGuest();
      const config = diskMachineConfig(this.config(booting(), 'firmware'), seabios.vgaBios, drives);
      const r = await boot(config, seabios.bios);
      if (!r.ok) throw new Error(r.message);
      return { ok: true };
    } catch (e) {
      Object.assign(this, before);
      return { ok: false, message: `Could not boot ${name}: ${e instanceof Error ? e.message : String(e)}.` };
    }
  }
}
