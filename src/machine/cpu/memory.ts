/**
 * Memory access of the Cpu class chain (README.md, "Layout"): linear reads and writes through the
 * MMU (devices through MMIO, stores that hit decoded code), instruction fetch, ModR/M + SIB
 * decoding and the segment checks of memory operands, register and r/m operands, the stack.
 */
import type { AccessSize } from '../bus';
import { PHYS_IO } from './mmu';
import { RF, VM } from './flags';
import {
  CpuFault,
  NO_SEG,
  EBX,
  ESP,
  EBP,
  ESI,
  EDI,
  CS,
  SS,
  DS,
  SS_,
  GP,
  CR0_PE,
  DR7_RW_EXECUTE,
  DR7_RW_WRITE,
  DR7_RW_IO,
  DR7_RW_READ_WRITE,
  CR4_DE,
} from './arch';

/** DR7.LENn → the bytes a data breakpoint covers (SDM vol. 3, 17.2.5: 10B is 8 bytes where defined). */
const BREAKPOINT_LEN = [1, 2, 8, 4];
import { CpuState } from './state';

export abstract class CpuMemory extends CpuState {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract codeChangedOutside(): void;
  abstract codeWritten(o: number, size: number): void;
  protected pushGate(gate32: boolean, v: number): void {
    if (this.ssLimitChecked) this.checkStack(gate32 ? 4 : 2, true);
    if (gate32) this.push32(v);
    else this.push16(v);
  }

  // ---- memory ------------------------------------------------------------------------------------

  protected get user(): boolean {
    return this._cpl === 3;
  }

  readLin8(lin: number, user = this.user): number {
    const o = this.mmu.translate(lin, false, user);
    if (o === PHYS_IO) return this.mmioRead(1) & 0xff;
    return this.u8[o];
  }
  protected mmioRead(size: AccessSize): number {
    if (this.mmu.watchHit) return this.watchedRead(size);
    const v = this.env.mmio.read(this.mmu.lastPhys, size);
    this.bBreak = 1; // a device may have raised an interrupt or written memory: leave a compiled block
    this.deviceAccessed();
    return v;
  }
  readLin16(lin: number, user = this.user): number {
    if ((lin & 0xfff) === 0xfff) return this.readLin8(lin, user) | (this.readLin8(lin + 1, user) << 8);
    const o = this.mmu.translate(lin, false, user);
    if (o === PHYS_IO) return this.mmioRead(2) & 0xffff;
    const m = this.u8;
    return m[o] | (m[o + 1] << 8);
  }
  readLin32(lin: number, user = this.user): number {
    if ((lin & 0xfff) > 0xffc) return this.readLin16(lin, user) | (this.readLin16(lin + 2, user) << 16);
    const o = this.mmu.translate(lin, false, user);
    if (o === PHYS_IO) return this.mmioRead(4) | 0;

    if ((o & 3) === 0) return this.mem32[o >> 2]; // aligned: one load (the host is little-endian, as IA-32)
    const m = this.u8;
    return m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24);
  }
  writeLin8(lin: number, v: number, user = this.user): void {
    const o = this.mmu.translate(lin, true, user);
    if (o === PHYS_IO) return this.mmioWrite(1, v & 0xff);
    this.u8[o] = v;
    if (this.codeLines[o >>> 7] !== 0) this.codeWritten(o, 1);
  }
  writeLin16(lin: number, v: number, user = this.user): void {
    if ((lin & 0xfff) === 0xfff) return this.writeSplit(lin, v, 2, user);
    const o = this.mmu.translate(lin, true, user);
    if (o === PHYS_IO) return this.mmioWrite(2, v & 0xffff);
    const m = this.u8;
    m[o] = v;
    m[o + 1] = v >>> 8;
    if ((this.codeLines[o >>> 7] | this.codeLines[(o + 1) >>> 7]) !== 0) this.codeWritten(o, 2);
  }
  writeLin32(lin: number, v: number, user = this.user): void {
    if ((lin & 0xfff) > 0xffc) return this.writeSplit(lin, v, 4, user);
    const o = this.mmu.translate(lin, true, user);
    if (o === PHYS_IO) return this.mmioWrite(4, v >>> 0);
    if ((o & 3) === 0) {
      this.mem32[o >> 2] = v;
      if (this.codeLines[o >>> 7] !== 0) this.codeWritten(o, 4);
      return;
    }
    const m = this.u8;
    m[o] = v;
    m[o + 1] = v >>> 8;
    m[o + 2] = v >>> 16;
    m[o + 3] = v >>> 24;
    if ((this.codeLines[o >>> 7] | this.codeLines[(o + 3) >>> 7]) !== 0) this.codeWritten(o, 4);
  }
  /**
   * A store that crosses a page boundary: both pages are translated (and checked) before either is
   * written, so a #PF on the second leaves the first untouched, and each page once, so a trapped
   * frame takes one second-stage fault for the store, not one per byte; then the bytes go to the
   * two frames (or to the bus, for MMIO).
   */
  protected writeSplit(lin: number, v: number, size: 2 | 4, user: boolean): void {
    const first = 0x1000 - (lin & 0xfff); // bytes on the first page
    const o2 = this.mmu.translate((lin | 0xfff) + 1, true, user);
    const phys2 = this.mmu.lastPhys;
    const o1 = this.mmu.translate(lin, true, user);
    const phys1 = this.mmu.lastPhys;
    for (let i = 0; i < size; i++) {
      const byte = (v >>> (8 * i)) & 0xff;
      const [o, phys, k] = i < first ? [o1, phys1, i] : [o2, phys2, i - first];
      if (o === PHYS_IO && this.mmu.watchLpns.length !== 0) {
        this.writeLin8(lin + i, byte, user); // a page with a data breakpoint (or a device): byte by byte
      } else if (o === PHYS_IO) {
        this.env.mmio.write(phys + k, 1, byte);
        this.bBreak = 1;
        this.deviceAccessed();
      } else {
        this.u8[o + k] = byte;
        if (this.codeLines[(o + k) >>> 7] !== 0) this.codeWritten(o + k, 1);
      }
    }
  }
  /** A write the MMU sent to the bus: a device may change memory (code) in its callback. */
  protected mmioWrite(size: AccessSize, v: number): void {
    if (this.mmu.watchHit) return this.watchedWrite(size, v);
    this.env.mmio.write(this.mmu.lastPhys, size, v);
    this.bBreak = 1;
    this.deviceAccessed();
  }
  /**
   * After a port or MMIO access: the device may have raised an interrupt, which the run loop looks
   * for only when `attention` says so (runInner), or written memory behind the CPU's back.
   */
  protected deviceAccessed(): void {
    this.attention = 1;
    if (this.externalWrites) this.codeChangedOutside();
  }
  protected readLin(lin: number, size: number): number {
    return size === 1 ? this.readLin8(lin) : size === 2 ? this.readLin16(lin) : this.readLin32(lin) >>> 0;
  }
  protected writeLin(lin: number, size: number, v: number): void {
    if (size === 1) this.writeLin8(lin, v);
    else if (size === 2) this.writeLin16(lin, v);
    else this.writeLin32(lin, v);
  }

  // ---- debug registers (SDM vol. 3, 17.2) ---------------------------------------------------------

  /**
   * After a write to DR0–DR3 or DR7 (or a task switch clearing DR7.L0–L3): which breakpoints are
   * armed. Instruction breakpoints are checked before each instruction by the run loop (cpu.ts),
   * which while `debugActive` runs every instruction through step(); data breakpoints by keeping
   * their pages out of the TLB (Mmu.watchLpns), so that accesses to them come to watchedRead/
   * watchedWrite with their size; I/O breakpoints (R/W = 10 with CR4.DE; undefined without it, and
   * ignored) by IN, OUT, INS and OUTS calling ioBreakpoints while `debugActive`.
   */
  protected updateBreakpoints(): void {
    const dr7 = this.dr[7];
    const pages: number[] = [];
    let active = false;
    for (let i = 0; i < 4; i++) {
      if (!((dr7 >>> (2 * i)) & 3)) continue;
      const rw = (dr7 >>> (16 + 4 * i)) & 3;
      if (rw === DR7_RW_EXECUTE || (rw === DR7_RW_IO && this._cr4 & CR4_DE)) active = true;
      else if (rw === DR7_RW_WRITE || rw === DR7_RW_READ_WRITE) {
        active = true;
        const lpn = this.dr[i] >>> 12;
        if (!pages.includes(lpn)) pages.push(lpn);
      }
    }
    const m = this.mmu;
    if (pages.length !== 0 || m.watchLpns.length !== 0) {
      m.watchLpns = pages;
      m.watchHit = false;
      m.flush(false); // the watched pages leave the TLB; the old ones may come back
    }
    this.debugActive = active;
    this.stepAlone = active || this.csLimitChecked || this.ssLimitChecked;
    this.attention = 1;
  }

  /**
   * After a load of CS or SS: whether their limits need checking on instruction fetch and on PUSH/
   * POP (SDM vol. 3, 5.3: #GP(0) for a fetch past CS's limit, #SS(0) for a stack access outside
   * SS's). A 32-bit segment of limit 4 GiB − 1 (a 16-bit one of 64 KiB − 1: its offsets wrap
   * there) needs none, which is every flat and real-mode segment; the others send each
   * instruction through step() (the decoded cache and the compiled blocks fetch and push
   * unchecked), whose fetches take the slow path and whose PUSH/POP check SS.
   */
  protected segmentLimitsChanged(): void {
    const cs = this.segLimit[CS] >>> 0;
    const ss = this.segLimit[SS] >>> 0;
    const pm = (this._cr0 & CR0_PE) !== 0 && !(this.fl & VM);
    const expandDown = pm && (this.segAttr[SS] & 0xc00) === 0x400;
    this.csLimitChecked = this.codeSize32 ? cs !== 0xffffffff : cs < 0xffff;
    this.ssLimitChecked = expandDown || (this.stackSize32 ? ss !== 0xffffffff : ss < 0xffff);
    if (this.csLimitChecked) this.fetchLpn = -1;
    this.stepAlone = this.debugActive || this.csLimitChecked || this.ssLimitChecked;
    if (this.stepAlone) this.attention = 1;
  }

  /** PUSH (`size` bytes below ESP) or POP (at ESP) against SS's limit, when it has one. */
  protected checkStack(size: number, push: boolean): void {
    const esp = this.reg32[ESP];
    const off = push ? esp - size : esp;
    this.checkSeg(SS, this.stackSize32 ? off >>> 0 : off & 0xffff, size, push);
  }

  /** EFLAGS.RF from a popped image (IRETD); set, it is watched by events() to last one instruction. */
  protected loadRf(image: number): void {
    this.fl = (this.fl & ~RF) | (image & RF);
    if (image & RF) this.attention = 1;
  }

  /** A data access of `size` bytes at `lin`: DR6.Bn of the data breakpoints it touches, for the trap after it. */
  protected dataBreakpoints(lin: number, size: number, write: boolean): void {
    const dr7 = this.dr[7];
    for (let i = 0; i < 4; i++) {
      if (!((dr7 >>> (2 * i)) & 3)) continue;
      const rw = (dr7 >>> (16 + 4 * i)) & 3;
      if (!(rw === DR7_RW_READ_WRITE || (rw === DR7_RW_WRITE && write))) continue;
      // The range is aligned to its length (the low address bits are ignored, SDM 17.2.5).
      const len = BREAKPOINT_LEN[(dr7 >>> (18 + 4 * i)) & 3];
      const at = this.dr[i] & ~(len - 1);
      if ((lin - at) >>> 0 < len || (at - lin) >>> 0 < size) this.breakpointHits |= 1 << i;
    }
  }

  /**
   * An I/O access of `size` bytes at `port` (IN, OUT, INS, OUTS, while `debugActive`): DR6.Bn of the
   * I/O breakpoints it touches, for the #DB trap after the instruction (SDM vol. 3, 17.2.4–17.2.5:
   * R/W = 10 with CR4.DE; the port in DRn's low 16 bits, the range aligned to LEN).
   */
  protected ioBreakpoints(port: number, size: number): void {
    if (!(this._cr4 & CR4_DE)) return;
    const dr7 = this.dr[7];
    for (let i = 0; i < 4; i++) {
      if (!((dr7 >>> (2 * i)) & 3) || ((dr7 >>> (16 + 4 * i)) & 3) !== DR7_RW_IO) continue;
      const len = BREAKPOINT_LEN[(dr7 >>> (18 + 4 * i)) & 3];
      const at = this.dr[i] & 0xffff & ~(len - 1);
      if ((port - at) >>> 0 < len || (at - port) >>> 0 < size) this.breakpointHits |= 1 << i;
    }
  }

  /** A read from a page with a data breakpoint (Mmu.watchLpns): RAM, within one page. */
  protected watchedRead(size: AccessSize): number {
    const o = this.mmu.watchOffset;
    this.dataBreakpoints(this.mmu.watchLinear, size, false);
    const m = this.u8;
    if (size === 1) return m[o];
    if (size === 2) return m[o] | (m[o + 1] << 8);
    return m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24);
  }
  protected watchedWrite(size: AccessSize, v: number): void {
    const o = this.mmu.watchOffset;
    this.dataBreakpoints(this.mmu.watchLinear, size, true);
    const m = this.u8;
    for (let i = 0; i < size; i++) m[o + i] = v >>> (8 * i);
    if ((this.codeLines[o >>> 7] | this.codeLines[(o + size - 1) >>> 7]) !== 0) this.codeWritten(o, size);
  }

  // ---- fetch and decode --------------------------------------------------------------------------

  // The code-page cache (hot path): the machine offset of the page instructions come from, valid
  // while the MMU's generation, the page and the privilege are unchanged. Code bytes are read from
  // memory on every fetch, so self-modifying code needs nothing more.
  protected fetchLpn = -1;
  protected fetchBase = 0;
  protected fetchGen = -1;
  protected fetchUser = false;
  /**
   * 16-bit code: IP wrapped from FFFFh to 0 inside the instruction being fetched (step() clears it
   * as each instruction starts). Its next byte is past the segment's end: #GP(0).
   */
  protected ipWrapped = false;

  protected fetch8(): number {
    const lin = this.segBase[CS] + this._eip;
    let v: number;
    if (lin >>> 12 === this.fetchLpn && this.mmu.generation === this.fetchGen && this.user === this.fetchUser) {
      v = this.u8[this.fetchBase + (lin & 0xfff)];
    } else {
      // Past CS's limit is #GP(0); only checked here, on the slow path, which every fetch takes
      // while csLimitChecked (fetchLpn stays −1). Branches check their targets (nearJump,
      // checkCodeLimit), so this catches an instruction that runs past the limit.
      if (this.csLimitChecked && this._eip >>> 0 > this.segLimit[CS] >>> 0) throw new CpuFault(GP, 0);
      // An instruction of 16-bit code whose bytes run on past offset FFFFh does not wrap: the
      // segment's end is a limit for code as for data (SDM vol. 3, 22.33.1; 5.3), real mode too
      // (Bochs: the same #GP(0)). A complete instruction ending at FFFFh is followed by the one
      // at IP 0: IP is 16 bits wide and wraps (as OS/2 Museum's "Does (E)IP Wrap Around in
      // 16-bit Segments?" observes on real processors; Bochs faults there instead).
      if (this.ipWrapped) throw new CpuFault(GP, 0);
      const o = this.mmu.translate(lin, false, this.user);
      if (o === PHYS_IO) {
        // A page with a data breakpoint is RAM: an instruction fetch does not hit one (SDM 17.2.4).
        if (this.mmu.watchHit) v = this.u8[this.mmu.watchOffset];
        else {
          v = this.env.mmio.read(this.mmu.lastPhys, 1) & 0xff;
          this.attention = 1; // as deviceAccessed, the code cache aside: it never holds device memory
        }
        this.fetchLpn = -1;
      } else if (this.csLimitChecked) {
        v = this.u8[o];
      } else {
        v = this.u8[o];
        this.fetchLpn = lin >>> 12;
        this.fetchBase = o - (lin & 0xfff);
        this.fetchGen = this.mmu.generation;
        this.fetchUser = this.user;
      }
    }
    if (this.codeSize32) this._eip = (this._eip + 1) | 0;
    else if (this._eip !== 0xffff) this._eip = (this._eip + 1) & 0xffff;
    else {
      this._eip = 0;
      this.ipWrapped = true;
      this.fetchLpn = -1; // the next fetch takes the slow path, which faults while ipWrapped
    }
    return v;
  }
  /**
   * Whether a near branch may go to `to`: past CS's limit is #GP(0) at the branch, before anything changes
   * (SDM vol. 2, JMP/CALL/RET/Jcc/LOOP: "IF tempEIP is not within code segment limit THEN
   * #GP(0)"). Only a segment with a limit to check (csLimitChecked) can fault, or 16-bit code, where
   * a branch of operand size 32 may name an offset past FFFFh (real mode's pseudocode too); a flat
   * 32-bit segment's offsets wrap within it.
   */
  protected checkNearTarget(to: number): void {
    if ((this.csLimitChecked || !this.codeSize32) && to >>> 0 > this.segLimit[CS] >>> 0) throw new CpuFault(GP, 0);
  }
  /** EIP ← a near branch's target, checked (checkNearTarget). */
  protected nearJump(to: number): void {
    this.checkNearTarget(to);
    this._eip = to;
  }
  protected fetch16(): number {
    return this.fetch8() | (this.fetch8() << 8);
  }
  protected fetch32(): number {
    // Hot path: four bytes inside the cached code page in one go.
    const lin = this.segBase[CS] + this._eip;
    const off = lin & 0xfff;
    if (
      off <= 0xffc &&
      this.codeSize32 &&
      lin >>> 12 === this.fetchLpn &&
      this.mmu.generation === this.fetchGen &&
      this.user === this.fetchUser
    ) {
      const m = this.u8;
      const o = this.fetchBase + off;
      this._eip = (this._eip + 4) | 0;
      return m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24);
    }
    return this.fetch16() | (this.fetch16() << 16);
  }
  protected fetchImm(size: number): number {
    return size === 1 ? this.fetch8() : size === 2 ? this.fetch16() : this.fetch32() >>> 0;
  }

  /** Decodes ModR/M (and SIB, displacement) and leaves the linear address in `ea` for memory. */
  protected decodeModrm(): void {
    const modrm = this.fetch8();
    this.modrm = modrm;
    const mod = modrm >> 6;
    if (mod === 3) return;
    const rm = modrm & 7;
    let off: number;
    let defSeg = DS;
    if (this.ad32) {
      if (rm === 4) {
        const sib = this.fetch8();
        const base = sib & 7;
        const index = (sib >> 3) & 7;
        const scale = sib >> 6;
        if (base === 5 && mod === 0) off = this.fetch32();
        else {
          off = this.reg32[base];
          if (base === ESP || base === EBP) defSeg = SS;
        }
        if (index !== 4) off += this.reg32[index] << scale;
      } else if (rm === 5 && mod === 0) {
        off = this.fetch32();
      } else {
        off = this.reg32[rm];
        if (rm === EBP) defSeg = SS;
      }
      if (mod === 1) off += (this.fetch8() << 24) >> 24;
      else if (mod === 2) off += this.fetch32();
      off |= 0;
    } else {
      const r = this.reg32;
      switch (rm) {
        case 0:
          off = r[EBX] + r[ESI];
          break;
        case 1:
          off = r[EBX] + r[EDI];
          break;
        case 2:
          off = r[EBP] + r[ESI];
          defSeg = SS;
          break;
        case 3:
          off = r[EBP] + r[EDI];
          defSeg = SS;
          break;
        case 4:
          off = r[ESI];
          break;
        case 5:
          off = r[EDI];
          break;
        case 6:
          if (mod === 0) off = this.fetch16();
          else {
            off = r[EBP];
            defSeg = SS;
          }
          break;
        default:
          off = r[EBX];
      }
      if (mod === 1) off += (this.fetch8() << 24) >> 24;
      else if (mod === 2) off += this.fetch16();
      off &= 0xffff;
    }
    const sreg = this.seg === NO_SEG ? defSeg : this.seg;
    this.eaSeg = sreg;
    this.eaOff = off;
    this.ea = (this.segBase[sreg] + off) | 0;
  }

  /**
   * Segment checks of a memory operand in protected mode (SDM vol. 3, 5.3–5.6): a null selector,
   * writing a code or read-only segment, or an offset outside the limit (expand-down: at or below
   * it) is #GP(0), #SS(0) for SS. Flat 4 GiB writable data segments skip the work.
   */
  checkSeg(sreg: number, off: number, size: number, write: boolean): void {
    if (!(this._cr0 & CR0_PE) || this.fl & VM) {
      // Real and virtual-8086 mode: the limit alone, 0xFFFF unless protected mode left a larger one
      // (SDM vol. 3, 20.1.1): a word at offset 0xFFFF is #GP(0), #SS(0) through SS.
      if ((off >>> 0) + size - 1 > this.segLimit[sreg] >>> 0) throw new CpuFault(sreg === SS ? SS_ : GP, 0);
      return;
    }
    const attr = this.segAttr[sreg];
    const limit = this.segLimit[sreg];
    if (limit === -1 && (attr & 0xe00) === 0x200) return;
    const vector = sreg === SS ? SS_ : GP;
    if (attr === 0) throw new CpuFault(vector, 0);
    const code = (attr & 0x800) !== 0;
    if (write ? code || !(attr & 0x200) : code && !(attr & 0x200)) throw new CpuFault(vector, 0);
    const last = (off >>> 0) + size - 1;
    if (!code && attr & 0x400) {
      const top = attr & (1 << 22) ? 0xffffffff : 0xffff;
      if (off >>> 0 <= limit >>> 0 || last > top) throw new CpuFault(vector, 0);
    } else if (last > limit >>> 0) throw new CpuFault(vector, 0);
  }

  protected get reg(): number {
    return (this.modrm >> 3) & 7;
  }

  protected getReg(r: number, size: number): number {
    if (size === 4) return this.reg32[r] >>> 0;
    if (size === 2) return this.reg32[r] & 0xffff;
    return r < 4 ? this.reg32[r] & 0xff : (this.reg32[r - 4] >> 8) & 0xff;
  }
  setReg(r: number, size: number, v: number): void {
    if (size === 4) this.reg32[r] = v;
    else if (size === 2) this.reg32[r] = (this.reg32[r] & ~0xffff) | (v & 0xffff);
    else if (r < 4) this.reg32[r] = (this.reg32[r] & ~0xff) | (v & 0xff);
    else this.reg32[r - 4] = (this.reg32[r - 4] & ~0xff00) | ((v & 0xff) << 8);
  }
  /** The r/m operand (after decodeModrm). */
  protected getRm(size: number): number {
    if (this.modrm >= 0xc0) return this.getReg(this.modrm & 7, size);
    this.checkSeg(this.eaSeg, this.eaOff + this.ea - this.eaLin(), size, false);
    return this.readLin(this.ea, size);
  }
  protected setRm(size: number, v: number): void {
    if (this.modrm >= 0xc0) return this.setReg(this.modrm & 7, size, v);
    this.checkSeg(this.eaSeg, this.eaOff + this.ea - this.eaLin(), size, true);
    this.writeLin(this.ea, size, v);
  }
  /** The linear address decodeModrm computed (bitOp may move `ea` by whole operands). */
  protected eaLin(): number {
    return (this.segBase[this.eaSeg] + this.eaOff) | 0;
  }

  // ---- stack -------------------------------------------------------------------------------------

  push32(v: number): void {
    if (this.stackSize32) {
      const sp = (this.reg32[ESP] - 4) | 0;
      this.writeLin32(this.segBase[SS] + sp, v);
      this.reg32[ESP] = sp;
    } else {
      const sp = (this.reg32[ESP] - 4) & 0xffff;
      if (sp > 0xfffc) this.stackStraddle(sp, 4);
      this.writeLin32(this.segBase[SS] + sp, v);
      this.reg32[ESP] = (this.reg32[ESP] & ~0xffff) | sp;
    }
  }
  protected push16(v: number): void {
    if (this.stackSize32) {
      const sp = (this.reg32[ESP] - 2) | 0;
      this.writeLin16(this.segBase[SS] + sp, v);
      this.reg32[ESP] = sp;
    } else {
      const sp = (this.reg32[ESP] - 2) & 0xffff;
      if (sp === 0xffff) this.stackStraddle(sp, 2);
      this.writeLin16(this.segBase[SS] + sp, v);
      this.reg32[ESP] = (this.reg32[ESP] & ~0xffff) | sp;
    }
  }
  pop32(): number {
    const sp = this.stackSize32 ? this.reg32[ESP] : this.reg32[ESP] & 0xffff;
    if (!this.stackSize32 && sp > 0xfffc) this.stackStraddle(sp, 4);
    const v = this.readLin32(this.segBase[SS] + sp);
    this.addSp(4);
    return v;
  }
  protected pop16(): number {
    const sp = this.stackSize32 ? this.reg32[ESP] : this.reg32[ESP] & 0xffff;
    if (!this.stackSize32 && sp === 0xffff) this.stackStraddle(sp, 2);
    const v = this.readLin16(this.segBase[SS] + sp);
    this.addSp(2);
    return v;
  }
  /**
   * A slot of a 16-bit stack at offset `sp` whose `size` bytes run past FFFFh: outside the segment
   * (#SS(0)) unless its limit reaches past 64 KiB ("unreal" real mode). SDM vol. 3, 22.33.1: a
   * stack access crossing offset FFFFh is #SS in real mode too, PUSH at SP = 1 its example; an
   * aligned one wraps to 0 cleanly and never comes here.
   */
  protected stackStraddle(sp: number, size: number): void {
    if (sp + size - 1 > this.segLimit[SS] >>> 0) throw new CpuFault(SS_, 0);
  }
  addSp(n: number): void {
    if (this.stackSize32) this.reg32[ESP] += n;
    else this.reg32[ESP] = (this.reg32[ESP] & ~0xffff) | ((this.reg32[ESP] + n) & 0xffff);
  }
  protected push(v: number): void {
    if (this.ssLimitChecked) this.checkStack(this.op32 ? 4 : 2, true);
    if (this.op32) this.push32(v);
    else this.push16(v);
  }
  protected pop(): number {
    if (this.ssLimitChecked) this.checkStack(this.op32 ? 4 : 2, false);
    return this.op32 ? this.pop32() >>> 0 : this.pop16();
  }
}
