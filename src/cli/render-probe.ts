// `probe` for people: one line per difusor as it finishes, then a table and every problem. Pure.
import type { ProbeResult } from '../probe/verdict.js';
import { table, type Style } from './render.js';

const CAPABILITY_NAMES: Array<[keyof ProbeResult['capabilities'], string]> = [
  ['posix_rename', 'rename'],
  ['fsync', 'fsync'],
  ['statvfs', 'statvfs'],
  ['hardlink', 'hardlink'],
  ['symlink', 'symlink'],
  ['atomic_symlink_swap', 'swap'],
];

const number = (value: number | null, unit: string) => (value === null ? '?' : `${value} ${unit}`);

export function renderProbeLine(r: ProbeResult, s: Style): string {
  const verdict = r.ok ? s.ok('ok     ') : s.bad('FAILED ');
  return `${verdict} ${r.id.padEnd(20)} free ${number(r.free_gb, 'GB')}, upload ${number(r.upload_mb_s, 'MB/s')}, ${r.seconds.toFixed(1)} s`;
}

export function renderProbeReport(results: ProbeResult[], s: Style): string[] {
  const rows = results.map((r) => [
    r.id,
    r.ok ? 'ok' : s.bad('FAILED'),
    number(r.free_gb, 'GB'),
    number(r.upload_mb_s, 'MB/s'),
    CAPABILITY_NAMES.filter(([key]) => r.capabilities[key]).map(([, name]) => name).join(',') || '-',
    r.modes.join(',') || '-',
  ]);
  const lines = ['', ...table(['difusor', 'verdict', 'free', 'upload', 'capabilities', 'modes'], rows)];
  for (const r of results) {
    for (const p of r.problems) lines.push(`${s.bad('problem')}  ${r.id}: ${p}`);
    for (const n of r.notes) lines.push(`${s.dim('note')}     ${r.id}: ${n}`);
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.id);
  lines.push('', failed.length ? s.bad(`${failed.length} of ${results.length} do not meet the requirements: ${failed.join(', ')}`) : `all ${results.length} meet the requirements`);
  return lines;
}
