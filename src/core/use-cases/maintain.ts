/**
 * `maintain`: keep an S3 Object Lock repository's kept backups locked
 * (src/core/repo/retention-extension.ts). For each of the runbook's
 * locations with `objectLock` (hot, cold, each copy; or the one copy asked
 * for), one after the other, each under its own shared lock (a copy opened as
 * the runbook whose hot it is, src/core/copies/copy-runbook.ts, so its `keep`
 * is the retention policy that says what is kept there): the snapshots the runbook's
 * retention policy keeps (the cold tier, and other runbooks' snapshots in a
 * shared repository: all of them) have the retention of everything they need
 * extended to now + days where it would end within `withinMs` (default a
 * third of the period). Under a shared lock: a prune cannot delete what is
 * being extended, backups may run alongside (what they write is locked anew).
 */
import { defaultExtendWithinMs } from '../backends/object-lock.js';
import { copiesOf, findCopy, runbookForCopy } from '../copies/copy-runbook.js';
import { LifeboatError } from '../errors.js';
import { applyRetention } from '../pipeline/retention-policy.js';
import type { Tier } from '../repo/open-repository.js';
import { extendKeptRetention, type RetentionExtension } from '../repo/retention-extension.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import type { ObjectLockSettings } from '../runbook/object-lock-schema.js';
import type { Runbook } from '../runbook/types.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface MaintainInput extends RunContext {
  /** Extend retentions that end within this many ms (default: a third of each location's `days`). */
  withinMs?: number;
  /** Maintain only this one of `repository.copies`. */
  copy?: string;
}

export interface MaintainedTier extends RetentionExtension {
  /** hot or cold; a copy is maintained as the hot repository of its view, so `hot` with `copy` set. */
  tier: Tier;
  /** The copy's name, when this location is a copy. */
  copy?: string;
  location: string;
}

/** One locked location: the runbook (or a copy's view of it) and the tier of it to open. */
interface LockedLocation {
  runbook: Runbook;
  tier: Tier;
  copy?: string;
  settings: ObjectLockSettings;
}

export interface MaintainResult {
  tiers: MaintainedTier[];
}

/** The runbook's repositories that have Object Lock, hot first. */
export function lockedTiers(runbook: Runbook): Tier[] {
  const tiers: Tier[] = [];
  if (runbook.repository.hot.objectLock) tiers.push('hot');
  if (runbook.repository.cold?.objectLock) tiers.push('cold');
  return tiers;
}

function lockedLocations(runbook: Runbook, only: string | undefined): LockedLocation[] {
  if (only !== undefined) {
    const copy = findCopy(runbook, only);
    if (!copy.objectLock) throw new LifeboatError('USAGE', `copy ${only} of runbook ${runbook.name} (${runbook.file}) has no objectLock: nothing to maintain (add objectLock: { mode, days } to it)`);
    return [{ runbook: runbookForCopy(runbook, copy), tier: 'hot', copy: copy.name, settings: copy.objectLock }];
  }
  const locations: LockedLocation[] = lockedTiers(runbook).map((tier) => ({
    runbook,
    tier,
    settings: tier === 'hot' ? runbook.repository.hot.objectLock! : runbook.repository.cold!.objectLock!,
  }));
  for (const copy of copiesOf(runbook)) {
    if (copy.objectLock) locations.push({ runbook: runbookForCopy(runbook, copy), tier: 'hot', copy: copy.name, settings: copy.objectLock });
  }
  return locations;
}

export async function maintain(input: MaintainInput): Promise<MaintainResult> {
  const { runbook } = input;
  const locations = lockedLocations(runbook, input.copy);
  if (locations.length === 0) {
    throw new LifeboatError('USAGE', `runbook ${runbook.name} has no repository with objectLock: nothing to maintain (add objectLock: { mode, days } to repository.hot, repository.cold or a copy)`);
  }
  const done: MaintainedTier[] = [];
  // One session per location: its shared lock is held only while that location is extended.
  for (const location of locations) {
    const { value } = await recordedRun(policies.maintain, { ...input, runbook: location.runbook }, async (session) => {
      const { tier, settings } = location;
      const where = location.copy === undefined ? `the ${tier} repository` : `copy ${location.copy}`;
      const { repo, objectLock } = await session.openRepository(tier);
      if (!objectLock) throw new LifeboatError('INTERNAL', `${where} of ${runbook.name} has objectLock but was opened without its Object Lock layer`);
      const now = input.clock.now();
      const keep = keptSnapshots(await repo.listSnapshots(), location.runbook, tier, now);
      const extended = await extendKeptRetention({ repo, lock: objectLock, settings, keep, now, withinMs: input.withinMs ?? defaultExtendWithinMs(settings), signal: input.signal });
      return { value: { tier, ...(location.copy === undefined ? {} : { copy: location.copy }), location: repo.backend.location, ...extended } };
    });
    done.push(value);
  }
  return { tiers: done };
}

/** What the hot repository's retention policy keeps of this runbook's snapshots, and every other snapshot. */
function keptSnapshots(snapshots: readonly Snapshot[], runbook: Runbook, tier: Tier, now: Date): Snapshot[] {
  const policy = runbook.retention;
  if (tier !== 'hot' || policy === undefined || Object.keys(policy).length === 0) return [...snapshots];
  const own = snapshots.filter((s) => s.runbook === runbook.name);
  const kept = new Set(applyRetention(own, policy, { now, timezone: runbook.schedule?.timezone }).keep.map((k) => k.id));
  return snapshots.filter((s) => s.runbook !== runbook.name || kept.has(s.id));
}
