/**
 * Issue 19's must-show "PostgreSQL stopped for 30 s during a remote backup:
 * the run completes and its records appear once after the restart", with
 * everything as separate processes on loopback: a real PostgreSQL, one
 * `lifeboat serve` (leader: its lost-agent watch and /healthz), one
 * `lifeboat agent --host a` with its own state and source folders, and the
 * operator's `lifeboat backup outage-a` as a CLI process on host `console`,
 * which queues the job for a and follows it.
 *
 * The backup is held in its before hook (a flag file) until PostgreSQL is
 * stopped (`pg_ctl stop -m immediate`); the flag then goes, so the backup
 * proper runs, and ends, while the store is down. PostgreSQL stays down the
 * issue's full 30 s, then starts again. serve judges agents with a 10 s
 * silence threshold, shorter than the outage on purpose: the outage is the
 * store's, not the agent's, and must not be taken for a lost agent.
 *
 * Asserted: while down, /healthz 503 with the store's reason and the CLI says
 * the store is unreachable and that it keeps waiting; after the restart the
 * CLI follows the run to its end (exit 0), the run is recorded once,
 * succeeded, its stages in order; the queue holds the one job, completed, and
 * the agent ran it once (no retry of a job whose completion call failed); no
 * agent-down alert, no "agent lost" failure, the host is up; /healthz 200; the
 * snapshot restores identically; the agent then runs a new job normally,
 * started by its wake-up (its poll is 60 s here), so its LISTEN is back.
 *
 * And right after the restart the hosts registry, asked as serve's watch
 * asks, finds no host silent for 10 s: silence counts from the store's return
 * (host z beat once before the stop and not since).
 *
 * Before the fixes: the CLI sat silent through the outage (its status reads
 * failed and were retried unsaid: commands/support/fleet-dispatch.ts), and
 * right after the restart both a and z were silent past 10 s, so a watch pass
 * before a's next beat would take it for lost and fail its run, still
 * `running` in the store until a's spool replays (src/core/fleet/hosts.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodePg from 'pg';
import { stringify } from 'yaml';
import { HostRegistry } from '../../src/core/fleet/hosts.js';
import { startAgent, type AgentProcess } from '../helpers/agent-process.js';
import { repoRoot, runCli, TEST_KEYS_ENV } from '../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../helpers/fs-manifest.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe, type SpawnedServe } from '../helpers/serve-process.js';
import { useLifeboatPostgres } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('fleet-store-outage');
const pg = useLifeboatPostgres(tempDir);

const PASSWORD = 'outage-remote-5e81';
/** The number: not shortened. */
const OUTAGE_MS = 30_000;
const RUNBOOK = 'outage-a';

let root = '';
let agent: AgentProcess | undefined;
let serve: SpawnedServe | undefined;
let healthUrl = '';

const data = () => join(root, 'a', 'data');
/** While this file exists, the runbook's before hook holds the backup (having said so by creating STARTED). */
const holdFlag = () => join(root, 'a', 'hold');
const holdStarted = () => join(root, 'a', 'hold-started');

const hostEnv = (host: string): Record<string, string> => ({
  LIFEBOAT_STORE_URL: pg.url(),
  LIFEBOAT_HOME: join(root, host, 'home'),
  LIFEBOAT_RUNBOOKS: join(root, 'console', 'runbooks'),
  LIFEBOAT_PASSWORD: PASSWORD,
  LIFEBOAT_HOST: host,
});

beforeAll(async () => {
  if (!pg.availability.ok) return;
  root = await tempDir();
  await mkdir(join(root, 'console', 'runbooks'), { recursive: true });
  await mkdir(join(data(), 'sub'), { recursive: true });
  await writeFile(join(data(), 'notes.txt'), 'kept through a store outage\n'.repeat(500));
  await writeFile(join(data(), 'sub', 'blob.bin'), Buffer.alloc(60_000, 'a'));
  const hold = `if [ -f '${holdFlag()}' ]; then echo outage-hook; touch '${holdStarted()}'; while [ -f '${holdFlag()}' ]; do sleep 0.1; done; fi`;
  const runbook = {
    name: RUNBOOK,
    host: 'a',
    sources: [{ name: 'files', path: data() }],
    repository: { hot: { url: `file://${join(root, 'a', 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    hooks: { before: [hold] },
    objectives: { rpo: '26h', rto: '5m' },
  };
  await writeFile(join(root, 'console', 'runbooks', `${RUNBOOK}.yaml`), stringify(runbook));
  const migrated = await runCli(['store', 'migrate'], { env: hostEnv('console'), cwd: root });
  expect(migrated.code, migrated.stderr).toBe(0);
  const init = await runCli(['init', RUNBOOK], { env: hostEnv('a'), cwd: join(root, 'a') });
  expect(init.code, init.stderr).toBe(0);
  // A 60 s poll: a job starting at once after the outage shows the agent LISTENs for its wake-up again.
  // A 5 s heartbeat (10 s by default): serve's 10 s silence threshold still needs two beats missed.
  const args = ['--heartbeat', '5s', '--poll', '60s'];
  agent = await startAgent({ host: 'a', cwd: join(root, 'a'), env: { ...hostEnv('a'), LIFEBOAT_RUNBOOKS: join(root, 'a', 'runbooks'), LIFEBOAT_HOST: '' }, args });
  serve = pg.track(
    spawnServe({
      cwd: root,
      args: ['--metrics-port', '0'],
      env: { ...hostEnv('console'), LIFEBOAT_AGENT_LOST_AFTER: '10s', LIFEBOAT_AGENT_CHECK_INTERVAL: '250ms' },
    }),
  );
  healthUrl = `${(await serve.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 30_000))[1]!}/healthz`;
  await serve.waitFor(/scheduler running/, 30_000);
}, 120_000);

afterAll(async () => {
  await rm(holdFlag(), { force: true }).catch(() => undefined);
  if (pg.availability.ok) pg.cluster.start();
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  await agent?.stop();
}, 30_000);

/** `lifeboat <args>` on `host`, its output readable while it runs. */
function startCli(args: string[], host: string) {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...hostEnv(host) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

const health = async () => {
  const res = await fetch(healthUrl);
  return { status: res.status, body: (await res.json()) as { status: string; reasons?: string[] } };
};

interface StoredRun {
  id: string;
  status: string;
  host: string;
  snapshotId?: string;
  error?: { message: string };
  stages: { name: string; status: string; startedAt?: string }[];
}
const runsOfRunbook = (): StoredRun[] => JSON.parse(pg.query(`SELECT coalesce(json_agg(record ORDER BY started_at), '[]') FROM runs WHERE runbook = '${RUNBOOK}'`)) as StoredRun[];

const everyoneSaid = (cli?: { stdout(): string; stderr(): string }) =>
  `--- cli\n${cli ? cli.stdout() + cli.stderr() : ''}\n--- agent a\n${agent?.output() ?? ''}\n--- serve\n${serve?.output() ?? ''}`;

describe('PostgreSQL stopped for 30 s during a remote backup', () => {
  it('the run completes on its agent and its records appear once after the restart; the agent is not lost, the CLI follows it to its end', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    expect((await health()).status).toBe(200);
    await writeFile(holdFlag(), '');
    const cli = startCli(['backup', RUNBOOK], 'console');
    await expect.poll(() => stat(holdStarted()).then(() => true, () => false), { timeout: 30_000, interval: 100, message: everyoneSaid(cli) }).toBe(true);
    const [held] = runsOfRunbook();
    expect(held?.status).toBe('running');
    expect(held?.host).toBe('a');

    // Host z: beats once now, as a stand-in for any agent whose next beat comes some seconds after the store is back.
    const pool = new nodePg.Pool({ connectionString: pg.url(), max: 1 });
    pool.on('error', () => undefined); // its idle connection dies with the server
    const hosts = new HostRegistry(pool);
    await hosts.heartbeat({ name: 'z', version: '0.1.0', platform: 'linux x64', pid: 1, runningJob: null });

    // The test cluster runs with synchronous_commit off: a checkpoint keeps what a production server keeps through an immediate stop.
    pg.query('CHECKPOINT');
    pg.cluster.stop();
    const stoppedAt = performance.now();
    // The backup proper now runs, and ends, with the store away.
    await rm(holdFlag());

    await expect.poll(async () => (await health()).status, { timeout: 20_000, interval: 200 }).toBe(503);
    const down = await health();
    expect(down.body.reasons?.some((r) => r.startsWith(`state store unreachable: 127.0.0.1:${pg.cluster.port}/lifeboat (`)), JSON.stringify(down.body)).toBe(true);
    // The operator's CLI: told the store is gone and that it still waits for the run; alive.
    await expect.poll(() => cli.stderr(), { timeout: 20_000, interval: 200, message: everyoneSaid(cli) }).toMatch(/state store unreachable \(.*\): job .* on host a goes on there/);
    expect(cli.child.exitCode).toBeNull();
    await agent!.waitFor(new RegExp(`${RUNBOOK} \\(job [^)]*\\) ended: exit 0`), 20_000);

    const left = OUTAGE_MS - (performance.now() - stoppedAt);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
    expect(cli.child.exitCode).toBeNull();
    expect(agent!.child.exitCode).toBeNull();
    expect(serve!.child.exitCode).toBeNull();
    pg.cluster.start();
    // Silence counts from the store's return, not across its outage: right after it, nobody is silent for serve's 10 s.
    try {
      expect((await hosts.silent(10_000)).map((h) => h.name)).toEqual([]);
    } finally {
      await pool.end();
    }

    const code = await cli.exited;
    expect(code, everyoneSaid(cli)).toBe(0);
    expect(cli.stderr()).toMatch(/store answers again: following job/);
    const printed = /backed up outage-a: snapshot ([0-9a-f]+)/.exec(cli.stdout())?.[1];
    expect(printed, cli.stdout()).toBeDefined();

    // The agent replays its spool once its heartbeat gets through.
    await expect.poll(() => runsOfRunbook().map((r) => r.status), { timeout: 20_000, interval: 200, message: everyoneSaid(cli) }).toEqual(['succeeded']);
    const [run] = runsOfRunbook();
    expect(run!.id).toBe(held!.id);
    expect(run!.snapshotId?.startsWith(printed!)).toBe(true);
    const names = run!.stages.map((s) => s.name);
    expect(names.slice(0, 5)).toEqual(['hooks', 'discover', 'snapshot', 'transfer', 'verify']);
    expect(new Set(names).size).toBe(names.length);
    // (A skipped stage has no start.)
    const starts = run!.stages.flatMap((s) => (s.startedAt === undefined ? [] : [s.startedAt]));
    expect(starts).toEqual([...starts].sort());
    expect(run!.stages.every((s) => s.status === 'succeeded' || s.status === 'skipped')).toBe(true);

    // One job, settled completed, run once: pg-boss did not hand it out again after its completion call failed.
    const jobs = pg.query(`SELECT string_agg(state || ' ' || retry_count, ', ') FROM lifeboat_queue.job WHERE data->'runbook'->>'name' = '${RUNBOOK}'`);
    expect(jobs).toBe('completed 0');
    expect(agent!.output().match(new RegExp(`running backup ${RUNBOOK}`, 'g'))).toHaveLength(1);
    // Its audit entries once each: the agent's (spooled and replayed) and the console's.
    const audits = pg.query(`SELECT string_agg(who, ',' ORDER BY who) FROM (SELECT CASE WHEN record->>'where' LIKE 'agent a, job %' THEN 'agent' ELSE 'console' END AS who FROM audit WHERE record->>'command' = 'backup') a`);
    expect(audits).toBe('agent,console');

    // The outage was the store's: the agent was never taken for lost, not even by serve leading again after it
    // (its watch then passes every 250 ms: a few passes are waited for).
    await serve!.waitFor(/leading \(lease term 2/, 30_000);
    // A pass that finds nothing says nothing: the absence is waited for, 8 passes long.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await expect.poll(async () => (await health()).status, { timeout: 20_000, interval: 250 }).toBe(200);
    expect(pg.query("SELECT state FROM hosts WHERE name = 'a'")).toBe('up');
    expect(pg.query("SELECT count(*) FROM alerts WHERE key = 'agent-down:a'"), everyoneSaid(cli)).toBe('0');
    expect(pg.query("SELECT count(*) FROM audit WHERE record->>'command' = 'agent-lost'")).toBe('0');
    expect(serve!.output()).not.toContain('the agent on a is lost');

    // The snapshot restores identically, on its host.
    const target = join(root, 'a', 'restored');
    const restored = await runCli(['restore', RUNBOOK, run!.snapshotId!, '--target', target], { env: hostEnv('a'), cwd: join(root, 'a') });
    expect(restored.code, restored.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'files')), await manifestOf(data()));

    // And the agent takes the next job as ever: woken, it starts it at once rather than at its next poll (60 s, over this file's budget).
    const next = await runCli(['backup', RUNBOOK], { env: hostEnv('console'), cwd: root });
    expect(next.code, `${next.stderr}\n${everyoneSaid()}`).toBe(0);
    expect(runsOfRunbook().map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(agent!.child.exitCode).toBeNull();
  }, 100_000);
});
