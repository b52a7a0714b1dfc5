/**
 * serve's claims of the fires due at one instant, batched (paced-claims.ts
 * over the shared schedule state's markHandledAll), against a real
 * PostgreSQL: 300 fires are one statement, and a leader takeover while that
 * statement is in the store loses no fire and doubles none — the takeover
 * waits for the whole batch (the lease row's share lock), the new leader then
 * sees every fire of it as handled, and a batch of a term that lost the
 * lease claims nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleState } from '../../src/core/index.js';
import { PostgresCoordination } from '../../src/core/store/postgres/coordination.js';
import { migratePostgres } from '../../src/core/store/postgres/migrations.js';
import { pacedClaims } from '../../src/serve/paced-claims.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';

let availability: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  availability = postgresAvailable();
  if (!availability.ok) return;
  base = await mkdtemp(join(tmpdir(), 'lifeboat-batched-claims-'));
  cluster = await startPostgres(availability.bin, base);
}, 120_000);

afterAll(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => undefined);
  cluster?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

let databases = 0;
async function migratedDatabase(): Promise<{ url: string; pool: pg.Pool; open(): Promise<PostgresCoordination> }> {
  const name = `claims${++databases}`;
  cluster!.sql('postgres', `CREATE DATABASE ${name}`);
  const url = `postgres://${cluster!.user}@127.0.0.1:${cluster!.port}/${name}`;
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  opened.push({ close: () => pool.end() });
  await migratePostgres(pool);
  return {
    url,
    pool,
    async open() {
      const c = await PostgresCoordination.open(url, { queryTimeoutMs: 20_000, onMarkError: (e) => { throw e; } });
      opened.push(c);
      return c;
    },
  };
}

/** The state, counting the statements that reach it (each markHandledAll is one, each markHandled one). */
function counted(state: ScheduleState): { state: ScheduleState; statements: () => number } {
  let statements = 0;
  return {
    statements: () => statements,
    state: {
      lastHandled: (runbook, kind) => state.lastHandled(runbook, kind),
      markHandled: (runbook, kind, at) => (statements++, state.markHandled(runbook, kind, at)),
      markHandledAll: (fires) => (statements++, state.markHandledAll!(fires)),
    },
  };
}

const names = Array.from({ length: 300 }, (_, i) => `rb-${String(i).padStart(3, '0')}`);
/** As the scheduler does at an instant: every fire's claim made in the same turn, one by one. */
const claimAll = (state: ScheduleState, at: string) => Promise.all(names.map((n) => state.markHandled(n, 'backup', new Date(at))));

/** Waits (polling pg_stat_activity) until a statement matching `like` waits for a lock. */
async function untilWaitingOnLock(pool: pg.Pool, like: string): Promise<void> {
  for (;;) {
    const res = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [like]);
    if ((res.rowCount ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("serve's batched claims in PostgreSQL", () => {
  it('the fires claimed at one instant go in one statement, each answered', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const { open, pool } = await migratedDatabase();
    const a = await open();
    const term = (await a.acquire('a', 60_000)).term!;
    const inner = counted(await a.scheduleState(term));
    const claims = pacedClaims(inner.state);
    expect(await claimAll(claims, '2026-12-06T10:00:00Z')).toEqual(names.map(() => true));
    expect(inner.statements()).toBe(1);
    // The same instant again: handled already, not ours a second time.
    expect(await claimAll(claims, '2026-12-06T10:00:00Z')).toEqual(names.map(() => false));
    expect(inner.statements()).toBe(2);
    const rows = await pool.query(`SELECT count(*)::int AS n FROM schedule_state WHERE last_handled = '2026-12-06T10:00:00Z' AND handled_by = 'a'`);
    expect(rows.rows[0].n).toBe(300);
    // One runbook claimed twice in a turn (two kinds at once are fine; the same key twice goes in a second statement).
    const twice = await Promise.all([
      claims.markHandled('rb-000', 'backup', new Date('2026-12-06T10:01:00Z')),
      claims.markHandled('rb-000', 'verify', new Date('2026-12-06T10:01:00Z')),
      claims.markHandled('rb-000', 'backup', new Date('2026-12-06T10:01:00Z')),
    ]);
    expect(twice).toEqual([true, true, false]);
  });

  it('a takeover while a batch is in the store waits for all of it: every fire claimed once, by one term', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const { open, pool } = await migratedDatabase();
    const a = await open();
    const b = await open();
    const termA = (await a.acquire('a', 60_000)).term!;
    const claimsA = pacedClaims(await a.scheduleState(termA));
    // rb-150 handled once before, so the batch updates its row: a row another session holds stops the batch there, mid-statement.
    expect(await claimsA.markHandled('rb-150', 'backup', new Date('2026-12-06T09:59:00Z'))).toBe(true);
    const blocker = await pool.connect();
    const takeover = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM schedule_state WHERE runbook = 'rb-150' FOR UPDATE`);
      const batch = claimAll(claimsA, '2026-12-06T10:00:00Z');
      await untilWaitingOnLock(pool, '%unnest%');
      // A's lease lapses now: the takeover's write of the lease row waits for the batch's share lock on it.
      const lapsed = takeover.query(`UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = 'serve-leader'`);
      await untilWaitingOnLock(pool, 'UPDATE leases%');
      await blocker.query('ROLLBACK');
      const answersA = await batch;
      await lapsed;
      // The batch was in before the lease changed hands: all of it is A's.
      expect(answersA).toEqual(names.map(() => true));

      const termB = (await b.acquire('b', 60_000)).term!;
      expect(termB.epoch).toBe(2);
      const stateB = await b.scheduleState(termB);
      const claimsB = pacedClaims(stateB);
      // The new leader sees every fire of the batch handled, so it runs none of them again.
      expect(names.every((n) => stateB.lastHandled(n, 'backup')?.toISOString() === '2026-12-06T10:00:00.000Z')).toBe(true);
      expect(await claimAll(claimsB, '2026-12-06T10:00:00Z')).toEqual(names.map(() => false));

      // The next instant: A, deposed but not yet aware, claims nothing; B claims all of it.
      expect(await claimAll(claimsA, '2026-12-06T10:01:00Z')).toEqual(names.map(() => false));
      expect(await claimAll(claimsB, '2026-12-06T10:01:00Z')).toEqual(names.map(() => true));
      const byTerm = await pool.query(`SELECT handled_by, count(*)::int AS n FROM schedule_state WHERE last_handled = '2026-12-06T10:01:00Z' GROUP BY handled_by`);
      expect(byTerm.rows).toEqual([{ handled_by: 'b', n: 300 }]);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      takeover.release();
    }
  });

  it('a takeover that commits first leaves the old term\'s whole batch unclaimed, for the new leader to claim', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const { open, pool } = await migratedDatabase();
    const a = await open();
    const b = await open();
    const termA = (await a.acquire('a', 60_000)).term!;
    const claimsA = pacedClaims(await a.scheduleState(termA));
    const locker = await pool.connect();
    try {
      // The takeover holds the lease row (not yet committed) when A's batch arrives: the batch waits for it.
      await locker.query('BEGIN');
      await locker.query(`UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = 'serve-leader'`);
      const batch = claimAll(claimsA, '2026-12-06T10:00:00Z');
      await untilWaitingOnLock(pool, '%unnest%');
      await locker.query('COMMIT');
      expect(await batch).toEqual(names.map(() => false));
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
    const termB = (await b.acquire('b', 60_000)).term!;
    const claimsB = pacedClaims(await b.scheduleState(termB));
    expect(await claimAll(claimsB, '2026-12-06T10:00:00Z')).toEqual(names.map(() => true));
    const rows = await pool.query(`SELECT handled_by, count(*)::int AS n FROM schedule_state GROUP BY handled_by`);
    expect(rows.rows).toEqual([{ handled_by: 'b', n: 300 }]);
  });
});
