/**
 * The opcode table: every opcode the CPU in cpu.ts executes, described once (STYLE.md, "One
 * description, many uses"). Who reads it:
 *  - the interpreter's decoder (cpu.ts), through the typed arrays of decode-tables.ts built from it
 *    at load: which bytes are prefixes; #UD for an opcode or group member not listed here, for
 *    mod = 11 on an `M` operand, for LOCK where `lockable` (with a memory destination) does not
 *    allow it, for `protectedOnly` entries in real mode and for reg values outside `validRegs`;
 *    the `privilege` rules cpl0, iopl and tsd (#GP(0)); and each instruction's length: step()
 *    decodes the ModR/M byte (SIB, displacement) where `modrm` says and fetches the immediate
 *    bytes the operand kinds give for the operand and address size, and the decoded-instruction
 *    cache sizes its entries the same way. Each row names the body that runs it (`body`), and
 *    the interpreter's switches are dispatched by it (tools/gen-dispatch.ts);
 *  - the disassembler (disasm.ts), which reads only this table;
 *  - the oracle generator (tools/oracle/forms.ts): mnemonics and EFLAGS masks;
 *  - tests/cpu/decode-agreement.test.ts checks by execution that the CPU and the table agree.
 *
 * Operand kinds use the notation of the Intel SDM, vol. 2, appendix A.2 ("Key to Abbreviations"):
 * an addressing method letter and a size letter.
 *
 *   E  ModR/M r/m: a general register or memory        G  ModR/M reg: a general register
 *   M  ModR/M r/m, memory only (mod = 11 is #UD)       R  ModR/M r/m, register only (mod ignored)
 *   C  ModR/M reg: a control register                  D  ModR/M reg: a debug register
 *   S  ModR/M reg: a segment register                  Z  register in the opcode's low 3 bits
 *   I  immediate        J  relative offset (added to the next EIP)        A  ptr16:16/32 (direct far)
 *   O  moffs: an offset of address size, no ModR/M     X  DS:eSI string source   Y  ES:eDI destination
 *
 *   b byte   w word   d dword   v word or dword by operand size   p 32- or 48-bit far pointer
 *   a two v-sized words (BOUND)   q qword   s 6-byte pseudo-descriptor (LGDT …)
 *
 * plus a few of ours: `Ibs` (imm8 sign-extended to the operand size, the SDM's "Ib" on 6A/6B/83),
 * `Mw/Rv` (a word in memory, a v-sized register: SLDT, STR, SMSW, LAR/LSL sources, MOV from Sreg),
 * `M` (memory, no size: LEA), `Mb` (memory, byte: INVLPG m, as objdump prints it), `Xlat` (the byte at DS:[eBX + AL]), `Fx` (the ModR/M of an x87 escape: see X87_MEMORY and
 * X87_REGISTER), and the implicit operands AL, AX, eAX, DX, CL, 1 and the
 * segment registers ES … GS.
 */
import { AF, ARITH, CF, DF, IF, NT, OF, PF, RF, SF, TF, VM, ZF } from './flags';

export type Operand =
  | 'Eb'
  | 'Ew'
  | 'Ev'
  | 'Gb'
  | 'Gw'
  | 'Gv'
  | 'Mw/Rv'
  | 'M'
  | 'Mb'
  | 'Mp'
  | 'Ma'
  | 'Mq'
  | 'Ms'
  | 'Rd'
  | 'Cd'
  | 'Dd'
  | 'Sw'
  | 'Ib'
  | 'Iw'
  | 'Iv'
  | 'Ibs'
  | 'Jb'
  | 'Jv'
  | 'Ap'
  | 'Ob'
  | 'Ov'
  | 'Zb'
  | 'Zv'
  | 'Xb'
  | 'Xv'
  | 'Yb'
  | 'Yv'
  | 'Xlat'
  | 'Fx'
  | 'AL'
  | 'AX'
  | 'eAX'
  | 'DX'
  | 'CL'
  | '1'
  | 'ES'
  | 'CS'
  | 'SS'
  | 'DS'
  | 'FS'
  | 'GS';

/** EFLAGS an instruction reads, writes (defined afterwards) and leaves undefined (SDM vol. 2, "Flags Affected"). */
export interface FlagUse {
  readonly read: number;
  readonly written: number;
  /** Undefined afterwards for some or all inputs (a shift's OF when the count is not 1, MUL's SF/ZF/AF/PF …). */
  readonly undefined: number;
}

export type Privilege =
  | 'cpl0' // #GP(0) unless CPL = 0
  | 'iopl' // #GP(0) unless CPL ≤ IOPL (CLI, STI)
  | 'io' // CPL ≤ IOPL, else the TSS I/O permission bitmap decides (IN, OUT, INS, OUTS)
  | 'tsd'; // CPL 0 only when CR4.TSD = 1 (RDTSC)

export interface Opcode {
  /** 0x00–0xff: the one-byte map; 0x0f00–0x0fff: the two-byte map (0F xx), SDM vol. 2, A.3. */
  readonly op: number;
  /** The ModR/M reg field for a group opcode (SDM vol. 2, A.4); undefined for a plain opcode. */
  readonly ext?: number;
  /** Intel-syntax mnemonic. */
  readonly mnemonic: string;
  /** Mnemonic by operand size where it differs (CBW/CWDE, JCXZ/JECXZ by address size …). */
  readonly sized?: { readonly 16: string; readonly 32: string };
  /** Which size picks `sized`: the operand size (default) or the address size (JCXZ/JECXZ). */
  readonly sizedBy?: 'operand' | 'address';
  readonly operands: readonly Operand[];
  /** A ModR/M byte follows the opcode. */
  readonly modrm: boolean;
  /**
   * The operand size (0x66) changes what the instruction does although no operand says so:
   * PUSHA, PUSHF, IRET, far RET, near RET/CALL/JMP (the EIP is truncated to 16 bits), PUSH Sreg …
   * The disassembler marks such a form with a w/d suffix when the size is not the mode's default,
   * as GNU objdump does (`retw`, `pushaw`).
   */
  readonly implicitSize?: boolean;
  readonly flags: FlagUse;
  readonly privilege?: Privilege;
  /** LOCK is legal when the destination is memory (SDM vol. 2, LOCK); otherwise LOCK is #UD. */
  readonly lockable?: boolean;
  /** F3/F2 meaning: `rep` (REP: count only) or `repcc` (REPE/REPNE: count and ZF). Otherwise ignored. */
  readonly rep?: 'rep' | 'repcc';
  /** #UD in real mode (and virtual-8086 mode, which is not implemented). */
  readonly protectedOnly?: boolean;
  /** Ends a basic block (a branch, call, return, interrupt, HLT, or a write that changes the mode). */
  readonly branch?: boolean;
  /**
   * For an entry whose ModR/M reg field names a register (Sw, Cd): bit r set when reg = r names one
   * that exists; the others are #UD (MOV Sreg with reg > 5, MOV to CS, CR1 and CR5–CR7).
   */
  readonly validRegs?: number;
  /**
   * What runs it in the interpreter: `alu` or `moves`, the cases tools/gen-alu.ts and
   * tools/gen-moves.ts generate from their tables, or the name of a hand-written body of
   * step()'s, step0f()'s or a group's switch (a `// body NAME` case in a `gen:dispatch` region:
   * tools/gen-dispatch.ts writes each body's case labels from the rows that name it).
   */
  readonly body?: string;
  /** Not executed by cpu.ts yet (#UD there): listed so that the disassembler still names it. */
  readonly missing?: boolean;
  /** What is surprising, with the manual's section. */
  readonly note?: string;
}

const NONE: FlagUse = { read: 0, written: 0, undefined: 0 };
const fl = (read: number, written: number, undef = 0): FlagUse => ({ read, written, undefined: undef });
/** EFLAGS as a whole (PUSHF, POPF, IRET, INT: every flag; the exact set depends on CPL/IOPL/mode). */
const ALL = 0x3f7fd5;
/** INT n, INT3, INTO clear TF, NT, RF, VM, and IF through an interrupt gate (SDM vol. 3, 6.12.1). */
const INT_WRITES = TF | IF | NT | RF | VM;
const LOGIC = fl(0, ARITH & ~AF, AF);
/** ADD SUB CMP NEG CMPXCHG XADD. */
const ARITHW = fl(0, ARITH);
const CARRYIN = fl(CF, ARITH);
/**
 * SDM vol. 2, SAL/SAR/SHL/SHR: OF is defined only for 1-bit shifts, AF is undefined, a zero count
 * changes nothing; SHL/SHR also leave CF undefined when the count is at least the operand width
 * (8/16-bit operands: counts are masked to 5 bits). SHLD/SHRD as SAR (16-bit counts over 16 leave
 * everything undefined, which the oracle does not generate).
 */
const SHIFT = fl(0, ARITH & ~AF, AF | OF);
const SHIFT_CF = fl(0, ARITH & ~AF, AF | OF | CF);
const ROTATE = fl(0, CF | OF, OF);
const RCROTATE = fl(CF, CF | OF, OF);
const INCDEC = fl(0, ARITH & ~CF);
const MUL = fl(0, CF | OF, SF | ZF | AF | PF);
const DIV = fl(0, 0, ARITH);
const BITTEST = fl(0, CF, OF | SF | AF | PF);
const ZFONLY = fl(0, ZF);

/** Condition codes tttn (SDM vol. 2, B.1.4.7) and the flags each reads. */
export const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const CC_READS = [
  OF,
  OF,
  CF,
  CF,
  ZF,
  ZF,
  CF | ZF,
  CF | ZF,
  SF,
  SF,
  PF,
  PF,
  SF | OF,
  SF | OF,
  ZF | SF | OF,
  ZF | SF | OF,
];

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const ALU_FLAGS = [ARITHW, LOGIC, CARRYIN, CARRYIN, LOGIC, ARITHW, LOGIC, ARITHW];
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'shl', 'sar'];
const SHIFT_FLAGS = [ROTATE, ROTATE, RCROTATE, RCROTATE, SHIFT_CF, SHIFT_CF, SHIFT_CF, SHIFT];
const SHIFT_NOTE = '/6 is an undocumented alias of SHL /4 (executed as SHL by Intel and AMD parts)';

type Extra = Omit<Opcode, 'op' | 'mnemonic' | 'operands' | 'modrm' | 'flags'> & { flags?: FlagUse };

/** Whether an operand list implies a ModR/M byte. */
function needsModrm(operands: readonly Operand[]): boolean {
  return operands.some((o) => o === 'M' || o === 'Fx' || /^[EGMRCDS][bwvdpaqs]/.test(o));
}

function row(op: number, mnemonic: string, operands: readonly Operand[], extra: Extra = {}): Opcode {
  return { op, mnemonic, operands, modrm: needsModrm(operands) || extra.ext !== undefined, flags: NONE, ...extra };
}

function group(op: number, ext: number, mnemonic: string, operands: readonly Operand[], extra: Extra = {}): Opcode {
  return row(op, mnemonic, operands, { ...extra, ext });
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The one-byte opcode map (SDM vol. 2, table A-2). */
const ONE_BYTE: Opcode[] = [
  // 00–3F: the eight ALU operations in six forms each.
  ...ALU.flatMap((m, k) => {
    const f = ALU_FLAGS[k];
    const lockable = m !== 'cmp';
    return [
      row(k * 8 + 0, m, ['Eb', 'Gb'], { body: 'alu', flags: f, lockable }),
      row(k * 8 + 1, m, ['Ev', 'Gv'], { body: 'alu', flags: f, lockable }),
      row(k * 8 + 2, m, ['Gb', 'Eb'], { body: 'alu', flags: f }),
      row(k * 8 + 3, m, ['Gv', 'Ev'], { body: 'alu', flags: f }),
      row(k * 8 + 4, m, ['AL', 'Ib'], { body: 'alu', flags: f }),
      row(k * 8 + 5, m, ['eAX', 'Iv'], { body: 'alu', flags: f }),
    ];
  }),
  row(0x06, 'push', ['ES'], { body: 'moves', implicitSize: true }),
  row(0x07, 'pop', ['ES'], { body: 'moves', implicitSize: true }),
  row(0x0e, 'push', ['CS'], { body: 'moves', implicitSize: true }),
  // 0F: the two-byte escape. POP CS (0F on the 8086) does not exist on the 80386.
  row(0x16, 'push', ['SS'], { body: 'moves', implicitSize: true }),
  row(0x17, 'pop', ['SS'], {
    body: 'moves',
    implicitSize: true,
    note: 'inhibits interrupts until after the next instruction, like MOV SS (SDM vol. 3, 6.8.3)',
  }),
  row(0x1e, 'push', ['DS'], { body: 'moves', implicitSize: true }),
  row(0x1f, 'pop', ['DS'], { body: 'moves', implicitSize: true }),
  // 26 2E 36 3E: segment-override prefixes.
  row(0x27, 'daa', [], { body: 'bcd', flags: fl(CF | AF, ARITH & ~OF, OF) }),
  row(0x2f, 'das', [], { body: 'bcd', flags: fl(CF | AF, ARITH & ~OF, OF) }),
  row(0x37, 'aaa', [], { body: 'bcd', flags: fl(AF, AF | CF, OF | SF | ZF | PF) }),
  row(0x3f, 'aas', [], { body: 'bcd', flags: fl(AF, AF | CF, OF | SF | ZF | PF) }),
  ...range(8).map((r) => row(0x40 + r, 'inc', ['Zv'], { body: 'alu', flags: INCDEC })),
  ...range(8).map((r) => row(0x48 + r, 'dec', ['Zv'], { body: 'alu', flags: INCDEC })),
  ...range(8).map((r) => row(0x50 + r, 'push', ['Zv'], { body: 'moves' })),
  ...range(8).map((r) => row(0x58 + r, 'pop', ['Zv'], { body: 'moves' })),
  row(0x60, 'pusha', [], { body: 'pusha', implicitSize: true }),
  row(0x61, 'popa', [], { body: 'popa', implicitSize: true }),
  row(0x62, 'bound', ['Gv', 'Ma'], { body: 'bound' }),
  row(0x63, 'arpl', ['Ew', 'Gw'], { body: 'arpl', flags: ZFONLY, protectedOnly: true }),
  // 64 65: FS/GS overrides; 66 67: operand-/address-size prefixes.
  row(0x68, 'push', ['Iv'], { body: 'moves', implicitSize: true }),
  row(0x69, 'imul', ['Gv', 'Ev', 'Iv'], { body: 'imul-imm', flags: MUL }),
  row(0x6a, 'push', ['Ibs'], { body: 'moves', implicitSize: true }),
  row(0x6b, 'imul', ['Gv', 'Ev', 'Ibs'], { body: 'imul-imm', flags: MUL }),
  row(0x6c, 'ins', ['Yb', 'DX'], { body: 'string', flags: fl(DF, 0), privilege: 'io', rep: 'rep' }),
  row(0x6d, 'ins', ['Yv', 'DX'], { body: 'string', flags: fl(DF, 0), privilege: 'io', rep: 'rep' }),
  row(0x6e, 'outs', ['DX', 'Xb'], { body: 'string', flags: fl(DF, 0), privilege: 'io', rep: 'rep' }),
  row(0x6f, 'outs', ['DX', 'Xv'], { body: 'string', flags: fl(DF, 0), privilege: 'io', rep: 'rep' }),
  ...range(16).map((cc) =>
    row(0x70 + cc, `j${CONDITIONS[cc]}`, ['Jb'], { body: 'moves', flags: fl(CC_READS[cc], 0), branch: true }),
  ),
  // 80–83: group 1. 82 is 80 again (valid outside 64-bit mode, SDM vol. 2, table A-6 note).
  ...[0x80, 0x81, 0x82, 0x83].flatMap((op) =>
    ALU.map((m, k) =>
      group(op, k, m, op === 0x81 ? ['Ev', 'Iv'] : op === 0x83 ? ['Ev', 'Ibs'] : ['Eb', 'Ib'], {
        body: 'alu',
        flags: ALU_FLAGS[k],
        lockable: k !== 7,
        note: op === 0x82 ? 'an alias of 80 (#UD in 64-bit mode only)' : undefined,
      }),
    ),
  ),
  row(0x84, 'test', ['Eb', 'Gb'], { body: 'alu', flags: LOGIC }),
  row(0x85, 'test', ['Ev', 'Gv'], { body: 'alu', flags: LOGIC }),
  row(0x86, 'xchg', ['Eb', 'Gb'], {
    body: 'moves',
    lockable: true,
    note: 'locked whether or not LOCK is given (SDM vol. 2, XCHG)',
  }),
  row(0x87, 'xchg', ['Ev', 'Gv'], {
    body: 'moves',
    lockable: true,
    note: 'locked whether or not LOCK is given (SDM vol. 2, XCHG)',
  }),
  row(0x88, 'mov', ['Eb', 'Gb'], { body: 'moves' }),
  row(0x89, 'mov', ['Ev', 'Gv'], { body: 'moves' }),
  row(0x8a, 'mov', ['Gb', 'Eb'], { body: 'moves' }),
  row(0x8b, 'mov', ['Gv', 'Ev'], { body: 'moves' }),
  row(0x8c, 'mov', ['Mw/Rv', 'Sw'], { body: 'moves', validRegs: 0x3f, note: 'reg > 5 is #UD' }),
  row(0x8d, 'lea', ['Gv', 'M'], { body: 'moves' }),
  row(0x8e, 'mov', ['Sw', 'Mw/Rv'], {
    body: 'moves',
    validRegs: 0x3d,
    note: 'CS or reg > 5 is #UD; MOV SS inhibits interrupts for one instruction (SDM vol. 3, 6.8.3)',
  }),
  group(0x8f, 0, 'pop', ['Ev'], { body: 'moves' }),
  row(0x90, 'nop', [], { body: 'moves', note: 'XCHG eAX, eAX; F3 90 is PAUSE, executed as NOP' }),
  ...range(7).map((r) => row(0x91 + r, 'xchg', ['Zv', 'eAX'], { body: 'moves' })),
  row(0x98, 'cbw', [], { body: 'cbw', sized: { 16: 'cbw', 32: 'cwde' } }),
  row(0x99, 'cwd', [], { body: 'moves', sized: { 16: 'cwd', 32: 'cdq' } }),
  row(0x9a, 'call', ['Ap'], { body: 'call-far', branch: true }),
  row(0x9b, 'fwait', [], {
    body: 'fwait',
    note: '#NM when CR0.MP and CR0.TS; reports a pending x87 exception (#MF or FERR#)',
  }),
  row(0x9c, 'pushf', [], { body: 'moves', implicitSize: true, flags: fl(ALL, 0) }),
  row(0x9d, 'popf', [], { body: 'moves', implicitSize: true, flags: fl(0, ALL), branch: true }),
  row(0x9e, 'sahf', [], { body: 'flag-op', flags: fl(0, SF | ZF | AF | PF | CF) }),
  row(0x9f, 'lahf', [], { body: 'flag-op', flags: fl(SF | ZF | AF | PF | CF, 0) }),
  row(0xa0, 'mov', ['AL', 'Ob'], { body: 'moves' }),
  row(0xa1, 'mov', ['eAX', 'Ov'], { body: 'moves' }),
  row(0xa2, 'mov', ['Ob', 'AL'], { body: 'moves' }),
  row(0xa3, 'mov', ['Ov', 'eAX'], { body: 'moves' }),
  row(0xa4, 'movs', ['Yb', 'Xb'], { body: 'string', flags: fl(DF, 0), rep: 'rep' }),
  row(0xa5, 'movs', ['Yv', 'Xv'], { body: 'string', flags: fl(DF, 0), rep: 'rep' }),
  row(0xa6, 'cmps', ['Xb', 'Yb'], { body: 'string', flags: fl(DF, ARITH), rep: 'repcc' }),
  row(0xa7, 'cmps', ['Xv', 'Yv'], { body: 'string', flags: fl(DF, ARITH), rep: 'repcc' }),
  row(0xa8, 'test', ['AL', 'Ib'], { body: 'alu', flags: LOGIC }),
  row(0xa9, 'test', ['eAX', 'Iv'], { body: 'alu', flags: LOGIC }),
  row(0xaa, 'stos', ['Yb', 'AL'], { body: 'string', flags: fl(DF, 0), rep: 'rep' }),
  row(0xab, 'stos', ['Yv', 'eAX'], { body: 'string', flags: fl(DF, 0), rep: 'rep' }),
  row(0xac, 'lods', ['AL', 'Xb'], { body: 'string', flags: fl(DF, 0), rep: 'rep' }),
  row(0xad, 'lods', ['eAX', 'Xv'], { body: 'string', flags: fl(DF, 0), rep: 'rep' }),
  row(0xae, 'scas', ['AL', 'Yb'], { body: 'string', flags: fl(DF, ARITH), rep: 'repcc' }),
  row(0xaf, 'scas', ['eAX', 'Yv'], { body: 'string', flags: fl(DF, ARITH), rep: 'repcc' }),
  ...range(8).map((r) => row(0xb0 + r, 'mov', ['Zb', 'Ib'], { body: 'moves' })),
  ...range(8).map((r) => row(0xb8 + r, 'mov', ['Zv', 'Iv'], { body: 'moves' })),
  // C0 C1 D0–D3: group 2 (shifts and rotates by imm8, 1, CL).
  ...[
    [0xc0, 'Eb', 'Ib'],
    [0xc1, 'Ev', 'Ib'],
    [0xd0, 'Eb', '1'],
    [0xd1, 'Ev', '1'],
    [0xd2, 'Eb', 'CL'],
    [0xd3, 'Ev', 'CL'],
  ].flatMap(([op, dst, count]) =>
    SHIFTS.map((m, k) =>
      group(op as number, k, m, [dst as Operand, count as Operand], {
        body: 'shift',
        flags: SHIFT_FLAGS[k],
        note: k === 6 ? SHIFT_NOTE : undefined,
      }),
    ),
  ),
  row(0xc2, 'ret', ['Iw'], { body: 'moves', implicitSize: true, branch: true }),
  row(0xc3, 'ret', [], { body: 'moves', implicitSize: true, branch: true }),
  row(0xc4, 'les', ['Gv', 'Mp'], { body: 'load-far-pointer' }),
  row(0xc5, 'lds', ['Gv', 'Mp'], { body: 'load-far-pointer' }),
  group(0xc6, 0, 'mov', ['Eb', 'Ib'], { body: 'moves' }),
  group(0xc7, 0, 'mov', ['Ev', 'Iv'], { body: 'moves' }),
  row(0xc8, 'enter', ['Iw', 'Ib'], { body: 'enter', implicitSize: true }),
  row(0xc9, 'leave', [], { body: 'moves', implicitSize: true }),
  row(0xca, 'retf', ['Iw'], { body: 'ret-far', implicitSize: true, branch: true }),
  row(0xcb, 'retf', [], { body: 'ret-far', implicitSize: true, branch: true }),
  row(0xcc, 'int3', [], { body: 'int3', flags: fl(0, INT_WRITES), branch: true }),
  row(0xcd, 'int', ['Ib'], {
    body: 'int',
    flags: fl(0, INT_WRITES),
    branch: true,
    note: 'clears TF, NT, RF, VM (and IF through an interrupt gate), SDM vol. 3, 6.12.1',
  }),
  row(0xce, 'into', [], { body: 'into', flags: fl(OF, INT_WRITES), branch: true }),
  row(0xcf, 'iret', [], { body: 'iret', implicitSize: true, flags: fl(0, ALL), branch: true }),
  row(0xd4, 'aam', ['Ib'], { body: 'aam', flags: fl(0, SF | ZF | PF, OF | AF | CF), note: 'imm8 = 0 is #DE' }),
  row(0xd5, 'aad', ['Ib'], { body: 'aad', flags: fl(0, SF | ZF | PF, OF | AF | CF) }),
  row(0xd6, 'salc', [], {
    body: 'salc',
    flags: fl(CF, 0),
    note: 'undocumented by Intel until recently (AL = CF ? FF : 00); GNU objdump prints (bad)',
  }),
  row(0xd7, 'xlat', ['Xlat'], { body: 'xlat' }),
  // D8–DF: x87 escapes (fpu-ops.ts): #NM with CR0.EM or CR0.TS (SDM vol. 3, 2.5). DA/DB hold
  // FCMOVcc (read CF/ZF/PF), DB/DF FCOMI/FUCOMI(P) (write ZF/PF/CF, clear OF/SF/AF).
  ...range(8).map((k) =>
    row(0xd8 + k, 'esc', ['Fx'], {
      body: 'escape',
      flags: fl(k === 2 || k === 3 ? CF | ZF | PF : 0, k === 3 || k === 7 ? OF | SF | ZF | AF | PF | CF : 0),
      note: 'x87 escape: #NM with CR0.EM/TS; x87Form() names the instruction, X87_EXECUTES says whether the CPU runs it',
    }),
  ),
  row(0xe0, 'loopne', ['Jb'], {
    body: 'loop',
    flags: fl(ZF, 0),
    branch: true,
    note: 'counts in CX or ECX by address size',
  }),
  row(0xe1, 'loope', ['Jb'], {
    body: 'loop',
    flags: fl(ZF, 0),
    branch: true,
    note: 'counts in CX or ECX by address size',
  }),
  row(0xe2, 'loop', ['Jb'], { body: 'loop', branch: true, note: 'counts in CX or ECX by address size' }),
  row(0xe3, 'jecxz', ['Jb'], { body: 'jcxz', sized: { 16: 'jcxz', 32: 'jecxz' }, sizedBy: 'address', branch: true }),
  row(0xe4, 'in', ['AL', 'Ib'], { body: 'moves', privilege: 'io' }),
  row(0xe5, 'in', ['eAX', 'Ib'], { body: 'moves', privilege: 'io' }),
  row(0xe6, 'out', ['Ib', 'AL'], { body: 'moves', privilege: 'io' }),
  row(0xe7, 'out', ['Ib', 'eAX'], { body: 'moves', privilege: 'io' }),
  row(0xe8, 'call', ['Jv'], { body: 'moves', implicitSize: true, branch: true }),
  row(0xe9, 'jmp', ['Jv'], { body: 'moves', implicitSize: true, branch: true }),
  row(0xea, 'jmp', ['Ap'], { body: 'jmp-far', branch: true }),
  row(0xeb, 'jmp', ['Jb'], { body: 'moves', branch: true }),
  row(0xec, 'in', ['AL', 'DX'], { body: 'moves', privilege: 'io' }),
  row(0xed, 'in', ['eAX', 'DX'], { body: 'moves', privilege: 'io' }),
  row(0xee, 'out', ['DX', 'AL'], { body: 'moves', privilege: 'io' }),
  row(0xef, 'out', ['DX', 'eAX'], { body: 'moves', privilege: 'io' }),
  // F0: LOCK; F2 F3: REPNE / REP(E).
  row(0xf1, 'int1', [], { body: 'int1', branch: true, note: 'ICEBP: #DB as a trap (SDM vol. 3, 17.3.1)' }),
  row(0xf4, 'hlt', [], { body: 'hlt', privilege: 'cpl0', branch: true }),
  row(0xf5, 'cmc', [], { body: 'flag-op', flags: fl(CF, CF) }),
  // F6 F7: group 3.
  ...[
    [0xf6, 'Eb', 'Ib'],
    [0xf7, 'Ev', 'Iv'],
  ].flatMap(([op, e, i]) => {
    const E = e as Operand;
    return [
      group(op as number, 0, 'test', [E, i as Operand], { body: 'alu', flags: LOGIC }),
      group(op as number, 1, 'test', [E, i as Operand], {
        body: 'alu',
        flags: LOGIC,
        note: 'undocumented alias of /0 (what Intel and AMD parts do)',
      }),
      group(op as number, 2, 'not', [E], { body: 'alu', lockable: true }),
      group(op as number, 3, 'neg', [E], { body: 'alu', flags: ARITHW, lockable: true }),
      group(op as number, 4, 'mul', [E], { body: 'alu', flags: MUL }),
      group(op as number, 5, 'imul', [E], { body: 'alu', flags: MUL }),
      group(op as number, 6, 'div', [E], {
        body: 'alu',
        flags: DIV,
        note: '#DE on a zero divisor or an overflowing quotient',
      }),
      group(op as number, 7, 'idiv', [E], {
        body: 'alu',
        flags: DIV,
        note: '#DE on a zero divisor or an overflowing quotient',
      }),
    ];
  }),
  row(0xf8, 'clc', [], { body: 'flag-op', flags: fl(0, CF) }),
  row(0xf9, 'stc', [], { body: 'flag-op', flags: fl(0, CF) }),
  row(0xfa, 'cli', [], { body: 'flag-op', flags: fl(0, IF), privilege: 'iopl' }),
  row(0xfb, 'sti', [], {
    body: 'flag-op',
    flags: fl(0, IF),
    privilege: 'iopl',
    note: 'interrupts stay inhibited until after the next instruction (SDM vol. 2, STI)',
  }),
  row(0xfc, 'cld', [], { body: 'flag-op', flags: fl(0, DF) }),
  row(0xfd, 'std', [], { body: 'flag-op', flags: fl(0, DF) }),
  group(0xfe, 0, 'inc', ['Eb'], { body: 'alu', flags: INCDEC, lockable: true }),
  group(0xfe, 1, 'dec', ['Eb'], { body: 'alu', flags: INCDEC, lockable: true }),
  group(0xff, 0, 'inc', ['Ev'], { body: 'alu', flags: INCDEC, lockable: true }),
  group(0xff, 1, 'dec', ['Ev'], { body: 'alu', flags: INCDEC, lockable: true }),
  group(0xff, 2, 'call', ['Ev'], { body: 'moves', implicitSize: true, branch: true }),
  group(0xff, 3, 'call', ['Mp'], { body: 'far-indirect', branch: true }),
  group(0xff, 4, 'jmp', ['Ev'], { body: 'moves', implicitSize: true, branch: true }),
  group(0xff, 5, 'jmp', ['Mp'], { body: 'far-indirect', branch: true }),
  group(0xff, 6, 'push', ['Ev'], { body: 'moves' }),
];

const DESCRIPTOR_NOTE = 'the 16-bit form loads a 24-bit base (SDM vol. 2, LGDT/LIDT)';

/** The two-byte opcode map, 0F xx (SDM vol. 2, table A-3), as the 80386 … Pentium Pro define it. */
const TWO_BYTE: Opcode[] = [
  // 0F 00: group 6 (protected mode only: #UD in real mode).
  group(0x0f00, 0, 'sldt', ['Mw/Rv'], { body: 'sldt', protectedOnly: true }),
  group(0x0f00, 1, 'str', ['Mw/Rv'], { body: 'str', protectedOnly: true }),
  group(0x0f00, 2, 'lldt', ['Ew'], { body: 'lldt', protectedOnly: true, privilege: 'cpl0' }),
  group(0x0f00, 3, 'ltr', ['Ew'], { body: 'ltr', protectedOnly: true, privilege: 'cpl0' }),
  group(0x0f00, 4, 'verr', ['Ew'], { body: 'verr-verw', protectedOnly: true, flags: ZFONLY }),
  group(0x0f00, 5, 'verw', ['Ew'], { body: 'verr-verw', protectedOnly: true, flags: ZFONLY }),
  // 0F 01: group 7.
  group(0x0f01, 0, 'sgdt', ['Ms'], { body: 'store-descriptor-table', note: DESCRIPTOR_NOTE }),
  group(0x0f01, 1, 'sidt', ['Ms'], { body: 'store-descriptor-table', note: DESCRIPTOR_NOTE }),
  group(0x0f01, 2, 'lgdt', ['Ms'], { body: 'load-descriptor-table', privilege: 'cpl0', note: DESCRIPTOR_NOTE }),
  group(0x0f01, 3, 'lidt', ['Ms'], { body: 'load-descriptor-table', privilege: 'cpl0', note: DESCRIPTOR_NOTE }),
  group(0x0f01, 4, 'smsw', ['Mw/Rv'], { body: 'smsw' }),
  group(0x0f01, 6, 'lmsw', ['Ew'], { body: 'lmsw', privilege: 'cpl0', branch: true, note: 'cannot clear CR0.PE' }),
  group(0x0f01, 7, 'invlpg', ['Mb'], { body: 'invlpg', privilege: 'cpl0' }),
  row(0x0f02, 'lar', ['Gv', 'Mw/Rv'], { body: 'lar-lsl', protectedOnly: true, flags: ZFONLY }),
  row(0x0f03, 'lsl', ['Gv', 'Mw/Rv'], { body: 'lar-lsl', protectedOnly: true, flags: ZFONLY }),
  row(0x0f06, 'clts', [], { body: 'clts', privilege: 'cpl0' }),
  row(0x0f08, 'invd', [], { body: 'cache-flush', privilege: 'cpl0' }),
  row(0x0f09, 'wbinvd', [], { body: 'cache-flush', privilege: 'cpl0' }),
  row(0x0f0b, 'ud2', [], { body: 'ud2', branch: true, note: 'raises #UD by definition' }),
  row(0x0f1f, 'nop', ['Ev'], {
    body: 'moves',
    note: 'the multi-byte NOP: /0 in SDM vol. 2 (NOP), any reg field on P6 and later parts (a reserved NOP), as here',
  }),
  // MOV to/from control and debug registers: mod is ignored, the r/m field names a register.
  row(0x0f20, 'mov', ['Rd', 'Cd'], {
    body: 'mov-cr',
    privilege: 'cpl0',
    validRegs: 0x1d,
    note: 'CR1, CR5–CR7 are #UD',
  }),
  row(0x0f21, 'mov', ['Rd', 'Dd'], { body: 'mov-dr', privilege: 'cpl0' }),
  row(0x0f22, 'mov', ['Cd', 'Rd'], {
    body: 'mov-cr',
    privilege: 'cpl0',
    validRegs: 0x1d,
    branch: true,
    note: 'CR1, CR5–CR7 are #UD',
  }),
  row(0x0f23, 'mov', ['Dd', 'Rd'], { body: 'mov-dr', privilege: 'cpl0' }),
  row(0x0f30, 'wrmsr', [], {
    body: 'wrmsr',
    privilege: 'cpl0',
    note: 'IA32_TSC and SYSENTER_CS/ESP/EIP; any other MSR is #GP(0)',
  }),
  row(0x0f31, 'rdtsc', [], { body: 'moves', privilege: 'tsd' }),
  row(0x0f32, 'rdmsr', [], {
    body: 'rdmsr',
    privilege: 'cpl0',
    note: 'IA32_TSC and SYSENTER_CS/ESP/EIP; any other MSR is #GP(0)',
  }),
  row(0x0f34, 'sysenter', [], {
    body: 'sysenter',
    branch: true,
    flags: fl(0, IF | VM | RF),
    note: '#GP(0) in real mode or with SYSENTER_CS null; flat CS/SS from the MSR, not from the GDT',
  }),
  row(0x0f35, 'sysexit', [], {
    body: 'sysexit',
    privilege: 'cpl0',
    branch: true,
    note: '#GP(0) in real mode or with SYSENTER_CS null; CS = SYSENTER_CS + 16, SS = + 24, RPL 3',
  }),
  ...range(16).map((cc) =>
    row(0x0f40 + cc, `cmov${CONDITIONS[cc]}`, ['Gv', 'Ev'], {
      body: 'moves',
      flags: fl(CC_READS[cc], 0),
      note: 'the source is read (and can fault) even when the condition is false',
    }),
  ),
  ...range(16).map((cc) =>
    row(0x0f80 + cc, `j${CONDITIONS[cc]}`, ['Jv'], { body: 'moves', flags: fl(CC_READS[cc], 0), branch: true }),
  ),
  ...range(16).map((cc) =>
    row(0x0f90 + cc, `set${CONDITIONS[cc]}`, ['Eb'], {
      body: 'moves',
      flags: fl(CC_READS[cc], 0),
      note: 'the ModR/M reg field is ignored',
    }),
  ),
  row(0x0fa0, 'push', ['FS'], { body: 'moves', implicitSize: true }),
  row(0x0fa1, 'pop', ['FS'], { body: 'moves', implicitSize: true }),
  row(0x0fa2, 'cpuid', [], { body: 'cpuid' }),
  row(0x0fa3, 'bt', ['Ev', 'Gv'], {
    body: 'bit-op',
    flags: BITTEST,
    note: 'a register bit offset reaches beyond the memory operand',
  }),
  row(0x0fa4, 'shld', ['Ev', 'Gv', 'Ib'], { body: 'shift-double', flags: SHIFT }),
  row(0x0fa5, 'shld', ['Ev', 'Gv', 'CL'], { body: 'shift-double', flags: SHIFT }),
  row(0x0fa8, 'push', ['GS'], { body: 'moves', implicitSize: true }),
  row(0x0fa9, 'pop', ['GS'], { body: 'moves', implicitSize: true }),
  row(0x0fab, 'bts', ['Ev', 'Gv'], { body: 'bit-op', flags: BITTEST, lockable: true }),
  row(0x0fac, 'shrd', ['Ev', 'Gv', 'Ib'], { body: 'shift-double', flags: SHIFT }),
  row(0x0fad, 'shrd', ['Ev', 'Gv', 'CL'], { body: 'shift-double', flags: SHIFT }),
  row(0x0faf, 'imul', ['Gv', 'Ev'], { body: 'imul2', flags: MUL }),
  row(0x0fb0, 'cmpxchg', ['Eb', 'Gb'], { body: 'cmpxchg', flags: ARITHW, lockable: true }),
  row(0x0fb1, 'cmpxchg', ['Ev', 'Gv'], { body: 'cmpxchg', flags: ARITHW, lockable: true }),
  row(0x0fb2, 'lss', ['Gv', 'Mp'], { body: 'load-far-pointer' }),
  row(0x0fb3, 'btr', ['Ev', 'Gv'], { body: 'bit-op', flags: BITTEST, lockable: true }),
  row(0x0fb4, 'lfs', ['Gv', 'Mp'], { body: 'load-far-pointer' }),
  row(0x0fb5, 'lgs', ['Gv', 'Mp'], { body: 'load-far-pointer' }),
  row(0x0fb6, 'movzx', ['Gv', 'Eb'], { body: 'moves' }),
  row(0x0fb7, 'movzx', ['Gv', 'Ew'], { body: 'moves' }),
  // 0F BA: group 8.
  group(0x0fba, 4, 'bt', ['Ev', 'Ib'], { body: 'bit-op-imm', flags: BITTEST }),
  group(0x0fba, 5, 'bts', ['Ev', 'Ib'], { body: 'bit-op-imm', flags: BITTEST, lockable: true }),
  group(0x0fba, 6, 'btr', ['Ev', 'Ib'], { body: 'bit-op-imm', flags: BITTEST, lockable: true }),
  group(0x0fba, 7, 'btc', ['Ev', 'Ib'], { body: 'bit-op-imm', flags: BITTEST, lockable: true }),
  row(0x0fbb, 'btc', ['Ev', 'Gv'], { body: 'bit-op', flags: BITTEST, lockable: true }),
  row(0x0fbc, 'bsf', ['Gv', 'Ev'], {
    body: 'bit-scan',
    flags: fl(0, ZF, CF | OF | SF | AF | PF),
    note: 'a zero source sets ZF and leaves the destination unchanged (Intel and AMD)',
  }),
  row(0x0fbd, 'bsr', ['Gv', 'Ev'], {
    body: 'bit-scan',
    flags: fl(0, ZF, CF | OF | SF | AF | PF),
    note: 'a zero source sets ZF and leaves the destination unchanged (Intel and AMD)',
  }),
  row(0x0fbe, 'movsx', ['Gv', 'Eb'], { body: 'moves' }),
  row(0x0fbf, 'movsx', ['Gv', 'Ew'], { body: 'moves' }),
  row(0x0fc0, 'xadd', ['Eb', 'Gb'], { body: 'xadd', flags: ARITHW, lockable: true }),
  row(0x0fc1, 'xadd', ['Ev', 'Gv'], { body: 'xadd', flags: ARITHW, lockable: true }),
  // 0F C7: group 9.
  group(0x0fc7, 1, 'cmpxchg8b', ['Mq'], { body: 'cmpxchg8b', flags: ZFONLY, lockable: true }),
  ...range(8).map((r) =>
    row(0x0fc8 + r, 'bswap', ['Zv'], {
      body: 'moves',
      note: 'with a 16-bit operand the result is undefined (SDM vol. 2, BSWAP)',
    }),
  ),
];

// ---- x87, for the disassembler only --------------------------------------------------------

/**
 * The operand of an x87 form: a memory operand of 2, 4, 8 or 10 bytes, the FPU environment/state
 * (14/28 or 94/108 bytes by operand size), or stack registers ST(0) and ST(i) (i = ModR/M r/m).
 */
export type X87Operand = 'm16' | 'm32' | 'm64' | 'm80' | 'menv' | 'st,sti' | 'sti,st' | 'sti' | 'none';
export interface X87Form {
  readonly mnemonic: string;
  readonly operand: X87Operand;
}

const FARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
const FIARITH = ['fiadd', 'fimul', 'ficom', 'ficomp', 'fisub', 'fisubr', 'fidiv', 'fidivr'];
type MemRow = readonly ([string, X87Operand] | undefined)[];
/** Memory forms (mod ≠ 11) by escape byte D8–DF and reg field (SDM vol. 2, A.5.1). */
const X87_MEMORY: readonly MemRow[] = [
  FARITH.map((m) => [m, 'm32']),
  [
    ['fld', 'm32'],
    undefined,
    ['fst', 'm32'],
    ['fstp', 'm32'],
    ['fldenv', 'menv'],
    ['fldcw', 'm16'],
    ['fnstenv', 'menv'],
    ['fnstcw', 'm16'],
  ],
  FIARITH.map((m) => [m, 'm32']),
  [
    ['fild', 'm32'],
    ['fisttp', 'm32'],
    ['fist', 'm32'],
    ['fistp', 'm32'],
    undefined,
    ['fld', 'm80'],
    undefined,
    ['fstp', 'm80'],
  ],
  FARITH.map((m) => [m, 'm64']),
  [
    ['fld', 'm64'],
    ['fisttp', 'm64'],
    ['fst', 'm64'],
    ['fstp', 'm64'],
    ['frstor', 'menv'],
    undefined,
    ['fnsave', 'menv'],
    ['fnstsw', 'm16'],
  ],
  FIARITH.map((m) => [m, 'm16']),
  [
    ['fild', 'm16'],
    ['fisttp', 'm16'],
    ['fist', 'm16'],
    ['fistp', 'm16'],
    ['fbld', 'm80'],
    ['fild', 'm64'],
    ['fbstp', 'm80'],
    ['fistp', 'm64'],
  ],
];

/** A register-form slot: a pair (one instruction over ST(i)), or eight names (one per r/m value). */
type RegSlot = [string, X87Operand] | readonly (string | undefined)[] | undefined;
const u = undefined;
/** Register forms (mod = 11) by escape byte and reg field (SDM vol. 2, A.5.2); names as GNU objdump prints them. */
const X87_REGISTER: readonly (readonly RegSlot[])[] = [
  FARITH.map((m, k): RegSlot => [m, k === 2 || k === 3 ? 'sti' : 'st,sti']),
  [
    ['fld', 'sti'],
    ['fxch', 'sti'],
    ['fnop', u, u, u, u, u, u, u],
    u,
    ['fchs', 'fabs', u, u, 'ftst', 'fxam', u, u],
    ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz', u],
    ['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp'],
    ['fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos'],
  ],
  [
    ['fcmovb', 'st,sti'],
    ['fcmove', 'st,sti'],
    ['fcmovbe', 'st,sti'],
    ['fcmovu', 'st,sti'],
    u,
    [u, 'fucompp', u, u, u, u, u, u],
    u,
    u,
  ],
  [
    ['fcmovnb', 'st,sti'],
    ['fcmovne', 'st,sti'],
    ['fcmovnbe', 'st,sti'],
    ['fcmovnu', 'st,sti'],
    // DB E0/E1/E4/E5: 8087/287 controls, no-ops since the 387 (objdump names them so).
    ['fneni(8087 only)', 'fndisi(8087 only)', 'fnclex', 'fninit', 'fnsetpm(287 only)', 'frstpm(287 only)', u, u],
    ['fucomi', 'st,sti'],
    ['fcomi', 'st,sti'],
    u,
  ],
  // DC: the result goes to ST(i); FSUB/FSUBR and FDIV/FDIVR swap places against D8 (SDM vol. 2, FSUB).
  [
    ['fadd', 'sti,st'],
    ['fmul', 'sti,st'],
    u,
    u,
    ['fsubr', 'sti,st'],
    ['fsub', 'sti,st'],
    ['fdivr', 'sti,st'],
    ['fdiv', 'sti,st'],
  ],
  [['ffree', 'sti'], u, ['fst', 'sti'], ['fstp', 'sti'], ['fucom', 'sti'], ['fucomp', 'sti'], u, u],
  [
    ['faddp', 'sti,st'],
    ['fmulp', 'sti,st'],
    u,
    [u, 'fcompp', u, u, u, u, u, u],
    ['fsubrp', 'sti,st'],
    ['fsubp', 'sti,st'],
    ['fdivrp', 'sti,st'],
    ['fdivp', 'sti,st'],
  ],
  [['ffreep', 'sti'], u, u, u, ['fnstsw ax', u, u, u, u, u, u, u], ['fucomip', 'st,sti'], ['fcomip', 'st,sti'], u],
];

/**
 * The x87 instruction an escape byte (D8–DF) and its ModR/M encode, or undefined for none: the
 * disassembler names it, and the CPU executes it unless X87_EXECUTES says otherwise.
 */
export function x87Form(op: number, modrm: number): X87Form | undefined {
  if (op < 0xd8 || op > 0xdf) return undefined;
  const reg = (modrm >> 3) & 7;
  if (modrm < 0xc0) {
    const m = X87_MEMORY[op - 0xd8][reg];
    return m && { mnemonic: m[0], operand: m[1] };
  }
  const slot = X87_REGISTER[op - 0xd8][reg];
  if (slot === undefined) return undefined;
  // A pair is one instruction over ST(i); a list of eight names has one instruction per r/m.
  if (slot.length === 2) return { mnemonic: slot[0] as string, operand: slot[1] as X87Operand };
  const name = slot[modrm & 7];
  return name === undefined ? undefined : { mnemonic: name, operand: 'none' };
}

/**
 * The forms the table names that this CPU (a Pentium Pro's x87) does not execute: SSE3's FISTTP
 * and the 287's FRSTPM are #UD here, as on the processors between them.
 */
const X87_NOT_ON_P6 = new Set(['fisttp', 'frstpm(287 only)']);

/** Whether the CPU executes escape `op` with ModR/M `modrm`: one byte per (op − D8) × 256 + ModR/M. */
export const X87_EXECUTES: Uint8Array = (() => {
  const t = new Uint8Array(8 * 256);
  for (let op = 0xd8; op <= 0xdf; op++)
    for (let modrm = 0; modrm < 256; modrm++) {
      const f = x87Form(op, modrm);
      t[((op - 0xd8) << 8) | modrm] = f && !X87_NOT_ON_P6.has(f.mnemonic) ? 1 : 0;
    }
  return t;
})();

/** Every opcode, one-byte map first. */
export const OPCODES: readonly Opcode[] = [...ONE_BYTE, ...TWO_BYTE];

/** The bytes that are prefixes rather than opcodes (SDM vol. 2, 2.1.1). */
export const PREFIXES: ReadonlyMap<number, string> = new Map([
  [0x26, 'es'],
  [0x2e, 'cs'],
  [0x36, 'ss'],
  [0x3e, 'ds'],
  [0x64, 'fs'],
  [0x65, 'gs'],
  [0x66, 'data16'],
  [0x67, 'addr16'],
  [0xf0, 'lock'],
  [0xf2, 'repnz'],
  [0xf3, 'repz'],
]);

/**
 * Lookup by opcode (0x00–0xff, 0x0f00–0x0fff): a plain entry, or for a group eight slots indexed
 * by the ModR/M reg field (undefined where the group has no instruction: #UD).
 */
const BY_OPCODE = new Map<number, Opcode | (Opcode | undefined)[]>();
for (const o of OPCODES) {
  if (o.ext === undefined) {
    if (BY_OPCODE.has(o.op)) throw new Error(`opcode table: ${o.op.toString(16)} listed twice`);
    BY_OPCODE.set(o.op, o);
    continue;
  }
  let slots = BY_OPCODE.get(o.op);
  if (slots === undefined) BY_OPCODE.set(o.op, (slots = new Array<Opcode | undefined>(8).fill(undefined)));
  if (!Array.isArray(slots) || slots[o.ext]) throw new Error(`opcode table: ${o.op.toString(16)}/${o.ext} clashes`);
  slots[o.ext] = o;
}

/** Whether the opcode (one-byte, or 0x0fxx) exists, and whether a ModR/M byte follows it. */
export function opcodeHasModrm(op: number): boolean | undefined {
  const e = BY_OPCODE.get(op);
  if (e === undefined) return undefined;
  return Array.isArray(e) ? true : e.modrm;
}

/** The entry for an opcode and (for a group) the ModR/M reg field; undefined for #UD. */
export function lookupOpcode(op: number, reg: number): Opcode | undefined {
  const e = BY_OPCODE.get(op);
  if (e === undefined) return undefined;
  return Array.isArray(e) ? e[reg & 7] : e;
}

/** Bytes of immediate (and relative/far-pointer/moffs) data after ModR/M, SIB and displacement. */
export function immediateBytes(o: Opcode, op32: boolean, ad32: boolean): number {
  let n = 0;
  for (const k of o.operands) n += operandImmediateBytes(k, op32, ad32);
  return n;
}

function operandImmediateBytes(k: Operand, op32: boolean, ad32: boolean): number {
  switch (k) {
    case 'Ib':
    case 'Ibs':
    case 'Jb':
      return 1;
    case 'Iw':
      return 2;
    case 'Iv':
    case 'Jv':
      return op32 ? 4 : 2;
    case 'Ap':
      return op32 ? 6 : 4;
    case 'Ob':
    case 'Ov':
      return ad32 ? 4 : 2;
    default:
      return 0;
  }
}

/** The operand forms of an entry as an SDM-style signature, e.g. "add Ev, Ib". */
export function signature(o: Opcode): string {
  return o.operands.length ? `${o.mnemonic} ${o.operands.join(', ')}` : o.mnemonic;
}
