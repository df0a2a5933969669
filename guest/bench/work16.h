/*
 * The 16-bit phase's work (work16.c): one chunk per far call. Its state is reached through a
 * pointer: gcc -m16 addresses a global by a 16-bit displacement, and the kernel lies above 64 KiB.
 */
#ifndef BENCH_WORK16_H
#define BENCH_WORK16_H
#include <stdint.h>
struct w16_state {
  uint32_t seed, result;
  uint16_t table[256];
};
void work16_chunk(struct w16_state *st);
#endif
