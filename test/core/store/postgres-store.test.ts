/**
 * The PostgreSQL store (issue 18) against a real PostgreSQL cluster of the test's
 * own (test/helpers/drill-postgres.ts: initdb + pg_ctl in a temp folder, 127.0.0.1
 * on a free port, as `nobody` under root): the Store contract suite the JSON and
 * in-memory stores pass, its migrations, history kept by age, and real OS
 * processes writing and claiming at once.
 *
 * Needs Debian's `postgresql` package (.ci/run installs it); skipped with the
 * reason only when it is missing and cannot be installed, failed under CI=true.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import { latestSchemaVersion, migratePostgres, migrations } from '../../../src/core/store/postgres/migrations.js';
import { openPostgresStore, type PostgresStore } from '../../../src/core/store/postgres/postgres-store.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../../helpers/drill-postgres.js';
import { skipWithoutTool } from '../../helpers/required-tool.js';
import { storeContract } from './contract.js';
import { alert, at, audit, delivery, drill, ids, run } from './helpers/records.js';
import { spawnScript } from './helpers/spawn-worker.js';
import { expectDeliveredInOrder, expectEachClaimedOnce, seedOutbox } from './helpers/two-claimers.js';

const worker = new URL('./helpers/postgres-worker.ts', import.meta.url).pathname;

let state: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;
const pools: pg.Pool[] = [];

const url = (db: string) => `postgres://${cluster!.user}@127.0.0.1:${cluster!.port}/${db}`;

/** A new, empty database; with `migrated`, brought to the current schema. */
async function database(name: string, migrated = false): Promise<{ url: string; pool: pg.Pool }> {
  cluster!.sql('postgres', `CREATE DATABASE ${name}`);
  const pool = new pg.Pool({ connectionString: url(name), max: 2 });
  pools.push(pool);
  if (migrated) await migratePostgres(pool);
  return { url: url(name), pool };
}

beforeAll(async () => {
  state = postgresAvailable();
  if (!state.ok) {
    console.warn(`SKIPPING test/core/store/postgres-store.test.ts: ${state.why}`);
    return;
  }
  base = await mkdtemp(join(tmpdir(), 'lifeboat-store-pg-'));
  cluster = await startPostgres(state.bin, base);
  contractDb = await database('contract', true);
}, 120_000);

afterAll(async () => {
  try {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    cluster?.stop();
  } finally {
    if (base) await rm(base, { recursive: true, force: true });
  }
});

beforeEach((ctx) => {
  skipWithoutTool(ctx, 'PostgreSQL', state);
});

let contractDb: { url: string; pool: pg.Pool } | undefined;

storeContract('PostgresStore', async (limits) => {
  // Every test starts from an empty store: one database, emptied (RESTART IDENTITY: `written` from 1 again).
  await contractDb!.pool.query('TRUNCATE runs, drills, alerts, deliveries, audit RESTART IDENTITY');
  return openPostgresStore(contractDb!.url, { limits });
});

describe('PostgresStore migrations', () => {
  it('migrates an empty database, records the version, and a second run is a no-op', async () => {
    const { url, pool } = await database('fresh');
    // Not migrated: refused, saying what to do, and nothing created.
    await expect(openPostgresStore(url)).rejects.toSatisfy(
      (e) => isLifeboatError(e, 'USAGE') && new RegExp(`has schema 0, this Lifeboat needs ${latestSchemaVersion}: run \`lifeboat store migrate\``).test(e.message),
    );
    expect((await pool.query(`SELECT to_regclass('runs') AS t`)).rows[0].t).toBeNull();

    expect(await migratePostgres(pool)).toEqual({ from: 0, to: latestSchemaVersion, applied: migrations.map((m) => m.version) });
    expect(await migratePostgres(pool)).toEqual({ from: latestSchemaVersion, to: latestSchemaVersion, applied: [] });
    expect((await pool.query('SELECT version FROM lifeboat_schema ORDER BY version')).rows).toEqual(migrations.map((m) => ({ version: m.version })));
    const tables = (await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).rows.map((r) => r.tablename);
    expect(tables).toEqual(['alerts', 'audit', 'deliveries', 'drills', 'hosts', 'leases', 'lifeboat_schema', 'runs', 'schedule_state']);

    const store = await openPostgresStore(url);
    await store.putRun(run('r1'));
    expect(ids(await store.listRuns())).toEqual(['r1']);
    await store.close();
  });

  it('two processes migrating at once apply each migration once (the advisory lock)', async () => {
    const { pool } = await database('racing');
    const other = new pg.Pool({ connectionString: url('racing'), max: 1 });
    pools.push(other);
    const results = await Promise.all([migratePostgres(pool), migratePostgres(other)]);
    expect(results.map((r) => r.applied).sort()).toEqual([[], migrations.map((m) => m.version)]);
    expect((await pool.query('SELECT count(*)::int AS n FROM lifeboat_schema')).rows[0].n).toBe(migrations.length);
  });

  it('migrates a store at the previous schema (1, as the first release left it) with its records kept', async () => {
    const { url, pool } = await database('previous');
    // Schema 1 exactly as released: its DDL and its row in lifeboat_schema, and a run written into it.
    await pool.query(`CREATE TABLE lifeboat_schema (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await pool.query(migrations.find((m) => m.version === 1)!.sql);
    await pool.query(`INSERT INTO lifeboat_schema (version, description) VALUES (1, 'runs, drills, alerts, deliveries (the outbox), audit')`);
    const old = run('kept-from-v1');
    await pool.query('INSERT INTO runs (id, runbook, kind, status, started_at, record) VALUES ($1, $2, $3, $4, $5, $6)', [old.id, old.runbook, old.kind, old.status, old.startedAt, old]);
    await expect(openPostgresStore(url)).rejects.toThrow(`has schema 1, this Lifeboat needs ${latestSchemaVersion}`);

    expect(await migratePostgres(pool)).toEqual({ from: 1, to: latestSchemaVersion, applied: migrations.filter((m) => m.version > 1).map((m) => m.version) });
    const store = await openPostgresStore(url);
    expect(await store.getRun('kept-from-v1')).toEqual(old);
    // Schema 7's brief column was made for the rows already there too.
    const { stages: _stages, ...brief } = old;
    expect(await store.listRuns({ brief: true })).toEqual([brief]);
    await store.close();
    expect((await pool.query(`SELECT to_regclass('schedule_state')::text AS t`)).rows[0].t).toBe('schedule_state');
  });

  it('refuses a schema newer than it knows, naming the store, and changes nothing', async () => {
    const { url, pool } = await database('future', true);
    await pool.query(`INSERT INTO lifeboat_schema (version, description) VALUES ($1, 'from the future')`, [latestSchemaVersion + 1]);
    const message = `the store at 127.0.0.1:${cluster!.port}/future has schema ${latestSchemaVersion + 1}, this Lifeboat knows up to ${latestSchemaVersion}: upgrade Lifeboat`;
    await expect(openPostgresStore(url)).rejects.toThrow(message);
    await expect(openPostgresStore(url, { migrate: true })).rejects.toThrow(message);
    await expect(migratePostgres(pool)).rejects.toThrow(message);
    expect((await pool.query('SELECT count(*)::int AS n FROM lifeboat_schema')).rows[0].n).toBe(migrations.length + 1);
  });
});

describe('PostgresStore specifics', () => {
  it('openPostgresStore({ migrate: true }) brings an empty database up and opens it', async () => {
    const { url } = await database('served');
    const store = await openPostgresStore(url, { migrate: true });
    await store.appendAudit(audit('e1'));
    expect(ids(await store.listAudit())).toEqual(['e1']);
    await store.close();
  });

  it('keeps history by age (keepDays), pruning at most once a minute, never an open alert or a pending delivery', async () => {
    const { url } = await database('aging', true);
    let clock = new Date(at(0));
    const store: PostgresStore = await openPostgresStore(url, { keepDays: 400, now: () => clock });
    await store.putRun(run('old-run', { startedAt: at(0) }));
    await store.putDrill(drill('old-drill', { startedAt: at(0) }));
    await store.appendAudit(audit('old-audit', { at: at(0) }));
    await store.putAlert(alert('old-open', { lastSeen: at(0) }), [delivery('old-pending', 'old-open', 'slack')]);
    await store.putAlert(alert('old-resolved', { status: 'resolved', resolvedAt: at(1) }), [delivery('old-done', 'old-resolved', 'slack')]);
    const claimed = await store.claimDeliveries({ owner: 'p', sinks: ['slack'], now: new Date(at(0)), leaseMs: 60_000, limit: 2 });
    expect(ids(claimed)).toEqual(['old-pending', 'old-done']);
    await store.finishDelivery('old-done', 'p', { ok: true, at: new Date(at(2)) });
    await store.finishDelivery('old-pending', 'p', { ok: false, at: new Date(at(2)), error: 'HTTP 500', permanent: false, nextAttemptAt: new Date(at(3)) });

    clock = new Date(Date.parse(at(0)) + 401 * 86_400_000);
    await store.putRun(run('new-run', { startedAt: clock.toISOString() }));
    expect(ids(await store.listRuns())).toEqual(['new-run']);
    expect(await store.listDrills()).toEqual([]);
    expect(ids(await store.listAudit())).toEqual([]);
    expect((await store.listAlerts()).map((a) => a.key)).toEqual(['old-open']);
    expect(ids(await store.listDeliveries())).toEqual(['old-pending']);

    // Within the minute: no second prune; after it, the next write prunes again.
    await store.putRun(run('too-old', { startedAt: at(0) }));
    expect(ids(await store.listRuns())).toEqual(['new-run', 'too-old']);
    clock = new Date(clock.getTime() + 61_000);
    await store.appendAudit(audit('later', { at: clock.toISOString() }));
    expect(ids(await store.listRuns())).toEqual(['new-run']);
    await store.close();
  });

  it('with countLimits: false keeps history by age alone, whatever the count limits say', async () => {
    const { url } = await database('ageonly', true);
    const store = await openPostgresStore(url, { keepDays: 400, countLimits: false, limits: { runsPerRunbook: 1, auditEntries: 1 } });
    for (const n of [1, 2, 3]) {
      await store.putRun(run(`r${n}`, { startedAt: new Date(Date.now() - n * 60_000).toISOString() }));
      await store.appendAudit(audit(`e${n}`, { at: new Date().toISOString() }));
    }
    expect(ids(await store.listRuns())).toEqual(['r1', 'r2', 'r3']);
    expect(await store.listAudit()).toHaveLength(3);
    await store.close();
  });

  it('brief lists leave the bulky parts out (what keeps a one-shot status read small), and follow a replaced record', async () => {
    const store = await openPostgresStore(contractDb!.url);
    await store.putRun(run('brief-run', { runbook: 'brief-rb', status: 'running', hookOutput: ['pre: ok'], diff: { filesAdded: 2 } }));
    await store.putRun(run('brief-run', { runbook: 'brief-rb', status: 'succeeded', hookOutput: ['pre: ok'], diff: { filesAdded: 2 } }));
    await store.putDrill(drill('brief-drill', { runbook: 'brief-rb' }));
    const [r] = await store.listRuns({ runbook: 'brief-rb', brief: true });
    expect(r).toMatchObject({ id: 'brief-run', status: 'succeeded' });
    for (const key of ['stages', 'hookOutput', 'diff']) expect(r).not.toHaveProperty(key);
    const [d] = await store.listDrills({ runbook: 'brief-rb', brief: true });
    expect(d).toMatchObject({ id: 'brief-drill', rtoMs: 1_000 });
    expect(d).not.toHaveProperty('phases');
    await store.close();
  });

  it('stores a NUL in a record (hook output) as U+FFFD rather than fail the write', async () => {
    const store = await openPostgresStore(contractDb!.url);
    await store.putRun(run('nul-run', { hookOutput: ['a\u0000b'] }));
    expect((await store.getRun('nul-run'))!.hookOutput).toEqual(['a\uFFFDb']);
    await store.close();
  });
});

describe('PostgresStore across processes', () => {
  it('two processes putting 1,000 runs each leave exactly 2,000 rows', async () => {
    const { url, pool } = await database('writers', true);
    const workers = [spawnScript(worker, 'runs', url, 'a', '1000'), spawnScript(worker, 'runs', url, 'b', '1000')];
    await Promise.all(workers.map((w) => w.waitFor((l) => l === 'ready')));
    for (const w of workers) w.child.stdin.write('go\n');
    const ends = await Promise.all(workers.map((w) => w.exited));
    for (const end of ends) expect(end, end.stderr).toMatchObject({ code: 0 });
    expect((await pool.query('SELECT count(*)::int AS n FROM runs')).rows[0].n).toBe(2_000);
    const stored = new Set((await pool.query<{ id: string }>('SELECT id FROM runs')).rows.map((r) => r.id));
    expect(stored).toEqual(new Set(['a', 'b'].flatMap((p) => Array.from({ length: 1_000 }, (_, i) => `${p}-${i}`))));
  });

  it('two processes claiming from one outbox never get the same delivery, and together deliver every one', async () => {
    const { url } = await database('claimers', true);
    const seed = await openPostgresStore(url);
    const expected = await seedOutbox(seed);
    await expectEachClaimedOnce([spawnScript(worker, 'claim', url, 'one'), spawnScript(worker, 'claim', url, 'two')], expected);
    const all = await seed.listDeliveries();
    await seed.close();
    expectDeliveredInOrder(all);
  });
});
