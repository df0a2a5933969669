/*
 * The CPU benchmark kernel. Loads its own GDT (flat code and data, a 16-bit code segment over
 * .text16, two 32-bit TSSs), turns paging on (4 KiB pages: identity for the first 16 MiB and one
 * window page that phase "paging" remaps; the second task has its own page directory, a copy),
 * then runs the phases of work.c. Protocol, for the
 * benchmark runner (bench/cpu.ts):
 *   outb 0x80, i+1   phase i starts        outl 0x80, sum   checksum of the phase that just ended
 *   (and "name checksum\\n" on the debug console, port 0xE9)
 *   outb 0x80, 0xFF  all done              outb 0xF4, 0     exit (QEMU-style exit port)
 */
#include "work.h"
#include "work16.h"

#define WINDOW 0x40000000u

#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define SEL_CODE16 0x18
#define SEL_TSS_A 0x20
#define SEL_TSS_B 0x28

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_dir_b[1024] __attribute__((aligned(4096)));
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

/* A 32-bit TSS (SDM vol. 3, 7.2.1), the fields this kernel sets. */
struct tss32 {
  uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
  uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
  uint32_t es, cs, ss, ds, fs, gs, ldt;
  uint16_t trap, iomap;
};
static struct tss32 tss_a, tss_b;
static uint64_t gdt[6];
static uint8_t task_b_stack[16384] __attribute__((aligned(16)));
static struct __attribute__((packed)) {
  uint32_t offset;
  uint16_t selector;
} code16_ptr;

extern char __text16_start[];
extern void code16_entry(void);
extern void task_b_entry(void);

/* A segment descriptor (SDM vol. 3, 3.4.5): access byte and the G/D flags nibble as the manual draws them. */
static uint64_t descriptor(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags) {
  uint32_t lo = (limit & 0xffff) | (base << 16);
  uint32_t hi = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000u);
  return ((uint64_t)hi << 32) | lo;
}

static void gdt_load(void) {
  gdt[0] = 0;
  gdt[1] = descriptor(0, 0xfffff, 0x9a, 0xc);
  gdt[2] = descriptor(0, 0xfffff, 0x92, 0xc);
  gdt[3] = descriptor((uint32_t)__text16_start, 0xffff, 0x9a, 0x0); /* D = 0: 16-bit code */
  gdt[4] = descriptor((uint32_t)&tss_a, sizeof tss_a - 1, 0x89, 0x0);
  gdt[5] = descriptor((uint32_t)&tss_b, sizeof tss_b - 1, 0x89, 0x0);
  struct __attribute__((packed)) {
    uint16_t limit;
    uint32_t base;
  } gdtr = {sizeof gdt - 1, (uint32_t)gdt};
  __asm__ volatile("lgdt %0\n\t"
                   "ljmp %1, $1f\n"
                   "1:\tmov %2, %%ax\n\t"
                   "mov %%ax, %%ds\n\tmov %%ax, %%es\n\tmov %%ax, %%fs\n\tmov %%ax, %%gs\n\tmov %%ax, %%ss\n\t"
                   "ltr %w3"
                   :
                   : "m"(gdtr), "i"(SEL_CODE32), "i"(SEL_DATA32), "r"(SEL_TSS_A)
                   : "eax", "memory");
  code16_ptr.offset = (uint32_t)code16_entry - (uint32_t)__text16_start;
  code16_ptr.selector = SEL_CODE16;
}

/*
 * The second task starts at task_b_entry (boot.S) on its own stack and page directory. A task
 * switch does not save CR3 into the old TSS (SDM vol. 3, 7.3): the first task's is written here.
 */
static void task_b_init(void) {
  for (int i = 0; i < 1024; i++) page_dir_b[i] = page_dir[i];
  tss_a.cr3 = (uint32_t)page_dir;
  tss_b.cr3 = (uint32_t)page_dir_b;
  tss_b.eip = (uint32_t)task_b_entry;
  tss_b.eflags = 0x2;
  tss_b.esp = (uint32_t)task_b_stack + sizeof task_b_stack;
  tss_b.cs = SEL_CODE32;
  tss_b.ss = tss_b.ds = tss_b.es = tss_b.fs = tss_b.gs = SEL_DATA32;
  tss_a.iomap = tss_b.iomap = sizeof(struct tss32); /* no I/O bitmap */
}

/* A far call through the TSS descriptor: the other task runs task_work() and IRETs back (EFLAGS.NT). */
void switch_task(void) { __asm__ volatile("lcall %0, $0" : : "i"(SEL_TSS_B) : "memory"); }

/* code16_entry (boot.S) takes the argument from the 32-bit stack, calls work16_chunk and returns far. */
void call_code16(struct w16_state *st) {
  __asm__ volatile("push %1\n\tlcall *%0\n\tadd $4, %%esp" : : "m"(code16_ptr), "r"(st) : "eax", "ecx", "edx", "memory", "cc");
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
  gdt_load();
  paging_on();
  task_b_init();
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
