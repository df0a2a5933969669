/**
 * The interpreter's one-byte opcode map, in the Cpu class chain (README.md, "Layout"): step()
 * with prefixes and checkEncoding() (what the opcode table says: #UD, LOCK, privilege,
 * immediates), and the groups 3 and 5.
 */
import { notOf } from './muldiv-ops';
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
import { CF, MASK, OF, PUSHFD_IMAGE, VM, ZF, szp } from './flags';
import {
  CpuFault,
  EAX,
  ES,
  NO_SEG,
  DE,
  SoftInt,
  ECX,
  EDX,
  EBX,
  ESP,
  EBP,
  SS,
  DS,
  DB,
  BP,
  BR,
  UD,
  GP,
  CR0_PE,
  CS,
} from './arch';
import { CpuFpu } from './fpu-ops';

export abstract class CpuInterpreter extends CpuFpu {
  // Defined in the layers above (see README.md, "Layout").
  protected abstract step0f(osz: number, lock: boolean): void;
  // ---- the interpreter ---------------------------------------------------------------------------

  protected step(): void {
    this.ipWrapped = false;
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

    switch (b) {
      // gen:moves step (tools/gen-moves.ts, from move-ops.ts and the opcode table: do not edit)
      // PUSH ES
      case 0x06:
        this.push(this.segSel[ES]);
        return;
      // POP ES
      case 0x07: {
        const v = this.pop();
        this.loadSeg(ES, v & 0xffff);
        return;
      }
      // PUSH CS
      case 0x0e:
        this.push(this.segSel[CS]);
        return;
      // PUSH SS
      case 0x16:
        this.push(this.segSel[SS]);
        return;
      // POP SS
      case 0x17: {
        const v = this.pop();
        this.loadSeg(SS, v & 0xffff);
        this.afterMovSs();
        return;
      }
      // PUSH DS
      case 0x1e:
        this.push(this.segSel[DS]);
        return;
      // POP DS
      case 0x1f: {
        const v = this.pop();
        this.loadSeg(DS, v & 0xffff);
        return;
      }
      // PUSH Zv
      case 0x50:
      case 0x51:
      case 0x52:
      case 0x53:
      case 0x54:
      case 0x55:
      case 0x56:
      case 0x57:
        this.push(this.getReg(b & 7, osz));
        return;
      // POP Zv
      case 0x58:
      case 0x59:
      case 0x5a:
      case 0x5b:
      case 0x5c:
      case 0x5d:
      case 0x5e:
      case 0x5f: {
        const v = this.pop();
        this.setReg(b & 7, osz, v);
        return;
      }
      // PUSH Iv
      case 0x68:
        this.push(this.imm1);
        return;
      // PUSH Ibs
      case 0x6a:
        this.push((this.imm1 << 24) >> 24);
        return;
      // XCHG Eb, Gb
      case 0x86: {
        const t = this.getRm(1);
        this.setRm(1, this.getReg(this.reg, 1));
        this.setReg(this.reg, 1, t);
        return;
      }
      // XCHG Ev, Gv
      case 0x87: {
        const t = this.getRm(osz);
        this.setRm(osz, this.getReg(this.reg, osz));
        this.setReg(this.reg, osz, t);
        return;
      }
      // MOV Eb, Gb
      case 0x88:
        this.setRm(1, this.getReg(this.reg, 1));
        return;
      // MOV Ev, Gv
      case 0x89:
        this.setRm(osz, this.getReg(this.reg, osz));
        return;
      // MOV Gb, Eb
      case 0x8a:
        this.setReg(this.reg, 1, this.getRm(1));
        return;
      // MOV Gv, Ev
      case 0x8b:
        this.setReg(this.reg, osz, this.getRm(osz));
        return;
      // MOV Mw/Rv, Sw
      case 0x8c:
        this.setRm(this.modrm >= 0xc0 ? osz : 2, this.segSel[this.reg]);
        return;
      // LEA Gv, M
      case 0x8d:
        this.setReg(this.reg, osz, this.eaOff);
        return;
      // MOV Sw, Mw/Rv
      case 0x8e:
        this.loadSeg(this.reg, this.getRm(2) & 0xffff);
        if (this.reg === SS) this.afterMovSs();
        return;
      // POP Ev
      case 0x8f: {
        const v = this.pop();
        // The address is computed after the pop (SDM vol. 2, POP: ESP as a base register): again.
        this._eip = this.modrmAt;
        this.decodeModrm();
        this.setRm(osz, v);
        return;
      }
      // NOP
      case 0x90:
        return;
      // XCHG Zv, eAX
      case 0x91:
      case 0x92:
      case 0x93:
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97: {
        const t = this.getReg(b & 7, osz);
        this.setReg(b & 7, osz, this.getReg(EAX, osz));
        this.setReg(EAX, osz, t);
        return;
      }
      // CWD
      case 0x99:
        this.setReg(EDX, osz, (this.getReg(EAX, osz) << (32 - 8 * osz)) >> 31);
        return;
      // PUSHF
      case 0x9c:
        if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0);
        this.push(this.flags & (this.op32 ? PUSHFD_IMAGE : 0xffff));
        return;
      // POPF
      case 0x9d: {
        if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0);
        const v = this.pop();
        this.setFlagsFrom(v, osz);
        return;
      }
      // MOV AL, Ob
      case 0xa0:
        this.setReg(EAX, 1, this.readLin(this.moffsLin(1, false), 1));
        return;
      // MOV eAX, Ov
      case 0xa1:
        this.setReg(EAX, osz, this.readLin(this.moffsLin(osz, false), osz));
        return;
      // MOV Ob, AL
      case 0xa2:
        this.writeLin(this.moffsLin(1, true), 1, this.getReg(EAX, 1));
        return;
      // MOV Ov, eAX
      case 0xa3:
        this.writeLin(this.moffsLin(osz, true), osz, this.getReg(EAX, osz));
        return;
      // MOV Zb, Ib
      case 0xb0:
      case 0xb1:
      case 0xb2:
      case 0xb3:
      case 0xb4:
      case 0xb5:
      case 0xb6:
      case 0xb7:
        this.setReg(b & 7, 1, this.imm1);
        return;
      // MOV Zv, Iv
      case 0xb8:
      case 0xb9:
      case 0xba:
      case 0xbb:
      case 0xbc:
      case 0xbd:
      case 0xbe:
      case 0xbf:
        this.setReg(b & 7, osz, this.imm1);
        return;
      // RET Iw
      case 0xc2: {
        const t = this.pop();
        this.checkNearTarget(t);
        this.addSp(this.imm1);
        this._eip = t;
        return;
      }
      // RET
      case 0xc3: {
        const t = this.pop();
        this.checkNearTarget(t);
        this._eip = t;
        return;
      }
      // MOV Eb, Ib
      case 0xc6:
        this.setRm(1, this.imm1);
        return;
      // MOV Ev, Iv
      case 0xc7:
        this.setRm(osz, this.imm1);
        return;
      // LEAVE
      case 0xc9: {
        if (this.stackSize32) r[ESP] = r[EBP];
        else this.setReg(ESP, 2, r[EBP]);
        const v = this.pop();
        this.setReg(EBP, osz, v);
        return;
      }
      // IN AL, Ib
      case 0xe4:
        this.setReg(EAX, 1, this.portIn(this.imm1, 1));
        return;
      // IN eAX, Ib
      case 0xe5:
        this.setReg(EAX, osz, this.portIn(this.imm1, osz));
        return;
      // OUT Ib, AL
      case 0xe6:
        this.portOut(this.imm1, 1, this.getReg(EAX, 1));
        return;
      // OUT Ib, eAX
      case 0xe7:
        this.portOut(this.imm1, osz, this.getReg(EAX, osz));
        return;
      // CALL Jv
      case 0xe8: {
        const rel = osz === 2 ? (this.imm1 << 16) >> 16 : this.imm1 | 0;
        const t = this.op32 ? (this._eip + rel) | 0 : (this._eip + rel) & 0xffff;
        this.checkNearTarget(t);
        this.push(this._eip);
        this._eip = t;
        return;
      }
      // JMP Jv
      case 0xe9: {
        const rel = osz === 2 ? (this.imm1 << 16) >> 16 : this.imm1 | 0;
        const t = this.op32 ? (this._eip + rel) | 0 : (this._eip + rel) & 0xffff;
        this.checkNearTarget(t);
        this._eip = t;
        return;
      }
      // JMP Jb
      case 0xeb: {
        const rel = (this.imm1 << 24) >> 24;
        const t = this.op32 ? (this._eip + rel) | 0 : (this._eip + rel) & 0xffff;
        this.checkNearTarget(t);
        this._eip = t;
        return;
      }
      // IN AL, DX
      case 0xec:
        this.setReg(EAX, 1, this.portIn(this.reg32[EDX] & 0xffff, 1));
        return;
      // IN eAX, DX
      case 0xed:
        this.setReg(EAX, osz, this.portIn(this.reg32[EDX] & 0xffff, osz));
        return;
      // OUT DX, AL
      case 0xee:
        this.portOut(this.reg32[EDX] & 0xffff, 1, this.getReg(EAX, 1));
        return;
      // OUT DX, eAX
      case 0xef:
        this.portOut(this.reg32[EDX] & 0xffff, osz, this.getReg(EAX, osz));
        return;
      // Jcc Jb (the condition: the opcode's low four bits)
      case 0x70:
      case 0x71:
      case 0x72:
      case 0x73:
      case 0x74:
      case 0x75:
      case 0x76:
      case 0x77:
      case 0x78:
      case 0x79:
      case 0x7a:
      case 0x7b:
      case 0x7c:
      case 0x7d:
      case 0x7e:
      case 0x7f:
        if (this.cond(b & 15)) this.jumpRel((this.imm1 << 24) >> 24);
        return;
      // end gen:moves
      // gen:alu step (tools/gen-alu.ts, from alu-ops.ts and the opcode table: do not edit)
      // ADD OR ADC SBB AND SUB XOR CMP Eb, Gb (the operation: the opcode's bits 3–5)
      case 0x00:
      case 0x08:
      case 0x10:
      case 0x18:
      case 0x20:
      case 0x28:
      case 0x30:
      case 0x38: {
        const op = b >> 3;
        const res = this.alu(op, this.getRm(1), this.getReg(this.reg, 1), 1);
        if (op !== 7) this.setRm(1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Gv (the operation: the opcode's bits 3–5)
      case 0x01:
      case 0x09:
      case 0x11:
      case 0x19:
      case 0x21:
      case 0x29:
      case 0x31:
      case 0x39: {
        const op = b >> 3;
        const res = this.alu(op, this.getRm(osz), this.getReg(this.reg, osz), osz);
        if (op !== 7) this.setRm(osz, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Gb, Eb (the operation: the opcode's bits 3–5)
      case 0x02:
      case 0x0a:
      case 0x12:
      case 0x1a:
      case 0x22:
      case 0x2a:
      case 0x32:
      case 0x3a: {
        const op = b >> 3;
        const res = this.alu(op, this.getReg(this.reg, 1), this.getRm(1), 1);
        if (op !== 7) this.setReg(this.reg, 1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Gv, Ev (the operation: the opcode's bits 3–5)
      case 0x03:
      case 0x0b:
      case 0x13:
      case 0x1b:
      case 0x23:
      case 0x2b:
      case 0x33:
      case 0x3b: {
        const op = b >> 3;
        const res = this.alu(op, this.getReg(this.reg, osz), this.getRm(osz), osz);
        if (op !== 7) this.setReg(this.reg, osz, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP AL, Ib (the operation: the opcode's bits 3–5)
      case 0x04:
      case 0x0c:
      case 0x14:
      case 0x1c:
      case 0x24:
      case 0x2c:
      case 0x34:
      case 0x3c: {
        const op = b >> 3;
        const res = this.alu(op, this.getReg(EAX, 1), this.imm1, 1);
        if (op !== 7) this.setReg(EAX, 1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP eAX, Iv (the operation: the opcode's bits 3–5)
      case 0x05:
      case 0x0d:
      case 0x15:
      case 0x1d:
      case 0x25:
      case 0x2d:
      case 0x35:
      case 0x3d: {
        const op = b >> 3;
        const res = this.alu(op, this.getReg(EAX, osz), this.imm1, osz);
        if (op !== 7) this.setReg(EAX, osz, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Eb, Ib (the operation: the ModR/M reg field)
      case 0x80:
      case 0x82: {
        const op = this.reg;
        const res = this.alu(op, this.getRm(1), this.imm1, 1);
        if (op !== 7) this.setRm(1, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Iv (the operation: the ModR/M reg field)
      case 0x81: {
        const op = this.reg;
        const res = this.alu(op, this.getRm(osz), this.imm1, osz);
        if (op !== 7) this.setRm(osz, res);
        return;
      }
      // ADD OR ADC SBB AND SUB XOR CMP Ev, Ibs (the operation: the ModR/M reg field)
      case 0x83: {
        const op = this.reg;
        const res = this.alu(op, this.getRm(osz), (((this.imm1 << 24) >> 24) & MASK[osz]) >>> 0, osz);
        if (op !== 7) this.setRm(osz, res);
        return;
      }
      // TEST Eb, Gb
      case 0x84:
        this.alu(4, this.getRm(1), this.getReg(this.reg, 1), 1);
        return;
      // TEST Ev, Gv
      case 0x85:
        this.alu(4, this.getRm(osz), this.getReg(this.reg, osz), osz);
        return;
      // TEST AL, Ib
      case 0xa8:
        this.alu(4, this.getReg(EAX, 1), this.imm1, 1);
        return;
      // TEST eAX, Iv
      case 0xa9:
        this.alu(4, this.getReg(EAX, osz), this.imm1, osz);
        return;
      // INC Zv
      case 0x40:
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:
      case 0x45:
      case 0x46:
      case 0x47:
        this.setReg(b & 7, osz, this.incdec(this.getReg(b & 7, osz), osz, false));
        return;
      // DEC Zv
      case 0x48:
      case 0x49:
      case 0x4a:
      case 0x4b:
      case 0x4c:
      case 0x4d:
      case 0x4e:
      case 0x4f:
        this.setReg(b & 7, osz, this.incdec(this.getReg(b & 7, osz), osz, true));
        return;
      // INC DEC Eb
      case 0xfe:
        this.setRm(1, this.incdec(this.getRm(1), 1, this.reg === 1));
        return;
      // end gen:alu
      // gen:dispatch step (tools/gen-dispatch.ts: the case labels from the opcode table's bodies; the bodies are hand-written)
      // body bcd: DAA DAS AAA AAS
      case 0x27:
      case 0x2f:
      case 0x37:
      case 0x3f:
        return this.bcd(b);
      // body pusha: PUSHA
      case 0x60: {
        // The whole frame is checked before the first push (SDM vol. 2, PUSHA: "#SS(0) If the
        // starting or ending stack address is outside the stack segment limit"; segments.ts).
        this.requireStackFrame(8 * osz, osz);
        const sp = r[ESP];
        for (let i = 0; i < 8; i++) {
          const v = i === ESP ? sp : this.getReg(i, osz);
          if (this.op32) this.push32(v);
          else this.push16(v);
        }
        return;
      }
      // body popa: POPA
      case 0x61:
        for (let i = 7; i >= 0; i--) {
          const v = this.pop();
          if (i !== ESP) this.setReg(i, osz, v);
        }
        return;
      // body bound: BOUND
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
      // body arpl: ARPL
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
      // body imul-imm: IMUL
      case 0x69:
      case 0x6b: {
        const a = this.getRm(osz);
        const imm = b === 0x69 ? this.imm1 : (this.imm1 << 24) >> 24;
        this.setReg(this.reg, osz, this.imul2(a, imm, osz));
        return;
      }
      // body string: INS OUTS MOVS CMPS STOS LODS SCAS
      case 0x6c:
      case 0x6d:
      case 0x6e:
      case 0x6f:
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
      // body cbw: CBW
      case 0x98:
        if (this.op32) r[EAX] = (r[EAX] << 16) >> 16;
        else this.setReg(EAX, 2, (r[EAX] << 24) >> 24);
        return;
      // body call-far: CALL
      case 0x9a:
        this.farCall(this.imm2, this.imm1);
        return;
      // body fwait: FWAIT
      case 0x9b:
        return this.fwait();
      // body shift: ROL ROR RCL RCR SHL SHR SAR
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
      // body load-far-pointer: LES LDS
      case 0xc4:
      case 0xc5: {
        const off = this.readLin(this.ea, osz);
        const sel = this.readLin16(this.ea + osz);
        this.loadSeg(b === 0xc4 ? ES : DS, sel);
        this.setReg(this.reg, osz, off);
        return;
      }
      // body enter: ENTER
      case 0xc8:
        return this.enter(this.imm1, this.imm2 & 31, osz);
      // body ret-far: RETF
      case 0xca:
      case 0xcb: {
        const n = b === 0xca ? this.imm1 : 0;
        this.farReturn(n);
        return;
      }
      // body int3: INT3
      case 0xcc:
        throw new SoftInt(BP);
      // body int: INT
      case 0xcd:
        // INT n (not INT3, INTO) is IOPL-sensitive in VM86 without CR4.VME (SDM vol. 2, INT n).
        if (this.fl & VM && this.iopl < 3) throw new CpuFault(GP, 0);
        throw new SoftInt(this.imm1);
      // body into: INTO
      case 0xce:
        if (this.flags & OF) throw new SoftInt(4);
        return;
      // body iret: IRET
      case 0xcf:
        this.iret();
        return;
      // body aam: AAM
      case 0xd4: {
        const base = this.imm1;
        if (base === 0) throw new CpuFault(DE, -1);
        const al = r[EAX] & 0xff;
        const v = (Math.floor(al / base) << 8) | (al % base);
        this.setReg(EAX, 2, v);
        this.setArith(szp(v & 0xff, 1));
        return;
      }
      // body aad: AAD
      case 0xd5: {
        const base = this.imm1;
        const v = ((r[EAX] & 0xff) + ((r[EAX] >> 8) & 0xff) * base) & 0xff;
        this.setReg(EAX, 2, v);
        this.setArith(szp(v, 1));
        return;
      }
      // body salc: SALC
      case 0xd6:
        this.setReg(EAX, 1, this.flags & CF ? 0xff : 0);
        return;
      // body xlat: XLAT
      case 0xd7: {
        const off = this.ad32 ? (r[EBX] + (r[EAX] & 0xff)) | 0 : (r[EBX] + (r[EAX] & 0xff)) & 0xffff;
        this.setReg(EAX, 1, this.readLin8(this.segBase[this.seg === NO_SEG ? DS : this.seg] + off));
        return;
      }
      // body escape: ESC
      case 0xd8:
      case 0xd9:
      case 0xda:
      case 0xdb:
      case 0xdc:
      case 0xdd:
      case 0xde:
      case 0xdf:
        return this.escape(b);
      // body loop: LOOPNE LOOPE LOOP
      case 0xe0:
      case 0xe1:
      case 0xe2: {
        const d = (this.imm1 << 24) >> 24;
        const c = this.ad32 ? (r[ECX] = r[ECX] - 1) : (this.setReg(ECX, 2, r[ECX] - 1), r[ECX] & 0xffff);
        const z = (this.flags & ZF) !== 0;
        if (c !== 0 && (b === 0xe2 || (b === 0xe1 ? z : !z))) this.jumpRel(d);
        return;
      }
      // body jcxz: JECXZ
      case 0xe3: {
        const d = (this.imm1 << 24) >> 24;
        if ((this.ad32 ? r[ECX] : r[ECX] & 0xffff) === 0) this.jumpRel(d);
        return;
      }
      // body jmp-far: JMP
      case 0xea:
        this.farJump(this.imm2, this.imm1);
        return;
      // body int1: INT1
      case 0xf1:
        // INT1 (ICEBP): a #DB trap after it, no DR6 bit (it was a fault at it: the handler's IRET
        // ran it again, forever).
        throw new SoftInt(DB, true);
      // body hlt: HLT
      case 0xf4:
        this.halted = true;
        this.attention = 1;
        return;
      // body flag-op: SAHF LAHF CMC CLC STC CLI STI CLD STD
      case 0x9e:
      case 0x9f:
      case 0xf5:
      case 0xf8:
      case 0xf9:
      case 0xfa:
      case 0xfb:
      case 0xfc:
      case 0xfd:
        return this.flagOp(b);
      // body group3: 0xf6 0xf7, by the ModR/M reg field
      case 0xf6:
      case 0xf7:
        return this.group3Body(b & 1 ? osz : 1);
      // body group5: 0xff, by the ModR/M reg field
      case 0xff:
        return this.group5(osz);
      // end gen:dispatch
    }
    // Not reached: checkEncoding raised #UD for every opcode the table does not list, and each
    // row of the table names the case that runs it (tools/gen-dispatch.ts; tests/cpu/
    // decode-agreement.test.ts checks by execution).
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
    if (e & E_PROTECTED && (!(this._cr0 & CR0_PE) || this.fl & VM)) throw new CpuFault(UD, -1);
    const privilege = e & PRIV_MASK;
    if (privilege === PRIV_CPL0) this.requireCpl0();
    else if (privilege === PRIV_IOPL) {
      if (this._cr0 & CR0_PE && this._cpl > this.iopl) throw new CpuFault(GP, 0);
    } else if (privilege === PRIV_TSD) {
      if (this._cr4 & 4 && this._cpl !== 0 && this._cr0 & CR0_PE) throw new CpuFault(GP, 0);
    } // PRIV_IO: IOPL, then the TSS bitmap for the port (checkIo, once the port is known).
    if (e & E_BAD_REG) throw new CpuFault(UD, -1);
  }

  /**
   * The linear address of MOV's moffs operand (A0–A3): the offset in imm1 (of address size), in DS
   * or the override, checked against the segment for an access of `size` bytes (SDM vol. 2, MOV).
   */
  protected moffsLin(size: number, write: boolean): number {
    const sreg = this.seg === NO_SEG ? DS : this.seg;
    this.checkSeg(sreg, this.imm1, size, write);
    return (this.segBase[sreg] + this.imm1) | 0;
  }

  protected jumpRel(d: number): void {
    this.nearJump(this.op32 ? (this._eip + d) | 0 : (this._eip + d) & 0xffff);
  }

  /**
   * ENTER alloc, level (SDM vol. 2, ENTER): push (E)BP, copy level − 1 frame pointers from the
   * enclosing frames, push the new frame pointer (level ≥ 1), allocate. Every access is checked
   * in the pseudocode's order — each push's slot against SS's limit (#SS(0)) and its page (#PF),
   * each copy read, and last "a write using the final value of the stack pointer" (#SS(0) "if the
   * new value of the SP or ESP register is outside the stack segment limit", else #PF) — before
   * anything is written, so a fault leaves the stack as it was. Bochs pushes as it goes and
   * touches the final (E)SP last: the same faults in the same order.
   */
  protected enter(alloc: number, level: number, osz: number): void {
    const r = this.reg32;
    const esp = r[ESP];
    const mask = this.stackSize32 ? -1 : 0xffff;
    const pushes = level === 0 ? 1 : level + 1;
    const copies: number[] = [];
    this.checkStackSlot((esp - osz) & mask, osz, true);
    for (let i = 1; i < level; i++) {
      const at = (r[EBP] - i * osz) & mask;
      this.checkStackSlot(at, osz, false);
      copies.push(this.readLin((this.segBase[SS] + at) | 0, osz));
      this.checkStackSlot((esp - (i + 1) * osz) & mask, osz, true);
    }
    if (level > 0) this.checkStackSlot((esp - pushes * osz) & mask, osz, true);
    this.checkStackSlot((esp - pushes * osz - alloc) & mask, osz, true);
    const push = (v: number) => (osz === 4 ? this.push32(v) : this.push16(v));
    push(r[EBP]);
    const frameTemp = r[ESP]; // ESP after the push (a 16-bit stack changed SP alone)
    for (const v of copies) push(v);
    if (level > 0) push(frameTemp);
    this.addSp(-alloc);
    // "EBP := FrameTemp" (32-bit operands), "BP := FrameTemp[15:0]" (16-bit).
    if (osz === 4) r[EBP] = frameTemp;
    else this.setReg(EBP, 2, frameTemp);
  }

  /** Group 3, after checkEncoding decoded its ModR/M and (TEST) its immediate. */
  protected group3Body(size: number): void {
    const a = this.getRm(size);
    switch (this.reg) {
      // gen:alu group3 (tools/gen-alu.ts, from alu-ops.ts, muldiv-ops.ts and the opcode table: do not edit)
      // TEST Eb, Ib; Ev, Iv
      case 0:
      case 1:
        this.alu(4, a, this.imm1, size);
        return;
      // NOT E (muldiv-ops.ts)
      case 2:
        this.setRm(size, notOf(a, size));
        return;
      // NEG E (alu-ops.ts: SUB from 0)
      case 3:
        this.setRm(size, this.alu(5, 0, a, size));
        return;
      // MUL E (muldiv-ops.ts)
      case 4:
        this.mulAcc(a, size, false);
        return;
      // IMUL E (muldiv-ops.ts)
      case 5:
        this.mulAcc(a, size, true);
        return;
      // DIV E (muldiv-ops.ts)
      case 6:
        this.divAcc(a, size, false);
        return;
      // IDIV E (muldiv-ops.ts)
      case 7:
        this.divAcc(a, size, true);
        return;
      // end gen:alu
    }
  }

  protected group5(osz: number): void {
    switch (this.reg) {
      // gen:alu group5 (tools/gen-alu.ts, from alu-ops.ts and the opcode table: do not edit)
      // INC DEC Ev
      case 0:
      case 1:
        this.setRm(osz, this.incdec(this.getRm(osz), osz, this.reg === 1));
        return;
      // end gen:alu
      // gen:moves group5 (tools/gen-moves.ts, from move-ops.ts and the opcode table: do not edit)
      // CALL Ev
      case 2: {
        const t = this.getRm(osz);
        this.checkNearTarget(t);
        this.push(this._eip);
        this._eip = t;
        return;
      }
      // JMP Ev
      case 4: {
        const t = this.getRm(osz);
        this.checkNearTarget(t);
        this._eip = t;
        return;
      }
      // PUSH Ev
      case 6:
        this.push(this.getRm(osz));
        return;
      // end gen:moves
      // gen:dispatch group5 (tools/gen-dispatch.ts: the case labels from the opcode table's bodies; the bodies are hand-written)
      // body far-indirect: CALL JMP
      case 3:
      case 5: {
        const off = this.readLin(this.ea, osz);
        const sel = this.readLin16(this.ea + osz);
        if (this.reg === 3) this.farCall(sel, off);
        else this.farJump(sel, off);
        return;
      }
      // end gen:dispatch
    }
  }
}
