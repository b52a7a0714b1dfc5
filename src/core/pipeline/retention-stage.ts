/**
 * Forget snapshots outside a runbook's retention policy, then prune what no
 * snapshot uses. The caller holds an exclusive repository lock.
 */
import type { Repository } from '../repo/repository.js';
import { prune, type PruneOutcome } from '../repo/prune.js';
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
  const mine = (await repo.listSnapshots()).filter((s) => s.runbook === runbook.name);
  const plan = applyRetention(mine, runbook.retention ?? {}, { now: options.now, timezone: runbook.schedule?.timezone });
  if (options.dryRun) {
    const gone = new Set(plan.forget.map((f) => f.id));
    return { plan, forgotten: 0, prune: options.prune === false ? undefined : await prune(repo, { dryRun: true, excludeSnapshots: gone }) };
  }
  for (const f of plan.forget) await repo.removeSnapshot(f.id);
  const pruned = options.prune === false || plan.forget.length === 0 ? undefined : await prune(repo, { signal: options.signal });
  return { plan, forgotten: plan.forget.length, prune: pruned };
}
