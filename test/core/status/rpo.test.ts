/**
 * The last good backup and its age against the RPO (src/core/status/rpo.ts),
 * and the promise that comes with defining it once: `status`, the stale-backup
 * rule and /metrics name the same run and the same age for the same records,
 * including when the store's order (newest start first) is not the order in
 * which backups finished.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { staleBackupRule } from '../../../src/core/alerts/rules/stale-backup.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { lastGoodBackup, rpoState } from '../../../src/core/status/rpo.js';
import { runbookStatus } from '../../../src/core/status/runbook-status.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import type { RunRecord, RunStatus } from '../../../src/core/store/records.js';
import { loadScrapeView } from '../../../src/serve/metrics-scrape-view.js';

const H = 3_600_000;
const now = new Date('2026-03-10T12:00:00Z');
const at = (msAgo: number) => new Date(now.getTime() - msAgo).toISOString();

function run(id: string, fields: { status?: RunStatus; kind?: RunRecord['kind']; started: number; ended?: number }): RunRecord {
  return {
    id,
    runbook: 'web',
    kind: fields.kind ?? 'backup',
    status: fields.status ?? 'succeeded',
    startedAt: at(fields.started),
    ...(fields.ended === undefined ? {} : { endedAt: at(fields.ended) }),
    actor: { face: 'test', user: 'alice' },
    host: 'box',
    pid: 1,
    stages: [],
  };
}

describe('lastGoodBackup', () => {
  it('a partial backup counts; failed, cancelled, pending, running backups and other kinds do not', () => {
    const runs = [
      run('running', { status: 'running', started: 0.1 * H }),
      run('check', { kind: 'verify', started: 0.5 * H, ended: 0.4 * H }),
      run('failed', { status: 'failed', started: 1 * H, ended: 0.9 * H }),
      run('cancelled', { status: 'cancelled', started: 2 * H, ended: 1.9 * H }),
      run('pending', { status: 'transfer-pending', started: 3 * H, ended: 2.9 * H }),
      run('partial', { status: 'partial', started: 4 * H, ended: 3.9 * H }),
      run('older', { started: 5 * H, ended: 4.9 * H }),
    ];
    expect(lastGoodBackup(runs)?.id).toBe('partial');
    expect(lastGoodBackup(runs.slice(0, 5))).toBeUndefined();
  });

  it('is the one that finished last, whatever the list order', () => {
    // Started first, finished last (a long backup beside a short one in the list).
    const long = run('long', { started: 10 * H, ended: 1 * H });
    const short = run('short', { started: 5 * H, ended: 4 * H });
    expect(lastGoodBackup([short, long])?.id).toBe('long');
    expect(lastGoodBackup([long, short])?.id).toBe('long');
  });

  it('a record whose time does not parse is left out', () => {
    const broken = { ...run('broken', { started: 1 * H, ended: 1 * H }), endedAt: 'yesterday' };
    expect(lastGoodBackup([broken, run('good', { started: 3 * H, ended: 2 * H })])?.id).toBe('good');
  });
});

describe('rpoState', () => {
  const runs = [run('last', { started: 2 * H, ended: 1 * H })];

  it('ok within the RPO and at it exactly; STALE one millisecond past it', () => {
    expect(rpoState(runs, 2 * H, now)).toMatchObject({ state: 'ok', ageMs: H, rpoMs: 2 * H, lastGood: { id: 'last' } });
    expect(rpoState(runs, H, now).state).toBe('ok');
    expect(rpoState(runs, H - 1, now)).toMatchObject({ state: 'STALE', ageMs: H });
  });

  it('no backup when none succeeded; — without an RPO (an invalid runbook), still naming the last good backup', () => {
    expect(rpoState([], H, now)).toEqual({ state: 'no backup', rpoMs: H });
    expect(rpoState(runs, undefined, now)).toMatchObject({ state: '—', ageMs: H, lastGood: { id: 'last' } });
  });
});

describe('one definition: status, the stale rule and /metrics agree', () => {
  // Newest start first, as the store lists them; "long" finished last.
  const runs = [
    run('failed', { status: 'failed', started: 30 * H, ended: 29 * H }),
    run('short', { started: 40 * H, ended: 39 * H }),
    run('long', { started: 50 * H, ended: 28 * H }),
  ];
  const runbook = { name: 'web', objectives: { rpoMs: 26 * H, rtoMs: 15 * 60_000 }, repository: {} } as unknown as Runbook;

  it('names the same run and the same age', async () => {
    const status = runbookStatus({ name: 'web', runbook }, { runs, drills: [], alerts: [] }, now);
    expect(status).toMatchObject({ rpoState: 'STALE', ageMs: 28 * H, lastSuccess: { id: 'long' } });

    const [stale] = staleBackupRule.evaluate({ runbook, runs, drills: [], now });
    expect(stale?.evidence).toMatchObject({ lastSuccessRunId: 'long', ageMs: 28 * H, rpoMs: 26 * H });

    const store = new MemoryStore();
    for (const r of runs) await store.putRun(r);
    const view = await loadScrapeView({ store: async () => store, runbooks: () => [runbook], clock: new FakeClock(now) });
    expect(view.runbooks[0]).toMatchObject({ lastGoodAgeSeconds: 28 * 3600, lastSuccess: { runId: 'long' } });
  });

  it('back within the RPO, none of them is stale', () => {
    const fresh = [run('fresh', { started: 2 * H, ended: 1 * H }), ...runs];
    expect(runbookStatus({ name: 'web', runbook }, { runs: fresh, drills: [], alerts: [] }, now).rpoState).toBe('ok');
    expect(staleBackupRule.evaluate({ runbook, runs: fresh, drills: [], now })).toEqual([]);
  });
});
