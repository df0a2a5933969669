/**
 * The decoded-instruction cache and the glue of the block compiler, in the Cpu class chain
 * (README.md, "Layout", and "Speed" for what the cache does): decoded entries per machine frame,
 * the code window, invalidation on stores into code and on outside writes, the handlers the run
 * loop dispatches to (execReg, execStack, execDecoded, execGeneric), decodeAt (the decoder itself
 * is the layer below, decoder.ts), and compiling blocks (blocks.ts).
 */
import { PHYS_IO } from './mmu';
import type { AccessSize } from '../bus';
import { NEG_AS } from './alu-ops';
import { notOf } from './muldiv-ops';
import { bitIndex, bswap32 } from './bit-ops';
import { BlockPage, compileBlock, NEVER, type Block, type BlockFn } from './blocks';
import { CF, DF, IF, PUSHFD_IMAGE, VM, ZF } from './flags';
import { EAX, NO_SEG, signExtend, ECX, EDX, ESP, EBP, CS, CR0_PE, CR4_TSD, CpuFault, GP } from './arch';
import {
  D_SLOW,
  D_ALU_RR,
  D_ALU_RM,
  D_ALU_MR,
  D_ALU_RI,
  D_ALU_MI,
  D_TEST_RR,
  D_TEST_MR,
  D_TEST_RI,
  D_MOV_RR,
  D_MOV_MR,
  D_MOV_RM,
  D_MOV_RI,
  D_MOV_MI,
  D_LEA,
  D_INC_R,
  D_DEC_R,
  D_PUSH_R,
  D_POP_R,
  D_PUSH_I,
  D_JCC,
  D_JMP,
  D_CALL_R,
  D_CALL_M,
  D_JMP_R,
  D_JMP_M,
  D_NOP,
  D_CDQ,
  D_LEAVE,
  D_SHIFT_R,
  D_GRP3_R,
  D_DIV_R,
  D_IMUL3_R,
  D_MOVZX8_M,
  D_SETCC_R,
  D_PUSH_M,
  D_MOVX_R,
  G_ALU8_AI,
  G_ALU8_MR,
  G_ALU8_RM,
  G_ALU8_MI,
  G_MOV8_MI,
  G_MOV8_MR,
  G_MOV8_RM,
  G_TEST8,
  G_TEST8_MI,
  G_TEST_MI,
  G_IMUL3,
  G_IMUL2,
  G_SHIFT,
  G_SHIFT8,
  G_GRP3,
  G_GRP3_8,
  G_INCDEC,
  G_INCDEC8,
  G_SETCC,
  G_CMOV,
  G_MOVX,
  G_ALU_MR,
  G_ALU_RM,
  G_ALU_MI,
  G_MOV_MR,
  G_MOV_RM,
  G_MOV_MI,
  G_TEST_MR,
  G_LEA,
  G_SHLD,
  X16,
  D_RDTSC,
  D_ROTATE_R,
  D_BSWAP,
  D_BITSCAN_R,
  G_BITSCAN,
  D_PUSHF,
  D_FLAG,
  D_STI,
  D_PUSH_SEG,
  D_LOAD_SEG,
  D_IO,
  G_CMPXCHG,
  G_XADD,
  G_BT,
  G_BTI,
  G_XCHG8,
  G_XCHG,
} from './decoded';
import { CpuDecoder } from './decoder';
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
 * At most this many frames hold decoded entries (64 KiB each, and 48 KiB of blocks and hit counts
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

export abstract class CpuDecodedCache extends CpuDecoder implements BlockHost {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract group3Body(size: number): void;
  // ---- the decoded-instruction cache ------------------------------------------------------------
  //
  // Hot path. Instructions of 32-bit code are decoded once into four Int32 words per byte offset
  // of a 4 KiB machine frame (w0 = handler | D_MAY_FAULT | length << 8 | payload << 12, w1 = the
  // memory operand: base | index << 4 | scale << 8 | segment << 10, w2 = displacement, w3 =
  // immediate) and run from there by runInner() (the commonest forms) and execDecoded(); any form
  // decodeForm() does not cover (prefixes other than segment overrides, 16-bit operands or
  // addresses, system and string instructions …) is marked D_SLOW and runs through step(), which
  // decodes from memory as before. A register CMP/TEST/ALU form followed by Jcc is fused into one
  // entry (fuseJcc). The "window" maps the EIPs of the current linear code page onto its frame's
  // entries; it is dropped when the MMU's generation, CS or the CPL change (setCs, setRealSeg,
  // writeCr0, reset). Memory: 64 KiB of entries per code frame, at most MAX_DECODED_PAGES frames.
  //
  // Stale code (SDM vol. 3, 11.6): every write of the CPU that lands in a 128-byte line holding the
  // start or end of a decoded instruction clears the entries that could overlap the written bytes
  // (codeWritten), so the next fetch decodes afresh — also when the instruction modified is the
  // very next one. Writes by anyone else (the other thread, a loader, a device in an I/O callback)
  // are caught by an epoch: run() and every port or MMIO access bump it, and a frame whose epoch is
  // old has its entries cleared when the window opens on it (so a write by the other thread during
  // a slice is seen from the next slice on). Instructions that cross a page end are never cached.
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

  /** The cached memory forms and the generic ones (the stack forms: execStack; registers: execReg). */
  protected execDecoded(w0: number, x: number, d: Int32Array, p: number): void {
    const r = this.reg32;
    switch (w0 & 0x3f) {
      case 3 satisfies typeof D_ALU_RM: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const res = this.alu32(op, r[dst], this.dLoad32(d, p));
        if (op !== 7) r[dst] = res;
        return;
      }
      case 4 satisfies typeof D_ALU_MR: {
        const op = x & 7;
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const res = this.alu32(op, this.dRead32(lin), r[(x >> 3) & 7]);
        if (op !== 7) this.dWrite32(lin, res);
        return;
      }
      case 6 satisfies typeof D_ALU_MI: {
        const op = x & 7;
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const res = this.alu32(op, this.dRead32(lin), d[p + 3]);
        if (op !== 7) this.dWrite32(lin, res);
        return;
      }
      case 8 satisfies typeof D_TEST_MR:
        this.alu32(4, this.dLoad32(d, p), r[x & 7]);
        return;
      // gen:moves execDecoded (tools/gen-moves.ts, from move-ops.ts: do not edit)
      // MOV m32, r32
      case 11 satisfies typeof D_MOV_MR:
        this.dStore32(d, p, r[x & 7]);
        return;
      // MOV r32, m32
      case 12 satisfies typeof D_MOV_RM:
        r[x & 7] = this.dLoad32(d, p);
        return;
      // MOV m32, imm32
      case 14 satisfies typeof D_MOV_MI:
        this.dStore32(d, p, d[p + 3]);
        return;
      // PUSH m32
      case 40 satisfies typeof D_PUSH_M:
        this.push32(this.dLoad32(d, p));
        return;
      // end gen:moves
      case 27 satisfies typeof D_CALL_M: {
        const to = this.dLoad32(d, p);
        this.push32(this._eip);
        this._eip = to | 0;
        return;
      }
      case 29 satisfies typeof D_JMP_M:
        this._eip = this.dLoad32(d, p) | 0;
        return;
      case 43 satisfies typeof D_RDTSC:
        this.rdtsc();
        return;
      case 48 satisfies typeof D_FLAG:
        this.flagOp(x);
        return;
      case 51 satisfies typeof D_LOAD_SEG: {
        // As step()'s POP Sreg and MOV Sreg: the selector popped (ESP restored by run() if the load
        // faults) or read, then loaded with its checks (loadSeg). Never in a block (blockable).
        if (x & 0x100) {
          const v = this.pop32();
          this.loadSeg(x & 7, v & 0xffff);
          return;
        }
        const s = (x >> 3) & 7;
        if (x >= 0xc0) {
          this.loadSeg(s, r[x & 7] & 0xffff);
          return;
        }
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const m = this.eaSeg;
        if (this.segLimit[m] !== -1 || (this.segAttr[m] & 0xe00) !== 0x200) this.checkSeg(m, this.eaOff, 2, false);
        this.loadSeg(s, this.readLin16(lin));
        return;
      }
      case 52 satisfies typeof D_IO:
        // Never in a block (blockable): the run loop's next turn sees an interrupt the device
        // raised, and the window reopens if the access moved the epoch (externalWrites).
        this.inOut(x, x < 0xe8 ? d[p + 3] : r[EDX] & 0xffff, 4);
        return;
      case 49 satisfies typeof D_STI:
        // Never in a block (blockable): the next iteration of runInner sees `attention` and lets
        // events() keep the shadow for one instruction, as after step()'s STI.
        this.flagOp(0xfb);
        return;
      case 25 satisfies typeof D_DIV_R:
        // F7 /6 /7 on a 32-bit register: muldiv-ops.ts' divide through divAcc (as group3Body),
        // which raises #DE before writing anything; runInner set the restart point (D_MAY_FAULT).
        this.divAcc(r[x & 7] >>> 0, 4, (x & 8) !== 0);
        return;
      case 38 satisfies typeof D_MOVZX8_M: {
        const lin = this.dEa(d[p + 1], d[p + 2]);
        const s = this.eaSeg;
        if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 1, false);
        r[x] = this.readLin8(lin);
        return;
      }
      default:
        this.execGeneric(x, d, p);
        return;
    }
  }

  /** The cached stack forms (PUSH, POP, CALL, LEAVE; CALL rel32 and RET are runInner's): a function of their own (see execReg). */
  protected execStack(w0: number, x: number, d: Int32Array, p: number): void {
    const r = this.reg32;
    switch (w0 & 0x3f) {
      // gen:moves execStack (tools/gen-moves.ts, from move-ops.ts: do not edit)
      // PUSH r32
      case 18 satisfies typeof D_PUSH_R:
        this.push32(r[x]);
        return;
      // POP r32
      case 19 satisfies typeof D_POP_R: {
        const v = this.pop32();
        r[x] = v;
        return;
      }
      // PUSH imm32
      case 20 satisfies typeof D_PUSH_I:
        this.push32(d[p + 3]);
        return;
      // end gen:moves
      // CALL rel32 and RET: runInner's own cases.
      case 26 satisfies typeof D_CALL_R: {
        const to = r[x];
        this.push32(this._eip);
        this._eip = to;
        return;
      }
      case 34 satisfies typeof D_LEAVE:
        if (this.stackSize32) r[ESP] = r[EBP];
        else this.setReg(ESP, 2, r[EBP]);
        r[EBP] = this.pop32();
        return;
      case 50 satisfies typeof D_PUSH_SEG:
        this.push32(this.segSel[x]); // the selector zero-extended, as step()'s PUSH Sreg
        return;
      case 47 satisfies typeof D_PUSHF:
        // PUSHFD: the cache never runs VM86 code (openWindow), where it is IOPL-sensitive.
        this.push32(this.flags & PUSHFD_IMAGE);
        return;
      default:
        throw new Error(`cpu: handler ${w0 & 0x3f} is not a stack form`); // an emulator bug
    }
  }

  /** The cached forms that cannot fault (registers and jumps only): their own function, so that
   * V8 inlines their helpers within a budget of their own. */
  protected execReg(w0: number, x: number, d: Int32Array, p: number): void {
    const r = this.reg32;
    switch (w0 & 0x3f) {
      case 2 satisfies typeof D_ALU_RR: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const res = this.alu32(op, r[dst], r[(x >> 6) & 7]);
        if (op !== 7) r[dst] = res;
        return;
      }
      case 5 satisfies typeof D_ALU_RI: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const res = this.alu32(op, r[dst], d[p + 3]);
        if (op !== 7) r[dst] = res;
        return;
      }
      case 7 satisfies typeof D_TEST_RR:
        this.alu32(4, r[x & 7], r[(x >> 3) & 7]);
        return;
      case 9 satisfies typeof D_TEST_RI:
        this.alu32(4, r[x & 7], d[p + 3]);
        return;
      // gen:moves execReg (tools/gen-moves.ts, from move-ops.ts: do not edit)
      // MOV r32, r32
      case 10 satisfies typeof D_MOV_RR:
        r[x & 7] = r[(x >> 3) & 7];
        return;
      // MOV r32, imm32
      case 13 satisfies typeof D_MOV_RI:
        r[x & 7] = d[p + 3];
        return;
      // LEA r32, m
      case 15 satisfies typeof D_LEA: {
        const w1 = d[p + 1];
        let off = d[p + 2];
        const base = w1 & 15;
        if (base < 8) off += r[base];
        const index = (w1 >> 4) & 15;
        if (index < 8) off += r[index] << ((w1 >> 8) & 3);
        r[x] = off;
        return;
      }
      // end gen:moves
      case 16 satisfies typeof D_INC_R:
        r[x] = this.incdec(r[x] >>> 0, 4, false);
        return;
      case 17 satisfies typeof D_DEC_R:
        r[x] = this.incdec(r[x] >>> 0, 4, true);
        return;
      case 21 satisfies typeof D_JCC:
        if (this.cond(x)) this._eip = (this._eip + d[p + 3]) | 0;
        return;
      case 22 satisfies typeof D_JMP:
        this._eip = (this._eip + d[p + 3]) | 0;
        return;
      case 39 satisfies typeof D_SETCC_R:
        this.setReg(x & 7, 1, this.cond(x >> 3) ? 1 : 0);
        return;
      case 41 satisfies typeof D_MOVX_R: {
        // MOVZX/MOVSX from a register: x = dst | src << 3 | (0F B6/B7/BE/BF & 9) << 6.
        const kind = x >> 6;
        const size = kind & 1 ? 2 : 1;
        let v = this.getReg((x >> 3) & 7, size);
        if (kind & 8) v = signExtend(v, size);
        r[x & 7] = v;
        return;
      }
      case 28 satisfies typeof D_JMP_R:
        this._eip = r[x];
        return;
      case 35 satisfies typeof D_SHIFT_R: {
        // SHL/SHR/SAL/SAR on a register (count 32 = CL), flags kept lazily.
        const reg = x & 7;
        const op = (x >> 3) & 7;
        let n = (x >> 6) & 63;
        if (n === 32) n = r[ECX] & 31;
        if (n === 0) return; // count 0: nothing changes, flags included
        r[reg] = this.shift32(op, r[reg], n);
        return;
      }
      case 44 satisfies typeof D_ROTATE_R: {
        // ROL/ROR on a register (count 32 = CL): CF and OF set, a count of 0 changes nothing.
        const reg = x & 7;
        let n = (x >> 6) & 63;
        if (n === 32) n = r[ECX] & 31;
        if (n !== 0) r[reg] = this.rotate32((x >> 3) & 7, r[reg], n);
        return;
      }
      case 36 satisfies typeof D_GRP3_R: {
        // F7 /2 /3 /4 /5 on a 32-bit register: NOT, MUL and IMUL from muldiv-ops.ts (as
        // group3Body), NEG as SUB from 0 (CF = a ≠ 0, which the lazy SUB gives).
        const reg = x & 7;
        const op = (x >> 3) & 7;
        const a = r[reg] >>> 0;
        if (op === 2) r[reg] = notOf(a, 4);
        else if (op === 3) r[reg] = this.alu32(NEG_AS, 0, a);
        else this.mulAcc(a, 4, op === 5);
        return;
      }
      case 37 satisfies typeof D_IMUL3_R:
        r[(x >> 3) & 7] = this.imul2(r[x & 7] >>> 0, d[p + 3] >>> 0, 4);
        return;
      case 32 satisfies typeof D_NOP:
        return;
      case 33 satisfies typeof D_CDQ:
        r[EDX] = r[EAX] >> 31;
        return;
      case 45 satisfies typeof D_BSWAP:
        r[x] = bswap32(r[x]);
        return;
      case 46 satisfies typeof D_BITSCAN_R: {
        // BSF / BSR r32, r32 (bit-ops.ts, as bitScan): ZF alone; a 0 source leaves the destination.
        const v = r[(x >> 3) & 7];
        if (v === 0) {
          this.flags |= ZF;
          return;
        }
        this.flags &= ~ZF;
        r[x & 7] = bitIndex((x & 0x40) !== 0, v);
        return;
      }
      default:
        throw new Error(`cpu: handler ${w0 & 0x3f} is not a register form`); // an emulator bug
    }
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
        this.winHits = bp.hits;
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
    else if (this.dEpochs[frame] !== this.codeEpoch || (!this.codeSize32 && this.dWins[frame] !== winEip))
      this.clearDecodedPage(frame);
    this.dEpochs[frame] = this.codeEpoch;
    this.dWins[frame] = winEip;
    this.dUsed[frame] = 1;
    this.winPage = page;
    this.winFrame = frame;
    let bp: BlockPage | undefined;
    if (this.blockThreshold >= 0) {
      bp = this.bPages[frame];
      if (bp === undefined) bp = this.bPages[frame] = new BlockPage();
      this.winBlocks = bp.blocks;
      this.winHits = bp.hits;
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
    }
    this.dPages[frame] = page;
    this.dLists[frame] = list;
    this.dCounts[frame] = 0;
    this.dUsed[frame] = 1;
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
  protected winHits = new Int32Array(4096);
  /** The window's page's BlockPage.since. */
  protected winSince = new Int32Array(4096);
  protected readonly blockThreshold: number;
  /**
   * Compiled functions by their source: the same code compiled again (its page was cleared by the
   * epoch of outside writes, say) gets the same function, which V8 has already optimised.
   */
  protected readonly compiledBlocks = new Map<string, BlockFn>();
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
        this.winHits[idx] = 1;
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
      this.winHits[idx] = NEVER;
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
    d[p + 1] = this.dW1;
    d[p + 2] = this.dDisp;
    d[p + 3] = this.dImm;
    const o = base + idx;
    this.codeLines[o >>> 7] = 1;
    this.codeLines[(o + len - 1) >>> 7] = 1;
    return w0;
  }

  /** The linear address of a cached memory operand (sets eaSeg/eaOff for the segment checks). */
  protected dEa(w1: number, disp: number): number {
    const r = this.reg32;
    let off = disp;
    const base = w1 & 15;
    if (base < 8) off += r[base];
    const index = (w1 >> 4) & 15;
    if (index < 8) off += r[index] << ((w1 >> 8) & 3);
    off |= 0;
    const seg = (w1 >> 10) & 7;
    this.eaSeg = seg;
    this.eaOff = off;
    return (this.segBase[seg] + off) | 0;
  }

  /** The time-stamp counter: the machine clock's cycles plus what software wrote to IA32_TSC. */
  protected tsc(): number {
    return Math.max(0, this.env.tsc() + this.tscOffset);
  }

  /**
   * RDTSC (SDM vol. 2, RDTSC): EDX:EAX = the time-stamp counter; #GP(0) outside ring 0 (and in
   * virtual-8086 mode) when CR4.TSD = 1. step() checks that rule from the opcode table first.
   */
  protected rdtsc(): void {
    if (this._cr4 & CR4_TSD && this._cpl !== 0 && this._cr0 & CR0_PE) throw new CpuFault(GP, 0);
    const t = this.tsc();
    this.reg32[EAX] = t % 4294967296;
    this.reg32[EDX] = Math.floor(t / 4294967296);
  }

  /**
   * CLC STC CMC CLI STI CLD STD (`op` the opcode: F8 F9 F5 FA FB FC FD), for step() and the
   * cached D_FLAG and D_STI. CLI and STI are #GP(0) in protected mode at CPL > IOPL (SDM vol. 2,
   * CLI, STI; no CR4.PVI here, and VM86, where CPL = 3, is the same rule); IF = 0 can only hold
   * back interrupts, which the run loop and the blocks' entry test read as they are. STI that sets
   * IF opens the interrupt shadow (`attention`: events() holds interrupts for one instruction).
   * IF and DF are not arithmetic flags: they change without building the lazy ones.
   */
  flagOp(op: number): void {
    switch (op) {
      case 0xf5:
        this.flags ^= CF;
        return;
      case 0xf8:
        this.flags &= ~CF;
        return;
      case 0xf9:
        this.flags |= CF;
        return;
      case 0xfa:
        if (this._cr0 & CR0_PE && this._cpl > this.iopl) throw new CpuFault(GP, 0);
        this.fl &= ~IF;
        return;
      case 0xfb:
        if (this._cr0 & CR0_PE && this._cpl > this.iopl) throw new CpuFault(GP, 0);
        if (!(this.fl & IF)) {
          this.shadow = true;
          this.attention = 1;
        }
        this.fl |= IF;
        return;
      case 0xfc:
        this.fl &= ~DF;
        return;
      case 0xfd:
        this.fl |= DF;
        return;
    }
    throw new Error(`cpu: no flag instruction ${op}`); // an emulator bug
  }

  /**
   * IN and OUT (`op` the opcode: E4–E7 to an imm8 port, EC–EF to DX's) of a byte or `osz` bytes,
   * for step() and the cached D_IO: IOPL and the TSS bitmap first (checkIo), then the device, the
   * I/O breakpoints, and the epoch when a device may have written memory.
   */
  protected inOut(op: number, port: number, osz: number): void {
    const size = op & 1 ? osz : 1;
    this.checkIo(port, size);
    if (op & 2) this.env.io.write(port, size as AccessSize, this.getReg(EAX, size));
    else this.setReg(EAX, size, this.env.io.read(port, size as AccessSize));
    if (this.debugActive) this.ioBreakpoints(port, size);
    this.deviceAccessed(); // the device may have raised an interrupt request or written memory
  }

  /**
   * RDTSC in a compiled block, `retired` instructions past the count the block settles at its exit:
   * the count (which the icount clock reads) is the interpreter's for this instruction meanwhile.
   */
  rdtscAt(retired: number): void {
    this.instructions += retired;
    try {
      this.rdtsc();
    } finally {
      this.instructions -= retired;
    }
  }

  /** dRead32(dEa(…)) in one call (hot path: the loads of MOV, ALU, TEST, PUSH, CALL, JMP). */
  protected dLoad32(d: Int32Array, p: number): number {
    const w1 = d[p + 1];
    const r = this.reg32;
    let off = d[p + 2];
    const base = w1 & 15;
    if (base < 8) off += r[base];
    const index = (w1 >> 4) & 15;
    if (index < 8) off += r[index] << ((w1 >> 8) & 3);
    off |= 0;
    const s = (w1 >> 10) & 7;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) {
      this.eaSeg = s;
      this.eaOff = off;
      this.checkSeg(s, off, 4, false);
    }
    return this.readLin32((this.segBase[s] + off) | 0);
  }

  /** dWrite32(dEa(…), v) in one call (MOV stores). */
  protected dStore32(d: Int32Array, p: number, v: number): void {
    const w1 = d[p + 1];
    const r = this.reg32;
    let off = d[p + 2];
    const base = w1 & 15;
    if (base < 8) off += r[base];
    const index = (w1 >> 4) & 15;
    if (index < 8) off += r[index] << ((w1 >> 8) & 3);
    off |= 0;
    const s = (w1 >> 10) & 7;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) {
      this.eaSeg = s;
      this.eaOff = off;
      this.checkSeg(s, off, 4, true);
    }
    this.writeLin32((this.segBase[s] + off) | 0, v);
  }

  /** A 32-bit memory operand at `lin` (after dEa): the segment checks, then the access. */
  protected dRead32(lin: number): number {
    const s = this.eaSeg;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 4, false);
    return this.readLin32(lin);
  }
  protected dWrite32(lin: number, v: number): void {
    const s = this.eaSeg;
    if (this.segLimit[s] !== -1 || (this.segAttr[s] & 0xe00) !== 0x200) this.checkSeg(s, this.eaOff, 4, true);
    this.writeLin32(lin, v);
  }

  /**
   * The less frequent cached forms, run by the interpreter's own helpers: the decode state that
   * decodeModrm() would leave (modrm, ea, eaSeg, eaOff, sizes) is rebuilt from the entry.
   */
  execGeneric(x: number, d: Int32Array, p: number): void {
    const modrm = x & 0xff;
    this.modrm = modrm;
    // Operand size: 4, or 2 for the word forms (X16); addressing is 32-bit (decodeForm).
    const size = x & X16 ? 2 : 4;
    this.op32 = size === 4;
    this.ad32 = true;
    this.seg = NO_SEG;
    this.rep = 0;
    if (modrm < 0xc0) this.ea = this.dEa(d[p + 1], d[p + 2]);
    const imm = d[p + 3];
    const r = this.reg32;
    const extra = (x >>> 14) & 15;
    switch ((x >>> 8) & 63) {
      // gen:generic execGeneric (tools/gen-generic.ts, from generic-forms.ts, alu-ops.ts, move-ops.ts and the opcode table: do not edit)
      // ADD OR ADC SBB AND SUB XOR CMP AL, Ib (the operation: the payload's extra bits)
      case 1 satisfies typeof G_ALU8_AI: {
        const op = extra & 7;
        const res = this.alu(op, this.getReg(EAX, 1), imm & 0xff, 1);
        if (op !== 7) this.setReg(EAX, 1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Eb, Gb (the operation: the payload's extra bits)
      case 2 satisfies typeof G_ALU8_MR: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(1), this.getReg(this.reg, 1), 1);
        if (op !== 7) this.setRm(1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Gb, Eb (the operation: the payload's extra bits)
      case 3 satisfies typeof G_ALU8_RM: {
        const op = extra & 7;
        const res = this.alu(op, this.getReg(this.reg, 1), this.getRm(1), 1);
        if (op !== 7) this.setReg(this.reg, 1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Eb, Ib (the operation: the payload's extra bits)
      case 4 satisfies typeof G_ALU8_MI: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(1), imm & 0xff, 1);
        if (op !== 7) this.setRm(1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Gv (the operation: the payload's extra bits)
      case 23 satisfies typeof G_ALU_MR: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(size), this.getReg(this.reg, size), size);
        if (op !== 7) this.setRm(size, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Gv, Ev (the operation: the payload's extra bits)
      case 24 satisfies typeof G_ALU_RM: {
        const op = extra & 7;
        const res = this.alu(op, this.getReg(this.reg, size), this.getRm(size), size);
        if (op !== 7) this.setReg(this.reg, size, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Iv (the operation: the payload's extra bits)
      case 25 satisfies typeof G_ALU_MI: {
        const op = extra & 7;
        const res = this.alu(op, this.getRm(size), size === 4 ? imm >>> 0 : imm & 0xffff, size);
        if (op !== 7) this.setRm(size, res);
        return;
      }
      // TEST Eb, Gb
      case 8 satisfies typeof G_TEST8:
        this.alu(4, this.getRm(1), this.getReg(this.reg, 1), 1);
        return;
      // TEST Ev, Gv
      case 29 satisfies typeof G_TEST_MR:
        this.alu(4, this.getRm(size), this.getReg(this.reg, size), size);
        return;
      // TEST Eb, Ib
      case 9 satisfies typeof G_TEST8_MI:
        this.alu(4, this.getRm(1), imm & 0xff, 1);
        return;
      // TEST Ev, Iv
      case 10 satisfies typeof G_TEST_MI:
        this.alu(4, this.getRm(size), size === 4 ? imm >>> 0 : imm & 0xffff, size);
        return;
      // INC DEC Eb
      case 18 satisfies typeof G_INCDEC8:
        this.setRm(1, this.incdec(this.getRm(1), 1, this.reg === 1));
        return;
      // INC DEC Ev
      case 17 satisfies typeof G_INCDEC:
        this.setRm(size, this.incdec(this.getRm(size), size, this.reg === 1));
        return;
      // MOV Eb, Gb
      case 6 satisfies typeof G_MOV8_MR:
        this.setRm(1, this.getReg(this.reg, 1));
        return;
      // MOV Gb, Eb
      case 7 satisfies typeof G_MOV8_RM:
        this.setReg(this.reg, 1, this.getRm(1));
        return;
      // MOV Eb, Ib
      case 5 satisfies typeof G_MOV8_MI:
        this.setRm(1, imm & 0xff);
        return;
      // MOV Ev, Gv
      case 26 satisfies typeof G_MOV_MR:
        this.setRm(size, this.getReg(this.reg, size));
        return;
      // MOV Gv, Ev
      case 27 satisfies typeof G_MOV_RM:
        this.setReg(this.reg, size, this.getRm(size));
        return;
      // MOV Ev, Iv
      case 28 satisfies typeof G_MOV_MI:
        this.setRm(size, size === 4 ? imm >>> 0 : imm & 0xffff);
        return;
      // LEA Gv, M
      case 30 satisfies typeof G_LEA:
        this.setReg(this.reg, size, this.eaOff);
        return;
      // XCHG Eb, Gb
      case 37 satisfies typeof G_XCHG8: {
        const t = this.getRm(1);
        this.setRm(1, this.getReg(this.reg, 1));
        this.setReg(this.reg, 1, t);
        return;
      }
      // XCHG Ev, Gv
      case 38 satisfies typeof G_XCHG: {
        const t = this.getRm(size);
        this.setRm(size, this.getReg(this.reg, size));
        this.setReg(this.reg, size, t);
        return;
      }
      // end gen:generic
      case 11 satisfies typeof G_IMUL3:
        this.setReg(this.reg, size, this.imul2(this.getRm(size), size === 4 ? imm >>> 0 : imm & 0xffff, size));
        return;
      case 12 satisfies typeof G_IMUL2:
        this.setReg(this.reg, size, this.imul2(this.getReg(this.reg, size), this.getRm(size), size));
        return;
      case 13 satisfies typeof G_SHIFT:
      case 14 satisfies typeof G_SHIFT8: {
        const sz = ((x >>> 8) & 63) === G_SHIFT ? size : 1;
        const a = this.getRm(sz);
        this.setRm(sz, this.shift(this.reg, a, imm < 0 ? r[ECX] & 0xff : imm, sz));
        return;
      }
      case 15 satisfies typeof G_GRP3:
        return this.group3Body(size);
      case 16 satisfies typeof G_GRP3_8:
        return this.group3Body(1);
      case 20 satisfies typeof G_SETCC:
        this.setRm(1, this.cond(extra) ? 1 : 0);
        return;
      case 21 satisfies typeof G_CMOV: {
        const v = this.getRm(size);
        if (this.cond(extra)) this.setReg(this.reg, size, v);
        return;
      }
      case 22 satisfies typeof G_MOVX: {
        // extra: 0F B6 → 0, B7 → 1, BE → 8, BF → 9
        const from = extra & 1 ? 2 : 1;
        let v = this.getRm(from);
        if (extra & 8) v = signExtend(v, from);
        this.setReg(this.reg, size, v);
        return;
      }
      case 32 satisfies typeof G_BITSCAN:
        return this.bitScan((extra & 1) !== 0, size);
      case 31 satisfies typeof G_SHLD: {
        const count = (extra & 1 ? r[ECX] : imm) & 31;
        const res = this.shiftDouble((extra & 2) !== 0, this.getRm(size), this.getReg(this.reg, size), count, size);
        if (res >= 0) this.setRm(size, res);
        return;
      }
      case 33 satisfies typeof G_CMPXCHG:
        return this.cmpxchg(extra & 1 ? 1 : size);
      case 34 satisfies typeof G_XADD:
        return this.xadd(extra & 1 ? 1 : size);
      case 35 satisfies typeof G_BT:
        return this.bitOp(extra & 3, this.getReg(this.reg, size), size, true);
      case 36 satisfies typeof G_BTI:
        return this.bitOp(extra & 3, imm & 0xff, size, false);
    }
    throw new Error(`cpu: no cached form ${x}`);
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
  }
}
