import { describe, expect, it } from 'vitest';
import { consoleText } from '../../src/ui/console-text';

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
