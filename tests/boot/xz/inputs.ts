/**
 * The inputs of the XZ test vectors (tests/boot/xz.test.ts), made deterministically here; make.ts
 * compresses them with XZ Utils' `xz` into the committed NAME.xz files, the test decodes those and
 * compares with these bytes. Each exercises something of the decoder: LZMA literals, matches and
 * repeated matches (text), LZMA2's uncompressed chunks (random), the x86 BCJ filter with E8/E9
 * operands whose top byte is 00 or FF (code), and an ELF kernel for the loader (kernel).
 */

/** A 32-bit xorshift generator: the same bytes everywhere. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS =
  'the a decoder range coder literal match repeated distance dictionary chunk state probability kernel boot loader page frame'.split(
    ' ',
  );

/** Words picked at random, with lines: matches of every length and distance. */
function text(bytes: number): Uint8Array {
  const next = rng(1);
  let s = '';
  while (s.length < bytes) s += WORDS[next() % WORDS.length] + (next() % 11 === 0 ? '.\n' : ' ');
  return new TextEncoder().encode(s.slice(0, bytes));
}

/** Incompressible bytes: the encoder stores them as uncompressed chunks. */
function random(bytes: number): Uint8Array {
  const next = rng(2);
  return Uint8Array.from({ length: bytes }, () => next() & 0xff);
}

/** Code-like bytes: CALL/JMP rel32 to near targets (forward and back), among other instructions. */
function code(bytes: number): Uint8Array {
  const next = rng(3);
  const b = new Uint8Array(bytes);
  let i = 0;
  while (i + 5 <= bytes) {
    const r = next() % 8;
    if (r < 3) {
      b[i] = r === 0 ? 0xe9 : 0xe8;
      const rel = ((next() % 0x20000) - 0x10000) | 0;
      b[i + 1] = rel;
      b[i + 2] = rel >> 8;
      b[i + 3] = rel >> 16;
      b[i + 4] = rel >> 24;
      i += 5;
    } else if (r < 5) {
      // mov r32, imm32 with a small immediate (its bytes 00 like a rel32's top).
      b[i] = 0xb8 + (next() & 7);
      b[i + 1] = next() & 0xff;
      i += 5;
    } else b[i++] = [0x90, 0x55, 0x5d, 0xc3, 0x01, 0xe8][next() % 6];
  }
  return b;
}

/** Bytes from {E8, E9, 00, FF, 12}: runs of close CALL/JMP candidates, every path of the BCJ mask. */
function branchy(bytes: number): Uint8Array {
  const next = rng(4);
  return Uint8Array.from({ length: bytes }, () => [0xe8, 0xe9, 0x00, 0xff, 0x12][next() % 5]);
}

/**
 * A kernel ELF as a bzImage's payload holds one: i386, ET_EXEC, entry 0x200000, a text segment
 * there (code that halts) and a data segment at 0x201000 with a BSS after its file bytes.
 */
function kernel(): Uint8Array {
  const b = new Uint8Array(0x2000);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 3, true); // EM_386
  dv.setUint32(20, 1, true);
  dv.setUint32(24, 0x200000, true); // entry
  dv.setUint32(28, 52, true); // phoff
  dv.setUint16(40, 52, true);
  dv.setUint16(42, 32, true);
  dv.setUint16(44, 2, true);
  const ph = (at: number, offset: number, paddr: number, filesz: number, memsz: number) => {
    dv.setUint32(at, 1, true); // PT_LOAD
    dv.setUint32(at + 4, offset, true);
    dv.setUint32(at + 8, 0xc0000000 + paddr, true);
    dv.setUint32(at + 12, paddr, true);
    dv.setUint32(at + 16, filesz, true);
    dv.setUint32(at + 20, memsz, true);
  };
  ph(52, 0x1000, 0x200000, 0x10, 0x10);
  ph(84, 0x1800, 0x201000, 0x100, 0x3000);
  // mov eax, 0x201000; mov ebx, [eax]; hlt — ebx = the data segment's first dword.
  b.set([0xb8, 0x00, 0x10, 0x20, 0x00, 0x8b, 0x18, 0xf4], 0x1000);
  for (let i = 0; i < 0x100; i++) b[0x1800 + i] = i ^ 0x5a;
  return b;
}

export interface XzVector {
  name: string;
  input: Uint8Array;
  /** xz's options for make.ts. */
  xz: string[];
  /** The decoder refuses it with an error containing this; absent: it decodes to `input`. */
  refused?: string;
}

export function xzVectors(): XzVector[] {
  const t = text(200_000);
  const c = code(100_000);
  return [
    { name: 'text', input: t, xz: ['--check=crc32', '--lzma2=preset=6'] },
    { name: 'text-blocks', input: t, xz: ['--check=crc32', '--block-size=32KiB'] },
    { name: 'random', input: random(70_000), xz: ['--check=none'] },
    { name: 'code', input: c, xz: ['--check=crc32', '--x86', '--lzma2=lc=1,lp=2,pb=1'] },
    { name: 'branchy', input: branchy(20_000), xz: ['--check=crc32', '--x86', '--lzma2'] },
    { name: 'code-start', input: c, xz: ['--check=crc32', '--x86=start=4096', '--lzma2'] },
    { name: 'kernel', input: kernel(), xz: ['--check=crc32', '--x86', '--lzma2=preset=9,dict=32MiB'] },
    { name: 'crc64', input: t.subarray(0, 1000), xz: ['--check=crc64'], refused: 'integrity check (type 4)' },
    { name: 'arm', input: c.subarray(0, 1000), xz: ['--check=crc32', '--arm', '--lzma2'], refused: 'filter 0x7' },
  ];
}
