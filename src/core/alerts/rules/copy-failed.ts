/**
 * The latest run that tried to fill one of the runbook's copies failed to:
 * the copy is unreachable, answered 5xx after the retries, or did not verify.
 * The data is safe in hot, but the runbook has one copy fewer than it promises
 * (3-2-1), so a warning per copy: `copy-failed:<runbook>:<copy>`. The next run
 * that fills the copy resolves it; a copy taken out of the runbook stops
 * being evaluated, so its alert resolves too.
 */
import type { CopyRunRecord, RunRecord } from '../../store/records.js';
import { oneLine } from '../describe.js';
import { alertKey, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const copyFailedRule: AlertRule = {
  name: 'copy-failed',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const out: AlertCondition[] = [];
    for (const copy of ctx.runbook.repository.copies ?? []) {
      const latest = latestAttempt(finishedFills(ctx.runs), copy.name);
      if (!latest || latest.result.status !== 'failed') continue;
      const { run, result } = latest;
      out.push({
        key: alertKey('copy-failed', ctx.runbook.name, copy.name),
        severity: 'warning',
        message: `copy ${copy.name} was not filled by ${run.kind} ${run.id}: ${oneLine(result.error?.message ?? 'no details recorded', 400)} (the data is safe in hot; the next run catches up)`,
        evidence: { runId: run.id, copy: copy.name, url: copy.url, error: result.error },
      });
    }
    return out;
  },
};

/** Backups (their copy stage) and `lifeboat copy` runs that finished and were not cancelled, newest first. */
function finishedFills(runs: readonly RunRecord[]): RunRecord[] {
  return runs.filter((r) => (r.kind === 'backup' || r.kind === 'copy') && r.status !== 'running' && r.status !== 'cancelled');
}

function latestAttempt(runs: readonly RunRecord[], copy: string): { run: RunRecord; result: CopyRunRecord } | undefined {
  for (const run of runs) {
    const result = run.copies?.find((c) => c.name === copy);
    if (result) return { run, result };
  }
  return undefined;
}
