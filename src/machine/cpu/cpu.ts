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
import type { AccessSize, InterruptController, IoBus, MmioBus } from '../bus';
import type { P2m, SecondStageFaultHandler } from '../hv/p2m';
import {
  E_BAD_REG,
  E_DEFINED,
  E_LOCK,
  E_MEM_ONLY,
  E_MODRM,
  E_PROTECTED,
  E_REG_ONLY,
  E_RULES,
  ENCODING,
  IMM2_SHIFT,
  IMM_SHIFT,
  P_ADSIZE,
  P_LOCK,
  P_NONE,
  P_OPSIZE,
  P_SEG_LAST,
  PREFIX_KIND,
  PRIV_CPL0,
  PRIV_IOPL,
  PRIV_MASK,
  PRIV_TSD,
} from './decode-tables';
import { PageFault, PHYS_IO } from './mmu';
import { disassembleLines } from './disasm';
import { CF, DF, IF, MASK, OF, PARITY, SIGN, TF, VM, ZF, szp, mulHigh } from './flags';
import {
  CpuFault,
  EAX,
  ES,
  NO_SEG,
  DE,
  DR6_BS,
  DR6_BT,
  DR6_RESET,
  DR7_RESET,
  LAR_TYPES,
  LSL_TYPES,
  SoftInt,
  signExtend,
  ECX,
  EDX,
  EBX,
  ESP,
  EBP,
  CS,
  SS,
  DS,
  FS,
  GS,
  DB,
  BP,
  BR,
  UD,
  NM,
  NP,
  GP,
  PF_,
} from './arch';
import { D_MAY_FAULT, D_STACK, D_SLOW, D_ALU_RR, D_ALU_RI, D_MOV_RR, D_JCC, D_ALU_JCC } from './decoded';
import { CpuDecodedCache } from './decoded-cache';

export interface CpuEnv {
  memory: MachineMemory;
  p2m: P2m;
  io: IoBus;
  mmio: MmioBus;
  pic: InterruptController;
  s2: SecondStageFaultHandler;
  tsc: () => number;
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
}

export { BLOCK_THRESHOLD } from './decoded-cache';

export const RunExit = { BUDGET: 0, HLT: 1, TRIPLE_FAULT: 2, STOPPED: 3 } as const;
export type RunExit = (typeof RunExit)[keyof typeof RunExit];

const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export class Cpu extends CpuDecodedCache {
  constructor(env: CpuEnv) {
    super(env);
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
    this.shadow = false;
    this.stepTrap = this.taskTrap = false;
    this.dr.fill(0);
    this.dr[6] = DR6_RESET;
    this.dr[7] = DR7_RESET;
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
        // no single-step trap for either.
        this.stepTrap = false;
        // Guest exceptions leave step() as values; the try sits outside the per-instruction loop.
        if (e instanceof SoftInt) {
          this.instructions++;
          if (!this.raise(e.vector, -1, true, this._eip)) return RunExit.TRIPLE_FAULT;
        } else if (e instanceof PageFault || e instanceof CpuFault) {
          const vector = e instanceof PageFault ? PF_ : e.vector;
          if (e instanceof PageFault) this._cr2 = e.linear;
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
    let eip = this._eip;
    while (this.instructions < end) {
      // One test for the rare events (stop, interrupt shadow, HLT, a #DB trap) and one for IF or TF.
      if (this.attention !== 0 || this.fl & (IF | TF)) {
        this._eip = eip;
        const exit = this.events();
        if (exit >= 0) return exit as RunExit;
        eip = this._eip;
        if (this.stepTrap) {
          // Single-stepping: each instruction alone through step() (no compiled block, no fused
          // compare-and-branch pair), so that the trap comes after every one of them.
          this.traceRing[this.tracePos++ & 63] = eip;
          this.start = eip;
          this.startEsp = r[ESP];
          this._eip = eip;
          this.step();
          eip = this._eip;
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
      let idx = (eip - this.winEip) >>> 0;
      if (idx >= 4096 || this.winGen !== this.mmu.generation) {
        this.start = eip; // a fetch may fault
        this.startEsp = r[ESP];
        this._eip = eip;
        idx = this.openWindow() ? (eip - this.winEip) >>> 0 : 4096;
      }
      const d = this.winPage;
      const p = idx << 2;
      let w0 = idx < 4096 ? d[p] : D_SLOW;
      if (w0 === 0) w0 = this.decodeAt(d, idx);
      if (w0 !== D_SLOW && this.blockThreshold >= 0) {
        // A compiled block (blocks.ts) runs from here to its end in one call: when it fits the
        // budget, and not when an interrupt waits (only the STI/MOV SS shadow kept it from
        // events(); it is delivered after this one instruction).
        let blk = this.winBlocks[idx];
        if (blk === undefined && ++this.winHits[idx] >= this.blockThreshold) blk = this.compileAt(idx, eip);
        if (
          blk !== undefined &&
          blk.eip === eip &&
          this.instructions + blk.length <= end &&
          !(this.fl & IF && this.env.pic.hasInterrupt())
        ) {
          this.tracePos--; // the block writes the EIPs of its instructions into the ring itself
          eip = blk.run(this, end);
          // The blocks that follow, while the loop's checks would find nothing to do: no event
          // (no stop or shadow, no interrupt to deliver: events() asks the controller too), the
          // same window.
          while (
            this.attention === 0 &&
            this.winGen === this.mmu.generation &&
            !(this.fl & IF && this.env.pic.hasInterrupt())
          ) {
            const j = (eip - this.winEip) >>> 0;
            if (j >= 4096) break;
            const next = this.winBlocks[j];
            if (next === undefined || next.eip !== eip || this.instructions + next.length > end) break;
            eip = next.run(this, end);
          }
          continue;
        }
      }
      if (w0 & D_MAY_FAULT) {
        // Where a fault restarts (run() restores EIP and ESP); the other forms cannot fault.
        this.start = eip;
        this.startEsp = r[ESP];
      }
      if (w0 === D_SLOW) {
        this._eip = eip;
        this.step();
        eip = this._eip;
      } else {
        const next = (eip + ((w0 >>> 8) & 15)) | 0;
        const x = w0 >>> 12;
        const h = w0 & 0x3f;
        if (h === D_ALU_RR || h === D_ALU_RI) {
          // The commonest forms stay in the loop; the rest is a call.
          const op = x & 7;
          const dst = (x >> 3) & 7;
          const res = this.alu32(op, r[dst], h === D_ALU_RR ? r[(x >> 6) & 7] : d[p + 3]);
          if (op !== 7) r[dst] = res;
          eip = next;
        } else if (h === D_MOV_RR) {
          r[x & 7] = r[(x >> 3) & 7];
          eip = next;
        } else if (h === D_JCC) {
          eip = this.cond(x) ? (next + d[p + 3]) | 0 : next;
        } else if (h === D_ALU_JCC) {
          // CMP/TEST/SUB/… then Jcc, fused (see fuseJcc): two instructions in one dispatch.
          const op = x & 7;
          const dst = (x >> 3) & 7;
          const res = this.alu32(op, r[dst], x & 0x200 ? d[p + 3] : r[(x >> 6) & 7]);
          if (!(x & 0x400)) r[dst] = res;
          const len1 = (x >> 15) & 15;
          if (this.instructions + 1 < end) {
            this.instructions++; // the ALU instruction retires; the Jcc is counted below
            this.traceRing[this.tracePos++ & 63] = (eip + len1) | 0;
            eip = this.cond((x >> 11) & 15) ? (next + d[p + 2]) | 0 : next;
          } else eip = (eip + len1) | 0; // budget: the Jcc runs from its own entry
        } else {
          this._eip = next;
          if (w0 & D_STACK) this.execStack(w0, x, d, p);
          else if (w0 & D_MAY_FAULT) this.execDecoded(w0, x, d, p);
          else this.execReg(w0, x, d, p);
          eip = this._eip;
        }
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
    if (this.shadow) this.shadow = false;
    else {
      if (this.stepTrap || this.taskTrap) {
        // Single-step (SDM vol. 3, 17.3.1.4): a trap after the instruction that began with TF set,
        // before any external interrupt (6.9); DR6.BS says why. A MOV SS shadow holds it one more.
        // A switch to a task whose TSS has T = 1 traps before its first instruction (DR6.BT).
        this.dr[6] |= (this.stepTrap ? DR6_BS : 0) | (this.taskTrap ? DR6_BT : 0);
        this.stepTrap = this.taskTrap = false;
        if (!this.raise(DB, -1, false, this._eip)) return RunExit.TRIPLE_FAULT;
      }
      if (this.fl & IF && this.env.pic.hasInterrupt()) {
        this.halted = false;
        const vector = this.env.pic.acknowledge();
        if (!this.raise(vector, -1, false, this._eip)) return RunExit.TRIPLE_FAULT;
      }
    }
    if (this.halted) return RunExit.HLT;
    // The instruction about to run traps after it if it begins with TF set.
    this.stepTrap = (this.fl & TF) !== 0;
    this.attention = this.shadow || this.stopRequested || this.stepTrap || this.taskTrap ? 1 : 0;
    return -1;
  }
  /** The last n instructions executed (up to 64), disassembled: `eip: bytes  text`, oldest first. */
  trace(n: number): string[] {
    const out: string[] = [];
    const count = Math.min(n, 64, this.tracePos);
    for (let i = this.tracePos - count; i < this.tracePos; i++)
      out.push(this.disassemble(this.traceRing[i & 63], 1)[0]);
    return out;
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

  // ---- the interpreter ---------------------------------------------------------------------------

  protected step(): void {
    this.op32 = this.codeSize32;
    this.ad32 = this.codeSize32;
    this.seg = NO_SEG;
    this.rep = 0;
    let lock = false;
    let b: number;
    // An instruction longer than 15 bytes is #GP(0) (SDM vol. 2, 2.3.11); this also ends a
    // segment full of prefix bytes, which with a wrapping 16-bit IP would otherwise never end.
    for (let length = 0; ; length++) {
      if (length >= 15) throw new CpuFault(GP, 0);
      b = this.fetch8();
      // Which bytes are prefixes, and of what kind, the opcode table says (PREFIXES).
      const kind = PREFIX_KIND[b];
      if (kind === P_NONE) break;
      if (kind <= P_SEG_LAST)
        this.seg = kind - 1; // ES … GS in the segment-register order
      else if (kind === P_OPSIZE) this.op32 = !this.codeSize32;
      else if (kind === P_ADSIZE) this.ad32 = !this.codeSize32;
      else if (kind === P_LOCK) lock = true;
      else this.rep = b; // F2 / F3: what they mean depends on the opcode (stringOp)
    }
    const osz = this.op32 ? 4 : 2;
    if (b === 0x0f) return this.step0f(osz, lock);
    this.checkEncoding(b, lock);
    const r = this.reg32;

    if (b < 0x40 && (b & 7) < 6) {
      // ADD OR ADC SBB AND SUB XOR CMP in their six forms.
      const op = b >> 3;
      const form = b & 7;
      if (form < 4) {
        const size = form & 1 ? osz : 1;
        if (form < 2) {
          const res = this.alu(op, this.getRm(size), this.getReg(this.reg, size), size);
          if (op !== 7) this.setRm(size, res);
        } else {
          const res = this.alu(op, this.getReg(this.reg, size), this.getRm(size), size);
          if (op !== 7) this.setReg(this.reg, size, res);
        }
      } else {
        const size = form & 1 ? osz : 1;
        const res = this.alu(op, this.getReg(EAX, size), this.imm1, size);
        if (op !== 7) this.setReg(EAX, size, res);
      }
      return;
    }
    if (b >= 0x40 && b < 0x50) {
      this.setReg(b & 7, osz, this.incdec(this.getReg(b & 7, osz), osz, b >= 0x48));
      return;
    }
    if (b >= 0x50 && b < 0x58) {
      this.push(this.getReg(b & 7, osz));
      return;
    }
    if (b >= 0x58 && b < 0x60) {
      const v = this.pop();
      this.setReg(b & 7, osz, v);
      return;
    }
    if (b >= 0x70 && b < 0x80) {
      const d = (this.imm1 << 24) >> 24;
      if (this.cond(b & 15)) this.jumpRel(d);
      return;
    }
    if (b >= 0x91 && b < 0x98) {
      const t = this.getReg(b & 7, osz);
      this.setReg(b & 7, osz, this.getReg(EAX, osz));
      this.setReg(EAX, osz, t);
      return;
    }
    if (b >= 0xb0 && b < 0xb8) {
      this.setReg(b & 7, 1, this.imm1);
      return;
    }
    if (b >= 0xb8 && b < 0xc0) {
      this.setReg(b & 7, osz, this.imm1);
      return;
    }

    switch (b) {
      case 0x06:
      case 0x0e:
      case 0x16:
      case 0x1e:
        this.push(this.segSel[b >> 3]);
        return;
      case 0x07:
      case 0x17:
      case 0x1f: {
        const v = this.pop();
        this.loadSeg(b >> 3, v & 0xffff);
        return;
      }
      case 0x27:
      case 0x2f:
      case 0x37:
      case 0x3f:
        return this.bcd(b);
      case 0x60: {
        const sp = r[ESP];
        for (let i = 0; i < 8; i++) this.push(i === ESP ? sp : this.getReg(i, osz));
        return;
      }
      case 0x61:
        for (let i = 7; i >= 0; i--) {
          const v = this.pop();
          if (i !== ESP) this.setReg(i, osz, v);
        }
        return;
      case 0x62: {
        // BOUND r, m16&16 / m32&32: #BR (a fault) when the signed index lies outside [lower, upper];
        // a register operand is #UD (SDM vol. 2, BOUND; the table's Ma, checked in checkEncoding).
        this.checkSeg(this.eaSeg, this.eaOff + this.ea - this.eaLin(), 2 * osz, false);
        const shift = 32 - 8 * osz;
        const lower = (this.readLin(this.ea, osz) << shift) >> shift;
        const upper = (this.readLin(this.ea + osz, osz) << shift) >> shift;
        const index = (this.getReg(this.reg, osz) << shift) >> shift;
        if (index < lower || index > upper) throw new CpuFault(BR, -1);
        return;
      }
      case 0x63: {
        // ARPL r/m16, r16: raise the destination selector's RPL to the source's; ZF says whether it
        // changed. Not recognised in real or virtual-8086 mode (#UD; SDM vol. 2, ARPL: the table's
        // protectedOnly, checked in checkEncoding).
        const dest = this.getRm(2);
        const src = this.getReg(this.reg, 2);
        if ((dest & 3) < (src & 3)) {
          this.setRm(2, (dest & ~3) | (src & 3));
          this.flags |= ZF;
        } else this.flags &= ~ZF;
        return;
      }
      case 0x68:
        this.push(this.imm1);
        return;
      case 0x6a:
        this.push((this.imm1 << 24) >> 24);
        return;
      case 0x69:
      case 0x6b: {
        const a = this.getRm(osz);
        const imm = b === 0x69 ? this.imm1 : (this.imm1 << 24) >> 24;
        this.setReg(this.reg, osz, this.imul2(a, imm, osz));
        return;
      }
      case 0x6c:
      case 0x6d:
      case 0x6e:
      case 0x6f:
        return this.stringOp(b & 0xfe, b & 1 ? osz : 1);
      case 0x80:
      case 0x81:
      case 0x82:
      case 0x83: {
        const size = b & 1 ? osz : 1;
        const a = this.getRm(size);
        let imm = this.imm1;
        if (b === 0x83) imm = (((imm << 24) >> 24) & MASK[size]) >>> 0;
        const op = this.reg;
        const res = this.alu(op, a, imm, size);
        if (op !== 7) this.setRm(size, res);
        return;
      }
      case 0x84:
      case 0x85: {
        const size = b & 1 ? osz : 1;
        this.alu(4, this.getRm(size), this.getReg(this.reg, size), size);
        return;
      }
      case 0x86:
      case 0x87: {
        const size = b & 1 ? osz : 1;
        const a = this.getRm(size);
        this.setRm(size, this.getReg(this.reg, size));
        this.setReg(this.reg, size, a);
        return;
      }
      case 0x88:
      case 0x89: {
        const size = b & 1 ? osz : 1;
        this.setRm(size, this.getReg(this.reg, size));
        return;
      }
      case 0x8a:
      case 0x8b: {
        const size = b & 1 ? osz : 1;
        this.setReg(this.reg, size, this.getRm(size));
        return;
      }
      case 0x8c:
        if (this.modrm >= 0xc0) this.setReg(this.modrm & 7, osz, this.segSel[this.reg]);
        else this.writeLin16(this.ea, this.segSel[this.reg]);
        return;
      case 0x8d:
        this.setReg(this.reg, osz, this.eaOff); // the offset, of address size (decodeModrm)
        return;
      case 0x8e:
        this.loadSeg(this.reg, this.getRm(2));
        return;
      case 0x8f: {
        const v = this.pop();
        // The address is computed after the pop (SDM vol. 2, POP: ESP as a base register): again.
        this._eip = this.modrmAt;
        this.decodeModrm();
        this.setRm(osz, v);
        return;
      }
      case 0x90:
        return;
      case 0x98:
        if (this.op32) r[EAX] = (r[EAX] << 16) >> 16;
        else this.setReg(EAX, 2, (r[EAX] << 24) >> 24);
        return;
      case 0x99:
        if (this.op32) r[EDX] = r[EAX] >> 31;
        else this.setReg(EDX, 2, (r[EAX] << 16) >> 31);
        return;
      case 0x9a:
        this.farCall(this.imm2, this.imm1);
        return;
      case 0x9b:
        return;
      case 0x9c:
        if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0); // IOPL-sensitive in VM86 (SDM vol. 3, 20.2.7)
        this.push(this.flags & (this.op32 ? 0x3cffd7 : 0xffff));
        return;
      case 0x9d:
        if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0);
        this.setFlagsFrom(this.pop(), osz);
        return;
      case 0x9e:
        this.flags = (this.flags & ~0xd5) | ((r[EAX] >> 8) & 0xd5) | 2;
        return;
      case 0x9f:
        this.setReg(4, 1, (this.flags & 0xd7) | 2);
        return;
      case 0xa0:
      case 0xa1:
      case 0xa2:
      case 0xa3: {
        const size = b & 1 ? osz : 1;
        const off = this.imm1;
        const sreg = this.seg === NO_SEG ? DS : this.seg;
        this.checkSeg(sreg, off, size, b >= 0xa2);
        const lin = (this.segBase[sreg] + off) | 0;
        if (b < 0xa2) this.setReg(EAX, size, this.readLin(lin, size));
        else this.writeLin(lin, size, this.getReg(EAX, size));
        return;
      }
      case 0xa4:
      case 0xa5:
      case 0xa6:
      case 0xa7:
      case 0xaa:
      case 0xab:
      case 0xac:
      case 0xad:
      case 0xae:
      case 0xaf:
        return this.stringOp(b & 0xfe, b & 1 ? osz : 1);
      case 0xa8:
        this.alu(4, r[EAX] & 0xff, this.imm1, 1);
        return;
      case 0xa9:
        this.alu(4, this.getReg(EAX, osz), this.imm1, osz);
        return;
      case 0xc0:
      case 0xc1:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const size = b & 1 ? osz : 1;
        const a = this.getRm(size);
        const count = b < 0xd0 ? this.imm1 : b < 0xd2 ? 1 : r[ECX] & 0xff;
        this.setRm(size, this.shift(this.reg, a, count, size));
        return;
      }
      case 0xc2:
      case 0xc3: {
        const n = b === 0xc2 ? this.imm1 : 0;
        const to = this.pop();
        this.addSp(n);
        this._eip = to;
        return;
      }
      case 0xc4:
      case 0xc5: {
        const off = this.readLin(this.ea, osz);
        const sel = this.readLin16(this.ea + osz);
        this.loadSeg(b === 0xc4 ? ES : DS, sel);
        this.setReg(this.reg, osz, off);
        return;
      }
      case 0xc6:
      case 0xc7: {
        const size = b & 1 ? osz : 1;
        this.setRm(size, this.imm1);
        return;
      }
      case 0xc8: {
        const size = this.imm1;
        const level = this.imm2 & 31;
        this.push(this.getReg(EBP, osz));
        const frame = this.stackSize32 ? r[ESP] : r[ESP] & 0xffff;
        for (let i = 1; i < level; i++) {
          const bp = this.stackSize32 ? r[EBP] - i * osz : (r[EBP] - i * osz) & 0xffff;
          this.push(this.readLin(this.segBase[SS] + bp, osz));
        }
        if (level > 0) this.push(frame);
        this.setReg(EBP, this.stackSize32 ? 4 : 2, frame);
        this.addSp(-size);
        return;
      }
      case 0xc9:
        if (this.stackSize32) r[ESP] = r[EBP];
        else this.setReg(ESP, 2, r[EBP]);
        this.setReg(EBP, osz, this.pop());
        return;
      case 0xca:
      case 0xcb: {
        const n = b === 0xca ? this.imm1 : 0;
        this.farReturn(n);
        return;
      }
      case 0xcc:
        throw new SoftInt(BP);
      case 0xcd:
        // INT n (not INT3, INTO) is IOPL-sensitive in VM86 without CR4.VME (SDM vol. 2, INT n).
        if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0);
        throw new SoftInt(this.imm1);
      case 0xce:
        if (this.flags & OF) throw new SoftInt(4);
        return;
      case 0xcf:
        this.iret();
        return;
      case 0xd4: {
        const base = this.imm1;
        if (base === 0) throw new CpuFault(DE, -1);
        const al = r[EAX] & 0xff;
        const v = (Math.floor(al / base) << 8) | (al % base);
        this.setReg(EAX, 2, v);
        this.setArith(szp(v & 0xff, 1));
        return;
      }
      case 0xd5: {
        const base = this.imm1;
        const v = ((r[EAX] & 0xff) + ((r[EAX] >> 8) & 0xff) * base) & 0xff;
        this.setReg(EAX, 2, v);
        this.setArith(szp(v, 1));
        return;
      }
      case 0xd6:
        this.setReg(EAX, 1, this.flags & CF ? 0xff : 0);
        return;
      case 0xd7: {
        const off = this.ad32 ? (r[EBX] + (r[EAX] & 0xff)) | 0 : (r[EBX] + (r[EAX] & 0xff)) & 0xffff;
        this.setReg(EAX, 1, this.readLin8(this.segBase[this.seg === NO_SEG ? DS : this.seg] + off));
        return;
      }
      case 0xd8:
      case 0xd9:
      case 0xda:
      case 0xdb:
      case 0xdc:
      case 0xdd:
      case 0xde:
      case 0xdf:
        // No x87: CR0.EM or CR0.TS → #NM, otherwise the FPU is absent and the opcode is #UD.
        if (this._cr0 & 0xc) throw new CpuFault(NM, -1);
        throw new CpuFault(UD, -1);
      case 0xe0:
      case 0xe1:
      case 0xe2: {
        const d = (this.imm1 << 24) >> 24;
        const c = this.ad32 ? (r[ECX] = r[ECX] - 1) : (this.setReg(ECX, 2, r[ECX] - 1), r[ECX] & 0xffff);
        const z = (this.flags & ZF) !== 0;
        if (c !== 0 && (b === 0xe2 || (b === 0xe1 ? z : !z))) this.jumpRel(d);
        return;
      }
      case 0xe3: {
        const d = (this.imm1 << 24) >> 24;
        if ((this.ad32 ? r[ECX] : r[ECX] & 0xffff) === 0) this.jumpRel(d);
        return;
      }
      case 0xe4:
      case 0xe5:
      case 0xec:
      case 0xed: {
        const size = b & 1 ? osz : 1;
        const port = b < 0xe8 ? this.imm1 : r[EDX] & 0xffff;
        this.checkIo(port, size);
        this.setReg(EAX, size, this.env.io.read(port, size as AccessSize));
        if (this.externalWrites) this.codeChangedOutside(); // a device may have written memory
        return;
      }
      case 0xe6:
      case 0xe7:
      case 0xee:
      case 0xef: {
        const size = b & 1 ? osz : 1;
        const port = b < 0xe8 ? this.imm1 : r[EDX] & 0xffff;
        this.checkIo(port, size);
        this.env.io.write(port, size as AccessSize, this.getReg(EAX, size));
        if (this.externalWrites) this.codeChangedOutside(); // a device may have written memory
        return;
      }
      case 0xe8: {
        const d = this.imm1;
        this.push(this._eip);
        this.jumpRel(osz === 2 ? (d << 16) >> 16 : d | 0);
        return;
      }
      case 0xe9: {
        const d = this.imm1;
        this.jumpRel(osz === 2 ? (d << 16) >> 16 : d | 0);
        return;
      }
      case 0xea:
        this.farJump(this.imm2, this.imm1);
        return;
      case 0xeb:
        this.jumpRel((this.imm1 << 24) >> 24);
        return;
      case 0xf1:
        throw new CpuFault(DB, -1);
      case 0xf4:
        this.halted = true;
        this.attention = 1;
        return;
      case 0xf5:
        this.flags ^= CF;
        return;
      case 0xf6:
      case 0xf7:
        return this.group3Body(b & 1 ? osz : 1);
      case 0xf8:
        this.flags &= ~CF;
        return;
      case 0xf9:
        this.flags |= CF;
        return;
      case 0xfa:
      case 0xfb:
        if (b === 0xfa) this.flags &= ~IF;
        else {
          if (!(this.fl & IF)) {
            this.shadow = true;
            this.attention = 1;
          }
          this.flags |= IF;
        }
        return;
      case 0xfc:
        this.flags &= ~DF;
        return;
      case 0xfd:
        this.flags |= DF;
        return;
      case 0xfe: {
        this.setRm(1, this.incdec(this.getRm(1), 1, this.reg === 1));
        return;
      }
      case 0xff:
        return this.group5(osz);
    }
    // Not reached: checkEncoding raised #UD for every opcode the table does not list, and the
    // table lists only what this switch runs (tests/cpu/decode-agreement.test.ts).
    throw new CpuFault(UD, -1);
  }

  /**
   * What the opcode table says about the opcode being decoded (index 0x000–0x1ff: decode-tables.ts),
   * checked before it runs, its ModR/M byte (if any) not yet consumed: #UD for an opcode or group
   * member the table does not list, for mod = 11 on a memory-only operand, for LOCK anywhere but
   * on a lockable instruction with a memory destination (SDM vol. 2, LOCK), for a protected-mode-
   * only instruction in real mode; then the privilege rule (#GP(0)); then #UD for a reg field that
   * names no register. Decode faults come before execution faults (SDM vol. 3, 6.9, table 6-2).
   */
  protected checkEncoding(op: number, lock: boolean): void {
    let e = ENCODING[op << 3];
    if (e & E_MODRM) {
      // The ModR/M byte (SIB, displacement) of every opcode the table gives one is decoded here;
      // MOV CRn/DRn ignore mod: the byte alone. Its reg field picks the group member.
      if (e & E_REG_ONLY) this.modrm = this.fetch8();
      else {
        this.modrmAt = this._eip;
        this.decodeModrm();
      }
      const modrm = this.modrm;
      e = ENCODING[(op << 3) | ((modrm >> 3) & 7)];
      if (modrm >= 0xc0 && e & E_MEM_ONLY) throw new CpuFault(UD, -1);
    }
    // One test for the common case: listed, no LOCK, no mode or privilege rule.
    if ((e & (E_DEFINED | E_RULES)) !== E_DEFINED || lock) this.checkRules(e, lock);
    // The immediate bytes, as many as the table says (SDM order: after ModR/M, SIB, displacement).
    const n = (e >>> (IMM_SHIFT + (this.op32 ? 3 : 0) + (this.ad32 ? 6 : 0))) & 7;
    if (n === 1) this.imm1 = this.fetch8();
    else if (n !== 0) {
      const second = (e >>> IMM2_SHIFT) & 3;
      this.imm1 = this.fetchImm(n - second);
      if (second !== 0) this.imm2 = this.fetchImm(second);
    }
  }

  /** checkEncoding's rarer half: not listed, LOCK, protected-mode only, privilege, no such register. */
  protected checkRules(e: number, lock: boolean): void {
    if (!(e & E_DEFINED)) throw new CpuFault(UD, -1);
    if (lock && (!(e & E_LOCK) || !(e & E_MODRM) || this.modrm >= 0xc0)) throw new CpuFault(UD, -1);
    if (e & E_PROTECTED && (!(this._cr0 & 1) || this.fl & VM)) throw new CpuFault(UD, -1);
    const privilege = e & PRIV_MASK;
    if (privilege === PRIV_CPL0) this.requireCpl0();
    else if (privilege === PRIV_IOPL) {
      if (this._cr0 & 1 && this._cpl > this.iopl) throw new CpuFault(GP, 0);
    } else if (privilege === PRIV_TSD) {
      if (this._cr4 & 4 && this._cpl !== 0 && this._cr0 & 1) throw new CpuFault(GP, 0);
    } // PRIV_IO: IOPL, then the TSS bitmap for the port (checkIo, once the port is known).
    if (e & E_BAD_REG) throw new CpuFault(UD, -1);
  }

  protected jumpRel(d: number): void {
    this._eip = this.op32 ? (this._eip + d) | 0 : (this._eip + d) & 0xffff;
  }

  /** Group 3, after checkEncoding decoded its ModR/M and (TEST) its immediate. */
  protected group3Body(size: number): void {
    const r = this.reg32;
    const a = this.getRm(size);
    switch (this.reg) {
      case 0:
      case 1:
        this.alu(4, a, this.imm1, size); // TEST: from step() only (the cache has its own forms)
        return;
      case 2:
        this.setRm(size, ~a & MASK[size]);
        return;
      case 3:
        this.setRm(size, this.alu(5, 0, a, size));
        if (a !== 0) this.flags |= CF;
        else this.flags &= ~CF;
        return;
      case 4:
      case 5: {
        // MUL / IMUL: CF = OF = the high half is significant.
        const signed = this.reg === 5;
        const x = signed ? signExtend(this.getReg(EAX, size), size) : this.getReg(EAX, size);
        const y = signed ? signExtend(a, size) : a;
        let over: boolean;
        if (size === 4) {
          // 32 × 32 → 64 in doubles (no BigInt on the hot path): the high half from 16-bit limbs,
          // then the signed correction hi − (x<0 ? b : 0) − (y<0 ? a : 0) (mod 2^32).
          const ua = this.getReg(EAX, 4);
          const ub = a;
          const lo = Math.imul(ua, ub) >>> 0;
          let hi = mulHigh(ua, ub);
          if (signed) hi = (hi - (x < 0 ? ub : 0) - (y < 0 ? ua : 0)) >>> 0;
          r[EAX] = lo;
          r[EDX] = hi;
          over = signed ? hi !== (lo >> 31) >>> 0 : hi !== 0;
          this.setArith((over ? CF | OF : 0) | szp(lo, 4));
        } else {
          const p = x * y;
          if (size === 1) {
            this.setReg(EAX, 2, p);
            over = signed ? (p << 24) >> 24 !== p : p > 0xff;
          } else {
            this.setReg(EAX, 2, p);
            this.setReg(EDX, 2, p >> 16);
            over = signed ? (p << 16) >> 16 !== p : p > 0xffff;
          }
          this.setArith((over ? CF | OF : 0) | szp(p & MASK[size], size));
        }
        return;
      }
      default: {
        // DIV / IDIV: #DE on a zero divisor or a quotient that does not fit.
        const signed = this.reg === 7;
        if (a === 0) throw new CpuFault(DE, -1);
        if (size === 4 && !signed && r[EDX] >>> 0 < 0x200000) {
          // The dividend fits a double exactly: divide in doubles and correct the rounding.
          const n = (r[EDX] >>> 0) * 4294967296 + (r[EAX] >>> 0);
          let q = Math.floor(n / a);
          let rem = n - q * a;
          if (rem < 0) {
            q--;
            rem += a;
          } else if (rem >= a) {
            q++;
            rem -= a;
          }
          if (q > 0xffffffff) throw new CpuFault(DE, -1);
          r[EAX] = q;
          r[EDX] = rem;
        } else if (size === 4 && signed && r[EDX] === r[EAX] >> 31) {
          const n = r[EAX];
          const d = a | 0;
          if (n === -0x80000000 && d === -1) throw new CpuFault(DE, -1);
          r[EAX] = Math.trunc(n / d);
          r[EDX] = n % d;
        } else if (size === 4) {
          const n = (BigInt(r[EDX] >>> 0) << 32n) | BigInt(r[EAX] >>> 0);
          const dividend = signed ? BigInt.asIntN(64, n) : n;
          const d = BigInt(signed ? a | 0 : a);
          const q = dividend / d;
          const rem = dividend % d;
          if (signed ? q > 0x7fffffffn || q < -0x80000000n : q > 0xffffffffn) throw new CpuFault(DE, -1);
          r[EAX] = Number(BigInt.asIntN(32, q));
          r[EDX] = Number(BigInt.asIntN(32, rem));
        } else {
          const bits = size * 8;
          const n = size === 1 ? r[EAX] & 0xffff : ((r[EDX] & 0xffff) << 16) | (r[EAX] & 0xffff);
          const dividend = signed ? (size === 1 ? (n << 16) >> 16 : n | 0) : n >>> 0;
          const d = signed ? signExtend(a, size) : a;
          const q = Math.trunc(dividend / d);
          const rem = dividend - q * d;
          const limit = 2 ** bits;
          if (signed ? q >= limit / 2 || q < -limit / 2 : q >= limit) throw new CpuFault(DE, -1);
          if (size === 1) this.setReg(EAX, 2, (q & 0xff) | ((rem & 0xff) << 8));
          else {
            this.setReg(EAX, 2, q);
            this.setReg(EDX, 2, rem);
          }
        }
        return;
      }
    }
  }

  protected group5(osz: number): void {
    switch (this.reg) {
      case 0:
      case 1:
        this.setRm(osz, this.incdec(this.getRm(osz), osz, this.reg === 1));
        return;
      case 2: {
        const to = this.getRm(osz);
        this.push(this._eip);
        this._eip = to;
        return;
      }
      case 3:
      case 5: {
        const off = this.readLin(this.ea, osz);
        const sel = this.readLin16(this.ea + osz);
        if (this.reg === 3) this.farCall(sel, off);
        else this.farJump(sel, off);
        return;
      }
      case 4:
        this._eip = this.getRm(osz);
        return;
      case 6:
        this.push(this.getRm(osz));
        return;
    }
  }

  // ---- 0F xx -------------------------------------------------------------------------------------

  protected step0f(osz: number, lock: boolean): void {
    const b = this.fetch8();
    this.checkEncoding(0x100 | b, lock);
    const r = this.reg32;
    if (b >= 0x80 && b < 0x90) {
      const d = this.imm1;
      if (this.cond(b & 15)) this.jumpRel(osz === 2 ? (d << 16) >> 16 : d | 0);
      return;
    }
    if (b >= 0x90 && b < 0xa0) {
      this.setRm(1, this.cond(b & 15) ? 1 : 0);
      return;
    }
    if (b >= 0x40 && b < 0x50) {
      const v = this.getRm(osz);
      if (this.cond(b & 15)) this.setReg(this.reg, osz, v);
      return;
    }
    if (b >= 0xc8 && b <= 0xcf) {
      const v = r[b & 7];
      r[b & 7] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
      return;
    }
    switch (b) {
      case 0x00:
        return this.group6();
      case 0x01:
        return this.group7(osz);
      case 0x02:
      case 0x03: {
        const d = this.accessibleDescriptor(this.getRm(2), b === 0x02 ? LAR_TYPES : LSL_TYPES);
        if (d === null) {
          this.flags &= ~ZF;
          return;
        }
        this.flags |= ZF;
        this.setReg(this.reg, osz, b === 0x02 ? d[1] & 0x00ffff00 : this.limitOf(d[0], d[1]));
        return;
      }
      case 0x06:
        this._cr0 &= ~8;
        return;
      case 0x08:
      case 0x09:
        return;
      case 0x0b:
        throw new CpuFault(UD, -1);
      case 0x1f:
        return;
      case 0x20:
      case 0x22: {
        const modrm = this.modrm;
        const cr = (modrm >> 3) & 7;
        const reg = modrm & 7;
        if (b === 0x20) {
          r[reg] = cr === 0 ? this._cr0 : cr === 2 ? this._cr2 : cr === 3 ? this.mmu.cr3 : this._cr4;
        } else {
          const v = r[reg];
          if (cr === 0) this.writeCr0(v);
          else if (cr === 2) this._cr2 = v;
          else if (cr === 3) {
            this.mmu.cr3 = v & ~0xfff;
            this.mmu.flush(true);
          } else this.writeCr4(v); // CR1, CR5–CR7: #UD in checkEncoding (the table's validRegs)
        }
        return;
      }
      case 0x21:
      case 0x23: {
        const modrm = this.modrm;
        const d = (modrm >> 3) & 7;
        if (b === 0x21) r[modrm & 7] = this.dr[d];
        else this.dr[d] = r[modrm & 7];
        return;
      }
      case 0x30:
      case 0x32:
        // No model-specific registers are implemented (CPUID says MSR = 0): #GP.
        throw new CpuFault(GP, 0);
      case 0x31: {
        const t = this.env.tsc();
        r[EAX] = t % 4294967296;
        r[EDX] = Math.floor(t / 4294967296);
        return;
      }
      case 0xa0:
      case 0xa8:
        this.push(this.segSel[b === 0xa0 ? FS : GS]);
        return;
      case 0xa1:
      case 0xa9:
        this.loadSeg(b === 0xa1 ? FS : GS, this.pop() & 0xffff);
        return;
      case 0xa2:
        return this.cpuid();
      case 0xa3:
      case 0xab:
      case 0xb3:
      case 0xbb: {
        const bit = this.getReg(this.reg, osz);
        return this.bitOp((b >> 3) & 3, bit, osz, true);
      }
      case 0xba: {
        return this.bitOp(this.reg & 3, this.imm1, osz, false);
      }
      case 0xa4:
      case 0xa5:
      case 0xac:
      case 0xad: {
        const count = (b & 1 ? r[ECX] : this.imm1) & 31;
        const a = this.getRm(osz);
        const src = this.getReg(this.reg, osz);
        if (count === 0) return;
        const bits = osz * 8;
        let res: number;
        let cf: number;
        if (count > bits) return; // undefined result (16-bit operand, count > 16)
        if (b < 0xa8) {
          // SHLD
          const wide = (BigInt(a) << BigInt(bits)) | BigInt(src);
          const shifted = wide << BigInt(count);
          res = Number(BigInt.asUintN(bits, shifted >> BigInt(bits)));
          cf = Number((wide >> BigInt(2 * bits - count)) & 1n);
        } else {
          const wide = (BigInt(src) << BigInt(bits)) | BigInt(a);
          res = Number(BigInt.asUintN(bits, wide >> BigInt(count)));
          cf = Number((wide >> BigInt(count - 1)) & 1n);
        }
        const of = ((res ^ a) & SIGN[osz]) !== 0;
        this.setArith((cf ? CF : 0) | (of ? OF : 0) | szp(res, osz));
        this.setRm(osz, res);
        return;
      }
      case 0xaf:
        this.setReg(this.reg, osz, this.imul2(this.getReg(this.reg, osz), this.getRm(osz), osz));
        return;
      case 0xb0:
      case 0xb1: {
        const size = b & 1 ? osz : 1;
        const dst = this.getRm(size);
        const acc = this.getReg(EAX, size);
        this.alu(7, acc, dst, size);
        if (acc === dst) this.setRm(size, this.getReg(this.reg, size));
        else {
          if (this.modrm < 0xc0) this.setRm(size, dst); // the write happens either way (locked cycle)
          this.setReg(EAX, size, dst);
        }
        return;
      }
      case 0xb2:
      case 0xb4:
      case 0xb5: {
        const off = this.readLin(this.ea, osz);
        const sel = this.readLin16(this.ea + osz);
        this.loadSeg(b === 0xb2 ? SS : b === 0xb4 ? FS : GS, sel);
        this.setReg(this.reg, osz, off);
        return;
      }
      case 0xb6:
      case 0xb7:
      case 0xbe:
      case 0xbf: {
        const size = b & 1 ? 2 : 1;
        let v = this.getRm(size);
        if (b >= 0xbe) v = signExtend(v, size);
        this.setReg(this.reg, osz, v);
        return;
      }
      case 0xbc:
      case 0xbd: {
        const v = this.getRm(osz);
        if (v === 0) {
          this.flags |= ZF;
          return;
        }
        const idx = b === 0xbc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
        this.flags &= ~ZF;
        this.setReg(this.reg, osz, idx);
        return;
      }
      case 0xc0:
      case 0xc1: {
        const size = b & 1 ? osz : 1;
        const dst = this.getRm(size);
        const src = this.getReg(this.reg, size);
        const sum = this.alu(0, dst, src, size);
        this.setReg(this.reg, size, dst);
        this.setRm(size, sum);
        return;
      }
      case 0xc7: {
        const lo = this.readLin32(this.ea);
        const hi = this.readLin32(this.ea + 4);
        if (lo === r[EAX] && hi === r[EDX]) {
          this.writeLin32(this.ea, r[EBX]);
          this.writeLin32(this.ea + 4, r[ECX]);
          this.flags |= ZF;
        } else {
          this.writeLin32(this.ea, lo);
          this.writeLin32(this.ea + 4, hi);
          r[EAX] = lo;
          r[EDX] = hi;
          this.flags &= ~ZF;
        }
        return;
      }
    }
    // Not reached (see the end of step()).
    throw new CpuFault(UD, -1);
  }

  protected cpuid(): void {
    const r = this.reg32;
    const leaf = r[EAX] >>> 0;
    if (leaf === 0) {
      r[EAX] = 1;
      // "HVMEmulator." as the vendor string (EBX, EDX, ECX).
      r[EBX] = 0x454d5648; // 'HVME'
      r[EDX] = 0x616c756d; // 'mula'
      r[ECX] = 0x2e726f74; // 'tor.'
    } else if (leaf === 1) {
      r[EAX] = 0x00000633; // family 6, model 3, stepping 3
      r[EBX] = 0;
      r[ECX] = 0;
      // Honest features: VME 0, DE 0, PSE (3), TSC (4), CX8 (8), PGE (13), CMOV (15); no FPU, no MSR.
      r[EDX] = (1 << 3) | (1 << 4) | (1 << 8) | (1 << 13) | (1 << 15);
    } else {
      r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
    }
  }

  protected group6(): void {
    switch (this.reg) {
      case 0:
        this.setRm(this.modrm >= 0xc0 ? (this.op32 ? 4 : 2) : 2, this.ldtSel);
        return;
      case 1:
        this.setRm(this.modrm >= 0xc0 ? (this.op32 ? 4 : 2) : 2, this.trSel);
        return;
      case 2: {
        const sel = this.getRm(2);
        if ((sel & 0xfffc) === 0) {
          this.ldtSel = sel;
          this.ldtBase = this.ldtLimit = 0;
          return;
        }
        if (sel & 4) throw new CpuFault(GP, sel & 0xfffc);
        const [lo, hi] = this.readDescriptor(sel, GP);
        if (((hi >>> 8) & 0x1f) !== 2) throw new CpuFault(GP, sel & 0xfffc);
        if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
        this.ldtSel = sel;
        this.ldtBase = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
        this.ldtLimit = this.limitOf(lo, hi);
        return;
      }
      case 3: {
        const sel = this.getRm(2);
        if ((sel & 0xfffc) === 0 || sel & 4) throw new CpuFault(GP, sel & 0xfffc);
        const [lo, hi] = this.readDescriptor(sel, GP);
        const type = (hi >>> 8) & 0x1f;
        if (type !== 9 && type !== 1) throw new CpuFault(GP, sel & 0xfffc);
        if (!(hi & 0x8000)) throw new CpuFault(NP, sel & 0xfffc);
        this.trSel = sel;
        this.trBase = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
        this.trLimit = this.limitOf(lo, hi);
        this.trAttr = hi;
        // Mark it busy in the GDT.
        this.writeLin32(this.gdtBase + (sel & 0xfff8) + 4, hi | 0x200);
        return;
      }
      case 4:
      case 5: {
        const d = this.accessibleDescriptor(this.getRm(2), 0);
        const hi = d === null ? 0 : d[1];
        const ok =
          d !== null &&
          (hi & 0x1000) !== 0 &&
          (this.reg === 4 ? !(hi & 0x800) || (hi & 0x200) !== 0 : !(hi & 0x800) && (hi & 0x200) !== 0);
        this.flags = ok ? this.flags | ZF : this.flags & ~ZF;
        return;
      }
    }
  }

  /**
   * The descriptor LAR/LSL/VERR/VERW may look at, or null: inside its table, a code/data segment
   * or a system type in `systemTypes` (a bit mask), and visible at CPL and RPL unless conforming code.
   */
  protected accessibleDescriptor(sel: number, systemTypes: number): [number, number] | null {
    if ((sel & 0xfffc) === 0) return null;
    const ldt = (sel & 4) !== 0;
    const limit = ldt ? this.ldtLimit : this.gdtLimit;
    if ((sel & 0xfff8) + 7 > limit) return null;
    const base = ldt ? this.ldtBase : this.gdtBase;
    const lo = this.readLin32(base + (sel & 0xfff8), false);
    const hi = this.readLin32(base + (sel & 0xfff8) + 4, false);
    const type = (hi >>> 8) & 0x1f;
    if (!(type & 0x10) && !((systemTypes >>> type) & 1)) return null;
    const dpl = (hi >>> 13) & 3;
    const conformingCode = (type & 0x1c) === 0x1c;
    if (!conformingCode && (dpl < this._cpl || dpl < (sel & 3))) return null;
    return [lo, hi];
  }

  protected group7(osz: number): void {
    const op = this.reg;
    if (op === 4) {
      this.setRm(this.modrm >= 0xc0 ? osz : 2, this._cr0 & (osz === 4 && this.modrm >= 0xc0 ? -1 : 0xffff));
      return;
    }
    if (op === 6) {
      const v = this.getRm(2);
      this.writeCr0((this._cr0 & ~0xe) | (v & 0xf) | (this._cr0 & 1));
      return;
    }
    switch (op) {
      case 0:
      case 1: {
        const base = op === 0 ? this.gdtBase : this.idtBase;
        const limit = op === 0 ? this.gdtLimit : this.idtLimit;
        this.writeLin16(this.ea, limit);
        this.writeLin32(this.ea + 2, osz === 4 ? base : base & 0xffffff);
        return;
      }
      case 2:
      case 3: {
        const limit = this.readLin16(this.ea);
        let base = this.readLin32(this.ea + 2);
        if (osz === 2) base &= 0xffffff;
        if (op === 2) {
          this.gdtBase = base;
          this.gdtLimit = limit;
        } else {
          this.idtBase = base;
          this.idtLimit = limit;
        }
        return;
      }
      case 7:
        this.mmu.invlpg(this.ea);
        return;
    }
  }
}

void PARITY;
