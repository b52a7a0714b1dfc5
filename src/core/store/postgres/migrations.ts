/**
 * The PostgreSQL store's schema, as numbered migrations kept in the repository.
 * A migration is never edited once released: a change is a new, higher number.
 *
 * `migratePostgres` applies the pending ones in one transaction under a
 * transaction-scoped advisory lock, so two processes migrating at once (two
 * `serve` starting together) apply each exactly once; `lifeboat_schema` records
 * every applied version. `assertSchemaCurrent` is what every other open does:
 * it never changes the schema, and refuses one newer than this code knows
 * (an older Lifeboat must not write into a newer layout).
 *
 * Layout: each collection keeps its record as JSON (json for runs and drills,
 * which are read by the thousand; jsonb where queries look inside), in the JSON store's shape,
 * next to the columns queries filter and sort on. `written` (bigserial, set on
 * insert and kept on replace) breaks ties in time the way the JSON store's array
 * order does: newest first, a tie to the record written later, a replaced record
 * keeping its place.
 */
import type { Pool, PoolClient } from 'pg';
import { LifeboatError } from '../../errors.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, drills, alerts, deliveries (the outbox), audit',
    sql: `
CREATE TABLE runs (
  id text PRIMARY KEY,
  runbook text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  written bigserial NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX runs_runbook_started ON runs (runbook, started_at DESC, written DESC);
CREATE INDEX runs_started ON runs (started_at DESC, written DESC);

CREATE TABLE drills (
  id text PRIMARY KEY,
  runbook text NOT NULL,
  verdict text NOT NULL,
  started_at timestamptz NOT NULL,
  written bigserial NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX drills_runbook_started ON drills (runbook, started_at DESC, written DESC);
CREATE INDEX drills_started ON drills (started_at DESC, written DESC);

CREATE TABLE alerts (
  key text PRIMARY KEY,
  runbook text NOT NULL,
  status text NOT NULL,
  last_seen timestamptz NOT NULL,
  -- resolvedAt, else lastSeen: what the bound on resolved alerts sorts by.
  resolved_at timestamptz NOT NULL,
  written bigserial NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX alerts_status_seen ON alerts (status, last_seen DESC, written DESC);
CREATE INDEX alerts_runbook_status ON alerts (runbook, status, last_seen DESC, written DESC);
CREATE INDEX alerts_seen ON alerts (last_seen DESC, written DESC);
CREATE INDEX alerts_resolved ON alerts (resolved_at DESC, written DESC) WHERE status = 'resolved';

CREATE TABLE deliveries (
  id text PRIMARY KEY,
  alert_key text NOT NULL,
  runbook text NOT NULL,
  sink text NOT NULL,
  seq integer NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  claim_until timestamptz,
  claimed_by text,
  -- deliveredAt, else lastAttemptAt, else createdAt: what the bound on finished deliveries sorts by.
  finished_at timestamptz NOT NULL,
  written bigserial NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_queue ON deliveries (alert_key, sink, seq);
CREATE INDEX deliveries_created ON deliveries (created_at DESC, written DESC);
CREATE INDEX deliveries_status_created ON deliveries (status, created_at DESC, written DESC);
CREATE INDEX deliveries_runbook_created ON deliveries (runbook, created_at DESC, written DESC);
CREATE INDEX deliveries_finished ON deliveries (finished_at DESC, written DESC) WHERE status <> 'pending';

CREATE TABLE audit (
  id text PRIMARY KEY,
  at timestamptz NOT NULL,
  written bigserial NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX audit_at ON audit (at DESC, written DESC);
`,
  },
  {
    version: 2,
    description: 'schedule state and the serve leader lease (several serves on one store)',
    sql: `
-- The last cron fire handled per runbook and kind (schedule.json of a JSON home).
-- Written only by the lease holder whose epoch is current, in the same statement
-- that checks it, so a fire is handled once across a takeover.
CREATE TABLE schedule_state (
  runbook text NOT NULL,
  kind text NOT NULL,
  last_handled timestamptz NOT NULL,
  handled_by text NOT NULL,
  epoch bigint NOT NULL,
  PRIMARY KEY (runbook, kind)
);

-- Leases by name ('serve-leader'): held by one process until expires_at (the
-- database's clock, never a host's), renewed by it; epoch grows at every new holder.
CREATE TABLE leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
`,
  },
  {
    version: 3,
    description: 'run and drill end times and drill tiers as columns; indexes for the latest records of every runbook (status, /metrics)',
    sql: `
-- status and /metrics read the newest few records of every runbook (RunListOptions.perRunbook
-- with kind/status, DrillListOptions with tier/verdict) and what ended since their last read
-- (endedSince), never the whole history: issue 18's 1,000,000 runs must not be read per scrape.
-- ended_at: the record's endedAt, else its startedAt (what endedSince compares); '-infinity'
-- when it does not parse, as the store's other time columns.
CREATE FUNCTION lifeboat_migration_instant(t text) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  RETURN t::timestamptz;
EXCEPTION WHEN others THEN
  RETURN '-infinity';
END $$;

ALTER TABLE runs ADD COLUMN ended_at timestamptz;
UPDATE runs SET ended_at = coalesce(lifeboat_migration_instant(record->>'endedAt'), started_at);
ALTER TABLE runs ALTER COLUMN ended_at SET NOT NULL;
CREATE INDEX runs_runbook_kind_started ON runs (runbook, kind, started_at DESC, written DESC);
CREATE INDEX runs_ended ON runs (ended_at);

ALTER TABLE drills ADD COLUMN ended_at timestamptz, ADD COLUMN tier text;
UPDATE drills SET ended_at = coalesce(lifeboat_migration_instant(record->>'endedAt'), started_at), tier = record->>'tier';
ALTER TABLE drills ALTER COLUMN ended_at SET NOT NULL;
CREATE INDEX drills_runbook_tier_started ON drills (runbook, tier, started_at DESC, written DESC);
CREATE INDEX drills_ended ON drills (ended_at);

DROP FUNCTION lifeboat_migration_instant(text);
`,
  },
  {
    version: 4,
    description: 'change notices for runs, drills and alerts (long-running readers keep their lists between changes)',
    sql: `
-- Every committed change of a run, drill or alert names its table and runbook on the
-- channel lifeboat_changes ('runs rb-7'), whoever wrote it (a backup, the spool's replay,
-- the pruning, an import, a person with psql). A process that LISTENs keeps the lists it
-- reads again and again and reads only the runbooks named (src/core/store/postgres/list-cache.ts).
-- PostgreSQL sends a notice after its transaction commits, and one of each text per
-- transaction, so a bulk delete of one runbook's history sends one.
CREATE FUNCTION lifeboat_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('lifeboat_changes', TG_TABLE_NAME || ' ' || OLD.runbook); END IF;
  IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('lifeboat_changes', TG_TABLE_NAME || ' ' || NEW.runbook); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER runs_changed AFTER INSERT OR UPDATE OR DELETE ON runs FOR EACH ROW EXECUTE FUNCTION lifeboat_notify_change();
CREATE TRIGGER drills_changed AFTER INSERT OR UPDATE OR DELETE ON drills FOR EACH ROW EXECUTE FUNCTION lifeboat_notify_change();
CREATE TRIGGER alerts_changed AFTER INSERT OR UPDATE OR DELETE ON alerts FOR EACH ROW EXECUTE FUNCTION lifeboat_notify_change();
-- TRUNCATE fires no row trigger: it names the table and '*' (no runbook is called that).
CREATE FUNCTION lifeboat_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lifeboat_changes', TG_TABLE_NAME || ' *');
  RETURN NULL;
END $$;
CREATE TRIGGER runs_truncated AFTER TRUNCATE ON runs FOR EACH STATEMENT EXECUTE FUNCTION lifeboat_notify_truncate();
CREATE TRIGGER drills_truncated AFTER TRUNCATE ON drills FOR EACH STATEMENT EXECUTE FUNCTION lifeboat_notify_truncate();
CREATE TRIGGER alerts_truncated AFTER TRUNCATE ON alerts FOR EACH STATEMENT EXECUTE FUNCTION lifeboat_notify_truncate();
`,
  },
  {
    version: 5,
    description: 'hosts: the fleet\'s agents, their heartbeats and whether the leader found them lost (issue 19)',
    sql: `
-- One row per agent host, upserted by its heartbeat (src/core/fleet/hosts.ts). last_seen is the
-- database's clock at the beat, never the agent's, so a host with a skewed clock is judged fairly.
-- state: 'up' at every beat, 'lost' once serve's leader found last_seen too old
-- (src/core/fleet/lost-agents.ts). running_job: what the agent said it was doing at its last beat.
CREATE TABLE hosts (
  name text PRIMARY KEY,
  version text NOT NULL,
  platform text NOT NULL,
  pid integer NOT NULL,
  running_job jsonb,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  state text NOT NULL CHECK (state IN ('up', 'lost'))
);
CREATE INDEX hosts_last_seen ON hosts (last_seen);
`,
  },
  {
    version: 6,
    description: 'runs and drills keep their record as json (sent back as stored), not jsonb',
    sql: `
-- status, /metrics, the console and history read thousands of runs and drills per look. A jsonb
-- value is sent by printing its binary form back to text every time: on the issue-18 bench that
-- was ~140-250 ms of server time per 5,000 run records, against ~5-15 ms for the same records
-- as json, which is sent as stored. No query looks inside these records (every filter and order
-- is a column of its own), so nothing is given up. Alerts, deliveries and the audit log keep
-- jsonb: they are compared and searched inside. On a large history this rewrites both tables once.
ALTER TABLE runs ALTER COLUMN record TYPE json USING record::json;
ALTER TABLE drills ALTER COLUMN record TYPE json USING record::json;
`,
  },
  {
    version: 7,
    description: 'runs and drills keep a brief of their record (without stages, diff, hook output, phases) for the status windows; runs by end',
    sql: `
-- A one-shot lifeboat status reads the newest runs and drills of every runbook: on the issue-18
-- bench (500 runbooks) ~8,500 records, 7.9 MB of JSON, whose parsing in Node was most of the read.
-- Status needs none of a run's stages, diff, hook output or failed sources, nor a drill's phases:
-- without them the same records are 2-3x smaller and parse 3x faster. The brief is a generated
-- column, so every write path (a backup, the spool's replay, an import) keeps it exact; the
-- record stays whole for everything else. On a large history this rewrites both tables once.
ALTER TABLE runs ADD COLUMN brief json NOT NULL
  GENERATED ALWAYS AS ((record::jsonb - '{stages,diff,hookOutput,failedSources}'::text[])::json) STORED;
ALTER TABLE drills ADD COLUMN brief json NOT NULL
  GENERATED ALWAYS AS ((record::jsonb - 'phases')::json) STORED;
-- Each runbook's newest good backup by end (RunListOptions.newestBy), one index probe per runbook.
CREATE INDEX runs_runbook_kind_ended ON runs (runbook, kind, ended_at DESC, written DESC);
`,
  },
];

/** The highest schema version this Lifeboat knows. */
export const latestSchemaVersion = Math.max(...migrations.map((m) => m.version));

/** Any fixed number: every Lifeboat migrating any store takes the same lock. */
const MIGRATION_LOCK = 0x4c6966_65626f; // "Lifebo"

export interface MigrationResult {
  /** The version before (0: an empty database). */
  from: number;
  to: number;
  applied: number[];
}

/**
 * Applies every pending migration, in one transaction under an advisory lock.
 * Running it again is a no-op. A database at a newer version than this code
 * knows is refused, changing nothing.
 */
export async function migratePostgres(pool: Pool, where = describePool(pool)): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS lifeboat_schema (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const from = await versionIn(client);
      refuseNewer(from, where);
      const applied: number[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= from) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO lifeboat_schema (version, description) VALUES ($1, $2)', [m.version, m.description]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
      return { from, to: Math.max(from, latestSchemaVersion), applied };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    client.release();
  }
}

/**
 * The schema version of the database (0 when Lifeboat never migrated it).
 * Throws unless it is exactly the version this code knows: newer means upgrade
 * Lifeboat, older means run `lifeboat store migrate`.
 */
export async function assertSchemaCurrent(pool: Pool, where = describePool(pool)): Promise<number> {
  const client = await pool.connect();
  try {
    const version = await versionIn(client);
    refuseNewer(version, where);
    if (version < latestSchemaVersion) {
      throw new LifeboatError(
        'USAGE',
        `the store at ${where} has schema ${version}, this Lifeboat needs ${latestSchemaVersion}: run \`lifeboat store migrate\` (serve start migrates too)`,
        { details: { where, schema: version, known: latestSchemaVersion, reason: 'older-schema' } },
      );
    }
    return version;
  } finally {
    client.release();
  }
}

async function versionIn(client: PoolClient): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('lifeboat_schema')::text AS t`);
  if (exists.rows[0]?.t == null) return 0;
  const res = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM lifeboat_schema');
  return res.rows[0]?.v ?? 0;
}

function refuseNewer(version: number, where: string): void {
  if (version <= latestSchemaVersion) return;
  // Not damage (like a newer state file): nothing to repair, nothing to move aside.
  throw new LifeboatError('STORE_CORRUPT', `the store at ${where} has schema ${version}, this Lifeboat knows up to ${latestSchemaVersion}: upgrade Lifeboat`, {
    details: { where, schema: version, known: latestSchemaVersion, reason: 'newer-schema' },
  });
}

/** `host:port/database` of a pool, for messages (never the user or password). */
export function describePool(pool: Pool): string {
  const o = pool.options;
  if (o.connectionString) return describeUrl(o.connectionString);
  return `${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? '(default)'}`;
}

/** `host:port/database` of a postgres:// URL, without credentials. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : '/(default)'}`;
  } catch {
    return '(an unparseable store URL)';
  }
}
