/**
 * Alerts reach people wherever they were raised (issue 17, "Must show"), with
 * real processes and real protocols on loopback:
 *
 * - a CLI backup fails while `lifeboat serve` runs with Slack (the Web API
 *   stand-in, HTTP mode) and a webhook (a recording HTTP server): both get the
 *   alert within 5 s, once, though the CLI and serve could both deliver it;
 * - sinks down for a while (Slack refusing connections, the webhook answering
 *   500, SMTP answering 451), serve SIGKILLed between attempts and started
 *   again, then the sinks back: every delivery arrives once, raised before
 *   resolved for each sink;
 * - a critical alert repeated after the repeat interval (LIFEBOAT_TEST_NOW,
 *   src/core/clock.ts), and PagerDuty's resolve once the alert resolves.
 *
 * The runbook backs up a folder that does not exist yet (the backup fails:
 * failed-run, critical); creating it makes the next backup succeed (resolved).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openJsonStore, type DeliveryRecord } from '../../src/core/index.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { startRecordingHttp, type RecordedRequest, type RecordingHttpServer } from '../helpers/recording-http.js';
import { spawnServe, type SpawnedServe } from '../helpers/serve-process.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { startFakeSlack, type FakeSlack } from '../slack/fake-slack.js';

const tempDir = useTempDirs('alert-delivery');
const PASSWORD = 'alert delivery tests';
const HOOK_SECRET = 'webhook-signing-secret-for-tests';
const PD_KEY = 'pagerduty-routing-key-for-tests';
const SLACK_TOKEN = 'xoxb-alert-delivery-tests';

/** What a test stops when it ends, whatever happened. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  await ensureCliBuilt();
}, 120_000);

afterEach(async () => {
  for (const stop of cleanups.splice(0).reverse()) await Promise.resolve(stop()).catch(() => undefined);
});

interface Place {
  dir: string;
  home: string;
  /** The folder the runbook backs up: missing, the backup fails; created, it succeeds. */
  source: string;
  env: Record<string, string>;
}

/** A runbook `ledger` (no schedule: serve runs nothing on its own), a lifeboat.yaml with `config`, and the environment both processes get. */
async function place(config: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<Place> {
  const dir = await tempDir();
  const home = join(dir, 'home');
  const runbooks = join(dir, 'runbooks');
  const source = join(dir, 'ledger-data');
  await mkdir(runbooks);
  await writeFile(
    join(runbooks, 'ledger.yaml'),
    stringify({
      name: 'ledger',
      owner: '@lifeboat-tests',
      sources: [{ name: 'data', path: source }],
      repository: { hot: { url: `file://${join(dir, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      objectives: { rpo: '26h', rto: '5m' },
    }),
  );
  await writeFile(join(dir, 'lifeboat.yaml'), stringify(config));
  const env = {
    LIFEBOAT_HOME: home,
    LIFEBOAT_RUNBOOKS: runbooks,
    LIFEBOAT_PASSWORD: PASSWORD,
    LIFEBOAT_CONFIG: join(dir, 'lifeboat.yaml'),
    HOOK_SECRET,
    PD_KEY,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    ...extraEnv,
  };
  const init = await runCli(['init', 'ledger'], { env, cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  return { dir, home, source, env };
}

async function cli(p: Place, args: string[], env: Record<string, string> = {}) {
  return runCli(args, { env: { ...p.env, ...env }, cwd: p.dir });
}

/** serve with Slack in HTTP mode against the stand-in; returns once it runs. Killed at the end of the test. */
async function startServe(p: Place, slackApiUrl: string): Promise<SpawnedServe> {
  const served = spawnServe({
    cwd: p.dir,
    args: ['--port', '0', '--metrics-port', 'off'],
    env: { ...p.env, SLACK_SIGNING_SECRET: 'alert-delivery-signing-secret', SLACK_API_URL: slackApiUrl },
  });
  cleanups.push(() => killed(served.child));
  await served.waitFor(/scheduler running/);
  return served;
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** The outbox as the store has it (through its own API, as any process would read it). */
async function deliveries(home: string): Promise<DeliveryRecord[]> {
  const store = await openJsonStore(home);
  try {
    return await store.listDeliveries({});
  } finally {
    await store.close();
  }
}

/** Polls `probe` until it returns something (not undefined), for at most `timeoutMs`; fails naming `what`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const slackPostsOf = (slack: FakeSlack, key: string) => slack.callsOf('chat.postMessage').filter((c) => c.answered === 'ok' && String(c.body.text ?? '').includes(key));
const slackUpdatesOf = (slack: FakeSlack, key: string) => slack.callsOf('chat.update').filter((c) => c.answered === 'ok' && String(c.body.text ?? '').includes(key));

/** Requests to `path` that were answered 2xx and carry `key`. */
function received(server: RecordingHttpServer, path: string, key: string): RecordedRequest[] {
  return server.requests.filter((r) => r.pathname === path && typeof r.answered === 'number' && r.answered < 300 && r.body.includes(key));
}

/** A port that was free a moment ago and has nothing listening on it (connection refused). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Mail {
  subject: string;
  raw: string;
}

/** A real SMTP server (smtp-server) on loopback that answers 451 to every recipient while `refusing`. */
async function startSmtp(): Promise<{ port: number; mails: Mail[]; refusing: boolean; refusals: number; close(): Promise<void> }> {
  const state = { refusing: false, refusals: 0, mails: [] as Mail[] };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!state.refusing) return callback();
      state.refusals++;
      const busy = Object.assign(new Error('mailbox busy, try again later'), { responseCode: 451 });
      callback(busy);
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        state.mails.push({ subject: /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '', raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    get mails() {
      return state.mails;
    },
    get refusing() {
      return state.refusing;
    },
    set refusing(v: boolean) {
      state.refusing = v;
    },
    get refusals() {
      return state.refusals;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** serve with a Slack stand-in and a signed webhook, both routed every alert of `ledger`. */
async function serveWithSlackAndHook() {
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const hook = await startRecordingHttp();
  cleanups.push(() => hook.close());
  const p = await place({
    notify: {
      'oncall-slack': { type: 'slack', channel: '#backups' },
      hook: { type: 'webhook', url: `${hook.url}/lifeboat`, secret: { env: 'HOOK_SECRET' } },
    },
    alerts: { notify: ['oncall-slack', 'hook'] },
  }, { SLACK_API_URL: slack.apiUrl });
  await startServe(p, slack.apiUrl);
  return { slack, hook, p };
}

/** Within 5 s, the Slack stand-in and the webhook both have the alert. */
async function bothReceive(slack: FakeSlack, hook: RecordingHttpServer, key: string): Promise<void> {
  await eventually('the Slack post of the alert', () => (slackPostsOf(slack, key).length > 0 ? true : undefined), 5000);
  await eventually('the webhook call of the alert', () => (received(hook, '/lifeboat', key).length > 0 ? true : undefined), 5000);
}

/** The alert's two deliveries, once the store records both delivered. */
function bothDelivered(home: string, key: string) {
  return eventually(
    'both deliveries recorded as delivered',
    async () => {
      const all = (await deliveries(home)).filter((d) => d.alertKey === key);
      return all.length === 2 && all.every((d) => d.status === 'delivered') ? all : undefined;
    },
    10_000,
  );
}

describe('a CLI backup fails while serve runs with Slack and a webhook', () => {
  it('both get the alert within 5 s, and each gets it once though the CLI and serve could both deliver', async () => {
    const { slack, hook, p } = await serveWithSlackAndHook();

    const failed = await cli(p, ['backup', 'ledger']);
    expect(failed.code, failed.stderr).toBe(1);
    const key = 'failed-run:ledger';
    // Within 5 s of the failing command's end, both have it.
    await bothReceive(slack, hook, key);

    // Once the store says every delivery is done, nobody sends it again: count what arrived.
    const done = await bothDelivered(p.home, key);
    expect(done.map((d) => d.sink).sort()).toEqual(['hook', 'oncall-slack']);
    expect(slackPostsOf(slack, key)).toHaveLength(1);
    expect(received(hook, '/lifeboat', key)).toHaveLength(1);
    const call = received(hook, '/lifeboat', key)[0]!;
    expect(JSON.parse(call.body)).toBeTypeOf('object');
    // Signed and idempotent: a signature header (never the secret itself) and an idempotency key.
    expect(Object.keys(call.headers).some((h) => /signature/i.test(h))).toBe(true);
    expect(Object.keys(call.headers).some((h) => /idempotency/i.test(h))).toBe(true);
    expect(JSON.stringify(call.headers) + call.body).not.toContain(HOOK_SECRET);

    // `lifeboat alerts --deliveries` shows them delivered.
    const shown = await cli(p, ['alerts', '--deliveries']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/delivered/);
  });
});

describe('a cron CLI without the sinks\' secrets', () => {
  it('raises the alert; serve, which has them, delivers it within 5 s', async () => {
    const { slack, hook, p } = await serveWithSlackAndHook();

    // The issue's case: the process that raised the alert cannot post it.
    const { SLACK_BOT_TOKEN: _token, HOOK_SECRET: _secret, ...cronEnv } = p.env;
    const failed = await runCli(['backup', 'ledger'], { env: cronEnv, cwd: p.dir });
    expect(failed.code, failed.stderr).toBe(1);
    const key = 'failed-run:ledger';
    await bothReceive(slack, hook, key);
    const done = await bothDelivered(p.home, key);
    expect(done.map((d) => d.sink).sort()).toEqual(['hook', 'oncall-slack']);
    // Sent by serve: with the bot token and a signature only serve holds the secrets for.
    const [post] = slackPostsOf(slack, key);
    expect(slackPostsOf(slack, key)).toHaveLength(1);
    expect(slack.tokenOf(post!)).toBe(SLACK_TOKEN);
    const calls = received(hook, '/lifeboat', key);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers['x-lifeboat-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});

describe('sinks down for a while, serve killed between attempts', () => {
  it('every delivery arrives once, raised before resolved at each sink, none lost across a SIGKILL', async () => {
    const slackPort = await freePort();
    const slackApiUrl = `http://127.0.0.1:${slackPort}/api/`;
    const hook = await startRecordingHttp();
    cleanups.push(() => hook.close());
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    hook.behave('/lifeboat', { status: 500 });
    smtp.refusing = true;
    const p = await place({
      notify: {
        'oncall-slack': { type: 'slack', channel: '#backups' },
        hook: { type: 'webhook', url: `${hook.url}/lifeboat`, secret: { env: 'HOOK_SECRET' } },
        mail: { type: 'email', smtp: { host: '127.0.0.1', port: smtp.port, secure: false }, from: 'lifeboat@example.com', to: ['oncall@example.com'] },
      },
      alerts: { notify: ['oncall-slack', 'hook', 'mail'] },
    }, { SLACK_API_URL: slackApiUrl });
    const key = 'failed-run:ledger';

    // Slack refuses connections (nothing listens), the webhook answers 500, SMTP 451.
    const first = await startServe(p, slackApiUrl);
    expect((await cli(p, ['backup', 'ledger'])).code).toBe(1);
    // Every sink has been tried at least once and has an error on record; nothing was delivered.
    await eventually(
      'an attempt at every sink',
      async () => {
        const all = (await deliveries(p.home)).filter((d) => d.alertKey === key);
        return all.length === 3 && all.every((d) => d.attempts >= 1 && d.lastError !== undefined && d.status === 'pending') ? all : undefined;
      },
      20_000,
    );
    expect(hook.requests.some((r) => r.pathname === '/lifeboat' && r.answered === 500)).toBe(true);
    expect(smtp.refusals).toBeGreaterThan(0);
    expect(smtp.mails).toHaveLength(0);

    // serve dies between attempts; the condition clears meanwhile (the folder appears, a backup succeeds).
    await killed(first.child);
    await mkdir(p.source);
    await writeFile(join(p.source, 'ledger.csv'), 'id,amount\n1,100\n');
    // The sinks are still down while the CLI tries at its end: the resolved messages wait too.
    const ok = await cli(p, ['backup', 'ledger']);
    expect(ok.code, ok.stderr).toBe(0);
    await eventually(
      'the resolved transition in the outbox',
      async () => ((await deliveries(p.home)).filter((d) => d.alertKey === key && d.transition === 'resolved').length === 3 ? true : undefined),
      5000,
    );

    // The sinks come back, and serve starts again: it delivers everything, once, in order.
    const slack = await startFakeSlack({ port: slackPort });
    cleanups.push(() => slack.close());
    hook.behave('/lifeboat');
    smtp.refusing = false;
    await startServe(p, slackApiUrl);
    const all = await eventually(
      'all six deliveries delivered',
      async () => {
        const mine = (await deliveries(p.home)).filter((d) => d.alertKey === key);
        return mine.length === 6 && mine.every((d) => d.status === 'delivered') ? mine : undefined;
      },
      60_000,
    );
    expect(all.map((d) => `${d.sink} ${d.transition}`).sort()).toEqual(
      ['hook raised', 'hook resolved', 'mail raised', 'mail resolved', 'oncall-slack raised', 'oncall-slack resolved'],
    );

    // Slack: posted once, then updated in place once.
    expect(slackPostsOf(slack, key)).toHaveLength(1);
    expect(slackUpdatesOf(slack, key)).toHaveLength(1);
    expect(slack.calls.indexOf(slackPostsOf(slack, key)[0]!)).toBeLessThan(slack.calls.indexOf(slackUpdatesOf(slack, key)[0]!));
    expect(slackUpdatesOf(slack, key)[0]!.body.ts).toBe(slackPostsOf(slack, key)[0]!.ts);

    // Webhook: raised then resolved, each once (the 500s before do not count: they were not taken).
    const hooks = received(hook, '/lifeboat', key);
    expect(hooks.map((r) => transitionOf(r.body))).toEqual(['raised', 'resolved']);
    // Each retry of one delivery carries the same idempotency key.
    const idOf = (r: RecordedRequest) => Object.entries(r.headers).find(([h]) => /idempotency/i.test(h))?.[1];
    const refusedRaised = hook.requests.filter((r) => r.pathname === '/lifeboat' && r.answered === 500 && r.body.includes(key));
    for (const r of refusedRaised) expect(idOf(r)).toBe(idOf(hooks[0]!));

    // Email: two mails, the raised one first.
    // The subject names the runbook (an encoded-word keeps ASCII letters as they are).
    const mails = smtp.mails.filter((m) => m.subject.includes('ledger'));
    expect(mails).toHaveLength(2);
    expect(mails[0]!.subject).not.toMatch(/resolved/i);
    expect(mails[1]!.subject).toMatch(/resolved/i);
  });
});

describe('repeat and PagerDuty', () => {
  it('repeats an open critical alert after the repeat interval, and resolves the PagerDuty incident when it clears', async () => {
    const pd = await startRecordingHttp();
    cleanups.push(() => pd.close());
    const hook = await startRecordingHttp();
    cleanups.push(() => hook.close());
    const p = await place({
      notify: {
        pager: { type: 'pagerduty', routingKey: { env: 'PD_KEY' }, url: `${pd.url}/v2/enqueue` },
        hook: { type: 'webhook', url: `${hook.url}/lifeboat` },
      },
      alerts: { repeat: '1h', notify: [{ sink: 'pager', severity: 'critical' }, 'hook'] },
    });
    const key = 'failed-run:ledger';
    const at = (iso: string) => ({ LIFEBOAT_TEST_NOW: iso });

    // 08:00 the backup fails: raised. The CLI delivers at its end.
    expect((await cli(p, ['backup', 'ledger'], at('2026-03-10T08:00:00Z'))).code).toBe(1);
    await eventually('the PagerDuty trigger', () => (received(pd, '/v2/enqueue', key).length === 1 ? true : undefined), 10_000);

    // 08:30 it fails again: the same condition, inside the interval: nobody is told again.
    expect((await cli(p, ['backup', 'ledger'], at('2026-03-10T08:30:00Z'))).code).toBe(1);
    // 09:05, past the hour since people were told: repeated, to both sinks.
    expect((await cli(p, ['backup', 'ledger'], at('2026-03-10T09:05:00Z'))).code).toBe(1);
    await eventually('the repeated trigger', () => (received(pd, '/v2/enqueue', key).length === 2 ? true : undefined), 10_000);
    await eventually('the repeated webhook call', () => (received(hook, '/lifeboat', key).length === 2 ? true : undefined), 10_000);
    const transitions = (await deliveries(p.home)).filter((d) => d.alertKey === key && d.sink === 'hook').map((d) => d.transition);
    expect(transitions.sort()).toEqual(['raised', 'repeated']);
    expect(hook.requests.filter((r) => r.body.includes(key)).map((r) => transitionOf(r.body))).toEqual(['raised', 'repeated']);

    // 09:20 the folder exists and the backup succeeds: resolved; PagerDuty gets a resolve with the same dedup key.
    await mkdir(p.source);
    await writeFile(join(p.source, 'ledger.csv'), 'id,amount\n1,100\n');
    expect((await cli(p, ['backup', 'ledger'], at('2026-03-10T09:20:00Z'))).code).toBe(0);
    const events = await eventually(
      'the PagerDuty resolve',
      () => {
        const got = received(pd, '/v2/enqueue', key).map((r) => JSON.parse(r.body) as { event_action: string; dedup_key: string; routing_key: string });
        return got.length === 3 ? got : undefined;
      },
      10_000,
    );
    expect(events.map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'resolve']);
    for (const e of events) expect(e).toMatchObject({ dedup_key: key, routing_key: PD_KEY });
  });
});

/** The transition a webhook body tells of: the value of its `transition` field, wherever it sits. */
function transitionOf(body: string): string | undefined {
  const find = (v: unknown): string | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    const record = v as Record<string, unknown>;
    if (typeof record.transition === 'string') return record.transition;
    for (const inner of Object.values(record)) {
      const found = find(inner);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return find(JSON.parse(body));
}
