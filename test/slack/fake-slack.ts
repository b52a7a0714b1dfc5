/**
 * A local stand-in for Slack: the Web API methods the face and the Slack sink
 * call (answering auth.test, which Bolt calls on the first request, and
 * apps.connections.open with a Socket Mode stand-in's ws:// URL), and
 * response_url endpoints, all recording what they were sent. Failures on
 * demand (`fail`: an `ok:false` code, an HTTP status, Retry-After) and tokens
 * it refuses (`refuse`). Plus signed requests to Bolt's real HTTPReceiver.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  /** Web API method (chat.postMessage), or `response_url` for posts to a response URL. */
  method: string;
  /** For response_url posts, the path's id. */
  responseId?: string;
  body: Record<string, unknown>;
  /** chat.postMessage: the ts the stand-in answered with (what a thread reply must name). */
  ts?: string;
  /** What the stand-in answered: `ok` or the error code / HTTP status it failed with. */
  answered?: string;
}

/** One failure to answer a method with, `times` times (default 1). */
export interface FakeFailure {
  /** An `ok:false` error code (HTTP 200), e.g. not_in_channel, ratelimited. */
  error?: string;
  /** An HTTP status instead (429, 500, 503). */
  status?: number;
  /** Retry-After header, in seconds. */
  retryAfter?: number;
  times?: number;
}

export interface FakeSlackOptions {
  /** Listen on this port (a test that starts Slack late, where an app already points). Default: any free port. */
  port?: number;
  /** What apps.connections.open answers: the Socket Mode stand-in's URL (test/helpers/socket-mode-server.ts). */
  socketUrl?: () => string;
}

export interface FakeSlack {
  apiUrl: string;
  /** A fresh response_url for a request; posts to it are recorded. */
  responseUrl(id: string): string;
  calls: RecordedCall[];
  callsOf(method: string): RecordedCall[];
  groups: { id: string; handle: string; users: string[] }[];
  /** The token a call came with (kept apart from `calls`, which tests search for leaked secrets). */
  tokenOf(call: RecordedCall): string | undefined;
  /** Answer the next call(s) of `method` with a failure. */
  fail(method: string, failure: FakeFailure): void;
  /** Tokens answered with invalid_auth, on every method. */
  refused: Set<string>;
  port: number;
  close(): Promise<void>;
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const calls: RecordedCall[] = [];
  const groups: FakeSlack['groups'] = [];
  const failures = new Map<string, FakeFailure[]>();
  const refused = new Set<string>();
  const tokens = new WeakMap<RecordedCall, string>();
  let ts = 1000;
  const channelId = (c: unknown) => (typeof c === 'string' && c.startsWith('#') ? `C${c.slice(1).toUpperCase().replace(/[^A-Z0-9]/g, '')}` : String(c));
  const server: Server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const body = parseBody(raw, req.headers['content-type'] ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      const answer = (data: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      const response = /^\/response\/(.+)$/.exec(url.pathname);
      if (response) {
        calls.push({ method: 'response_url', responseId: response[1]!, body });
        return answer({ ok: true });
      }
      const method = url.pathname.replace(/^\/api\//, '');
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? (typeof body.token === 'string' ? body.token : undefined);
      const call: RecordedCall = { method, body, answered: 'ok' };
      if (token) tokens.set(call, token);
      calls.push(call);
      if (token && refused.has(token)) {
        call.answered = 'invalid_auth';
        return answer({ ok: false, error: 'invalid_auth' });
      }
      const failure = failures.get(method)?.[0];
      if (failure) {
        if ((failure.times = (failure.times ?? 1) - 1) <= 0) failures.get(method)!.shift();
        call.answered = failure.error ?? String(failure.status);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
        res.writeHead(failure.status ?? 200, headers);
        return res.end(JSON.stringify(failure.error ? { ok: false, error: failure.error } : { ok: false, error: 'http_error' }));
      }
      switch (method) {
        case 'apps.connections.open':
          return answer(options.socketUrl ? { ok: true, url: options.socketUrl() } : { ok: false, error: 'not_allowed_token_type' });
        case 'auth.test':
          return answer({ ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'lifeboat', team_id: 'T000FAKE', user_id: 'UBOT', bot_id: 'BBOT' });
        case 'chat.postMessage':
          call.ts = `${++ts}.000100`;
          return answer({ ok: true, channel: channelId(body.channel), ts: call.ts, message: { text: body.text } });
        case 'chat.update':
          return answer({ ok: true, channel: body.channel, ts: body.ts });
        case 'chat.postEphemeral':
          return answer({ ok: true, message_ts: `${++ts}.000200` });
        case 'usergroups.list':
          return answer({ ok: true, usergroups: groups.map((g) => ({ id: g.id, handle: g.handle })) });
        case 'usergroups.users.list':
          return answer({ ok: true, users: groups.find((g) => g.id === body.usergroup)?.users ?? [] });
        default:
          return answer({ ok: false, error: 'unknown_method' });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  return {
    apiUrl: `${base}/api/`,
    responseUrl: (id) => `${base}/response/${id}`,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    groups,
    tokenOf: (call) => tokens.get(call),
    fail: (method, failure) => failures.set(method, [...(failures.get(method) ?? []), { ...failure }]),
    refused,
    port,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        // Keep-alive connections (undici's pool) would hold close() open, and a test that takes Slack
        // down wants it down now.
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, type: string): Record<string, unknown> {
  if (raw === '') return {};
  if (type.includes('json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = (k === 'blocks' || k === 'attachments') && v.startsWith('[') ? JSON.parse(v) : v;
  }
  return out;
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedPost {
  status: number;
  text: string;
}

/** POST a form-encoded body to Bolt's /slack/events, signed with `secret` at `timestamp` (seconds). */
export async function postSigned(port: number, body: string, options: { secret: string; timestamp?: number; signature?: string }): Promise<SignedPost> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? sign(options.secret, timestamp, body),
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** The form body Slack sends for a slash command. */
export function slashBody(fields: { command: string; text: string; user: string; channel: string; responseUrl: string }): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T000FAKE',
    team_domain: 'fake',
    channel_id: fields.channel,
    channel_name: 'backups',
    user_id: fields.user,
    user_name: fields.user.toLowerCase(),
    command: fields.command,
    text: fields.text,
    api_app_id: 'A000FAKE',
    response_url: fields.responseUrl,
    trigger_id: '1.2.3',
  }).toString();
}

/** The form body Slack sends when a button in a message is pressed. */
export function buttonBody(fields: { actionId: string; value: string; user: string; channel: string; messageTs: string; responseUrl: string }): string {
  const payload = {
    type: 'block_actions',
    team: { id: 'T000FAKE', domain: 'fake' },
    user: { id: fields.user, username: fields.user.toLowerCase(), team_id: 'T000FAKE' },
    api_app_id: 'A000FAKE',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: fields.messageTs, channel_id: fields.channel, is_ephemeral: false },
    trigger_id: '1.2.3',
    channel: { id: fields.channel, name: 'backups' },
    message: { type: 'message', ts: fields.messageTs, text: 'alert' },
    response_url: fields.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: fields.actionId,
        block_id: 'lifeboat_alert_actions',
        text: { type: 'plain_text', text: 'Acknowledge' },
        value: fields.value,
        action_ts: '1700000000.000000',
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
