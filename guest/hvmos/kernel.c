/* hvmos: a small protected-mode kernel that makes the display workloads. One address space
 * (kernel identity-mapped and supervisor-only; the user segment, the framebuffer and its alias
 * user-accessible), ring-3 tasks preempted by the 100 Hz timer, int 0x80 system calls, HLT when
 * nothing is runnable. Everything runs with interrupts off in the kernel (interrupt gates), so
 * trap() is never re-entered; the idle loop is the only kernel code with IF = 1. */
#include "hvmos.h"

/* ---- port I/O ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static void halt_with(uint8_t code) {
  outb(0xf4, code); /* the exit port ends the run with status (code << 1) | 1 */
  for (;;) __asm__ volatile("cli; hlt");
}

/* ---- COM1 (16550 at 0x3F8, IRQ 4) ---- */
#define COM1 0x3f8
static void serial_init(void) {
  outb(COM1 + 1, 0x00);        /* IER: nothing while programming */
  outb(COM1 + 3, 0x80);        /* LCR.DLAB */
  outb(COM1 + 0, 1);           /* 115200 baud */
  outb(COM1 + 1, 0);
  outb(COM1 + 3, 0x03);        /* 8N1 */
  outb(COM1 + 2, 0xc7);        /* FIFOs on, cleared, 14-byte trigger */
  outb(COM1 + 4, 0x0b);        /* DTR, RTS, OUT2 (gates the IRQ line on a PC) */
}
/* The received-data interrupt, once the PIC is programmed: input already waiting then raises
 * IRQ 4 as an edge the PIC sees (its initialisation forgets edges that came before). */
static void serial_enable_rx(void) { outb(COM1 + 1, 0x01); }
static void putc_serial(char c) {
  while (!(inb(COM1 + 5) & 0x20)) {} /* LSR.THRE */
  outb(COM1, c);
}
static void kputs(const char *s) { while (*s) putc_serial(*s++); }
static void kdec(uint32_t v) { char b[12]; kputs(fmt_dec(b, v)); }
/* Two digits at least, as dates and times are written (05:09:03). */
static void kdec2(uint32_t v) { if (v < 10) putc_serial('0'); kdec(v); }
static void khex(uint32_t v) { char b[12]; kputs("0x"); kputs(fmt_hex(b, v, 8)); }

/* ---- GDT and TSS ---- */
struct tss {
  uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
  uint32_t es, cs, ss, ds, fs, gs, ldt;
  uint16_t trap, iomap;
} __attribute__((packed));
static struct tss tss;
static uint64_t gdt[6];
#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x1b
#define UDATA 0x23
#define TSS_SEL 0x28

static uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
         ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static void gdt_init(void) {
  gdt[1] = descriptor(0, 0xfffff, 0x9a, 0xc); /* ring-0 code, 4 GiB */
  gdt[2] = descriptor(0, 0xfffff, 0x92, 0xc); /* ring-0 data */
  gdt[3] = descriptor(0, 0xfffff, 0xfa, 0xc); /* ring-3 code */
  gdt[4] = descriptor(0, 0xfffff, 0xf2, 0xc); /* ring-3 data */
  gdt[5] = descriptor((uint32_t)&tss, sizeof tss - 1, 0x89, 0x0); /* 32-bit TSS, available (SDM vol. 3A, 7.2.2) */
  tss.ss0 = KDATA; /* SS0:ESP0 is the stack a ring-3 interrupt switches to (SDM vol. 3A, 6.12.1) */
  tss.iomap = sizeof tss; /* no I/O bitmap: ring 3 has no ports (IOPL = 0) */
  struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gdtr = { sizeof gdt - 1, (uint32_t)gdt };
  __asm__ volatile("lgdt %0\n\t"
                   "ljmp $0x08, $1f\n"
                   "1: mov $0x10, %%ax\n\t"
                   "mov %%ax, %%ds; mov %%ax, %%es; mov %%ax, %%fs; mov %%ax, %%gs; mov %%ax, %%ss\n\t"
                   "mov $0x28, %%ax; ltr %%ax"
                   : : "m"(gdtr) : "eax", "memory");
}

/* ---- IDT ---- */
extern const uint32_t vec_table[49];
extern void timer_fast(void);
static uint64_t idt[256];
static void idt_set(int v, uint32_t handler, int dpl) {
  /* 32-bit interrupt gate (type 0xE): IF is cleared on entry, so the kernel is never re-entered
   * (SDM vol. 3A, 6.12.1.3); DPL 3 only for int 0x80, so INT n from ring 3 on any other vector is #GP. */
  idt[v] = (handler & 0xffff) | ((uint64_t)KCODE << 16) | ((uint64_t)(0x8e | dpl << 5) << 40) |
           ((uint64_t)(handler >> 16) << 48);
}
static void idt_init(void) {
  for (int v = 0; v < 48; v++) idt_set(v, vec_table[v], 0);
  idt_set(0x20, (uint32_t)timer_fast, 0); /* the idle fast path, which falls back to vec32 */
  idt_set(0x80, vec_table[48], 3); /* the system call gate is reachable from ring 3 */
  struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = { sizeof idt - 1, (uint32_t)idt };
  __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* ---- 8259 PIC pair and 8254 PIT ---- */
static void pic_init(void) {
  outb(0x20, 0x11); outb(0xa0, 0x11); /* ICW1: edge, cascade, ICW4 follows */
  outb(0x21, 0x20); outb(0xa1, 0x28); /* ICW2: IRQ 0-7 at vectors 0x20-0x27, 8-15 at 0x28-0x2F */
  outb(0x21, 0x04); outb(0xa1, 0x02); /* ICW3: slave on IRQ 2 */
  outb(0x21, 0x01); outb(0xa1, 0x01); /* ICW4: 8086 mode */
  outb(0x21, (uint8_t)~(1 << 0 | 1 << 1 | 1 << 2 | 1 << 4)); /* timer, keyboard, cascade, COM1 */
  outb(0xa1, (uint8_t)~(1 << 0));                          /* RTC (IRQ 8) */
}
#define HZ 100
static void pit_init(void) {
  uint16_t divisor = (1193182 + HZ / 2) / HZ;
  outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
  outb(0x40, divisor & 0xff);
  outb(0x40, divisor >> 8);
}

/* ---- CMOS RTC ---- */
static uint8_t cmos(uint8_t r) { outb(0x70, r); return inb(0x71); }
static struct hv_time rtc;
static uint8_t bcd(uint8_t v, int binary) { return binary ? v : (v >> 4) * 10 + (v & 15); }
/* Reads the calendar; called right after an update-ended interrupt or after UIP has cleared,
 * when the registers are stable for almost a second (MC146818 data sheet). */
static void rtc_read(void) {
  uint8_t b = cmos(0x0b), bin = b & 0x04;
  uint8_t h = cmos(0x04);
  rtc.second = bcd(cmos(0x00), bin);
  rtc.minute = bcd(cmos(0x02), bin);
  rtc.hour = bcd(h & 0x7f, bin);
  if (!(b & 0x02)) rtc.hour = rtc.hour % 12 + ((h & 0x80) ? 12 : 0); /* 12-hour mode */
  rtc.day = bcd(cmos(0x07), bin);
  rtc.month = bcd(cmos(0x08), bin);
  rtc.year = 2000 + bcd(cmos(0x09), bin);
}
static void rtc_init(void) {
  while (cmos(0x0a) & 0x80) {} /* UIP */
  rtc_read();
  outb(0x70, 0x0b);
  uint8_t b = inb(0x71);
  outb(0x70, 0x0b);
  outb(0x71, (b & ~0x60) | 0x10); /* update-ended interrupt on, periodic and alarm off */
  cmos(0x0c);                     /* clear pending flags */
}

/* ---- PCI and the Bochs VBE display ---- */
static uint32_t pci_read(int dev, int reg) {
  outl(0xcf8, 0x80000000u | dev << 11 | reg);
  return inl(0xcfc);
}
static void vbe_write(uint16_t idx, uint16_t v) { outw(0x1ce, idx); outw(0x1cf, v); }
static uint16_t vbe_read(uint16_t idx) { outw(0x1ce, idx); return inw(0x1cf); }

static struct fb fb; /* the kernel's view: base = FB_VIRT once paging is on */
static uint32_t fb_phys;

static int parse_mode(const char *s, int *w, int *h, int *bpp) {
  int v[3] = {0, 0, 0}, i = 0;
  for (; *s && *s != ' '; s++) {
    if (*s == 'x' && i < 2) i++;
    else if (*s >= '0' && *s <= '9') v[i] = v[i] * 10 + (*s - '0');
    else return 0;
  }
  if (i != 2 || v[0] < 64 || v[1] < 64 || v[0] > 2560 || v[1] > 1600 || v[0] % 8) return 0;
  if (v[2] != 8 && v[2] != 15 && v[2] != 16 && v[2] != 24 && v[2] != 32) return 0;
  *w = v[0]; *h = v[1]; *bpp = v[2];
  return 1;
}

/* Set a VBE mode (disable, geometry, enable with the linear framebuffer) and describe it in fb.
 * Returns 1; 0 when the device refuses the mode, -1 when it does not fit in VRAM. */
static int vbe_set_mode(int w, int h, int bpp) {
  vbe_write(4, 0);
  vbe_write(1, w);
  vbe_write(2, h);
  vbe_write(3, bpp);
  vbe_write(4, 0x41);
  if (vbe_read(1) != w || vbe_read(2) != h || vbe_read(3) != bpp) return 0;
  fb.width = w;
  fb.height = h;
  fb.bpp = bpp;
  fb.bytespp = bpp == 15 ? 2 : bpp / 8;
  fb.pitch = vbe_read(6) * fb.bytespp;
  fb.vheight = vbe_read(7);
  if (fb.vheight < h) return -1;
  if (bpp == 8) { /* the DAC palette: RGB 3-3-2, 6-bit components */
    outb(0x3c8, 0);
    for (int i = 0; i < 256; i++) {
      outb(0x3c9, ((i >> 5) & 7) * 63 / 7);
      outb(0x3c9, ((i >> 2) & 7) * 63 / 7);
      outb(0x3c9, (i & 3) * 21);
    }
  }
  return 1;
}

static void display_init(int w, int h, int bpp) {
  int dev = -1;
  for (int d = 0; d < 32 && dev < 0; d++)
    if (pci_read(d, 0) == 0x11111234) dev = d;
  if (dev < 0) { kputs("hvmos: no display 1234:1111 on PCI bus 0\n"); halt_with(EXIT_NO_DISPLAY); }
  fb_phys = pci_read(dev, 0x10) & ~0xfu;
  uint16_t id = vbe_read(0);
  if (id < 0xb0c0 || id > 0xb0cf) { kputs("hvmos: no Bochs VBE dispi interface\n"); halt_with(EXIT_NO_DISPLAY); }
  fb.vram_bytes = (uint32_t)vbe_read(10) << 16;
  int set = vbe_set_mode(w, h, bpp);
  if (set != 1) {
    kputs(set == 0 ? "hvmos: the display refused the mode\n" : "hvmos: the mode does not fit in VRAM\n");
    halt_with(EXIT_BAD_MODE);
  }
  kputs("hvmos: display at 00:");
  kdec(dev);
  kputs(".0, BAR0 ");
  khex(fb_phys);
  kputs(", VRAM ");
  kdec(fb.vram_bytes >> 20);
  kputs(" MiB, mode ");
  kdec(w); kputs("x"); kdec(h); kputs("x"); kdec(bpp);
  kputs("\n");
}

/* ---- paging ---- */
#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PS 0x080
#define PTE_G 0x100
#define LOW_TABLES 8 /* identity map of up to 32 MiB of RAM */
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t low_pt[LOW_TABLES][1024] __attribute__((aligned(4096)));
static uint32_t user_pt[1024] __attribute__((aligned(4096)));
static uint32_t fb_pt[16][1024] __attribute__((aligned(4096))); /* VRAM by 4 KiB pages if BAR0 is misaligned */
static uint32_t alias_pt[1024] __attribute__((aligned(4096)));
extern char __user_phys[], __user_start[], __user_text_end[], __user_end[];
static uint32_t ram_bytes;

static void paging_init(void) {
  uint32_t ram = ram_bytes < LOW_TABLES * (4u << 20) ? ram_bytes : LOW_TABLES * (4u << 20);
  /* The kernel: identity, supervisor-only, global; page 0 absent so NULL faults. */
  for (uint32_t a = 0x1000; a < ram; a += 4096) low_pt[a >> 22][(a >> 12) & 1023] = a | PTE_P | PTE_W | PTE_G;
  for (uint32_t t = 0; t < (ram + (4u << 20) - 1) >> 22; t++) page_dir[t] = (uint32_t)low_pt[t] | PTE_P | PTE_W;
  /* The user segment: linked at USER_BASE, loaded after the kernel; text read-only, the rest writable. */
  uint32_t phys = (uint32_t)__user_phys;
  for (uint32_t va = (uint32_t)__user_start; va < (uint32_t)__user_end; va += 4096, phys += 4096)
    user_pt[(va >> 12) & 1023] = phys | PTE_P | PTE_U | (va >= (uint32_t)__user_text_end ? PTE_W : 0);
  page_dir[USER_BASE >> 22] = (uint32_t)user_pt | PTE_P | PTE_W | PTE_U;
  uint32_t cr0, cr4;
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 0x10 | 0x80)); /* CR4.PSE: 4 MiB PDEs (SDM vol. 3A, 4.3); CR4.PGE */
  __asm__ volatile("mov %0, %%cr3" : : "r"(page_dir));
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  /* CR0.PG, and CR0.WP so that ring 0 too honours read-only pages (SDM vol. 3A, 4.6). */
  __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80010000u) : "memory");
}

/* VRAM is mapped once the display is found: the PDEs were not present, so no TLB entry can hold
 * them, but CR3 is reloaded anyway to keep the rule simple (SDM vol. 3A, 4.10.4). */
static void map_framebuffer(void) {
  /* VRAM at FB_VIRT (not its physical address): 4 MiB pages when BAR0 allows, else 4 KiB. */
  int big = (fb_phys & 0x3fffff) == 0;
  uint32_t vram = fb.vram_bytes > (64u << 20) ? 64u << 20 : fb.vram_bytes;
  for (uint32_t off = 0; off < vram; off += 4u << 20) {
    uint32_t pde = (FB_VIRT + off) >> 22;
    if (big) page_dir[pde] = (fb_phys + off) | PTE_P | PTE_W | PTE_U | PTE_PS;
    else {
      uint32_t *pt = fb_pt[off >> 22];
      for (uint32_t i = 0; i < 1024 && off + i * 4096 < vram; i++) pt[i] = (fb_phys + off + i * 4096) | PTE_P | PTE_W | PTE_U;
      page_dir[pde] = (uint32_t)pt | PTE_P | PTE_W | PTE_U;
    }
  }
  /* One VRAM page a second time: the alias the hypervisor's dirty tracking must see through. */
  alias_pt[0] = (fb_phys + ALIAS_VRAM_OFFSET) | PTE_P | PTE_W | PTE_U;
  page_dir[ALIAS_VIRT >> 22] = (uint32_t)alias_pt | PTE_P | PTE_W | PTE_U;
  __asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
  fb.base = (uint8_t *)FB_VIRT;
  kputs("hvmos: paging on; VRAM at virtual ");
  khex(FB_VIRT);
  kputs(big ? " (4 MiB pages), alias page VRAM+" : " (4 KiB pages), alias page VRAM+");
  khex(ALIAS_VRAM_OFFSET);
  kputs(" also at ");
  khex(ALIAS_VIRT);
  kputs("\n");
}

/* ---- tasks ---- */
struct frame {
  uint32_t gs, fs, es, ds;
  uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax; /* pusha */
  uint32_t vector, err;
  uint32_t eip, cs, eflags;
  uint32_t esp, ss; /* only when the trap came from ring 3 */
};
enum { T_FREE, T_READY, T_SLEEP, T_KEY, T_SECOND };
#define MAX_TASKS 4 /* task 0 is the idle loop (ring 0) */
#define NEVER 0xffffffffu
struct task {
  int state;
  struct frame *frame;
  uint32_t wake; /* tick at which a sleeping (or key-waiting) task becomes ready */
  uint8_t kstack[4096] __attribute__((aligned(16)));
};
static struct task tasks[MAX_TASKS];
static int cur;
/* Not static: boot.S's timer_fast reads them. */
volatile uint32_t ticks;
uint32_t next_wake = NEVER, exit_tick = NEVER;
static uint32_t switches;
static int resched;
extern uint8_t user_stacks[MAX_TASKS][16384]; /* user.c: in the user segment */
extern void idle_loop(void);

static struct frame *new_frame(struct task *t, int user) {
  uint32_t size = user ? sizeof(struct frame) : sizeof(struct frame) - 8;
  struct frame *f = (struct frame *)(t->kstack + sizeof t->kstack - size);
  memset(f, 0, size);
  f->eflags = 0x202; /* IF */
  f->cs = user ? UCODE : KCODE;
  f->ds = f->es = f->fs = f->gs = user ? UDATA : KDATA;
  if (user) f->ss = UDATA;
  t->frame = f;
  return f;
}

static int spawn(void (*entry)(int, uint32_t, uint32_t), int a0, uint32_t a1, uint32_t a2) {
  for (int i = 1; i < MAX_TASKS; i++) {
    if (tasks[i].state != T_FREE) continue;
    struct frame *f = new_frame(&tasks[i], 1);
    uint32_t *sp = (uint32_t *)(user_stacks[i] + sizeof user_stacks[i]);
    *--sp = a2;
    *--sp = a1;
    *--sp = a0;
    *--sp = 0; /* no return address: a task ends with SYS_EXIT */
    f->esp = (uint32_t)sp;
    f->eip = (uint32_t)entry;
    tasks[i].state = T_READY;
    return i;
  }
  return -1;
}

static void update_next_wake(void) {
  next_wake = NEVER;
  for (int i = 1; i < MAX_TASKS; i++)
    if ((tasks[i].state == T_SLEEP || tasks[i].state == T_KEY) && tasks[i].wake < next_wake) next_wake = tasks[i].wake;
}

static void block(int state, uint32_t wake) {
  tasks[cur].state = state;
  tasks[cur].wake = wake;
  if (wake < next_wake) next_wake = wake;
  resched = 1;
}

static void wake(int i, uint32_t eax) {
  tasks[i].state = T_READY;
  tasks[i].frame->eax = eax;
  resched = 1;
}

/* Round robin over the ring-3 tasks; the idle loop when none is ready. */
static struct frame *schedule(void) {
  resched = 0;
  int next = 0;
  for (int k = 1; k <= MAX_TASKS - 1; k++) {
    int i = (cur + k - 1) % (MAX_TASKS - 1) + 1;
    if (tasks[i].state == T_READY) { next = i; break; }
  }
  if (next != cur) switches++;
  cur = next;
  if (next) tss.esp0 = (uint32_t)(tasks[next].kstack + sizeof tasks[next].kstack);
  return tasks[next].frame;
}

/* ---- workloads ---- */
static const char *const workload_names[WORKLOAD_COUNT] = { WORKLOAD_NAMES };
static int workload = 1, pending_workload = -1;
static int pending_w, pending_h, pending_bpp; /* a COM1 line "mode WxHxBPP": switched between traps */
static uint32_t seed = 1, clock_tick = 1;

static void start_workload(int w) {
  for (int i = 1; i < MAX_TASKS; i++) tasks[i].state = T_FREE;
  next_wake = NEVER;
  workload = w;
  vbe_write(9, 0); /* Y offset back to the top (pan leaves it anywhere) */
  kputs("hvmos: workload ");
  kputs(workload_names[w]);
  kputs("\n");
  spawn(user_start, w, seed, clock_tick);
  if (w == 8) spawn(user_start, w | BENCH_SECOND, seed, clock_tick); /* bench: two tasks, preempted */
  resched = 1;
}

static int workload_by_name(const char *s, uint32_t n) {
  for (int i = 0; i < WORKLOAD_COUNT; i++)
    if (strlen(workload_names[i]) == n && !strncmp(workload_names[i], s, n)) return i;
  return -1;
}

/* ---- input: keyboard (set 1) and COM1 into one queue ---- */
static uint8_t keyq[64];
static uint32_t keyq_head, keyq_tail;
static void key_push(uint8_t c) {
  for (int i = 1; i < MAX_TASKS; i++)
    if (tasks[i].state == T_KEY) { wake(i, c); update_next_wake(); return; }
  if (keyq_tail - keyq_head < sizeof keyq) keyq[keyq_tail++ % sizeof keyq] = c;
}

/* A switch takes effect at the end of this trap; input queued so far was meant for the old
 * workload (the command's own letters included), input after it for the new one. */
static void switch_to(int w) {
  pending_workload = w;
  keyq_head = keyq_tail;
}

static const char set1_lower[0x3a] = {
  0, 27, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
  'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0, 'a', 's',
  'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
  'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char set1_upper[0x3a] = {
  0, 27, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
  'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0, 'A', 'S',
  'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
  'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};
static int shift, alt, extended;
#define W_TYPING 2 /* "typing" in WORKLOAD_NAMES: its digits are text */

static void keyboard_irq(void) {
  uint8_t sc = inb(0x60);
  if (sc == 0xe0) { extended = 1; return; }
  int ext = extended;
  extended = 0;
  if (sc == 0x2a || sc == 0x36) { shift = 1; return; }
  if (sc == 0xaa || sc == 0xb6) { shift = 0; return; }
  if (sc == 0x38 || sc == 0xb8) { alt = !(sc & 0x80); return; } /* left Alt, or right (E0 38) */
  if (sc & 0x80 || ext) return; /* break codes; extended keys (arrows...) are not used */
  /* Keys 1-9 switch workloads; Alt+1-9 too, and only Alt+1-9 while typing, whose digits are text. */
  if (sc >= 0x02 && sc <= 0x0a && !shift && (alt || workload != W_TYPING)) { switch_to(sc - 0x02); return; }
  if (alt) return; /* no other Alt chords */
  if (sc < sizeof set1_lower && set1_lower[sc]) key_push(shift ? set1_upper[sc] : set1_lower[sc]);
}

static char line[64];
static uint32_t line_len;
static void serial_irq(void) {
  static char last;
  while (inb(COM1 + 5) & 0x01) {
    char c = inb(COM1), prev = last;
    last = c;
    if (c == '\n' && prev == '\r') continue; /* CR LF is one line end */
    if (c == '\r' || c == '\n') {
      line[line_len] = 0;
      if (!strncmp(line, "workload ", 9)) {
        int w = workload_by_name(line + 9, line_len - 9);
        line_len = 0;
        if (w >= 0) { switch_to(w); continue; } /* the command's line end is not input either */
        kputs("hvmos: no workload '");
        kputs(line + 9);
        kputs("'\n");
      } else if (!strncmp(line, "tick ", 5)) {
        /* The clock's period in seconds (as tick= on the command line); the workload restarts. */
        uint32_t t = 0;
        const char *p = line + 5;
        while (*p >= '0' && *p <= '9') t = t * 10 + (uint32_t)(*p++ - '0');
        if (*p || t < 1 || t > 3600) kputs("hvmos: bad tick (want 1-3600 seconds)\n");
        else {
          clock_tick = t;
          kputs("hvmos: tick ");
          kdec(t);
          kputs(" s\n");
          /* Restart the workload; a switch queued earlier in this trap stands. */
          if (pending_workload < 0) pending_workload = workload;
        }
      } else if (!strncmp(line, "mode ", 5)) {
        line_len = 0;
        if (parse_mode(line + 5, &pending_w, &pending_h, &pending_bpp)) {
          keyq_head = keyq_tail; /* the workload restarts: as for a workload switch */
          continue;
        }
        pending_w = 0;
        kputs("hvmos: bad mode (want WxHxBPP, BPP 8/15/16/24/32)\n");      } else if (!strcmp(line, "help")) {
        kputs("hvmos: commands: help; workload NAME; tick SECONDS (1-3600); mode WxHxBPP (BPP 8/15/16/24/32)\n");
        kputs("hvmos: workloads:");
        for (int i = 0; i < WORKLOAD_COUNT; i++) {
          kputs(" ");
          kputs(workload_names[i]);
        }
        kputs("\nhvmos: keys: 1-9 switch workloads (Alt+1-9 while typing, where digits are text)\n");
      } else if (line_len && workload != W_TYPING) {
        /* Typing takes any other line as text; elsewhere a line is a command or a mistake. */
        kputs("hvmos: unknown command '");
        kputs(line);
        kputs("' (help lists the commands)\n");
      }
      line_len = 0;
    } else if (c == '\b' || c == 0x7f) {
      if (line_len) line_len--;
    } else if (line_len < sizeof line - 1) line[line_len++] = c;
    key_push(c == '\r' ? '\n' : c == 0x7f ? '\b' : c); /* a terminal's Enter and Backspace */
  }
}

/* ---- exceptions ---- */
static const char *const exception_names[32] = {
  "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
  "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#28", "#29", "#30", "#31",
};
static void exception(struct frame *f) {
  uint32_t cr2;
  __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
  kputs("hvmos: exception ");
  kdec(f->vector);
  kputs(" (");
  kputs(exception_names[f->vector]);
  kputs(") err=");
  khex(f->err);
  kputs(" eip=");
  khex(f->eip);
  kputs(" cr2=");
  khex(cr2);
  kputs(" cs=");
  khex(f->cs);
  kputs((f->cs & 3) ? " in ring 3, task " : " in ring 0, task ");
  kdec(cur);
  kputs(", workload ");
  kputs(workload_names[workload]);
  kputs("\n");
  halt_with(EXIT_EXCEPTION + f->vector);
}

/* ---- system calls ---- */
static int user_range(uint32_t p, uint32_t n) {
  return p >= (uint32_t)__user_start && p <= (uint32_t)__user_end && n <= (uint32_t)__user_end - p;
}
static int user_string(uint32_t p) {
  for (uint32_t q = p; user_range(q, 1); q++)
    if (!*(const char *)q) return 1;
  return 0;
}
static uint32_t ms_to_ticks(uint32_t ms) { return (ms + 1000 / HZ - 1) / (1000 / HZ); }

static void syscall(struct frame *f) {
  uint32_t a = f->ebx, b = f->ecx;
  int32_t r = 0;
  switch (f->eax) {
  case SYS_EXIT:
    tasks[cur].state = T_FREE;
    resched = 1;
    return;
  case SYS_SLEEP:
    if (a == 0) resched = 1; /* a yield */
    else block(T_SLEEP, ticks + ms_to_ticks(a));
    break;
  case SYS_TIME: {
    if (!user_range(a, sizeof(struct hv_time))) { r = -1; break; }
    struct hv_time *t = (struct hv_time *)a;
    *t = rtc;
    t->uptime_ms = ticks * (1000 / HZ);
    break;
  }
  case SYS_GETKEY:
    if (keyq_head != keyq_tail) r = keyq[keyq_head++ % sizeof keyq];
    else if (a == 0) r = -1;
    else { block(T_KEY, (int32_t)a < 0 ? NEVER : ticks + ms_to_ticks(a)); r = -1; }
    break;
  case SYS_DRAW: {
    if (!user_range(a, sizeof(struct draw_cmd))) { r = -1; break; }
    const struct draw_cmd *c = (const struct draw_cmd *)a;
    switch (c->op) {
    case DRAW_FILL: gfx_fill(&fb, c->x, c->y, c->w, c->h, c->color); break;
    case DRAW_LINE: gfx_line(&fb, c->x, c->y, c->w, c->h, c->color); break;
    case DRAW_TEXT:
      if (user_string((uint32_t)c->data)) gfx_text(&fb, c->x, c->y, c->data, c->color, c->bg, c->scale);
      else r = -1;
      break;
    case DRAW_BLIT:
      if (c->w > 0 && c->h > 0 && c->stride >= c->w && c->h <= 4096 && c->stride <= 4096 &&
          user_range((uint32_t)c->data, (uint32_t)(c->h * c->stride) * 4))
        gfx_blit(&fb, c->x, c->y, c->w, c->h, c->data, c->stride);
      else r = -1;
      break;
    default: r = -1;
    }
    break;
  }
  case SYS_FBINFO:
    if (user_range(a, sizeof(struct fb))) *(struct fb *)a = fb; /* fb.base is FB_VIRT, user-accessible */
    else r = -1;
    break;
  case SYS_WRITE:
    if (user_range(a, b)) for (uint32_t i = 0; i < b; i++) putc_serial(((const char *)a)[i]);
    else r = -1;
    break;
  case SYS_PAN:
    if (a <= (uint32_t)(fb.vheight - fb.height)) vbe_write(9, a);
    else r = -1;
    break;
  case SYS_WAIT_SECOND:
    block(T_SECOND, NEVER);
    break;
  default:
    r = -1;
  }
  f->eax = r;
}

/* ---- the trap path ---- */
static inline void eoi(int slave) {
  if (slave) outb(0xa0, 0x20);
  outb(0x20, 0x20);
}

struct frame *trap(struct frame *f) {
  tasks[cur].frame = f;
  uint32_t v = f->vector;
  if (v == 0x20) { /* the timer: kept short, it is all an idle guest does */
    eoi(0);
    uint32_t t = ++ticks;
    if (t >= next_wake) {
      for (int i = 1; i < MAX_TASKS; i++)
        if ((tasks[i].state == T_SLEEP || tasks[i].state == T_KEY) && tasks[i].wake <= t) wake(i, tasks[i].state == T_KEY ? (uint32_t)-1 : 0);
      update_next_wake();
    }
    if (t >= exit_tick) {
      kputs("hvmos: exit after ");
      kdec(t * (1000 / HZ));
      kputs(" ms of uptime, ");
      kdec(switches);
      kputs(" task switches\n");
      halt_with(EXIT_OK);
    }
    if (cur) resched = 1; /* preemption: the running task's time slice is one tick */
  } else if (v == 0x80) {
    syscall(f);
  } else if (v < 32) {
    exception(f);
  } else if (v == 0x21) {
    keyboard_irq();
    eoi(0);
  } else if (v == 0x24) {
    serial_irq();
    eoi(0);
  } else if (v == 0x28) {
    if (cmos(0x0c) & 0x10) { /* update ended: the calendar is stable for the next ~999 ms */
      rtc_read();
      for (int i = 1; i < MAX_TASKS; i++)
        if (tasks[i].state == T_SECOND) wake(i, 0);
    }
    eoi(1);
  } else if (v != 0x27 && v != 0x2f) { /* 7 and 15 may be spurious: no EOI for those */
    eoi(v >= 0x28);
  }
  if (pending_w) {
    /* A new video mode at run time: the running workload starts again on the new framebuffer
     * (the whole VRAM stays mapped at FB_VIRT, whatever the mode). */
    int w = pending_w, h = pending_h, bpp = pending_bpp;
    pending_w = 0;
    int old_w = fb.width, old_h = fb.height, old_bpp = fb.bpp;
    if (vbe_set_mode(w, h, bpp) == 1) {
      kputs("hvmos: mode ");
    } else {
      vbe_set_mode(old_w, old_h, old_bpp);
      kputs("hvmos: the display refused mode ");
    }
    kdec(w); kputs("x"); kdec(h); kputs("x"); kdec(bpp); kputs("\n");
    if (pending_workload < 0) pending_workload = workload;
  }
  if (pending_workload >= 0) {
    start_workload(pending_workload);
    pending_workload = -1;
  }
  if (!resched) return f;
  return schedule();
}

/* ---- boot ---- */
struct multiboot_info { uint32_t flags, mem_lower, mem_upper, boot_device, cmdline; };

static const char *arg(const char *cmdline, const char *key) {
  uint32_t n = strlen(key);
  for (const char *p = cmdline; *p; p++)
    if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, n)) return p + n;
  return 0;
}
static uint32_t parse_uint(const char *s) {
  uint32_t v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

void kernel_main(uint32_t magic, const struct multiboot_info *mbi) {
  serial_init();
  ram_bytes = (mbi->flags & 1) ? (mbi->mem_upper + 1024) << 10 : 4u << 20;
  paging_init(); /* first: the string helpers live in the user segment, linked at USER_BASE */
  if (magic != 0x2badb002) { kputs("hvmos: not started by a Multiboot loader\n"); halt_with(0x20); }
  const char *cmdline = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
  kputs("hvmos: booting, cmdline '");
  kputs(cmdline);
  kputs("', RAM ");
  kdec(ram_bytes >> 20);
  kputs(" MiB\n");
  gdt_init();
  idt_init();
  pic_init();
  serial_enable_rx();
  pit_init();
  rtc_init();
  kputs("hvmos: RTC ");
  kdec(rtc.year); kputs("-"); kdec2(rtc.month); kputs("-"); kdec2(rtc.day); kputs(" ");
  kdec2(rtc.hour); kputs(":"); kdec2(rtc.minute); kputs(":"); kdec2(rtc.second); kputs("\n");

  int w = 1024, h = 768, bpp = 32;
  const char *m = arg(cmdline, "mode=");
  if (m && !parse_mode(m, &w, &h, &bpp)) { kputs("hvmos: bad mode= (want WxHxBPP, BPP 8/15/16/24/32)\n"); halt_with(EXIT_BAD_MODE); }
  display_init(w, h, bpp);
  map_framebuffer();

  const char *s = arg(cmdline, "seed=");
  if (s) seed = parse_uint(s);
  const char *tk = arg(cmdline, "tick=");
  if (tk && parse_uint(tk) >= 1 && parse_uint(tk) <= 3600) clock_tick = parse_uint(tk);
  const char *e = arg(cmdline, "exit=");
  if (e) { /* seconds, with an optional fraction: exit=2 or exit=0.5 */
    uint32_t ms = parse_uint(e) * 1000, scale = 100;
    while (*e >= '0' && *e <= '9') e++;
    if (*e == '.')
      for (e++; *e >= '0' && *e <= '9' && scale; e++, scale /= 10) ms += (*e - '0') * scale;
    exit_tick = ms_to_ticks(ms);
  }
  int wl = 1;
  const char *n = arg(cmdline, "workload=");
  if (n) {
    uint32_t len = 0;
    while (n[len] && n[len] != ' ') len++;
    wl = workload_by_name(n, len);
    if (wl < 0) { kputs("hvmos: unknown workload=, using clock\n"); wl = 1; }
  }

  new_frame(&tasks[0], 0)->eip = (uint32_t)idle_loop;
  tasks[0].state = T_READY;
  start_workload(wl);
  struct frame *first = schedule();
  __asm__ volatile("mov %0, %%esp; jmp trap_return" : : "r"(first));
}
