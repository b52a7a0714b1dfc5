/** The PagerDuty sink (Events API v2) against a recording HTTP server: trigger, re-trigger, acknowledge, resolve on one dedup key. */
import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../../../src/core/index.js';
import { pagerDutySink } from '../../../../src/core/notify/sinks/pagerduty.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../../helpers/recording-http.js';
import { alertMessage, never } from './message.js';

let server: RecordingHttpServer | undefined;
afterEach(async () => server?.close());

const ROUTING_KEY = 'R0123456789abcdef0123456789abcdef';

describe('pagerduty sink', () => {
  it('triggers with the alert key as dedup_key, triggers again on a repeat or escalation, then acknowledges and resolves', async () => {
    server = await startRecordingHttp();
    server.behave('*', { status: 202, body: '{"status":"success","message":"Event processed"}' });
    const sink = pagerDutySink({ name: 'pager', routingKey: ROUTING_KEY, url: `${server.url}/v2/enqueue`, host: 'backup-01' });
    for (const t of ['raised', 'escalated', 'repeated', 'acknowledged', 'resolved'] as const) await sink.send(alertMessage(t), never);
    const events = server.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(server.requests.every((r) => r.path === '/v2/enqueue' && r.headers['content-type'] === 'application/json')).toBe(true);
    expect(events.map((e) => [e.event_action, e.dedup_key, e.routing_key])).toEqual([
      ['trigger', 'backup-failed:app-data', ROUTING_KEY],
      ['trigger', 'backup-failed:app-data', ROUTING_KEY],
      ['trigger', 'backup-failed:app-data', ROUTING_KEY],
      ['acknowledge', 'backup-failed:app-data', ROUTING_KEY],
      ['resolve', 'backup-failed:app-data', ROUTING_KEY],
    ]);
    expect(events[0]?.payload).toEqual({
      summary: 'CRITICAL app-data: backup of app-data failed: source uploads: ENOENT /srv/uploads',
      source: 'backup-01',
      severity: 'critical',
      component: 'app-data',
      class: 'backup-failed',
      timestamp: '2026-12-06T03:00:00.000Z',
      custom_details: {
        message: 'backup of app-data failed: source uploads: ENOENT /srv/uploads',
        transition: 'raised',
        firstSeen: '2026-12-06T02:00:00.000Z',
        lastSeen: '2026-12-06T03:00:00.000Z',
        count: 2,
        idempotencyKey: '01JDELIVERYRAISED',
      },
    });
  });

  it('an invalid event (400) is permanent, a 429 or 503 transient; the routing key is never in the message', async () => {
    server = await startRecordingHttp();
    const sink = pagerDutySink({ name: 'pager', routingKey: ROUTING_KEY, url: `${server.url}/v2/enqueue`, host: 'h' });
    server.behave('/v2/enqueue', { status: 400, body: `{"status":"invalid event","errors":["routing_key ${ROUTING_KEY} unknown"]}` });
    const invalid = (await sink.send(alertMessage(), never).catch((e: unknown) => e)) as SinkError;
    expect(invalid.permanent).toBe(true);
    expect(invalid.message).toContain('pagerduty sink "pager" (127.0.0.1:');
    expect(invalid.message).not.toContain(ROUTING_KEY);
    for (const status of [429, 503]) {
      server.behave('/v2/enqueue', { status });
      const e = (await sink.send(alertMessage(), never).catch((err: unknown) => err)) as SinkError;
      expect([e.name, e.permanent]).toEqual(['SinkError', false]);
    }
  });
});
