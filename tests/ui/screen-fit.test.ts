import { describe, expect, it } from 'vitest';
import { greatestFit } from '../../src/ui/screen-fit';

const XGA = { width: 1024, height: 768 };
/** Text under the screen as the page has it at 1366×900: two lines from 760 px, three from 725, four below. */
const below = (w: number) => (w >= 760 ? 203 : w >= 725 ? 218 : 233);

describe('the screen box, with text under the screen that wraps at the screen’s width', () => {
  it('is the largest screen whose text, wrapped at its own width, fits: 729 px, not the 709 px a narrower start also rests at', () => {
    // Both 729 (text on 3 lines, box 547 px high) and 709 (4 lines, 532) reproduce themselves
    // when measured as laid out; which one the page showed depended on where it started.
    expect(greatestFit(994, 765, XGA, below)).toBe(729);
    expect(Math.floor(1024 * ((765 - below(729)) / 768))).toBe(729);
    expect(Math.floor(1024 * ((765 - below(709)) / 768))).toBe(709);
  });

  it('is the width of the box when the picture is limited by width, not height', () => {
    expect(greatestFit(600, 2000, XGA, below)).toBe(600);
  });

  it('gives up (null) when the text leaves the screen lower than the least height', () => {
    expect(greatestFit(994, 600, XGA, below, 400)).toBeNull();
    expect(greatestFit(994, 700, XGA, below, 400)).not.toBeNull();
  });

  it('scales an 800×600 picture into the same box as a 1024×768 one', () => {
    const w = greatestFit(994, 765, { width: 800, height: 600 }, below)!;
    expect(Math.abs(w - 729)).toBeLessThanOrEqual(1);
  });
});
