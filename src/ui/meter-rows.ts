/**
 * The meter's table rows, each belonging to one display or to what all displays of the guest
 * share: a display's own figures (its ioemu time, refreshes, pages, tiles, its client's idle drop)
 * and the machine's and the page's (hypervisor, guest, idle, MIPS, the hypervisor's scans and
 * faults, the page's own drawing). One meter shows both; the A/B view shows each display's own
 * rows under it and the shared ones once (ab-view.ts).
 */
import { html, type TemplateResult } from 'lit';
import type { MeterSample } from './meter-sampler';
import { SERIES } from './meter-chart';

/** Which rows: a display's own, the shared ones, or all (one display's whole meter). */
export type MeterPart = 'display' | 'shared' | 'all';

const f = (v: number | undefined, digits = 2) => (v === undefined ? '–' : v.toFixed(digits));

const row = (label: string, color: string | null, v: string, unit: string, big = false) =>
  html`<tr>
    <th>${color ? html`<span class="swatch" style="background:${color}"></span>` : ''}${label}</th>
    <td class=${big ? 'big' : ''}>${v}</td>
    <td>&nbsp;${unit}</td>
  </tr>`;

function idleDropRow(s: MeterSample | null): TemplateResult {
  return html`<tr>
    <th>idle drop</th>
    <td
      colspan="2"
      title="Xen 3.3's idle drop: after two seconds without a write the hypervisor write-protects VRAM and stops scanning"
    >
      ${
        s?.hvTrap
          ? 'off (trap mode: every VRAM write faults)'
          : s?.idleDrop === 'engaged'
            ? 'engaged: VRAM write-protected'
            : (s?.idleDrop ?? '–')
      }
    </td>
  </tr>`;
}

/** The rows of `part` for sample s (null: none yet), in the meter's order. */
export function meterRows(s: MeterSample | null, part: MeterPart): TemplateResult[] {
  // A paused or stopped machine has no guest or idle time to show: say so rather than 0.0.
  const running = !s || s.machine === 'running';
  const machineWord = s?.machine === 'paused' ? 'paused' : 'stopped';
  const rows: [MeterPart, () => TemplateResult][] = [
    ['display', () => row('ioemu (display refresh)', SERIES[0].color, f(s?.ioemuPct, 3), '% of a core', true)],
    ['shared', () => row('hypervisor (dirty tracking)', SERIES[1].color, f(s?.hvPct, 3), '%')],
    ['shared', () => row('guest', SERIES[2].color, running ? f(s?.guestPct, 1) : machineWord, running ? '%' : '')],
    ['shared', () => row('idle (HLT)', null, running ? f(s?.idlePct, 1) : machineWord, running ? '%' : '')],
    ['shared', () => row('meter + page', SERIES[3].color, f(s?.uiPct, 3), '%')],
    ['shared', () => row('MIPS', null, f(s?.mips, 2), '')],
    ['display', () => row('refreshes', null, f(s?.refreshHz, 1), '/s')],
    ['display', () => row('pages compared', null, f(s?.pagesComparedPerRefresh, 0), '/refresh')],
    ['display', () => row('pages dirty', null, f(s?.dirtyPagesPerRefresh, 1), '/refresh')],
    ['display', () => row('tiles repainted', null, f(s?.tilesPerRefresh, 1), '/refresh')],
    ['shared', () => row('hypervisor page scans', null, f(s?.hvPagesScannedPerS, 0), '/s')],
    ['shared', () => row('second-stage faults', null, f(s?.hvFaultsPerS, 0), '/s')],
    ['shared', () => row('hypervisor time per fault', null, f(s?.hvUsPerFault, 2), 'µs')],
    ['display', () => idleDropRow(s)],
  ];
  return rows.filter(([p]) => part === 'all' || p === part).map(([, r]) => r());
}
