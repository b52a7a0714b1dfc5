/**
 * The store bench's data: issue 18's PostgreSQL history (500 runbooks,
 * 1,000,000 runs, 100,000 drills, 50,000 alerts) generated inside PostgreSQL
 * with generate_series, and a JSON state file at the JSON store's limits cut
 * from the same rows, so both stores hold records of one shape.
 *
 * The jsonb is a whole record in the JSON store's shape (src/core/store/records.ts):
 * ISO timestamps as JavaScript writes them, backup runs with their five stages,
 * counters, stats and diff, drills with their phases, alerts with first/last
 * seen. Values vary with a cheap deterministic hash of (runbook, index), so
 * every runbook has failures, partial runs, missed and failed drills.
 */
import type { Pool } from 'pg';
import { formatState, emptyState, type StateFile } from '../src/core/store/state-file.js';
import { defaultStoreLimits } from '../src/core/store/store.js';
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from '../src/core/store/records.js';

export interface StoreDataSpec {
  runbooks: number;
  runs: number;
  drills: number;
  alerts: number;
  /** Open alerts per runbook (the rest of `alerts` is resolved history). */
  openAlertsPerRunbook: number;
}

export const ISSUE_SPEC: StoreDataSpec = { runbooks: 500, runs: 1_000_000, drills: 100_000, alerts: 50_000, openAlertsPerRunbook: 2 };

/** rb-000 … rb-499. */
export function runbookName(i: number): string {
  return `rb-${String(i).padStart(3, '0')}`;
}

/** Every tenth runbook has a cold tier (its status computes or reads a cold RTO). */
export function hasColdTier(i: number): boolean {
  return i % 10 === 0;
}

/** One runbook file; `status` and /metrics need the objectives and the cold tier. */
export function runbookYaml(i: number): string {
  const name = runbookName(i);
  const cold = hasColdTier(i)
    ? `  cold:\n    url: "s3://bench-archive/${name}"\n    storageClass: DEEP_ARCHIVE\n    after: 30d\n    retrieval: Bulk\n`
    : '';
  return `name: ${name}
description: Bench runbook ${i}
owner: "@storage-oncall"
sources:
  - name: data
    path: /srv/${name}
repository:
  hot:
    url: "file:///var/backups/${name}"
${cold}  password: { env: LIFEBOAT_PASSWORD }
schedule: { backup: "0 * * * *", drill: "0 10 * * *", timezone: UTC }
objectives: { rpo: 26h, rto: 15m${hasColdTier(i) ? ', coldRto: 72h' : ''} }
retention: { daily: 7 }
`;
}

/**
 * SQL that fills an empty, migrated Lifeboat database. `now` anchors the
 * history: the newest run of each runbook started 10 minutes before it, one
 * run an hour before that; a drill every 10 hours; alerts resolved one every
 * 7 hours. Rows go in oldest first, as a live store would have written them
 * (the `written` column breaks ties in time). The columns beside the record
 * are the ones postgres-store.ts writes (schema 3).
 */
export function generationSql(spec: StoreDataSpec, now: Date): string[] {
  const runsPer = Math.floor(spec.runs / spec.runbooks);
  const drillsPer = Math.floor(spec.drills / spec.runbooks);
  const alertsPer = Math.floor(spec.alerts / spec.runbooks);
  const t0 = `'${now.toISOString()}'::timestamptz`;
  // Plain expressions, not SQL functions: a function PostgreSQL does not inline costs
  // tens of microseconds a call, and a backup row needs a dozen of them.
  // to_char in UTC with milliseconds: Date.prototype.toISOString's format.
  const iso = (t: string) => `to_char((${t}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const hash = (a: string, b: string) => `((${a})::bigint * 7919 + (${b})::bigint * 104729 + ((${a})::bigint * (${b})::bigint) % 9973) % 1000`;
  const stage = (name: string, status: string, start: string, ms: string, counters: string) =>
    `jsonb_build_object('name', ${name}, 'status', ${status}, 'startedAt', ${iso(start)}, 'endedAt', ${iso(`${start} + (${ms}) * interval '1 millisecond'`)}, 'durationMs', ${ms}, 'counters', ${counters})`;
  return [
    // Runs: 70% backups, then check, forget, verify; 2% failed, 3% partial.
    `INSERT INTO runs (id, runbook, kind, status, started_at, ended_at, record)
     SELECT id, runbook, kind, status, started, started + dur * interval '1 millisecond', jsonb_strip_nulls(jsonb_build_object(
       'id', id, 'runbook', runbook, 'kind', kind, 'status', status,
       'startedAt', ${iso('started')}, 'endedAt', ${iso("started + dur * interval '1 millisecond'")}, 'durationMs', dur,
       'actor', CASE WHEN i % 50 = 7 THEN '{"face":"slack","user":"U0123ABC"}'::jsonb ELSE '{"face":"scheduler","user":"scheduler"}'::jsonb END,
       'host', 'backup-' || (b % 8), 'pid', 1000 + (h * 37) % 30000,
       'stages', CASE kind
         WHEN 'backup' THEN jsonb_build_array(
           ${stage("'discover'", "'succeeded'", 'started', 'dur / 10', "jsonb_build_object('files', files, 'dirs', files / 40, 'bytes', bytes)")},
           ${stage("'snapshot'", "CASE WHEN status = 'failed' THEN 'failed' WHEN status = 'partial' THEN 'partial' ELSE 'succeeded' END", "started + dur / 10 * interval '1 millisecond'", 'dur / 2', "jsonb_build_object('files', files, 'bytesRead', bytes / 20, 'blobsNew', 40 + h)")},
           ${stage("'transfer'", "CASE WHEN status = 'failed' THEN 'skipped' ELSE 'succeeded' END", "started + dur * 6 / 10 * interval '1 millisecond'", 'dur / 4', "jsonb_build_object('packs', 3 + h % 9, 'bytes', bytes / 60)")},
           ${stage("'verify'", "CASE WHEN status = 'failed' THEN 'skipped' ELSE 'succeeded' END", "started + dur * 85 / 100 * interval '1 millisecond'", 'dur / 10', "jsonb_build_object('packsChecked', 3 + h % 9)")},
           ${stage("'retention'", "CASE WHEN status = 'failed' THEN 'skipped' ELSE 'succeeded' END", "started + dur * 95 / 100 * interval '1 millisecond'", 'dur / 20', "jsonb_build_object('forgotten', h % 3)")})
         ELSE jsonb_build_array(${stage("CASE kind WHEN 'check' THEN 'check' WHEN 'forget' THEN 'retention' ELSE 'verify' END", "CASE WHEN status = 'succeeded' THEN 'succeeded' ELSE 'failed' END", 'started', 'dur', "jsonb_build_object('packsChecked', 10 + h)")})
       END,
       'snapshotId', CASE WHEN kind = 'backup' AND status <> 'failed' THEN md5(id) END,
       'stats', CASE WHEN kind = 'backup' THEN jsonb_build_object('files', files, 'bytes', bytes, 'bytesRead', bytes / 20, 'bytesNew', bytes / 50,
         'bytesStored', bytes / 60, 'repositoryBytes', bytes * 3) END,
       'diff', CASE WHEN kind = 'backup' THEN jsonb_build_object('filesAdded', h % 40, 'filesChanged', h % 90, 'filesRemoved', h % 7,
         'bytesAdded', (h % 40) * 65536, 'bytesChanged', (h % 90) * 32768, 'bytesRemoved', (h % 7) * 4096) END,
       'failedSources', CASE WHEN status = 'partial' THEN jsonb_build_array(jsonb_build_object('name', 'data',
         'error', jsonb_build_object('code', 'SOURCE_UNREADABLE', 'message', 'permission denied: /srv/' || runbook || '/private'))) END,
       'error', CASE WHEN status = 'failed' THEN jsonb_build_object('code', 'REPO_UNREACHABLE', 'message', 'file:///var/backups/' || runbook || ': no space left on device') END
     ))
     FROM (
       SELECT b, i, h, format('run-%s-%s', lpad(b::text, 3, '0'), lpad(i::text, 6, '0')) AS id, 'rb-' || lpad(b::text, 3, '0') AS runbook,
         CASE WHEN i % 10 < 7 THEN 'backup' WHEN i % 10 = 7 THEN 'check' WHEN i % 10 = 8 THEN 'forget' ELSE 'verify' END AS kind,
         CASE WHEN h < 20 THEN 'failed' WHEN h < 50 THEN 'partial' ELSE 'succeeded' END AS status,
         ${t0} - interval '10 minutes' - (${runsPer} - 1 - i) * interval '1 hour' - b * interval '7 seconds' AS started,
         60000 + h * 240 AS dur, 20000 + b * 10 + h AS files, (20000 + b * 10 + h)::bigint * 131072 AS bytes
       FROM generate_series(0, ${runsPer - 1}) AS i, generate_series(0, ${spec.runbooks - 1}) AS b,
         LATERAL (SELECT ${hash('b', 'i')} AS h) AS x
       ORDER BY i, b
     ) AS g`,

    // Drills: every 10 hours; a cold-tier runbook's every fifth drill is a cold estimate. 3% failed, 7% missed.
    `INSERT INTO drills (id, runbook, verdict, tier, started_at, ended_at, record)
     SELECT id, runbook, verdict, tier, started, started + rto * interval '1 millisecond', jsonb_strip_nulls(jsonb_build_object(
       'id', id, 'runbook', runbook, 'snapshotId', md5(id), 'tier', tier, 'startedAt', ${iso('started')},
       'endedAt', ${iso("started + rto * interval '1 millisecond'")}, 'verdict', verdict,
       'rtoMs', CASE WHEN verdict <> 'failed' THEN rto END, 'targetMs', CASE WHEN tier = 'cold' THEN 259200000 ELSE 900000 END,
       'phases', CASE WHEN tier = 'cold' THEN jsonb_build_array(
           jsonb_build_object('name', 'plan', 'durationMs', 40 + h),
           jsonb_build_object('name', 'thaw', 'durationMs', 172800000))
         ELSE jsonb_build_array(
           jsonb_build_object('name', 'plan', 'durationMs', 40 + h),
           jsonb_build_object('name', 'fetch', 'durationMs', rto / 2, 'bytes', 2621440000, 'throughput', 2621440000000 / (rto / 2)),
           jsonb_build_object('name', 'write', 'durationMs', rto / 4, 'bytes', 2621440000),
           jsonb_build_object('name', 'validate', 'durationMs', rto / 5),
           jsonb_build_object('name', 'cleanup', 'durationMs', 200 + h)) END,
       'reason', CASE WHEN verdict = 'failed' THEN 'drill check "test -s data/index.json" exited 1' END,
       'actor', '{"face":"scheduler","user":"scheduler"}'::jsonb,
       'estimated', CASE WHEN tier = 'cold' THEN true END))
     FROM (
       SELECT b, i, h, format('drill-%s-%s', lpad(b::text, 3, '0'), lpad(i::text, 5, '0')) AS id, 'rb-' || lpad(b::text, 3, '0') AS runbook,
         CASE WHEN b % 10 = 0 AND i % 5 = 0 THEN 'cold' ELSE 'hot' END AS tier,
         CASE WHEN b % 10 = 0 AND i % 5 = 0 THEN 'met' WHEN h < 30 THEN 'failed' WHEN h < 100 THEN 'missed' ELSE 'met' END AS verdict,
         CASE WHEN b % 10 = 0 AND i % 5 = 0 THEN 180000000 + h * 1000 WHEN h < 100 THEN 900000 + h * 3000 ELSE 120000 + h * 600 END AS rto,
         ${t0} - interval '3 hours' - (${drillsPer} - 1 - i) * interval '10 hours' - b * interval '13 seconds' AS started
       FROM generate_series(0, ${drillsPer - 1}) AS i, generate_series(0, ${spec.runbooks - 1}) AS b,
         LATERAL (SELECT ${hash('b + 17', 'i')} AS h) AS x
       ORDER BY i, b
     ) AS g`,

    // Alerts: the newest `openAlertsPerRunbook` of each runbook are open, the rest resolved, one every 7 hours.
    `INSERT INTO alerts (key, runbook, status, last_seen, resolved_at, record)
     SELECT key, runbook, status, last_seen, coalesce(resolved, last_seen), jsonb_strip_nulls(jsonb_build_object(
       'key', key, 'runbook', runbook, 'rule', rule, 'severity', (ARRAY['info', 'warning', 'critical'])[1 + h % 3],
       'message', CASE rule
         WHEN 'failed-run' THEN 'backup of ' || runbook || ' failed: REPO_UNREACHABLE (no space left on device)'
         WHEN 'stale' THEN 'no good backup of ' || runbook || ' for 27h (RPO 26h)'
         WHEN 'anomaly' THEN 'backup of ' || runbook || ' added 4.1 GiB, the last 20 runs added 40–90 MiB (median 61 MiB)'
         WHEN 'rto-over-target' THEN 'drill of ' || runbook || ' took 17m02s, target 15m'
         ELSE 'drill of ' || runbook || ' failed: check "test -s data/index.json" exited 1' END,
       'firstSeen', ${iso("last_seen - (1 + h % 48) * interval '1 hour'")}, 'lastSeen', ${iso('last_seen')}, 'count', 1 + h % 20,
       'status', status, 'resolvedAt', ${iso('resolved')},
       'ackedBy', CASE WHEN h % 4 = 0 THEN 'U0123ABC' END,
       'ackedAt', CASE WHEN h % 4 = 0 THEN ${iso("last_seen - interval '30 minutes'")} END,
       'lastNotifiedAt', ${iso("last_seen - (h % 48) * interval '1 hour'")}))
     FROM (
       SELECT b, i, h, runbook, rule, CASE WHEN open THEN rule || ':' || runbook ELSE rule || ':' || runbook || ':h' || i END AS key,
         CASE WHEN open THEN 'open' ELSE 'resolved' END AS status,
         CASE WHEN open THEN ${t0} - interval '1 minute' ELSE ${t0} - (i + 1) * interval '7 hours' - b * interval '11 seconds' END AS last_seen,
         CASE WHEN open THEN NULL ELSE ${t0} - (i + 1) * interval '7 hours' - b * interval '11 seconds' + interval '1 second' END AS resolved
       FROM generate_series(0, ${alertsPer - 1}) AS i, generate_series(0, ${spec.runbooks - 1}) AS b,
         LATERAL (SELECT ${hash('b + 31', 'i')} AS h, 'rb-' || lpad(b::text, 3, '0') AS runbook,
           i < ${spec.openAlertsPerRunbook} AS open,
           (ARRAY['failed-run', 'stale', 'anomaly', 'rto-over-target', 'drill-failed'])[1 + (i + b) % 5] AS rule) AS x
       ORDER BY i DESC, b
     ) AS g`,
  ];
}

/**
 * Runs the generation and refreshes the planner's statistics. The store's
 * secondary indexes (whatever the migrations made) are dropped for the load
 * and made again from their own definitions after it: building an index once
 * is much faster than a million insertions into it.
 */
export async function generateInPostgres(pool: Pool, spec: StoreDataSpec, now: Date): Promise<void> {
  const indexes = await pool.query<{ name: string; def: string }>(
    `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
     JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid
     WHERE i.schemaname = 'public' AND i.tablename IN ('runs', 'drills', 'alerts') AND NOT x.indisprimary`,
  );
  for (const { name } of indexes.rows) await pool.query(`DROP INDEX ${name}`);
  for (const sql of generationSql(spec, now)) await pool.query(sql);
  for (const { def } of indexes.rows) await pool.query(def);
  await pool.query('VACUUM ANALYZE runs, drills, alerts');
}

/**
 * A state file at the JSON store's limits (defaultStoreLimits), cut from the
 * PostgreSQL rows: the newest 200 runs and 100 drills of each runbook, every
 * open alert and the newest 500 resolved ones, plus a full audit log (5,000)
 * and outbox (2,000 delivered) — every collection a read of the file parses.
 * Arrays in write order (oldest first), as the JSON store keeps them.
 */
export async function stateAtLimits(pool: Pool, now: Date): Promise<{ text: string; counts: Record<string, number> }> {
  const l = defaultStoreLimits;
  const newest = async <T>(table: string, limit: number): Promise<T[]> =>
    (
      await pool.query<{ record: T }>(
        `SELECT record FROM (SELECT record, started_at, written, row_number() OVER (PARTITION BY runbook ORDER BY started_at DESC, written DESC) AS n FROM ${table}) t
         WHERE n <= $1 ORDER BY started_at, written`,
        [limit],
      )
    ).rows.map((r) => r.record);
  const state: StateFile = emptyState();
  state.runs = await newest<RunRecord>('runs', l.runsPerRunbook);
  state.drills = await newest<DrillRecord>('drills', l.drillsPerRunbook);
  state.alerts = (
    await pool.query<{ record: AlertRecord }>(
      `(SELECT record, last_seen, written FROM alerts WHERE status = 'resolved' ORDER BY resolved_at DESC, written DESC LIMIT $1)
       UNION ALL (SELECT record, last_seen, written FROM alerts WHERE status = 'open') ORDER BY last_seen, written`,
      [l.resolvedAlerts],
    )
  ).rows.map((r) => r.record);
  state.audit = Array.from({ length: l.auditEntries }, (_, i): AuditRecord => ({
    id: `audit-${String(i).padStart(5, '0')}`,
    at: new Date(now.getTime() - (l.auditEntries - i) * 60_000).toISOString(),
    actor: i % 3 === 0 ? { face: 'slack', user: 'U0123ABC' } : { face: 'scheduler', user: 'scheduler' },
    command: i % 3 === 0 ? 'restore-drill' : 'backup',
    args: [runbookName(i % 500)],
    where: i % 3 === 0 ? 'C0BACKUPS' : undefined,
    result: i % 40 === 0 ? 'failed' : 'ok',
  }));
  const alerts = state.alerts;
  state.deliveries = Array.from({ length: l.deliveries }, (_, i): DeliveryRecord => {
    const alert = alerts[i % alerts.length]!;
    const created = new Date(now.getTime() - (l.deliveries - i) * 120_000).toISOString();
    return {
      id: `delivery-${String(i).padStart(5, '0')}`,
      alertKey: alert.key,
      runbook: alert.runbook,
      sink: 'oncall-slack',
      transition: 'raised',
      seq: 1,
      alert,
      createdAt: created,
      status: 'delivered',
      attempts: 1,
      nextAttemptAt: created,
      lastAttemptAt: created,
      deliveredAt: created,
      claimedBy: 'bench-host:1:0',
      receipt: { channel: 'C0BACKUPS', ts: `${Math.floor(Date.parse(created) / 1000)}.000100` },
    };
  });
  const counts = { runs: state.runs.length, drills: state.drills.length, alerts: state.alerts.length, audit: state.audit.length, deliveries: state.deliveries.length };
  return { text: formatState(state), counts };
}
