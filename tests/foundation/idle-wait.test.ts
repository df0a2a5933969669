/**
 * A machine whose thread may block (a browser worker) idles in Atomics.wait on the doorbell, in
 * one task: the doorbell must still get hypercalls served and messages read. Another thread (a
 * Node worker, standing for the page's main thread) rings it while the guest idles.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine';
import { IDLE_SLACK_MS, immediateYielder, MAX_BLOCK_MS, type Yielder } from '../../src/machine/runloop';
import { F64, I32, PAGE_SHIFT, STATS_F64_OFFSET, VRAM_BAR_DEFAULT } from '../../src/shared/layout';
import { HVMOS_PATH } from '../guest/hvmos-run';

// The other thread: wait until the guest idles (the test says so in \`ready\`), post five hypercalls and wait for each answer (as
// HypercallChannel does), then ring for five messages, 40 ms apart.
const OTHER_THREAD = `
const { parentPort, workerData: w } = require('node:worker_threads');
const i32 = new Int32Array(w.sab, 0, w.i32Count);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const f64 = new Float64Array(w.sab, w.f64Offset, w.f64Count);
const ready = new Int32Array(w.ready);
for (let i = 0; i < 500 && Atomics.load(ready, 0) === 0; i++) sleep(20);
let served = true;
// Five hypercalls, 20 ms apart: the slices the machine ran in the 20 ms after each was answered.
let slicesAfter = 0;
// Each call changes the tracked range, which moves DIRTY_GEN: the display's bell rings with the answer.
let bellRang = true;
for (let h = 0; h < 5 && served; h++) {
  const bell0 = Atomics.load(i32, w.DISPLAY_BELL);
  const seq = Atomics.load(i32, w.HC_REQ_SEQ) + 1;
  Atomics.store(i32, w.HC_REQ_FIRST_PFN, w.firstPfn);
  Atomics.store(i32, w.HC_REQ_NR, 16 - h);
  const slices0 = f64[w.SLICES];
  Atomics.store(i32, w.HC_REQ_SEQ, seq);
  Atomics.add(i32, w.HC_DOORBELL, 1);
  Atomics.notify(i32, w.HC_DOORBELL);
  served = false;
  for (let i = 0; i < 100 && !served; i++) {
    const done = Atomics.load(i32, w.HC_RESP_SEQ);
    if (done === seq) served = true;
    else Atomics.wait(i32, w.HC_RESP_SEQ, done, 50);
  }
  sleep(5);
  if (Atomics.load(i32, w.DISPLAY_BELL) === bell0) bellRang = false;
  sleep(20);
  slicesAfter += f64[w.SLICES] - slices0;
}
for (let k = 0; k < 5; k++) {
  sleep(40);
  Atomics.add(i32, w.RPC_SEQ, 1);
  Atomics.add(i32, w.HC_DOORBELL, 1);
  Atomics.notify(i32, w.HC_DOORBELL);
}
sleep(40);
parentPort.postMessage({ served, errno: Atomics.load(i32, w.HC_RESP_ERRNO), slicesAfter, bellRang });
`;

describe('an idle machine blocking in Atomics.wait', () => {
  it('serves hypercalls rung from another thread without leaving its task or running a slice, and leaves it for each message', async () => {
    const img = readFileSync(HVMOS_PATH);
    const counts = { posts: 0 };
    const inner = immediateYielder();
    const yielder: Yielder = {
      post: (cb) => (counts.posts++, inner.post(cb)),
      sleep: (ms, cb) => inner.sleep(ms, cb),
      close: () => inner.close(),
      mayBlock: true,
    };
    const made = Machine.create(
      { ramMiB: 16, vramMiB: 8, cmdline: 'workload=static', clock: 'wall', image: 'multiboot' },
      img.buffer.slice(img.byteOffset, img.byteOffset + img.byteLength) as ArrayBuffer,
      yielder,
    );
    if (!made.ok) throw new Error(made.message);
    const m = made.value;
    const sab = m.handles.stats;
    const ready = new Int32Array(new SharedArrayBuffer(4));
    const other = new Worker(OTHER_THREAD, {
      eval: true,
      workerData: {
        sab,
        ready: ready.buffer,
        i32Count: I32.COUNT,
        HC_DOORBELL: I32.HC_DOORBELL,
        HC_REQ_SEQ: I32.HC_REQ_SEQ,
        HC_REQ_FIRST_PFN: I32.HC_REQ_FIRST_PFN,
        HC_REQ_NR: I32.HC_REQ_NR,
        HC_RESP_SEQ: I32.HC_RESP_SEQ,
        HC_RESP_ERRNO: I32.HC_RESP_ERRNO,
        RPC_SEQ: I32.RPC_SEQ,
        firstPfn: VRAM_BAR_DEFAULT >>> PAGE_SHIFT,
        f64Offset: STATS_F64_OFFSET,
        f64Count: F64.COUNT,
        SLICES: F64.SLICES,
        DISPLAY_BELL: I32.DISPLAY_BELL,
      },
    });
    const report = new Promise<{ served: boolean; errno: number; slicesAfter: number; bellRang: boolean }>(
      (resolve, reject) => {
        other.once('message', resolve);
        other.once('error', reject);
      },
    );
    // No listenForHypercalls: only the idle wait can serve the request.
    const started = m.start();
    expect(started.ok).toBe(true);
    let postsAtIdle = -1;
    let idleSince = 0;
    const r = await new Promise<{ served: boolean; errno: number; slicesAfter: number; bellRang: boolean }>(
      (resolve, reject) => {
        const poll = setInterval(() => {
          // Idle, and on the long slack (idle-slack.ts): the guest's own wake-ups 250 ms apart.
          if (postsAtIdle < 0 && m.stats.f64[F64.IDLE_MS] >= 200 && m.idleSlackMs() > IDLE_SLACK_MS) {
            postsAtIdle = counts.posts;
            idleSince = performance.now();
            Atomics.store(ready, 0, 1);
          }
        }, 1);
        report.then(
          (v) => (clearInterval(poll), resolve(v)),
          (e) => (clearInterval(poll), reject(e)),
        );
      },
    );
    const idleMs = performance.now() - idleSince;
    m.destroy();
    await other.terminate();
    expect({ served: r.served, errno: r.errno }).toEqual({ served: true, errno: 0 });
    // Served inside the wait, which goes on: no slice for a hypercall (one each when the wait
    // returned to run a slice). A wake-up of the guest's own may fall in the 100 ms watched.
    expect(r.slicesAfter).toBeLessThanOrEqual(1);
    // …and what the call moved rang the display's bell with it, not at the guest's next wake-up.
    expect(r.bellRang).toBe(true);
    // Each of the five messages brought the loop back to the event loop (a post) at once; besides
    // them only the return every MAX_BLOCK_MS (~300 ms of this exchange on a quiet host, longer on
    // a loaded one: counted from the time it took) and a guest tick's slice or two.
    expect(postsAtIdle).toBeGreaterThanOrEqual(0);
    expect(counts.posts - postsAtIdle).toBeGreaterThanOrEqual(5);
    expect(counts.posts - postsAtIdle).toBeLessThanOrEqual(5 + 2 + Math.floor(idleMs / MAX_BLOCK_MS));
  });
});

describe("the event loop's hypercall listener", () => {
  it("rings the display's bell with the answer of a call that moved DIRTY_GEN, while no slice runs", async () => {
    const img = readFileSync(HVMOS_PATH);
    const made = Machine.create(
      { ramMiB: 16, vramMiB: 8, cmdline: 'workload=static', clock: 'wall', image: 'multiboot' },
      img.buffer.slice(img.byteOffset, img.byteOffset + img.byteLength) as ArrayBuffer,
      immediateYielder(),
    );
    if (!made.ok) throw new Error(made.message);
    const m = made.value;
    const i32 = m.stats.i32;
    // Never started: only the listener serves (as while paused, or between slices in the event loop).
    m.listenForHypercalls();
    try {
      for (let h = 0; h < 3; h++) {
        const bell0 = Atomics.load(i32, I32.DISPLAY_BELL);
        const slices0 = m.stats.f64[F64.SLICES];
        const seq = Atomics.load(i32, I32.HC_REQ_SEQ) + 1;
        Atomics.store(i32, I32.HC_REQ_FIRST_PFN, VRAM_BAR_DEFAULT >>> PAGE_SHIFT);
        Atomics.store(i32, I32.HC_REQ_NR, 16 - h); // a new range each time: DIRTY_GEN moves
        Atomics.store(i32, I32.HC_REQ_SEQ, seq);
        Atomics.add(i32, I32.HC_DOORBELL, 1);
        Atomics.notify(i32, I32.HC_DOORBELL);
        const w = Atomics.waitAsync(i32, I32.HC_RESP_SEQ, seq - 1, 1000);
        if (w.async) await w.value;
        expect(Atomics.load(i32, I32.HC_RESP_SEQ)).toBe(seq);
        expect(Atomics.load(i32, I32.HC_RESP_ERRNO)).toBe(0);
        expect(m.stats.f64[F64.SLICES]).toBe(slices0);
        expect(Atomics.load(i32, I32.DISPLAY_BELL), `call ${h}: the bell rang with the answer`).toBeGreaterThan(bell0);
      }
    } finally {
      m.destroy();
    }
  });
});
