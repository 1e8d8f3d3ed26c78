import { StorageError } from './storageError.ts';

/** Edit distance (insert, delete, substitute, swap of neighbours) between two short names. */
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The known name closest to `name` when it looks like a typo of it (case-insensitive distance
 * at most 2, or a third of the name), else undefined.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || d < best.distance) best = { name: candidate, distance: d };
  }
  if (best === undefined) return undefined;
  return best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/**
 * Refuses keys of `table` outside `known`, naming the full path and the nearest known key: a
 * misspelled storage setting must stop the start, not fall back to a default silently.
 */
export function assertKnownKeys(table: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(table)) {
    if (known.includes(key)) continue;
    const nearest = nearestName(key, known);
    const hint = nearest === undefined ? `known keys: ${known.join(', ')}` : `did you mean "${nearest}"?`;
    throw new StorageError('invalid_config', `${path}.${key}: unknown key (${hint})`);
  }
}
