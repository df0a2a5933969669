/**
 * FSTENV/FLDENV and FSAVE/FRSTOR: the x87 environment in its four layouts (SDM vol. 1, 8.1.10,
 * figures 8-9 to 8-12) — 14 bytes for a 16-bit operand size, 28 for 32-bit, each in a
 * protected-mode form (selector:offset pointers, FOP in the 32-bit form only) and a real-mode form
 * (linear 20/32-bit pointers split around FOP) — followed, for FSAVE/FRSTOR, by the eight data
 * registers in stack order (ST0 first), 10 bytes each.
 *
 * Memory goes through `FpuMemory`, offsets relative to the operand, so the CPU can pass an
 * accessor that applies segmentation and paging and faults as it must. In real and virtual-8086
 * mode the CPU records linear addresses in FIP/FDP (`X87.noteInstruction`).
 */
import { f80, type F80 } from './f80';
import type { X87 } from './x87';

export interface FpuMemory {
  readU16(offset: number): number;
  readU32(offset: number): number;
  writeU16(offset: number, value: number): void;
  writeU32(offset: number, value: number): void;
}

export interface EnvFormat {
  /** The instruction's operand size: 16-bit (14-byte) or 32-bit (28-byte) layout. */
  operandSize: 16 | 32;
  /** Real or virtual-8086 mode: the real-mode layout. */
  realMode: boolean;
}

export const envBytes = (f: EnvFormat): number => (f.operandSize === 32 ? 28 : 14);

/** The words of the environment as the x87 stores them. */
function envWords(x: X87): { cw: number; sw: number; tw: number } {
  return { cw: x.cw, sw: x.statusWord, tw: x.tagWord };
}

/** FNSTENV: store the environment, then mask all exceptions (SDM vol. 2, FSTENV). */
export function storeEnv(x: X87, m: FpuMemory, f: EnvFormat): void {
  writeEnv(x, m, f);
  x.cw |= 0x3f;
}

function writeEnv(x: X87, m: FpuMemory, f: EnvFormat): void {
  const { cw, sw, tw } = envWords(x);
  if (f.operandSize === 32) {
    // The upper halves of the first three dwords (and of FDS's) are reserved and read as 1s on
    // the processors we checked (the host's FNSTENV).
    m.writeU32(0, 0xffff0000 | cw);
    m.writeU32(4, 0xffff0000 | sw);
    m.writeU32(8, 0xffff0000 | tw);
    if (f.realMode) {
      m.writeU32(12, 0xffff0000 | (x.fip & 0xffff));
      m.writeU32(16, (((x.fip >>> 16) & 0xffff) << 12) | (x.fop & 0x7ff));
      m.writeU32(20, 0xffff0000 | (x.fdp & 0xffff));
      m.writeU32(24, ((x.fdp >>> 16) & 0xffff) << 12);
    } else {
      m.writeU32(12, x.fip >>> 0);
      m.writeU32(16, ((x.fop & 0x7ff) << 16) | (x.fcs & 0xffff));
      m.writeU32(20, x.fdp >>> 0);
      m.writeU32(24, 0xffff0000 | (x.fds & 0xffff));
    }
    return;
  }
  m.writeU16(0, cw);
  m.writeU16(2, sw);
  m.writeU16(4, tw);
  if (f.realMode) {
    m.writeU16(6, x.fip & 0xffff);
    m.writeU16(8, (((x.fip >>> 16) & 0xf) << 12) | (x.fop & 0x7ff));
    m.writeU16(10, x.fdp & 0xffff);
    m.writeU16(12, ((x.fdp >>> 16) & 0xf) << 12);
  } else {
    m.writeU16(6, x.fip & 0xffff);
    m.writeU16(8, x.fcs & 0xffff);
    m.writeU16(10, x.fdp & 0xffff);
    m.writeU16(12, x.fds & 0xffff);
  }
}

/**
 * FLDENV: load the environment. The tag word only says which registers are empty (the others'
 * tags follow their contents); a status word with unmasked exception flags makes them pending.
 */
export function loadEnv(x: X87, m: FpuMemory, f: EnvFormat): void {
  if (f.operandSize === 32) {
    const cw = m.readU16(0);
    const sw = m.readU16(4);
    const tw = m.readU16(8);
    if (f.realMode) {
      const ipLow = m.readU16(12);
      const opIp = m.readU32(16);
      const dpLow = m.readU16(20);
      const dpHigh = m.readU32(24);
      x.fip = (((opIp >>> 12) & 0xffff) << 16) | ipLow;
      x.fop = opIp & 0x7ff;
      x.fdp = (((dpHigh >>> 12) & 0xffff) << 16) | dpLow;
      x.fcs = 0;
      x.fds = 0;
    } else {
      x.fip = m.readU32(12);
      const csOp = m.readU32(16);
      x.fcs = csOp & 0xffff;
      x.fop = (csOp >>> 16) & 0x7ff;
      x.fdp = m.readU32(20);
      x.fds = m.readU16(24);
    }
    setWords(x, cw, sw, tw);
    return;
  }
  const cw = m.readU16(0);
  const sw = m.readU16(2);
  const tw = m.readU16(4);
  if (f.realMode) {
    const ipHigh = m.readU16(8);
    x.fip = (((ipHigh >> 12) & 0xf) << 16) | m.readU16(6);
    x.fop = ipHigh & 0x7ff;
    x.fdp = (((m.readU16(12) >> 12) & 0xf) << 16) | m.readU16(10);
    x.fcs = 0;
    x.fds = 0;
  } else {
    x.fip = m.readU16(6);
    x.fcs = m.readU16(8);
    x.fdp = m.readU16(10);
    x.fds = m.readU16(12);
  }
  setWords(x, cw, sw, tw);
}

function setWords(x: X87, cw: number, sw: number, tw: number): void {
  // ES and B follow the loaded flags and masks (recomputed by loadControlWord).
  x.statusWord = sw & ~0x8080;
  x.tagWord = tw;
  x.loadControlWord(cw);
}

function writeReg(m: FpuMemory, at: number, v: F80): void {
  m.writeU32(at, Number(v.sig & 0xffff_ffffn));
  m.writeU32(at + 4, Number(v.sig >> 32n));
  m.writeU16(at + 8, (v.sign << 15) | v.exp);
}

function readReg(m: FpuMemory, at: number): F80 {
  const lo = BigInt(m.readU32(at) >>> 0);
  const hi = BigInt(m.readU32(at + 4) >>> 0);
  const se = m.readU16(at + 8);
  return f80(se >> 15, se & 0x7fff, (hi << 32n) | lo);
}

/** FNSAVE: the environment, the registers ST0..ST7, then FNINIT. */
export function save(x: X87, m: FpuMemory, f: EnvFormat): void {
  writeEnv(x, m, f);
  const base = envBytes(f);
  for (let i = 0; i < 8; i++) writeReg(m, base + 10 * i, x.st(i));
  x.init();
}

/** FRSTOR: the environment, then the registers ST0..ST7 (relative to the loaded TOP). */
export function restore(x: X87, m: FpuMemory, f: EnvFormat): void {
  const base = envBytes(f);
  const regs: F80[] = [];
  for (let i = 0; i < 8; i++) regs.push(readReg(m, base + 10 * i));
  loadEnv(x, m, f);
  for (let i = 0; i < 8; i++) x.regs[(x.top + i) & 7] = regs[i];
  x.updatePending();
}
