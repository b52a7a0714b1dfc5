/**
 * `lifeboat serve` with Slack configured, as a child process: Bolt's real
 * HTTP receiver on loopback, the Web API pointed (SLACK_API_URL) at a local
 * stand-in that records every call. A scheduled drill is announced
 * `drill.announce` before it starts, its result lands in the announcement's
 * thread, and a signed slash command reaches the same process.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { startServeWithSlack } from '../helpers/serve-process.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { postSigned, slashBody, startFakeSlack, type FakeSlack } from '../slack/fake-slack.js';

const tempDir = useTempDirs('serve-slack');
const SECRET = 'serve-slack-signing-secret';
let fake: FakeSlack;
let child: ChildProcess | undefined;

beforeAll(async () => {
  await ensureCliBuilt();
  fake = await startFakeSlack();
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await fake.close();
});

const text = (call: { body: Record<string, unknown> } | undefined) => String(call?.body.text ?? '');

describe('lifeboat serve with Slack', () => {
  it('announces a scheduled drill before it starts and posts its RTO in the announcement thread; slash commands reach the same process', async () => {
    const dir = await tempDir();
    const runbooks = join(dir, 'runbooks');
    const home = join(dir, 'home');
    await mkdir(runbooks);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'report.txt'), 'quarterly numbers\n'.repeat(2000));
    const file = writePipelineRunbook(runbooks, 'demo', { sources: [{ name: 'files', path: join(dir, 'data') }], repo: join(dir, 'repo') });
    const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    doc.schedule = { drill: '*/6 * * * * *', timezone: 'UTC' };
    doc.drill = { announce: '3s' };
    doc.alerts = { slack: '#backups' };
    doc.access = { backup: ['UALLOWED'], drill: ['UALLOWED'] };
    await writeFile(file, stringify(doc));
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks });
    expect((await runCli(['init', 'demo'], { env, cwd: dir })).code).toBe(0);
    expect((await runCli(['backup', 'demo'], { env, cwd: dir })).code).toBe(0);

    const served = await startServeWithSlack({
      cwd: dir,
      args: ['--metrics-port', 'off'],
      env: { ...env, SLACK_BOT_TOKEN: 'xoxb-serve-test', SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: fake.apiUrl },
    });
    child = served.child;
    const port = served.slackPort;

    // The announcement, then a reply in its thread with the measured RTO.
    const announcements = () => fake.callsOf('chat.postMessage').filter((c) => text(c).includes('Restore drill for demo') && !c.body.thread_ts);
    await expect.poll(() => announcements().length, { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    const announcement = announcements()[0]!;
    expect(announcement.body.channel).toBe('#backups');
    await expect.poll(() => fake.callsOf('chat.postMessage').find((c) => c.body.thread_ts !== undefined), { timeout: 30_000, interval: 200 }).toBeDefined();
    const reply = fake.callsOf('chat.postMessage').find((c) => c.body.thread_ts !== undefined)!;
    expect(text(reply)).toMatch(/^drill met: demo RTO /);
    expect(reply.body.thread_ts).toBe(announcement.ts);
    // The announcement came before the drill's own result, in the same channel as its thread.
    expect(fake.calls.indexOf(announcement)).toBeLessThan(fake.calls.indexOf(reply));
    expect(reply.body.channel).toBe('CBACKUPS');

    // A signed slash command to the same process.
    const post = await postSigned(port, slashBody({ command: '/backup', text: 'list', user: 'UALLOWED', channel: 'CBACKUPS', responseUrl: fake.responseUrl('list-1') }), { secret: SECRET });
    expect(post.status).toBe(200);
    await expect.poll(() => fake.calls.filter((c) => c.method === 'response_url' && c.responseId === 'list-1').length, { timeout: 10_000 }).toBe(1);

    child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).toMatch(/restore drill of demo starts in/);
  }, 120_000);
});
