import { describe, expect, it } from 'vitest';
import {
  cdImageProblem,
  diskImageProblem,
  diskMachineConfig,
  diskNameOf,
  isBootableCd,
  isCdImageName,
  isDiskImageName,
} from '../../src/ui/disk-guest';
import { buildIso } from '../../scripts/guest-cd/iso9660';
import { readViewState, replacedValues, writeViewState } from '../../src/ui/view-state';
import { DISK_GUEST, LINUX_GUEST } from '../../src/ui/guests';
import { checkConfig, MAX_DISK_BYTES } from '../../src/shared/api';

const bootable = (bytes: number) => {
  const b = new Uint8Array(bytes);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b.buffer;
};

describe('a disk image of one\'s own for the "BIOS + disk" guest', () => {
  it('is refused with the reason when it is not whole sectors, empty or has no boot signature', () => {
    expect(diskImageProblem('odd.img', 1000, bootable(512))).toBe(
      'The disk image odd.img is 1000 bytes, not a whole number of 512-byte sectors (as a raw disk image is).',
    );
    expect(diskImageProblem('none.img', 0, new ArrayBuffer(0))).toBe('The disk image none.img is empty.');
    expect(diskImageProblem('blank.img', 4096, new ArrayBuffer(512))).toMatch(
      /^blank\.img is not a bootable disk: its first sector \(the MBR\) does not end in the boot signature 55 AA/,
    );
  });

  it('is taken when it is whole sectors with 55 AA at byte 510, larger than memory holds too (it is read by slices)', () => {
    expect(diskImageProblem('ok.img', 512, bootable(512))).toBeNull();
    expect(diskImageProblem('ok.img', 1 << 20, bootable(512))).toBeNull();
    expect(diskImageProblem('huge.img', MAX_DISK_BYTES + 512, bootable(512))).toBeNull();
  });

  it("is told from a kernel by its name (the raw format's usual extensions)", () => {
    for (const n of ['a.img', 'B.IMG', 'c.raw', 'd.hdd', 'e.dsk']) expect(isDiskImageName(n)).toBe(true);
    for (const n of ['vmlinuz', 'hvmos.elf', 'bios.bin', 'img']) expect(isDiskImageName(n)).toBe(false);
    expect(diskNameOf('guest/disk/linux.img')).toBe('linux.img');
    expect(diskNameOf('https://example.org/d/x.img?v=2#a')).toBe('x.img');
  });

  it('boots through SeaBIOS from IDE: a firmware machine with the VGA BIOS, the disk, and the hard disk first', () => {
    const vgaBios = new ArrayBuffer(512);
    const hda = bootable(512);
    const c = diskMachineConfig({ ramMiB: 64, vramMiB: 8, cmdline: '', image: 'multiboot', clock: 'wall' }, vgaBios, {
      hda,
    });
    expect(c).toMatchObject({ image: 'firmware', vgaBios, hda, boot: 'c', debugconPort: 0x402, ramMiB: 64 });
    expect(c.cdrom).toBeNull(); // an empty CD-ROM drive, for a disc put in while it runs
    expect(checkConfig(c).ok).toBe(true);
  });
});

describe('a CD image of one\'s own in the "BIOS + disk" guest\'s ATAPI drive', () => {
  const iso = buildIso('T', new Uint8Array(512), []).image;
  const cdrom = iso.slice().buffer;
  const base = { ramMiB: 64, vramMiB: 8, cmdline: '', image: 'multiboot', clock: 'wall' } as const;

  it('is told by its name (.iso) and by its El Torito boot record in sector 17', () => {
    expect(isCdImageName('debian.ISO')).toBe(true);
    expect(isCdImageName('disk.img')).toBe(false);
    expect(isBootableCd(cdrom)).toBe(true);
    expect(isBootableCd(new ArrayBuffer(40 * 2048))).toBe(false);
  });

  it('is refused with the reason when not whole 2048-byte sectors, or not bootable with no disk to boot', () => {
    expect(cdImageProblem('odd.iso', new ArrayBuffer(3000), false)).toBe(
      'The CD image odd.iso is 3000 bytes, not a whole number of 2048-byte sectors (as an ISO image is).',
    );
    expect(cdImageProblem('data.iso', new ArrayBuffer(40 * 2048), false)).toMatch(
      /^data\.iso is not a bootable CD: it has no El Torito boot record/,
    );
    expect(cdImageProblem('data.iso', new ArrayBuffer(40 * 2048), true)).toBeNull();
    expect(cdImageProblem('boot.iso', cdrom, false)).toBeNull();
  });

  it('boots first (boot order d, then c with a disk), the CD in the config', () => {
    const vgaBios = new ArrayBuffer(512);
    const alone = diskMachineConfig(base, vgaBios, { cdrom });
    expect(alone).toMatchObject({ image: 'firmware', cdrom, boot: 'd' });
    expect('hda' in alone).toBe(false);
    expect(checkConfig(alone).ok).toBe(true);
    const both = diskMachineConfig(base, vgaBios, { hda: bootable(512), cdrom });
    expect(both.boot).toBe('dc');
    expect(checkConfig(both).ok).toBe(true);
  });
});

describe('the address of the "BIOS + disk" guest', () => {
  it("?guest=disk: the committed disk, with Linux's RAM; written back as it was read", () => {
    const v = readViewState('?guest=disk');
    expect([v.kernel, v.hda, v.mem]).toEqual([DISK_GUEST.id, null, LINUX_GUEST.minRamMiB]);
    const again = readViewState(writeViewState(v));
    expect([again.kernel, again.hda]).toEqual([DISK_GUEST.id, null]);
  });

  it("?hda=URL (QEMU's word) boots that disk, and stays in the address", () => {
    const v = readViewState('?hda=disks/mine.img');
    expect([v.kernel, v.hda]).toEqual([DISK_GUEST.id, 'disks/mine.img']);
    const q = new URLSearchParams(writeViewState(v));
    expect([q.get('guest'), q.get('hda')]).toEqual(['disk', 'disks/mine.img']);
    expect(replacedValues('?hda=disks/mine.img', v)).toEqual([]);
  });

  it("?cdrom=URL (QEMU's word) boots that CD in the disk guest, with ?hda= or alone; it stays in the address", () => {
    const v = readViewState('?cdrom=cds/live.iso');
    expect([v.kernel, v.hda, v.cdrom]).toEqual([DISK_GUEST.id, null, 'cds/live.iso']);
    const q = new URLSearchParams(writeViewState(v));
    expect([q.get('guest'), q.get('cdrom'), q.has('hda')]).toEqual(['disk', 'cds/live.iso', false]);
    const both = readViewState('?hda=d.img&cdrom=c.iso');
    expect([both.hda, both.cdrom]).toEqual(['d.img', 'c.iso']);
    expect(readViewState('?guest=linux&cdrom=c.iso').kernel).toBe(DISK_GUEST.id);
  });

  it('another guest has no disk', () => {
    expect(readViewState('?guest=linux').hda).toBeNull();
    expect(
      new URLSearchParams(writeViewState({ ...readViewState('?hda=x.img'), kernel: 'guest/hvmos.elf' })).has('hda'),
    ).toBe(false);
  });
});
