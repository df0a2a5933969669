/**
 * Main-thread time of the page's own chrome (the overlay, the meter's table and chart), kept
 * apart from the ioemu's: the meter's "meter + page" line. Whoever draws adds what it spent; the
 * meter reads the total once a second. One account for the page, as the main thread is one.
 */
let spentMs = 0;

/** Charge ms of main-thread time to the page's chrome. */
export function addPageTime(ms: number): void {
  spentMs += ms;
}

/** The page's chrome time so far, ms. */
export function pageTimeMs(): number {
  return spentMs;
}
