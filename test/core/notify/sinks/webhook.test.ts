/**
 * The webhook sink against a recording HTTP server: the JSON body and headers,
 * a signature the receiver can recompute, and what each failure means for the
 * outbox (500 then 200 retried, connection refused transient, 400 permanent).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../../../src/core/index.js';
import { webhookSink } from '../../../../src/core/notify/sinks/webhook.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../../helpers/recording-http.js';
import { alertMessage, never } from './message.js';

const SECRET = 'whsec-test-0123456789';
const clock = { now: () => new Date('2026-12-06T03:00:05.000Z') };
let server: RecordingHttpServer | undefined;
afterEach(async () => server?.close());

const sinkAt = (url: string, secret?: string) =>
  webhookSink({ name: 'hooks', url, ...(secret ? { secret } : {}), lifeboat: { version: '0.1.0', host: 'backup-01' }, clock });

/** A free port nobody listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('webhook sink', () => {
  it('POSTs the alert as JSON with an Idempotency-Key and a signature a receiver can verify', async () => {
    server = await startRecordingHttp();
    await sinkAt(`${server.url}/hooks/lifeboat`, SECRET).send(alertMessage('raised'), never);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hooks/lifeboat');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe('01JDELIVERYRAISED');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      idempotencyKey: '01JDELIVERYRAISED',
      transition: 'raised',
      alert: {
        key: 'backup-failed:app-data',
        runbook: 'app-data',
        rule: 'backup-failed',
        severity: 'critical',
        message: 'backup of app-data failed: source uploads: ENOENT /srv/uploads',
        firstSeen: '2026-12-06T02:00:00.000Z',
        lastSeen: '2026-12-06T03:00:00.000Z',
        count: 2,
        status: 'open',
        ackedBy: null,
      },
      at: '2026-12-06T03:00:00.000Z',
      lifeboat: { version: '0.1.0', host: 'backup-01' },
    });

    // What a receiver does: recompute over "<timestamp>.<raw body>", compare in constant time, refuse old timestamps.
    const timestamp = String(request?.headers['x-lifeboat-timestamp']);
    expect(Number(timestamp)).toBe(Math.floor(clock.now().getTime() / 1000));
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${request?.body}`).digest('hex')}`);
    const given = Buffer.from(String(request?.headers['x-lifeboat-signature']));
    expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
    const forged = Buffer.from(`sha256=${createHmac('sha256', 'another-secret').update(`${timestamp}.${request?.body}`).digest('hex')}`);
    expect(timingSafeEqual(given, forged)).toBe(false);
  });

  it('sends no signature headers without a secret', async () => {
    server = await startRecordingHttp();
    await sinkAt(`${server.url}/h`).send(alertMessage('resolved'), never);
    expect(server.requests[0]?.headers['x-lifeboat-signature']).toBeUndefined();
    expect(JSON.parse(server.requests[0]?.body ?? '').alert.status).toBe('resolved');
  });

  it('500 is transient and the retry arrives with the same Idempotency-Key; 400 is permanent; neither message holds the secret', async () => {
    server = await startRecordingHttp();
    const sink = sinkAt(`${server.url}/h`, SECRET);
    server.behave('/h', { status: 500, body: `upstream broke while checking ${SECRET}` });
    const first = await sink.send(alertMessage(), never).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(SinkError);
    expect((first as SinkError).permanent).toBe(false);
    expect((first as SinkError).message).toBe(`webhook sink "hooks" (${new URL(server.url).host}): answered HTTP 500: upstream broke while checking [redacted]`);
    server.behave('/h');
    await sink.send(alertMessage(), never);
    expect(server.requests.map((r) => [r.answered, r.headers['idempotency-key']])).toEqual([
      [500, '01JDELIVERYRAISED'],
      [200, '01JDELIVERYRAISED'],
    ]);

    server.behave('/h', { status: 400, body: 'bad payload' });
    const refused = await sink.send(alertMessage(), never).catch((e: unknown) => e);
    expect((refused as SinkError).permanent).toBe(true);
    server.behave('/h', { status: 429, headers: { 'Retry-After': '7' } });
    const limited = await sink.send(alertMessage(), never).catch((e: unknown) => e);
    expect([(limited as SinkError).permanent, (limited as SinkError).retryAfterMs]).toEqual([false, 7000]);
  });

  it('a refused connection and a hanging server are transient, naming the host', async () => {
    const port = await closedPort();
    const refused = await sinkAt(`http://127.0.0.1:${port}/h`).send(alertMessage(), never).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SinkError);
    expect((refused as SinkError).permanent).toBe(false);
    expect((refused as SinkError).message).toBe(`webhook sink "hooks" (127.0.0.1:${port}): cannot connect (ECONNREFUSED)`);

    server = await startRecordingHttp();
    server.behave('/slow', 'hang');
    const slow = webhookSink({ name: 'hooks', url: `${server.url}/slow`, lifeboat: { version: '0.1.0', host: 'h' }, clock, timeoutMs: 300 });
    const hung = await slow.send(alertMessage(), never).catch((e: unknown) => e);
    expect((hung as SinkError).message).toMatch(/\): no answer within 0\.3 s$/);
    expect((hung as SinkError).permanent).toBe(false);
  });
});
