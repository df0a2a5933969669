/**
 * The block compiler's templates of the generic forms (Cpu.execGeneric's decoded words) that it
 * inlines: byte and word MOVs, MOVZX/MOVSX from memory, IMUL r32, r/m32, INC/DEC of a dword in
 * memory, word shifts of a register, TEST r/m32, imm32, SETcc, DIV/IDIV, CMOVcc, SHLD/SHRD of a
 * dword and the byte and word ALU forms. A layer of the generator (GenBase → GenGeneric → Gen in
 * block-gen.ts), split from block-gen.ts for size; what a block is: blocks.ts's header.
 */
import {
  G_ALU8_AI,
  G_ALU8_MI,
  G_ALU8_MR,
  G_ALU8_RM,
  G_ALU_MI,
  G_ALU_MR,
  G_ALU_RM,
  G_CMOV,
  G_GRP3,
  G_GRP3_8,
  G_IMUL2,
  G_INCDEC,
  G_MOV8_MI,
  G_MOV8_MR,
  G_MOV8_RM,
  G_MOV_MI,
  G_MOV_MR,
  G_MOV_RM,
  G_MOVX,
  G_SETCC,
  G_SHIFT,
  G_SHLD,
  G_TEST8,
  G_TEST8_MI,
  G_TEST_MI,
  G_TEST_MR,
  X16,
} from './decoded';
import { ARITH, CF, OF, SF, ZF } from './flags';
import { C } from './block-host';
import { MOVE_SEMANTICS, SIGN_EXTEND } from './move-ops';
import { ALU_OPS, GROUP2_AT_ONCE, INCDEC_OPS, SHIFT_DOUBLE, SHIFT_DOUBLE_OF, TEST_AS, WIDTHS } from './alu-ops';
import { IMUL_TRUNC } from './muldiv-ops';
import { ALU, GenBase, namesOf, type Insn } from './block-gen-base';
import { GENERIC_FORMS, genericRows } from './generic-forms';

export const G_NAMES = namesOf('G_');
/** The generic forms by handler (G_*). */
const GENERIC_BY_HANDLER = new Map(GENERIC_FORMS.map((f) => [f.handler, f]));
/** The generic forms on bytes (their operand size is 8 whatever X16 says). */
const BYTE_FORMS = new Set([
  G_ALU8_AI,
  G_ALU8_MR,
  G_ALU8_RM,
  G_ALU8_MI,
  G_MOV8_MI,
  G_MOV8_MR,
  G_MOV8_RM,
  G_TEST8,
  G_TEST8_MI,
  G_SETCC,
  G_GRP3_8,
]);
/** SF, ZF and PF of the int32 in `o` (flags.ts, szp). */
export const SZP_O = `(o === 0 ? ${ZF} : 0) | (o < 0 ? ${SF} : 0) | PAR[o & 0xff]`;
const TEST = ALU[TEST_AS];

/** The generic forms' templates (Gen, in block-gen.ts, adds the handlers' own). */
export abstract class GenGeneric extends GenBase {
  // Defined in the layer above (Gen).
  protected abstract dead(i: Insn): boolean;

  /**
   * The commonest generic forms (Cpu.execGeneric) inline: byte and word MOVs, MOVZX/MOVSX from
   * memory, IMUL r32, r/m32, INC/DEC of a dword in memory, word shifts of a register — the LZMA
   * decoder of Linux's boot is made of them (16-bit probabilities, byte buffers). Each does what
   * execGeneric does, in the same order of checks and accesses; false leaves the form to it.
   */
  /**
   * The r/m operand of `size` bytes into the local `dst`: read from memory (its address, segment
   * and TLB checks, a fault restarting the instruction), or a register's low byte, word or all.
   */
  protected readRm(i: Insn, mem: boolean, rm: number, size: 1 | 2 | 4, dst: string): void {
    if (mem) {
      this.address(i, size, false);
      if (size === 1) this.read8(dst);
      else if (size === 2) this.read16(dst);
      else this.read32(dst);
    } else this.emit(`${dst} = ${size === 1 ? byteReg(rm) : size === 2 ? `r[${rm}] & 0xffff` : `r[${rm}]`};`);
  }

  protected generic(i: Insn, x: number): boolean {
    const modrm = x & 0xff;
    const reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    const mem = modrm < 0xc0;
    const word = (x & X16) !== 0;
    const extra = (x >>> 14) & 15;
    const seg = (i.w1 >> 10) & 7;
    switch ((x >>> 8) & 63) {
      case G_MOV8_RM:
      case G_MOV8_MR:
      case G_MOV8_MI:
      case G_MOV_RM:
      case G_MOV_MR:
      case G_MOV_MI:
        if (!this.genericMove(i, x)) return false;
        break;
      case G_MOVX: {
        if (word) return false;
        const from: 1 | 2 = extra & 1 ? 2 : 1;
        this.readRm(i, mem, rm, from, 'v');
        if (extra & 8) this.emit(`v = ${SIGN_EXTEND('v', from)};`); // MOVSX (move-ops.ts `extend`)
        this.emit(`r[${reg}] = v;`);
        break;
      }
      case G_IMUL2:
        // As Cpu.imul2 at size 4: CF = OF = the signed product does not fit; SF/ZF/PF of the result.
        if (word) return false;
        this.readRm(i, mem, rm, 4, 'b');
        this.replacesFlags();
        this.emit(`a = r[${reg}]; o = ${IMUL_TRUNC.low('a', 'b', 4)}; r[${reg}] = o;`);
        if (!this.dead(i))
          this.emit(
            `${C.fl} = (${C.fl} & ${~ARITH}) | (${IMUL_TRUNC.over('a', 'b', 'o')} ? ${CF | OF} : 0) | ${SZP_O}; ${C.lz} = 0;`,
          );
        break;
      case G_INCDEC: {
        // As D_INC_R on a dword in memory: CF folded into fl first (Cpu.incdec); the flag locals
        // are written after the store, which may fault (see D_ALU_MR).
        if (word || !mem || reg > 1) return false;
        this.address(i, 4, false);
        this.read32('a');
        const cf = this.cfExpr();
        if (cf !== null) this.emit(`${C.fl} = (${C.fl} & ~1) | ${cf};`);
        this.emit(`v = ${INCDEC_OPS[reg].result('a')};`);
        this.segCheck(seg, 4, true);
        this.write32('v');
        this.emit('fa = a; fb = 1; fr = v;');
        this.setPending(INCDEC_OPS[reg].lazy);
        break;
      }
      case G_SHIFT: {
        // A word register shifted or rotated (group 2 /reg) from alu-ops' GROUP2_AT_ONCE at width
        // 16, as Cpu.shift runs it (shiftAtOnce): the count masked to 31, 0 changing nothing; the
        // shifts set CF OF SF ZF PF (AF 0) at once, the rotates CF and OF, RCL/RCR read CF.
        if (!word || mem) return false;
        const g = GROUP2_AT_ONCE[reg];
        const w = WIDTHS[2];
        const byCl = i.imm < 0;
        if (!byCl && (i.imm & 31) === 0) break;
        const c = byCl ? 'b' : `${i.imm & 31}`;
        if (byCl || !g.szp) this.cpuFlags();
        else this.replacesFlags();
        if (byCl) this.emit('b = r[1] & 31; if (b !== 0) {');
        this.emit(`a = r[${rm}] & 0xffff; lp = ${g.count(c, w)};`);
        if (g.readsCf) this.emit(`pv = ${C.flags} & ${CF};`);
        this.emit(`v = ${g.result('a', 'lp', 'pv', w)}; fl = ${g.cf('a', 'lp', 'pv', 'v', w)};`);
        this.emit(`r[${rm}] = (r[${rm}] & ~0xffff) | v;`);
        const of = `(${g.of('a', 'v', 'fl', w)} ? ${OF} : 0)`;
        if (g.szp)
          this.emit(
            `o = (v << 16) >> 16; ${C.fl} = (${C.fl} & ${~ARITH}) | (fl ? ${CF} : 0) | ${of} | ${SZP_O}; ${C.lz} = 0;`,
          );
        else this.emit(`${C.flags} = (${C.flags} & ${~(CF | OF)}) | (fl ? ${CF} : 0) | ${of};`);
        if (byCl) this.emit('}');
        break;
      }
      case G_SHLD: {
        // SHLD/SHRD r/m32, r32 by imm8 or CL from alu-ops' SHIFT_DOUBLE (as Cpu.shiftDouble): the
        // operand read first (its fault comes whatever the count); a count of 0 changes nothing.
        if (word) return false;
        const op = SHIFT_DOUBLE[(extra >> 1) & 1];
        const w = WIDTHS[4];
        const byCl = (extra & 1) !== 0;
        const n = byCl ? 'b' : `${i.imm & 31}`;
        this.readRm(i, mem, rm, 4, 'a');
        if (n === '0') break;
        if (byCl) {
          this.cpuFlags(); // a count of 0 at run time keeps the flags
          this.emit('b = r[1] & 31; if (b !== 0) {');
        } else this.replacesFlags();
        this.emit(`v = ${op.result('a', `r[${reg}]`, n, w)};`);
        if (mem) {
          this.segCheck(seg, 4, true);
          this.write32('v');
        } else this.emit(`r[${rm}] = v;`);
        if (byCl || mem || !this.dead(i))
          this.emit(
            `o = v; ${C.fl} = (${C.fl} & ${~ARITH}) | (${op.cf('a', n, w)} ? ${CF} : 0) | (${SHIFT_DOUBLE_OF('a', 'o', w)} ? ${OF} : 0) | ${SZP_O}; ${C.lz} = 0;`,
          );
        if (byCl) this.emit('}');
        break;
      }
      case G_ALU8_AI:
      case G_ALU8_MR:
      case G_ALU8_RM:
      case G_ALU8_MI:
      case G_TEST8:
      case G_TEST8_MI:
        this.byteAlu(i, x);
        break;
      case G_ALU_MR:
      case G_ALU_RM:
      case G_ALU_MI:
      case G_TEST_MR:
        if (!word) return false;
        this.wordAlu(i, x);
        break;
      case G_TEST_MI:
        // TEST r/m32, imm32: the lazy flags in the locals, as D_TEST_RI.
        if (word) return false;
        this.readRm(i, mem, rm, 4, 'a');
        this.emit(`fa = a; fb = ${i.imm | 0}; fr = ${TEST[0]};`);
        this.setPending(TEST[1]);
        break;
      case G_SETCC:
        // SETcc r/m8: the condition first, then the store (Cpu.execGeneric: setRm(cond)).
        this.emit(`v = ${this.cond(extra)} ? 1 : 0;`);
        if (!mem) {
          this.emit(setByteReg(rm, 'v'));
          break;
        }
        this.address(i, 1, true);
        this.write8('v');
        break;
      case G_GRP3:
      case G_GRP3_8: {
        // DIV / IDIV r/m8, r/m16, r/m32 (F6/F7 /6 /7; a dword register is D_DIV_R): the operand
        // read as group3Body reads it (its own fault first), then Cpu.divAcc, which raises #DE
        // before writing and leaves the flags (see D_DIV_R). The other members: execGeneric.
        if (reg < 6) return false;
        const size = ((x >>> 8) & 63) === G_GRP3_8 ? 1 : word ? 2 : 4;
        this.readRm(i, mem, rm, size, 'a');
        this.emit(`${C.divAcc}(${size === 4 ? 'a >>> 0' : 'a'}, ${size}, ${reg === 7});`);
        break;
      }
      case G_CMOV:
        // CMOVcc r32, r/m32: the operand is read whatever the condition (a fault comes first).
        if (word) return false;
        this.readRm(i, mem, rm, 4, 'v');
        this.emit(`if (${this.cond(extra)}) r[${reg}] = v;`);
        break;
      default:
        return false;
    }
    const form = (x >>> 8) & 63;
    this.mark(`${G_NAMES[form]}/${BYTE_FORMS.has(form) ? 8 : word ? 16 : 32}/${mem ? 'mem' : 'reg'}`);
    if (mem) this.breakCheck(i);
    return true;
  }

  /**
   * A byte or word MOV of the generic forms (G_MOV8_*, and G_MOV_* with 0x66; the dword forms are
   * the cache's D_MOV_*) from its one definition: the opcode-table row the form runs
   * (generic-forms.ts) gives the operand kinds — E the ModR/M r/m (a register, or the memory
   * operand with its segment checks and the TLB hit inline), G the reg field, I the immediate; b
   * a byte, v a word — and MOVE_SEMANTICS what MOV does with them (set o0 ← o1: the source read,
   * then the destination written, as execGeneric does). False for a dword (not generic here).
   */
  private genericMove(i: Insn, x: number): boolean {
    const form = GENERIC_BY_HANDLER.get((x >>> 8) & 63);
    if (form === undefined) return false;
    const [row] = genericRows(form);
    const [o0, o1] = row.operands as readonly string[];
    const size = o0.endsWith('b') ? 1 : 2;
    if (size === 2 && (x & X16) === 0) return false;
    const ops = MOVE_SEMANTICS[row.mnemonic];
    if (ops === undefined || ops.length !== 1 || ops[0][0] !== 'set')
      throw new Error(`blocks: generic ${row.mnemonic} is not a MOV`); // an emulator bug
    const modrm = x & 0xff;
    const regOf = (kind: string) => (kind[0] === 'G' ? (modrm >> 3) & 7 : modrm & 7);
    const inMemory = (kind: string) => kind[0] === 'E' && modrm < 0xc0;
    if (inMemory(o1)) {
      this.address(i, size, false);
      if (size === 1) this.read8('v');
      else this.read16('v');
    } else if (o1[0] === 'I') this.emit(`v = ${i.imm & (size === 1 ? 0xff : 0xffff)};`);
    else this.emit(`v = ${size === 1 ? byteReg(regOf(o1)) : `r[${regOf(o1)}] & 0xffff`};`);
    if (inMemory(o0)) {
      this.address(i, size, true);
      if (size === 1) this.write8('v');
      else this.write16('v');
    } else {
      const n = regOf(o0);
      this.emit(size === 1 ? setByteReg(n, 'v') : `r[${n}] = (r[${n}] & ~0xffff) | v;`);
    }
    return true;
  }

  /**
   * The byte ALU forms (ALU AL, imm8; ALU r/m8, r8; ALU r8, r/m8; ALU r/m8, imm8; TEST), in
   * execGeneric's order (read, operate, check the segment for writing, write): see sizedAlu.
   */
  private byteAlu(i: Insn, x: number): void {
    const form = (x >>> 8) & 63;
    const modrm = x & 0xff;
    const reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    const mem = modrm < 0xc0;
    // TEST is TEST_AS without the store; the others store unless ALU_OPS says not (CMP).
    const test = form === G_TEST8 || form === G_TEST8_MI;
    const op = test ? TEST_AS : (x >>> 14) & 7;
    const store = !test && ALU_OPS[op].stores;
    const imm = `${i.imm & 0xff}`;
    if (form === G_ALU8_AI) {
      this.sizedAlu(op, byteReg(0), imm, 1);
      if (store) this.emit(setByteReg(0, 'v'));
      this.sizedFlags(op);
      return;
    }
    if (mem) {
      this.address(i, 1, false);
      this.read8('a');
    } else this.emit(`a = ${byteReg(rm)};`);
    if (form === G_ALU8_RM) {
      this.sizedAlu(op, byteReg(reg), 'a', 1);
      if (store) this.emit(setByteReg(reg, 'v'));
      this.sizedFlags(op);
      return;
    }
    const b = form === G_ALU8_MI || form === G_TEST8_MI ? imm : byteReg(reg);
    this.sizedAlu(op, 'a', b, 1);
    if (store && !mem) this.emit(setByteReg(rm, 'v'));
    else if (store) {
      this.segCheck((i.w1 >> 10) & 7, 1, true);
      this.write8('v');
    }
    this.sizedFlags(op);
  }

  /** The word ALU forms (0x66: ALU r/m16, r16; r16, r/m16; r/m16, imm; TEST): see sizedAlu. */
  private wordAlu(i: Insn, x: number): void {
    const form = (x >>> 8) & 63;
    const modrm = x & 0xff;
    const reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    const mem = modrm < 0xc0;
    const test = form === G_TEST_MR;
    const op = test ? TEST_AS : (x >>> 14) & 7;
    const store = !test && ALU_OPS[op].stores;
    if (mem) {
      this.address(i, 2, false);
      this.read16('a');
    } else this.emit(`a = r[${rm}] & 0xffff;`);
    if (form === G_ALU_RM) {
      this.sizedAlu(op, `r[${reg}] & 0xffff`, 'a', 2);
      if (store) this.emit(`r[${reg}] = (r[${reg}] & ~0xffff) | (v & 0xffff);`);
      this.sizedFlags(op);
      return;
    }
    const b = form === G_ALU_MI ? `${i.imm & 0xffff}` : `r[${reg}] & 0xffff`;
    this.sizedAlu(op, 'a', b, 2);
    if (store && !mem) this.emit(`r[${rm}] = (r[${rm}] & ~0xffff) | (v & 0xffff);`);
    else if (store) {
      this.segCheck((i.w1 >> 10) & 7, 2, true);
      this.write16('v');
    }
    this.sizedFlags(op);
  }

  /**
   * An ALU operation of bytes or words (`size` 1 or 2) on the expressions `x` and `y` (unsigned
   * of the size; `y` may be the local a, `x` not b), the result in v. The eight but ADC/SBB run
   * ALU_OPS' int32 expression on the operands sign-extended to 32 bits, the result sign-extended
   * from the size: a lazy kind's CF, OF, AF and conditions over such values are the size's
   * (alu-ops.ts, LAZY_KINDS), so sizedFlags leaves them in the flag locals as a dword operation's
   * and every later reader (a Jcc, the flush, Cpu.cond) answers as after Cpu.alu at the size.
   * ADC and SBB: Cpu.alu, whose flags are its own.
   */
  private sizedAlu(op: number, x: string, y: string, size: 1 | 2): void {
    const f = ALU[op];
    if (f === undefined) {
      this.cpuFlags();
      this.emit(`v = ${C.alu}(${op}, ${x}, ${y}, ${size});`);
      return;
    }
    const pad = WIDTHS[size].pad;
    this.emit(`b = ((${y}) << ${pad}) >> ${pad}; a = ((${x}) << ${pad}) >> ${pad};`);
    this.emit(`v = (${ALU_OPS[op].result!('a', 'b')}) << ${pad} >> ${pad};`);
  }
  /**
   * After sizedAlu (and the store, which may fault: the catch flushes the flags pending before
   * this instruction from the locals, so they change only now): its flags into the locals.
   */
  private sizedFlags(op: number): void {
    const f = ALU[op];
    if (f === undefined) return;
    this.emit('fa = a; fb = b; fr = v;');
    this.setPending(f[1]);
  }
}

/** The value of byte register n (AL, CL, DL, BL, AH, CH, DH, BH) as an expression. */
function byteReg(n: number): string {
  return n < 4 ? `(r[${n}] & 0xff)` : `((r[${n - 4}] >> 8) & 0xff)`;
}
/** A statement writing the low byte of local `v` into byte register n. */
function setByteReg(n: number, v: string): string {
  return n < 4
    ? `r[${n}] = (r[${n}] & ~0xff) | (${v} & 0xff);`
    : `r[${n - 4}] = (r[${n - 4}] & ~0xff00) | ((${v} & 0xff) << 8);`;
}
