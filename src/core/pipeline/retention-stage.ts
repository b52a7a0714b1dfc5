/**
 * Forget snapshots outside a runbook's retention policy, then prune what no
 * snapshot uses. The caller holds an exclusive repository lock.
 *
 * Prune runs whenever it is asked for, whether or not this call forgot
 * anything: what is left to free is a fact of the repository (an earlier
 * `--no-prune`, an interrupted prune), not of this call.
 */
import type { Repository } from '../repo/repository.js';
import { prune, type PruneOutcome } from '../repo/prune.js';
import { snapshotContentKey, type Snapshot } from '../repo/snapshot.js';
import type { Runbook } from '../runbook/types.js';
import { applyRetention, type RetentionPlan } from './retention-policy.js';

export interface ForgetOutcome {
  plan: RetentionPlan;
  forgotten: number;
  prune?: PruneOutcome;
}

export async function forgetAndPrune(
  repo: Repository,
  runbook: Runbook,
  options: { now: Date; dryRun?: boolean; prune?: boolean; signal?: AbortSignal },
): Promise<ForgetOutcome> {
  const { distinct, copiesOf } = distinctSnapshots((await repo.listSnapshots()).filter((s) => s.runbook === runbook.name));
  const plan = applyRetention(distinct, runbook.retention ?? {}, { now: options.now, timezone: runbook.schedule?.timezone });
  const gone = plan.forget.flatMap((f) => copiesOf.get(f.id) ?? [f.id]);
  if (options.dryRun) {
    const excludeSnapshots = new Set(gone);
    return { plan, forgotten: 0, prune: options.prune === false ? undefined : await prune(repo, { dryRun: true, excludeSnapshots, now: options.now }) };
  }
  for (const id of gone) await repo.removeSnapshot(id);
  const pruned = options.prune === false ? undefined : await prune(repo, { signal: options.signal, now: options.now });
  return { plan, forgotten: plan.forget.length, prune: pruned };
}

/**
 * Snapshot files with the same record are one backup (check reports the
 * copies): retention decides over one representative each, so a copy can
 * neither take a kept slot nor make the policy forget a real backup.
 */
function distinctSnapshots(snapshots: readonly Snapshot[]): { distinct: Snapshot[]; copiesOf: Map<string, string[]> } {
  const byKey = new Map<string, Snapshot[]>();
  for (const s of snapshots) {
    const key = snapshotContentKey(s);
    byKey.set(key, [...(byKey.get(key) ?? []), s]);
  }
  const distinct: Snapshot[] = [];
  const copiesOf = new Map<string, string[]>();
  for (const group of byKey.values()) {
    distinct.push(group[0]!);
    copiesOf.set(group[0]!.id, group.map((s) => s.id));
  }
  return { distinct: distinct.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id)), copiesOf };
}
