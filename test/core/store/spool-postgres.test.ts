/**
 * The spool against a real PostgreSQL (src/core/store/spool/): the errors pg
 * really gives when the server is stopped with `-m immediate` count as an
 * outage (an idle pooled connection the server dropped, then refused
 * connections), the writes are spooled, and after a restart they are replayed
 * once; replaying the same entries again (a crash before their removal) doubles
 * nothing and keeps every row's place (postgres-store.ts upserts by id).
 * The stop blocks this process (spawnSync), so the next write takes the dead
 * idle connection from the pool before its end is noticed: without the
 * pool's onConnect error listener (open-store.ts) pg's 'error' event on that
 * checked-out client is unhandled, which vitest reports as a failure here and
 * which would kill a backup in production.
 * Through openConfiguredStore, as the CLI opens it: an unreachable server does
 * not fail the open, a refused one (wrong database) still does.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConfiguredStore } from '../../../src/core/store/open-store.js';
import { isStoreUnreachable, Spool, SpoolingStore, spoolDirOf } from '../../../src/core/store/spool/index.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../../helpers/drill-postgres.js';
import { skipWithoutTool } from '../../helpers/required-tool.js';
import { at, audit, drill, run } from './helpers/records.js';

let availability: PostgresAvailability;
let cluster: PostgresCluster | undefined;
let dir: string;

beforeAll(async () => {
  availability = postgresAvailable();
  if (!availability.ok) return;
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-spool-pg-'));
  cluster = await startPostgres(availability.bin, dir);
  cluster.sql('postgres', 'CREATE DATABASE lifeboat');
}, 120_000);

afterAll(async () => {
  cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SpoolingStore on PostgreSQL', () => {
  it('spools through a real outage and replays once; a second replay of the same entries doubles nothing', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const pg = cluster!;
    const home = join(dir, 'home');
    const env = { LIFEBOAT_STORE_URL: `postgres://${pg.user}@127.0.0.1:${pg.port}/lifeboat?sslmode=disable` };
    const warnings: string[] = [];
    const store = (await openConfiguredStore({ env, home, migrate: true, onWarning: (m) => warnings.push(m) })) as SpoolingStore;
    expect(store).toBeInstanceOf(SpoolingStore);
    await store.putRun(run('r1', { status: 'running', startedAt: at(1) }));
    await store.putRun(run('r0', { startedAt: at(0) }));

    // The test cluster runs with synchronous_commit=off (drill-postgres.ts): without a checkpoint an immediate
    // stop may lose the last commits (the migration included), which a production server would have kept.
    pg.sql('lifeboat', 'CHECKPOINT');
    pg.stop();
    // The pool's idle connection was dropped by the server, new ones are refused: both are an outage.
    await store.putRun(run('r1', { status: 'running', startedAt: at(1), stages: [{ name: 'discover', status: 'succeeded', counters: {} }] }));
    await store.putDrill(drill('d1', { startedAt: at(2) }));
    await store.putRun(run('r1', { status: 'succeeded', startedAt: at(1) }));
    await store.appendAudit(audit('a1', { at: at(3) }));
    const error = await store.listRuns().catch((e: unknown) => e);
    expect(isStoreUnreachable(error)).toBe(true);
    expect((error as Error).message).toContain(`state store unreachable: 127.0.0.1:${pg.port}/lifeboat (`);
    expect((error as Error).message).not.toContain('postgres://');
    const spool = new Spool(spoolDirOf(home));
    expect(await spool.names()).toHaveLength(4);
    expect(warnings[0]).toMatch(/^state store unreachable: 127\.0\.0\.1:\d+\/lifeboat/);
    await store.close();

    const saved = join(dir, 'saved-spool');
    await cp(spoolDirOf(home), saved, { recursive: true });
    pg.start();
    const query = (sql: string) => pg.sql('lifeboat', sql).trim();
    const again = (await openConfiguredStore({ env, home })) as SpoolingStore;
    expect((await again.listRuns()).map((r) => `${r.id} ${r.status} ${r.stages.length}`)).toEqual(['r1 succeeded 1', 'r0 succeeded 1']);
    expect(await spool.names()).toEqual([]);
    const written = query('SELECT id, written FROM runs ORDER BY id');

    // As if the process had died before removing the entries: replayed again, nothing changes.
    await rm(spoolDirOf(home), { recursive: true });
    await cp(saved, spoolDirOf(home), { recursive: true });
    expect(await again.replay()).toMatchObject({ replayed: 4, rejected: 0, busy: false });
    expect(query('SELECT count(*) FROM runs')).toBe('2');
    expect(query('SELECT count(*) FROM drills')).toBe('1');
    expect(query('SELECT count(*) FROM audit')).toBe('1');
    expect(query('SELECT id, written FROM runs ORDER BY id')).toBe(written);
    expect((await again.listRuns()).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    await again.close();
  }, 120_000);

  it('opens while the server is down (the store connects later), but still refuses a database that is not there', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const pg = cluster!;
    pg.start();
    const home = join(dir, 'home-2');
    await expect(
      openConfiguredStore({ env: { LIFEBOAT_STORE_URL: `postgres://${pg.user}@127.0.0.1:${pg.port}/no_such_db?sslmode=disable` }, home }),
    ).rejects.toThrow(/no_such_db/);
    pg.stop();
    const env = { LIFEBOAT_STORE_URL: `postgres://${pg.user}@127.0.0.1:${pg.port}/lifeboat?sslmode=disable` };
    const store = (await openConfiguredStore({ env, home })) as SpoolingStore;
    expect(store.isDown).toBe(true);
    await store.putRun(run('early'));
    await expect(store.listRuns()).rejects.toThrow(/state store unreachable/);
    await store.close();
    pg.start();
    const back = await openConfiguredStore({ env, home });
    expect((await back.listRuns()).some((r) => r.id === 'early')).toBe(true);
    await back.close();
  }, 120_000);
});
