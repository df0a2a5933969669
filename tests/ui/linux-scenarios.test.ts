import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CTRL_L,
  DEFAULT_LINUX_SCENARIO,
  LINUX_SCENARIOS,
  LinuxScenarioDriver,
  endsAtPrompt,
  scenarioStep,
} from '../../src/ui/linux-scenarios';
import { readViewState, replacedValues, workloadChoices, writeViewState } from '../../src/ui/view-state';

describe("the serial shell's prompt", () => {
  it('is the last line when it reads "DIR # ", as ash prints PS1=\'\\w # \'', () => {
    expect(endsAtPrompt('Linux in the tab: Linux 6.1.0\n\n/ # ')).toBe(true);
    expect(endsAtPrompt('echo hi\r\nhi\r\n/tmp # ')).toBe(true);
    expect(endsAtPrompt('~ # ')).toBe(true);
  });

  it("is found with BusyBox's cursor-position query (ESC [ 6 n) after it", () => {
    expect(endsAtPrompt('\n/ # \x1b[6n')).toBe(true);
  });

  it('is not a kernel message, a half-typed line or a command echoed after the prompt', () => {
    expect(endsAtPrompt('[    3.1] Freeing unused kernel image (initmem) memory: 680K\n')).toBe(false);
    expect(endsAtPrompt('/ # echo 1 >/sys/class/graphics/fbcon/cursor_blink')).toBe(false);
    expect(endsAtPrompt('/ # ls\nbin  dev')).toBe(false);
    expect(endsAtPrompt('')).toBe(false);
  });
});

describe('the scenario steps', () => {
  it('stop the running scenario (its recorded process) before anything else', () => {
    for (const s of LINUX_SCENARIOS) {
      const { line } = scenarioStep(s);
      expect(line.startsWith('[ -f /tmp/scenario.pid ] && kill $(cat /tmp/scenario.pid)')).toBe(true);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
    }
  });

  it("turn fbcon's cursor blink off only for noblink, and back on for every other", () => {
    expect(scenarioStep('noblink').line).toContain('echo 0 >/sys/class/graphics/fbcon/cursor_blink');
    for (const s of LINUX_SCENARIOS.filter((x) => x !== 'noblink'))
      expect(scenarioStep(s).line).toContain('echo 1 >/sys/class/graphics/fbcon/cursor_blink');
  });

  it('start the moving ones in the background, record their process id, and draw on tty1 or fb0, not COM1', () => {
    for (const s of ['top', 'log', 'fb'] as const) {
      const { line, keysAfter } = scenarioStep(s);
      expect(line).toMatch(/ & echo \$! >\/tmp\/scenario\.pid\n$/);
      expect(line).not.toContain('ttyS0');
      expect(line).toMatch(/>\/dev\/(tty1|null) 2>&1 &/);
      expect(keysAfter).toEqual([]);
    }
    expect(scenarioStep('top').line).toContain('top -d 1');
    // Each begins on a clean screen: home and erase to the end, on tty1, before it starts.
    for (const s of ['top', 'log', 'fb'] as const)
      expect(scenarioStep(s).line).toMatch(/printf '\\33\[H\\33\[J' >\/dev\/tty1; .* &/);
    expect(scenarioStep('fb').line).toContain('of=/dev/fb0');
  });

  it('end an idle one with Ctrl-L to tty1, so its shell redraws the prompt on a clean screen', () => {
    // Set 2: Ctrl (14) down, L (4B) down, L up (F0 4B), Ctrl up (F0 14).
    expect(CTRL_L).toEqual([0x14, 0x4b, 0xf0, 0x4b, 0xf0, 0x14]);
    expect(scenarioStep('blink').keysAfter).toEqual(CTRL_L);
    expect(scenarioStep('noblink').keysAfter).toEqual(CTRL_L);
    expect(scenarioStep('blink').line).not.toContain('echo $!');
  });

  it('are shell command lines a POSIX shell parses', () => {
    for (const s of LINUX_SCENARIOS) {
      const r = spawnSync('sh', ['-n', '-c', scenarioStep(s).line], { encoding: 'utf8' });
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
    }
  });
});

describe('the driver', () => {
  const driver = () => {
    const sent: string[] = [];
    const keys: number[][] = [];
    const d = new LinuxScenarioDriver(
      (l) => sent.push(l),
      (k) => keys.push(k),
    );
    return { d, sent, keys };
  };

  it('types nothing before the shell shows its prompt, and the asked scenario once it does', () => {
    const { d, sent } = driver();
    d.choose('top');
    d.serialOutput('[    1.0] Run /init as init process\n');
    expect(sent).toEqual([]);
    d.serialOutput('\nLinux in the tab\n\n/ # ');
    expect(sent).toEqual([scenarioStep('top').line]);
    expect(d.settled).toBe(false);
    d.serialOutput('[ -f /tmp/scenario.pid ] && kill ...\r\n[1] 123\r\n/ # ');
    expect(d.settled).toBe(true);
  });

  it('types nothing for the default: the boot already shows a blinking prompt', () => {
    const { d, sent, keys } = driver();
    expect(d.wanted).toBe(DEFAULT_LINUX_SCENARIO);
    d.serialOutput('/ # ');
    expect(sent).toEqual([]);
    expect(keys).toEqual([]);
    expect(d.settled).toBe(true);
  });

  it('types one step at a time: a choice made while a line runs waits for its prompt, and only the last counts', () => {
    const { d, sent } = driver();
    d.serialOutput('/ # ');
    d.choose('log');
    d.choose('fb');
    d.choose('top');
    expect(sent).toEqual([scenarioStep('log').line]);
    d.serialOutput('[1] 130\n/ # ');
    expect(sent).toEqual([scenarioStep('log').line, scenarioStep('top').line]);
    expect(d.applied).toBe('top');
  });

  it("sends an idle step's keys after the line has run (its prompt came back), not before", () => {
    const { d, keys } = driver();
    d.serialOutput('/ # ');
    d.choose('top');
    d.serialOutput('\n/ # ');
    d.choose('noblink');
    expect(keys).toEqual([]);
    d.serialOutput('[1]+  Terminated  top -d 1\n/ # ');
    expect(keys).toEqual([CTRL_L]);
  });

  it('starts over on a new machine: waits for its prompt, then types the wanted scenario again', () => {
    const { d, sent } = driver();
    d.serialOutput('/ # ');
    d.choose('log');
    d.serialOutput('\n/ # ');
    d.restart();
    expect(d.ready).toBe(false);
    expect(d.applied).toBe(DEFAULT_LINUX_SCENARIO);
    d.serialOutput('Linux version 6.1\n');
    expect(sent).toHaveLength(1);
    d.serialOutput('/ # ');
    expect(sent).toEqual([scenarioStep('log').line, scenarioStep('log').line]);
  });
});

describe("the view's workload with Linux", () => {
  it('is a scenario kept in the URL, blink unless the address names another', () => {
    expect(readViewState('?guest=linux&workload=top').workload).toBe('top');
    expect(readViewState('?guest=linux').workload).toBe('blink');
    expect(writeViewState(readViewState('?guest=linux&workload=fb'))).toContain('workload=fb');
    expect(writeViewState(readViewState('?guest=linux&workload=fb'))).toContain('guest=linux');
  });

  it("is not one of the toy guest's workloads (and a Linux scenario is not the toy guest's), said as replaced", () => {
    const v = readViewState('?guest=linux&workload=plasma');
    expect(v.workload).toBe('blink');
    expect(replacedValues('?guest=linux&workload=plasma', v)).toContain('workload=plasma → blink');
    expect(readViewState('?workload=top').workload).toBe('clock');
  });

  it('is the toy guest when the address names a guest the page does not have, said as replaced', () => {
    expect(readViewState('?guest=bios').kernel).toBe('guest/hvmos.elf');
    expect(replacedValues('?guest=bios', readViewState('?guest=bios'))).toEqual(['guest=bios → hvmos']);
    for (const ok of ['?guest=linux', '?guest=disk', '?guest=hvmos', '?guest=bios&hda=disks/mine.img'])
      expect(replacedValues(ok, readViewState(ok)), ok).toEqual([]);
  });

  it("is chosen from Linux's scenarios in the workload control", () => {
    expect(workloadChoices(true).map((c) => c.value)).toEqual([...LINUX_SCENARIOS]);
    expect(workloadChoices(false).map((c) => c.label)[0]).toBe('1 static');
  });
});
