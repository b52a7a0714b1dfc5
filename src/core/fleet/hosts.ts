/**
 * The hosts registry (issue 19): one row per agent in the PostgreSQL store's
 * `hosts` table (schema 5), written by the agent's heartbeat and judged by
 * serve's leader (lost-agents.ts).
 *
 * Times are the database's clock unless a `now` is given (tests): agents'
 * clocks may disagree with each other and with the leader's, the database's
 * is the one they all share, as the leader lease's expiry already is.
 */
import type { Pool } from 'pg';

/** What an agent tells at every heartbeat. */
export interface HostBeat {
  /** localHostName() of the agent (src/core/fleet/host-name.ts). */
  name: string;
  /** Lifeboat's version on that host. */
  version: string;
  /** e.g. `linux x64`. */
  platform: string;
  pid: number;
  /** The job the agent is running now, if any. */
  runningJob: { jobId: string; runbook: string; kind: string; runId?: string } | null;
}

export type HostState = 'up' | 'lost';

export interface HostRecord extends HostBeat {
  /** ISO instants, of the database's clock (or the registry's `now`). */
  firstSeen: string;
  lastSeen: string;
  /** `up` since its last beat; `lost` once the leader found it silent for too long. */
  state: HostState;
}

/** Whether a job for a host has an agent to run it (HostRegistry.availability). */
export type HostAvailability =
  | { state: 'up'; lastSeen: string }
  /** Silent longer than the threshold: marked lost already, or about to be. */
  | { state: 'lost'; lastSeen: string }
  | { state: 'never-seen' };

/** An agent silent this long is lost: three missed beats at the agent's 15 s… 20 s interval, and some slack. */
export const DEFAULT_LOST_AFTER_MS = 60_000;

interface HostRow {
  name: string;
  version: string;
  platform: string;
  pid: number;
  running_job: HostBeat['runningJob'];
  first_seen: Date;
  last_seen: Date;
  state: HostState;
}

const COLUMNS = 'name, version, platform, pid, running_job, first_seen, last_seen, state';

/** In the order an agent sends it (jsonb keeps keys in its own order). */
function runningJob(job: NonNullable<HostBeat['runningJob']>): HostBeat['runningJob'] {
  return { jobId: job.jobId, runbook: job.runbook, kind: job.kind, ...(job.runId === undefined ? {} : { runId: job.runId }) };
}

function toRecord(row: HostRow): HostRecord {
  return {
    name: row.name,
    version: row.version,
    platform: row.platform,
    pid: row.pid,
    runningJob: row.running_job === null ? null : runningJob(row.running_job),
    firstSeen: row.first_seen.toISOString(),
    lastSeen: row.last_seen.toISOString(),
    state: row.state,
  };
}

export class HostRegistry {
  readonly #pool: Pool;
  readonly #now: (() => Date) | undefined;

  /** Whether close() ends the pool: only one openHostRegistry made for this registry alone. */
  #ownsPool = false;

  constructor(pool: Pool, now?: () => Date) {
    this.#pool = pool;
    this.#now = now;
  }

  /** A registry over a pool of its own (openHostRegistry), which close() ends. */
  static owningPool(pool: Pool): HostRegistry {
    const registry = new HostRegistry(pool);
    registry.#ownsPool = true;
    return registry;
  }

  /** Ends the pool when this registry opened it; a pool lent by a PostgresStore is the store's to close. */
  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }

  /** `now()` of the given clock, or null: the statement then takes the database's now(). */
  #at(): Date | null {
    return this.#now?.() ?? null;
  }

  /** Upserts the host: lastSeen = now, state `up` (a lost host that beats again is back). */
  async heartbeat(beat: HostBeat): Promise<void> {
    // Truncated to the millisecond, what a Date holds: markLost matches the lastSeen a caller read back exactly.
    await this.#pool.query(
      `WITH beat AS (SELECT date_trunc('milliseconds', coalesce($6::timestamptz, now())) AS at)
       INSERT INTO hosts (name, version, platform, pid, running_job, first_seen, last_seen, state)
       SELECT $1::text, $2::text, $3::text, $4::integer, $5::jsonb, beat.at, beat.at, 'up' FROM beat
       ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, platform = EXCLUDED.platform, pid = EXCLUDED.pid,
         running_job = EXCLUDED.running_job, last_seen = EXCLUDED.last_seen, state = 'up'`,
      [beat.name, beat.version, beat.platform, beat.pid, JSON.stringify(beat.runningJob), this.#at()],
    );
  }

  /** Every host, by name. */
  async list(): Promise<HostRecord[]> {
    const res = await this.#pool.query<HostRow>(`SELECT ${COLUMNS} FROM hosts ORDER BY name`);
    return res.rows.map(toRecord);
  }

  async get(name: string): Promise<HostRecord | undefined> {
    const res = await this.#pool.query<HostRow>(`SELECT ${COLUMNS} FROM hosts WHERE name = $1`, [name]);
    const row = res.rows[0];
    return row === undefined ? undefined : toRecord(row);
  }

  /**
   * Hosts silent for more than `silentMs` (whatever their state), by name.
   * Silence counts from the last beat, or from the database server's start
   * when that is later: while the store was down no agent could beat, and a
   * leader looking right after a restart longer than `silentMs` would
   * otherwise take every agent for lost (and fail its running run) before
   * its first beat got through. (Not with a given clock: tests' time is not
   * the server's.)
   */
  async silent(silentMs: number): Promise<HostRecord[]> {
    const res = await this.#pool.query<HostRow>(
      `SELECT ${COLUMNS} FROM hosts
       WHERE greatest(last_seen, CASE WHEN $1::timestamptz IS NULL THEN pg_postmaster_start_time() END) < coalesce($1::timestamptz, now()) - make_interval(secs => $2)
       ORDER BY name`,
      [this.#at(), silentMs / 1000],
    );
    return res.rows.map(toRecord);
  }

  /**
   * Marks the host lost, unless it beat after `lastSeen` (the beat the caller
   * judged): a host that came back meanwhile stays up. Whether it was marked.
   */
  async markLost(name: string, lastSeen: string): Promise<boolean> {
    const res = await this.#pool.query(`UPDATE hosts SET state = 'lost' WHERE name = $1 AND last_seen = $2::timestamptz AND state = 'up'`, [name, lastSeen]);
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * Whether a job for `name` has an agent now: `up` when it beat within
   * `lostAfterMs`, `lost` when it has been silent longer (the leader may not
   * have marked it yet), `never-seen` when no agent ever registered that name.
   */
  async availability(name: string, lostAfterMs = DEFAULT_LOST_AFTER_MS): Promise<HostAvailability> {
    const res = await this.#pool.query<{ last_seen: Date; state: HostState; fresh: boolean }>(
      `SELECT last_seen, state, last_seen >= coalesce($2::timestamptz, now()) - make_interval(secs => $3) AS fresh FROM hosts WHERE name = $1`,
      [name, this.#at(), lostAfterMs / 1000],
    );
    const row = res.rows[0];
    if (row === undefined) return { state: 'never-seen' };
    const lastSeen = row.last_seen.toISOString();
    return row.state === 'up' && row.fresh ? { state: 'up', lastSeen } : { state: 'lost', lastSeen };
  }
}
