/* The benchmark's work, shared by the guest kernel and the host build that checks it. */
#ifndef BENCH_WORK_H
#define BENCH_WORK_H
#include <stdint.h>

#define PHASES 10
extern const char *const phase_names[PHASES];

/* The platform hooks: the guest maps through its page tables and INVLPG, the host indexes an array. */
uint8_t *map_window(uint32_t page);
/* The 16-bit phase: run work16_chunk(st) (work16.c) in a 16-bit code segment (the guest far-calls it). */
struct w16_state;
void call_code16(struct w16_state *st);
/* The task phase: run task_work() once in the other task (the guest switches tasks through its TSS). */
void switch_task(void);
void task_work(void);

/* Run phase i (0-based) and return its checksum. */
uint32_t run_phase(int i);
#endif
