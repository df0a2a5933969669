/**
 * The CPU's state in one place (the base of the Cpu class chain, see README.md "Layout"): the
 * general registers and EIP, EFLAGS with the lazy arithmetic flags, the segment registers with
 * their descriptor caches, GDTR/IDTR/LDTR/TR, CR0/CR2/CR4 (CR3 lives in the MMU), DR0–DR7, the
 * CPL, the run state, and the decode state of the instruction being executed.
 */
import { Mmu } from './mmu';
import type { CpuEnv } from './cpu';
import { ARITH, CF, IF, MASK, PARITY, RF, SF, SIGN, TF, ZF } from './flags';
import { NO_SEG, DS } from './arch';
import { X87 } from './fpu/x87';
import { LAZY_CF_KEPT, lazyCf, lazyFlags } from './alu-gen';

export abstract class CpuState {
  readonly reg32 = new Int32Array(8);
  _eip = 0;
  /**
   * EFLAGS, lazily (hot path): `fl` holds every bit except, while `lz` ≠ 0, the six arithmetic
   * flags, which are then those of the last ALU operation, kept as its kind (`lz`), operand size
   * (`lzSize`) and operands/result (`lzv`: a, b, result as int32). `flags` (get/set) is the exact
   * value; cond() and cfBit() answer from the lazy state without building it.
   */
  fl = 2;
  lz = 0;
  lzSize = 4;
  readonly lzv = new Int32Array(3);
  get flags(): number {
    if (this.lz !== 0) this.materialize();
    return this.fl;
  }
  set flags(v: number) {
    // IF, TF or RF newly set: the run loop's next boundary looks at them (events()).
    if (v & ~this.fl & (IF | TF | RF)) this.attention = 1;
    this.fl = v;
    this.lz = 0;
  }
  protected materialize(): void {
    const size = this.lzSize;
    const r = this.lzv[2] & MASK[size];
    // CF, OF and AF from the kind's own definition (alu-ops.ts), on the values sign-extended to int32.
    const sh = 32 - size * 8;
    const v = this.lzv;
    const f =
      (r === 0 ? ZF : 0) |
      (r & SIGN[size] ? SF : 0) |
      PARITY[r & 0xff] |
      lazyFlags(this.lz, (v[0] << sh) >> sh, (v[1] << sh) >> sh, (v[2] << sh) >> sh, this.fl);
    this.fl = (this.fl & ~ARITH) | f;
    this.lz = 0;
  }
  /** CF (0 or 1) without materializing the other flags. */
  cfBit(): number {
    const lz = this.lz;
    if (lz === 0 || LAZY_CF_KEPT[lz] !== 0) return this.fl & CF; // none, or INC/DEC: CF is in fl
    // The kind's own definition (alu-ops.ts); masked values keep the unsigned order.
    const mask = MASK[this.lzSize];
    const v = this.lzv;
    return lazyCf(lz, v[0] & mask, v[1] & mask, v[2] & mask, this.fl);
  }
  /** The x87 FPU (fpu/; decoded by fpu-ops.ts). */
  readonly fpu = new X87();
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Int32Array(6);
  /** Descriptor access byte and flags (bits 8–15: access; bit 22: D/B). */
  readonly segAttr = new Int32Array(6);
  protected gdtBase = 0;
  protected gdtLimit = 0xffff;
  protected idtBase = 0;
  protected idtLimit = 0x3ff;
  protected ldtSel = 0;
  protected ldtBase = 0;
  protected ldtLimit = 0;
  protected trSel = 0;
  protected trBase = 0;
  protected trLimit = 0;
  protected _cr0 = 0x60000010;
  protected _cr2 = 0;
  protected _cr4 = 0;
  protected readonly dr = new Int32Array(8);
  /** IA32_SYSENTER_CS/ESP/EIP (SYSENTER and SYSEXIT's targets). */
  protected sysenterCs = 0;
  protected sysenterEsp = 0;
  protected sysenterEip = 0;
  /** What WRMSR to IA32_TSC added to the machine clock's count, in cycles. */
  protected tscOffset = 0;
  _cpl = 0;
  protected codeSize32 = false;
  stackSize32 = false;

  instructions = 0;
  protected runEnd = 0;
  halted = false;
  protected stopRequested = false;
  protected shadow = false;
  /**
   * MOV SS or POP SS just ran: besides interrupts (`shadow`), debug exceptions wait until after the
   * next instruction (SDM vol. 3, 6.8.3). events() turns it into `afterSsLoad` for that instruction.
   */
  protected ssShadow = false;
  /** The instruction running follows a MOV SS or POP SS (its debug exceptions are held; see events()). */
  protected afterSsLoad = false;
  readonly mmu: Mmu;
  readonly tlb: Mmu;
  /** The machine memory as bytes and as 32-bit words (aligned accesses). */
  readonly u8: Uint8Array;
  readonly mem32: Int32Array;

  // The instruction being executed.
  start = 0;
  startEsp = 0;
  protected op32 = false;
  protected ad32 = false;
  protected seg = NO_SEG;
  protected rep = 0; // 0, 0xF2, 0xF3
  protected modrm = 0;
  protected ea = 0; // linear address of a memory operand
  /**
   * The trace of the last instructions (Cpu.recentEips): the interpreter writes each EIP into
   * traceRing; each exit of a compiled block leaves one record in the block ring (runInner
   * writes a whole pass's, Block.trace; the block the others) — its function's
   * trace id × 64 + how many of its instructions retired (blockTraceRecord), and the
   * interpreter's tracePos then, which places the record among the interpreter's entries
   * (blockTraceAt). blockTraceEips holds the EIPs of each function's instructions by trace id
   * (0: none).
   */
  readonly traceRing = new Int32Array(64);
  tracePos = 0;
  readonly blockTraceRecord = new Int32Array(64);
  readonly blockTraceAt = new Int32Array(64);
  blockTracePos = 0;
  readonly blockTraceEips: Int32Array[] = [new Int32Array(0)];

  /** See CpuEnv.externalCodeWrites. */
  protected readonly externalWrites: boolean;

  /** The instruction running began with EFLAGS.TF set: a #DB trap follows it (events()). */
  protected stepTrap = false;
  /** A task switch entered a TSS with its T bit set: a #DB trap before the task's first instruction. */
  protected taskTrap = false;
  /** Non-zero while stopRequested, shadow, halted or a #DB trap may be pending (see events()). */
  protected attention = 1;
  /**
   * DR7 enables a breakpoint (memory.ts, "debug registers"): every instruction then goes through
   * step() with the instruction breakpoints checked before it, as under TF, and the pages of data
   * breakpoints stay out of the TLB. False costs the loop nothing more than this field's test.
   */
  protected debugActive = false;
  /**
   * CS's limit can end the code before the 32-bit (16-bit: 16-bit) offset wraps, and SS's can
   * end the stack before its stack pointer wraps, or SS is expand-down (memory.ts,
   * segmentLimitsChanged, decided at each load of CS or SS): then instruction fetches and PUSH/
   * POP check them. Flat segments and real-mode ones never need it.
   */
  protected csLimitChecked = false;
  protected ssLimitChecked = false;
  /** debugActive, csLimitChecked or ssLimitChecked: the run loop sends every instruction to step(). */
  protected stepAlone = false;
  /** DR6.B0–B3 of data breakpoints hit by the instruction running: a #DB trap follows it. */
  protected breakpointHits = 0;

  protected trAttr = 0;

  eaSeg = DS;
  eaOff = 0;

  /** Where the ModR/M byte of the instruction step() runs starts (POP Ev decodes it again). */
  protected modrmAt = 0;
  /**
   * The immediates of the instruction step() runs, fetched by checkEncoding, zero-extended: the
   * first (Ib, Iw, Iv, Jb, Jv, moffs, a far pointer's offset), the second (its selector, ENTER's level).
   */
  protected imm1 = 0;
  protected imm2 = 0;

  /** Counts task switches that passed their commit point (raise() uses it: see there). */
  protected taskSwitches = 0;

  /** Per 128-byte line of machine memory: 1 when a decoded instruction starts or ends in it. */
  readonly codeLines: Uint8Array;
  /**
   * Set when a compiled block must stop after the current instruction: an access went to a
   * device (it may raise an interrupt or write memory), a store dropped a compiled block (SMC),
   * memory was changed from outside. Cleared when a block starts.
   */
  bBreak = 0;

  constructor(protected readonly env: CpuEnv) {
    this.externalWrites = env.externalCodeWrites !== false;
    this.mmu = new Mmu(env.memory, env.p2m, env.mmio, env.s2);
    this.u8 = env.memory.u8;
    this.mem32 = new Int32Array(env.memory.sab, 0, env.memory.sab.byteLength >> 2);
    this.tlb = this.mmu;
    this.codeLines = new Uint8Array((this.u8.length >>> 7) + 1);
  }
}
