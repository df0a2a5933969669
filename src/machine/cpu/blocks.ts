/**
 * The block compiler (hot path): a run of decoded instructions that has started often enough
 * (CpuEnv.blockThreshold) is turned into one JavaScript function (`new Function`), specialised
 * per instruction — registers, immediates, displacements and branch targets as constants, the ALU
 * operation inlined, TLB-hit loads and stores and 32-bit-stack PUSH/POP inline, the lazy flags
 * kept in locals and written to the CPU only where something can read them (a helper, an exit,
 * a fault) — and run instead of the interpreter's per-instruction dispatch. The interpreter
 * (cpu.ts, runInner) stays the fallback for everything else and decides when a block may run.
 *
 * What a block holds: the entries of the decoded-instruction cache (cpu.ts, "the decoded-
 * instruction cache") from its first instruction on, up to and including the first transfer of
 * control (Jcc, a fused ALU + Jcc, JMP, CALL, RET, the indirect forms), or up to an instruction
 * the cache runs through step() (D_SLOW: REP, 16-bit addressing, system, prefixed string and I/O
 * instructions, HLT, STI/POPF/IRET, MOV SS/POP SS, INT, far transfers …), the end of the
 * page, or MAX_INSNS. So nothing in a block sets EFLAGS.IF (CLI, which clears it, only holds
 * back interrupts the next entry test would deliver), changes the interrupt shadow, HLT, CS,
 * the CPL, the segment registers or the translations the TLB caches: interrupts are delivered
 * between blocks exactly where the interpreter delivers them (runInner enters a block only when
 * none is waiting and the whole block fits the instruction budget). A block whose branch goes
 * back to its first instruction loops in place, one more pass only when a whole pass still fits
 * the budget; its passes are counted in locals and settled at the exit, and the lazy flags stay
 * in locals from one pass to the next (state DYN: their kind in `pk`).
 *
 * Exactness: a block function writes `start`/`startEsp` before every instruction that can fault,
 * as the interpreter does, and keeps in `k` how many instructions of the pass retired; its catch
 * clause settles the instruction count, the lazy flags as they were before the faulting
 * instruction and the trace ring, and rethrows, so run() restarts the faulting instruction
 * exactly as under the interpreter. After every instruction that touches memory it tests
 * `bBreak`, which the CPU sets when an access went to a device (it may raise an interrupt or
 * write memory) or dropped a compiled block (a store into code: SMC), or when memory changed
 * behind its back, and leaves at the next instruction; stores also compare the MMU's generation
 * with the one the block started under. The trace ring gets each instruction's EIP, written at
 * the exit (Cpu.traceBlock, traceLoop for the passes of a loop; runInner the record of a whole
 * pass, Block.trace, which spares the commonest exit its stores).
 *
 * Invalidation: blocks live in a BlockPage per machine frame, next to the frame's decoded
 * entries, and go whenever those go — clearDecodedPage (the epoch of writes by others or
 * codeChanged() when the frame's bytes changed, a full entry list), the cache starting over, and codeWritten for the blocks
 * whose bytes overlap the written ones. The functions themselves are kept per CPU by their source:
 * code compiled again after a clear (the same bytes, most often) gets the function V8 has already
 * optimised.
 */
import { D_ALU_JCC, D_IO, D_JCC, D_SLOW, D_STI } from './decoded';
import { MOVE_FORMS, moveLoadsSegment } from './move-ops';
import { mulHigh, PARITY } from './flags';
import { ENDS, Gen, type Insn } from './block-gen';
import type { BlockHost } from './block-host';

/** Runs a compiled block from its first instruction; returns the EIP after it. */
export type BlockFn = (cpu: BlockHost, end: number) => number;

/** A block function made once per CPU for its source (see "Invalidation" above), and its trace id × 64. */
export interface CompiledFn {
  readonly run: BlockFn;
  readonly id: number;
}

/** A compiled block: its function and where it lies. */
export interface Block {
  readonly run: BlockFn;
  /** The EIP it was compiled for (a frame mapped at two linear addresses has other EIPs). */
  readonly eip: number;
  /** Instructions in one pass (a fused ALU + Jcc counts two). */
  readonly length: number;
  /**
   * The trace's record of a whole pass (trace id × 64 + length): runInner writes it when the
   * block leaves by a branch or its end (bBreak 0); the exits after a bBreak and a fault write
   * their own (fewer instructions), and a loop its earlier passes.
   */
  readonly trace: number;
  /** Byte offsets in the frame of its first instruction and of its last byte. */
  readonly first: number;
  readonly last: number;
}

/**
 * The compiled blocks of one machine frame, by the byte offset they start at. Whether a block
 * starts at an offset, and the offset's hit count, live in the word w1 of the frame's decoded
 * entry there (W1_BLOCK, W1_HIT): runInner reads them from the cache line it reads the entry from,
 * where a separate array of hits and one of blocks cost two more host cache misses per block start
 * on cold code.
 */
export class BlockPage {
  readonly blocks: (Block | undefined)[] = new Array<Block | undefined>(4096).fill(undefined);
  /**
   * Machine time (whole ms) at which each offset's hit count began its window: the count must
   * reach the threshold again within HOT_WINDOW_MS of it (CpuDecodedCache.compileAt).
   */
  readonly since = new Int32Array(4096);
  private live: Block[] = [];
  /** The offsets marked NEVER (W1_BLOCK with no block). */
  private nevers: number[] = [];

  /** `page`: the frame's decoded entries, which hold the hit counts and the W1_BLOCK marks. */
  constructor(readonly page: Int32Array) {}

  add(b: Block): void {
    this.blocks[b.first] = b;
    this.page[(b.first << 2) + 1] |= W1_BLOCK;
    this.live.push(b);
  }

  /** Marks offset `i` as one where no block can start (its first instruction cannot be in one). */
  never(i: number): void {
    this.page[(i << 2) + 1] |= W1_BLOCK;
    this.nevers.push(i);
  }

  /**
   * Drops every block. The hit counts stay (the code was hot, and most often it is the same
   * code again: recompiling it finds the function in `compiled`), except at the NEVER marks.
   */
  clear(): void {
    const page = this.page;
    for (const b of this.live) {
      this.blocks[b.first] = undefined;
      page[(b.first << 2) + 1] &= ~W1_BLOCK;
    }
    this.live = [];
    for (const i of this.nevers) page[(i << 2) + 1] &= W1_OPERAND;
    this.nevers = [];
  }

  /** Drops the blocks holding an instruction that starts in [first, last]; true if any. */
  written(first: number, last: number): boolean {
    let dropped = false;
    let k = 0;
    for (const b of this.live) {
      if (b.first <= last && b.last >= first) {
        this.blocks[b.first] = undefined;
        this.page[(b.first << 2) + 1] &= W1_OPERAND; // no block, no hits
        dropped = true;
      } else this.live[k++] = b;
    }
    this.live.length = k;
    return dropped;
  }
}

/**
 * Whether a decoded entry may be part of a block: not one step() runs (D_SLOW), nor STI, whose
 * interrupt shadow the run loop keeps between instructions, nor a segment load (a block reads
 * whether its segments are flat at its entry), nor IN/OUT (a device may raise an interrupt).
 */
export function blockable(w0: number): boolean {
  const h = w0 & 0x3f;
  return w0 !== D_SLOW && h !== D_STI && !LOADS_SEGMENT.has(h) && h !== D_IO;
}
/** The cached forms that load a segment register (move-ops.ts, moveLoadsSegment: MOV and POP of DS ES FS GS). */
const LOADS_SEGMENT = new Set(MOVE_FORMS.filter(moveLoadsSegment).map((f) => f.handler));

/** The bits of a decoded entry's w1 that the decoder writes: the memory operand (decoded-cache.ts). */
export const W1_OPERAND = 0x1fff;
/**
 * Bit 13 of w1 at a block start: a block starts here (BlockPage.blocks), or none can (NEVER: the
 * first instruction cannot be in one, or the host refused the function); runInner reads
 * BlockPage.blocks only when it is set, and counts hits only when it is clear.
 */
export const W1_BLOCK = 0x2000;
/** One hit: the starts counted towards compiling are w1 >> 14 (kept when the entry is decoded again). */
export const W1_HIT = 1 << 14;

/** At most this many instructions in a block (bounded code size, and a bound on budget waste). */
const MAX_INSNS = 48;

/**
 * Compiles the block starting at byte `idx` of a frame whose decoded entries are `d` (four words
 * per byte offset; `decode(i)` fills entry i when it is still 0), for EIP `eip`. Undefined when
 * its first instruction is not one the cache runs itself, or when the host refuses `new Function`.
 */
export function compileBlock(
  d: Int32Array,
  idx: number,
  eip: number,
  decode: (i: number) => number,
  cpu: BlockHost,
  compiled: Map<string, CompiledFn>,
  traceId: (eips: Int32Array) => number,
): Block | undefined {
  const insns: Insn[] = [];
  let pos = idx;
  let at = eip;
  let n = 0;
  while (n < MAX_INSNS && pos < 4096) {
    const p = pos << 2;
    let w0 = d[p];
    if (w0 === 0) w0 = decode(pos);
    if (!blockable(w0)) break;
    const len = (w0 >>> 8) & 15;
    const next = (at + len) | 0;
    insns.push({ w0, w1: d[p + 1] & W1_OPERAND, disp: d[p + 2], imm: d[p + 3], eip: at, next, n });
    const h = w0 & 0x3f;
    n += h === D_ALU_JCC ? 2 : 1;
    pos += len;
    at = next;
    if (ENDS.has(h) || h === D_JCC || h === D_ALU_JCC) break;
  }
  if (insns.length === 0) return undefined;
  // The same code compiled before (its page was cleared by the epoch of outside writes, say):
  // the same function, which V8 has already optimised, instead of a fresh one to warm up again.
  // The decoded words and the EIP determine the generated code.
  let key = `${eip}`;
  for (const i of insns) key += `,${i.w0},${i.w1},${i.disp},${i.imm}`;
  let fn = compiled.get(key);
  if (fn === undefined) {
    const gen = new Gen(insns, n, eip);
    const src = gen.source();
    try {
      const factory = new Function('c', 'K', 'EIPS', 'PAR', 'MH', 'ID', `"use strict";\n${src}`) as (
        c: BlockHost,
        k: Int32Array[],
        e: Int32Array,
        parity: Uint8Array,
        mulHigh: (a: number, b: number) => number,
        id: number,
      ) => BlockFn;
      const eips = Int32Array.from(gen.eips);
      const id = traceId(eips);
      fn = { run: factory(cpu, gen.consts, eips, PARITY, mulHigh, id), id };
    } catch {
      return undefined; // e.g. a page whose CSP forbids eval: the interpreter runs everything
    }
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(key, fn);
  }
  const run = fn.run;
  return { run, eip, length: n, trace: fn.id + n, first: idx, last: pos - 1 };
}

/** Past this many compiled functions a CPU's map starts over (a guest that keeps generating code). */
const MAX_COMPILED = 20000;
