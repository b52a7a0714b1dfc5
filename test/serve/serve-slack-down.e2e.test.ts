/**
 * serve degrades, never dies, when Slack does: `lifeboat serve` as a real
 * process in Socket Mode, its Web API (SLACK_API_URL) pointed at a port where
 * nothing listens yet. The scheduler still runs a due backup and /metrics
 * shows it; /healthz answers 200 with `slack: disconnected`. When the
 * stand-in comes up on that port, the app connects (backoff, not a restart).
 * A backup the CLI ran while Slack was down raised an alert: it is posted
 * once Slack is up, once.
 * A refused bot token is a clear log line and a /healthz reason, and the
 * scheduler goes on.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { openJsonStore } from '../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { spawnServe, type SpawnedServe } from '../helpers/serve-process.js';
import { startSocketModeServer, type SocketModeServer } from '../helpers/socket-mode-server.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { startFakeSlack, type FakeSlack } from '../slack/fake-slack.js';

const tempDir = useTempDirs('serve-slack-down');
const BOT_TOKEN = 'xoxb-slack-down-test';
const APP_TOKEN = 'xapp-slack-down-test';
const cleanup: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  await ensureCliBuilt();
}, 120_000);

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const dir = await tempDir();
  const runbooks = join(dir, 'runbooks');
  const home = join(dir, 'home');
  await mkdir(runbooks);
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'a.txt'), 'hello from serve\n'.repeat(500));
  const file = writePipelineRunbook(runbooks, 'demo', { sources: [{ name: 'files', path: join(dir, 'data') }], repo: join(dir, 'repo') });
  const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  doc.schedule = { backup: '*/2 * * * * *', timezone: 'UTC' };
  doc.alerts = { slack: '#backups' };
  await writeFile(file, stringify(doc));
  const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks });
  const init = await runCli(['init', 'demo'], { env, cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  return { dir, home, env };
}

function serveIn(t: { dir: string; env: Record<string, string> }, apiUrl: string): SpawnedServe {
  const served = spawnServe({ cwd: t.dir, args: ['--metrics-port', '0'], env: { ...t.env, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: apiUrl } });
  cleanup.push(() => {
    if (served.child.exitCode === null) served.child.kill('SIGKILL');
  });
  return served;
}

async function succeededBackups(home: string): Promise<number> {
  const store = await openJsonStore(home);
  try {
    return (await store.listRuns({ runbook: 'demo' })).filter((r) => r.status === 'succeeded').length;
  } finally {
    await store.close();
  }
}

const health = async (url: string) => {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('serve with Slack down', () => {
  it('runs scheduled backups and serves /metrics while Slack is unreachable, says so on /healthz (200), and connects once Slack is up', async () => {
    const t = await setup();
    // A port where nothing listens: the stand-in is started there later.
    const probe = await startFakeSlack();
    const port = probe.port;
    await probe.close();

    const served = serveIn(t, `http://127.0.0.1:${port}/api/`);
    const url = (await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/))[1]!;
    await expect.poll(() => succeededBackups(t.home), { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^lifeboat_backup_last_success_timestamp_seconds\{runbook="demo"\} \d/m);

    // A backup started from the CLI fails while Slack is down: its critical alert waits in the outbox.
    const brokenFile = writePipelineRunbook(join(t.dir, 'runbooks'), 'broken', { sources: [{ name: 'files', path: join(t.dir, 'missing') }], repo: join(t.dir, 'repo-broken') });
    const brokenDoc = parse(await readFile(brokenFile, 'utf8')) as Record<string, unknown>;
    brokenDoc.alerts = { slack: '#backups' };
    await writeFile(brokenFile, stringify(brokenDoc));
    expect((await runCli(['init', 'broken'], { env: t.env, cwd: t.dir })).code).toBe(0);
    const failed = await runCli(['backup', 'broken'], { env: t.env, cwd: t.dir });
    expect(failed.code, failed.stderr).toBe(1);
    const alertPosts = (f: FakeSlack) => f.callsOf('chat.postMessage').filter((c) => JSON.stringify(c).includes('broken'));

    await served.waitFor(/Slack unreachable: cannot verify the bot token with Slack \(auth\.test\): .*; retrying in/, 30_000);
    const down = await health(url);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ status: 'ok', slack: 'disconnected', slackReason: expect.stringContaining('auth.test') });
    expect(served.child.exitCode).toBeNull();

    // Slack comes up where serve has been trying: it connects without a restart.
    const socket: SocketModeServer = await startSocketModeServer();
    cleanup.push(() => socket.close());
    const fake: FakeSlack = await startFakeSlack({ port, socketUrl: () => socket.url() });
    cleanup.push(() => fake.close());
    await socket.waitForConnections(1, 90_000);
    await served.waitFor(/Slack app running \(Socket Mode\)/, 30_000);
    await expect.poll(async () => (await health(url)).body.slack, { timeout: 10_000 }).toBe('connected');
    expect((await health(url)).status).toBe(200);
    // The alert raised while Slack was down is posted once Slack answers, once.
    await expect.poll(() => alertPosts(fake).length, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 2_000)); // two more outbox rounds: nothing posts it again
    expect(alertPosts(fake)).toHaveLength(1);
    expect(JSON.stringify(alertPosts(fake)[0])).toContain('#backups');

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).not.toContain(BOT_TOKEN);
  }, 150_000);

  it('a refused bot token is a clear log line and a /healthz reason; the scheduler goes on', async () => {
    const t = await setup();
    const fake = await startFakeSlack();
    cleanup.push(() => fake.close());
    fake.refused.add(BOT_TOKEN);

    const served = serveIn(t, fake.apiUrl);
    const url = (await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/))[1]!;
    await served.waitFor(/Slack refused: cannot verify the bot token with Slack \(auth\.test\): Slack refused SLACK_BOT_TOKEN: invalid_auth; retrying in 5m/);
    const refused = await health(url);
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ status: 'ok', slack: 'disconnected', slackReason: expect.stringContaining('Slack refused SLACK_BOT_TOKEN: invalid_auth') });
    await expect.poll(() => succeededBackups(t.home), { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(1);
    // Retried slowly: one auth.test so far, not one a second.
    expect(fake.callsOf('auth.test')).toHaveLength(1);

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).not.toContain(BOT_TOKEN);
  }, 90_000);
});
