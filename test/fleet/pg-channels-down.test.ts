/**
 * PgChannels while its server does not answer (pg-channels.ts): a run's live
 * events are published several a second, and each used to make a connect
 * attempt of its own, one after another in the publisher's queue. With the
 * network dropping packets each waits out the 5 s connect timeout, so a job
 * that ran through an outage sat behind minutes of them before its end.
 * Now a failed connect stands for RECONNECT_MS (1 s): notifications meanwhile
 * are dropped without an attempt (they are best effort by contract).
 *
 * The server here accepts and hangs up at once (a counted, fast failure);
 * only Date is faked, so "1 s later" needs no sleep.
 *
 * And a connection that died unseen (its server backend SIGSTOPped on a real
 * PostgreSQL: no answer, no reset, as after a failover) is given up after
 * the query timeout (500 ms here, 10 s by default), so the next notification
 * goes out on a new connection; before, every one waited out the timeout on
 * the dead one and none arrived. A listener's dead connection is found by its
 * ping (300 ms here, 60 s by default) and LISTENs again on a new one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgChannels } from '../../src/core/index.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';

let server: Server | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A TCP server that closes every connection as it comes; counts them. */
async function hangingUp(): Promise<{ url: string; attempts: () => number }> {
  let attempts = 0;
  server = createServer((socket) => {
    attempts++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `postgres://nobody@127.0.0.1:${port}/lifeboat?sslmode=disable`, attempts: () => attempts };
}

describe('PgChannels without a server', () => {
  it('drops notifications for 1 s after a failed connect instead of trying a connect for each; tries again after', async () => {
    const { url, attempts } = await hangingUp();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-06T12:00:00Z'));
    const channels = new PgChannels(url);
    try {
      for (let i = 0; i < 20; i++) await channels.notify('lifeboat_job_x', JSON.stringify({ i }));
      expect(attempts()).toBe(1);

      vi.setSystemTime(new Date('2026-12-06T12:00:01.100Z'));
      await channels.notify('lifeboat_job_x', 'again');
      await channels.notify('lifeboat_job_x', 'and again');
      expect(attempts()).toBe(2);
    } finally {
      await channels.close();
    }
  });
});

describe('PgChannels on a connection that died unseen', () => {
  let state: PostgresAvailability = { ok: false, why: 'not probed' };
  let base: string | undefined;
  let cluster: PostgresCluster | undefined;

  beforeAll(async () => {
    state = postgresAvailable();
    if (!state.ok) return;
    base = await mkdtemp(join(tmpdir(), 'lifeboat-pg-channels-'));
    cluster = await startPostgres(state.bin, base);
  }, 120_000);

  afterAll(async () => {
    cluster?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('gives it up after the query timeout: the next notification goes out on a new connection and arrives', async (ctx) => {
    if (!state.ok || !cluster) return skipWithoutTool(ctx, 'PostgreSQL', state);
    const url = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres?sslmode=disable`;
    const channel = 'lifeboat_job_unseen';
    const listener = new PgChannels(url);
    const publisher = new PgChannels(url, { queryTimeoutMs: 500 });
    const received: string[] = [];
    let stopped: number | undefined;
    try {
      await listener.listen(channel, (payload) => received.push(payload));
      await publisher.notify(channel, 'one');
      await expect.poll(() => received, { timeout: 5_000, interval: 20 }).toEqual(['one']);

      // The publisher's backend: the one whose last statement was its pg_notify.
      stopped = Number(cluster.sql('postgres', "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_notify%'").trim());
      expect(stopped).toBeGreaterThan(0);
      process.kill(stopped, 'SIGSTOP');
      await publisher.notify(channel, 'into the void'); // unanswered: times out, the connection is given up

      await publisher.notify(channel, 'two');
      await expect.poll(() => received, { timeout: 5_000, interval: 20 }).toContain('two');
    } finally {
      if (stopped) process.kill(stopped, 'SIGCONT');
      await publisher.close();
      await listener.close();
    }
  }, 30_000);

  it('a listener whose connection died unseen finds out by its ping and LISTENs again on a new one', async (ctx) => {
    if (!state.ok || !cluster) return skipWithoutTool(ctx, 'PostgreSQL', state);
    const url = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres?sslmode=disable`;
    const channel = 'lifeboat_wake_unseen';
    const listener = new PgChannels(url, { queryTimeoutMs: 300, pingMs: 300 });
    const publisher = new PgChannels(url);
    const received: string[] = [];
    let stopped: number | undefined;
    try {
      await listener.listen(channel, (payload) => received.push(payload));
      stopped = Number(cluster.sql('postgres', "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'").trim());
      expect(stopped).toBeGreaterThan(0);
      process.kill(stopped, 'SIGSTOP');
      // Said until heard: it is heard once the listener is on a new connection.
      await expect
        .poll(
          async () => {
            await publisher.notify(channel, 'wake');
            return received.length;
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBeGreaterThan(0);
    } finally {
      if (stopped) process.kill(stopped, 'SIGCONT');
      await publisher.close();
      await listener.close();
    }
  }, 30_000);
});
