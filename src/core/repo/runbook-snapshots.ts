/**
 * Which snapshots a runbook sees. Several runbooks may share one repository
 * (the data deduplicates across them); each snapshot records the runbook that
 * made it (snapshot.ts). Everything an operator asks of "a runbook's
 * snapshots" — restore, drills, the `snapshots` listing, ls, find, diff,
 * dump — selects through here, so `restore app-data` can never pick another
 * runbook's newest snapshot because it happens to be the repository's newest.
 *
 * The policy: a runbook sees its own snapshots. `latest` is its own newest.
 * An id prefix is resolved among its own; a prefix that names only another
 * runbook's snapshot is refused with the owner named (USAGE), not answered
 * with "not found", so the operator knows it exists and whose it is. `all`
 * (an operator's explicit `--all`) widens the scope to every snapshot in the
 * repository.
 */
import { LifeboatError } from '../errors.js';
import type { Repository } from './repository.js';
import { shortId, type Snapshot } from './snapshot.js';

export interface SnapshotScope {
  /** The runbook whose snapshots these are (its `name`). */
  runbook: string;
  /** Every runbook's snapshots in the repository, not only this runbook's. */
  all?: boolean;
  /**
   * Appended to the refusal of another runbook's snapshot, saying what the
   * caller offers instead, e.g. "pass --all to restore it anyway". A caller
   * with no such way out (a drill measures only its own runbook) leaves it out.
   */
  foreignHint?: string;
}

/** True when `snapshot` is in `scope`. */
export function inSnapshotScope(snapshot: Snapshot, scope: SnapshotScope): boolean {
  return scope.all === true || snapshot.runbook === scope.runbook;
}

/** The snapshots `scope` sees, oldest first (the repository's order: time, then id). */
export async function runbookSnapshots(repo: Repository, scope: SnapshotScope): Promise<Snapshot[]> {
  return (await repo.listSnapshots()).filter((s) => inSnapshotScope(s, scope));
}

/**
 * `latest` (the newest snapshot in scope), a full id, or a unique prefix of at
 * least 4 hex digits, resolved among the snapshots in scope.
 */
export async function findRunbookSnapshot(repo: Repository, ref: string, scope: SnapshotScope): Promise<Snapshot> {
  return selectRunbookSnapshot(await repo.listSnapshots(), ref, scope, repo.backend.location);
}

/** findRunbookSnapshot over a listing already made (`all`: the whole repository's, oldest first). */
export function selectRunbookSnapshot(all: readonly Snapshot[], ref: string, scope: SnapshotScope, location: string): Snapshot {
  const visible = all.filter((s) => inSnapshotScope(s, scope));
  const whose = scope.all === true ? '' : ` of runbook ${scope.runbook}`;
  if (ref === 'latest') {
    const last = visible.at(-1);
    if (last) return last;
    const others = scope.all === true ? [] : owners(all);
    throw new LifeboatError(
      'SNAPSHOT_NOT_FOUND',
      `the repository at ${location} has no snapshots${whose} yet${others.length > 0 ? ` (it holds ${all.length} of other runbooks: ${others.join(', ')})` : ''}`,
      { details: { runbook: scope.runbook, location } },
    );
  }
  if (!/^[0-9a-f]{4,64}$/.test(ref)) {
    throw new LifeboatError('USAGE', `"${ref}" is not a snapshot id (expected "latest" or at least 4 hex digits)`);
  }
  const matches = visible.filter((s) => s.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new LifeboatError('USAGE', `snapshot prefix ${ref} is ambiguous (${matches.length} snapshots${whose} match); give more digits`);
  const foreign = all.filter((s) => s.id.startsWith(ref));
  if (foreign.length > 0) {
    const names = owners(foreign);
    const which = foreign.length === 1 ? `snapshot ${shortId(foreign[0]!.id)} belongs to runbook ${names[0]}` : `snapshot prefix ${ref} names ${foreign.length} snapshots of runbooks ${names.join(', ')}`;
    throw new LifeboatError('USAGE', `${which}, not to ${scope.runbook}${scope.foreignHint ? `; ${scope.foreignHint}` : ''}`, {
      details: { runbook: scope.runbook, snapshot: ref, owners: names },
    });
  }
  throw new LifeboatError('SNAPSHOT_NOT_FOUND', `no snapshot ${ref}${whose} in the repository at ${location}`, { details: { runbook: scope.runbook, snapshot: ref, location } });
}

function owners(snaps: readonly Snapshot[]): string[] {
  return [...new Set(snaps.map((s) => s.runbook))].sort();
}
