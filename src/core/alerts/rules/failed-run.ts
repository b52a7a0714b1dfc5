/**
 * The latest backup did not fully succeed: failed (critical), partial or
 * transfer-pending (warning: the data is safe somewhere, but not all of it, or
 * not yet off the machine). Names the stage or sources and the error.
 *
 * A run that failed only because verification found problems is left to the
 * verify-failed rule, so one condition pages once, not twice; a run partial
 * only because a copy was not filled is left to copy-failed.
 */
import { commandHint } from '../../command-hint.js';
import { formatBytes } from '../../format.js';
import type { RunRecord, StageRecord } from '../../store/records.js';
import { oneLine, plural } from '../describe.js';
import { alertKey, finishedBackups, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const failedRunRule: AlertRule = {
  name: 'failed-run',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const backups = finishedBackups(ctx.runs);
    const latest = backups[0];
    if (!latest || latest.status === 'succeeded') return [];
    if (failedOnlyInVerify(latest) || partialOnlyInCopies(latest)) return [];
    const streak = backups.findIndex((r) => r.status === 'succeeded');
    const inARow = streak === -1 ? backups.length : streak;
    const suffix = inARow > 1 ? `; ${inARow} backups in a row without full success` : '';
    const evidence = { runId: latest.id, status: latest.status, startedAt: latest.startedAt, inARow };
    const key = alertKey('failed-run', ctx.runbook.name);
    switch (latest.status) {
      case 'failed':
        return [{ key, severity: 'critical', message: `${failedMessage(latest)}${suffix}`, evidence: { ...evidence, stage: firstFailedStage(latest)?.name, error: latest.error } }];
      case 'partial':
        return [{ key, severity: 'warning', message: `${partialMessage(latest)}${suffix}`, evidence: { ...evidence, failedSources: latest.failedSources?.map((s) => s.name) } }];
      case 'transfer-pending':
        return [{ key, severity: 'warning', message: `${pendingMessage(latest, ctx.runbook.name, ctx.runbook.repository.hot.url)}${suffix}`, evidence: { ...evidence, error: transferOf(latest)?.error ?? latest.error } }];
      default:
        return [];
    }
  },
};

function firstFailedStage(run: RunRecord): StageRecord | undefined {
  return run.stages.find((s) => s.status === 'failed');
}

function failedOnlyInVerify(run: RunRecord): boolean {
  const failed = run.stages.filter((s) => s.status === 'failed');
  return run.status === 'failed' && run.error === undefined && failed.length === 1 && failed[0]!.name === 'verify';
}

/** Partial only because a copy was not filled: copy-failed (./copy-failed.ts) names the copy, one alert per copy. */
function partialOnlyInCopies(run: RunRecord): boolean {
  const degraded = run.stages.filter((s) => s.status === 'failed' || s.status === 'partial');
  return run.status === 'partial' && !run.failedSources?.length && degraded.length === 1 && degraded[0]!.name === 'copy';
}

function errorText(e: { code: string; message: string } | undefined): string {
  return e ? `${oneLine(e.message, 240)} (${e.code})` : 'no error recorded';
}

function failedMessage(run: RunRecord): string {
  const stage = firstFailedStage(run);
  if (stage) return `backup failed in stage ${stage.name}: ${errorText(stage.error ?? run.error)}`;
  return `backup failed: ${errorText(run.error)}`;
}

function partialMessage(run: RunRecord): string {
  const sources = run.failedSources ?? [];
  if (sources.length > 0) {
    const named = sources.map((s) => `${s.name} (${oneLine(s.error.message, 160)})`).join(', ');
    return `backup was partial: ${plural(sources.length, 'source')} failed: ${named}; the others completed`;
  }
  const stage = run.stages.find((s) => s.status === 'partial' || s.status === 'failed');
  return `backup was partial${stage ? ` in stage ${stage.name}` : ''}: ${errorText(stage?.error ?? run.error)}`;
}

function transferOf(run: RunRecord): StageRecord | undefined {
  return run.stages.find((s) => s.name === 'transfer');
}

/**
 * What waits, where it should be, and the command that finishes the job. The
 * transfer error itself is not quoted: it repeats the counts and the staging
 * path and ran past 300 characters (it stays in the evidence and the run).
 */
function pendingMessage(run: RunRecord, runbook: string, repository: string): string {
  const transfer = transferOf(run);
  const objects = transfer?.counters.pendingObjects;
  const bytes = transfer?.counters.pendingBytes;
  const what = objects !== undefined ? `${plural(objects, 'object')}${bytes !== undefined ? ` (${formatBytes(bytes)})` : ''}` : 'its data';
  return `backup is transfer-pending: ${what} safe in local staging, not yet in ${repository}, which was not reachable; ${commandHint('resume', runbook)} uploads ${objects === undefined || objects === 1 ? 'it' : 'them'}`;
}
