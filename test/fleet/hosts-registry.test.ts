/**
 * The fleet's hosts registry (src/core/fleet/hosts.ts) and the leader's watch
 * for lost agents (src/core/fleet/lost-agents.ts), against a real PostgreSQL:
 * schema 4 → 5 keeps what was there; heartbeats upsert and are judged on one
 * clock; a host that beats and then falls silent past a short threshold gets
 * its running run recorded failed ("agent lost on X", audited) and
 * `agent-down:X` raised through the outbox, resolved at its next beat; a host
 * runbooks name that no agent ever served is alerted after the grace.
 *
 * Time is a FakeClock given to both the registry and the watch, so silence is
 * made by moving the clock, never by sleeping. /metrics' agent series
 * (src/serve/metrics-agents.ts) read the same registry.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { silentNotifier } from '../../src/core/alerts/notifier.js';
import { AgentWatch, agentDownKey } from '../../src/core/fleet/lost-agents.js';
import { HostRegistry, type HostBeat } from '../../src/core/fleet/hosts.js';
import { latestSchemaVersion, migratePostgres, migrations } from '../../src/core/store/postgres/migrations.js';
import { openPostgresStore, type PostgresStore } from '../../src/core/store/postgres/postgres-store.js';
import type { Runbook } from '../../src/core/runbook/types.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { registerAgentMetrics } from '../../src/serve/metrics-agents.js';
import { testRunbook } from '../core/alerts/fixtures.js';
import { run } from '../core/store/helpers/records.js';

let state: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;
const pools: pg.Pool[] = [];
const stores: PostgresStore[] = [];

beforeAll(async () => {
  state = postgresAvailable();
  if (!state.ok) return;
  base = await mkdtemp(join(tmpdir(), 'lifeboat-hosts-'));
  cluster = await startPostgres(state.bin, base);
}, 120_000);

afterAll(async () => {
  try {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(pools.map((p) => p.end()));
    cluster?.stop();
  } finally {
    if (base) await rm(base, { recursive: true, force: true });
  }
});

beforeEach((ctx) => skipWithoutTool(ctx, 'PostgreSQL', state));

let databases = 0;
/** A new database; with `migrated`, at the current schema. */
async function database(migrated = true): Promise<{ url: string; pool: pg.Pool }> {
  const name = `hosts_${++databases}`;
  cluster!.sql('postgres', `CREATE DATABASE ${name}`);
  const url = `postgres://${cluster!.user}@127.0.0.1:${cluster!.port}/${name}`;
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  pools.push(pool);
  if (migrated) await migratePostgres(pool);
  return { url, pool };
}

const beat = (name: string, fields: Partial<HostBeat> = {}): HostBeat => ({ name, version: '0.1.0', platform: 'linux x64', pid: 4100, runningJob: null, ...fields });

describe('schema 5: the hosts table', () => {
  it('migrates a store at schema 4 to 5, keeping its records, and the hosts table takes beats', async () => {
    const { url, pool } = await database(false);
    await pool.query(`CREATE TABLE lifeboat_schema (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const m of migrations.filter((x) => x.version <= 4)) {
      await pool.query(m.sql);
      await pool.query('INSERT INTO lifeboat_schema (version, description) VALUES ($1, $2)', [m.version, m.description]);
    }
    const before = await openPostgresStore(url, { migrate: false }).catch((e: Error) => e);
    expect(String(before)).toContain(`has schema 4, this Lifeboat needs ${latestSchemaVersion}`);
    await pool.query(`INSERT INTO runs (id, runbook, kind, status, started_at, ended_at, record) VALUES ('r1', 'app-data', 'backup', 'succeeded', now(), now(), $1::jsonb)`, [JSON.stringify(run('r1'))]);

    expect(await migratePostgres(pool)).toEqual({ from: 4, to: latestSchemaVersion, applied: migrations.filter((m) => m.version > 4).map((m) => m.version) });
    const store = await openPostgresStore(url);
    stores.push(store);
    expect((await store.getRun('r1'))?.id).toBe('r1');
    const registry = new HostRegistry(store.pool);
    await registry.heartbeat(beat('web-01'));
    expect((await registry.list()).map((h) => [h.name, h.state])).toEqual([['web-01', 'up']]);
    await expect(pool.query(`UPDATE hosts SET state = 'gone'`)).rejects.toThrow(/hosts_state_check/);
  });
});

describe('HostRegistry', () => {
  it('upserts a beat: first seen kept, last seen and the running job moved on, the database clock by default', async () => {
    const { pool } = await database();
    const clock = new FakeClock('2026-12-06T10:00:00.000Z');
    const registry = new HostRegistry(pool, () => clock.now());
    expect(await registry.get('web-01')).toBeUndefined();
    await registry.heartbeat(beat('web-01'));
    clock.advance(15_000);
    const job = { jobId: 'j-1', runbook: 'app-data', kind: 'backup', runId: 'run-1' };
    await registry.heartbeat(beat('web-01', { version: '0.2.0', pid: 4200, runningJob: job }));
    await registry.heartbeat(beat('db-01'));
    expect(await registry.get('web-01')).toEqual({
      name: 'web-01',
      version: '0.2.0',
      platform: 'linux x64',
      pid: 4200,
      runningJob: job,
      firstSeen: '2026-12-06T10:00:00.000Z',
      lastSeen: '2026-12-06T10:00:15.000Z',
      state: 'up',
    });
    expect((await registry.list()).map((h) => h.name)).toEqual(['db-01', 'web-01']);

    // Without a clock of its own the registry takes the database's: a host's own clock never counts.
    const dbClock = new HostRegistry(pool);
    await dbClock.heartbeat(beat('nas-01'));
    const { rows } = await pool.query<{ skew: number }>(`SELECT abs(extract(epoch FROM now() - last_seen))::float AS skew FROM hosts WHERE name = 'nas-01'`);
    expect(rows[0]!.skew).toBeLessThan(60);
  });

  it('says whether a host has an agent: up, silent past the threshold (lost), never seen', async () => {
    const { pool } = await database();
    const clock = new FakeClock('2026-12-06T10:00:00.000Z');
    const registry = new HostRegistry(pool, () => clock.now());
    await registry.heartbeat(beat('web-01'));
    expect(await registry.availability('web-01')).toEqual({ state: 'up', lastSeen: '2026-12-06T10:00:00.000Z' });
    expect(await registry.availability('web-02')).toEqual({ state: 'never-seen' });
    clock.advance(60_001);
    expect(await registry.availability('web-01')).toEqual({ state: 'lost', lastSeen: '2026-12-06T10:00:00.000Z' });
    expect(await registry.availability('web-01', 120_000)).toEqual({ state: 'up', lastSeen: '2026-12-06T10:00:00.000Z' });
    expect((await registry.silent(60_000)).map((h) => h.name)).toEqual(['web-01']);

    // markLost judges the beat the caller saw: one that came meanwhile keeps the host up.
    const seen = (await registry.get('web-01'))!.lastSeen;
    await registry.heartbeat(beat('web-01'));
    expect(await registry.markLost('web-01', seen)).toBe(false);
    expect((await registry.get('web-01'))!.state).toBe('up');
    clock.advance(61_000);
    expect(await registry.markLost('web-01', (await registry.get('web-01'))!.lastSeen)).toBe(true);
    expect((await registry.get('web-01'))!.state).toBe('lost');
    await registry.heartbeat(beat('web-01'));
    expect((await registry.get('web-01'))!.state).toBe('up');
  });
});

describe('AgentWatch: lost agents and hosts no agent serves', () => {
  const runbook = (name: string, host: string): Runbook => ({ ...testRunbook({ name }), host, alerts: { ...testRunbook().alerts, slack: '#backups' } });

  it('a beat, then silence past the threshold: its running run failed "agent lost on web-01" and agent-down raised; resolved at the next beat', async () => {
    const { url, pool } = await database();
    const store = await openPostgresStore(url);
    stores.push(store);
    const clock = new FakeClock('2026-12-06T10:00:00.000Z');
    const registry = new HostRegistry(pool, () => clock.now());
    const runbooks = [runbook('app-data', 'web-01'), runbook('orders-db', 'web-01'), runbook('media', 'db-01')];
    const watch = new AgentWatch({ registry, store, clock, notifier: silentNotifier, runbooks: () => runbooks, lostAfterMs: 5_000 });

    // web-01 runs a backup of app-data; db-01 is busy with its own and keeps beating.
    const running = run('run-web', { runbook: 'app-data', status: 'running', host: 'web-01', startedAt: clock.now().toISOString(), stages: [{ name: 'snapshot', status: 'running', counters: {} }] });
    const other = run('run-db', { runbook: 'media', status: 'running', host: 'db-01', startedAt: clock.now().toISOString(), stages: [] });
    await store.putRun(running);
    await store.putRun(other);
    await registry.heartbeat(beat('web-01', { runningJob: { jobId: 'j1', runbook: 'app-data', kind: 'backup', runId: 'run-web' } }));
    await registry.heartbeat(beat('db-01'));
    const quiet = await watch.check();
    expect(quiet).toMatchObject({ lost: [], failedRuns: [], raised: [], resolved: [], errors: [] });

    clock.advance(6_000);
    await registry.heartbeat(beat('db-01'));
    const pass = await watch.check();
    expect(pass.errors).toEqual([]);
    expect(pass.lost).toEqual(['web-01']);
    expect(pass.failedRuns.map((r) => r.id)).toEqual(['run-web']);

    const failed = (await store.getRun('run-web'))!;
    expect(failed).toMatchObject({ status: 'failed', endedAt: '2026-12-06T10:00:06.000Z', durationMs: 6_000, error: { code: 'AGENT_LOST', message: 'agent lost on web-01' } });
    expect(failed.stages[0]).toMatchObject({ status: 'failed', error: { message: 'agent lost on web-01' } });
    expect((await store.getRun('run-db'))!.status).toBe('running');
    const audit = await store.listAudit({ runbook: 'app-data' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ command: 'agent-lost', args: ['web-01'], result: 'failed', actor: { face: 'scheduler' } });
    expect(audit[0]!.detail).toContain('backup run run-web of app-data recorded failed: agent lost on web-01');

    const alert = (await store.getAlert(agentDownKey('web-01')))!;
    expect(alert).toMatchObject({ runbook: 'app-data', rule: 'agent-down', severity: 'critical', status: 'open' });
    expect(alert.message).toBe('The agent on web-01 is lost: no heartbeat for 6.0s (last seen 2026-12-06T10:00:00.000Z); no job of runbooks app-data, orders-db runs until it is back');
    const deliveries = await store.listDeliveries({ runbook: 'app-data' });
    expect(deliveries.filter((d) => d.alertKey === 'agent-down:web-01').map((d) => [d.sink, d.transition])).toEqual([['slack', 'raised']]);
    // The failed run is judged at once by the failed-run rule, as a run that failed by itself would be.
    expect((await store.listAlerts({ runbook: 'app-data', status: 'open' })).map((a) => a.rule).sort()).toEqual(['agent-down', 'failed-run']);
    expect((await registry.get('web-01'))!.state).toBe('lost');

    // Still silent: nothing new is failed, raised or told.
    clock.advance(10_000);
    await registry.heartbeat(beat('db-01'));
    expect(await watch.check()).toMatchObject({ lost: [], failedRuns: [], raised: [], resolved: [], errors: [] });
    expect((await store.listDeliveries({ runbook: 'app-data' })).filter((d) => d.alertKey === 'agent-down:web-01')).toHaveLength(1);

    // Back: resolved, told to the sink that heard of it.
    await registry.heartbeat(beat('web-01'));
    const back = await watch.check();
    expect(back.resolved.map((a) => a.key)).toEqual(['agent-down:web-01']);
    expect((await store.getAlert('agent-down:web-01'))!.status).toBe('resolved');
    const told = (await store.listDeliveries({ runbook: 'app-data' })).filter((d) => d.alertKey === 'agent-down:web-01').sort((a, b) => a.seq - b.seq);
    expect(told.map((d) => [d.sink, d.transition])).toEqual([['slack', 'raised'], ['slack', 'resolved']]);
    expect((await registry.get('web-01'))!.state).toBe('up');
  });

  it('a host runbooks name but no agent ever reported for: warned after the grace, not before; resolved when its agent beats', async () => {
    const { url, pool } = await database();
    const store = await openPostgresStore(url);
    stores.push(store);
    const clock = new FakeClock('2026-12-06T10:00:00.000Z');
    const registry = new HostRegistry(pool, () => clock.now());
    const runbooks = [runbook('app-data', 'web-02'), { ...testRunbook({ name: 'local' }) }];
    const watch = new AgentWatch({ registry, store, clock, notifier: silentNotifier, runbooks: () => runbooks, lostAfterMs: 5_000, noAgentGraceMs: 30_000 });

    expect((await watch.check()).raised).toEqual([]);
    clock.advance(29_000);
    expect((await watch.check()).raised).toEqual([]);
    clock.advance(1_000);
    const pass = await watch.check();
    expect(pass.raised.map((a) => [a.key, a.severity, a.message])).toEqual([
      ['agent-down:web-02', 'warning', 'No agent has ever reported for host web-02 (watched for 30.0s): no job of runbook app-data runs until `lifeboat agent --host web-02` runs there'],
    ]);
    // A runbook without host: belongs to no agent and is never waited for.
    expect((await store.listAlerts({ status: 'open' })).map((a) => a.key)).toEqual(['agent-down:web-02']);

    await registry.heartbeat(beat('web-02'));
    expect((await watch.check()).resolved.map((a) => a.key)).toEqual(['agent-down:web-02']);
    expect(await store.listAlerts({ status: 'open' })).toEqual([]);
  });
});

describe('/metrics: lifeboat_agent_up and lifeboat_agent_last_seen_timestamp_seconds', () => {
  it('one series per host: up 1 while it beats, 0 once silent or never seen by a host runbooks name; last seen in unix seconds; promtool accepts them', async () => {
    const { pool } = await database();
    const clock = new FakeClock('2026-12-06T10:00:00.000Z');
    const hosts = new HostRegistry(pool, () => clock.now());
    const metrics = new Registry();
    const runbooks = [{ ...testRunbook({ name: 'app-data' }), host: 'web-01' }, { ...testRunbook({ name: 'media' }), host: 'web-02' }];
    registerAgentMetrics(metrics, { registry: hosts, runbooks: () => runbooks, clock, lostAfterMs: 5_000 });
    const series = async () => (await metrics.metrics()).split('\n').filter((l) => l.startsWith('lifeboat_agent'));

    await hosts.heartbeat(beat('web-01'));
    await hosts.heartbeat(beat('db-01'));
    clock.advance(3_000);
    await hosts.heartbeat(beat('db-01'));
    clock.advance(3_000);
    expect(await series()).toEqual([
      'lifeboat_agent_up{host="db-01"} 1',
      'lifeboat_agent_up{host="web-01"} 0',
      'lifeboat_agent_up{host="web-02"} 0',
      'lifeboat_agent_last_seen_timestamp_seconds{host="db-01"} 1796551203',
      'lifeboat_agent_last_seen_timestamp_seconds{host="web-01"} 1796551200',
    ]);
    await hosts.heartbeat(beat('web-01'));
    expect(await series()).toContain('lifeboat_agent_up{host="web-01"} 1');

    const check = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.metrics(), encoding: 'utf8' });
    expect(check.error, 'promtool (Debian: apt-get install prometheus)').toBeUndefined();
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});
