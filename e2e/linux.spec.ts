/**
 * Debian's Linux in the page (`?guest=linux`), end to end in Chromium: it boots to the BusyBox
 * shell, a command typed on the display (keyboard events on the canvas: PS/2 set 2 → i8042 →
 * atkbd) runs in tty1's shell, and its output shows on COM1 and on the canvas; a display scenario
 * chosen in the page's control is typed into the serial shell.
 *
 * Tagged @linux: the page boots Linux in about a minute (many on a loaded machine); E2E_LINUX=0
 * leaves it out (playwright.config.ts), `npx playwright test --grep @linux` runs it alone.
 * The test prints how long the boot and each step took.
 */
import { expect, test, type Page } from '@playwright/test';
import { checkFrame, serial } from './lib';

/** US layout: the characters typed with Shift, and the key each is on. */
const SHIFTED: Record<string, string> = { $: 'Digit4', '(': 'Digit9', ')': 'Digit0', '*': 'Digit8', '|': 'Backslash' };

/**
 * Type on the focused display, Shift held for capitals and the shifted characters: the page sends
 * the keys' codes (KeyboardEvent.code), and the guest keeps the shift state from their make and
 * break codes, so a capital typed without Shift would reach it in lower case.
 */
async function typeOnDisplay(page: Page, text: string): Promise<void> {
  for (const ch of text) {
    const key = SHIFTED[ch] ?? (/[A-Z]/.test(ch) ? `Key${ch}` : null);
    if (key) {
      await page.keyboard.down('Shift');
      await page.keyboard.press(key);
      await page.keyboard.up('Shift');
    } else await page.keyboard.type(ch);
  }
}

const comText = (page: Page) => page.locator('section.console pre').innerText();

/**
 * The canvas's text rows (fbcon's 8x16 font): for each 16-pixel row, whether any pixel is lit;
 * and the RGBA of one cell block (row, first column, columns) to compare two places.
 */
async function canvasText(page: Page, cells: { row: number; col: number; n: number }[]) {
  return page.evaluate((cells) => {
    const h = (globalThis as any).__hvm;
    const canvas: HTMLCanvasElement = h.display.renderRoot.querySelector('canvas.screen');
    const { width, height } = canvas;
    const px = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    const lit = (x: number, y: number) => px[(y * width + x) * 4] + px[(y * width + x) * 4 + 1] > 0;
    const rows: boolean[] = [];
    for (let r = 0; r < Math.floor(height / 16); r++) {
      let any = false;
      for (let y = r * 16; y < r * 16 + 16 && !any; y++) for (let x = 0; x < width && !any; x++) any = lit(x, y);
      rows.push(any);
    }
    const blocks = cells.map(({ row, col, n }) => {
      const out: number[] = [];
      for (let y = row * 16; y < row * 16 + 16; y++)
        for (let x = col * 8; x < (col + n) * 8; x++) out.push(lit(x, y) ? 1 : 0);
      return out;
    });
    return { rows, blocks };
  }, cells);
}

test('@linux Debian Linux boots in the page; a command typed on the display answers on COM1 and on the canvas', async ({
  page,
}) => {
  test.setTimeout(15 * 60_000);
  const t0 = Date.now();
  const took = (what: string) => console.log(`  linux e2e: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await page.goto('/?guest=linux&mode=dirty-idle');
  // The page's scenario driver sees the serial shell's prompt.
  await page.waitForFunction(() => (globalThis as any).__hvm?.linux?.ready, null, {
    timeout: 14 * 60_000,
    polling: 1000,
  });
  took('serial shell prompt');
  // Kernel messages off the consoles: a late one on tty1 would move the lines compared below.
  await serial(page, 'dmesg -n 1');
  // Keys typed before tty1's shell has the terminal open could be flushed when init's banner
  // closes it: wait until a process has tty1 as its standard input.
  await serial(
    page,
    'until ls -l /proc/[0-9]*/fd/0 2>/dev/null | grep -q tty1; do sleep 1; done; echo tty1-$((1+1))-up',
  );
  await expect.poll(() => comText(page), { timeout: 120_000 }).toMatch(/^tty1-2-up$/m);
  took("tty1's shell up");
  // The serial line's example is a shell command here, not an hvmos one.
  await expect(page.locator('serial-console input')).toHaveAttribute('placeholder', /uname -a/);

  await test.step('a command typed on the display runs in tty1 and writes to COM1 and to the screen', async () => {
    await page.locator('hvm-display').click();
    // The shell computes 42: the page never sent "42" itself.
    await typeOnDisplay(page, 'echo e2e-$((6*7)) | tee /dev/ttyS0');
    await page.keyboard.press('Enter');
    // On COM1 after its shell's prompt ("/ # "), which sits there waiting.
    await expect.poll(() => comText(page), { timeout: 120_000 }).toMatch(/(^|# )e2e-42$/m);
    took('the display typed command answered on COM1');
    // The same text again, from COM1's shell straight to tty1 after its prompt: the canvas shows it
    // in the same pixels as the output line above only if that line is "e2e-42" in fbcon's font.
    await serial(page, 'printf e2e-42 >/dev/tty1');
    await expect
      .poll(
        async () => {
          const { rows } = await canvasText(page, []);
          const last = rows.lastIndexOf(true);
          if (last < 1) return 'no text';
          const [out, again] = (
            await canvasText(page, [
              { row: last - 1, col: 0, n: 6 },
              { row: last, col: 4, n: 6 },
            ])
          ).blocks;
          const lit = out.reduce((a, b) => a + b, 0);
          return lit > 0 && out.every((v, i) => v === again[i]) ? 'same' : `differ (${lit} lit)`;
        },
        { timeout: 60_000 },
      )
      .toBe('same');
    took('the output seen on the canvas');
    const frame = await checkFrame(page);
    expect(frame.mismatches, frame.detail).toBe(0);
  });

  await test.step('a scenario chosen in the workload control is typed into the serial shell and kept in the URL', async () => {
    await page.getByLabel('Workload').selectOption('noblink');
    await page.waitForFunction(() => (globalThis as any).__hvm.linux.settled, null, { timeout: 120_000 });
    expect(new URL(page.url()).searchParams.get('workload')).toBe('noblink');
    await serial(page, 'echo blink=$(cat /sys/class/graphics/fbcon/cursor_blink)');
    await expect.poll(() => comText(page), { timeout: 60_000 }).toMatch(/^blink=0$/m);
    took('noblink applied');
  });
});
