/**
 * Socket Mode, the production default, end to end: `lifeboat serve` as a real
 * process with SLACK_APP_TOKEN and SLACK_BOT_TOKEN, its Web API pointed
 * (SLACK_API_URL) at the recording stand-in, which answers
 * apps.connections.open with the ws:// URL of a local Socket Mode stand-in
 * (test/helpers/socket-mode-server.ts). A slash command and an Acknowledge
 * button arrive as envelopes and are acknowledged over the socket within
 * Slack's 3 s; the command runs, the alert is acknowledged in the store. The
 * socket dropped, and a refresh asked for: the app opens a new connection
 * each time, and the next command works.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { openJsonStore } from '../../src/core/store/index.js';
import { ACK_ACTION_ID } from '../../src/core/index.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { spawnServe, type SpawnedServe } from '../helpers/serve-process.js';
import { startSocketModeServer, type SocketModeServer } from '../helpers/socket-mode-server.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';

const tempDir = useTempDirs('socket-mode');
const USER = 'U0ALLOWED';
const CHANNEL = 'CBACKUPS';
const BOT_TOKEN = 'xoxb-socket-mode-test';
const APP_TOKEN = 'xapp-socket-mode-test';
let fake: FakeSlack;
let socket: SocketModeServer;
let served: SpawnedServe | undefined;

beforeAll(async () => {
  await ensureCliBuilt();
  socket = await startSocketModeServer();
  fake = await startFakeSlack({ socketUrl: () => socket.url() });
}, 120_000);

afterAll(async () => {
  if (served && served.child.exitCode === null) served.child.kill('SIGKILL');
  await socket?.close();
  await fake?.close();
});

/** The envelope Slack sends for a slash command. */
const slashPayload = (text: string, responseId: string) => ({
  token: 'deprecated-verification-token',
  team_id: 'T000FAKE',
  team_domain: 'fake',
  channel_id: CHANNEL,
  channel_name: 'backups',
  user_id: USER,
  user_name: 'allowed',
  command: '/backup',
  text,
  api_app_id: 'A000FAKE',
  is_enterprise_install: 'false',
  response_url: fake.responseUrl(responseId),
  trigger_id: '1.2.3',
});

/** The envelope Slack sends when the alert's Acknowledge button is pressed. */
const buttonPayload = (key: string, responseId: string) => ({
  type: 'block_actions',
  team: { id: 'T000FAKE', domain: 'fake' },
  user: { id: USER, username: 'allowed', team_id: 'T000FAKE' },
  api_app_id: 'A000FAKE',
  token: 'deprecated-verification-token',
  container: { type: 'message', message_ts: '1700000000.000100', channel_id: CHANNEL, is_ephemeral: false },
  trigger_id: '1.2.3',
  channel: { id: CHANNEL, name: 'backups' },
  message: { type: 'message', ts: '1700000000.000100', text: 'alert' },
  response_url: fake.responseUrl(responseId),
  actions: [{ type: 'button', action_id: ACK_ACTION_ID, block_id: 'lifeboat_alert_actions', text: { type: 'plain_text', text: 'Acknowledge' }, value: key, action_ts: '1700000000.000000' }],
});

const responses = (id: string) => fake.calls.filter((c) => c.method === 'response_url' && c.responseId === id);

describe('Socket Mode against a local Socket Mode server', () => {
  it('acks a slash command and a button over the socket, runs them, and reconnects after a drop and after a refresh', async () => {
    const dir = await tempDir();
    const runbooks = join(dir, 'runbooks');
    const home = join(dir, 'home');
    await mkdir(runbooks);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'report.txt'), 'quarterly numbers\n'.repeat(500));
    const file = writePipelineRunbook(runbooks, 'demo', { sources: [{ name: 'files', path: join(dir, 'data') }], repo: join(dir, 'repo') });
    const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    doc.alerts = { slack: '#backups' };
    doc.access = { backup: [USER], drill: [USER] };
    await writeFile(file, stringify(doc));
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks });
    expect((await runCli(['init', 'demo'], { env, cwd: dir })).code).toBe(0);

    served = spawnServe({ cwd: dir, args: ['--metrics-port', '0'], env: { ...env, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_API_URL: fake.apiUrl } });
    await served.waitFor(/Slack app running \(Socket Mode\)/);
    await socket.waitForConnections(1);
    // The socket's URL came from apps.connections.open, asked with the app-level token.
    const opens = () => fake.callsOf('apps.connections.open');
    expect(opens().map((c) => fake.tokenOf(c))).toEqual([APP_TOKEN]);
    const metricsUrl = (await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/))[1]!;
    expect(await (await fetch(`${metricsUrl}/healthz`)).json()).toMatchObject({ status: 'ok', slack: 'connected' });

    // A slash command: acked over the socket within 3 s, then run (one message, updated in place).
    const ack = await socket.send('slash_commands', slashPayload('demo', 'backup-1'));
    expect(Object.keys(ack)).toContain('envelope_id');
    await expect.poll(() => fake.callsOf('chat.update').some((c) => /^\/backup demo: backed up demo/.test(String(c.body.text))), { timeout: 30_000, interval: 200 }).toBe(true);
    const store = await openJsonStore(home);
    try {
      expect((await store.listRuns({ runbook: 'demo' }))[0]).toMatchObject({ status: 'succeeded', actor: { face: 'slack', user: USER } });

      // The Acknowledge button of an open alert: acked over the socket, and the alert acknowledged in the store.
      const now = new Date().toISOString();
      await store.putAlert({ key: 'stale:demo', runbook: 'demo', rule: 'stale', severity: 'critical', message: 'last successful backup 27h ago, RPO 26h', firstSeen: now, lastSeen: now, count: 1, status: 'open' });
      await socket.send('interactive', buttonPayload('stale:demo', 'ack-1'));
      await expect.poll(async () => (await store.getAlert('stale:demo'))?.ackedBy, { timeout: 15_000, interval: 200 }).toBe(USER);
      expect(responses('ack-1')).toEqual([]);
    } finally {
      await store.close();
    }

    // The socket dropped: the app asks for a new URL and connects again; the next command works.
    socket.drop();
    await socket.waitForConnections(2);
    expect(opens()).toHaveLength(2);
    await served.waitFor(/Slack connected again \(Socket Mode\)/);
    await socket.send('slash_commands', slashPayload('list', 'list-2'));
    await expect.poll(() => responses('list-2').length, { timeout: 15_000, interval: 100 }).toBe(1);
    expect(JSON.stringify(responses('list-2')[0]!.body)).toContain('demo');

    // Slack asks for a refresh: the app closes that socket and opens another; commands still work.
    socket.requestRefresh();
    await socket.waitForConnections(3);
    await expect.poll(() => socket.connections[1]!.closed, { timeout: 10_000 }).toBe(true);
    expect(opens()).toHaveLength(3);
    await socket.send('slash_commands', slashPayload('list', 'list-3'));
    await expect.poll(() => responses('list-3').length, { timeout: 15_000, interval: 100 }).toBe(1);

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).not.toContain(BOT_TOKEN);
    expect(served.output()).not.toContain(APP_TOKEN);
  }, 120_000);
});
