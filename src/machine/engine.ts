import type { SliceOutcome } from './runloop';

/**
 * What a machine runs: the PC (CPU + devices + hypervisor) or, for the foundation's memory-path
 * proof, a VRAM test pattern. The Machine owns memory, stats and the run loop; the engine owns
 * everything that happens inside a slice.
 */
export interface Engine {
  /** Run for about budgetMs of host time (now = performance.now() at the start). */
  runSlice(budgetMs: number, now: number): SliceOutcome;
  /** Back to the just-booted state (image reloaded). */
  reset(): void;
  /**
   * Machine time in ms since boot (the platform's clock, wall or icount): what the hypervisor's
   * idle drop counts its two seconds in. An engine without a clock leaves it out, and the Machine
   * uses the host time it has spent running.
   */
  machineTimeMs?(): number;
}
