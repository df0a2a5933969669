/* The drawing library (see gfx.h). Written for the interpreter that runs it: rows are filled with
 * dword stores where the pixel size allows, and nothing is computed per pixel that can be computed
 * per row. */
#include "gfx.h"

uint32_t gfx_pixel(const struct fb *fb, uint32_t rgb) {
  uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
  switch (fb->bpp) {
  case 8: return (r & 0xe0) | ((g & 0xe0) >> 3) | (b >> 6); /* the RGB 3-3-2 palette the kernel loads */
  case 15: return ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
  case 16: return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
  default: return rgb & 0xffffff;
  }
}

static void fill_row(const struct fb *fb, uint8_t *p, int w, uint32_t px) {
  switch (fb->bytespp) {
  case 4: /* REP STOSD: one instruction for the whole row */
    __asm__ volatile("rep stosl" : "+D"(p), "+c"(w) : "a"(px) : "memory");
    break;
  case 2: {
    uint16_t *d = (uint16_t *)p;
    if (((uintptr_t)d & 2) && w) { *d++ = px; w--; }
    uint32_t n = w >> 1, two = px | (px << 16);
    __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(two) : "memory");
    if (w & 1) *d = px;
    break;
  }
  case 3:
    while (w--) { p[0] = px; p[1] = px >> 8; p[2] = px >> 16; p += 3; }
    break;
  default:
    memset(p, px, w);
  }
}

static int clip(const struct fb *fb, int *x, int *y, int *w, int *h) {
  if (*x < 0) { *w += *x; *x = 0; }
  if (*y < 0) { *h += *y; *y = 0; }
  if (*x + *w > fb->width) *w = fb->width - *x;
  if (*y + *h > fb->vheight) *h = fb->vheight - *y;
  return *w > 0 && *h > 0;
}

void gfx_fill(const struct fb *fb, int x, int y, int w, int h, uint32_t rgb) {
  if (!clip(fb, &x, &y, &w, &h)) return;
  uint32_t px = gfx_pixel(fb, rgb);
  uint8_t *p = fb->base + y * fb->pitch + x * fb->bytespp;
  for (; h > 0; h--, p += fb->pitch) fill_row(fb, p, w, px);
}

static void put(const struct fb *fb, int x, int y, uint32_t px) {
  if (x < 0 || y < 0 || x >= fb->width || y >= fb->vheight) return;
  uint8_t *p = fb->base + y * fb->pitch + x * fb->bytespp;
  switch (fb->bytespp) {
  case 4: *(uint32_t *)p = px; break;
  case 2: *(uint16_t *)p = px; break;
  case 3: p[0] = px; p[1] = px >> 8; p[2] = px >> 16; break;
  default: *p = px;
  }
}

void gfx_line(const struct fb *fb, int x0, int y0, int x1, int y1, uint32_t rgb) {
  uint32_t px = gfx_pixel(fb, rgb);
  int dx = x1 > x0 ? x1 - x0 : x0 - x1, sx = x0 < x1 ? 1 : -1;
  int dy = y1 > y0 ? y0 - y1 : y1 - y0, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) { /* Bresenham, all octants */
    put(fb, x0, y0, px);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

/* One row of a glyph, scaled horizontally: the hot part of text drawing (the clock's whole cost),
 * so the pixel size is decided once per row, not once per pixel. */
#define GLYPH_ROW(T)                                                         \
  for (int col = 0; col < 8; col++, bits <<= 1) {                            \
    T *d = (T *)p + col * scale;                                             \
    if (bits & 0x80) for (int s = 0; s < scale; s++) d[s] = pf;              \
    else if (!clear) for (int s = 0; s < scale; s++) d[s] = pb;              \
  }
static void glyph_row(const struct fb *fb, uint8_t *p, unsigned bits, uint32_t pf, uint32_t pb, int clear, int scale) {
  switch (fb->bytespp) {
  case 4: GLYPH_ROW(uint32_t) break;
  case 2: GLYPH_ROW(uint16_t) break;
  case 1: GLYPH_ROW(uint8_t) break;
  default:
    for (int col = 0; col < 8; col++, bits <<= 1, p += 3 * scale) {
      if (!(bits & 0x80) && clear) continue;
      uint32_t px = bits & 0x80 ? pf : pb;
      for (int s = 0; s < 3 * scale; s += 3) p[s] = px, p[s + 1] = px >> 8, p[s + 2] = px >> 16;
    }
  }
}

void gfx_text(const struct fb *fb, int x, int y, const char *s, uint32_t fg, uint32_t bg, int scale) {
  uint32_t pf = gfx_pixel(fb, fg), pb = bg == GFX_CLEAR ? 0 : gfx_pixel(fb, bg);
  int clear = bg == GFX_CLEAR;
  if (scale < 1) scale = 1;
  for (; *s; s++, x += 8 * scale) {
    unsigned c = (unsigned char)*s;
    const unsigned char *g = font8x16[(c >= 0x20 && c < 0x7f ? c : '?') - 0x20];
    if (x < 0 || y < 0 || x + 8 * scale > fb->width || y + 16 * scale > fb->vheight) {
      /* Partly outside: pixel by pixel, clipped. */
      for (int r = 0; r < 16 * scale; r++)
        for (int col = 0; col < 8 * scale; col++) {
          int on = (g[r / scale] >> (7 - col / scale)) & 1;
          if (on || !clear) put(fb, x + col, y + r, on ? pf : pb);
        }
      continue;
    }
    uint8_t *p = fb->base + y * fb->pitch + x * fb->bytespp;
    for (int r = 0; r < 16; r++) {
      glyph_row(fb, p, g[r], pf, pb, clear, scale);
      p += fb->pitch;
      for (int k = 1; k < scale; k++, p += fb->pitch) { /* the other rows of a scaled glyph */
        if (clear) glyph_row(fb, p, g[r], pf, pb, clear, scale);
        else memcpy(p, p - fb->pitch, 8 * scale * fb->bytespp);
      }
    }
  }
}

void gfx_blit(const struct fb *fb, int x, int y, int w, int h, const uint32_t *src, int stride) {
  for (int r = 0; r < h; r++)
    for (int c = 0; c < w; c++) put(fb, x + c, y + r, gfx_pixel(fb, src[r * stride + c]));
}

/* The C library pieces gcc may call even in a freestanding build (GCC manual, "Standards"). */
void *memset(void *d, int c, uint32_t n) {
  uint8_t *p = d;
  while (n && ((uintptr_t)p & 3)) { *p++ = c; n--; }
  uint32_t v = (uint8_t)c * 0x01010101u, k = n >> 2;
  __asm__ volatile("rep stosl" : "+D"(p), "+c"(k) : "a"(v) : "memory");
  n &= 3;
  while (n--) *p++ = c;
  return d;
}

void *memcpy(void *d, const void *s, uint32_t n) {
  uint32_t k = n >> 2, r = n & 3;
  void *dd = d;
  __asm__ volatile("rep movsl; mov %3, %%ecx; rep movsb" : "+D"(dd), "+S"(s), "+c"(k) : "r"(r) : "memory");
  return d;
}

void *memmove(void *d, const void *s, uint32_t n) {
  if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) return memcpy(d, s, n);
  /* Overlapping, destination above the source: copy backwards (DF = 1), then clear DF again. */
  uint8_t *de = (uint8_t *)d + n - 1;
  const uint8_t *se = (const uint8_t *)s + n - 1;
  __asm__ volatile("std; rep movsb; cld" : "+D"(de), "+S"(se), "+c"(n) : : "memory");
  return d;
}

uint32_t strlen(const char *s) {
  uint32_t n = 0;
  while (s[n]) n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, uint32_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
    if (!*a) return 0;
  }
  return 0;
}

char *fmt_dec(char *buf, uint32_t v) {
  char t[12];
  int n = 0;
  do t[n++] = '0' + v % 10; while ((v /= 10));
  for (int i = 0; i < n; i++) buf[i] = t[n - 1 - i];
  buf[n] = 0;
  return buf;
}

char *fmt_hex(char *buf, uint32_t v, int digits) {
  for (int i = 0; i < digits; i++) buf[i] = "0123456789abcdef"[(v >> ((digits - 1 - i) * 4)) & 15];
  buf[digits] = 0;
  return buf;
}
