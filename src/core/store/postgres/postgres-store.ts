/**
 * The Store in PostgreSQL, for a team: several hosts and consoles sharing one
 * history (issue 18). Same contract as the JSON store (test/core/store/contract.ts),
 * same records (as JSON, in the JSON file's shape), same order (state-ops.ts):
 * newest first, a tie to the record written later, a replaced record keeping
 * its place (the `written` column, see migrations.ts).
 *
 * Every write is one transaction. The outbox rules:
 * - putAlert: the alert and its deliveries commit together, under a per-alert
 *   advisory lock, so `ifStored` and the `seq` numbering see every earlier
 *   writer of that alert and two writers cannot share a number.
 * - claimDeliveries: `FOR UPDATE SKIP LOCKED` over the heads of the (alert,
 *   sink) queues, re-checked on the locked row, so two processes never claim
 *   the same delivery and neither waits for the other.
 * - finishDelivery: the same rule as the other stores (state-ops.finishDelivery
 *   on the one locked row), only for the claim's owner.
 *
 * History is bounded by the same count limits as the JSON store, on write; with
 * `keepDays`, rows older than that are also deleted, at most once a minute, on
 * write; `countLimits: false` leaves the age alone to bound it (issue 18's
 * `store.keep`). Open alerts and pending deliveries are never deleted by either.
 *
 * `pg` is loaded when a PostgreSQL store is opened, not when Lifeboat starts:
 * most runs use the JSON file and should not parse it.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { LifeboatError } from '../../errors.js';
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from '../records.js';
import { emptyState } from '../state-file.js';
import * as ops from '../state-ops.js';
import type { AuditListOptions, ClaimedDelivery, ClaimOptions, DeliveryListOptions, DeliveryResult, DrillListOptions, PutAlertOptions, RunListOptions, Store, StoreLimits } from '../store.js';
import { ListCache, newestFirst, type CachedTable, type ListedRow } from './list-cache.js';
import { assertSchemaCurrent, describeUrl, migratePostgres } from './migrations.js';
import { openPool } from './pool.js';

export interface PostgresStoreOptions {
  limits?: Partial<StoreLimits>;
  /** Also delete history older than this many days (store.keep). Open alerts and pending deliveries are kept whatever their age. */
  keepDays?: number;
  /**
   * false: history is bounded by age (`keepDays`) only, not by `limits`, and
   * writes skip the count bound's query. Default true, as the other stores.
   */
  countLimits?: boolean;
  /** Apply pending migrations before use (serve start, `lifeboat store migrate`); otherwise an outdated schema is refused. */
  migrate?: boolean;
  /** Extra pg.Pool settings (e.g. `max`, `ssl`); the URL's own settings, sslmode included, apply too. */
  pool?: Omit<PoolConfig, 'connectionString'>;
  /** The clock for `keepDays` (tests shift it). */
  now?: () => Date;
}

/** Opens a pool on `url` (postgres://…), checks (or with `migrate`, brings up to date) the schema, and returns the store. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const limits = ops.resolveLimits(options.limits);
  const keepDays = options.keepDays;
  if (keepDays !== undefined && !(Number.isFinite(keepDays) && keepDays > 0)) {
    throw new LifeboatError('USAGE', `store keep must be a positive number of days, got ${String(keepDays)}`);
  }
  const where = describeUrl(url);
  const pool = await openPool({ ...options.pool, connectionString: url });
  try {
    if (options.migrate) await migratePostgres(pool, where);
    await assertSchemaCurrent(pool, where);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return new PostgresStore(pool, where, limits, { keepDays, now: options.now, countLimits: options.countLimits });
}

/** How many times a transaction PostgreSQL aborted to break a deadlock or a serialization conflict is tried. */
const ATTEMPTS = 5;
/** pg_advisory_xact_lock(class, key) class of the per-alert lock. */
const ALERT_LOCK_CLASS = 0x4c62; // "Lb"
const PRUNE_EVERY_MS = 60_000;
const DAY_MS = 86_400_000;

export type PruneCounts = Record<'runs' | 'drills' | 'alerts' | 'deliveries' | 'audit', number>;

export class PostgresStore implements Store {
  readonly #pool: Pool;
  readonly #keepDays: number | undefined;
  readonly #now: () => Date;
  readonly #countLimits: boolean;
  #lastPrune = -Infinity;
  #closed = false;
  /** The lists a long-running face reads again and again (status, /metrics), kept between changes. */
  readonly #cache: ListCache;
  #listQueries = 0;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    pool: Pool,
    /** `host:port/database`, for messages. */
    readonly where: string,
    readonly limits: StoreLimits,
    options: { keepDays?: number; now?: () => Date; countLimits?: boolean | undefined } = {},
  ) {
    this.#pool = pool;
    this.#cache = new ListCache(pool);
    this.#countLimits = options.countLimits ?? true;
    this.#keepDays = options.keepDays;
    this.#now = options.now ?? (() => new Date());
  }

  putRun(run: RunRecord): Promise<void> {
    const json = toJson(run);
    const r = JSON.parse(json) as RunRecord;
    return this.#write(async (c) => {
      await c.query(
        `INSERT INTO runs (id, runbook, kind, status, started_at, ended_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7::json)
         ON CONFLICT (id) DO UPDATE SET runbook = EXCLUDED.runbook, kind = EXCLUDED.kind, status = EXCLUDED.status,
           started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, record = EXCLUDED.record`,
        [r.id, r.runbook, r.kind, r.status, instant(r.startedAt), instant(r.endedAt ?? r.startedAt), json],
      );
      if (this.#countLimits) await c.query(
        `DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE runbook = $1 ORDER BY started_at DESC, written DESC OFFSET $2)`,
        [r.runbook, this.limits.runsPerRunbook],
      );
    }).finally(() => this.#cache.changed('runs', r.runbook));
  }
  getRun(id: string): Promise<RunRecord | undefined> {
    return this.#read(async () => (await this.#records<RunRecord>('SELECT record FROM runs WHERE id = $1', [id]))[0]);
  }
  listRuns(options: RunListOptions = {}): Promise<RunRecord[]> {
    const time = options.newestBy === 'end' ? 'ended_at' : 'started_at';
    return this.#read(() => this.#list<RunRecord>('runs', { runbook: options.runbook, kind: options.kind, status: options.status }, time, options));
  }

  putDrill(drill: DrillRecord): Promise<void> {
    const json = toJson(drill);
    const d = JSON.parse(json) as DrillRecord;
    return this.#write(async (c) => {
      await c.query(
        `INSERT INTO drills (id, runbook, verdict, tier, started_at, ended_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7::json)
         ON CONFLICT (id) DO UPDATE SET runbook = EXCLUDED.runbook, verdict = EXCLUDED.verdict, tier = EXCLUDED.tier,
           started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, record = EXCLUDED.record`,
        [d.id, d.runbook, d.verdict, d.tier ?? null, instant(d.startedAt), instant(d.endedAt ?? d.startedAt), json],
      );
      if (this.#countLimits) await c.query(
        `DELETE FROM drills WHERE id IN (SELECT id FROM drills WHERE runbook = $1 ORDER BY started_at DESC, written DESC OFFSET $2)`,
        [d.runbook, this.limits.drillsPerRunbook],
      );
    }).finally(() => this.#cache.changed('drills', d.runbook));
  }
  listDrills(options: DrillListOptions = {}): Promise<DrillRecord[]> {
    return this.#read(() => this.#list<DrillRecord>('drills', { runbook: options.runbook, tier: options.tier, verdict: options.verdict }, 'started_at', options));
  }

  putAlert(alert: AlertRecord, deliveries: readonly DeliveryRecord[] = [], options: PutAlertOptions = {}): Promise<boolean> {
    const json = toJson(alert);
    const a = JSON.parse(json) as AlertRecord;
    const owed = deliveries.map((d) => JSON.parse(toJson(d)) as DeliveryRecord);
    const condition = options.ifStored === undefined ? undefined : options.ifStored === null ? null : toJson(options.ifStored);
    return this.#write(async (c) => {
      // Every writer of this alert queues here, even for an alert no row exists for yet.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ALERT_LOCK_CLASS, a.key]);
      if (condition !== undefined) {
        // jsonb equality: the same record whatever the key order it was read back in.
        const res = await c.query<{ same: boolean }>('SELECT record = $2::jsonb AS same FROM alerts WHERE key = $1', [a.key, condition ?? 'null']);
        const stored = res.rows[0];
        if (condition === null ? stored !== undefined : stored?.same !== true) return false;
      }
      await c.query(
        `INSERT INTO alerts (key, runbook, status, last_seen, resolved_at, record) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
         ON CONFLICT (key) DO UPDATE SET runbook = EXCLUDED.runbook, status = EXCLUDED.status, last_seen = EXCLUDED.last_seen,
           resolved_at = EXCLUDED.resolved_at, record = EXCLUDED.record`,
        [a.key, a.runbook, a.status, instant(a.lastSeen), instant(a.resolvedAt ?? a.lastSeen), json],
      );
      // Open alerts are never dropped: an unresolved problem must not vanish because history is full.
      if (this.#countLimits) await c.query(
        `DELETE FROM alerts WHERE key IN (SELECT key FROM alerts WHERE status = 'resolved' ORDER BY resolved_at DESC, written DESC OFFSET $1)`,
        [this.limits.resolvedAlerts],
      );
      if (owed.length === 0) return true;
      const next = await c.query<{ seq: number }>('SELECT coalesce(max(seq), 0) + 1 AS seq FROM deliveries WHERE alert_key = $1', [a.key]);
      const seq = next.rows[0]!.seq;
      for (const d of owed) {
        const record: DeliveryRecord = { ...d, seq };
        // A delivery once written belongs to the outbox: a retried write must not reset one already tried or sent.
        await c.query(
          `INSERT INTO deliveries (id, alert_key, runbook, sink, seq, status, created_at, next_attempt_at, claim_until, claimed_by, finished_at, record)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb) ON CONFLICT (id) DO NOTHING`,
          [
            d.id,
            d.alertKey,
            d.runbook,
            d.sink,
            seq,
            d.status,
            instant(d.createdAt),
            instant(d.nextAttemptAt),
            d.claimUntil === undefined ? null : instant(d.claimUntil),
            d.claimedBy ?? null,
            instant(finishedTime(d)),
            JSON.stringify(record),
          ],
        );
      }
      await this.#boundDeliveries(c);
      return true;
    }).finally(() => this.#cache.changed('alerts', a.runbook));
  }
  getAlert(key: string): Promise<AlertRecord | undefined> {
    return this.#read(async () => (await this.#records<AlertRecord>('SELECT record FROM alerts WHERE key = $1', [key]))[0]);
  }
  listAlerts(options: ops.AlertListOptions = {}): Promise<AlertRecord[]> {
    return this.#read(() => this.#list<AlertRecord>('alerts', { runbook: options.runbook, status: options.status }, 'last_seen', options));
  }

  claimDeliveries(options: ClaimOptions): Promise<ClaimedDelivery[]> {
    const now = instant(options.now.toISOString());
    const until = new Date(options.now.getTime() + options.leaseMs).toISOString();
    const limit = options.limit;
    if (!Number.isInteger(limit) || limit < 0) {
      return Promise.reject(new LifeboatError('USAGE', `A claim limit must be a whole number of at least 0, got ${String(limit)}`));
    }
    return this.#write(async (c) => {
      // Only the head of each (alert, sink) queue may go: one alert's messages reach a sink in order.
      // The outer conditions are checked again on the row once it is locked, so a claim another
      // process committed meanwhile is seen; a row another process is claiming right now is skipped.
      const due = await c.query<{ id: string }>(
        `SELECT d.id FROM deliveries d
         WHERE d.id IN (
           SELECT DISTINCT ON (alert_key, sink) id FROM deliveries
           WHERE status = 'pending' AND sink = ANY($1::text[])
           ORDER BY alert_key, sink, seq, written
         )
         AND d.status = 'pending' AND d.next_attempt_at <= $2 AND (d.claim_until IS NULL OR d.claim_until <= $2)
         ORDER BY d.next_attempt_at, d.created_at, d.written
         LIMIT $3
         FOR UPDATE OF d SKIP LOCKED`,
        [[...options.sinks], now, limit],
      );
      const ids = due.rows.map((r) => r.id);
      if (ids.length === 0) return [];
      await c.query(
        `UPDATE deliveries SET claimed_by = $2, claim_until = $3,
           record = record || jsonb_build_object('claimedBy', $2::text, 'claimUntil', $4::text)
         WHERE id = ANY($1::text[])`,
        [ids, options.owner, until, until],
      );
      // With the receipt of the latest delivered one of the same raising (same firstSeen) to the same sink.
      const claimed = await c.query<{ record: DeliveryRecord; previous: Record<string, string> | null }>(
        `SELECT d.record, p.receipt AS previous
         FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)
         JOIN deliveries d ON d.id = u.id
         LEFT JOIN LATERAL (
           SELECT e.record->'receipt' AS receipt FROM deliveries e
           WHERE e.alert_key = d.alert_key AND e.sink = d.sink AND e.status = 'delivered' AND e.seq < d.seq
             AND e.record ? 'receipt' AND e.record->'alert'->'firstSeen' = d.record->'alert'->'firstSeen'
           ORDER BY e.seq DESC, e.written ASC LIMIT 1
         ) p ON true
         ORDER BY u.n`,
        [ids],
      );
      return claimed.rows.map((r) => (r.previous === null ? r.record : { ...r.record, previous: r.previous }));
    });
  }

  finishDelivery(id: string, owner: string, result: DeliveryResult): Promise<boolean> {
    return this.#write(async (c) => {
      const res = await c.query<{ record: DeliveryRecord }>('SELECT record FROM deliveries WHERE id = $1 FOR UPDATE', [id]);
      const row = res.rows[0];
      if (row === undefined) return false;
      // The very rule the other stores apply, on this one row.
      const state = emptyState();
      state.deliveries = [row.record];
      if (!ops.finishDelivery(state, id, owner, result, this.limits)) return false;
      const d = state.deliveries[0]!;
      await c.query(
        `UPDATE deliveries SET status = $2, next_attempt_at = $3, claim_until = NULL, claimed_by = $4, finished_at = $5, record = $6::jsonb WHERE id = $1`,
        [id, d.status, instant(d.nextAttemptAt), d.claimedBy ?? null, instant(finishedTime(d)), toJson(d)],
      );
      await this.#boundDeliveries(c);
      return true;
    });
  }
  listDeliveries(options: DeliveryListOptions = {}): Promise<DeliveryRecord[]> {
    return this.#read(() => this.#list<DeliveryRecord>('deliveries', { runbook: options.runbook, status: options.status }, 'created_at', { limit: options.limit }));
  }

  appendAudit(entry: AuditRecord): Promise<void> {
    const json = toJson(entry);
    const e = JSON.parse(json) as AuditRecord;
    return this.#write(async (c) => {
      // Appending an id that is already there replaces it, so a retried append does not duplicate.
      await c.query(`INSERT INTO audit (id, at, record) VALUES ($1, $2, $3::jsonb) ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, record = EXCLUDED.record`, [
        e.id,
        instant(e.at),
        json,
      ]);
      if (this.#countLimits) await c.query(`DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY at DESC, written DESC OFFSET $1)`, [this.limits.auditEntries]);
    });
  }
  /**
   * No index of its own for runbook or user: the audit_at index is walked newest
   * first and stops at `limit` matches, `since` bounds it, and the table is kept
   * by age. An expression index would make every audited command pay for a
   * query an operator runs by hand. Measured (README, State store): a runbook
   * with one entry among 1,000,000 takes ~460 ms, one with many ~11 ms.
   */
  listAudit(options: AuditListOptions = {}): Promise<AuditRecord[]> {
    const { runbook, user, since, limit } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      return Promise.reject(new LifeboatError('USAGE', `A list limit must be a whole number of at least 0, got ${String(limit)}`));
    }
    if (since !== undefined && Number.isNaN(Date.parse(since))) return Promise.reject(new LifeboatError('USAGE', `since must be an ISO time, got "${since}"`));
    const params: unknown[] = [];
    const conditions: string[] = [];
    const add = (sql: (n: string) => string, value: unknown) => {
      params.push(value);
      conditions.push(sql(`$${params.length}`));
    };
    if (runbook !== undefined) add((n) => `record->>'runbook' = ${n}`, runbook);
    if (user !== undefined) add((n) => `record->'actor'->>'user' = ${n}`, user);
    if (since !== undefined) add((n) => `at >= ${n}`, instant(since));
    let sql = `SELECT record FROM audit${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY at DESC, written DESC`;
    if (limit !== undefined) {
      params.push(limit);
      sql += ` LIMIT $${params.length}`;
    }
    return this.#read(() => this.#records<AuditRecord>(sql, params));
  }

  /**
   * Deletes history older than `keepDays` before `now` (what writes do at most
   * once a minute): runs, drills, resolved alerts, finished deliveries, audit.
   * Returns how many rows went, per table.
   */
  pruneOld(now: Date = this.#now()): Promise<PruneCounts> {
    return this.#write((c) => this.#deleteOlder(c, now));
  }

  /** Waits for the queries in flight, then closes the pool's connections. */
  /** Lists asked of PostgreSQL so far (the rest came from ListCache): for tests and the benchmark. */
  get listQueries(): number {
    return this.#listQueries;
  }

  /** The store's pool, for what shares its database without being a Store method (the fleet's hosts registry, src/core/fleet/hosts.ts). */
  get pool(): Pool {
    return this.#pool;
  }

  /** Whether lists read again are kept (ListCache is listening for changes). */
  get keepsLists(): boolean {
    return this.#cache.live;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    await this.#cache.close();
    await this.#pool.end();
  }

  async #boundDeliveries(c: PoolClient): Promise<void> {
    if (!this.#countLimits) return;
    // Pending deliveries are never dropped: a message owed to someone must not vanish because history is full.
    await c.query(
      `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status <> 'pending' ORDER BY finished_at DESC, written DESC OFFSET $1)`,
      [this.limits.deliveries],
    );
  }

  /**
   * `where`: a column equal to a value, or to any of a list. With `perRunbook`,
   * the newest rows of each runbook, one index probe each: the runbooks are
   * walked through the (runbook, …) index (a loose index scan, a recursive CTE),
   * or taken from `runbooks` when the caller names them (a probe each fewer),
   * so the cost follows the number of runbooks and rows returned, not the
   * size of the history.
   */
  async #list<T>(
    table: CachedTable | 'deliveries' | 'audit',
    where: Record<string, string | readonly string[] | undefined>,
    time: string,
    options: { limit?: number; perRunbook?: number; endedSince?: string; brief?: boolean; runbooks?: readonly string[] },
  ): Promise<T[]> {
    const { limit, endedSince, perRunbook } = options;
    for (const [name, value] of [['limit', limit], ['perRunbook', perRunbook]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new LifeboatError('USAGE', `A list ${name === 'limit' ? 'limit' : 'perRunbook'} must be a whole number of at least 0, got ${String(value)}`);
      }
    }
    if (endedSince !== undefined && Number.isNaN(Date.parse(endedSince))) throw new LifeboatError('USAGE', `endedSince must be an ISO time, got "${endedSince}"`);
    // Lists of every runbook without a limit are what status and /metrics repeat: those are kept (list-cache.ts).
    const cacheable = (table === 'runs' || table === 'drills' || table === 'alerts') && limit === undefined && endedSince === undefined && where.runbook === undefined;
    const load = (runbook?: string) => this.#listRows<T>(table, runbook === undefined ? where : { ...where, runbook }, time, { ...options, endedSince: endedSince && instant(endedSince) });
    if (cacheable) {
      const family = JSON.stringify([table, where, time, perRunbook, options.brief === true]);
      return this.#cache.list<T>(options.runbooks === undefined ? family : JSON.stringify([family, options.runbooks]), table, load, family);
    }
    return (await load()).map((r) => r.record);
  }

  /** The rows of one list, with what orders them (for ListCache's merge). */
  async #listRows<T>(
    table: CachedTable | 'deliveries' | 'audit',
    where: Record<string, string | readonly string[] | undefined>,
    time: string,
    options: { limit?: number; perRunbook?: number; endedSince?: string; brief?: boolean; runbooks?: readonly string[] },
  ): Promise<ListedRow<T>[]> {
    const { limit, endedSince } = options;
    let { perRunbook, runbooks } = options;
    // One runbook asked for among named ones: it is either among them or nothing matches.
    if (runbooks !== undefined && typeof where.runbook === 'string') {
      if (!runbooks.includes(where.runbook)) return [];
      runbooks = undefined;
    }
    const params: unknown[] = [];
    const conditions: string[] = [];
    for (const [column, value] of Object.entries(where)) {
      if (value === undefined) continue;
      params.push(value);
      conditions.push(typeof value === 'string' ? `${column} = $${params.length}` : `${column} = ANY($${params.length}::text[])`);
    }
    if (endedSince !== undefined) {
      params.push(endedSince);
      conditions.push(`ended_at >= $${params.length}`);
    }
    let named: string | undefined;
    if (runbooks !== undefined) {
      params.push(runbooks);
      named = `$${params.length}::text[]`;
      // Per runbook the names drive the walk; a condition on each probe as well would make PostgreSQL test
      // every probe's rows against the whole list (and pick a worse index): 5,000 drills took 180 ms, not 10.
      if (perRunbook === undefined) conditions.push(`runbook = ANY(${named})`);
    }
    const order = `ORDER BY ${time} DESC, written DESC`;
    // The audit log is not kept by runbook.
    // A brief list reads the brief column (schema 7), made by PostgreSQL from the record on every write.
    const record = options.brief === true && (table === 'runs' || table === 'drills') ? 'brief AS record' : 'record';
    // date_part, not extract: since PostgreSQL 14 extract returns numeric, and its arithmetic per row cost a
    // window of 5,000 drills ~3 ms of server time (date_part is float8 throughout, ±infinity included).
    const columns = `${record}, ${table === 'audit' ? 'NULL::text AS runbook' : 'runbook'}, date_part('epoch', ${time}) AS at, written`;
    const limitClause = () => {
      if (limit === undefined) return '';
      params.push(limit);
      return ` LIMIT $${params.length}`;
    };
    // One runbook asked for: its newest `perRunbook` are a plain limit.
    if (perRunbook !== undefined && where.runbook !== undefined) {
      perRunbook = limit === undefined ? perRunbook : Math.min(perRunbook, limit);
      params.push(perRunbook);
      return this.#rows<T>(`SELECT ${columns} FROM ${table} WHERE ${conditions.join(' AND ')} ${order} LIMIT $${params.length}`, params);
    }
    if (perRunbook !== undefined) {
      params.push(perRunbook);
      const each = `$${params.length}`;
      // The runbooks named, or found by a loose index scan (500 runbooks over a million runs: ~2.5× the probes' time).
      const runbooksCte =
        named !== undefined
          ? `WITH rb(runbook) AS (SELECT DISTINCT unnest(${named}))`
          : `WITH RECURSIVE rb(runbook) AS (
          SELECT min(runbook) FROM ${table}
          UNION ALL
          SELECT (SELECT min(runbook) FROM ${table} WHERE runbook > rb.runbook) FROM rb WHERE rb.runbook IS NOT NULL
        )`;
      const window = `SELECT ${columns} FROM ${table}
          WHERE runbook = rb.runbook${conditions.map((c) => ` AND ${c}`).join('')} ${order} LIMIT ${each}`;
      const sql = `${runbooksCte}
        SELECT t.record, t.runbook, t.at, t.written FROM rb CROSS JOIN LATERAL (${window}) t`;
      // Several rows per runbook (status's drill windows, /metrics' backup windows): one row per runbook, its window as one JSON
      // array of [record, at, written]. Node decodes and parses a 500-row answer for ~30% less CPU than the
      // same records as 5,000 rows (each row's fields are strings decoded one by one); PostgreSQL builds the
      // arrays on the other core meanwhile.
      if (limit === undefined && perRunbook > 1) return (await this.#windows<T>(runbooksCte, window, params)).sort(newestFirst);
      // Without a limit the rows are put in order here: PostgreSQL sorting thousands of whole records
      // (2,500 runs: ~4.7 MB, past work_mem, so on disk) took longer than the query's index probes.
      if (limit === undefined) return (await this.#rows<T>(sql, params)).sort(newestFirst);
      return this.#rows<T>(`${sql} ORDER BY t.at DESC, t.written DESC${limitClause()}`, params);
    }
    const sql = `SELECT ${columns} FROM ${table}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} ${order}${limitClause()}`;
    return this.#rows<T>(sql, params);
  }

  async #rows<T>(sql: string, params: unknown[]): Promise<ListedRow<T>[]> {
    this.#listQueries++;
    return (await this.#pool.query<ListedRow<T>>(sql, params)).rows;
  }

  /**
   * Each runbook's window (`window`: rows of one runbook, rb.runbook) as one row: see #listRows. The
   * array is joined as text (string_agg), not built as json (json_agg of json_build_array): PostgreSQL
   * copies each record's stored text instead of building a json value per row, and Node parses one
   * string per runbook. A window of 5,000 drill briefs: ~25% less server time, ~25% less client CPU.
   */
  async #windows<T>(runbooksCte: string, window: string, params: unknown[]): Promise<ListedRow<T>[]> {
    this.#listQueries++;
    // The time and the write counter go as strings: JSON has no infinity, and float8's text of ±infinity
    // ("Infinity", "-Infinity") is what Number reads back.
    const sql = `${runbooksCte}
      SELECT rb.runbook, (SELECT '[' || string_agg('[' || w.record::text || ',"' || w.at::text || '","' || w.written::text || '"]', ',') || ']'
        FROM (${window}) w) AS rows
      FROM rb WHERE rb.runbook IS NOT NULL`;
    const res = await this.#pool.query<{ runbook: string; rows: string | null }>(sql, params);
    const out: ListedRow<T>[] = [];
    for (const { runbook, rows } of res.rows) {
      if (rows === null) continue;
      for (const [record, at, written] of JSON.parse(rows) as [T, string, string][]) out.push({ record, runbook, at: Number(at), written });
    }
    return out;
  }

  async #records<T>(sql: string, params: unknown[]): Promise<T[]> {
    const res = await this.#pool.query<{ record: T }>(sql, params);
    return res.rows.map((r) => r.record);
  }

  #read<T>(query: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#track(query());
  }

  /** One transaction, tried again when PostgreSQL aborted it to break a deadlock; then the age-based pruning when due. */
  #write<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#track(
      (async () => {
        const value = await this.#transaction(body);
        await this.#pruneIfDue();
        return value;
      })(),
    );
  }

  async #transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await body(client);
        await client.query('COMMIT');
        return value;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        if (attempt < ATTEMPTS && !broken && isTransient(e)) continue;
        throw e;
      } finally {
        client.release(broken);
      }
    }
  }

  async #pruneIfDue(): Promise<void> {
    if (this.#keepDays === undefined) return;
    const now = this.#now();
    if (now.getTime() - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now.getTime();
    try {
      const counts = await this.#transaction((c) => this.#deleteOlder(c, now));
      if (counts.runs + counts.drills + counts.alerts > 0) this.#cache.forgetAll();
    } catch {
      // The write itself committed; pruning is housekeeping, tried again on a later write.
      this.#lastPrune = -Infinity;
    }
  }

  async #deleteOlder(c: PoolClient, now: Date): Promise<PruneCounts> {
    const counts: PruneCounts = { runs: 0, drills: 0, alerts: 0, deliveries: 0, audit: 0 };
    if (this.#keepDays === undefined) return counts;
    const cutoff = new Date(now.getTime() - this.#keepDays * DAY_MS).toISOString();
    const del = async (sql: string) => (await c.query(sql, [cutoff])).rowCount ?? 0;
    counts.runs = await del('DELETE FROM runs WHERE started_at < $1');
    counts.drills = await del('DELETE FROM drills WHERE started_at < $1');
    // Open alerts and pending deliveries stay whatever their age.
    counts.alerts = await del(`DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < $1`);
    counts.deliveries = await del(`DELETE FROM deliveries WHERE status <> 'pending' AND finished_at < $1`);
    counts.audit = await del('DELETE FROM audit WHERE at < $1');
    return counts;
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const done = () => this.#inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  #closedError(): LifeboatError {
    return new LifeboatError('INTERNAL', `The state store at ${this.where} is closed`);
  }
}

/**
 * A record's JSON as stored: PostgreSQL's jsonb (and text) cannot hold U+0000,
 * which a hook's output might, so it is kept as U+FFFD rather than fail the write.
 */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v));
}

/** A timestamp as the instant state-ops compares (an unparseable one sorts oldest). */
function instant(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '-infinity' : new Date(ms).toISOString();
}

function finishedTime(d: DeliveryRecord): string {
  return d.deliveredAt ?? d.lastAttemptAt ?? d.createdAt;
}

/** Deadlock detected, serialization failure: PostgreSQL rolled back and the same transaction may well succeed. */
function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
