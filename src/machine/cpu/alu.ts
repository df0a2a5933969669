/**
 * Integer arithmetic of the Cpu class chain (README.md, "Layout"): SHLD/SHRD, group 2's dispatch
 * (shift), conditions, IMUL, the BCD adjustments, BT/BTS/BTR/BTC, BSF/BSR (bit-ops.ts). The ALU group (ADC/SBB
 * included), INC/DEC and group 2's shifts and rotates are generated from their definition,
 * alu-ops.ts, into the layer below: alu-gen.ts.
 */
import { AF, ARITH, CF, MASK, OF, PF, SF, ZF, szp } from './flags';
import { CpuFault, DE, EAX, EDX, signExtend } from './arch';
import { ACC_PAIR, divide, multiply } from './muldiv-ops';
import { CpuAluGen, LAZY_CONDS, lazyCond } from './alu-gen';

export abstract class CpuAlu extends CpuAluGen {
  // ---- ALU ---------------------------------------------------------------------------------------

  protected setArith(f: number): void {
    this.fl = (this.fl & ~ARITH) | f;
    this.lz = 0;
  }

  /** Group 2: ROL ROR RCL RCR SHL SHR SAL SAR, returning the result (unsigned). Count 0 leaves the flags alone. */
  shift(op: number, a: number, count: number, size: number): number {
    count &= 0x1f;
    if (count === 0) return a;
    // The one definition (alu-ops.ts), as the decoded cache and the compiled blocks run it: the
    // dword shifts and rotates with lazy flags or CF/OF at once, the rest with flags by width.
    if (size === 4) {
      if (op >= 4) return this.shift32(op, a | 0, count) >>> 0;
      if (op < 2) return this.rotate32(op, a | 0, count) >>> 0;
    }
    return this.shiftAtOnce(op, a, count, size);
  }

  cond(cc: number): boolean {
    const lz = this.lz;
    const c = cc >> 1;
    if (lz !== 0 && (LAZY_CONDS[lz] >> c) & 1) {
      // From the lazy state (the common CMP/SUB/TEST + Jcc pairs), without building EFLAGS: the
      // kind's own definition (alu-ops.ts), on the values sign-extended to int32.
      const v = this.lzv;
      const sh = 32 - this.lzSize * 8;
      const r = lazyCond(lz * 8 + c, (v[0] << sh) >> sh, (v[1] << sh) >> sh, (v[2] << sh) >> sh);
      return cc & 1 ? !r : r;
    }
    return this.condFlags(cc);
  }

  /** Condition cc on the exact EFLAGS. */
  protected condFlags(cc: number): boolean {
    const f = this.flags;
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = (f & OF) !== 0;
        break;
      case 1:
        r = (f & CF) !== 0;
        break;
      case 2:
        r = (f & ZF) !== 0;
        break;
      case 3:
        r = (f & (CF | ZF)) !== 0;
        break;
      case 4:
        r = (f & SF) !== 0;
        break;
      case 5:
        r = (f & PF) !== 0;
        break;
      case 6:
        r = !(f & SF) !== !(f & OF);
        break;
      default:
        r = (f & ZF) !== 0 || !(f & SF) !== !(f & OF);
    }
    return cc & 1 ? !r : r;
  }

  /** The accumulator pair of `size` (muldiv-ops.ts): AH:AL, DX:AX or EDX:EAX, into ACC_PAIR. */
  private readAccPair(size: number): void {
    const r = this.reg32;
    if (size === 4) {
      ACC_PAIR.low = r[EAX] >>> 0;
      ACC_PAIR.high = r[EDX] >>> 0;
    } else if (size === 2) {
      ACC_PAIR.low = r[EAX] & 0xffff;
      ACC_PAIR.high = r[EDX] & 0xffff;
    } else {
      ACC_PAIR.low = r[EAX] & 0xff;
      ACC_PAIR.high = (r[EAX] >> 8) & 0xff;
    }
  }

  /** ACC_PAIR into the accumulator pair of `size`. */
  private writeAccPair(size: number): void {
    const r = this.reg32;
    if (size === 4) {
      r[EAX] = ACC_PAIR.low;
      r[EDX] = ACC_PAIR.high;
    } else if (size === 2) {
      r[EAX] = (r[EAX] & ~0xffff) | ACC_PAIR.low;
      r[EDX] = (r[EDX] & ~0xffff) | ACC_PAIR.high;
    } else r[EAX] = (r[EAX] & ~0xffff) | ACC_PAIR.low | (ACC_PAIR.high << 8);
  }

  /** MUL / IMUL r/m (F6/F7 /4 /5) of the operand `a` (unsigned, of `size`): muldiv-ops.ts' multiply. */
  protected mulAcc(a: number, size: number, signed: boolean): void {
    this.readAccPair(size);
    this.setArith(multiply(ACC_PAIR.low, a, size, signed));
    this.writeAccPair(size);
  }

  /**
   * DIV / IDIV r/m (F6/F7 /6 /7) by the operand `a`: muldiv-ops.ts' divide, #DE when it refuses.
   * Public: compiled blocks call it (block-host.ts).
   */
  divAcc(a: number, size: number, signed: boolean): void {
    this.readAccPair(size);
    if (!divide(ACC_PAIR.high, ACC_PAIR.low, a, size, signed)) throw new CpuFault(DE, -1);
    this.writeAccPair(size);
  }

  /**
   * BSF / BSR Gv, Ev (bit-ops.ts, BITSCAN_STATEMENT), after the ModR/M is decoded: ZF says whether
   * the source is 0; if not, the index of its lowest (BSF) or highest (BSR) set bit goes to the reg
   * field's register. step0f and the decoded cache's G_BITSCAN (memory and 16-bit forms).
   */
  protected bitScan(reverse: boolean, size: number): void {
    const v = this.getRm(size);
    // gen:bits bitScan (tools/gen-bits.ts, from bit-ops.ts BITSCAN_STATEMENT: do not edit)
    if (reverse) {
      if (v === 0) this.flags = this.flags | ZF;
      else {
        this.flags = this.flags & ~ZF;
        this.setReg(this.reg, size, 31 - Math.clz32(v));
      }
    } else {
      if (v === 0) this.flags = this.flags | ZF;
      else {
        this.flags = this.flags & ~ZF;
        this.setReg(this.reg, size, 31 - Math.clz32(v & -v));
      }
    }
    // end gen:bits
  }

  protected imul2(a: number, b: number, size: number): number {
    const x = signExtend(a, size);
    const y = signExtend(b, size);
    let res: number;
    let over: boolean;
    // gen:alu imul2 (tools/gen-alu.ts, from muldiv-ops.ts IMUL_TRUNC: do not edit)
    if (size === 4) {
      res = Math.imul(x, y);
      over = x * y !== res;
    } else {
      res = ((x * y) << 16) >> 16;
      over = x * y !== res;
    }
    // end gen:alu
    this.setArith((over ? CF | OF : 0) | szp(res & MASK[size], size));
    return res;
  }

  protected bcd(b: number): void {
    const r = this.reg32;
    let al = r[EAX] & 0xff;
    const cf = this.flags & CF;
    const af = this.flags & AF;
    let f = 0;
    if (b === 0x27 || b === 0x2f) {
      // DAA / DAS (SDM vol. 2)
      const oldAl = al;
      if ((al & 0x0f) > 9 || af) {
        al = b === 0x27 ? al + 6 : al - 6;
        f |= AF;
        if (b === 0x27 ? al > 0xff : al < 0) f |= CF;
        al &= 0xff;
      }
      f |= cf;
      if (oldAl > 0x99 || cf) {
        al = (b === 0x27 ? al + 0x60 : al - 0x60) & 0xff;
        f |= CF;
      }
      this.setReg(EAX, 1, al);
      this.flags = (this.flags & ~(ARITH & ~OF)) | f | szp(al, 1);
      return;
    }
    // AAA / AAS
    if ((al & 0x0f) > 9 || af) {
      const ax = b === 0x37 ? (r[EAX] & 0xffff) + 0x106 : (r[EAX] & 0xffff) - 0x106;
      this.setReg(EAX, 2, ax);
      f = AF | CF;
    }
    this.setReg(EAX, 1, r[EAX] & 0x0f);
    this.flags = (this.flags & ~(CF | AF)) | f;
  }

  /**
   * CMPXCHG r/m, r (0F B0/B1; SDM vol. 2, CMPXCHG): the accumulator compared with the destination
   * (CMP's flags); equal, the source is stored; not, the destination is loaded into the
   * accumulator — and written back to a memory destination as it was (the locked cycle writes
   * either way). After decodeModrm or the decoded cache's rebuilt state (execGeneric).
   */
  protected cmpxchg(size: number): void {
    const dst = this.getRm(size);
    const acc = this.getReg(EAX, size);
    this.alu(7, acc, dst, size);
    if (acc === dst) this.setRm(size, this.getReg(this.reg, size));
    else {
      if (this.modrm < 0xc0) this.setRm(size, dst);
      this.setReg(EAX, size, dst);
    }
  }

  /**
   * XADD r/m, r (0F C0/C1; SDM vol. 2, XADD): the sum (ADD's flags) into the destination, the
   * destination's old value into the source register; the register first, so that XADD r, r
   * with one register for both leaves the sum.
   */
  protected xadd(size: number): void {
    const dst = this.getRm(size);
    const src = this.getReg(this.reg, size);
    const sum = this.alu(0, dst, src, size);
    this.setReg(this.reg, size, dst);
    this.setRm(size, sum);
  }

  /**
   * BT BTS BTR BTC (op 0–3) of bit `bit` of the r/m operand, CF the bit before. A register bit
   * offset on a memory operand is signed and addresses beyond the operand, in whole operands.
   */
  protected bitOp(op: number, bit: number, osz: number, fromReg: boolean): void {
    const bits = osz * 8;
    let addr = this.ea;
    let offset: number;
    if (this.modrm < 0xc0 && fromReg) {
      // A register bit offset addresses beyond the operand (SDM vol. 2, BT).
      const signed = osz === 4 ? bit | 0 : (bit << 16) >> 16;
      addr = (addr + Math.floor(signed / bits) * osz) | 0;
      offset = ((signed % bits) + bits) % bits;
    } else offset = bit & (bits - 1);
    const saved = this.ea;
    this.ea = addr;
    const v = this.getRm(osz);
    const mask = 1 << offset;
    this.flags = (this.flags & ~CF) | (v & mask ? CF : 0);
    if (op !== 0) {
      const nv = op === 1 ? v | mask : op === 2 ? v & ~mask : v ^ mask;
      this.setRm(osz, osz === 4 ? nv >>> 0 : nv & 0xffff);
    }
    this.ea = saved;
  }
}
