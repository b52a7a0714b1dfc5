/**
 * "Did you mean": the closest of some known names to one that is not known
 * (a mistyped command, flag or runbook). Shared so every face and message
 * suggests the same way.
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name nearest to `word`, if it is near enough to be a typo: at most
 * a third of the word's letters off (at least one), or a name that starts with
 * the word or that the word starts with (`snapshot` → `snapshots`). Ties go to
 * the first in `known`'s order. Words under three letters get no guess: one
 * edit away from them is nearly everything.
 */
export function closestName(word: string, known: Iterable<string>): string | undefined {
  if (word.length < 3) return undefined;
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (name === word) return name;
    const prefix = name.length >= 3 && (name.startsWith(word) || word.startsWith(name));
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if ((distance <= allowed || prefix) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** ` (did you mean X?)`, or nothing when no known name is close. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const name = closestName(word, known);
  return name === undefined ? '' : ` (did you mean ${name}?)`;
}
