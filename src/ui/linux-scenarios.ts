/**
 * The Linux guest's display scenarios (the page's `workload` for `?guest=linux`), typed into the
 * BusyBox shell on COM1 once it shows its prompt. What each does to the screen (tty1 on vesafb):
 *
 *  - `blink`: the idle prompt, fbcon's cursor blinking (the boot's state; the default);
 *  - `noblink`: the idle prompt, the cursor still (`/sys/class/graphics/fbcon/cursor_blink` = 0);
 *  - `top`: BusyBox's top, once a second, on tty1;
 *  - `log`: a line a tenth of a second on tty1, so the console scrolls (vesafb without ypan
 *    scrolls by redrawing the whole screen);
 *  - `fb`: a band of noise sweeping down /dev/fb0, written by dd from a shell loop (~20 a second).
 *
 * Why COM1 and not keys on the display: the serial shell's prompt says when the guest is ready and
 * when a command has run, its echo shows the user what the page typed, and the shell on tty1 (the
 * user's) is left alone: the scenarios write to /dev/tty1 and /dev/fb0 from the serial shell. Only
 * the return to the idle prompt uses the display's keyboard: Ctrl-L to tty1's shell, whose line
 * editor then clears the screen and draws its prompt again.
 */
import { consoleText } from './console-text';
import { scancodesFor } from './scancodes';

export const LINUX_SCENARIOS = ['blink', 'noblink', 'top', 'log', 'fb'] as const;
export type LinuxScenario = (typeof LINUX_SCENARIOS)[number];
export const DEFAULT_LINUX_SCENARIO: LinuxScenario = 'blink';

export const LINUX_SCENARIO_TITLE: Record<LinuxScenario, string> = {
  blink: 'idle prompt, cursor blinking',
  noblink: 'idle prompt, cursor blink off',
  top: 'top, refreshing every second',
  log: 'a scrolling log, 10 lines/s',
  fb: 'a framebuffer animation (dd to /dev/fb0)',
};

export const isLinuxScenario = (s: string): s is LinuxScenario => (LINUX_SCENARIOS as readonly string[]).includes(s);

/** Where the running scenario's process id is kept, so that the next one can stop it. */
const PID_FILE = '/tmp/scenario.pid';
const CURSOR_BLINK = '/sys/class/graphics/fbcon/cursor_blink';

/**
 * What starts a scenario in the background (its process id into PID_FILE), or null for the idle
 * ones. Each writes to tty1 or fb0, never to COM1, and reads nothing (stdin /dev/null).
 */
const START: Record<LinuxScenario, string | null> = {
  blink: null,
  noblink: null,
  // top sizes itself from its stdin's terminal or, failing that, from LINES and COLUMNS: tty1's.
  top: 'set -- $(stty -F /dev/tty1 size); LINES=$1 COLUMNS=$2 top -d 1 </dev/null >/dev/tty1 2>&1 &',
  // Builtins only in the loop but usleep: a fork a line, not three.
  log: '(i=0; while :; do i=$((i+1)); read up idle </proc/uptime; echo "log line $i: uptime $up s, idle $idle s"; usleep 100000; done) </dev/null >/dev/tty1 2>&1 &',
  // A band 16 lines high of noise, drawn one band lower each frame after the last one is cleared.
  fb:
    '(f=/sys/class/graphics/fb0; b=$((16 * $(cat $f/stride))); n=$(($(cut -d, -f2 $f/virtual_size) / 16)); ' +
    'head -c $b /dev/urandom >/tmp/band; y=0; while :; do ' +
    'dd if=/dev/zero of=/dev/fb0 bs=$b seek=$y count=1 conv=notrunc 2>/dev/null; y=$(((y + 1) % n)); ' +
    'dd if=/tmp/band of=/dev/fb0 bs=$b seek=$y count=1 conv=notrunc 2>/dev/null; usleep 50000; done) </dev/null >/dev/null 2>&1 &',
};

/** What the page does to switch to a scenario: one line for COM1's shell, then (after its prompt) keys for tty1. */
export interface ScenarioStep {
  /** A shell command line for COM1, ending in a newline. */
  line: string;
  /** PS/2 set-2 bytes for the display's keyboard, sent once the line has run (its prompt came back); may be empty. */
  keysAfter: number[];
}

/** Ctrl-L, as the display's keyboard sends it: BusyBox's line editor clears the screen and redraws its prompt. */
export const CTRL_L: readonly number[] = [
  ...scancodesFor('ControlLeft', true)!,
  ...scancodesFor('KeyL', true)!,
  ...scancodesFor('KeyL', false)!,
  ...scancodesFor('ControlLeft', false)!,
];

/**
 * The step to a scenario: stop the one running (its process), set the cursor's blink, start the
 * new one; back at an idle prompt, Ctrl-L to tty1 so it shows its prompt on a clean screen.
 */
export function scenarioStep(to: LinuxScenario): ScenarioStep {
  const stop = `[ -f ${PID_FILE} ] && kill $(cat ${PID_FILE}) 2>/dev/null; rm -f ${PID_FILE}`;
  const blink = `echo ${to === 'noblink' ? 0 : 1} >${CURSOR_BLINK}`;
  const start = START[to];
  // The moving ones begin on a clean screen (ESC [ H, ESC [ J: home, erase to the end).
  const parts = [stop, blink, ...(start ? [`printf '\\33[H\\33[J' >/dev/tty1`, `${start} echo $! >${PID_FILE}`] : [])];
  return { line: `${parts.join('; ')}\n`, keysAfter: start ? [] : [...CTRL_L] };
}

/**
 * Whether the serial output so far ends at a shell prompt (ash's PS1 '\w # ', e.g. "/ # "), with
 * terminal control sequences left out (BusyBox asks for the cursor position after its prompt).
 * `tail` is enough of the end of the output: the last line is what matters.
 */
export function endsAtPrompt(tail: string): boolean {
  const text = consoleText(tail);
  const last = text.slice(text.lastIndexOf('\n') + 1);
  return /^\S* # $/.test(last);
}

/**
 * The page's side of the scenarios: told what COM1 printed and which scenario the view wants, it
 * types the steps, one at a time, each when the shell is at its prompt. A new machine (boot,
 * reboot) starts over: its shell first shows the boot's state, `blink`.
 */
export class LinuxScenarioDriver {
  /** The scenario on the screen (or being switched to: `busy` until the prompt comes back). */
  applied: LinuxScenario = DEFAULT_LINUX_SCENARIO;
  /** The scenario the view asks for. */
  wanted: LinuxScenario = DEFAULT_LINUX_SCENARIO;
  /** The serial shell has shown its prompt since the machine started. */
  ready = false;
  /** A line was typed and its prompt has not come back yet. */
  busy = false;
  private tail = '';
  private keysAfter: number[] = [];

  constructor(
    private readonly send: (line: string) => void,
    private readonly keys: (bytes: number[]) => void,
  ) {}

  /** A new machine: nothing typed yet, the scenario on screen is the boot's. */
  restart(): void {
    this.applied = DEFAULT_LINUX_SCENARIO;
    this.ready = false;
    this.busy = false;
    this.tail = '';
    this.keysAfter = [];
  }

  /** The view chose a scenario: typed now if the shell is at its prompt, else when it gets there. */
  choose(s: LinuxScenario): void {
    this.wanted = s;
    this.advance();
  }

  /** COM1 printed this: at a prompt, the last step's keys go out and the next step (if any) is typed. */
  serialOutput(text: string): void {
    this.tail = (this.tail + text).slice(-256);
    if (!endsAtPrompt(this.tail)) return;
    this.ready = true;
    if (this.busy) {
      this.busy = false;
      if (this.keysAfter.length) this.keys(this.keysAfter);
      this.keysAfter = [];
    }
    this.advance();
  }

  /** The scenario is on the screen and nothing is pending. */
  get settled(): boolean {
    return this.ready && !this.busy && this.applied === this.wanted;
  }

  private advance(): void {
    if (!this.ready || this.busy || this.applied === this.wanted) return;
    const step = scenarioStep(this.wanted);
    this.applied = this.wanted;
    this.busy = true;
    this.keysAfter = step.keysAfter;
    this.tail = '';
    this.send(step.line);
  }
}
