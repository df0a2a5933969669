/**
 * VRAM → RGBA for every Bochs VBE depth: 8 bpp through the palette (0x00RRGGBB words), 15 bpp
 * (x1r5g5b5), 16 bpp (r5g6b5), 24 bpp (B, G, R bytes) and 32 bpp (B, G, R, x). The display's
 * painter and the CLI's --screenshot share this one converter.
 */
export interface DisplayMode {
  width: number;
  height: number;
  bpp: number;
  lineBytes: number;
  start: number;
}

const expand5 = (v: number) => (v << 3) | (v >> 2);
const expand6 = (v: number) => (v << 2) | (v >> 4);

/** Converts rows [y0, y1) of the visible picture into `out` (RGBA, width × height × 4). */
export function convertRows(
  vram: Uint8Array,
  mode: DisplayMode,
  palette: Int32Array | null,
  out: Uint8ClampedArray | Uint8Array,
  y0 = 0,
  y1 = mode.height,
): void {
  const { width, bpp, lineBytes, start } = mode;
  for (let y = y0; y < y1; y++) {
    let src = start + y * lineBytes;
    let dst = y * width * 4;
    for (let x = 0; x < width; x++, dst += 4) {
      let r = 0;
      let g = 0;
      let b = 0;
      if (src < vram.length) {
        switch (bpp) {
          case 32:
          case 24:
            b = vram[src];
            g = vram[src + 1];
            r = vram[src + 2];
            src += bpp >> 3;
            break;
          case 16: {
            const v = vram[src] | (vram[src + 1] << 8);
            r = expand5(v >> 11);
            g = expand6((v >> 5) & 63);
            b = expand5(v & 31);
            src += 2;
            break;
          }
          case 15: {
            const v = vram[src] | (vram[src + 1] << 8);
            r = expand5((v >> 10) & 31);
            g = expand5((v >> 5) & 31);
            b = expand5(v & 31);
            src += 2;
            break;
          }
          default: {
            const c = palette ? palette[vram[src]] : vram[src] * 0x010101;
            r = (c >> 16) & 255;
            g = (c >> 8) & 255;
            b = c & 255;
            src += 1;
          }
        }
      }
      out[dst] = r;
      out[dst + 1] = g;
      out[dst + 2] = b;
      out[dst + 3] = 255;
    }
  }
}

/**
 * The display's hot path: converts the rectangle [x0, x1) × [y0, y1) of the visible picture into
 * `out`, a Uint32Array view of an RGBA image `width` pixels wide (one word per pixel, 0xAABBGGRR:
 * the byte order of ImageData on the little-endian hosts every browser runs on). One loop per
 * depth so each stays monomorphic; 32 bpp reads VRAM a dword at a time when it is aligned.
 */
export function convertRect(
  vram: Uint8Array,
  vram32: Uint32Array,
  mode: DisplayMode,
  palette: Int32Array,
  out: Uint32Array,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
): void {
  const { width, bpp, lineBytes, start } = mode;
  for (let y = y0; y < y1; y++) {
    const line = start + y * lineBytes;
    let d = y * width + x0;
    switch (bpp) {
      case 32: {
        let s = line + x0 * 4;
        if ((s & 3) === 0) {
          for (let w = s >> 2, end = w + (x1 - x0); w < end; w++, d++) {
            const v = vram32[w];
            out[d] = 0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >>> 16) & 0xff);
          }
        } else {
          for (let x = x0; x < x1; x++, s += 4, d++)
            out[d] = 0xff000000 | (vram[s] << 16) | (vram[s + 1] << 8) | vram[s + 2];
        }
        break;
      }
      case 24:
        for (let x = x0, s = line + x0 * 3; x < x1; x++, s += 3, d++)
          out[d] = 0xff000000 | (vram[s] << 16) | (vram[s + 1] << 8) | vram[s + 2];
        break;
      case 16:
        for (let x = x0, s = line + x0 * 2; x < x1; x++, s += 2, d++) {
          const v = vram[s] | (vram[s + 1] << 8);
          out[d] = 0xff000000 | (expand5(v & 31) << 16) | (expand6((v >> 5) & 63) << 8) | expand5(v >> 11);
        }
        break;
      case 15:
        for (let x = x0, s = line + x0 * 2; x < x1; x++, s += 2, d++) {
          const v = vram[s] | (vram[s + 1] << 8);
          out[d] = 0xff000000 | (expand5(v & 31) << 16) | (expand5((v >> 5) & 31) << 8) | expand5((v >> 10) & 31);
        }
        break;
      default:
        for (let x = x0, s = line + x0; x < x1; x++, s++, d++) {
          const c = palette[vram[s]];
          out[d] = 0xff000000 | ((c & 0xff) << 16) | (c & 0xff00) | ((c >>> 16) & 0xff);
        }
    }
  }
}
