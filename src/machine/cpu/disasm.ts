/**
 * A disassembler driven only by the opcode table (opcodes.ts): prefixes, ModR/M and SIB with 16-
 * and 32-bit addressing, displacements and immediates, printed in Intel syntax the way GNU
 * objdump -M intel prints it (lower case, `, ` between operands), except string instructions,
 * which print in their short form (`rep movsd`) unless a segment override or the address size
 * makes the long form necessary.
 *
 * It never throws: bytes that are not an instruction the table knows (or that cannot be read, or
 * make an instruction longer than the 15-byte limit of SDM vol. 2, 2.3.11) disassemble to
 * `(bad)` with length 1, as objdump does.
 */
import { lookupOpcode, opcodeHasModrm, PREFIXES, x87Form, type Opcode, type Operand } from './opcodes';

export interface Instruction {
  /** Bytes the instruction occupies (1 for `(bad)`). */
  readonly length: number;
  /** Mnemonic with its prefixes and operands, e.g. `lock cmpxchg dword ptr [ecx], edx`. */
  readonly text: string;
  /** The table entry, undefined for `(bad)`. */
  readonly opcode?: Opcode;
}

/** A byte of the code stream at an offset from the instruction's start, or −1 when unreadable. */
export type ByteReader = (offset: number) => number;

const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const SEG_PREFIX: Record<number, string> = { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds', 0x64: 'fs', 0x65: 'gs' };
/** 16-bit ModR/M r/m bases (SDM vol. 2, table 2-1). */
const EA16 = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];
const STRING_OPS = new Set(['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs']);
const MAX_LENGTH = 15;

const BAD: Instruction = { length: 1, text: '(bad)' };

class Bad {}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const mask = (v: number, bits: number): number => (bits === 32 ? v >>> 0 : v & ((1 << bits) - 1));
const signed = (v: number, bits: number): number => (bits === 32 ? v | 0 : (v << (32 - bits)) >> (32 - bits));

/** A signed displacement as objdump prints it after a register: `+0x10`, `-0x10`, `+0x0`. */
const disp = (v: number): string => (v < 0 ? `-${hex(-v)}` : `+${hex(v)}`);

/**
 * Disassembles one instruction.
 * @param read the code bytes, from the instruction's first byte
 * @param address the instruction's address (EIP/IP), for the targets of relative branches
 * @param code32 the code segment's default size (CS.D): 32-bit, or 16-bit in real mode and 16-bit segments
 */
export function disassembleOne(read: ByteReader, address: number, code32: boolean): Instruction {
  try {
    return decode(read, address, code32);
  } catch (e) {
    if (e instanceof Bad) return BAD;
    // Not a guest-visible condition: a bug here must not take the machine's fault report with it.
    return { length: 1, text: `(bad: ${String(e)})` };
  }
}

function decode(read: ByteReader, address: number, code32: boolean): Instruction {
  let pos = 0;
  const next = (): number => {
    if (pos >= MAX_LENGTH) throw new Bad();
    const b = read(pos++);
    if (b < 0 || b > 0xff || !Number.isInteger(b)) throw new Bad();
    return b;
  };
  const nextN = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v += next() * 2 ** (8 * i);
    return v >>> 0;
  };

  // Prefixes, in the order they came (unused ones are printed by name, as objdump does).
  const prefixes: number[] = [];
  let seg = -1;
  let op32 = code32;
  let ad32 = code32;
  let b = next();
  while (PREFIXES.has(b)) {
    prefixes.push(b);
    if (b in SEG_PREFIX) seg = b;
    else if (b === 0x66) op32 = !code32;
    else if (b === 0x67) ad32 = !code32;
    b = next();
  }
  const op = b === 0x0f ? 0x0f00 | next() : b;
  const hasModrm = opcodeHasModrm(op);
  if (hasModrm === undefined) throw new Bad();
  const modrm = hasModrm ? next() : 0;
  const mod = modrm >> 6;
  const regField = (modrm >> 3) & 7;
  const rmField = modrm & 7;
  const entry = lookupOpcode(op, regField);
  if (entry === undefined) throw new Bad();

  const osz = op32 ? 32 : 16;
  const asz = ad32 ? 32 : 16;
  const segName = seg < 0 ? '' : SEG_PREFIX[seg];
  let usesSeg = false;
  let usesOsz = entry.implicitSize === true || (entry.sized !== undefined && entry.sizedBy !== 'address');
  let usesAsz = entry.sizedBy === 'address';

  // The memory operand of the ModR/M byte (if any), as text without a size.
  let memory = '';
  const rmIsMemory = hasModrm && mod !== 3 && !entry.operands.some((k) => k === 'Rd');
  if (rmIsMemory) {
    usesSeg = true;
    memory = ad32 ? modrm32() : modrm16();
    // Registers in the address show its size. A bare `ds:0x…` does not: objdump then keeps
    // `addr32` in 16-bit code (but drops `addr16` in 32-bit code, and keeps both for moffs).
    usesAsz = memory.includes('[') || !ad32;
  }

  function modrm16(): string {
    if (mod === 0 && rmField === 6) return `${segName || 'ds'}:${hex(nextN(2))}`;
    let d = '';
    if (mod === 1) d = disp(signed(next(), 8));
    else if (mod === 2) d = disp(signed(nextN(2), 16));
    return `${segName ? segName + ':' : ''}[${EA16[rmField]}${d}]`;
  }

  function modrm32(): string {
    let base = rmField;
    let index = -1;
    let scale = 0;
    let hasBase = true;
    let sib = false;
    if (rmField === 4) {
      sib = true;
      const s = next();
      scale = s >> 6;
      index = (s >> 3) & 7;
      base = s & 7;
      if (base === 5 && mod === 0) hasBase = false;
    } else if (rmField === 5 && mod === 0) hasBase = false;
    let d = 0;
    let hasDisp = false;
    if (mod === 1) {
      d = signed(next(), 8);
      hasDisp = true;
    } else if (mod === 2 || !hasBase) {
      d = nextN(4);
      hasDisp = true;
    }
    if (!sib && !hasBase) return `${segName || 'ds'}:${hex(d)}`;
    const parts: string[] = [];
    if (hasBase) parts.push(REG32[base]);
    // objdump's rule: the "no index" SIB encoding shows as eiz unless it is the plain [esp] form.
    if (sib && (index !== 4 || scale !== 0 || !hasBase || base !== 4))
      parts.push(`${index === 4 ? 'eiz' : REG32[index]}*${1 << scale}`);
    let text = parts.join('+');
    if (hasDisp) text += hasBase || index !== 4 || sib ? disp(signed(d, 32)) : hex(d);
    return `${segName ? segName + ':' : ''}[${text}]`;
  }

  const sizePtr = (bits: number): string =>
    bits === 8
      ? 'byte ptr '
      : bits === 16
        ? 'word ptr '
        : bits === 32
          ? 'dword ptr '
          : bits === 48
            ? 'fword ptr '
            : bits === 64
              ? 'qword ptr '
              : 'tbyte ptr ';

  const reg = (n: number, bits: number): string => (bits === 8 ? REG8[n] : bits === 16 ? REG16[n] : REG32[n]);

  /** An r/m operand of `bits` (register or memory). */
  const rm = (bits: number): string => (rmIsMemory ? sizePtr(bits) + memory : reg(rmField, bits));
  const memOnly = (text: string): string => {
    if (!rmIsMemory) throw new Bad();
    return text + memory;
  };
  const stringSide = (isSource: boolean, bits: number): string => {
    usesAsz = true;
    const r = isSource ? (ad32 ? 'esi' : 'si') : ad32 ? 'edi' : 'di';
    let s = 'es';
    if (isSource) {
      usesSeg = true;
      s = segName || 'ds';
    }
    return `${sizePtr(bits)}${s}:[${r}]`;
  };

  const texts: string[] = [];
  let sizeShown = false;
  /** An x87 escape's instruction name, and whether its operand size shows as a w/d suffix. */
  let x87Name = '';
  let x87Env = false;
  for (const k of entry.operands) texts.push(operand(k));

  function operand(k: Operand): string {
    switch (k) {
      case 'Eb':
        return rm(8);
      case 'Ew':
        return rm(16);
      case 'Ev':
        usesOsz = true;
        sizeShown = true;
        return rm(osz);
      case 'Gb':
        return REG8[regField];
      case 'Gw':
        return REG16[regField];
      case 'Gv':
        usesOsz = true;
        sizeShown = true;
        return reg(regField, osz);
      case 'Mw/Rv':
        if (rmIsMemory) return sizePtr(16) + memory;
        usesOsz = true;
        return reg(rmField, osz);
      case 'M':
      case 'Ms':
        return memOnly('');
      case 'Mb':
        return memOnly(sizePtr(8));
      case 'Mp':
        usesOsz = true;
        return memOnly(sizePtr(op32 ? 48 : 32));
      case 'Ma':
        usesOsz = true;
        return memOnly(sizePtr(op32 ? 64 : 32));
      case 'Mq':
        return memOnly(sizePtr(64));
      case 'Rd':
        return REG32[rmField];
      case 'Cd':
        return `cr${regField}`;
      case 'Dd':
        return `dr${regField}`;
      case 'Sw':
        if (regField > 5) throw new Bad();
        return SREG[regField];
      case 'Ib':
        return hex(next());
      case 'Iw':
        return hex(nextN(2));
      case 'Iv':
        usesOsz = true;
        return hex(nextN(op32 ? 4 : 2));
      case 'Ibs':
        usesOsz = true;
        return hex(mask(signed(next(), 8), osz));
      case 'Jb':
      case 'Jv': {
        if (k === 'Jv') usesOsz = true;
        const d = k === 'Jb' ? signed(next(), 8) : signed(nextN(op32 ? 4 : 2), osz);
        // The end of the instruction is known once this operand is read (it is the last one).
        const target = mask(address + pos + d, osz);
        return `0x${target.toString(16).padStart(osz / 4, '0')}`;
      }
      case 'Ap': {
        usesOsz = true;
        const off = nextN(op32 ? 4 : 2);
        return `${hex(nextN(2))}:${hex(off)}`;
      }
      case 'Ob':
      case 'Ov':
        usesSeg = true; // the address size is not visible in `ds:0x…`: 0x67 stays printed
        if (k === 'Ov') usesOsz = true;
        return `${segName || 'ds'}:${hex(nextN(ad32 ? 4 : 2))}`;
      case 'Zb':
        return REG8[op & 7];
      case 'Zv':
        usesOsz = true;
        sizeShown = true;
        return reg(op & 7, osz);
      case 'Xb':
      case 'Xv':
      case 'Yb':
      case 'Yv':
        if (k.endsWith('v')) usesOsz = true;
        return stringSide(k[0] === 'X', k.endsWith('b') ? 8 : osz);
      case 'Fx': {
        const f = x87Form(op, modrm);
        if (!f) throw new Bad();
        x87Name = f.mnemonic;
        const st = `st(${rmField})`;
        switch (f.operand) {
          case 'm16':
          case 'm32':
          case 'm64':
          case 'm80':
            return sizePtr(Number(f.operand.slice(1))) + memory;
          case 'menv':
            usesOsz = x87Env = true;
            return memory;
          case 'st,sti':
            return `st, ${st}`;
          case 'sti,st':
            return `${st}, st`;
          case 'sti':
            return st;
          default:
            return '';
        }
      }
      case 'Xlat':
        usesSeg = true;
        usesAsz = true;
        return `byte ptr ${segName || 'ds'}:[${ad32 ? 'ebx' : 'bx'}]`;
      case 'AL':
        return 'al';
      case 'AX':
        return 'ax';
      case 'eAX':
        usesOsz = true;
        sizeShown = true;
        return op32 ? 'eax' : 'ax';
      case 'DX':
        return 'dx';
      case 'CL':
        return 'cl';
      case '1':
        return '1';
      default:
        return k.toLowerCase(); // ES CS SS DS FS GS
    }
  }

  if (pos > MAX_LENGTH) throw new Bad();

  // The mnemonic: sized names, objdump's w/d suffix for an operand size nothing else shows.
  let mnemonic = entry.sized ? entry.sized[entry.sizedBy === 'address' ? asz : osz] : x87Name || entry.mnemonic;
  if (x87Env && op32 !== code32) mnemonic += op32 ? 'd' : 'w';
  if (entry.operands.includes('Ms')) mnemonic += op32 ? 'd' : 'w';
  else if (entry.implicitSize && !sizeShown && op32 !== code32) mnemonic += op32 ? 'd' : 'w';
  if (entry.operands.some((k) => k === 'Ms')) usesOsz = true;

  // String instructions: the short form when the operands say nothing the mnemonic does not.
  let operandText = texts.filter((t) => t !== '').join(', ');
  if (STRING_OPS.has(entry.mnemonic) && seg < 0 && ad32 === code32) {
    const wide = entry.operands.some((k) => k === 'Xv' || k === 'Yv');
    mnemonic += wide ? (op32 ? 'd' : 'w') : 'b';
    operandText = '';
  }

  // Prefixes in byte order: LOCK and REP always; segment, 0x66, 0x67 only when nothing used them.
  const names: string[] = [];
  for (const p of prefixes) {
    if (p in SEG_PREFIX) {
      if (usesSeg && p === seg) continue;
    } else if (p === 0x66) {
      if (usesOsz) continue;
    } else if (p === 0x67) {
      if (usesAsz) continue;
    } else if (p === 0xf3 && entry.rep === 'rep') {
      names.push('rep');
      continue;
    }
    // objdump names 0x66/0x67 by their effect: data16/addr16 in 32-bit code, data32/addr32 in 16-bit.
    if (p === 0x66 || p === 0x67) names.push(`${p === 0x66 ? 'data' : 'addr'}${code32 ? 16 : 32}`);
    else names.push(PREFIXES.get(p) ?? '?');
  }
  names.push(mnemonic);
  const head = names.join(' ');
  return { length: pos, text: operandText ? `${head} ${operandText}` : head, opcode: entry };
}

/** `address: bytes  text` lines for `count` instructions from `address`. */
export function disassembleLines(
  read: (address: number) => number,
  address: number,
  count: number,
  code32: boolean,
): string[] {
  const out: string[] = [];
  let at = address;
  for (let i = 0; i < count; i++) {
    const from = at;
    const ins = disassembleOne((k) => read(from + k), from, code32);
    const bytes: string[] = [];
    for (let k = 0; k < ins.length; k++) {
      const v = read(from + k);
      bytes.push(v < 0 ? '??' : v.toString(16).padStart(2, '0'));
    }
    const addr = code32 ? (from >>> 0).toString(16).padStart(8, '0') : (from & 0xffff).toString(16).padStart(4, '0');
    out.push(`${addr}: ${bytes.join(' ').padEnd(24)} ${ins.text}`);
    at = code32 ? (at + ins.length) | 0 : (at + ins.length) & 0xffff;
  }
  return out;
}
