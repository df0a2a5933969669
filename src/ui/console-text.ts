/**
 * Reading the guest's serial output, apart from any DOM: what the console shows of it, and what
 * the toy guest announces in it (hvmosAnnouncements).
 *
 * What the serial console shows of a guest's output. A shell on a serial line writes terminal
 * control sequences (BusyBox's ash asks for the cursor position with ESC [ 6 n); the page's
 * console is plain text, so ECMA-48 control sequences (CSI … final byte) and other escapes are
 * left out instead of showing as "[6n". Carriage returns before a newline go too.
 */
// CSI: ESC [ parameters (0x30–0x3F) intermediates (0x20–0x2F) final (0x40–0x7E); a lone ESC and
// the one character after it (ESC 7, ESC c …); a CSI cut off at the end of what has arrived.
// eslint-disable-next-line no-control-regex
const CONTROLS = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[^[]|\x1b\[[0-?]*[ -/]*$|\x1b$|\r(?=\n)/g;

export function consoleText(raw: string): string {
  return raw.replace(CONTROLS, '');
}

/**
 * What hvmos announced in the output just added: it names on COM1 every workload it starts
 * ("hvmos: workload NAME", also those switched by its keys or a serial command) and every video
 * mode it sets ("hvmos: mode WxHxBPP"). The last of each in whole lines that end in `added` (a
 * line may have begun in `before`, the output read last time).
 */
export function hvmosAnnouncements(before: string, added: string): { workload: string | null; mode: string | null } {
  let workload: string | null = null;
  let mode: string | null = null;
  for (const m of (before + added).matchAll(/^hvmos: (workload|mode) (\w+)\n/gm))
    if (m.index + m[0].length > before.length) {
      if (m[1] === 'workload') workload = m[2];
      else mode = m[2];
    }
  return { workload, mode };
}
