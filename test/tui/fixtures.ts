/** Records and snapshots for the console's tests, at a fixed time. */
import type { AlertRecord, DrillRecord, RunRecord } from '../../src/core/store/index.js';
import type { RunbookView, StoreSnapshot } from '../../src/tui/state.js';

export const now = new Date('2026-11-27T12:00:00.000Z');
export const iso = (msAgo: number): string => new Date(now.getTime() - msAgo).toISOString();

export function runRecord(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: '20261127T115000-aaaaaa',
    runbook: 'demo',
    kind: 'backup',
    status: 'succeeded',
    startedAt: iso(10 * 60_000),
    endedAt: iso(9 * 60_000),
    durationMs: 60_000,
    actor: { face: 'cli', user: 'alice' },
    host: 'box',
    pid: 123,
    stages: [
      { name: 'discover', status: 'succeeded', startedAt: iso(600_000), endedAt: iso(599_000), durationMs: 1000, counters: { files: 10, bytes: 2048 } },
      { name: 'snapshot', status: 'succeeded', startedAt: iso(599_000), endedAt: iso(560_000), durationMs: 39_000, counters: { files: 10, bytesRead: 2048, bytesNew: 1024 } },
    ],
    snapshotId: 'abcdef0123456789',
    stats: { files: 10, bytes: 2048, bytesNew: 1024, bytesStored: 900 },
    ...over,
  };
}

export function drillRecord(over: Partial<DrillRecord> = {}): DrillRecord {
  return {
    id: '20261127T115500-bbbbbb',
    runbook: 'demo',
    snapshotId: 'abcdef0123456789',
    tier: 'hot',
    startedAt: iso(5 * 60_000),
    endedAt: iso(4 * 60_000),
    verdict: 'met',
    rtoMs: 42_000,
    targetMs: 300_000,
    phases: [
      { name: 'plan', durationMs: 1000 },
      { name: 'fetch', durationMs: 20_000, bytes: 1_048_576, throughput: 52_428 },
      { name: 'write', durationMs: 15_000, bytes: 1_048_576 },
      { name: 'validate', durationMs: 6000, bytes: 1_048_576 },
      { name: 'cleanup', durationMs: 10 },
    ],
    actor: { face: 'tui', user: 'alice' },
    ...over,
  };
}

export function alertRecord(over: Partial<AlertRecord> = {}): AlertRecord {
  return {
    key: 'stale:web',
    runbook: 'web',
    rule: 'stale-backup',
    severity: 'critical',
    message: 'newest backup of web is 30h old, over the 26h RPO',
    firstSeen: iso(3_600_000),
    lastSeen: iso(60_000),
    count: 3,
    status: 'open',
    ...over,
  };
}

export function runbookView(over: Partial<RunbookView> = {}): RunbookView {
  return {
    name: 'demo',
    valid: true,
    description: 'Sample application data',
    lastRun: { id: '20261127T115000-aaaaaa', status: 'succeeded', startedAt: iso(600_000), endedAt: iso(540_000) },
    lastSuccess: { id: '20261127T115000-aaaaaa', status: 'succeeded', startedAt: iso(600_000), endedAt: iso(540_000) },
    ageMs: 540_000,
    rpoMs: 26 * 3_600_000,
    rpoState: 'ok',
    lastDrill: drillRecord(),
    rtoTargetMs: 300_000,
    rtoTrendMs: [30_000, 50_000, 42_000],
    openAlerts: [],
    nextBackup: '2026-11-27T13:00:00.000Z',
    nextDrill: '2026-11-30T10:00:00.000Z',
    lastStoredBytes: 900,
    ...over,
  };
}

export function snapshot(over: Partial<StoreSnapshot> = {}): StoreSnapshot {
  return {
    loadedAt: now.toISOString(),
    runbooks: [
      runbookView(),
      runbookView({
        name: 'web',
        description: 'The web app',
        lastRun: { id: 'r-web', status: 'failed', startedAt: iso(30 * 3_600_000), endedAt: iso(30 * 3_600_000) },
        lastSuccess: undefined,
        ageMs: undefined,
        rpoState: 'no backup',
        lastDrill: undefined,
        rtoTrendMs: [],
        openAlerts: [{ key: 'stale:web', severity: 'critical', message: 'newest backup of web is 30h old' }],
      }),
    ],
    runs: [runRecord()],
    drills: [drillRecord()],
    alerts: [alertRecord()],
    ...over,
  };
}

export const commandNames = ['status', 'runbooks', 'init', 'backup', 'resume', 'snapshots', 'restore', 'restore-drill', 'check', 'forget', 'history', 'alerts', 'ack'];
