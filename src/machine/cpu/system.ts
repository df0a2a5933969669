/**
 * The interpreter's 0F opcode map, in the Cpu class chain (README.md, "Layout"): step0f() (system
 * instructions, MOV CRn/DRn, Jcc rel32, SETcc, CMOVcc, bit instructions, MOVZX/MOVSX, …), CPUID,
 * and the groups 6 (LLDT/LTR/SLDT/STR/VERR/VERW) and 7 (LGDT/LIDT/SGDT/SIDT/LMSW/SMSW/INVLPG),
 * with LAR/LSL's descriptor checks.
 */
import { IF, RF, VM, ZF } from './flags';
import {
  CpuFault,
  DB,
  DR6_BD,
  DR7_GD,
  EAX,
  LAR_TYPES,
  LSL_TYPES,
  ECX,
  EDX,
  EBX,
  SS,
  FS,
  GS,
  UD,
  NP,
  GP,
  CR0_PE,
  CR0_TS,
  CS,
  ESP,
  MSR_TSC,
  MSR_SYSENTER_CS,
  MSR_SYSENTER_ESP,
  MSR_SYSENTER_EIP,
  CR4_DE,
} from './arch';
import { CpuInterpreter } from './interpreter';

export abstract class CpuSystem extends CpuInterpreter {
  // ---- 0F xx -------------------------------------------------------------------------------------

  protected step0f(osz: number, lock: boolean): void {
    const b = this.fetch8();
    this.checkEncoding(0x100 | b, lock);
    const r = this.reg32;
    switch (b) {
      // gen:moves step0f (tools/gen-moves.ts, from move-ops.ts and the opcode table: do not edit)
      // NOP Ev
      case 0x1f:
        return;
      // RDTSC
      case 0x31:
        this.rdtsc();
        return;
      // PUSH FS
      case 0xa0:
        this.push(this.segSel[FS]);
        return;
      // POP FS
      case 0xa1: {
        const v = this.pop();
        this.loadSeg(FS, v & 0xffff);
        return;
      }
      // PUSH GS
      case 0xa8:
        this.push(this.segSel[GS]);
        return;
      // POP GS
      case 0xa9: {
        const v = this.pop();
        this.loadSeg(GS, v & 0xffff);
        return;
      }
      // MOVZX Gv, Eb
      case 0xb6:
        this.setReg(this.reg, osz, this.getRm(1));
        return;
      // MOVZX Gv, Ew
      case 0xb7:
        this.setReg(this.reg, osz, this.getRm(2));
        return;
      // MOVSX Gv, Eb
      case 0xbe:
        this.setReg(this.reg, osz, (this.getRm(1) << 24) >> 24);
        return;
      // MOVSX Gv, Ew
      case 0xbf:
        this.setReg(this.reg, osz, (this.getRm(2) << 16) >> 16);
        return;
      // BSWAP Zv
      case 0xc8:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf: {
        const v = r[b & 7];
        r[b & 7] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
        return;
      }
      // CMOVcc Gv, Ev (the condition: the opcode's low four bits)
      case 0x40:
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:
      case 0x45:
      case 0x46:
      case 0x47:
      case 0x48:
      case 0x49:
      case 0x4a:
      case 0x4b:
      case 0x4c:
      case 0x4d:
      case 0x4e:
      case 0x4f: {
        const v = this.getRm(osz);
        if (this.cond(b & 15)) this.setReg(this.reg, osz, v);
        return;
      }
      // Jcc Jv (the condition: the opcode's low four bits)
      case 0x80:
      case 0x81:
      case 0x82:
      case 0x83:
      case 0x84:
      case 0x85:
      case 0x86:
      case 0x87:
      case 0x88:
      case 0x89:
      case 0x8a:
      case 0x8b:
      case 0x8c:
      case 0x8d:
      case 0x8e:
      case 0x8f:
        if (this.cond(b & 15)) this.jumpRel(osz === 2 ? (this.imm1 << 16) >> 16 : this.imm1 | 0);
        return;
      // SETcc Eb (the condition: the opcode's low four bits)
      case 0x90:
      case 0x91:
      case 0x92:
      case 0x93:
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97:
      case 0x98:
      case 0x99:
      case 0x9a:
      case 0x9b:
      case 0x9c:
      case 0x9d:
      case 0x9e:
      case 0x9f:
        this.setRm(1, this.cond(b & 15) ? 1 : 0);
        return;
      // end gen:moves
      // gen:dispatch step0f (tools/gen-dispatch.ts: the case labels from the opcode table's bodies; the bodies are hand-written)
      // body group6: 0x00, by the ModR/M reg field
      case 0x00:
        return this.group6();
      // body group7: 0x01, by the ModR/M reg field
      case 0x01:
        return this.group7(osz);
      // body lar-lsl: LAR LSL
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
      // body clts: CLTS
      case 0x06:
        this._cr0 &= ~CR0_TS;
        return;
      // body cache-flush: INVD WBINVD
      case 0x08:
      case 0x09:
        return;
      // body ud2: UD2
      case 0x0b:
        throw new CpuFault(UD, -1);
      // body mov-cr: MOV
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
      // body mov-dr: MOV
      case 0x21:
      case 0x23: {
        const modrm = this.modrm;
        // With CR4.DE, DR4 and DR5 do not exist: #UD (SDM vol. 3, 17.2.2), before general detect.
        if (this._cr4 & CR4_DE && ((modrm >> 3) & 6) === 4) throw new CpuFault(UD, -1);
        if (this.dr[7] & DR7_GD) {
          // General detect (SDM vol. 3, 17.2.4): a #DB fault before any MOV to or from a debug
          // register, DR6.BD set (deliver() clears GD for the handler); RF = 1 in the pushed
          // EFLAGS, as for every fault but an instruction breakpoint (17.3.1.1).
          this.dr[6] |= DR6_BD;
          this.fl |= RF;
          throw new CpuFault(DB, -1);
        }
        // Without CR4.DE, DR4 and DR5 are DR6 and DR7 (SDM vol. 3, 17.2.2).
        const d = ((modrm >> 3) & 7) | (((modrm >> 3) & 6) === 4 ? 2 : 0);
        if (b === 0x21) r[modrm & 7] = this.dr[d];
        else {
          this.dr[d] = r[modrm & 7];
          if (d !== 6) this.updateBreakpoints();
        }
        return;
      }
      // body wrmsr: WRMSR
      case 0x30:
        return this.wrmsr();
      // body rdmsr: RDMSR
      case 0x32:
        return this.rdmsr();
      // body sysenter: SYSENTER
      case 0x34:
        return this.sysenter();
      // body sysexit: SYSEXIT
      case 0x35:
        return this.sysexit();
      // body cpuid: CPUID
      case 0xa2:
        return this.cpuid();
      // body bit-op: BT BTS BTR BTC
      case 0xa3:
      case 0xab:
      case 0xb3:
      case 0xbb: {
        const bit = this.getReg(this.reg, osz);
        return this.bitOp((b >> 3) & 3, bit, osz, true);
      }
      // body bit-op-imm: BT BTS BTR BTC
      case 0xba: {
        return this.bitOp(this.reg & 3, this.imm1, osz, false);
      }
      // body shift-double: SHLD SHRD
      case 0xa4:
      case 0xa5:
      case 0xac:
      case 0xad: {
        const count = (b & 1 ? r[ECX] : this.imm1) & 31;
        const res = this.shiftDouble(b >= 0xa8, this.getRm(osz), this.getReg(this.reg, osz), count, osz);
        if (res >= 0) this.setRm(osz, res);
        return;
      }
      // body imul2: IMUL
      case 0xaf:
        this.setReg(this.reg, osz, this.imul2(this.getReg(this.reg, osz), this.getRm(osz), osz));
        return;
      // body cmpxchg: CMPXCHG
      case 0xb0:
      case 0xb1:
        return this.cmpxchg(b & 1 ? osz : 1);
      // body load-far-pointer: LSS LFS LGS
      case 0xb2:
      case 0xb4:
      case 0xb5: {
        const off = this.readLin(this.ea, osz);
        const sel = this.readLin16(this.ea + osz);
        this.loadSeg(b === 0xb2 ? SS : b === 0xb4 ? FS : GS, sel);
        this.setReg(this.reg, osz, off);
        return;
      }
      // body bit-scan: BSF BSR
      case 0xbc:
      case 0xbd:
        this.bitScan(b === 0xbd, osz);
        return;
      // body xadd: XADD
      case 0xc0:
      case 0xc1:
        return this.xadd(b & 1 ? osz : 1);
      // body cmpxchg8b: CMPXCHG8B
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
      // end gen:dispatch
    }
    // Not reached (see the end of step()).
    throw new CpuFault(UD, -1);
  }

  /** RDMSR (CPL 0, checked by the table): the P6 MSRs CPUID promises; any other index is #GP(0). */
  private rdmsr(): void {
    const r = this.reg32;
    let lo: number;
    let hi = 0;
    switch (r[ECX] >>> 0) {
      case MSR_TSC: {
        const t = this.tsc();
        lo = t % 4294967296;
        hi = Math.floor(t / 4294967296);
        break;
      }
      case MSR_SYSENTER_CS:
        lo = this.sysenterCs;
        break;
      case MSR_SYSENTER_ESP:
        lo = this.sysenterEsp;
        break;
      case MSR_SYSENTER_EIP:
        lo = this.sysenterEip;
        break;
      default:
        throw new CpuFault(GP, 0);
    }
    r[EAX] = lo;
    r[EDX] = hi;
  }

  /** WRMSR: writing IA32_TSC sets the counter (SDM vol. 3, 17.17); SYSENTER_CS keeps 16 bits. */
  private wrmsr(): void {
    const r = this.reg32;
    const lo = r[EAX];
    switch (r[ECX] >>> 0) {
      case MSR_TSC:
        this.tscOffset = (r[EDX] >>> 0) * 4294967296 + (lo >>> 0) - this.env.tsc();
        return;
      case MSR_SYSENTER_CS:
        this.sysenterCs = lo & 0xffff;
        return;
      case MSR_SYSENTER_ESP:
        this.sysenterEsp = lo;
        return;
      case MSR_SYSENTER_EIP:
        this.sysenterEip = lo;
        return;
      default:
        throw new CpuFault(GP, 0);
    }
  }

  /**
   * CS and SS as SYSENTER/SYSEXIT load them (SDM vol. 2, SYSENTER): flat 4 GiB, 32-bit, accessed,
   * from the selectors alone; the descriptor tables are not read.
   */
  private flatSegments(cs: number, cpl: number): void {
    const dpl = cpl << 13;
    this.segSel[CS] = cs;
    this.segBase[CS] = 0;
    this.segLimit[CS] = -1;
    this.segAttr[CS] = 0x00c09b00 | dpl;
    this.segSel[SS] = (cs + 8) & 0xffff;
    this.segBase[SS] = 0;
    this.segLimit[SS] = -1;
    this.segAttr[SS] = 0x00c09300 | dpl;
    this.codeSize32 = this.stackSize32 = true;
    this._cpl = cpl;
    this.dropWindow();
    this.segmentLimitsChanged();
  }

  /** SYSENTER: to CPL 0 at SYSENTER_CS:SYSENTER_EIP with SYSENTER_ESP; VM, IF and RF cleared. */
  private sysenter(): void {
    if (!(this._cr0 & CR0_PE) || (this.sysenterCs & 0xfffc) === 0) throw new CpuFault(GP, 0);
    this.flags = this.flags & ~(VM | IF | RF);
    this.flatSegments(this.sysenterCs & 0xfffc, 0);
    this.reg32[ESP] = this.sysenterEsp;
    this._eip = this.sysenterEip;
  }

  /** SYSEXIT (CPL 0, checked by the table): to CPL 3 at (SYSENTER_CS + 16):EDX with ESP = ECX. */
  private sysexit(): void {
    if (!(this._cr0 & CR0_PE) || (this.sysenterCs & 0xfffc) === 0) throw new CpuFault(GP, 0);
    this.flatSegments(((this.sysenterCs + 16) & 0xfffc) | 3, 3);
    this.segSel[SS] = ((this.sysenterCs + 24) & 0xfffc) | 3;
    this.reg32[ESP] = this.reg32[ECX];
    this._eip = this.reg32[EDX];
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
      // Honest features: FPU (0), DE (2: I/O breakpoints, CR4.DE), PSE (3), TSC (4), MSR (5: TSC
      // and SYSENTER's), MCE (7: CR4.MCE enables #MC, which an emulated machine never signals; no
      // MCA, so no machine-check MSRs: Linux's mcheck needs both), CX8 (8), SEP (11), PGE (13),
      // CMOV (15). No VME or MTRR. Kernels written for real CPUs set CR4.MCE unasked (issue 18).
      r[EDX] = 1 | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15);
    } else {
      r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
    }
  }

  protected group6(): void {
    switch (this.reg) {
      // gen:dispatch group6 (tools/gen-dispatch.ts: the case labels from the opcode table's bodies; the bodies are hand-written)
      // body sldt: SLDT
      case 0:
        this.setRm(this.modrm >= 0xc0 ? (this.op32 ? 4 : 2) : 2, this.ldtSel);
        return;
      // body str: STR
      case 1:
        this.setRm(this.modrm >= 0xc0 ? (this.op32 ? 4 : 2) : 2, this.trSel);
        return;
      // body lldt: LLDT
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
      // body ltr: LTR
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
      // body verr-verw: VERR VERW
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
      // end gen:dispatch
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
    switch (op) {
      // gen:dispatch group7 (tools/gen-dispatch.ts: the case labels from the opcode table's bodies; the bodies are hand-written)
      // body store-descriptor-table: SGDT SIDT
      case 0:
      case 1: {
        const base = op === 0 ? this.gdtBase : this.idtBase;
        const limit = op === 0 ? this.gdtLimit : this.idtLimit;
        this.writeLin16(this.ea, limit);
        this.writeLin32(this.ea + 2, osz === 4 ? base : base & 0xffffff);
        return;
      }
      // body load-descriptor-table: LGDT LIDT
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
      // body smsw: SMSW
      case 4:
        this.setRm(this.modrm >= 0xc0 ? osz : 2, this._cr0 & (osz === 4 && this.modrm >= 0xc0 ? -1 : 0xffff));
        return;
      // body lmsw: LMSW
      case 6: {
        const v = this.getRm(2);
        this.writeCr0((this._cr0 & ~0xe) | (v & 0xf) | (this._cr0 & CR0_PE));
        return;
      }
      // body invlpg: INVLPG
      case 7:
        this.mmu.invlpg(this.ea);
        this.pageInvalidated(this.ea >>> 12);
        return;
      // end gen:dispatch
    }
  }
}
