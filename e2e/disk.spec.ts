/**
 * The "BIOS + disk" guest: SeaBIOS (Debian's, served by the page's server from .cache/seabios/)
 * boots a hard disk from IDE with its VGA BIOS: the committed Linux disk (`?guest=disk`), or a
 * disk image of one's own picked with the disk picker, which can be saved as the guest left it.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { boot } from './lib';
import { bootableCd } from '../tests/boot/cd-boot-image';

/** The text screen's rows as the page shows them: the display state the refresher last drew, its characters from VRAM (plane 0). */
const screenRows = (page: Page) =>
  page.evaluate(() => {
    const h = (globalThis as any).__hvm;
    const s = h?.refresher()?.shown;
    if (!s || s.kind !== 'text') return [] as string[];
    const { memory, layout } = h.handles;
    const v = new Uint8Array(memory, layout.vramOffset, layout.vramBytes);
    return Array.from({ length: s.text.rows }, (_, row) =>
      String.fromCharCode(
        ...Array.from({ length: s.text.cols }, (_, col) => v[s.start + row * s.lineBytes + col * 4] || 32),
      ).trimEnd(),
    );
  });

/** The canvas's colours in a box, counted ("r,g,b": pixels). */
const canvasColours = (page: Page, x0: number, y0: number, w: number, h: number) =>
  page.evaluate(
    ([x0, y0, w, h]) => {
      const canvas: HTMLCanvasElement = (globalThis as any).__hvm.display.renderRoot.querySelector('canvas.screen');
      const d = canvas.getContext('2d')!.getImageData(x0, y0, w, h).data;
      const n: Record<string, number> = {};
      for (let i = 0; i < d.length; i += 4) {
        const k = `${d[i]},${d[i + 1]},${d[i + 2]}`;
        n[k] = (n[k] ?? 0) + 1;
      }
      return { width: canvas.width, height: canvas.height, colours: n };
    },
    [x0, y0, w, h] as const,
  );

test('?guest=disk: SeaBIOS boots the committed disk from IDE; its banner and SYSLINUX loading Linux show on the VGA text screen', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await boot(page, 'guest=disk', { needMode: false });
  // SeaBIOS, then SYSLINUX loading 6.8 MB through INT 13h: about 30 M instructions.
  await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('Loading /initrd.gz...ok');
  await page.evaluate(() => (globalThis as any).__hvm.api.pause());
  const rows = await screenRows(page);
  expect(rows[0]).toMatch(/^SeaBIOS \(version 1\.16\.\d+-debian/);
  expect(rows).toContain('Booting from Hard Disk...');
  expect(rows.some((r) => /^SYSLINUX 6\.04 /.test(r))).toBe(true);
  expect(rows).toContain('Loading /vmlinuz... ok');
  // On the canvas: 80×25 cells of 9×16; the banner's row grey (VGA colour 7) on black, with
  // enough grey for its ~40 characters; the last row empty.
  const banner = await canvasColours(page, 0, 0, 720, 16);
  expect([banner.width, banner.height]).toEqual([720, 400]);
  expect(Object.keys(banner.colours).sort()).toEqual(['0,0,0', '170,170,170']);
  expect(banner.colours['170,170,170']).toBeGreaterThan(40 * 10);
  expect(Object.keys((await canvasColours(page, 0, 384, 720, 16)).colours)).toEqual(['0,0,0']);
  await expect(page.getByText('Guest: SeaBIOS + disk (linux.img).')).toBeVisible();
  expect(page.url()).toContain('guest=disk');
});

/**
 * A 1 MiB disk whose MBR prints a line through INT 10h, reads sector 1 through INT 13h (AH=02h) and
 * says "SECTOR 1 KEPT" if it already holds a boot sector, then writes itself there (AH=03h), says
 * so and halts. Assembled (GNU as, .code16, linked at 0x7C00) from:
 *   xor ax,ax; mov ds/es/ss,ax; mov sp,0x7c00; mov si,msg; call print
 *   mov ax,0x0201; mov cx,2; mov dx,0x80; mov bx,0x7e00; int 0x13; jc hang
 *   cmp word [0x7ffe],0xaa55; jne fresh; mov si,kept; call print
 *   fresh: mov ax,0x0301; mov cx,2; mov dx,0x80; mov bx,0x7c00; int 0x13; jc hang
 *   mov si,wrote; call print; hang: hlt; jmp hang
 *   print: lodsb; test al,al; jz ret; mov ah,0x0e; mov bx,7; int 0x10; jmp print
 *   msg: "HVM DISK TEST\r\n"  kept: "SECTOR 1 KEPT\r\n"  wrote: "SECTOR 1 WRITTEN"  (55 AA at 510)
 */
const MBR_CODE =
  '31c08ed88ec08ed0bc007cbe577ce83700b80102b90200ba8000bb007ecd137224813efe7f55aa7506be677ce81900b80103b90200ba8000' +
  'bb007ccd137206be777ce80300f4ebfdac84c07409b40ebb0700cd10ebf2c348564d204449534b20544553540d0a00534543544f5220312' +
  '04b4550540d0a00534543544f522031205752495454454e00';
function testDisk(): Buffer {
  const disk = Buffer.alloc(1 << 20);
  Buffer.from(MBR_CODE, 'hex').copy(disk);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}

test('the disk picker: a bad image is refused with the reason, a good one boots, the disk is saved as the guest left it, and Reset keeps its writes', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await boot(page, 'guest=disk', { needMode: false });
  const picker = page.getByLabel('Load your own kernel (Multiboot ELF)');
  await picker.setInputFiles({ name: 'odd.img', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1000) });
  await expect(page.getByRole('alert')).toContainText(
    'The disk image odd.img is 1000 bytes, not a whole number of 512-byte sectors',
  );
  await expect(page.getByRole('alert')).toContainText('The running guest was left as it was.');
  await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
  await picker.setInputFiles({ name: 'blank.img', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096) });
  await expect(page.getByRole('alert')).toContainText('blank.img is not a bootable disk');
  await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();

  const disk = testDisk();
  await picker.setInputFiles({ name: 'mine.img', mimeType: 'application/octet-stream', buffer: disk });
  await expect(page.getByText('Guest: SeaBIOS + disk (mine.img).')).toBeVisible();
  await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('SECTOR 1 WRITTEN');
  expect(await screenRows(page)).toContain('HVM DISK TEST');
  expect(await screenRows(page)).not.toContain('SECTOR 1 KEPT');

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Save disk' }).click();
  const saved = readFileSync(await (await download).path());
  expect((await download).suggestedFilename()).toBe('mine.img');
  expect(saved.length).toBe(disk.length);
  // Sector 1 holds what the guest wrote there (its MBR); every other byte is the image's.
  expect(saved.subarray(512, 1024).equals(disk.subarray(0, 512))).toBe(true);
  expect(
    Buffer.concat([saved.subarray(0, 512), saved.subarray(1024)]).equals(
      Buffer.concat([disk.subarray(0, 512), disk.subarray(1024)]),
    ),
  ).toBe(true);
  // Reset boots a new machine with the disk as the guest left it: the MBR finds its copy.
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('SECTOR 1 KEPT');
});

test('a CD image loaded as a file boots through SeaBIOS from the ATAPI drive; then the CD picker shows and refuses a bad ISO with the reason, Change CD… puts another disc in without a reboot, Reset boots that one, and Eject CD empties the drive', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await boot(page, '', { needMode: false });
  // The CD choice belongs to the BIOS + disk guest: not offered while the toy guest runs.
  await expect(page.getByRole('button', { name: 'CD…', exact: true })).toHaveCount(0);
  const iso = Buffer.from(bootableCd('HELLO FROM THE CD\r\n', 'HELLO.TXT READ THROUGH INT 13H'));
  await page
    .getByLabel('Load your own kernel (Multiboot ELF)')
    .setInputFiles({ name: 'hello.iso', mimeType: 'application/octet-stream', buffer: iso });
  await expect(page.getByText('Guest: SeaBIOS + CD (hello.iso).')).toBeVisible();
  await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('HELLO.TXT READ THROUGH INT 13H');
  expect(await screenRows(page)).toContain('Booting from DVD/CD...');
  expect(await screenRows(page)).toContain('HELLO FROM THE CD');

  await expect(page.getByRole('button', { name: 'CD…', exact: true })).toBeVisible();
  const picker = page.getByLabel('Load a CD image (ISO)');
  await picker.setInputFiles({ name: 'odd.iso', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3000) });
  await expect(page.getByRole('alert')).toContainText(
    'The CD image odd.iso is 3000 bytes, not a whole number of 2048-byte sectors',
  );
  await expect(page.getByRole('alert')).toContainText('The running guest was left as it was.');
  await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();

  // The same lines on COM1. Change CD… puts another disc in the running machine's drive: no
  // reboot (the screen and the console keep the first CD's lines, once), the status line names it.
  const console = page.locator('.console pre');
  await expect(console).toContainText('HELLO.TXT READ THROUGH INT 13H');
  const second = Buffer.from(bootableCd('HELLO FROM THE SECOND CD\r\n', 'SECOND.TXT'));
  await page
    .getByLabel('Change the CD in the drive (ISO)')
    .setInputFiles({ name: 'second.iso', mimeType: 'application/octet-stream', buffer: second });
  await expect(page.getByText('Guest: SeaBIOS + CD (second.iso).')).toBeVisible();
  expect(await screenRows(page)).toContain('HELLO FROM THE CD');
  expect((await console.textContent())?.split('HELLO.TXT READ THROUGH INT 13H').length).toBe(2);
  // Reset boots a new machine with the disc now in the drive: the second CD's lines come.
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(console).toContainText('HELLO FROM THE SECOND CD', { timeout: 60_000 });
  await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('SECOND.TXT');
  await expect(page.getByText('Guest: SeaBIOS + CD (second.iso).')).toBeVisible();
  // Eject CD takes the disc out: the status line says so and the button goes.
  await page.getByRole('button', { name: 'Eject CD' }).click();
  await expect(page.getByText('Guest: SeaBIOS + CD (no disc).')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Eject CD' })).toHaveCount(0);
});

test("?cdrom=URL (QEMU's word) boots that CD through SeaBIOS, and stays in the address", async ({ page }) => {
  test.setTimeout(120_000);
  const iso = Buffer.from(bootableCd('HELLO FROM A URL\r\n', 'ITS FILE THROUGH INT 13H'));
  await page.route('**/cds/hello.iso', (route) =>
    route.fulfill({ body: iso, headers: { 'content-type': 'application/octet-stream' } }),
  );
  await boot(page, 'cdrom=cds/hello.iso', { needMode: false });
  await expect(page.getByText('Guest: SeaBIOS + CD (hello.iso).')).toBeVisible();
  await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('ITS FILE THROUGH INT 13H');
  expect(await screenRows(page)).toContain('HELLO FROM A URL');
  expect(new URL(page.url()).searchParams.get('cdrom')).toBe('cds/hello.iso');
});

/**
 * A server for one disk image on its own port, answering Range requests (206 with Content-Range)
 * as a static file server does, with CORS for the page's origin; it counts the image's bytes it
 * sent, so the test sees what the machine read independently of the machine's own count.
 */
async function rangeServer(image: Buffer): Promise<{ url: string; sent: () => number; close: () => void }> {
  let sent = 0;
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Range');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Accept-Ranges', 'bytes');
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) {
      sent += image.length;
      return res.writeHead(200, { 'Content-Length': image.length }).end(image);
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), image.length - 1);
    const part = image.subarray(start, end + 1);
    sent += part.length;
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${image.length}`, 'Content-Length': part.length });
    res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/big.img`, sent: () => sent, close: () => server.close() };
}

test('?hda=URL of a large image: the machine reads it by ranges, SeaBIOS and SYSLINUX boot from it fetching a small part, and Save disk gives the whole image', async ({
  page,
}) => {
  test.setTimeout(120_000);
  // The committed disk grown to 64 MiB with zeros (its partition ends where it did): above the
  // 32 MiB a URL's image is read whole below.
  const committed = readFileSync('public/guest/disk/linux.img');
  const image = Buffer.alloc(64 << 20);
  committed.copy(image);
  const server = await rangeServer(image);
  try {
    await boot(page, `hda=${encodeURIComponent(server.url)}`, { needMode: false });
    await expect.poll(() => screenRows(page), { timeout: 60_000 }).toContain('Loading /initrd.gz...ok');
    await page.evaluate(() => (globalThis as any).__hvm.api.pause());
    const state = await page.evaluate(() => (globalThis as any).__hvm.api.hdaState());
    expect(state.ok).toBe(true);
    expect(state.value.byteLength).toBe(image.length);
    // The server sent the page's first sector and the machine's chunks, and no more.
    expect(server.sent()).toBe(512 + state.value.bytesFetched);
    // SYSLINUX read the kernel and initramfs (most of the committed disk), not the 64 MiB.
    expect(state.value.bytesFetched).toBeGreaterThan(committed.length / 2);
    expect(state.value.bytesFetched).toBeLessThan(image.length / 4);
    console.log(`hda by ranges: ${state.value.bytesFetched} of ${image.length} bytes fetched to SYSLINUX's initrd`);

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Save disk' }).click();
    const saved = readFileSync(await (await download).path());
    expect((await download).suggestedFilename()).toBe('big.img');
    expect(saved.equals(image)).toBe(true);
  } finally {
    server.close();
  }
});
