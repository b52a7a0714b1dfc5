/**
 * The fleet on one machine (issue 19): real PostgreSQL, two `lifeboat agent`
 * processes (hosts a and b, each with its own state folder and sources), and
 * a console that is neither: the CLI as a process, and this test process
 * itself where the console's events and its abort are needed.
 *
 * - `lifeboat backup` of a runbook with `host: a` runs on agent a (and only
 *   there), recorded with host a and the console's actor; its snapshot
 *   restores identically on a;
 * - no secret value is in the queue's tables, though the console knew it;
 * - a job whose runbook text does not match its hash is refused, nothing runs;
 * - the agent's engine events reach the console live (every stage's start and
 *   finish), and the console's abort reaches the agent: the run is cancelled;
 * - serve's scheduled fires of a runbook of host b run on agent b;
 * - a PostgreSQL restart under a remote run: it completes, its records land
 *   once (the agent's spool), the console gets its result, nobody dies;
 * - an agent SIGKILLed mid-job and restarted fails that job, and the console
 *   waiting for it gets the failure.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { invokeCommand } from '../../commands/index.js';
import { backupCommand } from '../../commands/backup.js';
import type { CommandContext } from '../../commands/command.js';
import { FleetQueue, openConfiguredStore, sha256Hex, systemClock, type EngineEvent, type FleetJob, type Store } from '../../src/core/index.js';
import { startAgent, type AgentProcess } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../helpers/fs-manifest.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe } from '../helpers/serve-process.js';
import { useLifeboatPostgres } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('fleet-agent');
const pg = useLifeboatPostgres(tempDir);

/** Known to every process here, console included: it must still never reach the queue. */
const PASSWORD = 'fleet-secret-7b1e9c';

let root = '';
let consoleEnv: Record<string, string> = {};
const agents: AgentProcess[] = [];

/** A runbook in the console's runbooks folder, for `host`, backing up `<root>/<host>/data` into `<root>/<host>/repo-<name>`. */
async function writeHostRunbook(name: string, host: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(root, 'console', 'runbooks', `${name}.yaml`);
  const doc = {
    name,
    host,
    sources: [{ name: 'files', path: join(root, host, 'data') }],
    repository: { hot: { url: `file://${join(root, host, `repo-${name}`)}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    objectives: { rpo: '26h', rto: '5m' },
    ...extra,
  };
  await writeFile(file, stringify(doc));
  return file;
}

/** The environment of a process on `host` (its own state folder; runbooks by the console's folder). */
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
  for (const host of ['a', 'b']) {
    await mkdir(join(root, host, 'data', 'sub'), { recursive: true });
    await writeFile(join(root, host, 'data', 'only-on.txt'), `the data of host ${host}\n`.repeat(200));
    await writeFile(join(root, host, 'data', 'sub', 'more.bin'), Buffer.alloc(70_000, host));
  }
  await writeHostRunbook('app-a', 'a');
  await writeHostRunbook('app-b', 'b');
  // Slow on purpose: its before hook says it started, then waits for the cancel.
  await writeHostRunbook('slow-b', 'b', { hooks: { before: ['echo hook-started', 'sleep 30'] } });
  await writeHostRunbook('nightly-b', 'b', { schedule: { backup: '*/2 * * * * *', timezone: 'UTC' } });
  // Long enough for PostgreSQL to be stopped and started again under it.
  await writeHostRunbook('outage-a', 'a', { hooks: { before: ['echo outage-hook', 'sleep 4'] } });
  await writeHostRunbook('killed-b', 'b', { hooks: { before: ['echo kill-me', 'sleep 30'] } });
  consoleEnv = hostEnv('console');
  const migrated = await runCli(['store', 'migrate'], { env: consoleEnv, cwd: root });
  expect(migrated.code, migrated.stderr).toBe(0);
  // init is not a job: each host creates its own repositories.
  const inits = await Promise.all([
    runCli(['init', 'app-a'], { env: hostEnv('a'), cwd: join(root, 'a') }),
    runCli(['init', 'app-b'], { env: hostEnv('b'), cwd: join(root, 'b') }),
    runCli(['init', 'slow-b'], { env: hostEnv('b'), cwd: join(root, 'b') }),
    runCli(['init', 'nightly-b'], { env: hostEnv('b'), cwd: join(root, 'b') }),
    runCli(['init', 'outage-a'], { env: hostEnv('a'), cwd: join(root, 'a') }),
    runCli(['init', 'killed-b'], { env: hostEnv('b'), cwd: join(root, 'b') }),
  ]);
  for (const r of inits) expect(r.code, r.stderr).toBe(0);
  // Each agent has its own runbooks folder (made at its start), empty: what it runs comes with the job.
  agents.push(...(await Promise.all(['a', 'b'].map(startHostAgent))));
}, 120_000);

afterAll(async () => {
  const codes = await Promise.all(agents.map((a) => a.stop()));
  // SIGTERM with nothing running: a clean stop.
  expect(codes).toEqual(agents.map(() => 0));
}, 30_000);

/** The agent of `host`: its own state and runbooks folder, named by --host (LIFEBOAT_HOST left empty). */
const startHostAgent = (host: string) =>
  startAgent({ host, cwd: join(root, host), env: { ...hostEnv(host), LIFEBOAT_RUNBOOKS: join(root, host, 'runbooks'), LIFEBOAT_HOST: '' } });

/** `pending`, or a failure that shows what the agents said when it takes longer than `ms`. */
async function explainedIfSlow<T>(pending: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const jobs = pg.query("SELECT string_agg(data->'runbook'->>'name' || ' ' || state, ', ') FROM lifeboat_queue.job");
      reject(new Error(`no result after ${ms} ms; the queue holds ${jobs}; the agents said:\n${agents.map((a) => `--- ${a.host}\n${a.output()}`).join('\n')}`));
    }, ms);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** This test process as a console: the CLI's context, with its own event sink and abort. */
function consoleContext(emit: (e: EngineEvent) => void, signal: AbortSignal): { ctx: CommandContext; close(): Promise<void> } {
  let store: Store | undefined;
  const home = consoleEnv.LIFEBOAT_HOME!;
  const ctx: CommandContext = {
    actor: { face: 'cli', user: 'console-tester' },
    env: consoleEnv,
    cwd: root,
    home,
    runbooksDir: consoleEnv.LIFEBOAT_RUNBOOKS!,
    clock: systemClock,
    emit,
    signal,
    store: async () => (store ??= await openConfiguredStore({ env: consoleEnv, home })),
  };
  return { ctx, close: async () => void (await store?.close()) };
}

const runRecord = (id: string) => JSON.parse(pg.query(`SELECT record FROM runs WHERE id = '${id}'`)) as { host: string; status: string; actor: { user: string } };

describe('lifeboat agent: jobs of a runbook run on its host', () => {
  it('without PostgreSQL: a runbook of another host is refused naming the host and store.url, and the agent refuses to start', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const jsonEnv: Record<string, string> = { ...consoleEnv, LIFEBOAT_HOME: join(root, 'json-home') };
    delete jsonEnv.LIFEBOAT_STORE_URL;
    const [backup, agent] = await Promise.all([runCli(['backup', 'app-a'], { env: jsonEnv, cwd: root }), runCli(['agent', '--host', 'a'], { env: jsonEnv, cwd: root })]);
    expect(backup.code, backup.stderr).toBe(2);
    expect(backup.stderr).toMatch(/app-a runs on host a .*and this is console: .*needs the PostgreSQL store \(store\.url in lifeboat\.yaml, or LIFEBOAT_STORE_URL\)/);
    expect(agent.code, agent.stderr).toBe(2);
    expect(agent.stderr).toMatch(/lifeboat agent needs the PostgreSQL store/);
  }, 30_000);

  it('backup from the console runs on the runbook\'s agent, recorded with its host and the console\'s actor; the snapshot restores identically', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    // (app-b from this process as the console below: the same path, one process fewer.)
    const a = await runCli(['backup', 'app-a', '--json'], { env: consoleEnv, cwd: root });
    expect(a.code, a.stderr).toBe(0);
    const runA = (JSON.parse(a.stdout) as { data: { run: { id: string; host: string } } }).data.run;
    expect(runA.host).toBe('a');
    expect(runRecord(runA.id)).toMatchObject({ host: 'a', status: 'succeeded', actor: { user: expect.any(String) } });
    expect(agents[0]!.output()).toContain('running backup app-a');
    expect(agents[1]!.output()).not.toContain('app-a');
    const restored = join(root, 'restored-a');
    const restore = await runCli(['restore', 'app-a', '--target', restored], { env: hostEnv('a'), cwd: join(root, 'a') });
    expect(restore.code, restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(restored, 'files')), await manifestOf(join(root, 'a', 'data')));
  }, 60_000);

  it('keeps secrets out of the queue: jobs carry the runbook, never a value it refers to', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const everything = pg.query("SELECT coalesce(string_agg(data::text || coalesce(output::text, ''), ' '), '') FROM (SELECT data, output FROM lifeboat_queue.job UNION ALL SELECT data, output FROM lifeboat_queue.archive) j");
    expect(everything).toContain('app-a');
    expect(everything).toContain('LIFEBOAT_PASSWORD');
    expect(everything).not.toContain(PASSWORD);
  });

  it('refuses a job whose runbook text does not match its hash: nothing runs', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const file = join(root, 'console', 'runbooks', 'app-a.yaml');
    const original = await readFile(file, 'utf8');
    const tampered = original.replace(join(root, 'a', 'data'), '/etc');
    const runsBefore = pg.query("SELECT count(*) FROM runs WHERE runbook = 'app-a'");
    const job: FleetJob = {
      v: 1,
      kind: 'backup',
      args: { runbook: 'app-a' },
      argv: ['app-a'],
      runbook: { name: 'app-a', host: 'a', content: tampered, sha256: sha256Hex(original) },
      actor: { face: 'cli', user: 'mallory' },
      requestedAt: new Date().toISOString(),
    };
    const queue = await FleetQueue.open(pg.url());
    try {
      const id = randomUUID();
      await queue.dispatch(job, id);
      await expect.poll(async () => (await queue.status('a', id))?.state, { timeout: 20_000, interval: 100 }).toBe('failed');
      const { output } = (await queue.status('a', id))!;
      expect((output as { summary: string }).summary).toMatch(/app-a's text does not match its hash/);
      expect((output as { exitCode: number }).exitCode).toBe(2);
    } finally {
      await queue.stop();
    }
    await agents[0]!.waitFor(/refused job .*does not match its hash/);
    expect(pg.query("SELECT count(*) FROM runs WHERE runbook = 'app-a'")).toBe(runsBefore);
  }, 30_000);

  it('streams the agent\'s events to the console live, and the console\'s abort cancels the run on the agent', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    // Live events: every stage the run recorded was seen starting and finishing in the console.
    const events: EngineEvent[] = [];
    const quiet = consoleContext((e) => events.push(e), new AbortController().signal);
    try {
      const result = await invokeCommand({ command: backupCommand as never, argv: ['app-b'] }, quiet.ctx);
      expect(result.exitCode, result.summary).toBe(0);
      const run = (result.data as { run: { id: string; host: string; stages: { name: string; status: string }[] } }).run;
      expect(run.host).toBe('b');
      const ran = run.stages.filter((s) => s.status !== 'pending' && s.status !== 'skipped').map((s) => s.name);
      expect(ran.length).toBeGreaterThanOrEqual(3);
      const started = events.filter((e) => e.type === 'stage.started' && e.runId === run.id).map((e) => (e as { stage: string }).stage);
      const finished = events.filter((e) => e.type === 'stage.finished' && e.runId === run.id).map((e) => (e as { stage: string }).stage);
      expect(started).toEqual(expect.arrayContaining(ran));
      expect(finished).toEqual(expect.arrayContaining(ran));
      expect(events.filter((e) => e.type === 'run.started' || e.type === 'run.finished')).toHaveLength(2);
    } finally {
      await quiet.close();
    }

    // Cancel: abort once the agent's hook said it started (its output came live too).
    const abort = new AbortController();
    let hookStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (hookStarted = resolve));
    const seen: EngineEvent[] = [];
    const slow = consoleContext((e) => {
      seen.push(e);
      if (e.type === 'hook.output' && e.line.includes('hook-started')) hookStarted();
    }, abort.signal);
    try {
      const pending = invokeCommand({ command: backupCommand as never, argv: ['slow-b'] }, slow.ctx);
      await started;
      abort.abort();
      const result = await pending;
      expect(result.exitCode, result.summary).toBe(130);
      // A cancelled backup ends in an error result; its run is known from the live run.started.
      const runId = seen.find((e) => e.type === 'run.started')?.runId;
      expect(runId).toBeDefined();
      expect(runRecord(runId!)).toMatchObject({ host: 'b', status: 'cancelled', actor: { user: 'console-tester' } });
      expect(seen.some((e) => e.type === 'run.finished' && e.status === 'cancelled')).toBe(true);
    } finally {
      await slow.close();
    }
    await agents[1]!.waitFor(/cancel asked for backup slow-b/);
    expect(agents[0]!.output()).not.toContain('app-b');
  }, 60_000);

  it('serve\'s scheduled fires of a runbook of host b run on agent b', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const served = pg.track(spawnServe({ cwd: root, args: ['--metrics-port', 'off'], env: consoleEnv }));
    await served.waitFor(/backup of nightly-b ended \(exit 0/, 30_000);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).toContain('queued for host b');
    const ran = pg.query("SELECT record->>'host' || ' ' || status || ' ' || (record->'actor'->>'face') FROM runs WHERE runbook = 'nightly-b' ORDER BY started_at LIMIT 1");
    expect(ran).toBe('b succeeded scheduler');
    expect(agents[1]!.output()).toContain('running backup nightly-b');
    expect(agents[0]!.output()).not.toContain('nightly-b');
  }, 60_000);

  it('rides out a PostgreSQL restart mid-run: the run completes on the agent, its records land once, the console gets the result', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    let hookRan: () => void = () => undefined;
    const hooked = new Promise<void>((resolve) => (hookRan = resolve));
    const live = consoleContext((e) => {
      if (e.type === 'hook.output' && e.line.includes('outage-hook')) hookRan();
    }, new AbortController().signal);
    try {
      const pending = invokeCommand({ command: backupCommand as never, argv: ['outage-a'] }, live.ctx);
      await hooked;
      // The test cluster runs with synchronous_commit off: without this, the immediate stop would
      // lose the job's last commits (a real server with synchronous commit keeps them).
      pg.query('CHECKPOINT');
      pg.cluster.stop();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      pg.cluster.start();
      const result = await explainedIfSlow(pending, 40_000);
      expect(result.exitCode, result.summary).toBe(0);
      const run = (result.data as { run: { id: string } }).run;
      // Spooled on the agent while the store was down, replayed once its heartbeat got through.
      await expect.poll(() => pg.query(`SELECT status FROM runs WHERE id = '${run.id}'`), { timeout: 20_000, interval: 200 }).toBe('succeeded');
      expect(pg.query("SELECT count(*) FROM runs WHERE runbook = 'outage-a'")).toBe('1');
    } finally {
      await live.close();
    }
    expect(agents.map((a) => a.child.exitCode)).toEqual([null, null]);
  }, 60_000);

  it('an agent killed mid-job and restarted fails that job: the console gets the failure instead of waiting on', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    let hookRan: () => void = () => undefined;
    const hooked = new Promise<void>((resolve) => (hookRan = resolve));
    const live = consoleContext((e) => {
      if (e.type === 'hook.output' && e.line.includes('kill-me')) hookRan();
    }, new AbortController().signal);
    try {
      const pending = invokeCommand({ command: backupCommand as never, argv: ['killed-b'] }, live.ctx);
      await hooked;
      agents[1]!.child.kill('SIGKILL');
      await agents[1]!.exited;
      agents[1] = await startHostAgent('b');
      const result = await explainedIfSlow(pending, 40_000);
      expect(result.exitCode).toBe(1);
      expect(result.summary).toMatch(/agent restarted on b/);
    } finally {
      await live.close();
    }
  }, 60_000);
});
