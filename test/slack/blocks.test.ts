/** The pure Block Kit builders, checked against golden files (test/slack/golden/*.json). */
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/core/errors.js';
import type { EngineEvent } from '../../src/core/events.js';
import type { AlertRecord, DrillRecord } from '../../src/core/store/records.js';
import {
  alertMessage,
  applyRunEvent,
  commandResultMessage,
  drillAnnouncementMessage,
  drillResultMessage,
  finishRunView,
  helpMessage,
  initialRunView,
  problemMessage,
  runMessage,
  type Block,
  type Message,
} from '../../src/slack/blocks/index.js';
import { healthFromStatus, runbookListMessage, runbookStatusMessage } from '../../src/slack/blocks/runbooks.js';
import { checkGoldenJson } from './golden.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const at = '2026-03-10T11:59:00.000Z';

const backupEvents: EngineEvent[] = [
  { type: 'run.started', runId: 'r1', runbook: 'app-data', kind: 'backup', at },
  { type: 'stage.started', runId: 'r1', stage: 'discover', at },
  { type: 'stage.finished', runId: 'r1', stage: 'discover', status: 'succeeded', counters: { files: 1200 }, at },
  { type: 'stage.started', runId: 'r1', stage: 'snapshot', at },
  { type: 'stage.progress', runId: 'r1', stage: 'snapshot', progress: { files: 600, totalFiles: 1200, bytes: 512 * 1024 * 1024, totalBytes: 1024 * 1024 * 1024, rate: 85.4 * 1024 * 1024, etaSeconds: 6 } },
  { type: 'stage.progress', runId: 'other', stage: 'snapshot', progress: { files: 1, bytes: 1 } },
  { type: 'hook.output', runId: 'r1', hook: 'before', line: 'pg_dump: dumping table users' },
  { type: 'retry', runId: 'r1', operation: 'PutObject', attempt: 1, delayMs: 200, error: 'ECONNRESET' },
];

function fold(events: EngineEvent[]) {
  return events.reduce(applyRunEvent, initialRunView('/backup app-data', 'U0ALICE', 'app-data'));
}

const drill: DrillRecord = {
  id: 'd1',
  runbook: 'app-data',
  snapshotId: '16b785d5aa00ff',
  tier: 'hot',
  startedAt: '2026-03-10T11:50:00.000Z',
  endedAt: '2026-03-10T11:54:12.000Z',
  verdict: 'met',
  rtoMs: 250_000,
  targetMs: 900_000,
  phases: [
    { name: 'plan', durationMs: 1200 },
    { name: 'fetch', durationMs: 95_000, bytes: 8 * 1024 ** 3, throughput: 90 * 1024 ** 2 },
    { name: 'write', durationMs: 80_000, bytes: 8 * 1024 ** 3, throughput: 107 * 1024 ** 2 },
    { name: 'validate', durationMs: 73_800, bytes: 8 * 1024 ** 3, throughput: 116 * 1024 ** 2 },
    { name: 'cleanup', durationMs: 2000 },
  ],
  actor: { face: 'slack', user: 'U0ALICE' },
};

const alert: AlertRecord = {
  key: 'stale:app-data',
  runbook: 'app-data',
  rule: 'stale',
  severity: 'critical',
  message: 'last successful backup 27h ago, RPO 26h',
  firstSeen: '2026-03-10T09:00:00.000Z',
  lastSeen: '2026-03-10T12:00:00.000Z',
  count: 4,
  status: 'open',
};

const texts = (m: Message) => m.blocks.map((b: Block) => JSON.stringify(b)).join('\n');

describe('Block Kit builders (golden)', () => {
  it('a command result: summary, table in monospace, lines; a failure shows its exit code', () => {
    checkGoldenJson(
      'result-status',
      commandResultMessage('/backup status', {
        exitCode: ExitCode.ok,
        summary: '2 runbooks',
        table: {
          columns: [
            { key: 'runbook', header: 'RUNBOOK' },
            { key: 'rpo', header: 'AGE / RPO', align: 'right' },
          ],
          rows: [
            { runbook: 'app-data', rpo: 'ok (2h / 26h)' },
            { runbook: 'web<>&', rpo: 'STALE (27h / 26h)' },
          ],
        },
      }),
    );
    checkGoldenJson('result-partial', commandResultMessage('/backup app-data', { exitCode: ExitCode.partial, summary: 'partial app-data', lines: ['failed: source db: exit 1'] }));
  });

  it('live progress: stages with progress, hook output and retries; events of other runs ignored', () => {
    const view = fold(backupEvents);
    expect(view.stages.find((s) => s.name === 'snapshot')!.progress!.files).toBe(600);
    checkGoldenJson('run-progress', runMessage(view));
  });

  it('a finished run shows the result with its numbers; a failed one names the stage and the error', () => {
    const done = fold([
      ...backupEvents,
      { type: 'stage.finished', runId: 'r1', stage: 'snapshot', status: 'succeeded', counters: {}, at },
      { type: 'run.finished', runId: 'r1', runbook: 'app-data', status: 'succeeded', at },
    ]);
    checkGoldenJson('run-succeeded', runMessage(finishRunView(done, { exitCode: ExitCode.ok, summary: 'backed up app-data: snapshot 16b785d5, 1200 files, 1.0 GiB read, 12.0 MiB new, 4.1 MiB stored in 14.2s' })));
    const failed = fold([
      ...backupEvents,
      { type: 'stage.finished', runId: 'r1', stage: 'snapshot', status: 'failed', counters: {}, error: { code: 'BACKEND_UNAVAILABLE', message: 's3://bucket: connect ECONNREFUSED' }, at },
      { type: 'run.finished', runId: 'r1', runbook: 'app-data', status: 'failed', at },
    ]);
    const msg = runMessage(finishRunView(failed, { exitCode: ExitCode.failed, summary: 'failed app-data: snapshot —, 0 files' }));
    expect(texts(msg)).toContain('Failed in stage *snapshot*: `BACKEND_UNAVAILABLE`');
    checkGoldenJson('run-failed', msg);
  });

  it('a drill result: verdict, RTO against target, phases with the slowest marked', () => {
    checkGoldenJson('drill-met', drillResultMessage(drill));
    checkGoldenJson('drill-failed', drillResultMessage({ ...drill, verdict: 'failed', rtoMs: undefined, phases: drill.phases.slice(0, 2), reason: 'drill.check failed: exit 1' }));
    const view = finishRunView(applyRunEvent(initialRunView('/restore-drill app-data', 'U0ALICE', 'app-data'), { type: 'drill.measured', drill }), { exitCode: ExitCode.ok, summary: 'drill met: app-data' });
    checkGoldenJson('run-drill', runMessage(view));
  });

  it('an alert has an Acknowledge button until acknowledged or resolved', () => {
    const open = alertMessage(alert, NOW);
    expect(open.blocks.at(-1)).toMatchObject({ type: 'actions', elements: [{ action_id: 'lifeboat_ack_alert', value: 'stale:app-data' }] });
    checkGoldenJson('alert-open', open);
    const acked = alertMessage({ ...alert, ackedBy: 'U0BOB', ackedAt: '2026-03-10T11:30:00.000Z' }, NOW);
    expect(acked.blocks.some((b) => b.type === 'actions')).toBe(false);
    checkGoldenJson('alert-acked', acked);
    checkGoldenJson('alert-resolved', alertMessage({ ...alert, status: 'resolved', resolvedAt: '2026-03-10T11:55:00.000Z', ackedBy: 'carol', ackedAt: '2026-03-10T11:30:00.000Z' }, NOW));
  });

  it('help, problems and the drill announcement', () => {
    checkGoldenJson('help', helpMessage());
    checkGoldenJson(
      'problem-refused',
      problemMessage({ kind: 'refused', request: '/backup app-data', message: 'you may not backup app-data: access.backup allows U0123ABC, @storage-oncall', hints: ['Ask someone listed in the runbook’s `access.backup`'] }),
    );
    checkGoldenJson('problem-unknown', problemMessage({ kind: 'unknown-runbook', request: '/backup nope', message: 'No runbook named "nope" in runbooks (available: app-data)', hints: ['Runbooks here: app-data', 'Try `/backup list`'] }));
    checkGoldenJson('drill-announcement', drillAnnouncementMessage({ name: 'app-data', objectives: { rtoMs: 900_000 } }, new Date('2026-03-10T12:05:00Z'), NOW));
  });
});

describe('runbook list and status in Slack (golden)', () => {
  // A status result as the status command returns it; `data` also carries what Slack must not show.
  const status = {
    exitCode: ExitCode.ok,
    summary: '3 runbooks',
    table: {
      columns: [],
      rows: [
        { runbook: 'app-data', last: 'succeeded 2h ago', rpo: 'ok (2h / 26h)', rto: 'met 4m10s / 15m00s', trend: '▁▃▂', cold: '—', alerts: 'none' },
        { runbook: 'orders-db', last: 'failed 30h ago', rpo: 'STALE (30h / 26h)', rto: 'no drill yet (target 15m00s)', trend: '—', cold: 'met est. 11h / 72h', alerts: '2 (1 critical)' },
        { runbook: 'broken', last: 'never', rpo: 'invalid runbook', rto: 'no drill yet', trend: '—', cold: '—', alerts: 'none' },
      ],
    },
    data: [
      { runbook: 'app-data', description: 'User uploads <and> the orders database', valid: true, rpoState: 'ok', rtoTrendMs: [], openAlerts: [], lastRun: { id: 'r1', status: 'succeeded', startedAt: at } },
      { runbook: 'orders-db', valid: true, rpoState: 'STALE', rtoTrendMs: [], openAlerts: [{ key: 'stale:orders-db', severity: 'critical', message: 'file:///var/backups/orders unreachable' }] },
      { runbook: 'broken', valid: false, rpoState: '—', rtoTrendMs: [], openAlerts: [] },
    ],
  };

  it('/backup list: names, descriptions and health; /backup status: every fact of the health', () => {
    const health = healthFromStatus(status);
    expect(health.map((h) => `${h.name} ${h.state}`)).toEqual(['app-data ok', 'orders-db stale', 'broken invalid']);
    checkGoldenJson('runbook-list', runbookListMessage('/backup list', health));
    checkGoldenJson('runbook-status', runbookStatusMessage('/backup status', health));
    // Built from named cells only: what else the result carries (an alert's message with a URL) is not shown.
    expect(JSON.stringify(runbookStatusMessage('/backup status', health))).not.toContain('file:');
  });
});
