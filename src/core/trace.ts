// The run's timeline for diagnosing start-up and fixed costs (PREP_PUSH_TRACE=1): marks in ms since
// the process started, kept in memory and printed by the CLI at exit, so tracing changes no timing
// worth measuring and nothing below src/cli writes to the terminal.

/** Marks only when the process was started with PREP_PUSH_TRACE=1 (read once: it costs nothing otherwise). */
const enabled = process.env.PREP_PUSH_TRACE === '1';
const marks: Array<{ ms: number; label: string }> = [];

/** Notes that `label` happened now (performance.now() counts from the process's start). */
export function traceMark(label: string): void {
  if (enabled) marks.push({ ms: performance.now(), label });
}

/** The timeline so far, one `+123.4 ms label` line per mark; empty unless tracing. */
export function traceLines(): string[] {
  return marks.map((m) => `prep-push trace: +${m.ms.toFixed(1).padStart(7)} ms  ${m.label}`);
}
