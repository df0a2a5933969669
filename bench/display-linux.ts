/**
 * bench:display's Linux rows: Debian's Linux (`?guest=linux`) in each display scenario
 * (src/ui/linux-scenarios.ts) × display mode, per VRAM size. A page boot takes minutes, so Linux
 * boots once per VRAM size and the page's own controls switch the scenario (the Workload select,
 * which types it into the serial shell) and the mode (the radio buttons) live; each window is
 * measured after a warm-up from the switch.
 */
import type { Page } from '@playwright/test';
import { LINUX_SCENARIOS } from '../src/ui/linux-scenarios';

/** Until the serial shell shows its prompt and the view's scenario runs (the page's driver: __hvm.linux). */
export async function waitLinuxSettled(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    () => {
      const l = (globalThis as any).__hvm?.linux;
      return !!l && l.ready && l.settled && l.wanted === (globalThis as any).__hvm.view().workload;
    },
    null,
    { timeout: timeoutMs, polling: 500 },
  );
}

/** Boot the page's Linux with this VRAM and refresh rate; the time to the prompt in seconds. */
export async function bootLinux(
  page: Page,
  port: number,
  o: { vramMiB: number; hz: number; mode: string; timeoutMs: number },
): Promise<number> {
  const t0 = Date.now();
  await page.goto(`http://localhost:${port}/?guest=linux&workload=blink&mode=${o.mode}&vram=${o.vramMiB}&hz=${o.hz}`);
  await waitLinuxSettled(page, o.timeoutMs);
  return (Date.now() - t0) / 1000;
}

/**
 * Choose a scenario with the page's Workload control and wait until the shell has run it: minutes
 * on a loaded machine, where the guest runs at 1 MIPS or less and echoes the long lines slowly.
 */
export async function chooseScenario(page: Page, scenario: string): Promise<void> {
  await page.getByLabel('Workload').selectOption(scenario);
  await waitLinuxSettled(page, 600_000);
}

/** Choose a display mode with the page's radio buttons. */
export async function chooseMode(page: Page, mode: string): Promise<void> {
  await page.locator(`input[name=mode][value=${mode}]`).check();
  await page.waitForFunction((m) => (globalThis as any).__hvm.view().mode === m, mode);
}

export const LINUX_MODES = ['poll', 'dirty', 'dirty-idle'] as const;
export const linuxScenarios = (arg: string): string[] =>
  arg.split(',').filter((s) => (LINUX_SCENARIOS as readonly string[]).includes(s));

/** The record's workload name for a Linux scenario (hvmos's and Linux's rows share the table). */
export const linuxWorkload = (scenario: string) => `linux-${scenario}`;
