/* The drawing library: filled rectangles, lines, blits and 8x16 text on a linear framebuffer of
 * 8 (DAC palette, RGB 3-3-2), 15, 16, 24 or 32 bits per pixel. Colours are 0xRRGGBB everywhere;
 * gfx_pixel() turns one into the mode's pixel value. It lives in the user segment, so ring-3 tasks
 * and the kernel (the draw system call) run the same code. */
#ifndef HVMOS_GFX_H
#define HVMOS_GFX_H
#include <stdint.h>

struct fb {
  uint8_t *base;   /* virtual address of the first byte of VRAM */
  int width, height; /* visible mode */
  int vheight;     /* lines that fit in VRAM (virtual height, for panning) */
  int pitch;       /* bytes per line */
  int bpp;         /* 8, 15, 16, 24, 32 */
  int bytespp;
  uint32_t vram_bytes;
};

extern const unsigned char font8x16[95][16];

uint32_t gfx_pixel(const struct fb *fb, uint32_t rgb);
void gfx_fill(const struct fb *fb, int x, int y, int w, int h, uint32_t rgb);
void gfx_line(const struct fb *fb, int x0, int y0, int x1, int y1, uint32_t rgb);
/* Text at (x, y) scaled by an integer factor; bg of GFX_CLEAR draws only the set bits. */
#define GFX_CLEAR 0xffffffffu
void gfx_text(const struct fb *fb, int x, int y, const char *s, uint32_t fg, uint32_t bg, int scale);
/* A w x h block of 0xRRGGBB source pixels (stride in pixels). */
void gfx_blit(const struct fb *fb, int x, int y, int w, int h, const uint32_t *src, int stride);

void *memset(void *d, int c, uint32_t n);
void *memcpy(void *d, const void *s, uint32_t n);
void *memmove(void *d, const void *s, uint32_t n);
uint32_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, uint32_t n);
/* Small formatting helpers (no libc): decimal and zero-padded hex into buf, returning buf. */
char *fmt_dec(char *buf, uint32_t v);
char *fmt_hex(char *buf, uint32_t v, int digits);
#endif
