/* The kernel/user interface of hvmos: system call numbers and argument blocks (int 0x80,
 * EAX = number, EBX/ECX/EDX = arguments, result in EAX), and the fixed virtual addresses. */
#ifndef HVMOS_H
#define HVMOS_H
#include <stdint.h>
#include "gfx.h"

/* Virtual memory map (see README.md). */
#define USER_BASE 0x40000000u   /* the user segment: workload code, data, stacks (U/S = 1) */
#define FB_VIRT 0xd0000000u     /* all of VRAM, mapped from BAR0 (4 MiB pages when aligned) */
#define ALIAS_VIRT 0xc0000000u  /* one VRAM page mapped a second time (4 KiB PTE) */
#define ALIAS_VRAM_OFFSET 0x100000u /* which VRAM page the alias maps */

enum {
  SYS_EXIT = 0,    /* (code): ends the calling task */
  SYS_SLEEP,       /* (ms): blocks at least that long (rounded up to timer ticks) */
  SYS_TIME,        /* (struct hv_time *): uptime and the RTC's wall-clock time */
  SYS_GETKEY,      /* (timeout_ms, -1 = forever): next key or serial byte, -1 on timeout */
  SYS_DRAW,        /* (const struct draw_cmd *): the kernel draws with gfx */
  SYS_FBINFO,      /* (struct fb *): the framebuffer as the task sees it (FB_VIRT) */
  SYS_WRITE,       /* (const char *, len): bytes to COM1 */
  SYS_PAN,         /* (y): the VBE Y offset (display start line) */
  SYS_WAIT_SECOND, /* (): blocks until the RTC's next update-ended interrupt */
  SYS_COUNT
};

struct hv_time {
  uint32_t uptime_ms;
  uint8_t hour, minute, second, day, month;
  uint16_t year;
};

enum { DRAW_FILL, DRAW_LINE, DRAW_TEXT, DRAW_BLIT };
struct draw_cmd {
  int op;
  int x, y, w, h;  /* FILL/BLIT: rectangle; LINE: (x, y) to (w, h); TEXT: position */
  uint32_t color, bg; /* 0xRRGGBB; bg = GFX_CLEAR for transparent text */
  int scale;       /* TEXT */
  const void *data; /* TEXT: NUL-terminated string; BLIT: 0xRRGGBB pixels */
  int stride;      /* BLIT: source pixels per row */
};

/* Exit codes written to port 0xF4 (the run ends with status (code << 1) | 1). */
#define EXIT_OK 0x00
#define EXIT_EXCEPTION 0x40 /* + vector: an unhandled exception */
#define EXIT_NO_DISPLAY 0x21
#define EXIT_BAD_MODE 0x22

/* The workloads, in the order of keys 1-9; fault is chosen by name only. */
#define WORKLOAD_NAMES "static", "clock", "typing", "scroll", "sprite", "plasma", "stress", "pan", "bench", "fault"
#define WORKLOAD_COUNT 10
#define BENCH_SECOND 0x100 /* user_start(8 | BENCH_SECOND): bench's second task */
/* user.c: entry of a workload's tasks; tick = the clock's redraw period in seconds (tick=N) */
void user_start(int workload, uint32_t seed, uint32_t tick);
#endif
