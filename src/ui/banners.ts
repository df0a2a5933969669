/**
 * What the page says above its controls: why it cannot run at all (not cross-origin isolated),
 * a "try this" line on a first visit, and the banners for a crashed worker, an error, address
 * values it replaced, and the machine's fault report. Templates only: the page decides which to
 * show and what their buttons do.
 */
import { html } from 'lit';
import type { FaultReport } from '../shared/api';

/** Why the page cannot run, in words a user can act on; null when all is well. */
export function isolationProblem(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated)
    return (
      'This page is not cross-origin isolated, so the browser withholds SharedArrayBuffer, which the ' +
      'emulator needs for guest memory. Serve it with the headers Cross-Origin-Opener-Policy: same-origin ' +
      'and Cross-Origin-Embedder-Policy: require-corp (npm start does), or allow the bundled ' +
      'coi-serviceworker.js to install and reload the page.'
    );
  return null;
}

/** localStorage key set on the first visit (the "try this" line shows only then). */
const VISITED_KEY = 'hvm-visited';

/** A first visit (nothing in localStorage yet); marks this one as seen. */
export function isFirstVisit(): boolean {
  try {
    const seen = localStorage.getItem(VISITED_KEY) !== null;
    localStorage.setItem(VISITED_KEY, '1');
    return !seen;
  } catch {
    return false; // storage refused (private mode, a sandbox): no line rather than one every time
  }
}

export const tryThis = (dismiss: () => void) =>
  html`<p class="try" role="note">
    <strong>Try this:</strong> switch the display mode to <em>poll</em> and watch the meter's ioemu line jump to several
    per cent of a core; back in <em>dirty + idle drop</em> it falls to almost nothing once the screen is still. Or tick
    <em>A/B side by side</em> to see both at once.
    <button @click=${dismiss}>Got it</button>
  </p>`;

/** The machine's worker died (a crash of ours). */
export const crashed = (message: string, restart: () => void) =>
  html`<div class="banner" role="alert">
    <strong>The machine crashed.</strong> ${message}
    <button @click=${restart}>Restart</button>
  </div>`;

export const errorBanner = (message: string, dismiss: () => void) =>
  html`<div class="banner" role="alert">${message} <button @click=${dismiss}>Dismiss</button></div>`;

/** The address's values the page could not use ("hz=7 → 30"), said once. */
export const replacedNotice = (replaced: string[], dismiss: () => void) =>
  html`<div class="banner notice" role="status">
    The address asked for ${replaced.join(', ')}: those values are not valid here, so the page uses the ones after the
    arrows.
    <button @click=${dismiss}>Dismiss</button>
  </div>`;

/** A fault the machine reported (a triple fault, a crash inside it), with the last instructions. */
export const faultBanner = (fault: FaultReport, button: { label: string; act: () => void }) =>
  html`<div class="banner" role="alert">
    <strong>${fault.reason}</strong>
    ${fault.trace.length ? html`<pre>${fault.trace.join('\n')}</pre>` : ''}
    <button @click=${button.act}>${button.label}</button>
  </div>`;
