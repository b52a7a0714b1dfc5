/** The ntfy sink against a recording HTTP server: topic path, headers, priority by severity and transition, token. */
import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../../../src/core/index.js';
import { ntfySink } from '../../../../src/core/notify/sinks/ntfy.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../../helpers/recording-http.js';
import { alertMessage, never } from './message.js';

let server: RecordingHttpServer | undefined;
afterEach(async () => server?.close());

describe('ntfy sink', () => {
  it('POSTs the message to <url>/<topic> with Title, Priority, Tags and the Bearer token', async () => {
    server = await startRecordingHttp();
    const sink = ntfySink({ name: 'phone', url: `${server.url}/`, topic: 'lifeboat-ops', token: 'tk_secret123' });
    await sink.send(alertMessage('raised'), never);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/lifeboat-ops');
    expect(request?.headers.title).toBe('CRITICAL app-data: backup of app-data failed: source uploads: ENOENT /srv/uploads');
    expect(request?.headers.priority).toBe('5');
    expect(request?.headers.tags).toBe('rotating_light,app-data,backup-failed');
    expect(request?.headers.authorization).toBe('Bearer tk_secret123');
    expect(request?.body.split('\n')[0]).toBe('backup of app-data failed: source uploads: ENOENT /srv/uploads');
    expect(request?.body).toContain('alert key:  backup-failed:app-data');
  });

  it('rings by severity, and softly for a resolution or an acknowledgement', async () => {
    server = await startRecordingHttp();
    const sink = ntfySink({ name: 'phone', url: server.url, topic: 't' });
    await sink.send(alertMessage('raised', { severity: 'warning' }), never);
    await sink.send(alertMessage('repeated', { severity: 'info' }), never);
    await sink.send(alertMessage('acknowledged', { ackedBy: 'alice' }), never);
    await sink.send(alertMessage('resolved'), never);
    expect(server.requests.map((r) => [r.headers.priority, r.headers.title?.toString().split(' app-data')[0]])).toEqual([
      ['4', 'WARNING'],
      ['3', 'INFO (still open)'],
      ['2', 'ACKNOWLEDGED'],
      ['2', 'RESOLVED'],
    ]);
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('403 (a wrong token) is permanent and the message keeps the token out', async () => {
    server = await startRecordingHttp();
    server.behave('/t', { status: 403, body: 'token tk_secret123 is not allowed' });
    const e = await ntfySink({ name: 'phone', url: server.url, topic: 't', token: 'tk_secret123' }).send(alertMessage(), never).catch((err: unknown) => err);
    expect((e as SinkError).permanent).toBe(true);
    expect((e as SinkError).message).toBe(`ntfy sink "phone" (${new URL(server.url).host}): answered HTTP 403: token [redacted] is not allowed`);
  });
});
