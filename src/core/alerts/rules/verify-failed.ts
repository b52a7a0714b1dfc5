/**
 * The latest verification of this runbook's repository found problems: packs
 * missing, the wrong size, or data that does not match its hash. Critical: the
 * backups may not restore. The latest run that actually verified decides (a
 * run that skipped verify, e.g. transfer-pending, says nothing either way).
 */
import type { RunRecord, StageRecord } from '../../store/records.js';
import { oneLine, plural } from '../describe.js';
import { alertKey, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const verifyFailedRule: AlertRule = {
  name: 'verify-failed',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const latest = lastVerification(ctx.runs);
    if (!latest || latest.stage.status !== 'failed') return [];
    const { run, stage } = latest;
    const problems = stage.counters.problems;
    const count = problems !== undefined && problems > 0 ? `${plural(problems, 'problem')}: ` : '';
    const detail = stage.error ? oneLine(stage.error.message, 400) : 'no details recorded';
    return [
      {
        key: alertKey('verify-failed', ctx.runbook.name),
        severity: 'critical',
        message: `${run.kind === 'verify' ? `verify run ${run.id}` : `verification after ${run.kind} ${run.id}`} failed: ${count}${detail}`,
        evidence: { runId: run.id, problems, error: stage.error, packsRead: stage.counters.packsRead, packsWritten: stage.counters.packsWritten },
      },
    ];
  },
};

function lastVerification(runs: readonly RunRecord[]): { run: RunRecord; stage: StageRecord } | undefined {
  for (const run of runs) {
    const stage = run.stages.find((s) => s.name === 'verify' && (s.status === 'succeeded' || s.status === 'failed'));
    if (stage) return { run, stage };
  }
  return undefined;
}
