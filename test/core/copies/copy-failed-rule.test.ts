/** copy-failed (src/core/alerts/rules/copy-failed.ts): one warning per copy the latest attempt did not fill, gone once one does. */
import { describe, expect, it } from 'vitest';
import { copyFailedRule } from '../../../src/core/alerts/rules/copy-failed.js';
import { failedRunRule } from '../../../src/core/alerts/rules/failed-run.js';
import { checkRunbookText } from '../../../src/core/runbook/load.js';
import type { CopyRunRecord, RunRecord } from '../../../src/core/store/records.js';

const { runbook } = checkRunbookText(
  [
    'name: app',
    'sources: [{ name: data, path: /srv/data }]',
    'repository:',
    '  hot: { url: "file:///var/backups/app" }',
    '  password: { env: LIFEBOAT_PASSWORD }',
    '  copies: [{ name: offsite, url: "s3://acme-offsite/app" }, { name: vault, url: "s3://acme-vault/app" }]',
    'objectives: { rpo: 26h, rto: 15m }',
  ].join('\n'),
  '/srv/runbooks/app.yaml',
  { runbooksDir: '/srv/runbooks', home: '/var/lib/lifeboat', cwd: '/srv/runbooks' },
);

function run(id: string, status: RunRecord['status'], copies: CopyRunRecord[]): RunRecord {
  const failed = copies.some((c) => c.status === 'failed');
  return {
    id,
    runbook: 'app',
    kind: 'backup',
    status,
    startedAt: '2026-12-01T02:00:00.000Z',
    endedAt: '2026-12-01T02:01:00.000Z',
    actor: { face: 'scheduler', user: 'scheduler' },
    host: 'h',
    pid: 1,
    stages: [
      { name: 'snapshot', status: 'succeeded', counters: {} },
      { name: 'copy', status: failed ? 'partial' : 'succeeded', counters: {} },
    ],
    copies,
  };
}

const ok = (name: string): CopyRunRecord => ({ name, status: 'succeeded', snapshotsCopied: 1 });
const down = (name: string): CopyRunRecord => ({ name, status: 'failed', snapshotsCopied: 0, error: { code: 'BACKEND_UNAVAILABLE', message: `copy ${name} (s3://acme-${name}/app): 503 SlowDown` } });
const ctx = (runs: RunRecord[]) => ({ runbook: runbook!, runs, drills: [], now: new Date('2026-12-01T03:00:00Z') });

describe('copy-failed', () => {
  it('raises one warning for the copy that was not filled, naming the run and the error; failed-run leaves it to this rule', () => {
    const runs = [run('r2', 'partial', [ok('offsite'), down('vault')]), run('r1', 'succeeded', [ok('offsite'), ok('vault')])];
    expect(copyFailedRule.evaluate(ctx(runs))).toEqual([
      {
        key: 'copy-failed:app:vault',
        severity: 'warning',
        message: 'copy vault was not filled by backup r2: copy vault (s3://acme-vault/app): 503 SlowDown (the data is safe in hot; the next run catches up)',
        evidence: { runId: 'r2', copy: 'vault', url: 's3://acme-vault/app', error: down('vault').error },
      },
    ]);
    expect(failedRunRule.evaluate(ctx(runs))).toEqual([]);
  });

  it('is gone once a later run fills the copy', () => {
    const runs = [run('r3', 'succeeded', [ok('offsite'), ok('vault')]), run('r2', 'partial', [ok('offsite'), down('vault')])];
    expect(copyFailedRule.evaluate(ctx(runs))).toEqual([]);
  });
});
