/**
 * `forget`: apply the runbook's retention policy, then prune what no snapshot
 * uses (src/core/pipeline/retention-stage.ts), under an exclusive lock: no
 * backup, restore, drill or check reads or adds meanwhile. A dry run holds it
 * too, so the plan it shows is the one a real run would carry out.
 */
import { LifeboatError } from '../errors.js';
import { forgetAndPrune, type ForgetOutcome } from '../pipeline/retention-stage.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface ForgetInput extends RunContext {
  dryRun: boolean;
  /** False: forget snapshots but leave their data for a later prune. */
  prune: boolean;
}

export async function forget(input: ForgetInput): Promise<ForgetOutcome> {
  const { runbook } = input;
  if (!runbook.retention || Object.keys(runbook.retention).length === 0) {
    throw new LifeboatError('USAGE', `runbook ${runbook.name} has no retention policy: nothing to forget (add a retention: section)`);
  }
  const { value } = await recordedRun(policies.forget, input, async (session) => {
    const { repo } = await session.openRepository();
    return { value: await forgetAndPrune(repo, runbook, { now: input.clock.now(), dryRun: input.dryRun, prune: input.prune, signal: input.signal }) };
  });
  return value;
}
