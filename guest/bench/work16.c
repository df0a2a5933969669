/*
 * The benchmark's 16-bit work. The guest builds this file with gcc -m16 (as SeaBIOS builds its
 * real-mode parts): it runs in a 16-bit code segment, so every 32-bit operation carries an
 * operand-size prefix (0x66) and every memory operand an address-size prefix (0x67), while the
 * uint16_t arithmetic is the segment's native size. The host builds it as ordinary C and must
 * compute the same.
 */
#include "work16.h"

/* A 16-bit linear congruential generator. */
static __attribute__((noinline)) uint16_t step16(uint16_t x) { return (uint16_t)(x * 25173u + 13849u); }

/* Fill the table from the seed, then a Fletcher-16 style sum over it in a scrambled order. */
void work16_chunk(struct w16_state *st) {
  uint16_t x = (uint16_t)st->seed, s1 = 0, s2 = 0;
  for (int i = 0; i < 256; i++) {
    x = step16(x);
    st->table[i] = (uint16_t)(x ^ (uint16_t)(x >> 7));
  }
  for (int round = 0; round < 4; round++)
    for (int i = 0; i < 256; i++) {
      s1 = (uint16_t)(s1 + st->table[(i * 13 + round) & 255]);
      s2 = (uint16_t)(s2 + s1);
      if (s1 & 0x8000) s1 = (uint16_t)((s1 << 1) | 1);
    }
  st->result = st->result * 33u + (((uint32_t)s2 << 16) | s1);
}
