/**
 * The PostgreSQL store keeps the lists a long-running face reads again and
 * again (src/core/store/postgres/list-cache.ts), and PostgreSQL's change
 * notices (schema 4's triggers) say which runbooks to read afresh. Against a
 * real cluster: a list read twice is then answered without a query; a change by
 * another store (another process's pool), by plain SQL (a person with psql), by
 * TRUNCATE, and by this store itself is seen, and the answer is always the one
 * a store that keeps nothing gives, order included; a lost listener stops the
 * keeping until it is back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunListOptions, Store } from '../../../src/core/store/store.js';
import { migratePostgres } from '../../../src/core/store/postgres/migrations.js';
import { openPostgresStore, type PostgresStore } from '../../../src/core/store/postgres/postgres-store.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../../helpers/drill-postgres.js';
import { skipWithoutTool } from '../../helpers/required-tool.js';
import { alert, at, drill, ids, run } from './helpers/records.js';

let state: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;
let admin: pg.Pool | undefined;
let url = '';
const stores: PostgresStore[] = [];

beforeAll(async () => {
  state = postgresAvailable();
  if (!state.ok) return;
  base = await mkdtemp(join(tmpdir(), 'lifeboat-list-cache-'));
  cluster = await startPostgres(state.bin, base);
  cluster.sql('postgres', 'CREATE DATABASE cache');
  url = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/cache`;
  admin = new pg.Pool({ connectionString: url, max: 2 });
  await migratePostgres(admin);
}, 120_000);

afterAll(async () => {
  try {
    await admin?.end();
    cluster?.stop();
  } finally {
    if (base) await rm(base, { recursive: true, force: true });
  }
});

beforeEach(async (ctx) => {
  skipWithoutTool(ctx, 'PostgreSQL', state);
  await admin!.query('TRUNCATE runs, drills, alerts, deliveries, audit RESTART IDENTITY');
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function open(): Promise<PostgresStore> {
  const store = await openPostgresStore(url);
  stores.push(store);
  return store;
}

/** What status asks for: every runbook's newest good backups. */
const newestGood: RunListOptions = { kind: 'backup', status: ['succeeded', 'partial'], perRunbook: 2 };

/** Three runbooks, three backups each; two runbooks share start times so the order falls to `written`. */
async function seed(store: Store): Promise<void> {
  for (const [i, runbook] of ['alpha', 'beta', 'gamma'].entries()) {
    for (let n = 0; n < 3; n++) await store.putRun(run(`${runbook}-${n}`, { runbook, startedAt: at(n * 10 + (i === 2 ? 1 : 0)), status: n === 1 ? 'failed' : 'succeeded' }));
  }
}

/** Reads until the listener is in place (the second read of a list starts it). */
async function keeping(store: PostgresStore, read: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200 && !store.keepsLists; i++) {
    await read();
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(store.keepsLists).toBe(true);
}

/** Reads `store` until it gives what a store that keeps nothing gives (a notice takes a moment to arrive). */
async function expectSettlesTo(store: Store, read: (s: Store) => Promise<unknown>): Promise<void> {
  const fresh = await open();
  const truth = await read(fresh);
  for (let i = 0; i < 100; i++) {
    if (JSON.stringify(await read(store)) === JSON.stringify(truth)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await read(store)).toEqual(truth);
}

describe('PostgresStore keeps repeated lists between changes', () => {
  it('answers a list asked again without a query, in the order a fresh read gives', async () => {
    const writer = await open();
    await seed(writer);
    const reader = await open();
    const once = await reader.listRuns(newestGood);
    expect(reader.keepsLists).toBe(false); // one read: a one-shot command starts no listener
    await keeping(reader, () => reader.listRuns(newestGood));
    await reader.listRuns(newestGood); // kept from here on
    const queries = reader.listQueries;
    for (let i = 0; i < 5; i++) expect(ids(await reader.listRuns(newestGood))).toEqual(ids(once));
    expect(reader.listQueries).toBe(queries);
    // Newest start first; at a tie (alpha and beta), the one written later.
    expect(ids(once)).toEqual(['gamma-2', 'beta-2', 'alpha-2', 'gamma-0', 'beta-0', 'alpha-0']);
    expect(ids(once)).toEqual(ids(await (await open()).listRuns(newestGood)));
  });

  it("reads again only the runbook another store's write names", async () => {
    const writer = await open();
    await seed(writer);
    const reader = await open();
    await keeping(reader, () => reader.listRuns(newestGood));
    await reader.listRuns(newestGood);
    const before = reader.listQueries;
    await writer.putRun(run('beta-9', { runbook: 'beta', startedAt: at(99) }));
    await expectSettlesTo(reader, (s) => s.listRuns(newestGood));
    // One query for beta's rows, none for alpha's or gamma's (a few if a read raced the notice).
    expect(reader.listQueries - before).toBeGreaterThanOrEqual(1);
    expect(reader.listQueries - before).toBeLessThan(5);
    expect(ids(await reader.listRuns(newestGood))[0]).toBe('beta-9');
  });

  it('sees changes made by plain SQL, by TRUNCATE, and a runbook that is new', async () => {
    const writer = await open();
    await seed(writer);
    const reader = await open();
    await keeping(reader, () => reader.listRuns(newestGood));
    await admin!.query(`DELETE FROM runs WHERE runbook = 'alpha'`);
    await expectSettlesTo(reader, (s) => s.listRuns(newestGood));
    expect((await reader.listRuns(newestGood)).some((r) => r.runbook === 'alpha')).toBe(false);
    await writer.putRun(run('delta-0', { runbook: 'delta', startedAt: at(5) }));
    await expectSettlesTo(reader, (s) => s.listRuns(newestGood));
    expect(ids(await reader.listRuns(newestGood))).toContain('delta-0');
    await admin!.query('TRUNCATE runs');
    await expectSettlesTo(reader, (s) => s.listRuns(newestGood));
    expect(await reader.listRuns(newestGood)).toEqual([]);
  });

  it("reads its own writes at once, drills and open alerts too", async () => {
    const store = await open();
    await seed(store);
    await store.putDrill(drill('d-1', { runbook: 'alpha' }));
    await store.putAlert(alert('alpha:stale', { runbook: 'alpha' }));
    const drills = () => store.listDrills({ tier: 'hot', verdict: ['met', 'missed'], perRunbook: 3 });
    const open_ = () => store.listAlerts({ status: 'open' });
    await keeping(store, async () => Promise.all([store.listRuns(newestGood), drills(), open_()]));
    await Promise.all([store.listRuns(newestGood), drills(), open_()]);
    await store.putRun(run('gamma-7', { runbook: 'gamma', startedAt: at(70) }));
    await store.putDrill(drill('d-2', { runbook: 'alpha', startedAt: at(5), verdict: 'missed' }));
    await store.putAlert(alert('alpha:stale', { runbook: 'alpha', status: 'resolved', resolvedAt: at(6), lastSeen: at(6) }));
    // No waiting: the write itself marked what it changed.
    expect(ids(await store.listRuns(newestGood))[0]).toBe('gamma-7');
    expect(ids(await drills())).toEqual(['d-2', 'd-1']);
    expect(await open_()).toEqual([]);
  });

  it('stops keeping when the listening connection is lost, and starts again', async () => {
    const writer = await open();
    await seed(writer);
    const reader = await open();
    await keeping(reader, () => reader.listRuns(newestGood));
    await reader.listRuns(newestGood);
    // The server ends the listener's session, as a restart or a network cut would.
    await admin!.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`);
    for (let i = 0; i < 200 && reader.keepsLists; i++) await new Promise((r) => setTimeout(r, 10));
    expect(reader.keepsLists).toBe(false);
    // A change while nobody listens is still read: nothing kept is trusted any more.
    await writer.putRun(run('alpha-8', { runbook: 'alpha', startedAt: at(88) }));
    const queries = reader.listQueries;
    expect(ids(await reader.listRuns(newestGood))[0]).toBe('alpha-8');
    expect(reader.listQueries).toBe(queries + 1);
    // Listening again once the back-off (5 s) has passed.
    const until = Date.now() + 15_000;
    while (!reader.keepsLists && Date.now() < until) {
      await reader.listRuns(newestGood);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reader.keepsLists).toBe(true);
    await writer.putRun(run('gamma-8', { runbook: 'gamma', startedAt: at(89) }));
    await expectSettlesTo(reader, (s) => s.listRuns(newestGood));
  }, 30_000);
});
