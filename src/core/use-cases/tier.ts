/** `tier`: move old snapshots to the cold repository as a recorded run (src/core/tier/tier-run.ts). */
import type { RunContext } from '../run-context.js';
import type { RunRecord } from '../store/records.js';
import { assertHasCold, planTierRun, recordTierStage } from '../tier/tier-run.js';
import type { TierOutcome } from '../tier/tier-snapshots.js';
import { policies } from './policies.js';
import { recordedRun, runOf } from './recorded-run.js';

export interface TierInput extends RunContext {
  /** List what would move; change, lock and record nothing. */
  dryRun?: boolean;
}

export interface TierResult {
  /** Absent for a dry run: it changes nothing, so it records nothing. */
  run?: RunRecord;
  outcome: TierOutcome;
}

export async function tier(input: TierInput): Promise<TierResult> {
  // Refused before anything is opened or recorded.
  assertHasCold(input.runbook);
  if (input.dryRun) {
    const { value } = await recordedRun(policies.planTier, input, async (session) => ({ value: await planTierRun(session.input) }));
    return { outcome: value };
  }
  const done = await recordedRun(policies.tier, input, async (session) => {
    const { status, error, outcome } = await recordTierStage(session.input, session.recorder);
    return { value: outcome, status, error };
  });
  return { run: runOf(done), outcome: done.value };
}
