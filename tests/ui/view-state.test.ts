import { describe, expect, it } from 'vitest';
import { isVideoMode, readViewState, replacedValues, writeViewState } from '../../src/ui/view-state';
import { checkConfig } from '../../src/shared/api';

describe("the page's address: one check per value", () => {
  it('takes exactly the RAM and VRAM sizes the machine takes (the same checks as checkConfig, so the CLI)', () => {
    for (let mib = 0; mib <= 300; mib++) {
      const page = readViewState(`?mem=${mib}&vram=${mib}`);
      const machine = (ramMiB: number, vramMiB: number) =>
        checkConfig({ ramMiB, vramMiB, cmdline: '', clock: 'wall', image: 'pattern' }).ok;
      expect(page.mem === mib, `mem=${mib}`).toBe(machine(mib, 8));
      expect(page.vram === mib, `vram=${mib}`).toBe(machine(32, mib));
    }
  });

  it('replaces each bad value, says which, and keeps ?hc=comlink', () => {
    const search = '?mode=foo&hz=7&vram=3&res=99x99x7&hc=comlink';
    const v = readViewState(search);
    expect(v).toMatchObject({ mode: 'dirty-idle', hz: 30, vram: 8, res: '1024x768x32', hc: 'comlink' });
    expect(replacedValues(search, v)).toEqual([
      'mode=foo → dirty-idle',
      'hz=7 → 30',
      'vram=3 → 8',
      'res=99x99x7 → 1024x768x32',
    ]);
    expect(writeViewState(v)).toContain('hc=comlink');
  });

  it('keeps the overlay over the screen in the address (overlay=tiles|heat), none by default, a bad one replaced', () => {
    expect(readViewState('').overlay).toBe('none');
    expect(writeViewState(readViewState(''))).not.toContain('overlay');
    for (const overlay of ['tiles', 'heat'] as const) {
      const v = readViewState(`?overlay=${overlay}`);
      expect(v.overlay).toBe(overlay);
      expect(readViewState(writeViewState(v)).overlay).toBe(overlay);
    }
    const bad = readViewState('?overlay=fire');
    expect(bad.overlay).toBe('none');
    expect(replacedValues('?overlay=fire', bad)).toEqual(['overlay=fire → none']);
  });

  it("keeps who decompresses Linux's kernel in the address (unpack=guest), the loader by default, a bad one replaced", () => {
    expect(readViewState('?guest=linux').unpack).toBe('host');
    expect(writeViewState(readViewState('?guest=linux'))).not.toContain('unpack');
    const v = readViewState('?guest=linux&unpack=guest');
    expect(v.unpack).toBe('guest');
    expect(readViewState(writeViewState(v)).unpack).toBe('guest');
    const bad = readViewState('?guest=linux&unpack=wasm');
    expect(bad.unpack).toBe('host');
    expect(replacedValues('?guest=linux&unpack=wasm', bad)).toEqual(['unpack=wasm → host']);
  });

  it("knows the toy guest's video modes: WxHxBPP with BPP 8, 15, 16, 24 or 32", () => {
    expect(['800x600x16', '1024x768x32', '640x480x8', '1280x1024x15'].every(isVideoMode)).toBe(true);
    expect(['800x600', '800x600x12', 'x600x16', '99x99x8', 800].some(isVideoMode)).toBe(false);
  });
});
