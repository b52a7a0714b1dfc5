/**
 * A hook and a stream source that print every secret they can find — their
 * own environment, Lifeboat's (through /proc of their ancestors), a secret
 * file, another runbook's key file, a credential written inline in the
 * command — run once from Slack under `lifeboat serve`, once from the CLI.
 * Afterwards none of the values may be anywhere they could be read: state.json,
 * the CLI's and serve's output (the log), every call the Slack stand-in
 * received, and /metrics.
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { stateFilePath } from '../../src/core/store/json-store.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { startServeWithSlack } from '../helpers/serve-process.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { postSigned, slashBody, startFakeSlack, type FakeSlack } from '../slack/fake-slack.js';

const tempDir = useTempDirs('secrets-leak');
const SIGNING_SECRET = 'leak-test-signing-secret-0001';
const USER = 'U0ONCALL';

/** Every secret planted in Lifeboat's environment. */
const PLANTED_ENV = {
  LIFEBOAT_PASSWORD: 'leaky-repository-password-0002',
  SLACK_BOT_TOKEN: 'xoxb-leak-test-bot-token-0003',
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  AWS_ACCESS_KEY_ID: 'AKIALEAKTEST0004',
  AWS_SECRET_ACCESS_KEY: 'leak-test-aws-secret-key-0005',
  LEAKY_DUMP_TOKEN: 'leak-test-dump-token-0006',
};
const FILE_SECRET = 'leak-test-file-secret-0007';
const OTHER_KEY = 'leak-test-other-runbook-key-0008';
const INLINE = 'leak-test-inline-pw-0009';
const ALL_VALUES = [...Object.values(PLANTED_ENV), FILE_SECRET, OTHER_KEY, INLINE];

let fake: FakeSlack;
let serve: ChildProcess | undefined;

beforeAll(async () => {
  await ensureCliBuilt();
  fake = await startFakeSlack();
}, 120_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) serve.kill('SIGKILL');
  await fake?.close();
});

/** What a curious hook or dump command would do to find secrets. */
function leakScript(dir: string): string {
  return [
    'echo "== my environment"; env',
    "echo \"== /proc/self/environ\"; tr '\\0' '\\n' < /proc/self/environ",
    // Up through the parents to the Lifeboat process (node): their environments are readable to the same user.
    'p=$$; i=0',
    'while [ $i -lt 5 ]; do',
    "  p=$(awk '{print $4}' /proc/$p/stat); i=$((i+1))",
    '  [ "$p" -gt 1 ] || break',
    "  echo \"== environ of $(cat /proc/$p/comm)\"; tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -E 'PASSWORD|TOKEN|SECRET|AWS|SLACK'",
    '  grep -q node /proc/$p/comm && break',
    'done',
    `echo "== files: $(cat ${dir}/secret.key) $(cat ${dir}/other.key)"`,
    'echo "== passed: hook=$HOOK_TOKEN dump=$DUMP_TOKEN key=$DUMP_KEY"',
    '',
  ].join('\n');
}

async function setup(): Promise<{ dir: string; home: string; env: Record<string, string> }> {
  const dir = await tempDir();
  const runbooks = join(dir, 'runbooks');
  await mkdir(runbooks);
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'a.txt'), 'data\n');
  await writeFile(join(dir, 'leak.sh'), leakScript(dir));
  for (const [file, value] of [['secret.key', FILE_SECRET], ['other.key', OTHER_KEY]] as const) {
    await writeFile(join(dir, file), `${value}\n`);
    await chmod(join(dir, file), 0o600);
  }
  await writeFile(
    join(runbooks, 'leaky.yaml'),
    stringify({
      name: 'leaky',
      description: 'Prints every secret it can find',
      sources: [
        { name: 'files', path: join(dir, 'data') },
        // Fails, so its stderr tail and command line go into the run, the alert and Slack.
        { name: 'dump', command: `PGPASSWORD=${INLINE} sh ${dir}/leak.sh >&2; exit 1`, env: { DUMP_TOKEN: { env: 'LEAKY_DUMP_TOKEN' }, DUMP_KEY: { file: join(dir, 'secret.key') } } },
      ],
      hooks: { before: [`sh ${dir}/leak.sh`], env: { HOOK_TOKEN: { file: join(dir, 'secret.key') } } },
      repository: { hot: { url: `file://${join(dir, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      objectives: { rpo: '26h', rto: '5m' },
      alerts: { slack: '#backups' },
      access: { backup: [USER] },
    }),
  );
  // Another runbook whose password is a key file: a secret Lifeboat knows though this run does not use it.
  await writeFile(
    join(runbooks, 'other.yaml'),
    stringify({
      name: 'other',
      sources: [{ name: 'files', path: join(dir, 'data') }],
      repository: { hot: { url: `file://${join(dir, 'repo-other')}` }, password: { file: join(dir, 'other.key') } },
      objectives: { rpo: '26h', rto: '5m' },
    }),
  );
  const home = join(dir, 'home');
  return { dir, home, env: { ...PLANTED_ENV, LIFEBOAT_HOME: home, LIFEBOAT_RUNBOOKS: runbooks } };
}

function leaked(where: string, text: string): string[] {
  return ALL_VALUES.filter((v) => text.includes(v)).map((v) => `${where}: ${v}`);
}

describe('secrets printed by a hook and a stream source', () => {
  it('reach neither state.json, nor the log, nor Slack, nor /metrics', async () => {
    const { dir, home, env } = await setup();
    expect((await runCli(['init', 'leaky'], { env, cwd: dir })).code).toBe(0);

    // From Slack, under serve: the live message shows hook output; the result and the alert it raises are posted.
    const served = await startServeWithSlack({ cwd: dir, args: ['--metrics-port', '0'], env: { ...env, SLACK_API_URL: fake.apiUrl } });
    serve = served.child;

    const post = await postSigned(served.slackPort, slashBody({ command: '/backup', text: 'leaky', user: USER, channel: 'CBACKUPS', responseUrl: fake.responseUrl('leaky-1') }), { secret: SIGNING_SECRET });
    expect(post.status).toBe(200);
    await expect.poll(() => fake.callsOf('chat.update').some((c) => String(c.body.text).startsWith('/backup leaky: partial')), { timeout: 30_000, interval: 200 }).toBe(true);
    // The alert the partial run raised reaches the channel through the outbox (serve's delivery loop).
    await expect.poll(() => fake.callsOf('chat.postMessage').some((c) => JSON.stringify(c.body).includes('failed-run:leaky')), { timeout: 30_000, interval: 200 }).toBe(true);
    const metrics = await (await fetch(`${served.metricsUrl}/metrics`)).text();
    serve.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const serveLog = served.output();

    // From the CLI: hook output and failures are printed live, then the result.
    const cli = await runCli(['backup', 'leaky'], { env, cwd: dir });
    expect(cli.code, cli.stderr).toBe(3); // partial: the dump failed, the files are safe
    const cliLog = cli.stdout + cli.stderr;
    // (HOOK_TOKEN and DUMP_KEY come from the same file: either name may stand for it.)
    expect(cliLog).toMatch(/== files: \[redacted (?:HOOK_TOKEN|DUMP_KEY)\] \[redacted other-password\]/);

    // Every message the stand-in received. Bolt's own auth.test is left out: it sends the bot token
    // to Slack on purpose, to verify it (the one place that credential belongs).
    expect(fake.callsOf('auth.test').every((c) => c.body.token === PLANTED_ENV.SLACK_BOT_TOKEN)).toBe(true);
    const slack = JSON.stringify(fake.calls.filter((c) => c.method !== 'auth.test'));
    expect(fake.calls.filter((c) => c.method.startsWith('chat.') || c.method === 'response_url').length).toBeGreaterThan(2);
    const state = await readFile(stateFilePath(home), 'utf8');
    // The hook and the source did print the secrets, and they were redacted where they landed.
    expect(slack).toContain('[redacted');
    expect(state).toMatch(/\[redacted (?:HOOK_TOKEN|DUMP_KEY)\]/);
    expect(state).toContain(`PGPASSWORD=[redacted PGPASSWORD]`);
    expect(state).toContain('[redacted SLACK_BOT_TOKEN]');
    expect(state).toContain('failed-run:leaky');
    expect(metrics).toContain('lifeboat_');
    // The failure shown in Slack names the script, not where it lives on the server.
    expect(slack).toContain('…/leak.sh');
    expect(slack).not.toContain(dir);

    expect([...leaked('state.json', state), ...leaked('CLI output', cliLog), ...leaked('serve log', serveLog), ...leaked('Slack', slack), ...leaked('/metrics', metrics)]).toEqual([]);
  }, 120_000);
});
