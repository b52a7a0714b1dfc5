/**
 * Prune on an S3 Object Lock repository (src/core/backends/object-lock-backend.ts):
 * a removal of a retained object leaves it where it is and records it as
 * waiting. Two consequences prune must draw, kept here:
 *
 * - An index file that could not be deleted is still read by every later
 *   backup; a pack it lists must not go before it does, or a backup could
 *   deduplicate against a blob that no longer exists. Such packs wait too.
 * - The operator is told what waits and until when, instead of reading
 *   "deleted" for objects that are still there and still cost money.
 */
import { isLifeboatError } from '../errors.js';
import { decodeIndex } from './master-index.js';
import type { Repository } from './repository.js';

/** Objects a prune (or the forget before it) could not delete yet, by kind, and when the last of them may go. */
export interface RetentionWaits {
  packs: number;
  indexFiles: number;
  snapshots: number;
  /** The latest retain-until date among them (ISO 8601). */
  until?: string;
}

/** Packs listed by index files that retention kept from being deleted (see the file comment). */
export async function packsHeldByWaitingIndexFiles(repo: Repository): Promise<Set<string>> {
  const held = new Set<string>();
  const names = (repo.objectLock?.waiting ?? []).filter((w) => w.kind === 'index').map((w) => w.name);
  for (const name of names) {
    try {
      for (const pack of decodeIndex(repo.key, await repo.backend.load({ kind: 'index', name }), name).packs) held.add(pack.id);
    } catch (e) {
      // A damaged index file lists nothing a backup could use: it holds no pack back.
      if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
    }
  }
  return held;
}

/** What waits for its retention since the last call (undefined: not a locked repository, or nothing waits). */
export function takeRetentionWaits(repo: Repository): RetentionWaits | undefined {
  const waiting = repo.objectLock?.takeWaiting() ?? [];
  if (waiting.length === 0) return undefined;
  const count = (kind: string) => waiting.filter((w) => w.kind === kind).length;
  const until = waiting.reduce<Date | undefined>((latest, w) => (w.until !== undefined && (latest === undefined || w.until > latest) ? w.until : latest), undefined);
  return { packs: count('data'), indexFiles: count('index'), snapshots: count('snapshots'), ...(until === undefined ? {} : { until: until.toISOString() }) };
}

/** "2 pack(s), 1 index file(s) and 1 snapshot(s) wait for their Object Lock retention to end on 2026-12-09T10:00:00.000Z; a prune after that deletes them". */
export function describeRetentionWaits(w: RetentionWaits): string {
  const parts = [
    ...(w.packs > 0 ? [`${w.packs} pack(s)`] : []),
    ...(w.indexFiles > 0 ? [`${w.indexFiles} index file(s)`] : []),
    ...(w.snapshots > 0 ? [`${w.snapshots} snapshot(s)`] : []),
  ];
  const what = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}` : (parts[0] ?? 'nothing');
  return `${what} wait for their Object Lock retention to end${w.until === undefined ? '' : ` on ${w.until}`}; a prune after that deletes them`;
}
