import { describe, expect, it } from 'vitest';
import { consoleText, hvmosAnnouncements } from '../../src/ui/console-text';

describe('the serial console shows text, not terminal control sequences', () => {
  it("leaves out BusyBox's cursor-position query and colour codes, keeps the text around them", () => {
    expect(consoleText('/ # \x1b[6n')).toBe('/ # ');
    expect(consoleText('\x1b[1;34mbin\x1b[0m  dev\r\n')).toBe('bin  dev\n');
  });
  it('leaves out a sequence cut off at the end of what has arrived, and two-byte escapes', () => {
    expect(consoleText('ok\x1b[1;3')).toBe('ok');
    expect(consoleText('a\x1b7b\x1b8c')).toBe('abc');
    expect(consoleText('plain text\nhvmos: workload clock\n')).toBe('plain text\nhvmos: workload clock\n');
  });
});

describe('the page follows what hvmos announces on COM1', () => {
  it('takes the last workload and video mode named in whole lines of the new output', () => {
    const out = 'hvmos: workload clock\nhello\nhvmos: mode 800x600x16\nhvmos: workload plasma\n';
    expect(hvmosAnnouncements('', out)).toEqual({ workload: 'plasma', mode: '800x600x16' });
  });
  it('reads a line begun in the previous read once it ends, and not again afterwards', () => {
    expect(hvmosAnnouncements('boot\nhvmos: work', 'load scroll\n')).toEqual({ workload: 'scroll', mode: null });
    expect(hvmosAnnouncements('hvmos: workload scroll\n', 'tick\n')).toEqual({ workload: null, mode: null });
  });
  it('ignores a line not yet ended and other text', () => {
    expect(hvmosAnnouncements('', 'hvmos: workload typ')).toEqual({ workload: null, mode: null });
    expect(hvmosAnnouncements('', 'say hvmos: workload static\n')).toEqual({ workload: null, mode: null });
  });
});
