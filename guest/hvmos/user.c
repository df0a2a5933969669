/* The workloads: ring-3 code in the user segment (linked at USER_BASE). They reach the kernel only
 * through int 0x80; the pixel-heavy ones (scroll, sprite, plasma, stress, pan) also write the
 * framebuffer directly through the user-accessible mapping that SYS_FBINFO describes. */
#include "hvmos.h"

uint8_t user_stacks[4][16384] __attribute__((aligned(16)));

/* ---- system calls ---- */
static inline int sys(int n, uint32_t a, uint32_t b) {
  int r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b) : "memory");
  return r;
}
static void __attribute__((noreturn)) u_exit(int code) {
  sys(SYS_EXIT, code, 0);
  for (;;) {}
}
static void u_sleep(uint32_t ms) { sys(SYS_SLEEP, ms, 0); }
static void u_time(struct hv_time *t) { sys(SYS_TIME, (uint32_t)t, 0); }
static uint32_t u_uptime(void) { struct hv_time t; u_time(&t); return t.uptime_ms; }
static int u_getkey(int timeout_ms) { return sys(SYS_GETKEY, timeout_ms, 0); }
static void u_print(const char *s) { sys(SYS_WRITE, (uint32_t)s, strlen(s)); }
static void u_fbinfo(struct fb *fb) { sys(SYS_FBINFO, (uint32_t)fb, 0); }

static void fill(int x, int y, int w, int h, uint32_t rgb) {
  struct draw_cmd c = { .op = DRAW_FILL, .x = x, .y = y, .w = w, .h = h, .color = rgb };
  sys(SYS_DRAW, (uint32_t)&c, 0);
}
static void line(int x0, int y0, int x1, int y1, uint32_t rgb) {
  struct draw_cmd c = { .op = DRAW_LINE, .x = x0, .y = y0, .w = x1, .h = y1, .color = rgb };
  sys(SYS_DRAW, (uint32_t)&c, 0);
}
static void text(int x, int y, const char *s, uint32_t fg, uint32_t bg, int scale) {
  struct draw_cmd c = { .op = DRAW_TEXT, .x = x, .y = y, .color = fg, .bg = bg, .scale = scale, .data = s };
  sys(SYS_DRAW, (uint32_t)&c, 0);
}
static void blit(int x, int y, int w, int h, const uint32_t *px) {
  struct draw_cmd c = { .op = DRAW_BLIT, .x = x, .y = y, .w = w, .h = h, .data = px, .stride = w };
  sys(SYS_DRAW, (uint32_t)&c, 0);
}

static uint32_t rng;
static uint32_t xorshift(void) { /* Marsaglia's xorshift32 */
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}
static char *cat(char *d, const char *s) { while (*s) *d++ = *s++; *d = 0; return d; }
static char *two(char *d, int v) { d[0] = '0' + v / 10 % 10; d[1] = '0' + v % 10; d[2] = 0; return d + 2; }

static struct fb fb;

/* ---- the desktop (static, clock, typing, sprite) ---- */
#define DESK_TOP 0x1f4e79
#define DESK_BOTTOM 0x4a90c2
static uint32_t blend(uint32_t a, uint32_t b, int num, int den) {
  uint32_t r = 0;
  for (int sh = 0; sh < 24; sh += 8) {
    int ca = (a >> sh) & 0xff, cb = (b >> sh) & 0xff;
    r |= (uint32_t)(ca + (cb - ca) * num / den) << sh;
  }
  return r;
}
static void window(int x, int y, int w, int h, const char *title) {
  fill(x + 4, y + 4, w, h, 0x10243a);            /* shadow */
  fill(x, y, w, h, 0xe8e8e8);                    /* body */
  fill(x, y, w, 20, 0x2b5797);                   /* title bar */
  text(x + 6, y + 2, title, 0xffffff, GFX_CLEAR, 1);
  fill(x + w - 18, y + 4, 12, 12, 0xc0392b);     /* close box */
  line(x + w - 16, y + 6, x + w - 9, y + 13, 0xffffff);
  line(x + w - 9, y + 6, x + w - 16, y + 13, 0xffffff);
}
static uint32_t icon[16 * 16];
static void desktop(const char *name) {
  int W = fb.width, H = fb.height;
  for (int y = 0; y < H - 28; y += 8) fill(0, y, W, 8, blend(DESK_TOP, DESK_BOTTOM, y, H));
  fill(0, H - 28, W, 28, 0x202020); /* the task bar */
  fill(4, H - 24, 64, 20, 0x2b5797);
  text(12, H - 22, "hvmos", 0xffffff, GFX_CLEAR, 1);
  text(80, H - 22, name, 0xc0c0c0, GFX_CLEAR, 1);
  for (int y = 0; y < 16; y++) /* a computed icon, blitted a few times */
    for (int x = 0; x < 16; x++) {
      int dx = x - 8, dy = y - 8;
      icon[y * 16 + x] = dx * dx + dy * dy < 49 ? blend(0xffd24a, 0xe67e22, x + y, 30) : DESK_TOP;
    }
  static const char *const labels[] = { "VRAM", "p2m", "dirty", "ioemu" };
  for (int i = 0; i < 4; i++) {
    blit(24, 24 + i * 56, 16, 16, icon);
    text(12, 44 + i * 56, labels[i], 0xffffff, GFX_CLEAR, 1);
  }
  int ww = W / 2 < 420 ? W / 2 : 420, wh = H / 3 < 200 ? H / 3 : 200;
  int wx = W / 8 + 40, wy = H / 8;
  window(wx, wy, ww, wh, "About hvmos");
  static const char *const about[] = {
    "A toy protected-mode OS for the HVM", "dirty-VRAM demo: paging, rings, IRQs,",
    "int 0x80, and a framebuffer mapped", "through 4 MiB pages at 0xd0000000.",
    "Keys 1-9 switch workloads.",
  };
  for (int i = 0; i < 5 && 28 + i * 18 < wh - 16; i++) text(wx + 10, wy + 28 + i * 18, about[i], 0x202020, GFX_CLEAR, 1);
  /* What one can do, as it is (a chart here would have to be redrawn, and the desktop is the
   * idle guest: it writes nothing after it is drawn). */
  int gx = wx + ww / 3, gy = wy + wh + 40, gw = ww, gh = 5 * 18 + 34;
  if (gy + gh < H - 40) {
    window(gx, gy, gw, gh, "Keys and COM1");
    static const char *const help[] = {
      "1-9      switch workload", "Alt+1-9  switch, also while typing", "COM1:    help, workload NAME,",
      "         tick SECONDS, mode WxHxBPP",
    };
    for (int i = 0; i < 4 && 28 + i * 18 < gh - 16; i++) text(gx + 10, gy + 28 + i * 18, help[i], 0x202020, GFX_CLEAR, 1);
  }
}

/* ---- static: the desktop once, then nothing ---- */
static void w_static(void) {
  desktop("static");
  u_exit(0);
}

/* ---- clock: the desktop and a clock redrawn once a second (on the RTC's update interrupt), or
 * every tick seconds with tick=N on the command line: with N > 2 the hypervisor's two-second idle
 * drop engages between redraws and each redraw faults write access back. ---- */
static void w_clock(uint32_t tick) {
  desktop("clock");
  int scale = fb.width >= 1024 ? 3 : fb.width >= 640 ? 2 : 1;
  int cw = 8 * 8 * scale + 24, ch = 16 * scale + 52;
  int cx = fb.width - cw - 24, cy = 40;
  window(cx, cy, cw, ch, "Clock");
  char prev[9] = "";
  for (;;) {
    struct hv_time t;
    u_time(&t);
    char s[9], *p = s;
    p = two(p, t.hour); *p++ = ':'; p = two(p, t.minute); *p++ = ':'; two(p, t.second);
    /* Only the characters that changed: a second costs two glyphs, not eight. */
    for (int i = 0; i < 8; i++)
      if (s[i] != prev[i]) {
        char one[2] = { s[i], 0 };
        text(cx + 12 + i * 8 * scale, cy + 28, one, 0x202020, 0xe8e8e8, scale);
      }
    if (t.second == 0 || !prev[0]) {
      char d[16], *q = d;
      q = two(q, t.year / 100); q = two(q, t.year); *q++ = '-'; q = two(q, t.month); *q++ = '-'; two(q, t.day);
      text(cx + 12, cy + 32 + 16 * scale, d, 0x505050, 0xe8e8e8, 1);
      char hm[6] = { s[0], s[1], s[2], s[3], s[4], 0 };
      fill(fb.width - 60, fb.height - 24, 56, 20, 0x202020);
      text(fb.width - 52, fb.height - 22, hm, 0xc0c0c0, GFX_CLEAR, 1);
    }
    for (int i = 0; i < 9; i++) prev[i] = s[i];
    for (uint32_t i = 0; i < tick; i++) sys(SYS_WAIT_SECOND, 0, 0);
  }
}

/* ---- typing: keys and serial input echoed into a window, the cursor blinking at 2 Hz ---- */
static void w_typing(void) {
  desktop("typing");
  int wx = 40, wy = 40, ww = fb.width - 80 > 640 ? 640 : fb.width - 80, wh = fb.height - 120 > 400 ? 400 : fb.height - 120;
  window(wx, wy, ww, wh, "Typing: keyboard and COM1");
  int cols = (ww - 16) / 8, rows = (wh - 32) / 16, col = 0, row = 0, on = 0;
  uint32_t next = u_uptime() + 250;
  for (;;) {
    uint32_t now = u_uptime();
    int k = u_getkey(next > now ? (int)(next - now) : 1);
    int x = wx + 8 + col * 8, y = wy + 26 + row * 16;
    if (k < 0) { /* the cursor's half period, 250 ms */
      on = !on;
      fill(x, y + 14, 8, 2, on ? 0x202020 : 0xe8e8e8);
      next += 250;
      continue;
    }
    fill(x, y + 14, 8, 2, 0xe8e8e8);
    if (k == '\b') {
      if (col) col--;
      fill(wx + 8 + col * 8, y, 8, 16, 0xe8e8e8);
    } else if (k == '\n') {
      col = 0, row++;
    } else if (k >= 0x20 && k < 0x7f) {
      char s[2] = { (char)k, 0 };
      text(x, y, s, 0x202020, 0xe8e8e8, 1);
      if (++col == cols) col = 0, row++;
    }
    if (row == rows) { row = 0; fill(wx + 2, wy + 22, ww - 4, wh - 24, 0xe8e8e8); }
  }
}

/* ---- scroll: a terminal that scrolls continuously (memmove of the framebuffer) ---- */
static const char *const words[] = {
  "page", "dirty", "vram", "hypercall", "p2m", "tlb", "frame", "guest", "ioemu", "refresh",
  "bitmap", "scan", "idle", "write", "fault", "track", "tile", "canvas", "worker", "slice",
};
static void w_scroll(void) {
  fill(0, 0, fb.width, fb.height, 0x101010);
  uint32_t n = 0, bytes = (uint32_t)fb.pitch * (fb.height - 16);
  for (;;) {
    memmove(fb.base, fb.base + fb.pitch * 16, bytes); /* ring 3 moving VRAM through its mapping */
    char s[256], *p = s, num[12];
    p = cat(cat(p, fmt_dec(num, n++)), ": ");
    while (p - s < (fb.width / 8) - 12) p = cat(cat(p, words[xorshift() % 20]), " ");
    fill(0, fb.height - 16, fb.width, 16, 0x101010);
    text(0, fb.height - 16, s, n % 7 ? 0x40e040 : 0xe0e040, GFX_CLEAR, 1);
    u_sleep(20);
  }
}

/* ---- sprite: a 32x32 ball moving over the desktop (few pages, every frame) ---- */
#define SP 32
static uint32_t sprite[SP * SP];
static uint8_t under[SP * SP * 4];
static void w_sprite(void) {
  desktop("sprite");
  for (int y = 0; y < SP; y++)
    for (int x = 0; x < SP; x++) {
      int dx = 2 * x - SP + 1, dy = 2 * y - SP + 1, d = dx * dx + dy * dy;
      sprite[y * SP + x] = d < SP * SP ? blend(0xffffff, 0xc0392b, (dx + SP) + (dy + SP), 4 * SP) : 0xff000000u;
    }
  int x = 10 + xorshift() % (fb.width - SP - 20), y = 10 + xorshift() % (fb.height - SP - 40);
  int dx = 3, dy = 2, row = SP * fb.bytespp, have = 0, ox = 0, oy = 0;
  for (;;) {
    if (have)
      for (int r = 0; r < SP; r++) memcpy(fb.base + (oy + r) * fb.pitch + ox * fb.bytespp, under + r * row, row);
    for (int r = 0; r < SP; r++) memcpy(under + r * row, fb.base + (y + r) * fb.pitch + x * fb.bytespp, row);
    for (int r = 0; r < SP; r++) { /* colour-keyed: the corners keep the desktop */
      uint8_t *p = fb.base + (y + r) * fb.pitch + x * fb.bytespp;
      for (int c = 0; c < SP; c++, p += fb.bytespp) {
        uint32_t s = sprite[r * SP + c];
        if (s >> 24) continue;
        uint32_t px = gfx_pixel(&fb, s);
        if (fb.bytespp == 4) *(uint32_t *)p = px;
        else if (fb.bytespp == 2) *(uint16_t *)p = px;
        else if (fb.bytespp == 3) p[0] = px, p[1] = px >> 8, p[2] = px >> 16;
        else *p = px;
      }
    }
    have = 1, ox = x, oy = y;
    x += dx, y += dy;
    if (x < 0 || x + SP > fb.width) dx = -dx, x += 2 * dx;
    if (y < 0 || y + SP > fb.height - 28) dy = -dy, y += 2 * dy;
    u_sleep(20);
  }
}

/* ---- plasma: a full-screen animation in 4x4 blocks (every page dirty every frame) ---- */
static int8_t sine[256];
static uint32_t palette[256];
static uint8_t scanline[2560 * 4];
static void make_sine(void) {
  /* Bhaskara I's approximation of sin on [0, pi], in integers: 4x(180-x) / (40500 - x(180-x)). */
  for (int i = 0; i < 256; i++) {
    int deg = (i % 128) * 180 / 128, p = deg * (180 - deg);
    int s = 127 * 4 * p / (40500 - p);
    sine[i] = i < 128 ? s : -s;
  }
}
static void w_plasma(void) {
  make_sine();
  for (int i = 0; i < 256; i++)
    palette[i] = (uint32_t)(128 + sine[i]) << 16 | (uint32_t)(128 + sine[(i + 85) & 255]) << 8 | (uint32_t)(128 + sine[(i + 170) & 255]);
  int bw = fb.width / 4, bh = fb.height / 4;
  uint32_t t = xorshift() & 255, px[256];
  for (;;) {
    uint32_t start = u_uptime();
    for (int i = 0; i < 256; i++) px[i] = gfx_pixel(&fb, palette[(i + t) & 255]);
    for (int by = 0; by < bh; by++) {
      int row = sine[(by * 3 + t) & 255] + sine[(by * 5 + 2 * t) & 255];
      uint8_t *d = scanline;
      for (int bx = 0; bx < bw; bx++) {
        uint32_t c = px[(uint8_t)(row + sine[(bx * 4 + t * 3) & 255] + sine[(bx + by + t) & 255])];
        if (fb.bytespp == 4) {
          uint32_t *q = (uint32_t *)d;
          q[0] = q[1] = q[2] = q[3] = c;
        } else if (fb.bytespp == 2) {
          uint32_t *q = (uint32_t *)d;
          q[0] = q[1] = c | c << 16;
        } else if (fb.bytespp == 3) {
          for (int k = 0; k < 12; k += 3) d[k] = c, d[k + 1] = c >> 8, d[k + 2] = c >> 16;
        } else {
          *(uint32_t *)d = c * 0x01010101u;
        }
        d += 4 * fb.bytespp;
      }
      for (int r = 0; r < 4; r++) memcpy(fb.base + (by * 4 + r) * fb.pitch, scanline, bw * 4 * fb.bytespp);
    }
    for (int y = bh * 4; y < fb.height; y++) /* a height that is not a multiple of 4 */
      memcpy(fb.base + y * fb.pitch, scanline, bw * 4 * fb.bytespp);
    t++;
    uint32_t spent = u_uptime() - start; /* at most 25 frames a second */
    u_sleep(spent < 40 ? 40 - spent : 0);
  }
}

/* ---- stress: random writes anywhere in VRAM, and through both mappings of the alias page ---- */
static void w_stress(void) {
  volatile uint32_t *alias = (volatile uint32_t *)ALIAS_VIRT;
  volatile uint32_t *direct = (volatile uint32_t *)(fb.base + ALIAS_VRAM_OFFSET);
  uint32_t words = fb.vram_bytes / 4, writes = 0, ok = 0, bad = 0, last_off = 0, last_val = 0;
  uint32_t report = u_uptime() + 1000;
  for (;;) {
    for (int i = 0; i < 2000; i++) ((volatile uint32_t *)fb.base)[xorshift() % words] = xorshift();
    writes += 2000;
    for (int i = 0; i < 16; i++) {
      uint32_t o = xorshift() % 1024, v = xorshift();
      if (i & 1) { alias[o] = v; if (direct[o] == v) ok++; else bad++; }
      else { direct[o] = v; if (alias[o] == v) ok++; else bad++; }
      last_off = ALIAS_VRAM_OFFSET + o * 4, last_val = v;
    }
    if (u_uptime() >= report) {
      char s[160], *p = s, n[12];
      p = cat(p, "stress: ");
      p = cat(cat(p, fmt_dec(n, writes)), " random writes, alias checks ");
      p = cat(cat(p, fmt_dec(n, ok)), " ok ");
      p = cat(cat(p, fmt_dec(n, bad)), " bad, last alias write 0x");
      p = cat(cat(p, fmt_hex(n, last_val, 8)), " at VRAM+0x");
      p = cat(cat(p, fmt_hex(n, last_off, 8)), "\n");
      u_print(s);
      report += 1000;
    }
    u_sleep(20);
  }
}

/* ---- pan: a tall virtual screen, panned with the VBE Y offset ---- */
static void w_pan(void) {
  int tall = fb.vheight > 4 * fb.height ? 4 * fb.height : fb.vheight;
  for (int y = 0; y < tall; y += 32) fill(0, y, fb.width, 32, blend(0x203080, 0x80c040, y, tall));
  for (int y = 0; y < tall; y += 128) { /* labels after the bands, which would cover their bottom */
    char s[32], n[12];
    cat(cat(s, "line "), fmt_dec(n, y));
    line(0, y, fb.width - 1, y, 0xffffff);
    text(16, y + 8, s, 0xffffff, GFX_CLEAR, 2);
  }
  int y = 0, dy = 4, max = tall - fb.height;
  for (;;) {
    sys(SYS_PAN, y, 0);
    y += dy;
    if (y < 0 || y > max) dy = -dy, y += 2 * dy;
    u_sleep(20);
  }
}

/* ---- bench: integer CPU work in ring 3, two tasks sharing the CPU by preemption ---- */
/* Instructions in one round of work(), thousands (counted with the CLI's --stats on this build). */
#define BENCH_ROUND_KINSTR 4600
static uint8_t sieves[2][65536]; /* one per task: they run interleaved */
static uint32_t work(int id, uint32_t round) {
  uint8_t *sieve = sieves[id - 1];
  uint32_t h = 2166136261u ^ round; /* FNV-1a over a sieve of Eratosthenes and an LCG walk */
  memset(sieve, 1, sizeof sieves[0]);
  for (uint32_t i = 2; i * i < sizeof sieves[0]; i++)
    if (sieve[i])
      for (uint32_t j = i * i; j < sizeof sieves[0]; j += i) sieve[j] = 0;
  for (uint32_t i = 2; i < sizeof sieves[0]; i++)
    if (sieve[i]) h = (h ^ i) * 16777619u;
  uint32_t x = round + 1;
  for (int i = 0; i < 500000; i++) {
    x = x * 1103515245u + 12345u;
    h = (h ^ (x >> 16)) * 16777619u;
  }
  return h;
}
static void bench_task(int id, uint32_t unused) {
  (void)unused;
  for (uint32_t round = 0;; round++) {
    uint32_t t0 = u_uptime(), sum = work(id, round), t1 = u_uptime();
    char s[160], *p = s, n[12];
    p = cat(cat(cat(p, "bench: task "), fmt_dec(n, id)), " round ");
    p = cat(cat(p, fmt_dec(n, round)), " checksum 0x");
    p = cat(cat(p, fmt_hex(n, sum, 8)), " in ");
    p = cat(cat(p, fmt_dec(n, t1 - t0)), " ms");
    /* Both tasks run the same rounds, interleaved by the timer: together they retire about
     * 2 x BENCH_ROUND_KINSTR thousand instructions in the time one round takes. */
    if (t1 > t0) p = cat(cat(cat(p, ", both tasks ~"), fmt_dec(n, 2 * BENCH_ROUND_KINSTR / (t1 - t0))), " MIPS");
    p = cat(p, "\n");
    u_print(s);
    fill(40, 40 + id * 20, fb.width - 80 < 600 ? fb.width - 80 : 600, 18, 0x000000);
    s[p - s - 1] = 0;
    text(44, 41 + id * 20, s, 0x40e040, GFX_CLEAR, 1);
  }
}

/* ---- fault: a deliberate ring-3 page fault (a write to a supervisor-only kernel page) ---- */
static void w_fault(void) {
  u_print("fault: writing to 0x00100000 (kernel text, U/S = 0) from ring 3\n");
  *(volatile uint32_t *)0x00100000 = 0xdeadbeef;
  u_print("fault: the write did not fault\n");
  u_exit(1);
}

void user_start(int w, uint32_t seed, uint32_t tick) {
  rng = seed ? seed * 2654435761u : 1;
  u_fbinfo(&fb);
  if (sys(SYS_COUNT, 0, 0) != -1) u_exit(2); /* an unknown call must fail */
  switch (w) {
  case 0: w_static(); break;
  case 1: w_clock(tick); break;
  case 2: w_typing(); break;
  case 3: w_scroll(); break;
  case 4: w_sprite(); break;
  case 5: w_plasma(); break;
  case 6: w_stress(); break;
  case 7: w_pan(); break;
  case 8:
    fill(0, 0, fb.width, fb.height, 0x000000);
    text(40, 16, "bench: integer work in two ring-3 tasks (preempted at 100 Hz)", 0xffffff, GFX_CLEAR, 1);
    bench_task(1, 0);
    break;
  case 8 | BENCH_SECOND:
    bench_task(2, 0);
    break;
  case 9: w_fault(); break;
  }
  u_exit(0);
}
