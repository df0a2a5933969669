/**
 * FSTENV/FLDENV and FSAVE/FRSTOR in the four layouts of SDM vol. 1, figures 8-9 to 8-12, byte by
 * byte, and the round trip of the registers and the tag word through every layout.
 */
import { describe, expect, it } from 'vitest';
import {
  loadEnv,
  restore,
  save,
  storeEnv,
  envBytes,
  type EnvFormat,
  type FpuMemory,
} from '../../../src/machine/cpu/fpu/env';
import { f80, f80ToHex, infinity, zero } from '../../../src/machine/cpu/fpu/f80';
import { ArithOp, X87 } from '../../../src/machine/cpu/fpu/x87';

function memory(size = 128): FpuMemory & { bytes: Uint8Array } {
  const bytes = new Uint8Array(size).fill(0xaa);
  const dv = new DataView(bytes.buffer);
  return {
    bytes,
    readU16: (o) => dv.getUint16(o, true),
    readU32: (o) => dv.getUint32(o, true),
    writeU16: (o, v) => dv.setUint16(o, v, true),
    writeU32: (o, v) => dv.setUint32(o, v >>> 0, true),
  };
}

const hexBytes = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');

/** An FPU with a zero, a normal, an infinity, a denormal and a NaN on its stack, ZE pending. */
function busy(): X87 {
  const x = new X87();
  x.init();
  x.loadControlWord(0x0b7b); // ZE unmasked, RC up, PC 64
  x.loadExtended(zero(1));
  x.loadExtended(f80(0, 0x3fff, 1n << 63n));
  x.loadExtended(infinity(0));
  x.loadExtended(f80(0, 0, 12345n));
  x.loadExtended(f80(1, 0x7fff, 3n << 62n));
  x.loadExtended(f80(0, 0x3fff, 1n << 63n));
  x.arith(ArithOp.Div, 0, { st: 5 }); // 1 / −0: unmasked ZE, nothing stored
  x.noteInstruction(0x4f1, 0x1234, 0x89abcdef, 0x5678, 0x01234567);
  return x;
}

const PM32: EnvFormat = { operandSize: 32, realMode: false };
const RM32: EnvFormat = { operandSize: 32, realMode: true };
const PM16: EnvFormat = { operandSize: 16, realMode: false };
const RM16: EnvFormat = { operandSize: 16, realMode: true };

describe('the environment layouts', () => {
  const x = busy();
  // TOP = 2; R2 valid, R3 special (NaN), R4 special (denormal), R5 special (∞), R6 valid, R7 zero.
  const sw = x.statusWord;
  const tw = x.tagWord;
  it('has the status and tag words the layouts below store', () => {
    expect(sw).toBe(0x8000 | (2 << 11) | 0x80 | 0x04);
    expect(tw).toBe(0b01_00_10_10_10_00_11_11);
  });

  it('32-bit protected mode (figure 8-9): CW, SW, TW dwords, FIP, FCS + FOP, FDP, FDS', () => {
    const m = memory();
    storeEnv(busy(), m, PM32);
    expect(hexBytes(m.bytes.subarray(0, 28))).toBe(
      '7b 0b ff ff 84 90 ff ff 8f 4a ff ff ef cd ab 89 34 12 f1 04 67 45 23 01 78 56 ff ff',
    );
  });

  it('32-bit real mode (figure 8-10): the linear FIP and FDP split around FOP', () => {
    const m = memory();
    storeEnv(busy(), m, RM32);
    // FIP 0x89abcdef: low word, then bits 31..16 at bits 12..27 above FOP.
    expect(hexBytes(m.bytes.subarray(0, 28))).toBe(
      '7b 0b ff ff 84 90 ff ff 8f 4a ff ff ef cd ff ff f1 b4 9a 08 67 45 ff ff 00 30 12 00',
    );
  });

  it('16-bit protected mode (figure 8-11): seven words, no FOP', () => {
    const m = memory();
    storeEnv(busy(), m, PM16);
    expect(hexBytes(m.bytes.subarray(0, 14))).toBe('7b 0b 84 90 8f 4a ef cd 34 12 67 45 78 56');
  });

  it('16-bit real mode (figure 8-12): FIP/FDP bits 19..16 in the top nibble', () => {
    const m = memory();
    storeEnv(busy(), m, RM16);
    expect(hexBytes(m.bytes.subarray(0, 14))).toBe('7b 0b 84 90 8f 4a ef cd f1 b4 67 45 00 30');
  });

  it('FNSTENV masks every exception afterwards (so the pending one no longer is)', () => {
    const y = busy();
    storeEnv(y, memory(), PM32);
    expect(y.cw & 0x3f).toBe(0x3f);
  });

  for (const f of [PM32, RM32, PM16, RM16])
    it(`FLDENV reads back what FSTENV wrote (${f.operandSize}-bit, ${f.realMode ? 'real' : 'protected'} mode)`, () => {
      const m = memory();
      const a = busy();
      storeEnv(a, m, f);
      // FLDENV takes only "empty" from the tag word: the others follow what the registers hold.
      const b = new X87();
      let pending = 0;
      b.onPending = () => pending++;
      loadEnv(b, m, f);
      expect([b.cw, b.statusWord, b.emptyMask, b.fop]).toEqual([
        0x0b7b,
        sw,
        a.emptyMask,
        f.operandSize === 16 && !f.realMode ? 0 : 0x4f1,
      ]);
      const ip = f.realMode
        ? f.operandSize === 16
          ? 0xbcdef
          : 0x89abcdef
        : f.operandSize === 16
          ? 0xcdef
          : 0x89abcdef;
      expect(b.fip >>> 0).toBe(ip);
      expect(b.exceptionPending).toBe(true);
      expect(pending).toBe(1);
    });
});

describe('FSAVE/FRSTOR', () => {
  for (const f of [PM32, RM32, PM16, RM16])
    it(`round-trips registers, tags and words (${f.operandSize}-bit, ${f.realMode ? 'real' : 'protected'} mode)`, () => {
      const a = busy();
      const want = {
        cw: a.cw,
        sw: a.statusWord,
        tw: a.tagWord,
        st: [0, 1, 2, 3, 4, 5].map((i) => f80ToHex(a.st(i))),
      };
      const m = memory();
      save(a, m, f);
      // FSAVE reinitializes; the image's tag word is the full one computed from contents.
      expect([a.cw, a.statusWord, a.tagWord]).toEqual([0x037f, 0, 0xffff]);
      const twAt = f.operandSize === 32 ? 8 : 4;
      expect(m.readU16(twAt)).toBe(want.tw);
      // Registers follow the environment in stack order: ST0 first.
      expect(m.readU16(envBytes(f) + 8)).toBe(0x3fff);
      const b = new X87();
      restore(b, m, f);
      expect({
        cw: b.cw,
        sw: b.statusWord,
        tw: b.tagWord,
        st: [0, 1, 2, 3, 4, 5].map((i) => f80ToHex(b.st(i))),
      }).toEqual(want);
      expect(b.exceptionPending).toBe(true);
    });

  it('FRSTOR recomputes tags from contents: only "empty" is taken from the image', () => {
    const a = new X87();
    a.init();
    a.loadExtended(zero(0));
    const m = memory();
    save(a, m, PM32);
    m.writeU16(8, 0x3fff); // claim R7 (ST0, a zero) is valid
    const b = new X87();
    restore(b, m, PM32);
    expect(b.tagWord).toBe(0x7fff);
  });
});
