import { expect, test } from '@playwright/test';
import { measureThreadTimes } from '../bench/cdp-threads';
import { F64, I32 } from '../src/shared/layout';
import { boot, checkFrame, serial, setDisplayMode } from './lib';

test.describe('the display', () => {
  test('in every display mode, and across switches, the canvas equals VRAM (stress workload)', async ({ page }) => {
    await boot(page, 'workload=stress&mode=poll');
    for (const mode of ['poll', 'dirty', 'dirty-idle', 'trap', 'poll', 'trap', 'dirty-idle'] as const) {
      await setDisplayMode(page, mode);
      await page.waitForTimeout(400);
      for (let k = 0; k < 2; k++) {
        const f = await checkFrame(page);
        expect(f.width).toBe(1024);
        expect(f.nonBlack).toBeGreaterThan(1000);
        expect(f.mismatches, `${mode} #${k}: ${f.detail}`).toBe(0);
        await page.waitForTimeout(150);
      }
    }
  });

  test('a panning guest is shown exactly at every offset it pans to', async ({ page }) => {
    await boot(page, 'workload=pan&mode=dirty-idle');
    const starts = new Set<number>();
    for (let k = 0; k < 6; k++) {
      await page.waitForTimeout(250);
      const f = await checkFrame(page);
      starts.add(f.start);
      expect(f.mismatches, `frame ${k} at start ${f.start}: ${f.detail}`).toBe(0);
    }
    expect(starts.size).toBeGreaterThan(1);
  });

  for (const res of ['800x600x16', '640x480x8', '1024x768x24', '640x480x15'])
    test(`at ${res} the canvas equals VRAM in poll and dirty modes`, async ({ page }) => {
      await boot(page, `workload=sprite&mode=dirty&res=${res}`);
      const [w, h, bpp] = res.split('x').map(Number);
      for (const mode of ['dirty', 'poll'] as const) {
        await setDisplayMode(page, mode);
        await page.waitForTimeout(300);
        const f = await checkFrame(page);
        expect([f.width, f.height, f.bpp]).toEqual([w, h, bpp]);
        expect(f.nonBlack).toBeGreaterThan(1000);
        expect(f.mismatches, `${mode}: ${f.detail}`).toBe(0);
      }
    });
});

test.describe('the page', () => {
  test('controls write the URL, and the URL restores them', async ({ page }) => {
    await boot(page, 'workload=static');
    await page.locator('input[name="mode"][value="poll"]').check();
    await page.getByLabel('Refresh rate').selectOption('15');
    await page.getByLabel('Workload').selectOption('sprite');
    await page.getByLabel('Clock period').selectOption('5');
    await expect.poll(() => new URL(page.url()).searchParams.get('mode')).toBe('poll');
    const url = new URL(page.url());
    expect(url.searchParams.get('hz')).toBe('15');
    expect(url.searchParams.get('workload')).toBe('sprite');
    expect(url.searchParams.get('tick')).toBe('5');
    // The workload switch reached the guest (it says so on COM1).
    await expect(page.locator('.console pre, pre').first()).toContainText('workload sprite', { timeout: 10_000 });
    await expect(page.locator('.console pre, pre').first()).toContainText('hvmos: tick 5 s');
    await page.goto(url.pathname + url.search);
    await expect(page.locator('input[name="mode"][value="poll"]')).toBeChecked();
    await expect(page.getByLabel('Refresh rate')).toHaveValue('15');
    await expect(page.getByLabel('Workload')).toHaveValue('sprite');
    await expect(page.getByLabel('Clock period')).toHaveValue('5');
    await expect.poll(() => page.evaluate(() => (globalThis as any).__hvm?.refresher()?.mode)).toBe('poll');
  });

  test('trap mode: selectable in the page and by URL, the hypervisor traps, the meter shows faults and their cost', async ({
    page,
  }) => {
    await boot(page, 'workload=sprite&mode=dirty');
    await page.locator('input[name="mode"][value="trap"]').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('mode')).toBe('trap');
    const hv = () =>
      page.evaluate(
        ([trapWord, faultSlot]) => {
          const h = (globalThis as any).__hvm;
          if (!h?.stats) return { trap: -1, faults: 0 }; // the page is still loading
          return { trap: Atomics.load(h.stats.i32, trapWord), faults: h.stats.f64[faultSlot] as number };
        },
        [I32.HV_TRAP, F64.HV_S2_FAULTS] as const,
      );
    await expect.poll(async () => (await hv()).trap).toBe(1);
    const a = await hv();
    await expect.poll(async () => (await hv()).faults, { timeout: 10_000 }).toBeGreaterThan(a.faults + 1000);
    // The meter's rows: faults per second and hypervisor time per fault, measured in trap mode.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const s = (globalThis as any).__hvm.samples().at(-1);
            return s?.mode === 'trap' ? s.hvFaultsPerS : 0;
          }),
        { timeout: 10_000 },
      )
      .toBeGreaterThan(100);
    await expect(page.locator('cpu-meter')).toContainText('second-stage faults');
    await expect(page.locator('cpu-meter')).toContainText('hypervisor time per fault');
    await expect(page.locator('cpu-meter')).toContainText('trap mode: every VRAM write faults');
    const f = await checkFrame(page);
    expect(f.mismatches, f.detail).toBe(0);
    // The URL restores it; leaving trap mode gives VRAM its write access back.
    await page.goto(new URL(page.url()).pathname + new URL(page.url()).search);
    await expect(page.locator('input[name="mode"][value="trap"]')).toBeChecked();
    await expect.poll(async () => (await hv()).trap, { timeout: 30_000 }).toBe(1);
    await setDisplayMode(page, 'dirty');
    await expect.poll(async () => (await hv()).trap).toBe(0);
  });

  test('a workload the guest switches to (key 4, a COM1 command) shows in the control, the URL and the meter', async ({
    page,
  }) => {
    await boot(page, 'workload=static');
    await page.locator('hvm-display').click();
    await page.keyboard.press('Digit4'); // hvmos: keys 1-9 choose the workloads in the control's order
    await expect(page.getByLabel('Workload')).toHaveValue('scroll', { timeout: 10_000 });
    expect(new URL(page.url()).searchParams.get('workload')).toBe('scroll');
    await serial(page, 'workload plasma');
    await expect(page.getByLabel('Workload')).toHaveValue('plasma', { timeout: 10_000 });
    expect(new URL(page.url()).searchParams.get('workload')).toBe('plasma');
    await expect(page.locator('cpu-meter')).toContainText('workload plasma');
  });

  test('a ?kernel= that names no kernel says so, and nothing runs', async ({ page }) => {
    await page.goto('/?kernel=guest/nosuch.elf');
    await expect(page.getByRole('alert')).toContainText('Could not boot the kernel guest/nosuch.elf: not found');
    await page.goto('/?kernel=coi-serviceworker.js'); // a file, but no kernel
    await expect(page.getByRole('alert')).toContainText('coi-serviceworker.js is not a kernel');
    expect(await page.evaluate(() => (globalThis as any).__hvm)).toBeUndefined();
    // Nothing runs, so Pause and Reset are off; the page offers the toy guest, which boots.
    await expect(page.getByRole('button', { name: 'Pause' })).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Reset' })).toBeDisabled();
    await page.getByRole('button', { name: 'Boot the toy guest' }).click();
    await page.waitForFunction(() => (globalThis as any).__hvm?.refresher()?.shown, null, { timeout: 30_000 });
    await expect(page.getByRole('button', { name: 'Reset' })).toBeEnabled();
    expect(new URL(page.url()).searchParams.get('kernel')).toBeNull();
  });

  test('address values the page cannot use are named with what replaces them, and hc=comlink stays', async ({
    page,
  }) => {
    await page.goto('/?mode=foo&hz=7&vram=3&res=99x99x7&hc=comlink');
    const notice = page.getByRole('status').filter({ hasText: 'The address asked for' });
    await expect(notice).toContainText('mode=foo → dirty-idle');
    await expect(notice).toContainText('hz=7 → 30');
    await expect(notice).toContainText('vram=3 → 8');
    await expect(notice).toContainText('res=99x99x7 → 1024x768x32');
    const q = new URL(page.url()).searchParams;
    expect(q.get('hc')).toBe('comlink');
    expect(q.get('hz')).toBe('30');
  });

  test('a bad kernel shows an error and the running guest keeps running', async ({ page }) => {
    await boot(page, 'workload=clock');
    // Remember the running machine's memory, to check later that it is still the one shown.
    await page.evaluate(() => ((globalThis as any).__before = (globalThis as any).__hvm.handles.memory));
    const input = page.getByLabel('Load your own kernel (Multiboot ELF)');
    await input.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await expect(page.getByRole('alert')).toContainText('not a kernel');
    // An ELF that is not a Multiboot kernel: the loader's reason is shown.
    const elf = Buffer.alloc(256);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    await input.setInputFiles({ name: 'bad.elf', mimeType: 'application/octet-stream', buffer: elf });
    await expect(page.getByRole('alert').last()).toContainText('no Multiboot header');
    const after = await page.evaluate(async () => {
      const h = (globalThis as any).__hvm;
      const n0 = h.stats.f64[0];
      await new Promise((r) => setTimeout(r, 1500));
      return {
        same: h.handles.memory === (globalThis as any).__before,
        state: Atomics.load(h.stats.i32, h.I32.STATE),
        ran: h.stats.f64[0] - n0,
      };
    });
    expect(after.state).toBe(1); // RUNNING
    expect(after.ran).toBeGreaterThan(0);
    expect(after.same).toBe(true); // the same machine, not a new one
  });

  test("the meter's ioemu figure agrees with the browser's own main-thread time", async ({ page }) => {
    // The display's refresh runs in the page's animation-frame callbacks, and the browser times
    // those itself (the trace's FireAnimationFrame). Around them the main thread also runs its own
    // frame machinery, timers and message dispatch, whatever the display does — and poll asks for
    // 30 frames a second where dirty-idle asks for none, machinery whose cost grows several-fold on
    // a loaded host (it made a comparison with the thread's whole busy time fail by 4.7 points). So
    // compare differences of the frame callbacks' time: from dirty-idle (ioemu ≈ 0) to poll (the
    // ioemu compares 8 MiB 30 times a second), the time the browser measured in them must grow by
    // what the meter says the ioemu costs.
    await boot(page, 'workload=static&mode=dirty-idle');
    const window = async () => {
      await page.waitForTimeout(2500);
      const n0 = await page.evaluate(() => (globalThis as any).__hvm.samples().length);
      const cdp = await measureThreadTimes(page, 5000, { frameCallbacks: true });
      // While the display sleeps the meter may sleep too: it reports those seconds when it wakes
      // (at its next redraw, within METER_HOLD_S).
      await expect
        .poll(() => page.evaluate(() => (globalThis as any).__hvm.samples().length), { timeout: 15_000 })
        .toBeGreaterThanOrEqual(n0 + 5);
      const samples: { ioemuPct: number; mode: string }[] = await page.evaluate(
        (n0) => (globalThis as any).__hvm.samples().slice(n0, n0 + 5),
        n0,
      );
      return {
        ioemu: samples.reduce((a, s) => a + s.ioemuPct, 0) / samples.length,
        cdp: (100 * cdp.mainBusyMs) / cdp.windowMs,
        frames: (100 * cdp.mainFrameCallbackMs!) / cdp.windowMs,
      };
    };
    const idle = await window();
    await setDisplayMode(page, 'poll');
    const poll = await window();
    const dMeter = poll.ioemu - idle.ioemu;
    const dFrames = poll.frames - idle.frames;
    console.log(
      `dirty-idle: meter ioemu ${idle.ioemu.toFixed(3)} %, CDP frame callbacks ${idle.frames.toFixed(2)} %, main ${idle.cdp.toFixed(2)} %; ` +
        `poll: meter ioemu ${poll.ioemu.toFixed(2)} %, CDP frame callbacks ${poll.frames.toFixed(2)} %, main ${poll.cdp.toFixed(2)} %; ` +
        `difference: meter ${dMeter.toFixed(2)}, CDP frame callbacks ${dFrames.toFixed(2)}, main ${(poll.cdp - idle.cdp).toFixed(2)} points`,
    );
    expect(dMeter).toBeGreaterThan(2); // poll really costs something here
    // Within 25 % of the difference, plus one point for the noise of a shared 2-core machine.
    expect(Math.abs(dFrames - dMeter)).toBeLessThanOrEqual(0.25 * dMeter + 1);
    // And the meter never claims more than the thread's whole busy time.
    expect(poll.ioemu).toBeLessThanOrEqual(poll.cdp);
  });
});

test('typing on the focused display reaches the guest as the keys typed', async ({ page }) => {
  await boot(page, 'workload=typing');
  const irq1 = () => page.evaluate(() => (globalThis as any).__hvm.stats.f64[16 + 1]);
  const before = await irq1();
  await page.locator('hvm-display').click();
  await page.keyboard.down('Shift'); // the guest keeps the shift state from the make and break codes
  await page.keyboard.press('KeyH');
  await page.keyboard.up('Shift');
  await page.keyboard.type('i 101, '); // digits are text while typing (elsewhere keys 1-9 switch workloads)
  // A key held down: the browser repeats keydown, the PS/2 keyboard (typematic off) sends one make.
  await page.keyboard.down('KeyW');
  await page.keyboard.down('KeyW');
  await page.keyboard.up('KeyW');
  await page.keyboard.type('orld;');
  await page.keyboard.press('Enter');
  // Each key is a make and a break code: at least one IRQ 1 per byte the guest reads.
  await expect.poll(irq1).toBeGreaterThanOrEqual(before + 28);
  // The same text over COM1 lands on the next row of the guest's typing window: the two rows are
  // the same pixels only if every key reached the guest as the character typed.
  await serial(page, 'Hi 101, world;');
  const rows = () =>
    page.evaluate(() => {
      const h = (globalThis as any).__hvm;
      const { memory, layout } = h.handles;
      const i32: Int32Array = h.stats.i32;
      const width = Atomics.load(i32, h.I32.VBE_XRES);
      const px = new Int32Array(memory, layout.vramOffset, layout.vramBytes >> 2);
      // hvmos's typing window: text cells of 8x16 from (48, 66), 16 pixels per row; the cursor
      // is drawn in a cell's last two lines, so compare lines 0-13 of each cell.
      const row = (r: number) => {
        const out: number[] = [];
        for (let y = 0; y < 14; y++) for (let x = 0; x < 8 * 14; x++) out.push(px[(66 + 16 * r + y) * width + 48 + x]);
        return out;
      };
      const [a, b] = [row(0), row(1)];
      return { same: a.every((v, i) => v === b[i]), inked: new Set(a).size > 1 };
    });
  await expect.poll(rows).toEqual({ same: true, inked: true });
  expect(new URL(page.url()).searchParams.get('workload')).toBe('typing');
  // Alt+digit switches even while typing; the control and the URL follow.
  await page.keyboard.down('Alt');
  await page.keyboard.press('Digit2');
  await page.keyboard.up('Alt');
  await expect.poll(() => new URL(page.url()).searchParams.get('workload')).toBe('clock');
});

test('Reset restarts the same guest with the same settings, marks the console, and the RTC reads the time now', async ({
  page,
}) => {
  await boot(page, 'workload=static');
  await serial(page, 'workload sprite');
  await expect.poll(() => new URL(page.url()).searchParams.get('workload')).toBe('sprite');
  await page.waitForTimeout(3000); // the page-load time and now are seconds apart
  const before = Math.floor(Date.now() / 1000) * 1000;
  await page.getByRole('button', { name: 'Reset' }).click();
  const pre = page.locator('.console pre');
  await expect(pre).toContainText('──── hvmos.elf booted');
  const after = (await pre.textContent())!.split('──── hvmos.elf booted').at(-1)!;
  await expect
    .poll(async () => (await pre.textContent())!.split('──── hvmos.elf booted').at(-1))
    .toContain('hvmos: workload sprite');
  expect(new URL(page.url()).searchParams.get('workload')).toBe('sprite');
  const rtc = /hvmos: RTC (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)/.exec(
    (await pre.textContent())!.split('──── hvmos.elf booted').at(-1)!,
  );
  expect(rtc, after).not.toBeNull();
  const [, y, mo, d, h, mi, se] = rtc!.map(Number);
  expect(Date.UTC(y, mo - 1, d, h, mi, se)).toBeGreaterThanOrEqual(before);
});

test('the serial console: hvmos answers help and unknown commands, and a mode set there goes into the URL', async ({
  page,
}) => {
  await boot(page, 'workload=static');
  await expect(page.locator('#com1-commands')).toContainText('workload NAME');
  await serial(page, 'help');
  await expect(page.locator('.console pre')).toContainText('hvmos: commands: help; workload NAME');
  await serial(page, 'frobnicate');
  await expect(page.locator('.console pre')).toContainText("hvmos: unknown command 'frobnicate'");
  await serial(page, 'mode 800x600x16');
  await expect.poll(() => new URL(page.url()).searchParams.get('res')).toBe('800x600x16');
});

test('a kernel of your own dropped on the screen: its output under a mark in the console, its exit status, no toy-guest controls', async ({
  page,
}) => {
  await boot(page, 'workload=static');
  await expect(page.getByLabel('Workload')).toBeEnabled();
  await expect(page.locator('.console pre')).toContainText('hvmos: workload static');
  // Dropped onto the screen (the file picker is what the triple-fault test uses).
  const kernel = await import('node:fs').then((fs) => [...fs.readFileSync('public/guest/mbtest.elf')]);
  const files = await page.evaluateHandle((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'mbtest.elf', { type: 'application/octet-stream' }));
    return dt;
  }, kernel);
  await page.locator('div.screen').dispatchEvent('dragover', { dataTransfer: files });
  await page.locator('div.screen').dispatchEvent('drop', { dataTransfer: files });
  // mbtest writes 0x10 to port 0xF4: exit status (0x10 << 1) | 1 = 33.
  await expect(page.getByText('The guest exited: it wrote 16 to port 0xF4 (exit status 33).')).toBeVisible({
    timeout: 15_000,
  });
  await expect
    .poll(async () => (await page.locator('.console pre').textContent()) ?? '')
    .toMatch(
      /hvmos: workload static\n[^]*──── mbtest\.elf booted, RAM 32 MiB, VRAM 8 MiB ────\nmbtest: hello from a Multiboot kernel/,
    );
  await expect(page.getByLabel('Workload')).toBeDisabled();
  await expect(page.getByLabel('Clock period')).toBeDisabled();
});

test('a triple fault shows the last instructions and the machine resets itself, once: a reboot loop stops it', async ({
  page,
}) => {
  await boot(page, 'workload=static');
  const kernel = await import('node:fs').then((fs) => fs.readFileSync('public/guest/triple.elf'));
  await page.getByLabel('Load your own kernel (Multiboot ELF)').setInputFiles({
    name: 'triple.elf',
    mimeType: 'application/octet-stream',
    buffer: kernel,
  });
  const alert = page.getByRole('alert').filter({ hasText: 'triple fault' });
  await expect(alert).toBeVisible({ timeout: 15_000 });
  // The report names the instructions that ran last (address: bytes, disassembled).
  await expect(alert.locator('pre')).toContainText('00100');
  // The machine was reset and ran the kernel again: its banner line appears a second time.
  await expect
    .poll(
      async () => ((await page.locator('.console pre').textContent()) ?? '').split('about to shut down').length - 1,
      {
        timeout: 15_000,
      },
    )
    .toBeGreaterThanOrEqual(2);
  // It faulted again at once: the machine stopped rather than reboot in a loop, and says so.
  await expect(alert).toContainText('reboot loop');
  await expect(page.getByText('Stopped by a triple fault.')).toBeVisible();
  await expect(alert.getByRole('button', { name: 'Restart the machine' })).toBeVisible();
});

test('a crashed worker shows a banner whose Restart button brings the machine back', async ({ page }) => {
  await boot(page, 'workload=clock');
  // The worker's own 'error' event is how a crash of ours reaches the page (nothing a guest does
  // can throw in the worker, so the test raises the event itself).
  await page.evaluate(() => {
    const h = (globalThis as any).__hvm;
    (globalThis as any).__oldMemory = h.handles.memory;
    h.worker.dispatchEvent(new ErrorEvent('error', { message: 'simulated crash' }));
  });
  const banner = page.getByRole('alert').filter({ hasText: 'The machine crashed' });
  await expect(banner).toContainText('simulated crash');
  await banner.getByRole('button', { name: 'Restart' }).click();
  await expect(banner).toHaveCount(0);
  // A new machine (new memory), running, shown.
  await page.waitForFunction(() => {
    const h = (globalThis as any).__hvm;
    return (
      !!h &&
      h.handles.memory !== (globalThis as any).__oldMemory &&
      !!h.refresher()?.shown &&
      (h.stats.i32 as Int32Array)[h.I32.STATE] === 1
    );
  });
  const f = await checkFrame(page);
  expect(f.mismatches, f.detail).toBe(0);
  expect(f.nonBlack).toBeGreaterThan(1000);
});

test('the keyboard: Tab reaches the screen, which keeps Tab; Ctrl+Alt gives the keyboard back and Tab goes on to the console and the exports', async ({
  page,
}) => {
  await boot(page, 'workload=typing');
  // The meter's export buttons are enabled once it has a sample.
  await expect.poll(() => page.evaluate(() => (globalThis as any).__hvm.samples().length)).toBeGreaterThan(0);
  /** The focused element through the shadow roots, as tag.class[aria-label]text. */
  const active = () =>
    page.evaluate(() => {
      let a = document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      if (!a) return '';
      const label = a.getAttribute('aria-label');
      return `${a.tagName.toLowerCase()}${a.classList.length ? `.${[...a.classList].join('.')}` : ''}${label ? `[${label}]` : ''}${a.textContent?.trim().slice(0, 20) ?? ''}`;
    });
  let reached = '';
  for (let i = 0; i < 40 && !reached.startsWith('canvas.screen'); i++) {
    await page.keyboard.press('Tab');
    reached = await active();
  }
  expect(reached).toMatch(/^canvas\.screen/);
  const hint = page.locator('hvm-display #release-hint');
  await expect(hint).toBeVisible();
  await page.keyboard.press('Tab'); // a key for the guest, not a way out
  expect(await active()).toMatch(/^canvas\.screen/);
  await page.keyboard.down('Control');
  await page.keyboard.down('Alt');
  await page.keyboard.up('Alt');
  await page.keyboard.up('Control');
  expect(await active()).not.toMatch(/^canvas\.screen/);
  await expect(hint).toBeHidden();
  const after: string[] = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    after.push(await active());
  }
  expect(
    after.some((a) => a.includes("Send to the guest's serial port")),
    after.join(' | '),
  ).toBe(true);
  expect(
    after.some((a) => a.includes('Export CSV')),
    after.join(' | '),
  ).toBe(true);
  expect(
    after.every((a) => !a.startsWith('canvas.screen')),
    after.join(' | '),
  ).toBe(true);
});
