/** What ls, find, diff and dump share in how they show snapshots and counts. */

/** A snapshot as the browsing commands' JSON names it: its id and time, not its whole record. */
export const snapshotRef = (s: { id: string; time: string }): { id: string; time: string } => ({ id: s.id, time: s.time });

/** `latest` or an id prefix (4 to 64 hex digits), as the repository resolves them. */
export const looksLikeSnapshotRef = (s: string): boolean => s === 'latest' || /^[0-9a-f]{4,64}$/.test(s);

/** `1 file`, `3 files`; `plural` when adding an s is wrong. */
export const count = (n: number, word: string, plural = `${word}s`): string => `${n} ${n === 1 ? word : plural}`;
