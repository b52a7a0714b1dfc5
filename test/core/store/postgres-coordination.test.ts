/**
 * The serve leader lease and the shared schedule state, against a real
 * PostgreSQL: one holder at a time, a new term (epoch) for each new holder, a
 * lapsed lease taken over, and a fire marked handled only by the term that
 * holds the lease — never by a term that lost it, never twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCoordination } from '../../../src/core/store/postgres/coordination.js';
import { migratePostgres } from '../../../src/core/store/postgres/migrations.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../../helpers/drill-postgres.js';
import { skipWithoutTool } from '../../helpers/required-tool.js';

let availability: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  availability = postgresAvailable();
  if (!availability.ok) return;
  base = await mkdtemp(join(tmpdir(), 'lifeboat-coordination-'));
  cluster = await startPostgres(availability.bin, base);
}, 120_000);

afterAll(async () => {
  for (const o of opened) await o.close();
  cluster?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

let databases = 0;
async function migratedDatabase(): Promise<{ open(): Promise<PostgresCoordination>; pool: pg.Pool }> {
  const name = `coord${++databases}`;
  cluster!.sql('postgres', `CREATE DATABASE ${name}`);
  const url = `postgres://${cluster!.user}@127.0.0.1:${cluster!.port}/${name}`;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  opened.push({ close: () => pool.end() });
  await migratePostgres(pool);
  return {
    pool,
    async open() {
      const c = await PostgresCoordination.open(url, { queryTimeoutMs: 5_000, onMarkError: (e) => { throw e; } });
      opened.push(c);
      return c;
    },
  };
}

const fire = (iso: string) => new Date(iso);

describe('the serve leader lease in PostgreSQL', () => {
  it('one holder at a time; renewing keeps the term; a lapsed lease goes to the next with a new term', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const { open, pool } = await migratedDatabase();
    const a = await open();
    const b = await open();
    expect(await a.acquire('a', 60_000)).toEqual({ term: { holder: 'a', epoch: 1 } });
    expect(await a.acquire('a', 60_000)).toEqual({ term: { holder: 'a', epoch: 1 } });
    const refused = await b.acquire('b', 60_000);
    expect(refused.term).toBeUndefined();
    expect(refused.leader?.holder).toBe('a');

    // A stops renewing: once its lease has lapsed (in the store's clock), B takes it with the next epoch.
    await pool.query(`UPDATE leases SET expires_at = now() - interval '1 second'`);
    expect(await b.acquire('b', 60_000)).toEqual({ term: { holder: 'b', epoch: 2 } });
    expect((await a.acquire('a', 60_000)).leader?.holder).toBe('b');

    // A clean stop gives it up: the next takes it at once.
    await b.release('b');
    expect(await a.acquire('a', 60_000)).toEqual({ term: { holder: 'a', epoch: 3 } });
    // Releasing a lease one does not hold changes nothing.
    await b.release('b');
    expect((await b.acquire('b', 60_000)).leader?.holder).toBe('a');
  });

  it('a fire is marked by the term that holds the lease, once; a deposed term marks nothing; the next term sees every mark', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const { open, pool } = await migratedDatabase();
    const a = await open();
    const b = await open();
    const termA = (await a.acquire('a', 60_000)).term!;
    const stateA = await a.scheduleState(termA);
    expect(stateA.lastHandled('web', 'backup')).toBeUndefined();
    expect(await stateA.markHandled('web', 'backup', fire('2026-03-02T10:00:00Z'))).toBe(true);
    expect(stateA.lastHandled('web', 'backup')?.toISOString()).toBe('2026-03-02T10:00:00.000Z');
    // The same fire again, or an older one: not ours to run a second time.
    expect(await stateA.markHandled('web', 'backup', fire('2026-03-02T10:00:00Z'))).toBe(false);
    expect(await stateA.markHandled('web', 'backup', fire('2026-03-02T09:59:00Z'))).toBe(false);

    // B takes over after A's lease lapsed; A, not yet aware, tries the next fire: refused.
    await pool.query(`UPDATE leases SET expires_at = now() - interval '1 second'`);
    const termB = (await b.acquire('b', 60_000)).term!;
    expect(await stateA.markHandled('web', 'backup', fire('2026-03-02T10:01:00Z'))).toBe(false);
    const stateB = await b.scheduleState(termB);
    expect(stateB.lastHandled('web', 'backup')?.toISOString()).toBe('2026-03-02T10:00:00.000Z');
    expect(await stateB.markHandled('web', 'backup', fire('2026-03-02T10:01:00Z'))).toBe(true);
    expect((await pool.query(`SELECT handled_by, epoch::int FROM schedule_state WHERE runbook = 'web'`)).rows).toEqual([{ handled_by: 'b', epoch: 2 }]);

    // Even the holder's own term, once its lease lapsed unrenewed, marks nothing.
    await pool.query(`UPDATE leases SET expires_at = now() - interval '1 second'`);
    expect(await stateB.markHandled('web', 'backup', fire('2026-03-02T10:02:00Z'))).toBe(false);
  });

  it('two holders racing for a free lease: exactly one gets it', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const { open } = await migratedDatabase();
    const holders = await Promise.all(Array.from({ length: 6 }, async (_, i) => ({ name: `h${i}`, c: await open() })));
    const answers = await Promise.all(holders.map((h) => h.c.acquire(h.name, 60_000)));
    expect(answers.filter((a) => a.term !== undefined)).toHaveLength(1);
  });
});
