/**
 * The IA-32 interpreter (first cut): real mode and 32/16-bit protected mode, rings with the TSS
 * stack switch on interrupts, IDT gates, exceptions with error codes, paging through the MMU
 * (mmu.ts) with exact A/D bits and the hypervisor's second stage.
 *
 * What is here and what is not is listed in README.md next to this file. Nothing a guest does
 * throws out of run(): guest faults are internal `CpuFault`/`PageFault` values turned into the
 * architectural exception; a fault while delivering one becomes #DF, and one more a triple fault.
 */
import type { MachineMemory } from '../memory';
import type { InterruptController, IoBus, MmioBus } from '../bus';
import type { P2m, SecondStageFaultHandler } from '../hv/p2m';
import { PageFault, PHYS_IO } from './mmu';
import { disassembleLines } from './disasm';
import { IF, PARITY, RF, TF } from './flags';
import { W1_BLOCK, W1_HIT, type Block } from './blocks';
import {
  CpuFault,
  CR0_PE,
  DR6_BS,
  DR6_BT,
  DR6_RESET,
  DR7_RESET,
  DR7_RW_EXECUTE,
  SoftInt,
  EDX,
  ESP,
  CS,
  DB,
  PF_,
} from './arch';
import {
  D_MAY_FAULT,
  D_STACK,
  D_SLOW,
  D_STEP,
  D_ALU_RR,
  D_ALU_RI,
  D_JCC,
  D_ALU_JCC,
  D_MOV_RR,
  D_MOV_RM,
  D_MOV_MR,
  D_MOV_RI,
  D_PUSH_R,
  D_POP_R,
  D_LEA,
  D_CALL,
  D_RET,
} from './decoded';
import { CpuSystem } from './system';

export interface CpuEnv {
  memory: MachineMemory;
  p2m: P2m;
  io: IoBus;
  mmio: MmioBus;
  pic: InterruptController;
  s2: SecondStageFaultHandler;
  tsc: () => number;
  /**
   * FERR#: an unmasked x87 exception became pending while CR0.NE = 0. The PC/AT routes it to
   * IRQ 13 (cleared by a write to port F0h); absent, the error is only reported as #MF.
   */
  fpuError?: () => void;
  /**
   * False when nothing but this CPU writes guest memory behind its back, except through
   * `codeChanged()` (the PC platform: its devices never write RAM in an I/O callback, and it
   * calls codeChanged() after loading an image or clearing VRAM). Then the decoded-instruction
   * cache is not distrusted at every run() and port or MMIO access — an idle guest's timer tick
   * would otherwise decode its handler afresh each time. Default true: anyone may write.
   */
  externalCodeWrites?: boolean;
  /**
   * The block compiler (blocks.ts): a run of cached instructions is compiled once it has started
   * this many times; 1 compiles on first execution (tests), -1 turns the compiler off (the
   * interpreter alone). Default BLOCK_THRESHOLD.
   */
  blockThreshold?: number;
  /**
   * Machine time, ms, for the block compiler's hotness window (CpuDecodedCache.compileAt): code
   * is compiled when it starts often within a short time, not merely often. Absent (a bare CPU,
   * benchmarks of the CPU alone), the count alone decides.
   */
  hotClockMs?: () => number;
}

export { BLOCK_THRESHOLD } from './decoded-cache';

export const RunExit = { BUDGET: 0, HLT: 1, TRIPLE_FAULT: 2, STOPPED: 3 } as const;
export type RunExit = (typeof RunExit)[keyof typeof RunExit];

const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export class Cpu extends CpuSystem {
  constructor(env: CpuEnv) {
    super(env);
    this.fpu.onPending = () => this.fpuPendingNow();
    this.reset();
  }

  // ---- the face ----------------------------------------------------------------------------------

  get eip(): number {
    return this._eip;
  }
  set eip(v: number) {
    this._eip = v | 0;
  }
  get cr0(): number {
    return this._cr0;
  }
  get cr2(): number {
    return this._cr2;
  }
  get cr3(): number {
    return this.mmu.cr3;
  }
  get cr4(): number {
    return this._cr4;
  }
  get cpl(): number {
    return this._cpl;
  }
  get interruptFlag(): boolean {
    return (this.fl & IF) !== 0;
  }
  getEflags(): number {
    return this.flags | 2;
  }
  setEflags(v: number): void {
    this.flags = (v & 0x3f7fd5) | 2;
  }
  requestStop(): void {
    this.stopRequested = true;
    this.attention = 1;
  }
  setA20(enabled: boolean): void {
    this.mmu.a20Mask = enabled ? -1 : ~0x100000;
    this.mmu.flush(false);
  }

  /** Power-on state (SDM vol. 3, 9.1.1). */
  reset(): void {
    this.reg32.fill(0);
    this.reg32[EDX] = 0x00000633;
    this.flags = 2;
    this._eip = 0xfff0;
    for (let s = 0; s < 6; s++) this.setRealSeg(s, 0);
    this.segSel[CS] = 0xf000;
    this.segBase[CS] = 0xffff0000 | 0;
    this._cr0 = 0x60000010;
    this._cr2 = 0;
    this._cr4 = 0;
    this.mmu.cr3 = 0;
    this.mmu.paging = false;
    this.mmu.wp = false;
    this.mmu.pse = false;
    this.mmu.pge = false;
    this.mmu.a20Mask = -1;
    this.mmu.flush(false);
    this.gdtBase = 0;
    this.gdtLimit = 0xffff;
    this.idtBase = 0;
    this.idtLimit = 0x3ff;
    // LDTR and TR: selector 0, base 0, limit 0xFFFF, present (SDM vol. 3, table 9-1); TR's type
    // a busy 32-bit TSS, as QEMU and Bochs give it.
    this.ldtSel = this.trSel = 0;
    this.ldtBase = this.trBase = 0;
    this.ldtLimit = this.trLimit = 0xffff;
    this.trAttr = 0x8b00;
    this._cpl = 0;
    this.codeSize32 = this.stackSize32 = false;
    this.halted = false;
    this.stopRequested = false;
    this.shadow = this.ssShadow = this.afterSsLoad = false;
    this.stepTrap = this.taskTrap = false;
    this.dr.fill(0);
    this.dr[6] = DR6_RESET;
    this.dr[7] = DR7_RESET;
    this.breakpointHits = 0;
    this.updateBreakpoints();
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.tscOffset = 0;
    // The x87 after RESET (SDM vol. 3, table 9-1): control word 0040H, status 0, every tag 01
    // (the registers hold +0.0), pointers and opcode 0.
    this.fpu.init();
    this.fpu.loadControlWord(0x0040);
    this.fpu.tagWord = 0x5555;
    this.fpu.fip = this.fpu.fcs = this.fpu.fdp = this.fpu.fds = this.fpu.fop = 0;
    this.dropWindow();
  }

  /** The Multiboot entry state: flat 4 GiB ring-0 code/data, CR0.PE = 1, paging off, IF = 0. */
  enterProtectedModeFlat(eip: number, regs: Record<string, number>): void {
    this.reset();
    this.reg32[EDX] = 0;
    this._cr0 = 0x11;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = s === CS ? 0x08 : 0x10;
      this.segBase[s] = 0;
      this.segLimit[s] = -1;
      this.segAttr[s] = (s === CS ? 0x9b00 : 0x9300) | (1 << 22) | (1 << 23);
    }
    this.codeSize32 = this.stackSize32 = true;
    this.dropWindow();
    this.segmentLimitsChanged();
    for (const [name, v] of Object.entries(regs)) {
      const i = REG_NAMES.indexOf(name);
      if (i >= 0) this.reg32[i] = v;
    }
    this._eip = eip | 0;
  }

  /** Runs up to maxInstructions; each REP iteration counts one. */
  run(maxInstructions: number): RunExit {
    if (this.externalWrites) this.codeChangedOutside(); // memory may have been written since the last slice
    const end = this.instructions + maxInstructions;
    this.runEnd = end;
    // Exceptions retire no instruction; a guest whose handlers fault at once forever (a real CPU
    // would loop too) must still give the host its thread back: deliveries count against the budget.
    let deliveries = 0;
    for (;;) {
      if (deliveries > maxInstructions) return RunExit.BUDGET;
      try {
        return this.runInner(end);
      } catch (e) {
        deliveries++;
        // A fault ends the instruction undone, INT n hands it to a handler entered with TF clear:
        // no single-step trap for either, nor a data breakpoint's. But the data breakpoints a
        // MOV SS or POP SS hit, held over the INT n, INT3 or INTO after it, are delivered once the
        // handler is entered, before its first instruction (SDM vol. 3, 6.8.3, as amended in 2018
        // for CVE-2018-8897: delivered "after the transfer"; Linux's mov_ss_trap selftest sees it
        // on hardware; Bochs drops them); a fault or an INT1 drops them (the same selftest).
        const held = e instanceof SoftInt && !e.privileged && this.afterSsLoad ? this.breakpointHits : 0;
        this.stepTrap = false;
        this.breakpointHits = 0;
        // Guest exceptions leave step() as values; the try sits outside the per-instruction loop.
        if (e instanceof SoftInt) {
          this.instructions++;
          if (!this.raise(e.vector, -1, !e.privileged, this._eip)) return RunExit.TRIPLE_FAULT;
          if (held !== 0) {
            this.breakpointHits |= held;
            this.attention = 1;
          }
        } else if (e instanceof PageFault || e instanceof CpuFault) {
          const vector = e instanceof PageFault ? PF_ : e.vector;
          if (e instanceof PageFault) this._cr2 = e.linear;
          // A fault pushes RF = 1, so that the instruction restarted after the handler's IRETD
          // does not stop at its own instruction breakpoint again; an instruction breakpoint's #DB
          // pushes RF as it is, 0 (SDM vol. 3, 17.3.1.1).
          if (vector !== DB && this._cr0 & CR0_PE) this.fl |= RF;
          this._eip = this.start;
          this.reg32[ESP] = this.startEsp;
          if (!this.raise(vector, e.errorCode, false, this.start)) return RunExit.TRIPLE_FAULT;
        } else {
          throw e; // a bug in the emulator, not a guest action
        }
        if (this.halted) return RunExit.HLT;
      }
    }
  }

  /** The instruction loop (hot path). */
  protected runInner(end: number): RunExit {
    const r = this.reg32;
    this.attention = 1;
    // EIP lives in `eip` here and in `_eip` elsewhere: written back before anything that reads
    // or changes `_eip` (events, step, execDecoded, returns); a fault restarts from `start`.
    let eip = this._eip | 0;
    // Whether this instruction may start a block: the first of the call, one after an event, a
    // control transfer, a step() instruction or a block, or on a newly opened window. Blocks end
    // at those (blocks.ts), so an instruction reached in sequence from a cached one that is none
    // of them lies inside the block of the one before: its block entry and hit count are not
    // read (two loads per instruction, most often host cache misses on cold code).
    let lead = true;
    while (this.instructions < end) {
      // One test for every event: events() would change nothing unless what it watches set
      // `attention` when it happened — requestStop, STI/MOV SS, HLT, a TSS's T bit, DR7, a segment
      // limit to check, EFLAGS.IF, TF or RF newly set (the flags setter, loadRf), and every port
      // or MMIO access and FERR# (deviceAccessed: only a device's callback raises an interrupt
      // request within a run; run() starts with attention set for those raised between runs).
      if (this.attention !== 0) {
        this._eip = eip;
        const exit = this.events();
        if (exit >= 0) return exit as RunExit;
        eip = this._eip | 0;
        lead = true;
        if (this.stepTrap || this.stepAlone) {
          // Single-stepping or breakpoints: each instruction alone through step() (no compiled
          // block, no fused compare-and-branch pair), so that the trap comes after every one of
          // them, and the instruction breakpoints are checked before it.
          this.traceRing[this.tracePos++ & 63] = eip;
          this.start = eip;
          this.startEsp = r[ESP];
          this._eip = eip;
          if (this.debugActive) this.instructionBreakpoints();
          this.step();
          eip = this._eip | 0;
          this.instructions++;
          if (this.attention !== 0 && this.halted) {
            this._eip = eip;
            return RunExit.HLT;
          }
          continue;
        }
      }
      this.traceRing[this.tracePos++ & 63] = eip;
      // The decoded-instruction cache (see "the decoded-instruction cache" below).
      // Int32 arithmetic throughout (an EIP below the window gives a negative offset, not a
      // uint32 beyond int32, which deoptimised this function the first time it happened).
      let idx = (eip - this.winEip) | 0;
      if ((idx & ~0xfff) !== 0 || this.winGen !== this.mmu.generation) {
        this.start = eip; // a fetch may fault
        this.startEsp = r[ESP];
        this._eip = eip;
        idx = this.openWindow() ? (eip - this.winEip) | 0 : 4096;
        lead = true;
      }
      const d = this.winPage;
      const p = idx << 2;
      let w0 = idx < 4096 ? d[p] : D_SLOW;
      if (w0 === 0) w0 = this.decodeAt(d, idx);
      if (lead && w0 !== D_SLOW && this.blockThreshold >= 0) {
        // A compiled block (blocks.ts) runs from here to its end in one call: when it fits the
        // budget, and not while events() left something to watch (an interrupt held by the
        // STI/MOV SS shadow is delivered after this one instruction).
        // Whether a block starts here and the hit count are in the entry's w1 (W1_BLOCK, W1_HIT),
        // on the cache line just read: the blocks are looked up only where the bit says so.
        const w1 = d[p + 1];
        let blk: Block | undefined;
        if ((w1 & W1_BLOCK) !== 0) blk = this.winBlocks[idx];
        else if ((d[p + 1] = w1 + W1_HIT) >> 14 >= this.hotThreshold) blk = this.compileAt(idx, eip);
        if (blk !== undefined && blk.eip === eip && this.instructions + blk.length <= end && this.attention === 0) {
          this.tracePos--; // the block's EIPs go into the trace's block ring instead
          eip = blk.run(this, end) | 0;
          // The record of a whole pass, unless the block left after a bBreak with its own.
          if (this.bBreak === 0) {
            const b = this.blockTracePos++ & 63;
            this.blockTraceRecord[b] = blk.trace;
            this.blockTraceAt[b] = this.tracePos;
          }
          // The blocks that follow, while the loop's checks would find nothing to do: no event,
          // a valid window. One on another page is found through that page's window, opened here
          // as the loop above would open it (most often from winCache).
          while (this.attention === 0 && this.winGen === this.mmu.generation) {
            let j = (eip - this.winEip) | 0;
            if ((j & ~0xfff) !== 0) {
              this.start = eip; // a fetch may fault
              this.startEsp = r[ESP];
              this._eip = eip;
              if (!this.openWindow()) break;
              j = (eip - this.winEip) | 0;
            }
            const next = this.winBlocks[j];
            if (next === undefined || next.eip !== eip || this.instructions + next.length > end) break;
            eip = next.run(this, end) | 0;
            if (this.bBreak === 0) {
              const b = this.blockTracePos++ & 63;
              this.blockTraceRecord[b] = next.trace;
              this.blockTraceAt[b] = this.tracePos;
            }
          }
          continue;
        }
      }
      const next = (eip + ((w0 >>> 8) & 15)) | 0;
      const x = w0 >>> 12;
      lead = false;
      let handled = true;
      // One switch on the handler (one indirect jump: on cold code, where the host's branch
      // predictor knows little, a chain of tests cost a misprediction each). The commonest forms
      // stay in the loop; the rest is a call. Each form that can fault first sets where it
      // restarts (run() restores EIP and ESP).
      switch (w0 & 0x3f) {
        case 1 satisfies typeof D_STEP:
          this.start = eip;
          this.startEsp = r[ESP];
          this._eip = eip;
          this.step();
          eip = this._eip | 0;
          lead = true;
          break;
        // gen:moves runInner (tools/gen-moves.ts, from move-ops.ts: do not edit)
        // MOV r32, r32
        case 10 satisfies typeof D_MOV_RR:
          r[x & 7] = r[(x >> 3) & 7];
          eip = next;
          break;
        // MOV r32, imm32
        case 13 satisfies typeof D_MOV_RI:
          r[x & 7] = d[p + 3];
          eip = next;
          break;
        // LEA r32, m
        case 15 satisfies typeof D_LEA: {
          const w1 = d[p + 1];
          let off = d[p + 2];
          const base = w1 & 15;
          if (base < 8) off = (off + r[base]) | 0;
          const index = (w1 >> 4) & 15;
          if (index < 8) off = (off + (r[index] << ((w1 >> 8) & 3))) | 0;
          r[x] = off;
          eip = next;
          break;
        }
        // MOV m32, r32
        case 11 satisfies typeof D_MOV_MR:
          this.start = eip;
          this.startEsp = r[ESP];
          this.dStore32(d, p, r[x & 7]);
          eip = next;
          break;
        // MOV r32, m32
        case 12 satisfies typeof D_MOV_RM:
          this.start = eip;
          this.startEsp = r[ESP];
          r[x & 7] = this.dLoad32(d, p);
          eip = next;
          break;
        // PUSH r32
        case 18 satisfies typeof D_PUSH_R:
          this.start = eip;
          this.startEsp = r[ESP];
          this.push32(r[x]);
          eip = next;
          break;
        // POP r32
        case 19 satisfies typeof D_POP_R: {
          this.start = eip;
          this.startEsp = r[ESP];
          const v = this.pop32();
          r[x] = v;
          eip = next;
          break;
        }
        // CALL rel32
        case 23 satisfies typeof D_CALL: {
          this.start = eip;
          this.startEsp = r[ESP];
          const t = (next + d[p + 3]) | 0;
          this.push32(next);
          eip = t | 0;
          lead = true;
          break;
        }
        // RET imm16
        case 24 satisfies typeof D_RET: {
          this.start = eip;
          this.startEsp = r[ESP];
          const t = this.pop32();
          if (d[p + 3] !== 0) this.addSp(d[p + 3]);
          eip = t | 0;
          lead = true;
          break;
        }
        // end gen:moves
        // A Jcc alone and the fused pair (CMP/TEST/SUB/… then Jcc, see fuseJcc: two instructions
        // in one dispatch) share the condition and the target: V8 deoptimised this function
        // when the first Jcc alone came after it was optimised, its sites without type feedback.
        case 21 satisfies typeof D_JCC:
        case 42 satisfies typeof D_ALU_JCC: {
          let cc = x;
          let at = 3; // the displacement's word: w3 for a Jcc, w2 for the pair
          let branch = true;
          if ((w0 & 0x3f) === D_ALU_JCC) {
            const op = x & 7;
            const dst = (x >> 3) & 7;
            const res = this.alu32(op, r[dst], x & 0x200 ? d[p + 3] : r[(x >> 6) & 7]);
            if (!(x & 0x400)) r[dst] = res;
            // The Jcc's EIP, computed on every path: the budget's path alone, reached late, had no
            // type feedback for the addition and deoptimised this function.
            const jcc = (eip + ((x >> 15) & 15)) | 0;
            cc = (x >> 11) & 15;
            at = 2;
            if (this.instructions + 1 < end) {
              this.instructions++; // the ALU instruction retires; the Jcc is counted below
              this.traceRing[this.tracePos++ & 63] = jcc;
            } else {
              eip = jcc; // budget: the Jcc runs from its own entry
              branch = false;
            }
          }
          if (branch) eip = this.cond(cc) ? (next + d[p + at]) | 0 : next;
          lead = true;
          break;
        }
        // The ALU group on registers, but ADC and SBB (which set every flag at once: execReg,
        // below), so that no site here is first reached by them: the first ADC, late in a run,
        // deoptimised this function.
        case 2 satisfies typeof D_ALU_RR: {
          const op = x & 7;
          if (op === 2 || op === 3) {
            handled = false;
            break;
          }
          const dst = (x >> 3) & 7;
          const res = this.alu32(op, r[dst], r[(x >> 6) & 7]);
          if (op !== 7) r[dst] = res;
          eip = next;
          break;
        }
        case 5 satisfies typeof D_ALU_RI: {
          const op = x & 7;
          if (op === 2 || op === 3) {
            handled = false;
            break;
          }
          const dst = (x >> 3) & 7;
          const res = this.alu32(op, r[dst], d[p + 3]);
          if (op !== 7) r[dst] = res;
          eip = next;
          break;
        }
        default:
          handled = false;
      }
      if (!handled) {
        // The rest through the handlers of decoded-exec.ts, from this one place.
        if (w0 & D_MAY_FAULT) {
          this.start = eip;
          this.startEsp = r[ESP];
        }
        this._eip = next;
        if (w0 & D_STACK) this.execStack(w0, x, d, p);
        else if (w0 & D_MAY_FAULT) this.execDecoded(w0, x, d, p);
        else this.execReg(w0, x, d, p);
        eip = this._eip | 0;
        // Of these forms, those a compiled block ends at (ENDS in block-gen-base.ts: JMP, CALL
        // and JMP through a register or memory) are the ones that transfer; a jump to the next
        // instruction merely skips a block lookup.
        lead = eip !== next;
      }
      this.instructions++;
      if (this.attention !== 0 && this.halted) {
        this._eip = eip;
        return RunExit.HLT;
      }
    }
    this._eip = eip;
    return this.stopRequested ? ((this.stopRequested = false), RunExit.STOPPED) : RunExit.BUDGET;
  }

  /**
   * Before an instruction: a requested stop, the STI/MOV SS shadow, a #DB trap (single-step, TSS
   * T bit), a pending interrupt (IF = 1), HLT; then arms the single-step trap for the instruction
   * about to run. Returns a RunExit, or -1 to go on; leaves `attention` 0 when nothing is left to
   * watch.
   */
  protected events(): number {
    if (this.stopRequested) {
      this.stopRequested = false;
      return RunExit.STOPPED;
    }
    // The instruction about to run follows MOV SS / POP SS (its breakpoints are not checked).
    this.afterSsLoad = this.ssShadow;
    this.ssShadow = false;
    // Both shadows hold interrupts on this boundary; only MOV SS's holds the #DB traps too. STI's
    // blocks maskable interrupts alone (SDM vol. 2, STI: it does "not prohibit the generation of
    // exceptions"; vol. 3's VMX interruptibility state: "blocking by STI" blocks maskable
    // interrupts, "blocking by MOV SS" debug exceptions as well), so a single-step over STI traps
    // right after it, as in Bochs (its STI inhibits interrupts only) and QEMU (its STI keeps TF).
    const holdInterrupts = this.shadow;
    this.shadow = false;
    if (!this.afterSsLoad && (this.stepTrap || this.taskTrap || this.breakpointHits !== 0)) {
      // Single-step (SDM vol. 3, 17.3.1.4): a trap after the instruction that began with TF set,
      // before any external interrupt (6.9); DR6.BS says why. A MOV SS shadow holds it one more.
      // A switch to a task whose TSS has T = 1 traps before its first instruction (DR6.BT).
      // Data breakpoints trap after the instruction that hit them, DR6.B0–B3 saying which
      // (17.3.1.2; B0–B3 replaced, as QEMU and Bochs do; BS and BT are added).
      let dr6 = this.dr[6] | (this.stepTrap ? DR6_BS : 0) | (this.taskTrap ? DR6_BT : 0);
      if (this.breakpointHits !== 0) dr6 = (dr6 & ~15) | this.breakpointHits;
      this.dr[6] = dr6;
      this.stepTrap = this.taskTrap = false;
      this.breakpointHits = 0;
      if (!this.raise(DB, -1, false, this._eip)) return RunExit.TRIPLE_FAULT;
    }
    // A #DB taken on the STI shadow's boundary used it up: a request waits for the boundary after
    // the handler's first instruction (as Bochs counts it), or its IRET (IF = 0 in between).
    let taken = false;
    if (!holdInterrupts && this.fl & IF && this.env.pic.hasInterrupt()) {
      this.halted = false;
      const vector = this.env.pic.acknowledge();
      if (!this.raise(vector, -1, false, this._eip)) return RunExit.TRIPLE_FAULT;
      taken = true;
    }
    if (this.halted) return RunExit.HLT;
    // RF lasts one instruction: cleared as it starts, after its instruction breakpoints were
    // checked (SDM vol. 3, 17.3.1.1: instructionBreakpoints() does it when any are armed).
    if (this.fl & RF && !this.debugActive) this.fl &= ~RF;
    // The instruction about to run traps after it if it begins with TF set.
    this.stepTrap = (this.fl & TF) !== 0;
    // The controller is asked again at the next boundary when this one held its request (the
    // shadow) or took one (another may wait behind it, for a handler entered with IF = 1).
    this.attention =
      holdInterrupts ||
      taken ||
      this.shadow ||
      this.stopRequested ||
      this.stepTrap ||
      this.taskTrap ||
      this.stepAlone ||
      this.afterSsLoad
        ? 1
        : 0;
    return -1;
  }

  /**
   * Before an instruction while DR7 arms a breakpoint: an instruction breakpoint (DR7.R/Wn = 00)
   * on its first byte's linear address is a #DB fault before it runs, DR6.Bn set, unless EFLAGS.RF
   * is set — then RF is cleared and the instruction runs (SDM vol. 3, 17.3.1.1). The instruction
   * after a MOV SS or POP SS is not stopped at: 17.3.1.1 says its breakpoint "may not be
   * triggered", as MOV SS inhibits debug exceptions there (6.8.3); Bochs does not check it.
   */
  protected instructionBreakpoints(): void {
    if (this.fl & RF) {
      this.fl &= ~RF;
      return;
    }
    if (this.afterSsLoad) return;
    const dr7 = this.dr[7];
    const lin = (this.segBase[CS] + this._eip) | 0;
    let hits = 0;
    for (let i = 0; i < 4; i++)
      if ((dr7 >>> (2 * i)) & 3 && ((dr7 >>> (16 + 4 * i)) & 3) === DR7_RW_EXECUTE && this.dr[i] === lin)
        hits |= 1 << i;
    if (hits !== 0) {
      this.dr[6] = (this.dr[6] & ~15) | hits;
      throw new CpuFault(DB, -1);
    }
  }
  /** The last n instructions executed (up to 63), disassembled: `eip: bytes  text`, oldest first. */
  trace(n: number): string[] {
    return this.recentEips(n).map((eip) => this.disassemble(eip, 1)[0]);
  }

  /**
   * The EIPs of the last n instructions executed (up to 63), oldest first: the interpreter's
   * entries and the compiled blocks' records (state.ts), merged backwards from the newest. A
   * block's record goes after the interpreter entries before its `at`; the walk stops where one
   * ring no longer holds what came next (runInner's write before a block may overwrite the
   * oldest interpreter entry: 63 of them count, and so at most 63 are asked of either).
   */
  recentEips(n: number): number[] {
    const out: number[] = [];
    const want = Math.min(n, 63);
    let ip = this.tracePos;
    let bi = this.blockTracePos;
    const ipMin = Math.max(0, ip - 63);
    const biMin = Math.max(0, bi - 64);
    // Interpreter entries older than the oldest record kept may interleave with records lost.
    const oldestAt = biMin > 0 ? this.blockTraceAt[biMin & 63] : 0;
    while (out.length < want) {
      if (bi > biMin && this.blockTraceAt[(bi - 1) & 63] >= ip) {
        const record = this.blockTraceRecord[(bi - 1) & 63];
        const eips = this.blockTraceEips[record >> 6];
        for (let j = (record & 63) - 1; j >= 0 && out.length < want; j--) out.push(eips[j]);
        bi--;
      } else if (ip > ipMin && (bi > biMin || ip - 1 >= oldestAt)) {
        out.push(this.traceRing[(ip - 1) & 63]);
        ip--;
      } else break;
    }
    return out.reverse();
  }

  /**
   * `count` instructions from offset `linear` in the current code segment (CS base added; the
   * name is historical), decoded in the current code size. Bytes are read with `peek`, which
   * leaves the guest as it was (unreadable bytes print as `??`, the instruction as `(bad)`).
   */
  disassemble(linear: number, count: number): string[] {
    return disassembleLines((at) => this.peek((this.segBase[CS] + at) | 0), linear, count, this.codeSize32);
  }

  /**
   * A byte at a linear address for the disassembler, or −1: through `mmu.probe`, which walks the
   * tables without setting A/D bits, filling the TLB or touching devices (a translation like an
   * access would set PTE.A on a TLB miss: a trace must not change the guest).
   */
  protected peek(linear: number): number {
    const o = this.mmu.probe(linear);
    return o === PHYS_IO ? -1 : this.u8[o];
  }
}

void PARITY;
