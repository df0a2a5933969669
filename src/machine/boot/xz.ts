/**
 * An XZ decoder (the .xz container, LZMA2, and the x86 BCJ filter) for what a Linux bzImage
 * carries: Debian's i386 kernels are built with CONFIG_KERNEL_XZ, whose payload is
 * `xz --check=crc32 --x86 --lzma2`. The loader unpacks it on the host (unpack.ts) instead of
 * running the kernel's own decompressor in the guest, which is 80 % of the instructions of
 * Linux's boot to its prompt (2.33 of 2.92 G).
 *
 * Written here because no npm package decodes that: xz-decompress (xz-embedded built to wasm)
 * has no BCJ filter and refuses the stream with XZ_OPTIONS_ERROR, and @napi-rs/lzma needs a
 * wasi-threads runtime in the browser. The format: the .xz file format 1.1.0 (tukaani.org), the
 * LZMA2 chunk layout and the LZMA decoder as described there and in the LZMA SDK's documentation.
 *
 * Whole buffers only: the output size is unknown up front, so it grows; every structural field,
 * each block's CRC32 (or no check) and the index are checked. Errors are XzError with the reason.
 */

export class XzError extends Error {}

const fail = (why: string): never => {
  throw new XzError(why);
};

const CHECK_NONE = 0;
const CHECK_CRC32 = 1;
const FILTER_BCJ_X86 = 0x04;
const FILTER_LZMA2 = 0x21;
const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/**
 * CRC-32 tables for slicing by 4: T0 is the byte-at-a-time table, Tk[n] the CRC of byte n followed
 * by k zero bytes, so four bytes fold in one step (a 16-MB kernel's check took 6 % of its unpacking
 * a byte at a time).
 */
const CRC32_TABLES = (() => {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++)
    for (let k = 1; k < 4; k++) t[k * 256 + n] = t[t[(k - 1) * 256 + n] & 0xff] ^ (t[(k - 1) * 256 + n] >>> 8);
  return t;
})();

/** CRC-32 (IEEE 802.3, the .xz format's), of bytes [from, to). */
export function crc32(b: Uint8Array, from = 0, to = b.length): number {
  const t = CRC32_TABLES;
  let c = -1;
  let i = from;
  for (const end4 = to - 3; i < end4; i += 4) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < to; i++) c = t[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A growing output buffer, which is also LZMA's dictionary (matches copy from it). */
class Output {
  buf: Uint8Array;
  pos = 0;
  constructor(hint: number) {
    this.buf = new Uint8Array(Math.max(hint, 1 << 16));
  }
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

/** A reader of the compressed bytes with the .xz format's variable-length integers. */
class Input {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
  ) {}
  byte(): number {
    if (this.pos >= this.b.length) fail('the stream ends early');
    return this.b[this.pos++];
  }
  u32(): number {
    const p = this.pos;
    if (p + 4 > this.b.length) fail('the stream ends early');
    this.pos += 4;
    return (this.b[p] | (this.b[p + 1] << 8) | (this.b[p + 2] << 16) | (this.b[p + 3] << 24)) >>> 0;
  }
  /** A multibyte integer (7 bits a byte, low first), at most 2^53. */
  vli(): number {
    let v = 0;
    for (let i = 0, scale = 1; i < 8; i++, scale *= 128) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) fail('a multibyte integer has a redundant zero byte');
        return v;
      }
    }
    return fail('a multibyte integer is too long');
  }
}

// ---- LZMA -----------------------------------------------------------------------------------------

const PROB_INIT = 1024;
const STATES = 12;
const POS_STATES_MAX = 16;
const LEN_LOW = 8;
const LEN_MID = 8;
const LEN_HIGH = 256;
const MATCH_LEN_MIN = 2;
const DIST_STATES = 4;
const END_POS_MODEL = 14;
const FULL_DISTANCES = 128;
const ALIGN_BITS = 4;

/** Probabilities of a length coder (match or repeated match). */
class LenCoder {
  readonly choice = new Uint16Array(2);
  readonly low = new Uint16Array(POS_STATES_MAX * LEN_LOW);
  readonly mid = new Uint16Array(POS_STATES_MAX * LEN_MID);
  readonly high = new Uint16Array(LEN_HIGH);
  reset(): void {
    this.choice.fill(PROB_INIT);
    this.low.fill(PROB_INIT);
    this.mid.fill(PROB_INIT);
    this.high.fill(PROB_INIT);
  }
}

/**
 * The LZMA decoder of LZMA2's chunks: its probabilities, state and repeated distances survive
 * from chunk to chunk unless a chunk resets them; the range decoder starts afresh in each chunk.
 */
class Lzma {
  lc = 0;
  lp = 0;
  pb = 0;
  private literal = new Uint16Array(0x300 << 4);
  private readonly isMatch = new Uint16Array(STATES * POS_STATES_MAX);
  private readonly isRep = new Uint16Array(STATES);
  private readonly isRepG0 = new Uint16Array(STATES);
  private readonly isRepG1 = new Uint16Array(STATES);
  private readonly isRepG2 = new Uint16Array(STATES);
  private readonly isRep0Long = new Uint16Array(STATES * POS_STATES_MAX);
  private readonly posSlot = new Uint16Array(DIST_STATES << 6);
  private readonly posSpecial = new Uint16Array(FULL_DISTANCES);
  private readonly align = new Uint16Array(1 << ALIGN_BITS);
  private readonly matchLen = new LenCoder();
  private readonly repLen = new LenCoder();
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;

  setProperties(props: number): void {
    if (props >= 9 * 5 * 5) fail('an LZMA2 chunk has invalid lc/lp/pb properties');
    this.lc = props % 9;
    const rest = (props / 9) | 0;
    this.lp = rest % 5;
    this.pb = (rest / 5) | 0;
    if (this.lc + this.lp > 4) fail('an LZMA2 chunk has lc + lp > 4');
    if (this.literal.length < 0x300 << (this.lc + this.lp))
      this.literal = new Uint16Array(0x300 << (this.lc + this.lp));
  }

  resetState(): void {
    this.literal.fill(PROB_INIT);
    this.isMatch.fill(PROB_INIT);
    this.isRep.fill(PROB_INIT);
    this.isRepG0.fill(PROB_INIT);
    this.isRepG1.fill(PROB_INIT);
    this.isRepG2.fill(PROB_INIT);
    this.isRep0Long.fill(PROB_INIT);
    this.posSlot.fill(PROB_INIT);
    this.posSpecial.fill(PROB_INIT);
    this.align.fill(PROB_INIT);
    this.matchLen.reset();
    this.repLen.reset();
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  /**
   * Decodes one LZMA chunk of `src` into exactly `size` bytes of out; `dictStart` is where the
   * dictionary began (no match reaches before it), `dictSize` its size.
   *
   * One function with the range decoder's state in locals and every bit decoded in line (11-bit
   * probabilities, adapted by 1/32 of the distance to the bound; normalized a byte at a time).
   * `range` and `code` are kept as signed 32-bit integers, compared unsigned (`>>> 0`) and the
   * bound made with Math.imul, so that V8 keeps every step in 32-bit integer registers: the same
   * code on unsigned values (above 2^31, so doubles to V8) took 1.06 s for Debian's kernel (16 MB
   * out, Node, 2026-12-04), as did the decoder as methods sharing the state through fields; this
   * takes 0.63 s. A byte read past the chunk's end reads as 0, and the chunk fails at its end then.
   */
  decodeChunk(src: Uint8Array, out: Output, size: number, dictStart: number, dictSize: number): void {
    if (src.length < 5 || src[0] !== 0) fail('an LZMA2 chunk does not start a range coder');
    let code = (src[1] << 24) | (src[2] << 16) | (src[3] << 8) | src[4];
    let range = -1;
    let at = 5;
    if (code === range) fail('an LZMA2 chunk starts with an invalid range code');
    out.reserve(size);
    const buf = out.buf;
    const end = out.pos + size;
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    const lc = this.lc;
    const { literal, isMatch, isRep, isRepG0, isRepG1, isRepG2, isRep0Long, posSlot, posSpecial, align } = this;
    let { state, rep0, rep1, rep2, rep3 } = this;
    let pos = out.pos;
    let i: number;
    let p: number;
    let bound: number;
    while (pos < end) {
      const posState = pos & pbMask;
      // isMatch
      i = (state << 4) + posState;
      p = isMatch[i];
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        isMatch[i] = p + ((2048 - p) >>> 5);
        if (range >>> 0 < 0x1000000) {
          range <<= 8;
          code = (code << 8) | src[at++];
        }
        // A literal: after a match, decoded against the byte at rep0 (the "matched" literal).
        const prev = pos > dictStart ? buf[pos - 1] : 0;
        const base = 0x300 * (((pos & lpMask) << lc) + (prev >>> (8 - lc)));
        let sym = 1;
        if (state >= 7) {
          if (rep0 >= pos - dictStart) fail('a matched literal refers before the dictionary');
          let match = buf[pos - rep0 - 1];
          do {
            const mbit = (match >>> 7) & 1;
            match <<= 1;
            i = base + ((1 + mbit) << 8) + sym;
            p = literal[i];
            bound = Math.imul(range >>> 11, p);
            let b: number;
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              literal[i] = p + ((2048 - p) >>> 5);
              b = 0;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              literal[i] = p - (p >>> 5);
              b = 1;
            }
            if (range >>> 0 < 0x1000000) {
              range <<= 8;
              code = (code << 8) | src[at++];
            }
            sym = (sym << 1) | b;
            if (mbit !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) {
          i = base + sym;
          p = literal[i];
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            literal[i] = p + ((2048 - p) >>> 5);
            sym <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            literal[i] = p - (p >>> 5);
            sym = (sym << 1) | 1;
          }
          if (range >>> 0 < 0x1000000) {
            range <<= 8;
            code = (code << 8) | src[at++];
          }
        }
        buf[pos++] = sym & 0xff;
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      isMatch[i] = p - (p >>> 5);
      if (range >>> 0 < 0x1000000) {
        range <<= 8;
        code = (code << 8) | src[at++];
      }
      // A match or a repeated match: which, then its length with that kind's length coder.
      let lens: LenCoder;
      let newMatch = false;
      // isRep
      p = isRep[state];
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        isRep[state] = p + ((2048 - p) >>> 5);
        if (range >>> 0 < 0x1000000) {
          range <<= 8;
          code = (code << 8) | src[at++];
        }
        // A new match: its length, then its distance.
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        lens = this.matchLen;
        newMatch = true;
        state = state < 7 ? 7 : 10;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        isRep[state] = p - (p >>> 5);
        if (range >>> 0 < 0x1000000) {
          range <<= 8;
          code = (code << 8) | src[at++];
        }
        lens = this.repLen;
        // isRepG0
        p = isRepG0[state];
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          isRepG0[state] = p + ((2048 - p) >>> 5);
          if (range >>> 0 < 0x1000000) {
            range <<= 8;
            code = (code << 8) | src[at++];
          }
          // isRep0Long
          i = (state << 4) + posState;
          p = isRep0Long[i];
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            isRep0Long[i] = p + ((2048 - p) >>> 5);
            if (range >>> 0 < 0x1000000) {
              range <<= 8;
              code = (code << 8) | src[at++];
            }
            // A short rep: one byte at rep0.
            if (rep0 >= pos - dictStart) fail('a repeated byte refers before the dictionary');
            buf[pos] = buf[pos - rep0 - 1];
            pos++;
            state = state < 7 ? 9 : 11;
            continue;
          }
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          isRep0Long[i] = p - (p >>> 5);
          if (range >>> 0 < 0x1000000) {
            range <<= 8;
            code = (code << 8) | src[at++];
          }
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          isRepG0[state] = p - (p >>> 5);
          if (range >>> 0 < 0x1000000) {
            range <<= 8;
            code = (code << 8) | src[at++];
          }
          let dist: number;
          // isRepG1
          p = isRepG1[state];
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            isRepG1[state] = p + ((2048 - p) >>> 5);
            if (range >>> 0 < 0x1000000) {
              range <<= 8;
              code = (code << 8) | src[at++];
            }
            dist = rep1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            isRepG1[state] = p - (p >>> 5);
            if (range >>> 0 < 0x1000000) {
              range <<= 8;
              code = (code << 8) | src[at++];
            }
            // isRepG2
            p = isRepG2[state];
            bound = Math.imul(range >>> 11, p);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              isRepG2[state] = p + ((2048 - p) >>> 5);
              if (range >>> 0 < 0x1000000) {
                range <<= 8;
                code = (code << 8) | src[at++];
              }
              dist = rep2;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              isRepG2[state] = p - (p >>> 5);
              if (range >>> 0 < 0x1000000) {
                range <<= 8;
                code = (code << 8) | src[at++];
              }
              dist = rep3;
              rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = dist;
        }
        state = state < 7 ? 8 : 11;
      }
      // The length: choice bits pick the low (3 bits, per posState), mid (3 bits) or high (8 bits) tree.
      let probs: Uint16Array;
      let base: number;
      let bits: number;
      let len: number;
      p = lens.choice[0];
      bound = Math.imul(range >>> 11, p);
      if (code >>> 0 < bound >>> 0) {
        range = bound;
        lens.choice[0] = p + ((2048 - p) >>> 5);
        probs = lens.low;
        base = posState * LEN_LOW;
        bits = 3;
        len = 0;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        lens.choice[0] = p - (p >>> 5);
        if (range >>> 0 < 0x1000000) {
          range <<= 8;
          code = (code << 8) | src[at++];
        }
        p = lens.choice[1];
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          lens.choice[1] = p + ((2048 - p) >>> 5);
          probs = lens.mid;
          base = posState * LEN_MID;
          bits = 3;
          len = LEN_LOW;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          lens.choice[1] = p - (p >>> 5);
          probs = lens.high;
          base = 0;
          bits = 8;
          len = LEN_LOW + LEN_MID;
        }
      }
      if (range >>> 0 < 0x1000000) {
        range <<= 8;
        code = (code << 8) | src[at++];
      }
      let m = 1;
      for (let k = 0; k < bits; k++) {
        i = base + m;
        p = probs[i];
        bound = Math.imul(range >>> 11, p);
        if (code >>> 0 < bound >>> 0) {
          range = bound;
          probs[i] = p + ((2048 - p) >>> 5);
          m <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >>> 5);
          m = (m << 1) | 1;
        }
        if (range >>> 0 < 0x1000000) {
          range <<= 8;
          code = (code << 8) | src[at++];
        }
      }
      len += m - (1 << bits);
      if (newMatch) {
        // The distance: a 6-bit slot (per length up to 5), then the bits below its top two:
        // reverse-coded (slots 4–13), or direct bits and 4 reverse-coded align bits.
        base = Math.min(len, DIST_STATES - 1) << 6;
        m = 1;
        for (let k = 0; k < 6; k++) {
          i = base + m;
          p = posSlot[i];
          bound = Math.imul(range >>> 11, p);
          if (code >>> 0 < bound >>> 0) {
            range = bound;
            posSlot[i] = p + ((2048 - p) >>> 5);
            m <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            posSlot[i] = p - (p >>> 5);
            m = (m << 1) | 1;
          }
          if (range >>> 0 < 0x1000000) {
            range <<= 8;
            code = (code << 8) | src[at++];
          }
        }
        const slot = m - 64;
        let dist: number;
        if (slot < 4) dist = slot;
        else {
          bits = (slot >>> 1) - 1;
          dist = ((2 | (slot & 1)) << bits) >>> 0;
          if (slot < END_POS_MODEL) {
            probs = posSpecial;
            base = dist - slot - 1;
          } else {
            let direct = 0;
            for (let k = bits - ALIGN_BITS; k > 0; k--) {
              range >>>= 1;
              let b = 0;
              if (code >>> 0 >= range) {
                code = (code - range) | 0;
                b = 1;
              }
              direct = (direct << 1) | b;
              if (range >>> 0 < 0x1000000) {
                range <<= 8;
                code = (code << 8) | src[at++];
              }
            }
            dist += direct * (1 << ALIGN_BITS);
            probs = align;
            base = 0;
            bits = ALIGN_BITS;
          }
          m = 1;
          for (let k = 0; k < bits; k++) {
            i = base + m;
            p = probs[i];
            bound = Math.imul(range >>> 11, p);
            if (code >>> 0 < bound >>> 0) {
              range = bound;
              probs[i] = p + ((2048 - p) >>> 5);
              m <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >>> 5);
              m = (m << 1) | 1;
              dist += 1 << k;
            }
            if (range >>> 0 < 0x1000000) {
              range <<= 8;
              code = (code << 8) | src[at++];
            }
          }
        }
        if (dist === 0xffffffff) fail('an end-of-payload marker inside an LZMA2 chunk');
        rep0 = dist;
      }
      len += MATCH_LEN_MIN;
      if (rep0 >= pos - dictStart || rep0 >= dictSize) fail('a match refers before the dictionary');
      if (len > end - pos) fail('a match runs past the end of its LZMA2 chunk');
      const from = pos - rep0 - 1;
      if (len >= 32 && rep0 + 1 >= len) buf.copyWithin(pos, from, from + len);
      else for (let k = 0; k < len; k++) buf[pos + k] = buf[from + k]; // short or overlapping: a byte at a time
      pos += len;
    }
    out.pos = pos;
    this.state = state;
    this.rep0 = rep0;
    this.rep1 = rep1;
    this.rep2 = rep2;
    this.rep3 = rep3;
    if (at > src.length) fail('an LZMA2 chunk ends early');
    if (at !== src.length) fail('an LZMA2 chunk has bytes left after its data');
  }
}

/** LZMA2: a sequence of chunks (uncompressed or LZMA), each saying what it resets. */
function decodeLzma2(input: Input, out: Output, dictSize: number): void {
  const lzma = new Lzma();
  let dictStart = out.pos;
  let needDictReset = true;
  let needProps = true;
  let needState = true;
  for (;;) {
    const control = input.byte();
    if (control === 0x00) return;
    if (control === 0x01 || control === 0x02) {
      // Uncompressed: 0x01 resets the dictionary first.
      if (control === 0x01) {
        dictStart = out.pos;
        needDictReset = false;
      } else if (needDictReset) fail('the first LZMA2 chunk does not reset the dictionary');
      const size = ((input.byte() << 8) | input.byte()) + 1;
      if (input.pos + size > input.b.length) fail('an uncompressed LZMA2 chunk ends early');
      out.reserve(size);
      out.buf.set(input.b.subarray(input.pos, input.pos + size), out.pos);
      out.pos += size;
      input.pos += size;
      continue;
    }
    if (control < 0x80) fail(`an LZMA2 chunk has an invalid control byte 0x${control.toString(16)}`);
    const reset = (control >>> 5) & 3;
    const size = (control & 0x1f) * 0x10000 + ((input.byte() << 8) | input.byte()) + 1;
    const packed = ((input.byte() << 8) | input.byte()) + 1;
    if (reset === 3) {
      dictStart = out.pos;
      needDictReset = false;
    } else if (needDictReset) fail('the first LZMA2 chunk does not reset the dictionary');
    if (reset >= 2) {
      lzma.setProperties(input.byte());
      needProps = false;
    } else if (needProps) fail('an LZMA2 chunk comes before any properties');
    if (reset >= 1) {
      lzma.resetState();
      needState = false;
    } else if (needState) fail('an LZMA2 chunk continues a state never set');
    if (input.pos + packed > input.b.length) fail('an LZMA2 chunk ends early');
    lzma.decodeChunk(input.b.subarray(input.pos, input.pos + packed), out, size, dictStart, dictSize);
    input.pos += packed;
  }
}

// ---- the x86 BCJ filter -------------------------------------------------------------------------

/**
 * Undoes the x86 branch converter over b (whole, from stream offset `start`): the encoder made the
 * 32-bit operands of E8 (CALL) and E9 (JMP) absolute, where the top byte is 00 or FF, to compress
 * them better; decoding makes them relative again. Which E8/E9 bytes count depends on the bytes
 * before them (a mask of the last positions that held a candidate), as the encoder decided.
 */
export function bcjX86Decode(b: Uint8Array, start = 0): void {
  const isMsByte = (v: number): boolean => v === 0 || v === 0xff;
  // For the mask of candidates among the 3 bytes before: whether a conversion is allowed, and
  // which byte of the operand decides whether to convert again.
  const allowed = [true, true, true, false, true, false, false, false];
  const byteOf = [0, 1, 2, 2, 3, 3, 3, 3];
  let mask = 0;
  let prev = -5; // the position of the last candidate, relative to the stream
  for (let i = 0; i + 5 <= b.length;) {
    const op = b[i];
    if (op !== 0xe8 && op !== 0xe9) {
      i++;
      continue;
    }
    const gap = i - prev;
    prev = i;
    if (gap > 5) mask = 0;
    else for (let k = 0; k < gap; k++) mask = (mask & 0x77) << 1;
    const top = b[i + 4];
    if (isMsByte(top) && allowed[(mask >>> 1) & 7] && mask >>> 1 < 0x10) {
      let src = ((top << 24) | (b[i + 3] << 16) | (b[i + 2] << 8) | b[i + 1]) >>> 0;
      let dest: number;
      for (;;) {
        dest = (src - (start + i + 5)) >>> 0;
        if (mask === 0) break;
        const k = byteOf[mask >>> 1];
        if (!isMsByte((dest >>> (24 - k * 8)) & 0xff)) break;
        src = (dest ^ (2 ** (32 - k * 8) - 1)) >>> 0;
      }
      b[i + 4] = (dest >>> 24) & 1 ? 0xff : 0x00;
      b[i + 3] = dest >>> 16;
      b[i + 2] = dest >>> 8;
      b[i + 1] = dest;
      i += 5;
      mask = 0;
    } else {
      i++;
      mask |= 1;
      if (isMsByte(top)) mask |= 0x10;
    }
  }
}

// ---- the container -------------------------------------------------------------------------------

/** The LZMA2 dictionary size its one property byte encodes. */
function dictSizeOf(prop: number): number {
  if (prop > 40) fail('the LZMA2 dictionary size is invalid');
  if (prop === 40) return 0xffffffff;
  return (2 | (prop & 1)) * 2 ** ((prop >>> 1) + 11);
}

/**
 * Decodes one .xz stream at the start of `data` (what follows its footer is ignored: a bzImage
 * appends the uncompressed size). `sizeHint` presizes the output.
 */
export function xzDecode(data: Uint8Array, sizeHint = 0): Uint8Array {
  if (data.length < 32 || MAGIC.some((m, i) => data[i] !== m)) fail('not an .xz stream (no magic bytes)');
  if (crc32(data, 6, 8) !== new Input(data, 8).u32()) fail('the stream header is corrupt (CRC32)');
  if (data[6] !== 0 || data[7] > 0x0f) fail('the stream header has unsupported flags');
  const check = data[7];
  if (check !== CHECK_NONE && check !== CHECK_CRC32)
    fail(`the stream's integrity check (type ${check}) is not supported: only none and CRC32`);
  const checkBytes = check === CHECK_CRC32 ? 4 : 0;
  const input = new Input(data, 12);
  const out = new Output(sizeHint);
  const records: [number, number][] = [];
  for (;;) {
    const headerAt = input.pos;
    const sizeByte = input.byte();
    if (sizeByte === 0) break; // the index
    // The header's size counts its CRC32, which follows headerEnd.
    const headerEnd = headerAt + (sizeByte + 1) * 4 - 4;
    if (headerEnd + 4 > data.length) fail('a block header ends past the stream');
    if (crc32(data, headerAt, headerEnd) !== new Input(data, headerEnd).u32())
      fail('a block header is corrupt (CRC32)');
    const flags = input.byte();
    if (flags & 0x3c) fail('a block header has reserved flags set');
    const packedSize = flags & 0x40 ? input.vli() : -1;
    const unpackedSize = flags & 0x80 ? input.vli() : -1;
    const filters: { id: number; props: Uint8Array }[] = [];
    for (let n = (flags & 3) + 1; n > 0; n--) {
      const id = input.vli();
      const size = input.vli();
      if (input.pos + size > headerEnd) fail('a filter runs past its block header');
      filters.push({ id, props: data.subarray(input.pos, input.pos + size) });
      input.pos += size;
    }
    while (input.pos < headerEnd) if (input.byte() !== 0) fail('a block header has non-zero padding');
    input.pos = headerEnd + 4;
    const last = filters[filters.length - 1];
    if (last.id !== FILTER_LZMA2 || last.props.length !== 1) fail('a block does not end in the LZMA2 filter');
    let bcjStart = -1;
    for (const f of filters.slice(0, -1)) {
      if (f.id !== FILTER_BCJ_X86)
        fail(`a block uses filter 0x${f.id.toString(16)}: only x86 BCJ and LZMA2 are supported`);
      if (f.props.length === 0) bcjStart = 0;
      else if (f.props.length === 4) bcjStart = new Input(f.props, 0).u32();
      else fail('the x86 BCJ filter has invalid properties');
    }
    if (filters.length > 2) fail('a block chains more than one x86 BCJ filter');
    const outStart = out.pos;
    const dataStart = input.pos;
    decodeLzma2(input, out, dictSizeOf(last.props[0]));
    const packed = input.pos - dataStart;
    const unpacked = out.pos - outStart;
    if (packedSize >= 0 && packed !== packedSize) fail("a block's compressed size differs from its header");
    if (unpackedSize >= 0 && unpacked !== unpackedSize) fail("a block's uncompressed size differs from its header");
    if (bcjStart >= 0) bcjX86Decode(out.buf.subarray(outStart, out.pos), bcjStart);
    while ((input.pos - headerAt) % 4 !== 0) if (input.byte() !== 0) fail('a block has non-zero padding');
    if (checkBytes) {
      if (crc32(out.buf, outStart, out.pos) !== input.u32()) fail("a block's data does not match its CRC32");
    }
    // Unpadded size: the header, the compressed data and the check, without the block padding.
    records.push([input.pos - headerAt - ((4 - (packed % 4)) % 4), unpacked]);
  }
  // The index: one record (unpadded size, uncompressed size) per block, then its CRC32.
  const indexAt = input.pos - 1;
  if (input.vli() !== records.length) fail('the index lists another number of blocks');
  for (const [unpadded, unpacked] of records)
    if (input.vli() !== unpadded || input.vli() !== unpacked) fail('the index does not match the blocks');
  while ((input.pos - indexAt) % 4 !== 0) if (input.byte() !== 0) fail('the index has non-zero padding');
  if (crc32(data, indexAt, input.pos) !== input.u32()) fail('the index is corrupt (CRC32)');
  // The stream footer: CRC32, backward size, the flags again, "YZ".
  const footerCrc = input.u32();
  if (crc32(data, input.pos, input.pos + 6) !== footerCrc) fail('the stream footer is corrupt (CRC32)');
  const backward = (input.u32() + 1) * 4;
  if (backward !== input.pos - 4 - 4 - indexAt) fail("the stream footer's index size is wrong");
  if (input.byte() !== 0 || input.byte() !== check || input.byte() !== 0x59 || input.byte() !== 0x5a)
    fail('the stream footer is corrupt');
  return out.buf.subarray(0, out.pos);
}
