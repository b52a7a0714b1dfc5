/**
 * No successful (or partial: most of the data is there) backup within the
 * runbook's RPO. The last good backup and its age are rpoState's
 * (src/core/status/rpo.ts), the same that `status` prints and /metrics
 * exports.
 *
 * A runbook that never ran has no age to measure: it gets a warning right away
 * (nothing protects its data yet). Once backups have been attempted and all
 * failed, the RPO clock starts at the first attempt, and failed-run speaks
 * until then.
 */
import { backupTakenAt, rpoState } from '../../status/rpo.js';
import { compactDuration } from '../describe.js';
import { alertKey, finishedBackups, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const staleBackupRule: AlertRule = {
  name: 'stale',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const key = alertKey('stale', ctx.runbook.name);
    const rpoMs = ctx.runbook.objectives.rpoMs;
    const rpo = compactDuration(rpoMs);
    const { state, lastGood, ageMs } = rpoState(ctx.runs, rpoMs, ctx.now);
    if (lastGood && ageMs !== undefined) {
      if (state === 'ok') return [];
      return [
        {
          key,
          severity: 'critical',
          message: `last successful backup ${compactDuration(ageMs)} ago, RPO ${rpo}`,
          evidence: { lastSuccessRunId: lastGood.id, lastSuccessAt: backupTakenAt(lastGood), ageMs, rpoMs },
        },
      ];
    }
    const backups = finishedBackups(ctx.runs);
    const attempts = ctx.runs.filter((r) => r.kind === 'backup');
    const first = attempts.at(-1);
    if (!first) {
      return [{ key, severity: 'warning', message: 'no successful backup yet: no backup has run', evidence: { rpoMs, attempts: 0 } }];
    }
    const sinceFirstMs = ctx.now.getTime() - Date.parse(first.startedAt);
    if (sinceFirstMs <= rpoMs) return [];
    return [
      {
        key,
        severity: 'critical',
        message: `no successful backup yet; first attempt ${compactDuration(sinceFirstMs)} ago, RPO ${rpo}`,
        evidence: { firstAttemptRunId: first.id, firstAttemptAt: first.startedAt, attempts: backups.length, rpoMs },
      },
    ];
  },
};
