/**
 * The ioemu's hypercall client: how the display's refresher reaches the hypervisor. It owns the
 * ioemu's side of the shared-memory channel (the protocol and the worker's side are in
 * src/shared/hypercall.ts) and hands each display the operations of its own dirty-VRAM client
 * (`DirtyVramOps`): the page says which machine runs, it does not make hypercalls itself.
 *
 * The hypervisor judges the arguments (Xen's EINVAL rules); this side only refuses what it could
 * not write into the channel's words.
 */
import { ERRNO, ErrorCode, err, ok, VramClient, type Result } from '../shared/api';
import { I32, type StatsViews } from '../shared/layout';
import type { DirtyVramOps } from './refresh';

/** The ioemu's side of the shared-memory channel (main thread). */
export class HypercallChannel {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly stats: StatsViews) {}

  trackDirtyVram(firstPfn: number, nr: number, client: VramClient = VramClient.DISPLAY): Promise<Result<Uint8Array>> {
    const call = this.tail.then(() => this.call(firstPfn, nr, client));
    this.tail = call;
    return call;
  }

  private async call(firstPfn: number, nr: number, client: VramClient): Promise<Result<Uint8Array>> {
    const i32 = this.stats.i32;
    // The request words are 32-bit and the answer must fit the bitmap area: the rest is the hypervisor's to judge.
    if (!Number.isInteger(firstPfn) || !Number.isInteger(nr) || nr < 0 || nr > this.stats.bitmap.length * 8)
      return err(ErrorCode.EINVAL, `trackDirtyVram: bad range (${firstPfn}, ${nr})`);
    const seq = (Atomics.load(i32, I32.HC_REQ_SEQ) + 1) | 0;
    Atomics.store(i32, I32.HC_REQ_FIRST_PFN, firstPfn | 0);
    Atomics.store(i32, I32.HC_REQ_NR, nr);
    Atomics.store(i32, I32.HC_REQ_CLIENT, client);
    Atomics.store(i32, I32.HC_REQ_SEQ, seq);
    Atomics.add(i32, I32.HC_DOORBELL, 1);
    Atomics.notify(i32, I32.HC_DOORBELL);
    for (;;) {
      const done = Atomics.load(i32, I32.HC_RESP_SEQ);
      if (done === seq) break;
      const w = Atomics.waitAsync(i32, I32.HC_RESP_SEQ, done);
      if (w.async) await w.value;
    }
    const errno = Atomics.load(i32, I32.HC_RESP_ERRNO);
    if (errno !== 0) {
      const code = (Object.keys(ERRNO) as ErrorCode[]).find((c) => ERRNO[c] === errno) ?? ErrorCode.EINTERNAL;
      return err(code, `trackDirtyVram(${firstPfn}, ${nr}) refused by the hypervisor (${code})`);
    }
    // Copied before this call's promise settles, so the next queued request cannot overwrite it.
    return ok(this.stats.bitmap.slice(0, (nr + 7) >> 3));
  }
}

/**
 * The machine as the ioemu reaches it: the device-model operations of its comlink face
 * (MachineApi's, made asynchronous by the message), and its stats block while it runs (else null).
 */
export interface MachineLink {
  api: {
    trackDirtyVram(firstPfn: number, nr: number, client?: VramClient): Promise<Result<Uint8Array>>;
    setIdleDrop(on: boolean, client?: VramClient): Promise<Result<void>>;
    setTrapWrites(on: boolean, client?: VramClient): Promise<Result<void>>;
  };
  stats: StatsViews | null;
}

/**
 * The hypervisor's operations for the page's displays, one dirty-VRAM client each, through
 * whichever machine runs now (`link`, asked at each call). trackDirtyVram goes through the
 * shared-memory channel, or through comlink when `viaComlink` (`?hc=comlink`, for comparison).
 */
export class HypervisorClient {
  /** One channel for all clients of a machine: it carries one request at a time and names the client. */
  private channel: { stats: StatsViews; channel: HypercallChannel } | null = null;
  private readonly opsOf = new Map<VramClient, DirtyVramOps>();

  constructor(
    private readonly link: () => MachineLink | null,
    private readonly viaComlink = false,
  ) {}

  /** The operations of one client (the same object each time it is asked). */
  ops(client: VramClient): DirtyVramOps {
    let o = this.opsOf.get(client);
    if (!o) this.opsOf.set(client, (o = this.makeOps(client)));
    return o;
  }

  private makeOps(client: VramClient): DirtyVramOps {
    const noMachine = { ok: false, code: ErrorCode.ESTATE, message: 'no machine' } as const;
    return {
      client,
      trackDirtyVram: async (firstPfn, nr) => {
        const m = this.link();
        if (!m?.stats) return noMachine;
        if (this.viaComlink) return m.api.trackDirtyVram(firstPfn, nr, client);
        if (this.channel?.stats !== m.stats) this.channel = { stats: m.stats, channel: new HypercallChannel(m.stats) };
        return this.channel.channel.trackDirtyVram(firstPfn, nr, client);
      },
      setIdleDrop: async (on) => this.link()?.api.setIdleDrop(on, client) ?? noMachine,
      setTrapWrites: async (on) => this.link()?.api.setTrapWrites(on, client) ?? noMachine,
    };
  }
}
