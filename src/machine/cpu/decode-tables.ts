/**
 * The opcode table (opcodes.ts) as flat typed arrays for the decoder in cpu.ts, built once at
 * module load. One 32-bit word per opcode and ModR/M reg field:
 *
 *   ENCODING[(op << 3) | reg]   op = 0x00–0xff (one-byte map) or 0x100–0x1ff (0F xx)
 *
 * For an opcode without a ModR/M byte, or one whose entry does not depend on the reg field, the
 * eight words are the same; for a group (SDM vol. 2, A.4) each reg value has its own word, and the
 * reg values the group does not define have E_DEFINED clear (#UD). The words of an opcode the
 * table does not list are 0, except E_MODRM where the table knows a ModR/M byte follows.
 *
 * The interpreter (cpu.ts, `step()`/`step0f()` → `checkEncoding()`) decodes ModR/M, SIB and
 * displacement where E_MODRM says, raises #UD for undefined opcodes and group members, for mod = 11
 * on memory-only operands, for LOCK where it is illegal and for protected-mode-only instructions in
 * real mode, applies the CPL/IOPL/TSD rules, and fetches as many immediate bytes as the word says;
 * the decoded-instruction cache (`decodeForm`) takes its instruction lengths from the same words.
 * What each instruction does stays hand-written in cpu.ts.
 */
import { OPCODES, PREFIXES, immediateBytes, type Opcode, type Privilege } from './opcodes';

/** The table lists this opcode / group member (else: #UD). */
export const E_DEFINED = 1 << 0;
/** A ModR/M byte follows the opcode (set on all eight words of an opcode that has one). */
export const E_MODRM = 1 << 1;
/** LOCK is legal with a memory destination (SDM vol. 2, LOCK); otherwise LOCK is #UD. */
export const E_LOCK = 1 << 2;
/** An `M` operand: mod = 11 is #UD (LEA, LES/LDS/LSS/LFS/LGS, BOUND, far CALL/JMP m, LGDT …). */
export const E_MEM_ONLY = 1 << 3;
/** #UD in real mode (and virtual-8086 mode): ARPL, LAR, LSL, group 6. */
export const E_PROTECTED = 1 << 4;
/** The r/m field names a register whatever mod says; no SIB or displacement follows (MOV CRn/DRn). */
export const E_REG_ONLY = 1 << 5;
/** Ends a basic block. */
export const E_BRANCH = 1 << 6;
/**
 * The reg field names a register that does not exist (MOV Sreg with reg > 5, MOV to CS, MOV CRn
 * with n = 1, 5, 6, 7): #UD, raised after the privilege check, as QEMU and 86Box order it for
 * MOV CRn (a CPL 3 `mov eax, cr5` is #GP).
 */
export const E_BAD_REG = 1 << 7;

/** Privilege rule, bits 8–10. */
export const PRIV_SHIFT = 8;
export const PRIV_MASK = 7 << PRIV_SHIFT;
export const PRIV_CPL0 = 1 << PRIV_SHIFT;
export const PRIV_IOPL = 2 << PRIV_SHIFT;
export const PRIV_IO = 3 << PRIV_SHIFT;
export const PRIV_TSD = 4 << PRIV_SHIFT;

/** The bits that ask for a check beyond "listed" before the instruction runs (cpu.ts, checkRules). */
export const E_RULES = E_PROTECTED | E_BAD_REG | (7 << 8);

/** F3/F2 meaning, bits 11–12: REP (count only) or REPE/REPNE (count and ZF); 0: ignored. */
export const REP_MASK = 3 << 11;
export const REP_COUNT = 1 << 11;
export const REP_ZF = 2 << 11;

/**
 * Immediate (and relative, far-pointer, moffs) bytes after ModR/M, SIB and displacement, 3 bits
 * for each operand size × address size, from bit 16: `(word >>> immShift(op32, ad32)) & 7`.
 */
export const IMM_SHIFT = 16;
export const IMM_O32_A32_SHIFT = IMM_SHIFT + 3 + 6;
export function immShift(op32: boolean, ad32: boolean): number {
  return IMM_SHIFT + (op32 ? 3 : 0) + (ad32 ? 6 : 0);
}
/**
 * Bits 28–29: how many of those bytes are a second immediate: the selector of a direct far
 * pointer (Ap: 2), ENTER's nesting level (1); the first immediate is the rest.
 */
export const IMM2_SHIFT = 28;

/** Prefix kinds by byte (PREFIX_KIND[b]; 0: not a prefix). 1–6: segment override ES…GS (= 1 + the segment number). */
export const P_NONE = 0;
export const P_SEG_LAST = 6;
export const P_OPSIZE = 7;
export const P_ADSIZE = 8;
export const P_LOCK = 9;
export const P_REPNE = 10;
export const P_REP = 11;

const PRIVILEGE: Record<Privilege, number> = { cpl0: PRIV_CPL0, iopl: PRIV_IOPL, io: PRIV_IO, tsd: PRIV_TSD };
const MEMORY_ONLY = new Set(['M', 'Mb', 'Mp', 'Ma', 'Mq', 'Ms']);

/** The index of an opcode (0x00–0xff, 0x0f00–0x0fff) in the tables: 0x000–0x1ff. */
export const opIndex = (op: number): number => (op > 0xff ? 0x100 | (op & 0xff) : op);

/** The word of one table entry (without E_BAD_REG, which depends on the reg field). */
export function encodingOf(o: Opcode): number {
  let e = E_DEFINED;
  if (o.modrm) e |= E_MODRM;
  if (o.lockable) e |= E_LOCK;
  if (o.operands.some((k) => MEMORY_ONLY.has(k))) e |= E_MEM_ONLY;
  if (o.protectedOnly) e |= E_PROTECTED;
  if (o.operands.includes('Rd')) e |= E_REG_ONLY;
  if (o.branch) e |= E_BRANCH;
  if (o.privilege) e |= PRIVILEGE[o.privilege];
  if (o.rep === 'rep') e |= REP_COUNT;
  else if (o.rep === 'repcc') e |= REP_ZF;
  for (const op32 of [false, true])
    for (const ad32 of [false, true]) {
      const n = immediateBytes(o, op32, ad32);
      if (n > 7) throw new Error(`opcode table: ${o.mnemonic} has ${n} immediate bytes`);
      e |= n << immShift(op32, ad32);
    }
  const immediates = o.operands.filter((k) => immediateBytes({ ...o, operands: [k] }, true, true) > 0);
  if (immediates.length > 2) throw new Error(`opcode table: ${o.mnemonic} has three immediates`);
  const second =
    immediates[0] === 'Ap'
      ? 2
      : immediates.length === 2
        ? immediateBytes({ ...o, operands: [immediates[1]] }, true, true)
        : 0;
  if (second > 3) throw new Error(`opcode table: ${o.mnemonic}: second immediate of ${second} bytes`);
  e |= second << IMM2_SHIFT;
  return e;
}

function build(): Int32Array {
  const t = new Int32Array(0x200 * 8);
  for (const o of OPCODES) {
    const base = opIndex(o.op) << 3;
    const e = encodingOf(o);
    if (o.ext !== undefined) {
      t[base + o.ext] = e;
      // The other members of a group still have a ModR/M byte (their length is known; they are #UD).
      for (let r = 0; r < 8; r++) t[base + r] |= E_MODRM;
    } else
      for (let r = 0; r < 8; r++) t[base + r] = o.validRegs === undefined || (o.validRegs >> r) & 1 ? e : e | E_BAD_REG;
  }
  return t;
}

/** One word per opcode and ModR/M reg field (see the header). */
export const ENCODING: Int32Array = build();

function buildPrefixes(): Uint8Array {
  const t = new Uint8Array(256);
  const seg = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
  const other: Record<string, number> = {
    data16: P_OPSIZE,
    addr16: P_ADSIZE,
    lock: P_LOCK,
    repnz: P_REPNE,
    repz: P_REP,
  };
  for (const [b, name] of PREFIXES) {
    const s = seg.indexOf(name);
    t[b] = s >= 0 ? 1 + s : other[name];
    if (!t[b]) throw new Error(`opcode table: prefix ${name} has no kind`);
  }
  return t;
}

/** The kind of each prefix byte (SDM vol. 2, 2.1.1); 0 for every other byte. */
export const PREFIX_KIND: Uint8Array = buildPrefixes();

/** Whether the word says the instruction exists (not #UD for every encoding of it). */
export const slotDefined = (e: number): boolean => (e & (E_DEFINED | E_BAD_REG)) === E_DEFINED;
