/**
 * The page's keys reach the guest as the PC's set-1 scancodes: the page sends what a PS/2 keyboard
 * sends (set 2) and the i8042 translates. The reference is the set-1 table every PC guest decodes
 * (hvmos's own keyboard driver among them), independent of both tables under test.
 */
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/machine/bus';
import { I8042 } from '../../src/machine/devices/i8042';
import { KEY_CODES, scancodesFor } from '../../src/ui/scancodes';

// prettier-ignore
const SET1: Record<string, number> = {
  Escape: 0x01, Digit1: 0x02, Digit2: 0x03, Digit3: 0x04, Digit4: 0x05, Digit5: 0x06, Digit6: 0x07,
  Digit7: 0x08, Digit8: 0x09, Digit9: 0x0a, Digit0: 0x0b, Minus: 0x0c, Equal: 0x0d, Backspace: 0x0e,
  Tab: 0x0f, KeyQ: 0x10, KeyW: 0x11, KeyE: 0x12, KeyR: 0x13, KeyT: 0x14, KeyY: 0x15, KeyU: 0x16,
  KeyI: 0x17, KeyO: 0x18, KeyP: 0x19, BracketLeft: 0x1a, BracketRight: 0x1b, Enter: 0x1c,
  ControlLeft: 0x1d, KeyA: 0x1e, KeyS: 0x1f, KeyD: 0x20, KeyF: 0x21, KeyG: 0x22, KeyH: 0x23,
  KeyJ: 0x24, KeyK: 0x25, KeyL: 0x26, Semicolon: 0x27, Quote: 0x28, Backquote: 0x29,
  ShiftLeft: 0x2a, Backslash: 0x2b, KeyZ: 0x2c, KeyX: 0x2d, KeyC: 0x2e, KeyV: 0x2f, KeyB: 0x30,
  KeyN: 0x31, KeyM: 0x32, Comma: 0x33, Period: 0x34, Slash: 0x35, ShiftRight: 0x36,
  NumpadMultiply: 0x37, AltLeft: 0x38, Space: 0x39, CapsLock: 0x3a, F1: 0x3b, F2: 0x3c, F3: 0x3d,
  F4: 0x3e, F5: 0x3f, F6: 0x40, F7: 0x41, F8: 0x42, F9: 0x43, F10: 0x44, NumLock: 0x45,
  ScrollLock: 0x46, Numpad7: 0x47, Numpad8: 0x48, Numpad9: 0x49, NumpadSubtract: 0x4a,
  Numpad4: 0x4b, Numpad5: 0x4c, Numpad6: 0x4d, NumpadAdd: 0x4e, Numpad1: 0x4f, Numpad2: 0x50,
  Numpad3: 0x51, Numpad0: 0x52, NumpadDecimal: 0x53, IntlBackslash: 0x56, F11: 0x57, F12: 0x58,
};
// prettier-ignore
const SET1_E0: Record<string, number> = {
  NumpadEnter: 0x1c, ControlRight: 0x1d, NumpadDivide: 0x35, AltRight: 0x38, Home: 0x47,
  ArrowUp: 0x48, PageUp: 0x49, ArrowLeft: 0x4b, ArrowRight: 0x4d, End: 0x4f, ArrowDown: 0x50,
  PageDown: 0x51, Insert: 0x52, Delete: 0x53, MetaLeft: 0x5b, MetaRight: 0x5c, ContextMenu: 0x5d,
};

/** What the guest reads from port 0x60 after the page sends `bytes` (translation on, as at reset). */
function guestReads(bytes: number[]): number[] {
  const io = new IoBus();
  const kbc = new I8042({ irq1: () => {}, setA20: () => {}, reset: () => {} });
  io.attach(kbc);
  kbc.sendScancodes(bytes);
  const out: number[] = [];
  while (io.read(0x64, 1) & 1) out.push(io.read(0x60, 1));
  return out;
}

describe('keys from the page', () => {
  it('cover the PC keyboard: every key of the set-1 table, and nothing else', () => {
    expect([...KEY_CODES].sort()).toEqual([...Object.keys(SET1), ...Object.keys(SET1_E0)].sort());
  });

  it.each(KEY_CODES)('%s reaches the guest as its set-1 make and break codes', (code) => {
    const e0 = code in SET1_E0;
    const make = e0 ? SET1_E0[code] : SET1[code];
    const prefix = e0 ? [0xe0] : [];
    expect(guestReads(scancodesFor(code, true)!)).toEqual([...prefix, make]);
    expect(guestReads(scancodesFor(code, false)!)).toEqual([...prefix, make | 0x80]);
  });

  it('ignore keys the PC has not', () => {
    expect(scancodesFor('F13', true)).toBeNull();
    expect(scancodesFor('MediaPlayPause', false)).toBeNull();
  });
});
