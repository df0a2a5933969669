/**
 * The committed oracle vectors are whole and consistent with their images (this runs without a
 * CPU): every group is there, each stub is where its case says and loads the recorded input
 * state, each memory slot in the image is the recorded input, and the compared flags always
 * include DF and never a bit outside the arithmetic flags.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAGE_BASE, PUSHAD_ORDER, STATE_BYTES, type VectorFile } from '../../tools/oracle/image';

const dir = new URL('./vectors/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const GROUPS = ['alu', 'atomic', 'bcd', 'bit', 'cond', 'lock', 'misc', 'move', 'muldiv', 'shift', 'string', 'transfer'];

describe('oracle vectors', () => {
  it('cover every group', () => {
    expect(files.map((f) => f.replace('.json', '')).sort()).toEqual(GROUPS);
  });
  for (const f of files)
    it(`${f}: stubs, inputs and slots agree with the image`, () => {
      const vf = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as VectorFile;
      expect(vf.base).toBe(IMAGE_BASE);
      const image = Buffer.from(vf.image, 'base64');
      expect(vf.cases.length).toBeGreaterThan(0);
      for (const c of vf.cases) {
        const stub = image.subarray(c.entry, c.entry + 13);
        expect(stub[0]).toBe(0x89); // mov %esp, SAVED_ESP
        expect(stub[6]).toBe(0xbc); // mov $in, %esp
        const inOff = stub.readUInt32LE(7) - IMAGE_BASE;
        const insn = image.subarray(c.entry + 18, c.entry + 18 + c.bytes.length / 2).toString('hex');
        expect(insn).toBe(c.bytes);
        PUSHAD_ORDER.forEach((r, j) => {
          if (r !== 4) expect(image.readUInt32LE(inOff + 4 * j)).toBe(c.in.regs[r] >>> 0);
        });
        expect(image.readUInt32LE(inOff + STATE_BYTES - 4)).toBe(c.in.flags);
        expect(image.subarray(c.slotOffset, c.slotOffset + 64).toString('hex')).toBe(c.memIn);
        expect(c.defined & 0x400).toBe(0x400);
        expect(c.defined & ~0xcd5).toBe(0);
        expect(c.out.regs.length).toBe(8);
      }
    });
});
