// The one place durations and rates are formatted for people.

export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

export function formatRate(bytes: number, seconds: number): string {
  if (seconds <= 0 || bytes <= 0) return '-';
  const perSecond = bytes / seconds;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} MB/s`;
  return `${Math.max(1, Math.round(perSecond / 1e3))} kB/s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Seconds, rounded to milliseconds, as stored in reports. */
export function roundSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}
