/**
 * serve dispatches a minute's fires at one instant: the queue's inserts
 * (FleetQueue.dispatch) and the LISTEN/NOTIFY commands (PgChannels) of one
 * burst go in batches. Against a real PostgreSQL: every job of a burst is
 * queued with the columns pg-boss's own `send` writes for the same options,
 * a job pg-boss would not queue is refused on its own, agents take them as
 * before, and every notification of a burst reaches its listener once, in
 * order — a repeated one too (PostgreSQL folds repeats inside one statement).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_QUEUE_SCHEMA, FleetQueue, queueOfHost } from '../../src/core/fleet/queue.js';
import { PgChannels } from '../../src/core/fleet/pg-channels.js';
import type { FleetJob } from '../../src/core/fleet/job.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';

let availability: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let cluster: PostgresCluster | undefined;
let url = '';
const toClose: (() => Promise<void>)[] = [];

beforeAll(async () => {
  availability = postgresAvailable();
  if (!availability.ok) return;
  base = await mkdtemp(join(tmpdir(), 'lifeboat-batched-dispatch-'));
  cluster = await startPostgres(availability.bin, base);
  cluster.sql('postgres', 'CREATE DATABASE fleet');
  url = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/fleet`;
}, 120_000);

afterAll(async () => {
  for (const close of toClose.reverse()) await close().catch(() => undefined);
  cluster?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

const jobOf = (host: string, runbook: string): FleetJob => ({
  v: 1,
  kind: 'backup',
  args: { runbook },
  argv: [runbook],
  runbook: { name: runbook, host, content: 'name: x\n', sha256: '0'.repeat(64) },
  actor: { face: 'scheduler', user: 'scheduler' },
  requestedAt: new Date().toISOString(),
});

describe('a burst of dispatches', () => {
  it('queues every job of one turn, as pg-boss send would; refuses the one pg-boss would not queue; agents take them', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const queue = await FleetQueue.open(url);
    toClose.push(() => queue.stop());
    const hosts = ['b1', 'b2', 'b3'];
    // The queues exist first (serve's are made on first use, once per process).
    for (const h of hosts) expect(await queue.takeUpTo(h, 1)).toEqual([]);
    const burst = hosts.flatMap((h) => Array.from({ length: 20 }, (_, i) => ({ id: randomUUID(), job: jobOf(h, `${h}-rb${i}`) })));
    await Promise.all(burst.map((b) => queue.dispatch(b.job, b.id)));

    const check = new pg.Client({ connectionString: url });
    await check.connect();
    toClose.push(() => check.end());
    const q = FLEET_QUEUE_SCHEMA;
    const columns = `name, state, priority, singleton_key, retry_limit, retry_delay, retry_backoff, policy, dead_letter, expire_in, round(extract(epoch FROM keep_until - start_after)) AS keep_s, data`;
    const queued = await check.query(`SELECT id, ${columns} FROM ${q}.job WHERE id = ANY($1::uuid[]) ORDER BY name, singleton_key`, [burst.map((b) => b.id)]);
    expect(queued.rowCount).toBe(60);

    // pg-boss's own send of the same job with the options dispatch used to give it: the same columns.
    const { default: PgBoss } = await import('pg-boss');
    const boss = new PgBoss({ connectionString: url, schema: q, supervise: false, schedule: false, migrate: false });
    boss.on('error', () => undefined);
    await boss.start();
    toClose.push(() => boss.stop({ graceful: false }));
    const sentId = randomUUID();
    await boss.send(queueOfHost('b1'), jobOf('b1', 'sent-by-pg-boss') as unknown as object, { id: sentId, singletonKey: 'sent-by-pg-boss', retryLimit: 0, expireInSeconds: 23 * 3600 });
    const sent = (await check.query(`SELECT ${columns} FROM ${q}.job WHERE id = $1`, [sentId])).rows[0];
    const ours = (await check.query(`SELECT ${columns} FROM ${q}.job WHERE id = $1`, [burst[0]!.id])).rows[0];
    const { data: sentData, singleton_key: _sentKey, ...sentRest } = sent;
    const { data: ourData, singleton_key: ourKey, ...ourRest } = ours;
    expect(ourRest).toEqual(sentRest);
    expect(ourKey).toBe('b1-rb0');
    expect(ourData).toEqual(burst[0]!.job);
    expect(sentData.runbook.name).toBe('sent-by-pg-boss');

    // An id already taken is not queued again: that dispatch alone fails, the others of its burst go in.
    const again = await Promise.allSettled([queue.dispatch(jobOf('b2', 'b2-other'), burst[20]!.id), queue.dispatch(jobOf('b2', 'b2-new'), randomUUID())]);
    expect(again[0]).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('did not queue job') } });
    expect(again[1]!.status).toBe('fulfilled');

    // The agent of b3 takes its 20 at once; the queue's rule of one active job per runbook holds.
    const taken = await queue.takeUpTo('b3', 32);
    expect(taken.map((t) => (t.data as FleetJob).runbook.name).sort()).toEqual(burst.filter((b) => b.job.runbook.host === 'b3').map((b) => b.job.runbook.name).sort());
  });

  it('every LISTEN and NOTIFY of one turn arrives: each listener hears its own payloads once, in order, repeats included', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const listener = new PgChannels(url);
    const sender = new PgChannels(url);
    toClose.push(() => listener.close(), () => sender.close());
    const heard = new Map<string, string[]>();
    const channels = Array.from({ length: 150 }, (_, i) => `lifeboat_job_batch${i}`);
    const stops = await Promise.all(channels.map((c) => listener.listen(c, (p) => heard.set(c, [...(heard.get(c) ?? []), p]))));
    const expected = new Map(channels.map((c, i) => [c, [`${i}-a`, `${i}-b`, `${i}-b`, `${i}-c`]]));
    // All in one turn, interleaved across channels; each channel's order is its own.
    await Promise.all([0, 1, 2, 3].flatMap((k) => channels.map((c) => sender.notify(c, expected.get(c)![k]!))));
    const total = channels.length * 4;
    for (let waited = 0; [...heard.values()].reduce((n, l) => n + l.length, 0) < total && waited < 10_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const c of channels) expect(heard.get(c)).toEqual(expected.get(c));
    // Stopped listening (one UNLISTEN batch): later notifications are not heard.
    await Promise.all(stops.map((stop) => stop()));
    let probed!: () => void;
    const probe = new Promise<void>((resolve) => (probed = resolve));
    await listener.listen('lifeboat_job_batch_probe', () => probed());
    // One sender, in order: once the probe is heard, 'after' would have been too.
    await Promise.all([sender.notify(channels[0]!, 'after'), sender.notify('lifeboat_job_batch_probe', 'x')]);
    await probe;
    expect(heard.get(channels[0]!)).toEqual(expected.get(channels[0]!));
  });
});
