/**
 * Issue 19's "Must show", end to end on loopback: real PostgreSQL, one
 * `lifeboat serve` (leader, scheduler, Slack in HTTP mode against the
 * stand-in) and three `lifeboat agent` processes, hosts a, b and c, each with
 * its own state folder and source folders. Six runbooks, two per host, back
 * up every 3 s (a seconds cron: real time, no shifted clock needed).
 *
 * - scheduled backups run on the right agents (every run's host in the store,
 *   and each agent's log names only its own runbooks); the snapshot of each
 *   runbook restores byte-identically on its host;
 * - `/backup b2` from the Slack stand-in runs on b, and its message is
 *   updated live: at least one chat.update while it runs, then the final;
 * - agent c SIGKILLed mid-backup: that run is recorded failed "agent lost on
 *   c" and `agent-down:c` opens; restarted, c's next backup of that runbook
 *   succeeds, `check` of its repository is clean, and the alert resolves.
 *
 * Thresholds: serve finds a silent agent after LIFEBOAT_AGENT_LOST_AFTER
 * (default 60 s) checked every LIFEBOAT_AGENT_CHECK_INTERVAL (default 15 s),
 * so within 75 s by default, under the issue's 90 s. Here 4 s and 250 ms with
 * 1 s heartbeats: short enough for the file's budget, long enough that a beat
 * delayed by a loaded machine does not make a healthy agent look lost.
 *
 * "Mid-backup" is c2's before hook, slow only while a flag file exists (it
 * then waits for the flag to go): the other runs of c2 stay quick, and the
 * hook left behind by the killed agent ends when the test removes the flag.
 *
 * Not covered here (elsewhere): the PostgreSQL outage under a remote run
 * (test/fleet/store-outage-remote.e2e.test.ts: 30 s down under a remote backup)
 * and the fleet benchmark (npm run bench -- --fleet).
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAgent, type AgentProcess } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../helpers/fs-manifest.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { startServeWithSlack, type ServeProcess } from '../helpers/serve-process.js';
import { useLifeboatPostgres } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { postSigned, slashBody, startFakeSlack, type FakeSlack } from '../slack/fake-slack.js';

const tempDir = useTempDirs('fleet-must-show');
const pg = useLifeboatPostgres(tempDir);

const PASSWORD = 'fleet-must-show-4c2d';
const SECRET = 'fleet-must-show-signing-secret';
const HOSTS = ['a', 'b', 'c'] as const;
/** Two runbooks per host: `<host>1`, `<host>2`. */
const RUNBOOKS = HOSTS.flatMap((host) => [`${host}1`, `${host}2`]);
const hostOf = (runbook: string) => runbook[0]!;

let root = '';
let fake: FakeSlack | undefined;
let serve: ServeProcess | undefined;
const agents = new Map<string, AgentProcess>();

const dataOf = (runbook: string) => join(root, hostOf(runbook), `${runbook}-data`);
/** While this file exists, c2's before hook holds the backup (and says so by creating STARTED). */
const slowFlag = () => join(root, 'c', 'slow');
const slowStarted = () => join(root, 'c', 'slow-started');

/** The environment of a process on `host`: its own state folder; runbooks from the console's folder. */
const hostEnv = (host: string): Record<string, string> => ({
  LIFEBOAT_STORE_URL: pg.url(),
  LIFEBOAT_HOME: join(root, host, 'home'),
  LIFEBOAT_RUNBOOKS: join(root, 'console', 'runbooks'),
  LIFEBOAT_PASSWORD: PASSWORD,
  LIFEBOAT_HOST: host,
});

/** An agent as on its own machine: its state, its (empty) runbooks folder, named by --host. */
const startHostAgent = async (host: string) => {
  const agent = await startAgent({ host, cwd: join(root, host), env: { ...hostEnv(host), LIFEBOAT_RUNBOOKS: join(root, host, 'runbooks'), LIFEBOAT_HOST: '' } });
  agents.set(host, agent);
  return agent;
};

async function writeRunbooks(): Promise<void> {
  const dir = join(root, 'console', 'runbooks');
  await mkdir(dir, { recursive: true });
  for (const name of RUNBOOKS) {
    const host = hostOf(name);
    await mkdir(join(dataOf(name), 'sub'), { recursive: true });
    await writeFile(join(dataOf(name), 'notes.txt'), `runbook ${name} on host ${host}\n`.repeat(300));
    await writeFile(join(dataOf(name), 'sub', 'blob.bin'), Buffer.alloc(40_000, name));
    const doc: Record<string, unknown> = {
      name,
      host,
      sources: [{ name: 'files', path: dataOf(name) }],
      repository: { hot: { url: `file://${join(root, host, `repo-${name}`)}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      schedule: { backup: '*/3 * * * * *', timezone: 'UTC' },
      objectives: { rpo: '26h', rto: '5m' },
    };
    // Long enough for Slack's live message (one chat.update a second at most) to show it running.
    if (name === 'b2') Object.assign(doc, { hooks: { before: ['echo b2-hook', 'sleep 1.5'] }, access: { backup: ['UALLOWED'] } });
    if (name === 'c2') {
      const flag = slowFlag();
      doc.hooks = { before: [`if [ -f '${flag}' ]; then touch '${slowStarted()}'; while [ -f '${flag}' ]; do sleep 0.1; done; fi`] };
    }
    await writeFile(join(dir, `${name}.yaml`), stringify(doc));
  }
}

beforeAll(async () => {
  if (!pg.availability.ok) return;
  root = await tempDir();
  await writeRunbooks();
  const consoleEnv = hostEnv('console');
  const migrated = await runCli(['store', 'migrate'], { env: consoleEnv, cwd: root });
  expect(migrated.code, migrated.stderr).toBe(0);
  // init is not a job: each host creates its own repositories.
  const inits = await Promise.all(RUNBOOKS.map((name) => runCli(['init', name], { env: hostEnv(hostOf(name)), cwd: join(root, hostOf(name)) })));
  for (const r of inits) expect(r.code, r.stderr).toBe(0);
  // All three at once, as a fleet restarting together: pg-boss's set-up of each host's queue (a partition of
  // its job table) once deadlocked when done side by side; FleetQueue now does it one process at a time
  // (queue.ts; test/fleet/queue-setup.test.ts is the focused test).
  await Promise.all(HOSTS.map((host) => startHostAgent(host)));
  fake = await startFakeSlack();
  serve = await startServeWithSlack({
    cwd: root,
    args: ['--metrics-port', 'off'],
    env: {
      ...consoleEnv,
      SLACK_BOT_TOKEN: 'xoxb-fleet-must-show',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      LIFEBOAT_AGENT_LOST_AFTER: '4s',
      LIFEBOAT_AGENT_CHECK_INTERVAL: '250ms',
    },
  });
}, 120_000);

afterAll(async () => {
  await rm(slowFlag(), { force: true }).catch(() => undefined);
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  await Promise.all([...agents.values()].map((a) => a.stop()));
  await fake?.close();
}, 30_000);

interface StoredRun {
  id: string;
  runbook: string;
  host: string;
  status: string;
  snapshotId?: string;
  error?: { message: string };
}

const runsOf = (where: string): StoredRun[] => {
  const rows = pg.query(`SELECT coalesce(json_agg(record ORDER BY started_at), '[]') FROM runs WHERE ${where}`);
  return JSON.parse(rows) as StoredRun[];
};

const everyAgentSaid = () => [...agents.values()].map((a) => `--- agent ${a.host}\n${a.output()}`).join('\n') + `\n--- serve\n${serve?.output() ?? ''}`;

describe('the fleet: one serve, three agents, six scheduled runbooks', () => {
  it('scheduled backups run on the runbook\'s own agent; each runbook\'s snapshot restores identically on its host', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const succeeded = () => RUNBOOKS.map((name) => runsOf(`runbook = '${name}' AND status = 'succeeded'`).length);
    await expect.poll(() => Math.min(...succeeded()), { timeout: 30_000, interval: 250, message: `every runbook backed up; ${everyAgentSaid()}` }).toBeGreaterThanOrEqual(1);

    // Every run in the store, whatever its status, ran on its runbook's host.
    const all = runsOf(`runbook IN (${RUNBOOKS.map((n) => `'${n}'`).join(', ')})`);
    expect(all.filter((r) => r.host !== hostOf(r.runbook))).toEqual([]);
    expect(all.filter((r) => r.status === 'failed')).toEqual([]);
    for (const host of HOSTS) {
      const said = agents.get(host)!.output();
      for (const name of RUNBOOKS) {
        if (hostOf(name) === host) expect(said).toContain(`running backup ${name}`);
        else expect(said).not.toContain(`backup ${name}`);
      }
    }

    // The first succeeded snapshot of each, restored where it was taken.
    await Promise.all(
      RUNBOOKS.map(async (name) => {
        const run = runsOf(`runbook = '${name}' AND status = 'succeeded'`)[0]!;
        expect(run.snapshotId, name).toBeDefined();
        const target = join(root, 'restored', name);
        const host = hostOf(name);
        const restored = await runCli(['restore', name, run.snapshotId!, '--target', target], { env: hostEnv(host), cwd: join(root, host) });
        expect(restored.code, restored.stderr).toBe(0);
        expectSameManifest(await manifestOf(join(target, 'files')), await manifestOf(dataOf(name)));
      }),
    );
  }, 60_000);

  it('`/backup b2` from Slack runs on b, its message updated live and then with the result', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const before = new Set(runsOf("runbook = 'b2'").map((r) => r.id));
    const post = await postSigned(serve!.slackPort, slashBody({ command: '/backup', text: 'b2', user: 'UALLOWED', channel: 'CBACKUPS', responseUrl: fake!.responseUrl('backup-b2') }), { secret: SECRET });
    expect(post.status).toBe(200);

    // The run's message: posted once the run started; updated in place until its final text.
    const posted = () => fake!.callsOf('chat.postMessage').find((c) => String(c.body.text).startsWith('/backup b2'));
    await expect.poll(posted, { timeout: 30_000, interval: 100, message: everyAgentSaid() }).toBeDefined();
    const ts = posted()!.ts;
    const updates = () => fake!.callsOf('chat.update').filter((c) => c.body.ts === ts);
    const isFinal = (text: string) => text !== '/backup b2: running' && text !== '/backup b2: starting';
    await expect.poll(() => updates().some((c) => isFinal(String(c.body.text))), { timeout: 30_000, interval: 100, message: everyAgentSaid() }).toBe(true);
    const texts = updates().map((c) => String(c.body.text));
    expect(texts.filter((t) => !isFinal(t)).length, texts.join('\n')).toBeGreaterThanOrEqual(1);
    expect(isFinal(texts[texts.length - 1]!)).toBe(true);
    expect(texts.findIndex(isFinal)).toBe(texts.length - 1);

    // The run it asked for: on b, asked from Slack, succeeded.
    const fromSlack = runsOf("runbook = 'b2' AND record->'actor'->>'face' = 'slack'").filter((r) => !before.has(r.id));
    expect(fromSlack.map((r) => [r.host, r.status])).toEqual([['b', 'succeeded']]);
    expect(JSON.stringify(updates()[updates().length - 1]!.body)).toContain(fromSlack[0]!.id);
  }, 60_000);

  it('SIGKILL agent c mid-backup: failed "agent lost on c" and agent-down:c; restarted, its next backup succeeds, check is clean, the alert resolves', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    await writeFile(slowFlag(), '');
    await expect.poll(() => stat(slowStarted()).then(() => true, () => false), { timeout: 20_000, interval: 100, message: everyAgentSaid() }).toBe(true);
    const [held] = runsOf("runbook = 'c2' AND status = 'running'");
    expect(held?.host).toBe('c');

    const c = agents.get('c')!;
    c.child.kill('SIGKILL');
    await c.exited;
    const killedAt = performance.now();
    await expect.poll(() => runsOf(`id = '${held!.id}'`)[0]?.status, { timeout: 30_000, interval: 100, message: everyAgentSaid() }).toBe('failed');
    expect(runsOf(`id = '${held!.id}'`)[0]?.error?.message).toBe('agent lost on c');
    await expect.poll(() => pg.query("SELECT status FROM alerts WHERE key = 'agent-down:c'"), { timeout: 10_000, interval: 100 }).toBe('open');
    // 4 s of silence + a 250 ms check here; 60 s + 15 s by default.
    expect(performance.now() - killedAt).toBeLessThan(90_000);
    // a and b went on beating: nobody else is down.
    expect(pg.query("SELECT count(*) FROM alerts WHERE key IN ('agent-down:a', 'agent-down:b') AND status = 'open'")).toBe('0');

    // Back: the hook the dead agent left ends with the flag, and c's next backup of c2 goes through.
    await rm(slowFlag());
    const restartedAt = new Date().toISOString();
    await startHostAgent('c');
    await expect.poll(() => runsOf(`runbook = 'c2' AND status = 'succeeded' AND started_at > '${restartedAt}'`).length, { timeout: 30_000, interval: 200, message: everyAgentSaid() }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => pg.query("SELECT status FROM alerts WHERE key = 'agent-down:c'"), { timeout: 10_000, interval: 100 }).toBe('resolved');

    // check from the console: queued for c, run there, clean.
    const checked = await runCli(['check', 'c2', '--json'], { env: hostEnv('console'), cwd: root });
    expect(checked.code, `${checked.stderr}\n${everyAgentSaid()}`).toBe(0);
    expect((JSON.parse(checked.stdout) as { summary: string }).summary).toMatch(/^no errors: \d+ snapshots/);
    expect(runsOf("runbook = 'c2' AND kind = 'verify'").map((r) => [r.host, r.status])).toEqual([['c', 'succeeded']]);
  }, 90_000);
});
