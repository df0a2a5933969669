/**
 * The block compiler's code generator (used by blocks.ts's compileBlock): the JavaScript source
 * of one block function, instruction by instruction — the ALU inline, TLB-hit loads and stores,
 * the lazy flags in locals, the inline forms of the generic instructions (on GenGeneric,
 * block-gen-generic.ts) — and the constants it captures. What a block is, when it runs and how
 * it stays exact: blocks.ts's header.
 */
import {
  D_ALU_JCC,
  D_ALU_MI,
  D_ALU_MR,
  D_ALU_RI,
  D_ALU_RM,
  D_ALU_RR,
  D_CDQ,
  D_DEC_R,
  D_GENERIC,
  D_GRP3_R,
  D_DIV_R,
  D_IMUL3_R,
  D_INC_R,
  D_JCC,
  D_JMP,
  D_MAY_FAULT,
  D_MOVX_R,
  D_MOVZX8_M,
  D_SHIFT_R,
  D_ROTATE_R,
  D_BITSCAN_R,
  D_FLAG,
  D_STRING,
  D_TEST_MR,
  D_TEST_RI,
  D_TEST_RR,
  X16,
  G_SHLD,
} from './decoded';
import { AF, ARITH, CF, OF, PUSHFD_IMAGE } from './flags';
import { C, GEN_CHECK } from './block-host';
import {
  COND_BY_HANDLER,
  MOVE_BY_HANDLER,
  condOps,
  type CondForm,
  SIGN_EXTEND,
  MOVE_SEMANTICS,
  moveName,
  moveOps,
  moveTouchesMemory,
  moveTransfers,
  type Place,
  type CachedOperand,
  type MoveForm,
} from './move-ops';
import { ALU_OPS, INCDEC_OPS, NEG_AS, ROTATE_OPS, SHIFT_OPS, TEST_AS } from './alu-ops';
import { DIV32_FAST, IMUL_TRUNC, MUL32, MULDIV_OPS, NOT_EXPR } from './muldiv-ops';
import { BITSCAN_STATEMENT, BSWAP_EXPR } from './bit-ops';
import { ALU, ALU_MEM, ENDS, namesOf, type Insn } from './block-gen-base';
import { G_NAMES, GenGeneric, SZP_O } from './block-gen-generic';
import { FLAG_SEMANTICS, flagValue, type FlagSemantics } from './flag-ops';
import { OPCODES, type Opcode } from './opcodes';

/** MOVZX and MOVSX's rows (0F B6 B7 BE BF) by the opcode's bits 0 and 3, the cache's D_MOVX_R payload. */
const MOVX_ROW: Readonly<Record<number, Opcode>> = Object.fromEntries(
  OPCODES.filter((o) => o.mnemonic === 'movzx' || o.mnemonic === 'movsx').map((o) => [o.op & 9, o]),
);

export { ENDS, type Insn } from './block-gen-base';

const D_NAMES = namesOf('D_');

/** The flag instructions' definitions by opcode (the cached D_FLAG's payload). */
const FLAG_BY_OPCODE: ReadonlyMap<number, FlagSemantics> = new Map(
  OPCODES.filter((o) => o.mnemonic in FLAG_SEMANTICS).map((o) => [o.op, FLAG_SEMANTICS[o.mnemonic]]),
);

/** TEST is AND without the store; NEG is 0 − the operand, with SUB's flags (SDM vol. 2, NEG: CF = operand ≠ 0). */
const TEST = ALU[TEST_AS];
const NEG = ALU[NEG_AS];

/**
 * How an instruction of a block treats the six arithmetic flags, for the dead-flags scan (Gen's
 * `overwritten`): `sets` replaces all six without reading them (the ALU operations but ADC and
 * SBB, TEST, NEG, MUL, IMUL, a shift by an immediate count of 1–31), `keeps` neither reads nor
 * changes them and cannot fault (register moves, LEA, NOT, a shift by 0, CDQ, NOP, BSWAP; ROL/ROR
 * by an immediate and BSF/BSR change some without reading any: see below), `other` reads them,
 * may fault (its handler sees EFLAGS) or leaves through the CPU. Written per handler (the cache's
 * entries are bound to no table row); tests/cpu/flag-use.test.ts holds every entry the decoder
 * makes to the opcode table's `flags` of the bytes it came from.
 */
export function flagUse(i: Insn): 'sets' | 'keeps' | 'other' {
  if (shiftDoubleSets(i)) return 'sets';
  if (i.w0 & D_MAY_FAULT) return 'other';
  const h = i.w0 & 0x3f;
  const x = i.w0 >>> 12;
  switch (h) {
    case D_ALU_RR:
    case D_ALU_RI:
    case D_ALU_JCC: // its ALU operation comes first: the Jcc reads the new flags
      return ALU[x & 7] ? 'sets' : 'other';
    case D_TEST_RR:
    case D_TEST_RI:
    case D_IMUL3_R:
      return 'sets';
    case D_GRP3_R: {
      const op = (x >> 3) & 7;
      return op === 2 ? 'keeps' : op === 3 || op === 4 || op === 5 ? 'sets' : 'other'; // NOT; NEG, MUL, IMUL
    }
    case D_SHIFT_R: {
      const n = (x >> 6) & 63;
      return n === 0 ? 'keeps' : n === 32 ? 'other' : 'sets';
    }
    case D_MOVX_R:
    case D_CDQ:
      return 'keeps';
    case D_ROTATE_R:
    case D_BITSCAN_R:
      // They write some flags (CF and OF; ZF) but read none: to the scan of an instruction before
      // them they keep the flags, as their own write is dead whenever that one's is (the scan
      // from them is the rest of the scan from it), and they skip it then. By CL: `other`.
      return h === D_ROTATE_R && ((x >> 6) & 63) === 32 ? 'other' : 'keeps';
    default:
      return MOVE_BY_HANDLER.has(h) ? 'keeps' : 'other';
  }
}

/**
 * SHLD/SHRD of a dword register by an immediate count of 1–31 (a generic form, so marked
 * D_MAY_FAULT, but it cannot fault): it replaces all six flags without reading them.
 */
function shiftDoubleSets(i: Insn): boolean {
  const x = i.w0 >>> 12;
  return (
    (i.w0 & 0x3f) === D_GENERIC &&
    ((x >>> 8) & 63) === G_SHLD &&
    (x & X16) === 0 &&
    (x & 0xff) >= 0xc0 &&
    ((x >>> 14) & 15 & 1) === 0 &&
    (i.imm & 31) !== 0
  );
}

/** The source of one block function: the templates of its instructions, on GenBase's frame. */
export class Gen extends GenGeneric {
  /**
   * The instructions whose flags nothing observes: the next instructions of the block replace all
   * six before anything reads them, faults or leaves (flagUse). Their helpers that write EFLAGS
   * whole (MUL, IMUL) skip the write.
   */
  private readonly overwritten = new Set<Insn>();

  constructor(insns: Insn[], total: number, start: number) {
    super(insns, total, start);
    insns.forEach((i, j) => {
      for (let q = j + 1; q < insns.length; q++) {
        const use = flagUse(insns[q]);
        if (use === 'sets') this.overwritten.add(i);
        if (use !== 'keeps') break;
      }
    });
  }

  /** Whether the flags instruction `i` writes are dead (overwritten); marks the template that skips them. */
  protected override dead(i: Insn): boolean {
    if (!this.overwritten.has(i)) return false;
    this.mark('flags/dead');
    return true;
  }

  /**
   * ROL/ROR (op 0/1) of dword register `rm` by `count` (1–31, 32 = CL, 0 = nothing) from alu-ops'
   * ROTATE_OPS: only CF and OF change, and a count of 0 (mod 32) changes nothing, flags included.
   */
  private rotate(i: Insn, rm: number, op: number, count: number): void {
    if (count === 0) return;
    const n = count === 32 ? 'b' : `${count}`;
    const rot = ROTATE_OPS[op];
    // By an immediate, ROL/ROR read no flag: with CF and OF dead, the rotation alone.
    if (count !== 32 && this.dead(i)) {
      this.emit(`a = r[${rm}]; r[${rm}] = ${rot.result('a', n)};`);
      return;
    }
    this.cpuFlags();
    if (count === 32) this.emit('b = r[1] & 31; if (b !== 0) {');
    this.emit(`a = r[${rm}]; o = ${rot.result('a', n)}; r[${rm}] = o;`);
    this.emit(
      `v = ${C.flags}; ${C.flags} = (v & ${~(CF | OF)}) | (${rot.cf('o')} ? ${CF} : 0) | (${rot.of('o')} ? ${OF} : 0);`,
    );
    if (count === 32) this.emit('}');
  }

  /**
   * ADC or SBB of the dwords `a` and `b` (expressions; not the locals pv, v, o) inline, from
   * ALU_OPS' `carry` (as Cpu.aluCarry): CF in from the pending flags, the exact sum in `pv`, the
   * result (int32) in `v`, returned. With `flagsNow` every flag is written here (unless `i` is
   * given and the next instructions replace them all: dead), else by carryFlags after a store.
   */
  private carry(i: Insn | null, op: number, a: string, b: string, flagsNow: boolean): string {
    const c = ALU_OPS[op].carry;
    if (c === undefined) throw new Error(`blocks: ALU operation ${op} has no carry form`); // an emulator bug
    const cf = this.cfExpr() ?? `(${C.fl} & 1)`; // INC/DEC: CF is in fl already
    this.replacesFlags();
    this.emit(`pv = ${c.sum(`(${a} >>> 0)`, `(${b} >>> 0)`, cf)}; v = pv | 0;`);
    if (flagsNow && (i === null || !this.dead(i))) this.emit(this.carryFlags(op, a, b));
    return 'v';
  }
  /** carry()'s flags: CF from the sum in pv, OF from the operands and v, AF, SF ZF PF of v; lz 0. */
  private carryFlags(op: number, a: string, b: string): string {
    const c = ALU_OPS[op].carry!;
    return `o = v; ${C.fl} = (${C.fl} & ${~ARITH}) | (${c.cf('pv', '0xffffffff')} ? ${CF} : 0) | (${c.of(a, b, 'o', '0x80000000')} ? ${OF} : 0) | ((${a} ^ ${b} ^ o) & ${AF}) | ${SZP_O}; ${C.lz} = 0;`;
  }

  /** The variant of a handler's template where its code differs with the payload (mark()). */
  private variant(h: number, x: number): string {
    switch (h) {
      case D_ALU_RR:
      case D_ALU_RI:
      case D_ALU_RM:
      case D_ALU_MR:
      case D_ALU_MI:
      case D_ALU_JCC:
        return ALU[x & 7] ? '/inline' : '/carry'; // ADC and SBB: carry()
      case D_SHIFT_R:
      case D_ROTATE_R: {
        const n = (x >> 6) & 63;
        return n === 32 ? '/cl' : n === 0 ? '/0' : '/imm';
      }
      case D_GRP3_R: {
        const op = (x >> 3) & 7;
        return op === 2 ? '/not' : op === 3 ? '/neg' : `/${MULDIV_OPS[op].mnemonic}`;
      }
      case D_DIV_R:
        return x & 8 ? '/idiv' : '/div';
      default:
        return '';
    }
  }

  /** The code of one instruction; the last one leaves the next EIP in `t` and flushes the flags. */
  protected insn(i: Insn): void {
    const h = i.w0 & 0x3f;
    const x = i.w0 >>> 12;
    if (i.w0 & D_MAY_FAULT) this.faultable(i);
    if (h !== D_GENERIC) this.mark(D_NAMES[h] + this.variant(h, x));
    switch (h) {
      case D_ALU_RR:
      case D_ALU_RI: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const src = h === D_ALU_RR ? `r[${(x >> 6) & 7}]` : `${i.imm}`;
        const res = ALU[op] ? this.alu(op, `r[${dst}]`, src) : this.carry(i, op, `r[${dst}]`, src, true);
        if (op !== 7) this.emit(`r[${dst}] = ${res};`);
        break;
      }
      case D_ALU_RM: {
        const op = x & 7;
        const dst = (x >> 3) & 7;
        this.address(i, 4, false);
        this.read32('a');
        const res = ALU[op] ? this.alu(op, `r[${dst}]`, 'a') : this.carry(null, op, `r[${dst}]`, 'a', true);
        if (op !== 7) this.emit(`r[${dst}] = ${res};`);
        this.breakCheck(i);
        break;
      }
      case D_ALU_MR:
      case D_ALU_MI: {
        // The flag locals are written only after the store, which may fault (the catch flushes
        // the flags of the instructions before this one from them).
        const op = x & 7;
        this.address(i, 4, false);
        const b = h === D_ALU_MR ? `r[${(x >> 3) & 7}]` : `${i.imm}`;
        const f = ALU[op];
        this.emit(`b = ${b};`);
        if (f) {
          this.read32('a');
          this.emit(`v = ${ALU_MEM[op]};`);
          if (op !== 7) {
            this.segCheck((i.w1 >> 10) & 7, 4, true);
            this.write32('v');
          }
          this.emit('fa = a; fb = b; fr = v;');
          this.setPending(f[1]);
        } else {
          // ADC/SBB: their flags written after the store (the catch restores the pending ones).
          this.read32('a');
          this.carry(null, op, 'a', 'b', false);
          this.segCheck((i.w1 >> 10) & 7, 4, true);
          this.write32('v');
          this.emit(this.carryFlags(op, 'a', 'b'));
        }
        this.breakCheck(i);
        break;
      }
      case D_TEST_RR:
        this.emit(`fa = r[${x & 7}]; fb = r[${(x >> 3) & 7}]; fr = ${TEST[0]};`);
        this.setPending(TEST[1]);
        break;
      case D_TEST_RI:
        this.emit(`fa = r[${x & 7}]; fb = ${i.imm}; fr = ${TEST[0]};`);
        this.setPending(TEST[1]);
        break;
      case D_TEST_MR:
        this.address(i, 4, false);
        this.read32('a');
        this.emit(`fa = a; fb = r[${x & 7}]; fr = ${TEST[0]};`);
        this.setPending(TEST[1]);
        this.breakCheck(i);
        break;
      case D_MOVZX8_M:
        this.address(i, 1, false);
        this.read8(`r[${x}]`);
        this.breakCheck(i);
        break;
      case D_INC_R:
      case D_DEC_R: {
        // CF is kept: fold the previous CF into fl before the lazy state is replaced (Cpu.incdec).
        const cf = this.cfExpr();
        if (cf !== null) this.emit(`${C.fl} = (${C.fl} & ~1) | ${cf};`);
        const o = INCDEC_OPS[h === D_INC_R ? 0 : 1];
        this.emit(`fa = r[${x}]; fb = 1; fr = ${o.result('fa')}; r[${x}] = fr;`);
        this.setPending(o.lazy);
        break;
      }
      case D_ROTATE_R:
        this.rotate(i, x & 7, (x >> 3) & 7, (x >> 6) & 63);
        break;
      case D_SHIFT_R: {
        const reg = x & 7;
        const op = (x >> 3) & 7;
        const n = (x >> 6) & 63;
        const expr = (cnt: string): string => SHIFT_OPS[op].result('a', cnt);
        const kind = SHIFT_OPS[op].lazy;
        if (n === 32) {
          // By CL: a count of 0 changes nothing, flags included, so the kind is not known here.
          this.cpuFlags();
          this.emit(
            `v = r[1] & 31; if (v !== 0) { a = r[${reg}]; o = ${expr('v')}; r[${reg}] = o; ${C.lz} = ${kind}; ${C.lzSize} = 4; lzv[0] = a; lzv[1] = v; lzv[2] = o; }`,
          );
        } else if (n !== 0) {
          this.emit(`a = r[${reg}]; fa = a; fb = ${n}; fr = ${expr(String(n))}; r[${reg}] = fr;`);
          this.setPending(kind);
        }
        break;
      }
      case D_GRP3_R: {
        const reg = x & 7;
        const op = (x >> 3) & 7;
        if (op === 2) this.emit(`r[${reg}] = ${NOT_EXPR(`r[${reg}]`)};`);
        else if (op === 3) {
          this.emit(`fa = 0; fb = r[${reg}]; fr = ${NEG[0]}; r[${reg}] = fr;`);
          this.setPending(NEG[1]);
        } else {
          // MUL / IMUL: EDX:EAX = EAX × r/m, inline from muldiv-ops.ts' MUL32 (the expressions
          // multiply() is generated from; a call measured slower); SF/ZF/PF of the low half, AF
          // clear, as multiply(): the six flags replaced, nothing pending needs writing.
          const m = MULDIV_OPS[op].signed ? MUL32.imul : MUL32.mul;
          this.replacesFlags();
          this.emit(`a = r[0]; b = r[${reg}]; o = ${m.low('a', 'b')}; v = (${m.high('a', 'b', 'MH')}) | 0;`);
          this.emit('r[0] = o; r[2] = v;');
          if (!this.dead(i))
            this.emit(
              `${C.fl} = (${C.fl} & ${~ARITH}) | (${m.over('o', 'v')} ? ${CF | OF} : 0) | ${SZP_O}; ${C.lz} = 0;`,
            );
        }
        break;
      }
      case D_DIV_R:
        // DIV / IDIV r32 (F7 /6 /7): Cpu.divAcc, muldiv-ops.ts' divide (as group3Body and the
        // cache's D_DIV_R). It raises #DE before it writes anything (faultable() above set k, and
        // the catch restarts the DIV with the flags pending before it), and leaves the flags as
        // they were (SDM vol. 2, DIV: undefined; step() keeps them), so what is pending stays in
        // the locals. The common case inline (DIV32_FAST: what divide() computes there).
        this.emit(
          `b = r[${x & 7}]; ${DIV32_FAST[x & 8 ? 'idiv' : 'div']('b', `${C.divAcc}(b >>> 0, 4, ${(x & 8) !== 0});`)}`,
        );
        break;
      case D_BITSCAN_R: {
        // BSF / BSR r32, r32 (bit-ops.ts BITSCAN_STATEMENT, as the interpreter's bitScan): ZF
        // alone, which needs EFLAGS exact, unless the next instructions replace all six flags first.
        const dead = this.dead(i);
        this.emit(`v = r[${(x >> 3) & 7}];`);
        if (!dead) this.cpuFlags();
        this.emit(BITSCAN_STATEMENT((x & 0x40) !== 0, 'v', dead ? null : C.flags, (n) => `r[${x & 7}] = ${n};`, true));
        break;
      }
      case D_IMUL3_R:
        // As Cpu.imul2: CF = OF = the signed product does not fit; SF/ZF/PF of the result.
        this.replacesFlags();
        this.emit(`a = r[${x & 7}]; o = ${IMUL_TRUNC.low('a', `${i.imm}`, 4)}; r[${(x >> 3) & 7}] = o;`);
        if (!this.dead(i))
          this.emit(
            `${C.fl} = (${C.fl} & ${~ARITH}) | (${IMUL_TRUNC.over('a', `${i.imm}`, 'o')} ? ${CF | OF} : 0) | ${SZP_O}; ${C.lz} = 0;`,
          );
        break;
      case D_MOVX_R: {
        // MOVZX/MOVSX r32 from a register, from their rows' micro-operations (move-ops.ts: `set`,
        // `extend`); payload dst | src << 3 | (opcode & 9) << 6, the source's byte or word inline.
        const row = MOVX_ROW[x >> 6];
        const src = (x >> 3) & 7;
        const size = row.operands[1] === 'Eb' ? 1 : 2;
        const e =
          size === 2 ? `(r[${src}] & 0xffff)` : src < 4 ? `(r[${src}] & 0xff)` : `((r[${src - 4}] >> 8) & 0xff)`;
        for (const op of MOVE_SEMANTICS[row.mnemonic]) {
          if (op[0] === 'set') this.emit(`r[${x & 7}] = ${e};`);
          else if (op[0] === 'extend') this.emit(`r[${x & 7}] = ${SIGN_EXTEND(e, size)};`);
          else throw new Error(`blocks: MOVZX/MOVSX: no code for ${op[0]}`); // an emulator bug
        }
        break;
      }
      case D_FLAG: {
        // CLC STC CMC CLD STD pasted from their one definition (flag-ops.ts): EFLAGS whole once the
        // pending flags are written, IF and DF in fl alone (the pending flags stay). CLI, whose
        // #GP(0) a block does not raise itself, through flagOp (generated from the same
        // definition; faultable above). A CLI in a block only holds back interrupts a later
        // block's entry would deliver.
        const f = FLAG_BY_OPCODE.get(x);
        if (f === undefined) throw new Error(`blocks: no flag instruction ${x}`); // an emulator bug
        if (f.iopl || f.shadow || f.dst === 'AH') {
          this.cpuFlags();
          this.emit(`${C.flagOp}(${x});`);
        } else if (f.dst === 'flags') {
          this.cpuFlags();
          this.emit(`${C.flags} = ${flagValue(f, C.flags, '((r[0] >> 8) & 0xff)', true)};`);
        } else this.emit(`${C.fl} = ${flagValue(f, C.fl, '((r[0] >> 8) & 0xff)', true)};`);
        break;
      }
      case D_GENERIC:
        if (this.generic(i, x)) break;
        this.mark(`D_GENERIC/${G_NAMES[(x >>> 8) & 63]}`);
        this.cpuFlags();
        this.emit(`sl = 1; ${C._eip} = ${i.next}; ${C.execGeneric}(${x}, K[${this.constant(i)}], 0); ${GEN_CHECK}`);
        this.breakCheck(i);
        break;
      case D_STRING:
        // Through the interpreter's stringOnce, which reads DF and EFLAGS and sets CMPS's and
        // SCAS's flags in the CPU: the pending flags go there first. Its accesses may touch a
        // device or code (bBreak) or walk the tables (the generation).
        this.cpuFlags();
        this.emit(`sl = 1; ${C.stringForm}(${x}); ${GEN_CHECK}`);
        this.breakCheck(i);
        break;
      // ---- branches: the target into t, then the block's exit
      case D_JCC: {
        const to = (i.next + i.imm) | 0;
        this.emit(`if (${this.cond(x)}) { t = ${to}; ${this.exit(i.n + 1, to === this.start)} }`);
        break;
      }
      case D_ALU_JCC: {
        // CMP/TEST/ALU then Jcc (cpu.ts, fuseJcc): payload op | dst << 3 | src << 6 | imm << 9 |
        // noStore << 10 | cc << 11 | len1 << 15; the Jcc's displacement in w2.
        const op = x & 7;
        const dst = (x >> 3) & 7;
        const src = x & 0x200 ? `${i.imm}` : `r[${(x >> 6) & 7}]`;
        const res = ALU[op] ? this.alu(op, `r[${dst}]`, src) : this.carry(null, op, `r[${dst}]`, src, true);
        if (!(x & 0x400)) this.emit(`r[${dst}] = ${res};`);
        const to = (i.next + i.disp) | 0;
        this.emit(`if (${this.cond((x >> 11) & 15)}) { t = ${to}; ${this.exit(i.n + 2, to === this.start)} }`);
        break;
      }
      default: {
        const cond = COND_BY_HANDLER.get(h);
        if (cond !== undefined) {
          this.condForm(x, cond);
          break;
        }
        const move = MOVE_BY_HANDLER.get(h);
        if (move === undefined) throw new Error(`blocks: handler ${h} is not compiled`); // an emulator bug
        this.moveForm(i, x, move);
      }
    }
    if (i === this.insns[this.insns.length - 1]) {
      // The end of the block: the unconditional transfer's target, or the next instruction.
      if (!ENDS.has(h)) this.emit(`t = ${i.next};`);
      const direct = h === D_JMP ? (i.next + i.imm) | 0 : h === D_JCC || h === D_ALU_JCC ? i.next : NaN;
      this.emit(this.exit(this.total, direct === this.start));
    }
  }

  /**
   * A conditional form from its micro-operations (move-ops.ts, CONDITIONAL_SEMANTICS: SETcc r8),
   * the condition answered from the flag locals where it can (cond).
   */
  private condForm(x: number, form: CondForm): void {
    const c = this.cond(x >> form.cc);
    for (const op of condOps(form))
      switch (op[0]) {
        case 'set-cond': {
          const o = form.operands[0];
          if (typeof o !== 'object' || !('reg8' in o))
            throw new Error(`blocks: ${moveName(form)}: not a byte register`); // an emulator bug
          const n = (x >> o.reg8) & 7;
          // AL CL DL BL are bits 0–7 of r[0–3], AH CH DH BH bits 8–15.
          if (n < 4) this.emit(`r[${n}] = (r[${n}] & ~0xff) | (${c} ? 1 : 0);`);
          else this.emit(`r[${n - 4}] = (r[${n - 4}] & ~0xff00) | (${c} ? 0x100 : 0);`);
          break;
        }
        default:
          throw new Error(`blocks: ${moveName(form)}: no cached form of ${op[0]}`); // an emulator bug
      }
  }

  /**
   * A MOV, LEA, PUSH or POP form from its micro-operations (move-ops.ts, the decoded cache's
   * definition too): registers and the immediate as constants, `v` the temporary, the memory
   * operand and the 32-bit stack with the TLB hit inline; after a memory access, the bBreak check.
   */
  private moveForm(i: Insn, x: number, form: MoveForm): void {
    const reg = (o: CachedOperand): string => {
      if (typeof o !== 'object' || !('reg' in o)) throw new Error(`blocks: ${moveName(form)}: not a register`); // an emulator bug
      return `r[${o.reg < 0 ? x : (x >> o.reg) & 7}]`;
    };
    /** Operand k as an expression (a memory operand: loaded into v first). */
    const read = (k: number): string => {
      const o = form.operands[k];
      if (o === 'imm') return `${i.imm}`;
      if (o === 'rel') return `${(i.next + i.imm) | 0}`; // a branch's target, known here
      // A selector (PUSH Sreg); no block loads a segment register (blocks.ts, blockable).
      if (typeof o === 'object' && 'sreg' in o) return `${C.segSel}[${o.sreg < 0 ? x : (x >> o.sreg) & 7}]`;
      if (o === 'm16') throw new Error(`blocks: ${moveName(form)}: no word operand`); // an emulator bug
      if (o !== 'm') return reg(o);
      this.address(i, 4, false);
      this.read32('v');
      return 'v';
    };
    const write = (k: number, value: string): void => {
      const o = form.operands[k];
      if (o !== 'm') return this.emit(`${reg(o)} = ${value};`);
      this.address(i, 4, true);
      if (value !== 'v') this.emit(`v = ${value};`);
      this.write32('v');
    };
    /** A place (move-ops.ts, Place) as an expression; EFLAGS whole once the pending flags are written. */
    const readPlace = (place: Place): string => {
      if (place === 'o0' || place === 'o1') return read(place === 'o0' ? 0 : 1);
      if (place === 'next') return `${i.next}`;
      if (place === 'eBP') return 'r[5]';
      if (place === 'eAX') return 'r[0]';
      if (place === 'EFLAGS') {
        this.cpuFlags();
        return `${C.flags} & ${PUSHFD_IMAGE}`; // RF and VM clear in the image
      }
      throw new Error(`blocks: ${moveName(form)}: cannot read ${place}`); // an emulator bug
    };
    const writePlace = (place: Place, value: string): void => {
      if (place === 'o0' || place === 'o1') return write(place === 'o0' ? 0 : 1, value);
      if (place === 'eSP') return this.emit(`if (ss32) r[4] = ${value}; else ${C.setReg}(4, 2, ${value});`);
      if (place === 'eBP') return this.emit(`r[5] = ${value};`);
      if (place === 'eDX') return this.emit(`r[2] = ${value};`);
      throw new Error(`blocks: ${moveName(form)}: cannot write ${place}`); // an emulator bug
    };
    // A near transfer's target (the block's exit leaves for t, set last: the accesses use t).
    let target = '';
    const ops = moveOps(form);
    for (const [k, op] of ops.entries())
      switch (op[0]) {
        case 'set': {
          const o = form.operands[0];
          // A load straight into its register (no temporary).
          if (op[1] === 'o0' && form.operands[1] === 'm' && o !== 'm') {
            this.address(i, 4, false);
            this.read32(reg(o));
          } else writePlace(op[1], readPlace(op[2]));
          break;
        }
        case 'lea':
          write(0, this.offset(i.w1, i.disp));
          break;
        case 'push':
          this.push(readPlace(op[1]));
          break;
        case 'pop':
          // Through v: ESP moves before the register (POP ESP) is written.
          this.pop('v');
          writePlace(op[1], 'v');
          break;
        case 'xchg':
          // No cached form exchanges (XCHG goes to step()); a form bound to it is an emulator bug.
          throw new Error(`blocks: ${moveName(form)}: no cached XCHG`);
        case 'target': {
          // Kept in v across a push (CALL ESP: the value before it); no CS limit to check in a
          // block (the window is open only while CS has none: stepAlone).
          if (op[1] === 'pop') {
            this.pop('v');
            target = 'v';
            break;
          }
          const value = read(0);
          const stackAfter = ops.slice(k + 1).some(([o]) => o === 'push' || o === 'pop');
          if (form.operands[0] === 'rel' || value === 'v' || !stackAfter) target = value;
          else {
            this.emit(`v = ${value};`);
            target = 'v';
          }
          break;
        }
        case 'release':
          if (form.operands[0] === 'imm' && i.imm !== 0)
            this.emit(`if (ss32) r[4] = (r[4] + ${i.imm}) | 0; else ${C.addSp}(${i.imm});`);
          break;
        case 'jump':
          this.emit(`t = ${target};`);
          break;
        case 'vm86-iopl':
          break; // no block runs VM86 code (openWindow)
        case 'bytes': {
          const o = reg(form.operands[0]);
          this.emit(`v = ${o}; ${o} = ${BSWAP_EXPR('v')};`);
          break;
        }
        case 'tsc':
          // The count this pass has retired before it: ic (the loop's earlier passes) + n.
          this.emit(`${C.rdtscAt}(ic + ${i.n});`);
          break;
        case 'sign':
          writePlace(op[1], `${readPlace(op[2])} >> 31`); // dwords alone in a block
          break;
        case 'in':
        case 'out':
          throw new Error(`blocks: ${moveName(form)}: no port I/O in a block`); // an emulator bug
      }
    // After a memory access, the bBreak check; a transfer ends the block anyway.
    if (moveTouchesMemory(form) && !moveTransfers(form)) this.breakCheck(i);
  }
}
