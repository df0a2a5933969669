/**
 * The page's connection to the machine's worker (a reactive controller): start, boot, reboot,
 * restart after a crash; the comlink API and the shared memory of the machine that runs.
 */
import * as Comlink from 'comlink';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MachineApi, MachineConfig, MachineHandles, Result } from '../shared/api';
import { ringForMessage } from '../shared/hypercall';
import { statsViews, type StatsViews } from '../shared/layout';

export type ConnectionStatus =
  | { kind: 'idle' }
  | { kind: 'starting' }
  | { kind: 'running'; handles: MachineHandles; stats: StatsViews; config: MachineConfig }
  /** The worker itself died (a crash of ours): the page offers a restart. */
  | { kind: 'crashed'; message: string };

/**
 * The worker connection as a reactive controller: the worker starts when the host connects and
 * is terminated when it disconnects. Everything the main thread knows of the machine comes
 * through `api` (comlink) or the shared memory in `status.handles`.
 *
 * `boot` replaces the running machine only when the new one was created: a bad kernel leaves the
 * old guest running and comes back as an error Result.
 */
export class MachineConnection implements ReactiveController {
  status: ConnectionStatus = { kind: 'idle' };
  api: Comlink.Remote<MachineApi> | null = null;
  /** The machine's worker (exposed for the page's debug handle; the page talks to it only through `api`). */
  worker: Worker | null = null;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly firstBoot: () => Promise<{ config: MachineConfig; image: ArrayBuffer } | null>,
    private readonly onError: (message: string) => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    void this.restart();
  }

  hostDisconnected(): void {
    this.worker?.terminate();
    this.worker = null;
    this.api = null;
  }

  private set(status: ConnectionStatus): void {
    this.status = status;
    this.host.requestUpdate();
  }

  /** A fresh worker, booted with what firstBoot says (used at load and after a crash). */
  async restart(): Promise<void> {
    this.worker?.terminate();
    this.set({ kind: 'starting' });
    try {
      const worker = new Worker(new URL('../machine/worker.ts', import.meta.url), { type: 'module' });
      this.worker = worker;
      worker.addEventListener('error', (e) => {
        if (this.worker === worker) this.set({ kind: 'crashed', message: `the machine's worker failed: ${e.message}` });
      });
      this.api = Comlink.wrap<MachineApi>(this.ringingEndpoint(worker));
      const first = await this.firstBoot();
      if (!first) return this.set({ kind: 'idle' });
      const r = await this.boot(first.config, first.image);
      if (!r.ok) this.set({ kind: 'idle' });
    } catch (e) {
      this.set({ kind: 'crashed', message: String(e) });
    }
  }

  /**
   * The worker as comlink's endpoint, ringing the running machine's doorbell after each message:
   * an idle machine blocks its worker in Atomics.wait and would read the message only at its next
   * timer deadline (see src/machine/runloop.ts).
   */
  private ringingEndpoint(worker: Worker): Comlink.Endpoint {
    return {
      postMessage: (message: unknown, transfer?: Transferable[]) => {
        worker.postMessage(message, transfer ?? []);
        if (this.worker === worker && this.status.kind === 'running') ringForMessage(this.status.stats);
      },
      addEventListener: worker.addEventListener.bind(worker),
      removeEventListener: worker.removeEventListener.bind(worker),
    };
  }

  /** The image and config of the machine booted last (the image is handed to the worker, so a copy). */
  private last: { config: MachineConfig; image: ArrayBuffer } | null = null;

  /**
   * Boot the kernel that runs now again, on a new machine with the config `change` makes of its
   * own (Reset; a new RAM, VRAM or video mode): a fresh machine, so the RTC reads the time now.
   * A kernel loaded from a file stays that kernel; a disk keeps what the guest wrote to it (as a
   * PC's reset does), read back from the old machine first. With none booted yet, the first boot
   * again.
   */
  async rebootSame(change: (config: MachineConfig) => MachineConfig): Promise<Result<void>> {
    if (!this.last || !this.api) {
      await this.restart();
      return { ok: true, value: undefined };
    }
    const disk = await this.carriedDisk();
    const config = change(this.last.config);
    return this.boot(disk ? { ...config, ...disk } : config, this.last.image.slice(0));
  }

  /**
   * The running machine's disk for the next machine: a disk read by ranges that the guest has not
   * written stays its URL (nothing more is read); otherwise the disk as the guest left it (a lazy
   * one read whole now: its writes live only in the old machine). Null without a disk.
   */
  async carriedDisk(): Promise<{ hdaUrl: string } | { hdaFile: Blob } | { hda: ArrayBuffer } | null> {
    const s = this.status;
    if (s.kind !== 'running' || !this.api) return null;
    if (s.config.hda === undefined && (s.config.hdaUrl !== undefined || s.config.hdaFile !== undefined)) {
      const st = await this.api.hdaState();
      if (st.ok && st.value && !st.value.written)
        return s.config.hdaUrl !== undefined ? { hdaUrl: s.config.hdaUrl } : { hdaFile: s.config.hdaFile! };
    }
    const hda = await this.currentDisk();
    return hda ? { hda } : null;
  }

  /** The running machine's disk as the guest left it, or null (no disk, or no machine). */
  async currentDisk(): Promise<ArrayBuffer | null> {
    const s = this.status;
    if (
      s.kind !== 'running' ||
      (s.config.hda === undefined && s.config.hdaUrl === undefined && s.config.hdaFile === undefined) ||
      !this.api
    )
      return null;
    const r = await this.api.hdaImage();
    return r.ok && r.value ? r.value.image : null;
  }

  /**
   * Change the disc in the running machine's CD-ROM drive (null: take it out), without a reboot;
   * the machine's recorded config follows, so that Reset and a RAM change keep the disc now in.
   */
  async changeCd(image: ArrayBuffer | null): Promise<Result<void>> {
    const s = this.status;
    if (s.kind !== 'running' || !this.api) return { ok: false, code: 'ESTATE', message: 'no machine runs' };
    const kept = image && image.slice(0);
    const r = await this.api.changeCdrom(image && Comlink.transfer(image, [image]));
    if (!r.ok) return r;
    const config = { ...s.config, cdrom: kept };
    if (this.last) this.last = { ...this.last, config };
    this.set({ ...s, config });
    return r;
  }

  /** Create and start a machine; on failure the running one (if any) keeps running. */
  async boot(config: MachineConfig, image: ArrayBuffer): Promise<Result<void>> {
    if (!this.api) return { ok: false, code: 'ESTATE', message: 'no worker' };
    const copy = image.slice(0);
    const made = await this.api.create(config, Comlink.transfer(image, [image]));
    if (!made.ok) {
      this.onError(`${made.code}: ${made.message}`);
      return made;
    }
    const started = await this.api.start();
    if (!started.ok) {
      this.onError(`${started.code}: ${started.message}`);
      return started;
    }
    this.last = { config, image: copy };
    this.set({ kind: 'running', handles: made.value, stats: statsViews(made.value.stats), config });
    return { ok: true, value: undefined };
  }
}
