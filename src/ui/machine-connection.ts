import * as Comlink from 'comlink';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MachineApi, MachineConfig, MachineHandles } from '../shared/api';
import { statsViews, type StatsViews } from '../shared/layout';

export type ConnectionStatus =
  | { kind: 'idle' }
  | { kind: 'starting' }
  | { kind: 'running'; handles: MachineHandles; stats: StatsViews }
  | { kind: 'error'; message: string };

/**
 * The worker connection as a reactive controller: the worker starts when the host connects and
 * is terminated when it disconnects. Everything the main thread knows of the machine comes
 * through `api` (comlink) or the shared memory in `status.handles`.
 */
export class MachineConnection implements ReactiveController {
  status: ConnectionStatus = { kind: 'idle' };
  api: Comlink.Remote<MachineApi> | null = null;
  private worker: Worker | null = null;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly boot: () => { config: MachineConfig; image: ArrayBuffer },
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    void this.connect();
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

  async connect(): Promise<void> {
    this.set({ kind: 'starting' });
    try {
      this.worker = new Worker(new URL('../machine/worker.ts', import.meta.url), { type: 'module' });
      this.worker.addEventListener('error', (e) => this.set({ kind: 'error', message: `worker failed: ${e.message}` }));
      this.api = Comlink.wrap<MachineApi>(this.worker);
      const { config, image } = this.boot();
      const made = await this.api.create(config, Comlink.transfer(image, [image]));
      if (!made.ok) return this.set({ kind: 'error', message: `${made.code}: ${made.message}` });
      const started = await this.api.start();
      if (!started.ok) return this.set({ kind: 'error', message: `${started.code}: ${started.message}` });
      this.set({ kind: 'running', handles: made.value, stats: statsViews(made.value.stats) });
    } catch (e) {
      this.set({ kind: 'error', message: String(e) });
    }
  }
}
