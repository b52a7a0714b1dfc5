/** Small valid records for store tests; every field a test does not care about has a plain default. */
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from '../../../../src/core/store/records.js';

const actor = { face: 'test', user: 'tester' } as const;

/** Minute `n` after a fixed start, so tests can order records by a number. */
export function at(n: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
}

export function run(id: string, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    runbook: 'app-data',
    kind: 'backup',
    status: 'succeeded',
    startedAt: at(0),
    actor: { ...actor },
    host: 'test-host',
    pid: 1,
    stages: [{ name: 'snapshot', status: 'succeeded', counters: { files: 3 } }],
    ...fields,
  };
}

export function drill(id: string, fields: Partial<DrillRecord> = {}): DrillRecord {
  return {
    id,
    runbook: 'app-data',
    snapshotId: 'snap-1',
    tier: 'hot',
    startedAt: at(0),
    verdict: 'met',
    rtoMs: 1_000,
    targetMs: 60_000,
    phases: [{ name: 'fetch', durationMs: 600, bytes: 1_000_000, throughput: 1_666_666 }],
    actor: { ...actor },
    ...fields,
  };
}

export function alert(key: string, fields: Partial<AlertRecord> = {}): AlertRecord {
  return {
    key,
    runbook: 'app-data',
    rule: 'stale',
    severity: 'warning',
    message: `alert ${key}`,
    firstSeen: at(0),
    lastSeen: at(0),
    count: 1,
    status: 'open',
    ...fields,
  };
}

export function audit(id: string, fields: Partial<AuditRecord> = {}): AuditRecord {
  return { id, at: at(0), actor: { ...actor }, command: 'status', args: [], result: 'ok', ...fields };
}

/** A pending delivery of `alertKey`'s alert to `sink`, due at minute 0. */
export function delivery(id: string, alertKey: string, sink: string, fields: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    id,
    alertKey,
    runbook: 'app-data',
    sink,
    transition: 'raised',
    seq: 0,
    alert: alert(alertKey),
    createdAt: at(0),
    status: 'pending',
    attempts: 0,
    nextAttemptAt: at(0),
    ...fields,
  };
}

export const ids = (list: readonly { id: string }[]): string[] => list.map((r) => r.id);
export const keys = (list: readonly { key: string }[]): string[] => list.map((r) => r.key);
