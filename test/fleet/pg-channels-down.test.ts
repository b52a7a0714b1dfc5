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
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PgChannels } from '../../src/core/index.js';

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
