/**
 * The Slack sink against the recording Slack stand-in (test/slack/fake-slack.ts)
 * on 127.0.0.1: what each transition posts or updates, the receipts that
 * chain them, and which failures are permanent and which are retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACK_ACTION_ID, SinkError, slackSink, type Sink, type SinkMessage } from '../../../src/core/index.js';
import { FakeClock } from '../../../src/core/clock.js';
import type { AlertRecord, AlertTransition, DeliveryReceipt } from '../../../src/core/store/records.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../helpers/recording-http.js';
import { startFakeSlack, type FakeSlack, type RecordedCall } from '../../slack/fake-slack.js';

const TOKEN = 'xoxb-sink-test-token-1234';
const clock = new FakeClock('2026-03-10T12:00:00Z');
let fake: FakeSlack;
let sink: Sink;

const alert: AlertRecord = {
  key: 'failed-run:orders',
  runbook: 'orders',
  rule: 'failed-run',
  severity: 'critical',
  message: 'backup failed in stage transfer: S3 unreachable',
  firstSeen: '2026-03-10T11:00:00.000Z',
  lastSeen: '2026-03-10T11:00:00.000Z',
  count: 1,
  status: 'open',
};

let seq = 0;
const message = (transition: AlertTransition, previous?: DeliveryReceipt, changes: Partial<AlertRecord> = {}): SinkMessage => ({
  transition,
  alert: { ...alert, ...changes },
  idempotencyKey: `delivery-${++seq}`,
  ...(previous ? { previous } : {}),
  at: clock.now().toISOString(),
});
const signal = () => new AbortController().signal;
const text = (call: RecordedCall | undefined) => JSON.stringify(call?.body ?? {});
const newCalls = (before: number) => fake.calls.slice(before);

/** The SinkError a send fails with (the test fails if it does not fail). */
async function failure(send: Promise<unknown>): Promise<SinkError> {
  const error = await send.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SinkError);
  return error as SinkError;
}

beforeAll(async () => {
  fake = await startFakeSlack();
  sink = slackSink({ name: 'oncall-slack', token: TOKEN, channel: '#backups', apiUrl: fake.apiUrl, clock });
});

afterAll(async () => {
  await fake?.close();
});

describe('Slack sink', () => {
  it('posts a raised alert with its Acknowledge button and returns where it is; ack and resolve update that message in place', async () => {
    const before = fake.calls.length;
    const receipt = await sink.send(message('raised'), signal());
    const [post] = newCalls(before);
    expect(post).toMatchObject({ method: 'chat.postMessage', body: { channel: '#backups' } });
    expect(fake.tokenOf(post!)).toBe(TOKEN);
    expect(String(post!.body.text)).toBe('CRITICAL failed-run:orders: backup failed in stage transfer: S3 unreachable');
    expect(text(post)).toContain(`"action_id":"${ACK_ACTION_ID}"`);
    expect(text(post)).toContain('"value":"failed-run:orders"');
    expect(text(post)).toContain('first seen 1h ago');
    expect(receipt).toEqual({ channel: 'CBACKUPS', ts: post!.ts });

    const acked = await sink.send(message('acknowledged', receipt!, { ackedBy: 'U0ALICE', ackedAt: '2026-03-10T11:55:00.000Z' }), signal());
    const [update] = newCalls(before + 1);
    expect(update).toMatchObject({ method: 'chat.update', body: { channel: 'CBACKUPS', ts: post!.ts } });
    expect(fake.tokenOf(update!)).toBe(TOKEN);
    expect(text(update)).toContain('acknowledged by <@U0ALICE> 5m');
    expect(text(update)).not.toContain(ACK_ACTION_ID);
    expect(acked).toEqual(receipt);

    const resolved = await sink.send(message('resolved', acked!, { status: 'resolved', resolvedAt: '2026-03-10T12:00:00.000Z' }), signal());
    const [resolution] = newCalls(before + 2);
    expect(resolution).toMatchObject({ method: 'chat.update', body: { channel: 'CBACKUPS', ts: post!.ts } });
    expect(String(resolution!.body.text)).toMatch(/^RESOLVED failed-run:orders/);
    expect(resolved).toEqual(receipt);
    expect(newCalls(before)).toHaveLength(3);
  });

  it('a repeat and a severity rise post a new message (that pages people), saying why, and return the new one', async () => {
    const first = (await sink.send(message('raised', undefined, { severity: 'warning' }), signal()))!;
    const before = fake.calls.length;
    const escalated = (await sink.send(message('escalated', first), signal()))!;
    const repeated = (await sink.send(message('repeated', escalated), signal()))!;
    const [e, r] = newCalls(before);
    expect([e?.method, r?.method]).toEqual(['chat.postMessage', 'chat.postMessage']);
    expect(text(e)).toContain('severity raised');
    expect(text(r)).toContain('repeated: still open and not acknowledged');
    expect(text(r)).toContain(ACK_ACTION_ID);
    expect(new Set([first.ts, escalated.ts, repeated.ts]).size).toBe(3);
    expect(repeated).toEqual({ channel: 'CBACKUPS', ts: r!.ts });
  });

  it('a resolution with no message to update is posted; an acknowledgement with none sends nothing', async () => {
    const before = fake.calls.length;
    const resolved = await sink.send(message('resolved', undefined, { status: 'resolved', resolvedAt: clock.now().toISOString() }), signal());
    expect(newCalls(before).map((c) => c.method)).toEqual(['chat.postMessage']);
    expect(resolved).toMatchObject({ channel: 'CBACKUPS' });
    expect(await sink.send(message('acknowledged', undefined, { ackedBy: 'U0ALICE', ackedAt: clock.now().toISOString() }), signal())).toBeUndefined();
    expect(newCalls(before)).toHaveLength(1);
  });

  it('a resolution whose message is gone (deleted) is posted anew', async () => {
    const receipt = (await sink.send(message('raised'), signal()))!;
    fake.fail('chat.update', { error: 'message_not_found' });
    const before = fake.calls.length;
    const resolved = await sink.send(message('resolved', receipt, { status: 'resolved', resolvedAt: clock.now().toISOString() }), signal());
    expect(newCalls(before).map((c) => `${c.method} ${c.answered}`)).toEqual(['chat.update message_not_found', 'chat.postMessage ok']);
    expect(resolved!.ts).not.toBe(receipt.ts);
  });

  it('the implicit sink posts to each runbook’s own channel; a runbook without one is a permanent failure', async () => {
    const channels: Record<string, string> = { orders: '#orders-oncall' };
    const implicit = slackSink({ name: 'slack', token: TOKEN, channelOf: (runbook) => channels[runbook], apiUrl: fake.apiUrl, clock });
    const before = fake.calls.length;
    expect(await implicit.send(message('raised'), signal())).toMatchObject({ channel: 'CORDERSONCALL' });
    expect(newCalls(before)[0]!.body.channel).toBe('#orders-oncall');
    const none = await failure(implicit.send(message('raised', undefined, { runbook: 'billing', key: 'stale:billing' }), signal()));
    expect(none.permanent).toBe(true);
    expect(none.message).toBe('slack sink "slack" (127.0.0.1:' + fake.port + '): no Slack channel for runbook billing (set its alerts.slack, or a channel on the sink)');
  });

  it('Slack refusals no retry can fix are permanent and say what to do; the token is never in the message', async () => {
    for (const [code, hint] of [
      ['not_in_channel', 'invite the bot to the channel'],
      ['channel_not_found', 'no such channel'],
      ['account_inactive', 'deleted user or a disabled app'],
    ] as const) {
      fake.fail('chat.postMessage', { error: code });
      const e = await failure(sink.send(message('raised'), signal()));
      expect(e.permanent, code).toBe(true);
      expect(e.message).toMatch(new RegExp(`^slack sink "oncall-slack" \\(127\\.0\\.0\\.1:${fake.port}\\): chat\\.postMessage to #backups refused: ${code} \\(.+\\)$`));
      expect(e.message).toContain(hint);
      expect(e.message).not.toContain(TOKEN);
    }
    fake.refused.add('xoxb-revoked-token-5678');
    const revoked = slackSink({ name: 'old-slack', token: 'xoxb-revoked-token-5678', channel: '#backups', apiUrl: fake.apiUrl, clock });
    const e = await failure(revoked.send(message('raised'), signal()));
    expect(e.permanent).toBe(true);
    expect(e.message).toBe(`slack sink "old-slack" (127.0.0.1:${fake.port}): chat.postMessage to #backups refused: invalid_auth (the bot token is not valid)`);
    // An update refused the same way is permanent too.
    fake.fail('chat.update', { error: 'channel_not_found' });
    expect((await failure(sink.send(message('resolved', { channel: 'CGONE', ts: '1.1' }, { status: 'resolved' }), signal()))).permanent).toBe(true);
  });

  it('rate limits, 5xx and unknown codes are transient; HTTP 429 passes Retry-After on', async () => {
    fake.fail('chat.postMessage', { status: 429, retryAfter: 7 });
    const limited = await failure(sink.send(message('raised'), signal()));
    expect(limited.permanent).toBe(false);
    expect(limited.retryAfterMs).toBe(7000);
    expect(limited.message).toBe(`slack sink "oncall-slack" (127.0.0.1:${fake.port}): chat.postMessage rate limited (HTTP 429, retry after 7 s)`);

    fake.fail('chat.postMessage', { error: 'ratelimited' });
    expect((await failure(sink.send(message('raised'), signal()))).permanent).toBe(false);
    fake.fail('chat.postMessage', { status: 503 });
    const unavailable = await failure(sink.send(message('raised'), signal()));
    expect(unavailable.permanent).toBe(false);
    expect(unavailable.message).toContain('chat.postMessage answered HTTP 503');
    fake.fail('chat.postMessage', { error: 'internal_error' });
    expect((await failure(sink.send(message('raised'), signal()))).permanent).toBe(false);
    // After the failures, the next send goes through.
    expect(await sink.send(message('raised'), signal())).toMatchObject({ channel: 'CBACKUPS' });
  });

  describe('unreachable or silent Slack', () => {
    let silent: RecordingHttpServer;
    beforeAll(async () => {
      silent = await startRecordingHttp();
      silent.behave('*', 'hang');
    });
    afterAll(async () => {
      await silent?.close();
    });

    it('a refused connection is transient and names the host', async () => {
      const down = await startFakeSlack();
      const url = down.apiUrl;
      const port = down.port;
      await down.close();
      const gone = slackSink({ name: 'oncall-slack', token: TOKEN, channel: '#backups', apiUrl: url, clock });
      const e = await failure(gone.send(message('raised'), signal()));
      expect(e.permanent).toBe(false);
      expect(e.message).toMatch(new RegExp(`^slack sink "oncall-slack" \\(127\\.0\\.0\\.1:${port}\\): chat\\.postMessage failed: ECONNREFUSED`));
    });

    it('a request with no answer times out (transient), and a cancelled one stops at once', async () => {
      const slow = slackSink({ name: 'oncall-slack', token: TOKEN, channel: '#backups', apiUrl: `${silent.url}/api/`, timeoutMs: 300, clock });
      const e = await failure(slow.send(message('raised'), signal()));
      expect(e.permanent).toBe(false);
      expect(e.message).toBe(`slack sink "oncall-slack" (${new URL(silent.url).host}): chat.postMessage failed: no answer within 300 ms`);
      const cancel = new AbortController();
      const sending = slackSink({ name: 'oncall-slack', token: TOKEN, channel: '#backups', apiUrl: `${silent.url}/api/`, timeoutMs: 60_000, clock }).send(message('raised'), cancel.signal);
      await silent.waitFor((r) => r.seq === 2);
      cancel.abort();
      expect((await failure(sending)).message).toContain('chat.postMessage failed: cancelled');
      expect(silent.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    });
  });
});
