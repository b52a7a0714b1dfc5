/**
 * `restore-drill`: a timed, validated restore into scratch space
 * (src/core/drill/restore-drill.ts) under a shared repository lock, so a prune
 * can never delete what the drill reads and make a healthy repository look
 * damaged; and its cold-tier estimate (src/core/drill/estimate-drill.ts).
 * With `path`, a drill of that one path (src/core/drill/drill-scope.ts): a
 * malformed path is refused (USAGE) before anything is opened or recorded.
 */
import { findCopy, runbookForCopy } from '../copies/copy-runbook.js';
import { drillPath } from '../drill/drill-scope.js';
import { LifeboatError } from '../errors.js';
import { estimateColdDrill, type EstimateDrillResult } from '../drill/estimate-drill.js';
import { runDrill, type DrillResult } from '../drill/restore-drill.js';
import type { Tier } from '../repo/open-repository.js';
import type { RunContext } from '../run-context.js';
import type { AlertRecord } from '../store/records.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export interface DrillInput extends RunContext {
  /** `latest` (default) or a snapshot id prefix. */
  snapshot?: string;
  /** Keep the scratch folder for inspection. */
  keep?: boolean;
  tier?: Tier;
  /** Drill only this path inside the snapshot (e.g. `data/etc/app.yaml`); its RTO is not the runbook's. */
  path?: string;
  /** Drill this one of `repository.copies` instead of hot; its RTO is recorded as the copy's. */
  copy?: string;
}

export async function drill(input: DrillInput): Promise<DrillResult & { alerts: AlertRecord[] }> {
  const path = input.path === undefined ? undefined : drillPath(input.path);
  // A copy is drilled as the runbook whose hot repository it is; an unknown name is refused before anything is recorded.
  const copy = input.copy === undefined ? undefined : findCopy(input.runbook, input.copy);
  if (copy && input.tier === 'cold') throw new LifeboatError('USAGE', 'a copy is drilled as it is: --copy takes no --tier cold');
  const drillInput = copy ? { ...input, runbook: runbookForCopy(input.runbook, copy) } : input;
  const { value, alerts } = await recordedRun(policies.drill, drillInput, async (session) => {
    const result = await runDrill({ ...session.input, id: session.runId, snapshot: input.snapshot, keep: input.keep, tier: input.tier, path, copy: copy?.name, openRepository: session.openRepository });
    // For the dead man's switch: a missed RTO restored everything, too slowly (partial); failed or blocked did not.
    const verdict = result.drill.verdict;
    return { value: result, status: verdict === 'met' ? 'succeeded' : verdict === 'missed' ? 'partial' : 'failed' };
  });
  return { ...value, alerts };
}

export async function estimateDrill(input: RunContext & { snapshot?: string }): Promise<EstimateDrillResult & { alerts: AlertRecord[] }> {
  const { value, alerts } = await recordedRun(policies.estimateDrill, input, async (session) => ({
    value: await estimateColdDrill({ ...session.input, id: session.runId, snapshot: input.snapshot }),
  }));
  return { ...value, alerts };
}
