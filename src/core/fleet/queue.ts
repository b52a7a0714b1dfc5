/**
 * The fleet's job queue (issue 19): pg-boss in the store's PostgreSQL, in a
 * schema of its own (`lifeboat_queue`), behind the few operations Lifeboat
 * needs. pg-boss lives in this one file (docs/STYLE: an SDK in its adapter).
 *
 * - One queue per host (`lifeboat-host-<name>`): an agent only ever fetches
 *   from its own, so a job cannot run on another host.
 * - Queues use pg-boss's `singleton` policy with the runbook's name as the
 *   singleton key: at most one job of a runbook is active in its host's queue
 *   (a second waits, queued). Runbook names are unique in the fleet and a
 *   runbook names one host, so that is "never two at once anywhere"; the
 *   agent still takes the runbook's run lock, as every run does.
 * - No retries (retryLimit 0): a failed backup is the operator's or the next
 *   schedule's to repeat, never run twice behind their back.
 * - The agent fetches (`take`) and settles (`finish`) jobs itself instead of
 *   pg-boss's work() loop, so it decides when a job ends (SIGTERM, a store
 *   outage at the end of a run) and no job is settled twice.
 *
 * Connections: one small pool of our own (openPool: a dropped connection fails
 * a query, never the process), given to pg-boss as its Db and ended in stop().
 */
import type { Pool } from 'pg';
import type PgBoss from 'pg-boss';
import { openPool } from '../store/postgres/pool.js';
import type { FleetJob, FleetJobOutcome } from './job.js';
import { batchedPerTurn } from '../batch-per-turn.js';

/** pg-boss's tables live here, apart from Lifeboat's own (migrations.ts). */
export const FLEET_QUEUE_SCHEMA = 'lifeboat_queue';

/** pg-boss refuses 24 h or more; a job active longer than this is failed by pg-boss's maintenance ("failed by timeout"). */
const JOB_EXPIRE_SECONDS = 23 * 3600;

/** Jobs in one INSERT at most (a minute's burst of one serve is ~500). */
const SENDS_PER_BATCH = 1_000;

/** Longer than any queue statement takes, even pg-boss's maintenance on a busy queue. */
const QUERY_TIMEOUT_MS = 30_000;

export function queueOfHost(host: string): string {
  return `lifeboat-host-${host}`;
}

export type FleetJobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export interface FleetJobStatus {
  state: FleetJobState;
  /** What the agent settled the job with (an outcome), or pg-boss's own failure ({ message }). */
  output: unknown;
}

export interface TakenJob {
  id: string;
  /** Unchecked: the agent checks it with checkFleetJob (job.ts). */
  data: unknown;
}

export interface FleetQueueOptions {
  /**
   * Run pg-boss's maintenance here (expiring jobs active too long, archiving
   * and deleting old ones; pg-boss takes an advisory lock, so many may).
   * Agents do; one-shot dispatchers (a CLI command) do not.
   */
  supervise?: boolean;
  /** Connections in this queue's pool (default and least 2: set-up holds one while pg-boss uses another). */
  max?: number;
}

/**
 * pg-boss's start (its schema's migration) and createQueue (a new partition of
 * its job table) take table locks in an order that deadlocks when two
 * processes do them at once: two agents starting together on a fresh store
 * failed with "deadlock detected". So every process does them one at a time,
 * under one session advisory lock held on a connection of its own while
 * pg-boss works on the pool's other one.
 */
async function oneAtATime<T>(pool: Pool, body: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('lifeboat_queue set-up'))`);
    try {
      return await body();
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('lifeboat_queue set-up'))`).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

export class FleetQueue {
  readonly #boss: PgBoss;
  readonly #pool: Pool;
  /** Queues known to exist: createQueue is one round trip per host per process, not per job. */
  readonly #created = new Set<string>();
  /** The set-up under way (createQueue under the advisory lock), chained so this process runs one at a time. */
  #settingUp: Promise<void> = Promise.resolve();
  #stopped = false;

  private constructor(boss: PgBoss, pool: Pool) {
    this.#boss = boss;
    this.#pool = pool;
  }

  /** Connects and brings pg-boss's schema up to date (it migrates under its own advisory lock). */
  static async open(url: string, options: FleetQueueOptions = {}): Promise<FleetQueue> {
    // query_timeout: every statement here is short; one on a connection that died unseen (a store restart) must fail and be retried, not hang a job's end forever.
    // Idle connections kept a minute (pg's default is 10 s): a dispatcher's bursts come a minute apart, and each new connection forks a server process.
    const pool = await openPool({
      connectionString: url,
      max: Math.max(2, options.max ?? 2),
      connectionTimeoutMillis: 5_000,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      idleTimeoutMillis: 60_000,
      allowExitOnIdle: true,
    });
    const { default: PgBossClass } = await import('pg-boss');
    const boss = new PgBossClass({
      db: { executeSql: (text: string, values: unknown[]) => pool.query(text, values) },
      schema: FLEET_QUEUE_SCHEMA,
      supervise: options.supervise === true,
      schedule: false,
      migrate: true,
    });
    // pg-boss reports maintenance failures (a store outage) as events: never fatal here.
    boss.on('error', () => undefined);
    try {
      await oneAtATime(pool, () => boss.start());
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return new FleetQueue(boss, pool);
  }

  async #ensureQueue(host: string): Promise<string> {
    const name = queueOfHost(host);
    if (this.#created.has(name)) return name;
    // One set-up at a time in this process, each queue once: a dispatcher sending to 20 hosts at once had each
    // set-up hold a pool connection for the advisory lock, and none was left for the createQueue that ends one.
    const next = this.#settingUp.then(async () => {
      if (this.#created.has(name)) return;
      await oneAtATime(this.#pool, () => this.#boss.createQueue(name, { name, policy: 'singleton', retryLimit: 0, expireInSeconds: JOB_EXPIRE_SECONDS }));
      this.#created.add(name);
    });
    this.#settingUp = next.catch(() => undefined);
    await next;
    return name;
  }

  /**
   * Queues the job for its runbook's host under `id` (chosen by the caller,
   * so it can listen for the job's events before the agent can start it).
   *
   * Batched: the dispatches of one turn of the event loop (serve's fires due
   * at one instant) go in one multi-row INSERT, one batch at a time, those
   * made meanwhile forming the next — 500 fires were 500 statements one after
   * another. Each job is answered on its own: queued, or refused as a single
   * send would be.
   */
  async dispatch(job: FleetJob, id: string): Promise<void> {
    const name = await this.#ensureQueue(job.runbook.host);
    if (!(await this.#send({ name, job, id }))) throw new Error(`pg-boss did not queue job ${id} for ${job.runbook.name} on ${job.runbook.host}`);
  }

  /** Whether each job went in (see dispatch). */
  #send = batchedPerTurn(
    async (batch: readonly { name: string; job: FleetJob; id: string }[]) => {
      const queued = await this.#insert(batch);
      return batch.map((s) => queued.has(s.id));
    },
    { max: SENDS_PER_BATCH },
  );

  /**
   * pg-boss's own batch insert (its `insert`, plans.js insertJobs) with the
   * columns a `send` with these options writes — retry limit 0, the job's
   * expiry, the runbook as singleton key, the queue's policy and retention —
   * and RETURNING, which pg-boss's leaves out: a job it did not insert (its
   * queue gone, an id taken) is refused, not taken for queued.
   */
  async #insert(batch: readonly { name: string; job: FleetJob; id: string }[]): Promise<Set<string>> {
    const q = FLEET_QUEUE_SCHEMA;
    const rows = batch.map((s) => ({ id: s.id, name: s.name, data: s.job, singleton_key: s.job.runbook.name }));
    const res = await this.#pool.query<{ id: string }>(
      `INSERT INTO ${q}.job (id, name, data, priority, start_after, singleton_key, singleton_on, dead_letter, expire_in, keep_until, retry_limit, retry_delay, retry_backoff, policy)
       SELECT j.id, j.name, j.data, 0, now(), j.singleton_key, NULL, q.dead_letter, $2::numeric * interval '1s',
         now() + CAST(COALESCE((q.retention_minutes * 60)::text, '14 days') AS interval),
         0, COALESCE(q.retry_delay, 0), COALESCE(q.retry_backoff, false), q.policy
       FROM json_to_recordset($1) AS j(id uuid, name text, data jsonb, singleton_key text)
       JOIN ${q}.queue q ON j.name = q.name
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [JSON.stringify(rows), JOB_EXPIRE_SECONDS],
    );
    return new Set(res.rows.map((r) => r.id));
  }

  /** The next job of the host's queue, now active; undefined when there is none (or the store cannot be reached). */
  async take(host: string): Promise<TakenJob | undefined> {
    const name = await this.#ensureQueue(host);
    const [job] = await this.#boss.fetch<unknown>(name, { batchSize: 1 });
    return job === undefined ? undefined : { id: job.id, data: job.data };
  }

  /**
   * Up to `max` jobs of the host's queue, now active, in one statement; never
   * two of one runbook. pg-boss's own fetch gates a batch to one job per key,
   * but takes a job whose key is already active — which its unique index then
   * refuses, failing the whole fetch: one runbook's queued second job would
   * block every other runbook of the host until its first ended. So this is
   * pg-boss's fetch with keys already active left out (the index still guards).
   */
  async takeUpTo(host: string, max: number): Promise<TakenJob[]> {
    const name = await this.#ensureQueue(host);
    const q = FLEET_QUEUE_SCHEMA;
    const res = await this.#pool.query<{ id: string; data: unknown }>(
      `WITH next AS (
         SELECT id, singleton_key, priority, created_on FROM ${q}.job j
         WHERE name = $1 AND state < 'active' AND start_after < now()
           AND NOT EXISTS (SELECT 1 FROM ${q}.job a WHERE a.name = $1 AND a.state = 'active' AND a.singleton_key IS NOT DISTINCT FROM j.singleton_key)
         ORDER BY priority DESC, created_on, id
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       ), first_per_key AS (
         SELECT id, row_number() OVER (PARTITION BY coalesce(singleton_key, id::text) ORDER BY priority DESC, created_on, id) AS n FROM next
       )
       UPDATE ${q}.job j SET state = 'active', started_on = now(),
         retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
       FROM first_per_key f
       WHERE j.name = $1 AND j.id = f.id AND f.n = 1
       RETURNING j.id, j.data`,
      [name, Math.max(1, max)],
    );
    return res.rows.map((row) => ({ id: row.id, data: row.data }));
  }

  /** Settles an active job with the command's outcome (whatever its exit code: the run's status is in it). */
  async finish(host: string, id: string, outcome: FleetJobOutcome): Promise<void> {
    await this.#boss.complete(queueOfHost(host), id, outcome as unknown as object);
  }

  /** Settles a job that never ran (refused payload): failed, with the reason as its outcome. */
  async refuse(host: string, id: string, outcome: FleetJobOutcome): Promise<void> {
    await this.#boss.fail(queueOfHost(host), id, outcome as unknown as object);
  }

  /**
   * Fails every job of the host's queue still marked active, except those
   * `held`: at an agent's start these are its previous life's (one agent per
   * host), which died with them; after a take whose answer was lost (the
   * store went away between committing it and replying) they are jobs this
   * agent never received. Returns their ids.
   */
  async failActive(host: string, message: string, held: readonly string[] = []): Promise<string[]> {
    const name = await this.#ensureQueue(host);
    const res = await this.#pool.query<{ id: string }>(`SELECT id FROM ${FLEET_QUEUE_SCHEMA}.job WHERE name = $1 AND state = 'active' AND NOT (id = ANY($2::uuid[]))`, [name, [...held]]);
    const ids = res.rows.map((r) => r.id);
    for (const id of ids) await this.#boss.fail(name, id, { exitCode: 1, summary: message } satisfies FleetJobOutcome);
    return ids;
  }

  async status(host: string, id: string): Promise<FleetJobStatus | undefined> {
    const job = await this.#boss.getJobById<unknown>(queueOfHost(host), id, { includeArchive: true });
    return job ? { state: job.state, output: job.output } : undefined;
  }

  /** Cancels the job if no agent has started it yet; false when it is already active or settled. */
  async cancelIfQueued(host: string, id: string): Promise<boolean> {
    const res = await this.#pool.query(`UPDATE ${FLEET_QUEUE_SCHEMA}.job SET state = 'cancelled', completed_on = now() WHERE name = $1 AND id = $2 AND state < 'active'`, [queueOfHost(host), id]);
    return (res.rowCount ?? 0) > 0;
  }

  /** Stops pg-boss (no worker of its own runs here) and ends the pool; safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#boss.stop({ graceful: false, close: false }).catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }
}
