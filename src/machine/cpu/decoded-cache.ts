/**
 * The decoded-instruction cache and the glue of the block compiler, in the Cpu class chain
 * (README.md, "Layout", and "Speed" for what the cache does): decoded entries per machine frame,
 * the code window, invalidation on stores into code and on outside writes, decodeAt (the decoder
 * is two layers below, decoder.ts; the handlers the run loop dispatches to, execReg, execStack,
 * execDecoded and execGeneric, the layer below, decoded-exec.ts), and compiling blocks (blocks.ts).
 */
import { PHYS_IO } from './mmu';
import { BlockPage, compileBlock, W1_BLOCK, W1_HIT, W1_OPERAND, type Block, type CompiledFn } from './blocks';
import { VM } from './flags';
import { CS } from './arch';
import { D_SLOW } from './decoded';
import { CpuDecodedExec } from './decoded-exec';
import type { CpuEnv } from './cpu';
import type { BlockHost } from './block-host';

/** Executions of an instruction before the block starting there is compiled (CpuEnv.blockThreshold). */
export const BLOCK_THRESHOLD = 32;
/** New block functions in one hotness period after which the threshold doubles (hotThreshold). */
const NEW_BLOCKS_PER_STEP = 16;
/** The most the threshold grows to within a hotness period. */
const MAX_HOT_THRESHOLD = 16384;
/**
 * The threshold's executions must come within this much machine time (ms) for a block to be
 * compiled: a rate of about 1,500 starts a second. Code that starts less often runs faster
 * interpreted than as a block: Linux's periodic tick (250 Hz, ~4,200 instructions each, mostly in
 * blocks of a few instructions) cost twice the host CPU compiled as interpreted (5 % of a core
 * against 10–13 %, icount, after the prompt): V8 keeps a small function that runs a few hundred
 * times a second in its slower tiers, and each block pays its entry and exit.
 */
export const HOT_WINDOW_MS = 20;
/** Trace ids handed out before their table starts over (CpuDecodedCache.traceId; ids × 64 stay int32). */
const MAX_TRACE_IDS = 1 << 16;

/**
 * At most this many frames hold decoded entries (64 KiB each, and 32 KiB of blocks and hit windows
 * while they compile); past it one frame's arrays go to the next (newDecodedPage). Linux's boot runs
 * code from more frames than 256, the size before.
 */
const MAX_DECODED_PAGES = 512;

/**
 * Windows of 32-bit code kept for their page's return (winCache: by linear page number mod this).
 * Idle Linux's openings found theirs in 60 % of cases with 16, 84 % with 64, 92 % with 256.
 */
const WIN_CACHE = 256;

/**
 * A window openWindow() opened, and what it was opened under: the page's translation (the MMU's
 * generation; an INVLPG of the page drops it), the code epoch, CS's base and the CPL's user bit.
 */
class CachedWindow {
  lpn = -1;
  gen = -1;
  epoch = 0;
  csBase = 0;
  user = false;
  winEip = 0;
  frame = 0;
  page: Int32Array = new Int32Array(0);
  blocks: BlockPage | undefined = undefined;
}

export abstract class CpuDecodedCache extends CpuDecodedExec implements BlockHost {
  // ---- the decoded-instruction cache ------------------------------------------------------------
  //
  // Hot path. Instructions of 32-bit code are decoded once into four Int32 words per byte offset
  // of a 4 KiB machine frame (w0 = handler | D_MAY_FAULT | length << 8 | payload << 12, w1 = the
  // memory operand: base | index << 4 | scale << 8 | segment << 10, and above it a block start's
  // W1_BLOCK and hit count (blocks.ts), w2 = displacement, w3 = immediate) and run from there by
  // runInner() (the commonest forms) and execDecoded(); any form decodeForm() does not cover
  // (prefixes other than segment overrides, 16-bit operands or addresses, system and string
  // instructions …) is marked D_SLOW and runs through step(), which decodes from memory as before.
  // A register CMP/TEST/ALU form followed by Jcc is fused into one entry (fuseJcc). The "window"
  // maps the EIPs of the current linear code page onto its frame's entries; it is dropped when
  // the MMU's generation, CS or the CPL change (setCs, setRealSeg, writeCr0, reset). Memory:
  // 64 KiB of entries per code frame, at most MAX_DECODED_PAGES frames.
  //
  // Stale code (SDM vol. 3, 11.6): every write of the CPU that lands in a 128-byte line holding the
  // start or end of a decoded instruction clears the entries that could overlap the written bytes
  // (codeWritten), so the next fetch decodes afresh — also when the instruction modified is the
  // very next one. Writes by anyone else (the other thread, a loader, a device in an I/O callback)
  // are caught by an epoch: run() and every port or MMIO access bump it, and a frame whose epoch is
  // old has its entries cleared when the window opens on it, unless its bytes are still those its
  // entries were decoded from (sameBytes) (so a write by the other thread during a slice is seen
  // from the next slice on). Instructions that cross a page end are never cached.
  // Not caught: the MMU's own A/D-bit writes into paging entries (code in a page table). None of
  // this touches the TLB or the p2m: dirty tracking is not involved.

  /** Per machine frame: its decoded entries (4 words per byte offset), or undefined. */
  protected readonly dPages: (Int32Array | undefined)[] = [];
  /** Per machine frame: the offsets decoded since the last clear (so a clear costs O(decoded)). */
  protected readonly dLists: (Uint16Array | undefined)[] = [];
  protected readonly dCounts: Int32Array;
  protected readonly dEpochs: Int32Array;
  /** Machine frames; the decoded pages of 16-bit code are numbered from here (openWindow). */
  protected readonly nFrames: number;
  /** Per page of 16-bit code: the window EIP its entries were decoded for. */
  protected readonly dWins: Int32Array;
  protected dFrames: number[] = [];
  /** Per frame: its window opened since the eviction's clock hand last passed it (newDecodedPage). */
  protected readonly dUsed: Uint8Array;
  /**
   * Per frame: its bytes as they were when its entries were last cleared (dSnaps) and whether a
   * decode since read other bytes (dDirty): a frame whose epoch is old keeps its entries and blocks
   * when its bytes still equal that copy and no decode saw others (sameBytes), so that every entry
   * was decoded from the bytes memory holds now.
   */
  protected readonly dSnaps: (Int32Array | undefined)[] = [];
  protected readonly dDirty: Uint8Array;
  /** The clock hand: the index in dFrames where the search for a frame to evict starts. */
  protected dHand = 0;
  protected codeEpoch = 1;
  protected winPage: Int32Array = new Int32Array(4 * 4096);
  protected winFrame = -1;
  protected winEip = 0;
  protected winGen = -1;
  /** The bytes of the instruction being decoded (copied: the decoder never reads past the page). */
  protected readonly ibuf = new Uint8Array(16);

  /**
   * The windows last opened on 32-bit code, by linear page: Linux's timer tick opens some 190 a
   * tick, and a window opened afresh costs the translation and five per-frame lookups (host cache
   * misses on cold code) where one of these costs a few loads.
   */
  protected readonly winCache = Array.from({ length: WIN_CACHE }, () => new CachedWindow());

  /** Drops the fetch window (CS, CPL or translations changed). */
  protected dropWindow(): void {
    this.winGen = -1;
  }

  /**
   * INVLPG of linear page `lpn` (the MMU's generation does not move for one page): the caches of
   * a code page that is on it, the window and the interpreter's fetch page, open afresh. The rest
   * stay: Linux invalidates kernel pages one by one in loops (flush_tlb_kernel_range) whose
   * code would otherwise reopen its window at every call.
   */
  protected pageInvalidated(lpn: number): void {
    if (lpn === this.fetchLpn) this.fetchLpn = -1;
    if (lpn === (this.segBase[CS] + this.winEip) >>> 12) this.winGen = -1;
    const cached = this.winCache[lpn % WIN_CACHE];
    if (cached.lpn === lpn) cached.lpn = -1;
  }

  /** Code may have been changed behind the CPU's back: every decoded entry is suspect. */
  /** Guest memory was written by someone other than this CPU (a loader, a device): forget decoded code. */
  codeChanged(): void {
    this.codeChangedOutside();
  }

  protected codeChangedOutside(): void {
    this.codeEpoch++;
    this.winGen = -1;
    this.bBreak = 1;
  }

  /** Points the window at the code page of EIP; false when the cache cannot serve it. */
  protected openWindow(): boolean {
    if (this.fl & VM) return false;
    const csBase = this.segBase[CS];
    const lin = (csBase + this._eip) | 0;
    const cached = this.winCache[(lin >>> 12) % WIN_CACHE];
    if (
      cached.lpn === lin >>> 12 &&
      cached.gen === this.mmu.generation &&
      cached.epoch === this.codeEpoch &&
      cached.csBase === csBase &&
      cached.user === this.user &&
      this.codeSize32
    ) {
      this.dUsed[cached.frame] = 1;
      this.winPage = cached.page;
      this.winFrame = cached.frame;
      const bp = cached.blocks;
      if (bp !== undefined) {
        this.winBlocks = bp.blocks;
        this.winSince = bp.since;
      }
      this.winEip = cached.winEip;
      this.winGen = cached.gen;
      return true;
    }
    const winEip = ((lin & ~0xfff) - csBase) | 0;
    // 16-bit code: only a window whose every instruction ends below IP 0x10000, so that no cached
    // instruction's next IP wraps (the interpreter masks IP to 16 bits; the cache adds).
    if (!this.codeSize32 && winEip + 4096 > 0xffff) return false;
    const o = this.mmu.translate(lin, false, this.user);
    if (o === PHYS_IO) return false;
    // A frame's entries for 16-bit code live apart, under frame + nFrames (the same bytes mean
    // other instructions there), and belong to one window EIP (an o16 branch is cached only when
    // its masked target equals the unmasked one, which decodeForm checks knowing the EIP).
    const frame = this.codeSize32 ? o >>> 12 : (o >>> 12) + this.nFrames;
    let page = this.dPages[frame];
    if (page === undefined) page = this.newDecodedPage(frame);
    else if (!this.codeSize32 && this.dWins[frame] !== winEip) this.clearDecodedPage(frame);
    else if (this.dEpochs[frame] !== this.codeEpoch && !this.sameBytes(frame)) this.clearDecodedPage(frame);
    this.dEpochs[frame] = this.codeEpoch;
    this.dWins[frame] = winEip;
    this.dUsed[frame] = 1;
    this.winPage = page;
    this.winFrame = frame;
    let bp: BlockPage | undefined;
    if (this.blockThreshold >= 0) {
      bp = this.bPages[frame];
      if (bp === undefined || bp.page !== page) bp = this.bPages[frame] = new BlockPage(page);
      this.winBlocks = bp.blocks;
      this.winSince = bp.since;
    }
    this.winEip = winEip;
    this.winGen = this.mmu.generation;
    if (this.codeSize32) {
      // 16-bit code's entries belong to one window EIP (dWins): not kept.
      cached.lpn = lin >>> 12;
      cached.gen = this.winGen;
      cached.epoch = this.codeEpoch;
      cached.csBase = csBase;
      cached.user = this.user;
      cached.winEip = winEip;
      cached.frame = frame;
      cached.page = page;
      cached.blocks = bp;
    }
    return true;
  }

  protected newDecodedPage(frame: number): Int32Array {
    let page: Int32Array;
    let list: Uint16Array;
    if (this.dFrames.length < MAX_DECODED_PAGES) {
      page = new Int32Array(4 * 4096);
      list = new Uint16Array(4096);
      this.dFrames.push(frame);
    } else {
      // Full: one frame gives its arrays to this one — the first, from the clock hand on, whose
      // window has not opened since the hand last passed (second chance). Starting the whole cache
      // over instead made Linux's boot, whose code spans more frames than the cache holds,
      // decode and compile its code again and again (8,000 pages made in 0.2 G instructions).
      let at = this.dHand;
      for (;;) {
        const f = this.dFrames[at];
        if (this.dUsed[f] === 0 && f !== this.winFrame) break;
        this.dUsed[f] = 0;
        at = at + 1 === this.dFrames.length ? 0 : at + 1;
      }
      const victim = this.dFrames[at];
      this.dHand = at + 1 === this.dFrames.length ? 0 : at + 1;
      this.clearDecodedPage(victim);
      for (const c of this.winCache) c.lpn = -1; // one may hold the victim's arrays
      page = this.dPages[victim]!;
      list = this.dLists[victim]!;
      this.dPages[victim] = undefined;
      this.dLists[victim] = undefined;
      this.bPages[victim] = undefined;
      this.dFrames[at] = frame;
      page.fill(0); // the victim's hit counts (w1, BlockPage)
    }
    this.dPages[frame] = page;
    this.dLists[frame] = list;
    this.dCounts[frame] = 0;
    this.dUsed[frame] = 1;
    this.snapshot(frame);
    return page;
  }

  protected clearDecodedPage(frame: number): void {
    this.bPages[frame]?.clear();
    const page = this.dPages[frame];
    const list = this.dLists[frame];
    if (page === undefined || list === undefined) return;
    const n = this.dCounts[frame];
    for (let i = 0; i < n; i++) page[list[i] << 2] = 0;
    this.dCounts[frame] = 0;
    this.snapshot(frame);
  }

  /** A copy of the frame's bytes, taken when it holds no entry (dSnaps). */
  private snapshot(frame: number): void {
    const at = (frame < this.nFrames ? frame : frame - this.nFrames) << 10;
    let snap = this.dSnaps[frame];
    if (snap === undefined) snap = this.dSnaps[frame] = new Int32Array(1024);
    snap.set(this.mem32.subarray(at, at + 1024));
    this.dDirty[frame] = 0;
  }

  /**
   * Whether the frame's bytes are those its entries were decoded from: no decode since its copy
   * read other bytes, and memory still equals the copy. Memory written by others is caught this way
   * when their epoch moves (bench:cpu's bare CPU distrusts memory at every run() and port access:
   * it decoded and looked up its blocks afresh in every frame 93 times a run).
   */
  private sameBytes(frame: number): boolean {
    const snap = this.dSnaps[frame];
    if (snap === undefined || this.dDirty[frame] !== 0) return false;
    const m = this.mem32;
    const at = (frame < this.nFrames ? frame : frame - this.nFrames) << 10;
    for (let i = 0; i < 1024; i++) if (m[at + i] !== snap[i]) return false;
    return true;
  }

  /** A CPU write to machine bytes [o, o + size) that hit a line holding decoded code. */
  codeWritten(o: number, size: number): void {
    const f = o >>> 12;
    if (this.dPages[f] === undefined && this.dPages[f + this.nFrames] === undefined) {
      // The frame's decoded entries were given away (newDecodedPage): its lines watch nothing now.
      this.codeLines[o >>> 7] = 0;
      if ((o + size - 1) >>> 12 === f) this.codeLines[(o + size - 1) >>> 7] = 0;
      return;
    }
    this.codeWrittenIn(o >>> 12, o, size);
    this.codeWrittenIn((o >>> 12) + this.nFrames, o, size); // its 16-bit entries (openWindow)
  }
  protected codeWrittenIn(frame: number, o: number, size: number): void {
    const page = this.dPages[frame];
    if (page === undefined) return;
    // An instruction starting up to 14 bytes before the write may cover it; none crosses the page.
    const first = Math.max(0, (o & 0xfff) - 14);
    const last = Math.min(4095, (o & 0xfff) + size - 1);
    for (let i = first; i <= last; i++) page[i << 2] = 0;
    // A compiled block holding one of them goes too, and a running block stops after this store.
    const bp = this.bPages[frame];
    if (bp !== undefined && bp.written(first, last)) this.bBreak = 1;
  }

  // ---- compiled blocks (blocks.ts) --------------------------------------------------------------
  //
  // Hot path. The blocks of a frame live in its BlockPage next to its decoded entries and are
  // dropped with them (clearDecodedPage, the cache starting over, codeWritten). The generated code
  // reads, writes and calls only the members BlockHost lists (block-host.ts), which this class
  // implements: they are public for that reason, not for the CPU's users.

  /** Per machine frame: its compiled blocks and hit counts (only while blockThreshold ≥ 0). */
  protected bPages: (BlockPage | undefined)[] = [];
  protected winBlocks: (Block | undefined)[] = [];
  /** The window's page's BlockPage.since. */
  protected winSince = new Int32Array(4096);
  protected readonly blockThreshold: number;
  /**
   * Compiled functions by their source: the same code compiled again (its page was cleared by the
   * epoch of outside writes, say) gets the same function, which V8 has already optimised.
   */
  protected readonly compiledBlocks = new Map<string, CompiledFn>();
  /**
   * The starts that make a block compile now (runInner): the threshold, doubled after every
   * NEW_BLOCKS_PER_STEP new functions within one hotness period, up to MAX_HOT_THRESHOLD, and
   * back to the threshold at the next period — when the CPU's own default threshold is in force
   * (a threshold given in the CpuEnv is kept as it is). A new function costs milliseconds: V8
   * parses and compiles it, then optimises it on its own; a loop recovers that in a few thousand
   * passes, but code that runs a few hundred times does not. Linux's boot, which runs its code
   * from thousands of places a few hundred times each, compiled 10,000 blocks in its first
   * 150 M instructions and ran 3.6 times slower (CPU time) than with the compiler off; a fixed
   * threshold of 4,000 made bench:cpu's short phases 12 % slower.
   */
  protected hotThreshold: number;
  /** New block functions made in this hotness period (compileAt). */
  protected newBlocks = 0;
  private readonly adaptiveThreshold: boolean;
  private readonly hotClock: (() => number) | undefined;

  /**
   * Start a new hotness period: the threshold falls back from what new functions raised it to
   * (hotThreshold). The machine calls this once per second of its time. Whether code is hot
   * enough is the window's business (HOT_WINDOW_MS in compileAt): it used to be this call's, which
   * halved every hit count so that code run once a second never compiled; the window keeps that
   * code (and code run a few hundred times a second) interpreted on its own.
   */
  startHotnessPeriod(): void {
    this.newBlocks = 0;
    this.hotThreshold = this.blockThreshold;
  }

  /** How many distinct block functions this CPU has created (`new Function` calls that succeeded). */
  get blockFunctions(): number {
    return this.compiledBlocks.size;
  }

  /** Compiles the block at byte `idx` of the window's frame (EIP `eip`); undefined when none can start there. */
  protected compileAt(idx: number, eip: number): Block | undefined {
    if (this.hotClock !== undefined) {
      // Not within the window: the count starts again, from now (a first crossing always does).
      const now = this.hotClock() | 0;
      if (now - this.winSince[idx] > HOT_WINDOW_MS) {
        const q = (idx << 2) + 1;
        this.winPage[q] = (this.winPage[q] & W1_OPERAND) | W1_HIT;
        this.winSince[idx] = now;
        return undefined;
      }
    }
    const page = this.winPage;
    const made = this.compiledBlocks.size;
    const blk = compileBlock(
      page,
      idx,
      eip,
      (i) => this.decodeAt(page, i),
      this,
      this.compiledBlocks,
      (e) => this.traceId(e),
    );
    if (
      this.adaptiveThreshold &&
      this.compiledBlocks.size > made &&
      ++this.newBlocks % NEW_BLOCKS_PER_STEP === 0 &&
      this.hotThreshold < MAX_HOT_THRESHOLD
    )
      this.hotThreshold *= 2;
    const bp = this.bPages[this.winFrame];
    if (blk === undefined || bp === undefined) {
      if (bp !== undefined) bp.never(idx);
      else page[(idx << 2) + 1] |= W1_BLOCK;
      return undefined;
    }
    bp.add(blk);
    return blk;
  }

  /** The trace's record of a compiled block (trace id × 64: `id`) that retired the first `count` (≤ 63) instructions of a pass. */
  traceBlock(id: number, count: number): void {
    const i = this.blockTracePos++ & 63;
    this.blockTraceRecord[i] = id + count;
    this.blockTraceAt[i] = this.tracePos;
  }
  /**
   * The trace's records of a compiled loop that ran `passes` times over its first `m` instructions:
   * as many as the last 63 instructions need.
   */
  traceLoop(id: number, m: number, passes: number): void {
    for (let j = Math.min(passes, Math.ceil(64 / m)); j > 0; j--) this.traceBlock(id, m);
  }
  /**
   * A trace id × 64 for a new block function whose instructions have these EIPs (state.ts,
   * blockTraceEips). Past MAX_TRACE_IDS the table starts over, and so do the compiled blocks
   * (none may keep an id that now names other EIPs) and the block ring.
   */
  protected traceId(eips: Int32Array): number {
    const table = this.blockTraceEips;
    if (table.length >= MAX_TRACE_IDS) {
      table.length = 1;
      this.blockTraceRecord.fill(0);
      this.compiledBlocks.clear();
      // Every frame's entries and blocks go (an epoch alone keeps those whose bytes are the same).
      this.dDirty.fill(1);
      this.codeChangedOutside();
    }
    table.push(eips);
    return (table.length - 1) * 64;
  }

  /** Decodes the instruction at byte `idx` of the window's frame into its entry; returns w0. */
  protected decodeAt(d: Int32Array, idx: number): number {
    const frame = this.winFrame;
    const base = (frame < this.nFrames ? frame : frame - this.nFrames) << 12;
    const q = this.ibuf;
    const avail = Math.min(15, 4096 - idx);
    for (let k = 0; k < avail; k++) q[k] = this.u8[base + idx + k];
    // Bytes other than the frame's copy (sameBytes): someone else wrote them since.
    const snap = this.dSnaps[frame];
    if (snap !== undefined && this.dDirty[frame] === 0)
      for (let k = 0; k < avail; k++) {
        const j = idx + k;
        if (((snap[j >> 2] >> ((j & 3) << 3)) & 0xff) !== q[k]) {
          this.dDirty[frame] = 1;
          break;
        }
      }
    this.dEip = (this.winEip + idx) | 0;
    this.dCode32 = this.codeSize32;
    let w0 = this.decodeForm(q);
    if (this.dLen < avail) w0 = this.fuseJcc(w0, q, avail);
    const len = this.dLen;
    if (len > avail || len > 15) w0 = D_SLOW; // crosses the page end: never cached
    const list = this.dLists[frame];
    if (list !== undefined) {
      // Listed also when it says "run step()", so that clearing the page lets it be cached again.
      if (this.dCounts[frame] === 4096) this.clearDecodedPage(frame);
      list[this.dCounts[frame]++] = idx;
    }
    const p = idx << 2;
    d[p] = w0;
    // "Run step()" stays correct whatever the bytes become: no code line to watch for it.
    if (w0 === D_SLOW) return w0;
    d[p + 1] = (d[p + 1] & ~W1_OPERAND) | this.dW1; // the hit count and W1_BLOCK stay (BlockPage)
    d[p + 2] = this.dDisp;
    d[p + 3] = this.dImm;
    const o = base + idx;
    this.codeLines[o >>> 7] = 1;
    this.codeLines[(o + len - 1) >>> 7] = 1;
    return w0;
  }

  constructor(env: CpuEnv) {
    super(env);
    this.blockThreshold = env.blockThreshold ?? BLOCK_THRESHOLD;
    this.hotThreshold = this.blockThreshold;
    this.adaptiveThreshold = env.blockThreshold === undefined;
    this.hotClock = env.hotClockMs;
    this.nFrames = (this.u8.length >>> 12) + 1;
    this.dCounts = new Int32Array(2 * this.nFrames);
    this.dEpochs = new Int32Array(2 * this.nFrames);
    this.dWins = new Int32Array(2 * this.nFrames);
    this.dUsed = new Uint8Array(2 * this.nFrames);
    this.dDirty = new Uint8Array(2 * this.nFrames);
  }
}
