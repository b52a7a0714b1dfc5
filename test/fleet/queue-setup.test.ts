/**
 * The fleet queue's set-up when several processes do it at once: agents of a
 * fleet start together (a host reboot, a deploy), each bringing pg-boss's
 * schema up to date and creating its host's queue (a partition of pg-boss's job
 * table). Done concurrently on a fresh store, that deadlocked in PostgreSQL
 * ("deadlock detected", seen when the dispatch test started two agents side
 * by side); FleetQueue does it one process at a time (queue.ts, oneAtATime).
 * Several FleetQueues here stand for several processes: each has its own pool.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetQueue } from '../../src/core/fleet/queue.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';

let state: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;

beforeAll(async () => {
  state = postgresAvailable();
  if (!state.ok) return;
  base = await mkdtemp(join(tmpdir(), 'lifeboat-queue-setup-'));
  cluster = await startPostgres(state.bin, base);
}, 120_000);

afterAll(async () => {
  try {
    cluster?.stop();
  } finally {
    if (base) await rm(base, { recursive: true, force: true });
  }
});

beforeEach((ctx) => skipWithoutTool(ctx, 'PostgreSQL', state));

describe('FleetQueue set-up', () => {
  it('lets six processes open the queue on a fresh store and create their hosts\' queues at the same time, three rounds', async () => {
    for (let round = 1; round <= 3; round++) {
      const db = `queue_setup_${round}`;
      cluster!.sql('postgres', `CREATE DATABASE ${db}`);
      const url = `postgres://${cluster!.user}@127.0.0.1:${cluster!.port}/${db}`;
      const queues = await Promise.all(Array.from({ length: 6 }, () => FleetQueue.open(url)));
      try {
        // take() creates the host's queue first: six hosts' queues created side by side, none has a job yet.
        const taken = await Promise.all(queues.map((q, i) => q.take(`host-${round}-${i}`)));
        expect(taken).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
        // And again for one shared host from all six: created once, seen by every process.
        expect(await Promise.all(queues.map((q) => q.take(`shared-${round}`)))).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
      } finally {
        await Promise.all(queues.map((q) => q.stop()));
      }
    }
  });
});
