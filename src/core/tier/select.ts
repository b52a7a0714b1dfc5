/**
 * Which hot snapshots move to the cold tier: those of this runbook older than
 * `cold.after`, except the newest snapshot of each source set. The newest one
 * always stays hot — it is the parent of the next backup (the unchanged-file
 * fast path) and the one a restore usually wants fast — even when backups
 * stopped long ago and it is older than `after`.
 */
import type { Snapshot } from '../repo/snapshot.js';

export interface TierSelection {
  /** Oldest first. */
  move: Snapshot[];
  /** Old enough, but kept hot as the newest of its source set. */
  keptAsNewest: Snapshot[];
}

/** Snapshots with the same source names belong together (a runbook whose sources changed starts a new set). */
export function sourceSetOf(snapshot: Snapshot): string {
  return snapshot.sources
    .map((s) => s.name)
    .sort()
    .join('\0');
}

export function selectForTier(snapshots: readonly Snapshot[], options: { runbook: string; now: Date; afterMs: number }): TierSelection {
  const mine = snapshots.filter((s) => s.runbook === options.runbook).sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  const newest = new Map<string, Snapshot>();
  for (const s of mine) newest.set(sourceSetOf(s), s);
  const newestIds = new Set([...newest.values()].map((s) => s.id));
  const cutoff = options.now.getTime() - options.afterMs;
  const old = mine.filter((s) => new Date(s.time).getTime() < cutoff);
  return {
    move: old.filter((s) => !newestIds.has(s.id)),
    keptAsNewest: old.filter((s) => newestIds.has(s.id)),
  };
}
