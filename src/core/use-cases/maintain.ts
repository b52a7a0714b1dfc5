/**
 * `maintain`: keep an S3 Object Lock repository's kept backups locked
 * (src/core/repo/retention-extension.ts). For each of the runbook's
 * repositories with `objectLock` (hot, cold): the snapshots the runbook's
 * retention policy keeps (the cold tier, and other runbooks' snapshots in a
 * shared repository: all of them) have the retention of everything they need
 * extended to now + days where it would end within `withinMs` (default a
 * third of the period). Under a shared lock: a prune cannot delete what is
 * being extended, backups may run alongside (what they write is locked anew).
 */
import { defaultExtendWithinMs } from '../backends/object-lock.js';
import { LifeboatError } from '../errors.js';
import { applyRetention } from '../pipeline/retention-policy.js';
import type { Tier } from '../repo/open-repository.js';
import { extendKeptRetention, type RetentionExtension } from '../repo/retention-extension.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { RunContext } from '../run-context.js';
import type { Runbook } from '../runbook/types.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface MaintainInput extends RunContext {
  /** Extend retentions that end within this many ms (default: a third of each location's `days`). */
  withinMs?: number;
}

export interface MaintainedTier extends RetentionExtension {
  tier: Tier;
  location: string;
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

export async function maintain(input: MaintainInput): Promise<MaintainResult> {
  const { runbook } = input;
  const tiers = lockedTiers(runbook);
  if (tiers.length === 0) {
    throw new LifeboatError('USAGE', `runbook ${runbook.name} has no repository with objectLock: nothing to maintain (add objectLock: { mode, days } to repository.hot or repository.cold)`);
  }
  const { value } = await recordedRun(policies.maintain, input, async (session) => {
    const done: MaintainedTier[] = [];
    for (const tier of tiers) {
      const settings = tier === 'hot' ? runbook.repository.hot.objectLock! : runbook.repository.cold!.objectLock!;
      const { repo, objectLock } = await session.openRepository(tier);
      if (!objectLock) throw new LifeboatError('INTERNAL', `the ${tier} repository of ${runbook.name} has objectLock but was opened without its Object Lock layer`);
      const now = input.clock.now();
      const keep = keptSnapshots(await repo.listSnapshots(), runbook, tier, now);
      const extended = await extendKeptRetention({ repo, lock: objectLock, settings, keep, now, withinMs: input.withinMs ?? defaultExtendWithinMs(settings), signal: input.signal });
      done.push({ tier, location: repo.backend.location, ...extended });
    }
    return { value: { tiers: done } };
  });
  return value;
}

/** What the hot repository's retention policy keeps of this runbook's snapshots, and every other snapshot. */
function keptSnapshots(snapshots: readonly Snapshot[], runbook: Runbook, tier: Tier, now: Date): Snapshot[] {
  const policy = runbook.retention;
  if (tier !== 'hot' || policy === undefined || Object.keys(policy).length === 0) return [...snapshots];
  const own = snapshots.filter((s) => s.runbook === runbook.name);
  const kept = new Set(applyRetention(own, policy, { now, timezone: runbook.schedule?.timezone }).keep.map((k) => k.id));
  return snapshots.filter((s) => s.runbook !== runbook.name || kept.has(s.id));
}
