// Suggestions for typos: the known name closest to what was typed (registry fields, CLI flags).

/**
 * The known name closest to `typed` (ignoring case, `-` and `_`): within two edits (`hostkey`,
 * `conect_timeout`), or one name spelled out or cut short of the other (`remote_directory`).
 */
export function closestName(typed: string, known: readonly string[]): string | undefined {
  const normalize = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const t = normalize(typed);
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const n = normalize(name);
    const distance = editDistance(t, n);
    const longer = t.length > n.length ? t : n;
    const shorter = longer === t ? n : t;
    const extends_ = shorter.length >= 4 && longer.startsWith(shorter);
    if ((distance <= 2 || extends_) && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
