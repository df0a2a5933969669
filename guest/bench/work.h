/* The benchmark's work, shared by the guest kernel and the host build that checks it. */
#ifndef BENCH_WORK_H
#define BENCH_WORK_H
#include <stdint.h>

#define PHASES 7
extern const char *const phase_names[PHASES];

/* The platform hooks: the guest maps through its page tables and INVLPG, the host indexes an array. */
uint8_t *map_window(uint32_t page);

/* Run phase i (0-based) and return its checksum. */
uint32_t run_phase(int i);
#endif
