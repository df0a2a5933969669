/*
 * The CPU benchmark kernel. Turns paging on (4 KiB pages: identity for the first 16 MiB and one
 * window page that phase "paging" remaps), then runs the phases of work.c. Protocol, for the
 * benchmark runner (bench/cpu.ts):
 *   outb 0x80, i+1   phase i starts        outl 0x80, sum   checksum of the phase that just ended
 *   (and "name checksum\\n" on the debug console, port 0xE9)
 *   outb 0x80, 0xFF  all done              outb 0xF4, 0     exit (QEMU-style exit port)
 */
#include "work.h"

#define WINDOW 0x40000000u

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_tables[4][1024] __attribute__((aligned(4096)));
static uint32_t window_table[1024] __attribute__((aligned(4096)));
static uint8_t arena[64 * 4096] __attribute__((aligned(4096)));

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

uint8_t *map_window(uint32_t page) {
  window_table[0] = ((uint32_t)arena + page * 4096) | 3;
  __asm__ volatile("invlpg (%0)" : : "r"(WINDOW) : "memory");
  return (uint8_t *)WINDOW;
}

/* The same figures as text on the debug console (port 0xE9), for a human or QEMU's -debugcon. */
static void puts_e9(const char *s) {
  while (*s) outb(0xe9, (uint8_t)*s++);
}
static void putu_e9(uint32_t v) {
  char buf[11];
  int n = 0;
  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) outb(0xe9, (uint8_t)buf[--n]);
}

static void paging_on(void) {
  for (uint32_t t = 0; t < 4; t++) {
    for (uint32_t i = 0; i < 1024; i++) page_tables[t][i] = ((t * 1024 + i) << 12) | 3;
    page_dir[t] = (uint32_t)page_tables[t] | 3;
  }
  page_dir[WINDOW >> 22] = (uint32_t)window_table | 3;
  __asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
  uint32_t cr0;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u) : "memory");
}

void kernel_main(uint32_t magic, void *info) {
  (void)magic;
  (void)info;
  paging_on();
  for (int i = 0; i < PHASES; i++) {
    outb(0x80, (uint8_t)(i + 1));
    uint32_t sum = run_phase(i);
    outl(0x80, sum);
    puts_e9(phase_names[i]);
    puts_e9(" ");
    putu_e9(sum);
    puts_e9("\n");
  }
  outb(0x80, 0xff);
  outb(0xf4, 0);
}
