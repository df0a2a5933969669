/**
 * The shared-memory hypercall channel: trackDirtyVram without a structured-clone message each way.
 *
 * Like Xen's device model, which reaches the hypervisor through a hypercall page and learns of
 * completion through an event channel, the ioemu writes its request into words of the
 * stats/control SAB, rings a doorbell (Atomics.notify), and waits for the response word
 * (Atomics.waitAsync); the worker serves the request between two slices (it is single-threaded,
 * so a hypercall never runs in the middle of a guest write — the no-lost-write argument of
 * src/machine/hv/README.md holds unchanged) and writes the bitmap into the channel's bitmap area.
 * One request is outstanding at a time; the main side (the ioemu's, src/ioemu/hypercall-client.ts)
 * queues, so the page keeps one channel for all its dirty-VRAM clients (each request names its
 * client). The comlink method `MachineApi.trackDirtyVram` has the same semantics and stays for
 * other clients and tests. This file holds the protocol's words and the worker's side.
 *
 * Why: a comlink round trip costs the main thread ~0.1–0.2 ms (proxy, message objects, clone,
 * listener), which at 30 Hz alone would exceed the whole budget of an idle display (0.1 % of a
 * core). This channel costs a few atomic operations and one promise per call.
 */
import { ERRNO, type Result } from './api';
import { I32, type StatsViews } from './layout';

/**
 * Tell a worker that may be blocked in an idle wait (see RunLoop) that a message is on its way:
 * called by the main thread right after each postMessage to the worker.
 */
export function ringForMessage(stats: StatsViews): void {
  Atomics.add(stats.i32, I32.RPC_SEQ, 1);
  Atomics.add(stats.i32, I32.HC_DOORBELL, 1);
  Atomics.notify(stats.i32, I32.HC_DOORBELL);
}

/** A request is posted and not yet served. */
export function hypercallPending(stats: StatsViews): boolean {
  return Atomics.load(stats.i32, I32.HC_REQ_SEQ) !== Atomics.load(stats.i32, I32.HC_RESP_SEQ);
}

/**
 * The worker's side: serve the posted request, if any. Returns true when one was served. Called
 * between slices and when the doorbell rings.
 */
export function serveHypercall(
  stats: StatsViews,
  trackDirtyVram: (firstPfn: number, nr: number, client: number) => Result<Uint8Array>,
): boolean {
  if (!hypercallPending(stats)) return false;
  const i32 = stats.i32;
  const seq = Atomics.load(i32, I32.HC_REQ_SEQ);
  const r = trackDirtyVram(
    Atomics.load(i32, I32.HC_REQ_FIRST_PFN) >>> 0,
    Atomics.load(i32, I32.HC_REQ_NR),
    Atomics.load(i32, I32.HC_REQ_CLIENT),
  );
  if (r.ok) stats.bitmap.set(r.value);
  Atomics.store(i32, I32.HC_RESP_ERRNO, r.ok ? 0 : ERRNO[r.code]);
  Atomics.store(i32, I32.HC_RESP_SEQ, seq);
  Atomics.notify(i32, I32.HC_RESP_SEQ);
  return true;
}

/**
 * Keep serving the channel whenever the doorbell rings, whatever the run loop is doing (running,
 * sleeping in HLT, paused). Returns a function that stops listening.
 */
export function listenForHypercalls(stats: StatsViews, serve: () => void): () => void {
  const i32 = stats.i32;
  let open = true;
  const arm = (): void => {
    while (open) {
      const bell = Atomics.load(i32, I32.HC_DOORBELL);
      serve();
      const w = Atomics.waitAsync(i32, I32.HC_DOORBELL, bell);
      if (w.async) {
        void w.value.then(arm);
        return;
      }
    }
  };
  arm();
  return () => {
    open = false;
    Atomics.add(i32, I32.HC_DOORBELL, 1);
    Atomics.notify(i32, I32.HC_DOORBELL);
  };
}
