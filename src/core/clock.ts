// The clock is passed in, so tests can fix "now" and deadlines without touching timers globally.
export interface Clock {
  /** Wall time in ms since the epoch (cut ids, journal timestamps). */
  now(): number;
  /** Monotonic ms for measuring durations and deadlines. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
