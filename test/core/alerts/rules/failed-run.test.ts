import { describe, expect, it } from 'vitest';
import { failedRunRule } from '../../../../src/core/alerts/rules/failed-run.js';
import type { RunRecord, StageRecord } from '../../../../src/core/store/records.js';
import { backupRun, checkGolden, HOUR, MiB, nightly, ruleContext, scenarioLines } from '../fixtures.js';

const last = '2026-03-10T02:00:00Z';
const stage = (name: StageRecord['name'], status: StageRecord['status'], extra: Partial<StageRecord> = {}): StageRecord => ({ name, status, counters: {}, ...extra });
const history = (latest: RunRecord[]) => [...latest, ...nightly(5, () => ({}), Date.parse(last) - 24 * HOUR)];

const failedInTransfer = backupRun(last, {
  status: 'failed',
  stages: [stage('discover', 'succeeded'), stage('snapshot', 'succeeded'), stage('transfer', 'failed', { error: { code: 'BACKEND_PERMISSION', message: 'PUT s3://acme-backups/app-data/data/3f: 403 AccessDenied' } })],
  error: { code: 'BACKEND_PERMISSION', message: 'PUT s3://acme-backups/app-data/data/3f: 403 AccessDenied' },
});
const lockedBeforeStages = backupRun(last, { status: 'failed', stages: [], error: { code: 'RUN_LOCKED', message: 'app-data is being backed up by pid 811 on backup-host since 01:00' } });
const partialSources = backupRun(last, {
  status: 'partial',
  stages: [stage('discover', 'succeeded'), stage('snapshot', 'partial', { error: { code: 'SOURCE_FAILED', message: 'pg_dump exited with 1' } }), stage('transfer', 'succeeded'), stage('verify', 'succeeded')],
  failedSources: [{ name: 'orders-db', error: { code: 'SOURCE_FAILED', message: 'pg_dump: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed\nNo such file or directory' } }],
});
const partialFiles = backupRun(last, {
  status: 'partial',
  stages: [stage('snapshot', 'partial', { error: { code: 'SOURCE_FAILED', message: '2 file(s) unreadable, e.g. /srv/data/secret.key: EACCES: permission denied' } })],
});
const pending = backupRun(last, {
  status: 'transfer-pending',
  stages: [
    stage('snapshot', 'succeeded'),
    stage('transfer', 'failed', { counters: { pendingObjects: 14, pendingBytes: 352 * MiB }, error: { code: 'TRANSFER_PENDING', message: 's3://acme-backups unreachable: connect ECONNREFUSED 10.0.0.5:443' } }),
    stage('verify', 'skipped'),
  ],
});
const verifyOnly = backupRun(last, {
  status: 'failed',
  stages: [stage('snapshot', 'succeeded'), stage('transfer', 'succeeded'), stage('verify', 'failed', { error: { code: 'REPO_CORRUPT', message: 'pack 3f2a9c0d11aa: content does not match its name' } })],
});

const scenarios = {
  'latest succeeded': () => failedRunRule.evaluate(ruleContext({ runs: history([]) })),
  'failed in a stage': () => failedRunRule.evaluate(ruleContext({ runs: history([failedInTransfer]) })),
  'failed before any stage': () => failedRunRule.evaluate(ruleContext({ runs: history([lockedBeforeStages]) })),
  'partial: a source failed': () => failedRunRule.evaluate(ruleContext({ runs: history([partialSources]) })),
  'partial: unreadable files': () => failedRunRule.evaluate(ruleContext({ runs: history([partialFiles]) })),
  'transfer-pending': () => failedRunRule.evaluate(ruleContext({ runs: history([pending]) })),
  'three failures in a row': () =>
    failedRunRule.evaluate(
      ruleContext({ runs: history([failedInTransfer, { ...lockedBeforeStages, id: 'b', startedAt: '2026-03-09T12:00:00Z' }, { ...partialFiles, id: 'c', startedAt: '2026-03-09T06:00:00Z' }]) }),
    ),
  'failed only in verify (verify-failed speaks)': () => failedRunRule.evaluate(ruleContext({ runs: history([verifyOnly]) })),
};

describe('failed-run rule', () => {
  it('is silent when the latest backup succeeded, and when there is none', () => {
    expect(scenarios['latest succeeded']()).toEqual([]);
    expect(failedRunRule.evaluate(ruleContext())).toEqual([]);
  });

  it('a failed run is critical and names the stage and the error', () => {
    const [c, ...more] = scenarios['failed in a stage']();
    expect(more).toEqual([]);
    expect(c).toMatchObject({ key: 'failed-run:app-data', severity: 'critical', evidence: { runId: failedInTransfer.id, stage: 'transfer' } });
    expect(c!.message).toContain('transfer');
    expect(c!.message).toContain('403 AccessDenied (BACKEND_PERMISSION)');
  });

  it('partial and transfer-pending are warnings that name the sources or what waits in staging', () => {
    const [partial] = scenarios['partial: a source failed']();
    expect(partial).toMatchObject({ severity: 'warning', evidence: { failedSources: ['orders-db'] } });
    expect(partial!.message).toContain('orders-db');
    expect(partial!.message).not.toContain('\n');
    const [p] = scenarios['transfer-pending']();
    expect(p).toMatchObject({ severity: 'warning', key: 'failed-run:app-data' });
    expect(p!.message).toContain('14 objects (352 MiB)');
    // The hint names the runbook; the transfer error (counts, staging path, a hint of its own) is evidence, not message.
    expect(p!.message).toContain('`lifeboat resume app-data`');
    expect(p!.message).not.toContain('ECONNREFUSED');
    expect(p!.evidence).toMatchObject({ error: { code: 'TRANSFER_PENDING' } });
  });

  it('counts failures in a row', () => {
    expect(scenarios['three failures in a row']()[0]).toMatchObject({ severity: 'critical', evidence: { inARow: 3 } });
  });

  it('judges the latest finished run: a running or cancelled one does not hide a failure, a later success clears it', () => {
    const running: RunRecord = { ...backupRun('2026-03-10T11:59:00Z'), status: 'running', endedAt: undefined, durationMs: undefined };
    const cancelled = backupRun('2026-03-10T09:00:00Z', { status: 'cancelled' });
    expect(failedRunRule.evaluate(ruleContext({ runs: [running, cancelled, ...history([failedInTransfer])] }))).toHaveLength(1);
    expect(failedRunRule.evaluate(ruleContext({ runs: [backupRun('2026-03-10T11:00:00Z'), ...history([failedInTransfer])] }))).toEqual([]);
  });

  it('ignores runs of other kinds', () => {
    const failedCheck = { ...failedInTransfer, kind: 'check' as const, id: 'chk' };
    expect(failedRunRule.evaluate(ruleContext({ runs: [failedCheck, ...history([])] }))).toEqual([]);
  });

  it('leaves a run that failed only in verification to the verify-failed rule (one condition, one page)', () => {
    expect(scenarios['failed only in verify (verify-failed speaks)']()).toEqual([]);
  });

  it('messages match golden/failed-run.txt', () => {
    checkGolden('failed-run', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
