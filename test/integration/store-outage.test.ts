/**
 * A PostgreSQL state store killed (`pg_ctl stop -m immediate`) while a backup
 * runs (issue 18): the backup finishes with its data in the repository, its
 * records spooled under the state folder; a read command while the store is
 * down exits non-zero with one sentence naming it (never its URL); once the
 * store is back, the next command replays the spool, and the run and its
 * stages are there, in order, once, with its audit entry once. And serve's
 * /healthz answers 503 with "state store unreachable: host:port/db" while it is
 * down, 200 again once it is back.
 *
 * Real processes throughout: the CLI, serve and a PostgreSQL cluster started
 * here. The backup is held in its `before` hook, which waits for a file the
 * test creates once it has stopped the store: no timing guess decides where
 * the outage falls.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe } from '../helpers/serve-process.js';
import { useLifeboatPostgres, writeScheduledRunbook } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('store-outage');
const lb = useLifeboatPostgres(tempDir);

const SPOOL_ENTRY = /^\d{15}-\d{8}-\d+\.json$/;

async function spooled(home: string): Promise<string[]> {
  const dir = join(home, 'spool');
  return existsSync(dir) ? (await readdir(dir)).filter((n) => SPOOL_ENTRY.test(n)) : [];
}

/** Resolves once `path` exists, or rejects when `running` ended first. */
async function untilExists(path: string, running: Promise<unknown>): Promise<void> {
  let ended = false;
  void running.then(() => (ended = true));
  await expect.poll(() => existsSync(path) || ended, { timeout: 60_000, interval: 50 }).toBe(true);
  if (!existsSync(path)) throw new Error(`the backup ended before its hook created ${path}`);
}

describe('a PostgreSQL store outage', () => {
  it('killed during a backup: the backup finishes, its run and stages appear after restart, in order, once', async (ctx) => {
    if (!lb.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', lb.availability);
    const pg = lb.cluster;
    const dir = await tempDir();
    const runbooks = join(dir, 'runbooks');
    const home = join(dir, 'home');
    const repo = join(dir, 'repo');
    await mkdir(runbooks);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'a.txt'), 'kept through an outage\n'.repeat(1000));
    const inHook = join(dir, 'in-hook');
    const go = join(dir, 'go');
    writePipelineRunbook(runbooks, 'demo', {
      sources: [{ name: 'files', path: join(dir, 'data') }],
      repo,
      hooks: { before: [`touch ${inHook}; while [ ! -e ${go} ]; do sleep 0.05; done`] },
    });
    const url = `postgres://${pg.user}@127.0.0.1:${pg.port}/lifeboat?sslmode=disable`;
    const where = `127.0.0.1:${pg.port}/lifeboat`;
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_STORE_URL: url });
    const query = (sql: string) => pg.sql('lifeboat', sql).trim();
    expect((await runCli(['store', 'migrate'], { env, cwd: dir })).code).toBe(0);
    expect((await runCli(['init', 'demo'], { env, cwd: dir })).code).toBe(0);

    const backup = runCli(['backup', 'demo'], { env, cwd: dir });
    await untilExists(inHook, backup);
    // The run is recorded as running (the hooks stage started) before the store goes.
    expect(query("SELECT status FROM runs WHERE runbook = 'demo'")).toBe('running');
    // The test cluster runs with synchronous_commit=off (drill-postgres.ts): a checkpoint keeps what a production
    // server would have kept through an immediate stop (its committed rows).
    pg.sql('lifeboat', 'CHECKPOINT');
    pg.stop();
    await writeFile(go, '');
    const done = await backup;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/backed up demo: snapshot/);
    expect(done.stderr).toContain(`state store unreachable: ${where}`);
    expect(done.stderr).toMatch(/records are spooled to .*\/home\/spool/);
    expect(done.stderr).toContain('alert rules not evaluated: state store unreachable; they run again when it returns');
    expect(done.stdout + done.stderr).not.toContain('postgres://');
    // The data is in the repository; the records wait in the spool.
    expect(await readdir(join(repo, 'snapshots'))).toHaveLength(1);
    expect((await spooled(home)).length).toBeGreaterThan(0);

    // A read while the store is down: non-zero, one sentence naming the store and the spool, never the URL.
    const down = await runCli(['history', 'demo'], { env, cwd: dir });
    expect(down.code).toBe(1);
    expect(down.stdout + down.stderr).toMatch(new RegExp(`state store unreachable: ${where.replaceAll('.', '\\.')} \\(.*\\); backup and drill records are being spooled to \\S*/home/spool and written to the store when it returns`));
    expect(down.stdout + down.stderr).not.toContain('postgres://');
    for (const command of ['status', 'alerts']) {
      const read = await runCli([command], { env, cwd: dir });
      expect(read.code, command).toBe(1);
      expect(read.stdout + read.stderr, command).toContain(`state store unreachable: ${where} (`);
    }

    pg.start();
    const after = await runCli(['history', 'demo', '--json'], { env, cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    // (--json keeps stderr quiet: the "reachable again" warning is not printed here.)
    const runs = (JSON.parse(after.stdout) as { data: { id: string; status: string; stages: { name: string; status: string }[] }[] }).data;
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run!.status).toBe('succeeded');
    // Every stage, in the pipeline's order, each once and finished: the spooled writes were applied oldest first.
    const names = run!.stages.map((s) => s.name);
    expect(names.slice(0, 5)).toEqual(['hooks', 'discover', 'snapshot', 'transfer', 'verify']);
    expect(new Set(names).size).toBe(names.length);
    expect(run!.stages.every((s) => s.status === 'succeeded' || s.status === 'skipped')).toBe(true);
    expect(await spooled(home)).toEqual([]);
    // Once in the database; the backup's audit entry once.
    expect(query("SELECT count(*) FROM runs WHERE runbook = 'demo'")).toBe('1');
    expect(query("SELECT count(*) FROM audit WHERE record->>'command' = 'backup'")).toBe('1');

    // Replaying again (another command) changes nothing.
    expect((await runCli(['history', 'demo'], { env, cwd: dir })).code).toBe(0);
    expect(query("SELECT count(*) FROM runs WHERE runbook = 'demo'")).toBe('1');
    expect(query("SELECT count(*) FROM audit WHERE record->>'command' = 'backup'")).toBe('1');
  }, 240_000);

  it('down before it starts: a backup and a drill run and spool, and their records appear once the store is back', async (ctx) => {
    if (!lb.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', lb.availability);
    const pg = lb.cluster;
    pg.start();
    const dir = await tempDir();
    const runbooks = join(dir, 'runbooks');
    const home = join(dir, 'home');
    await mkdir(runbooks);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'a.txt'), 'spooled from the start\n');
    writePipelineRunbook(runbooks, 'early', { sources: [{ name: 'files', path: join(dir, 'data') }], repo: join(dir, 'repo') });
    const url = `postgres://${pg.user}@127.0.0.1:${pg.port}/lifeboat?sslmode=disable`;
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_STORE_URL: url });
    const query = (sql: string) => pg.sql('lifeboat', sql).trim();
    expect((await runCli(['store', 'migrate'], { env, cwd: dir })).code).toBe(0);
    expect((await runCli(['init', 'early'], { env, cwd: dir })).code).toBe(0);

    pg.sql('lifeboat', 'CHECKPOINT');
    pg.stop();
    const backup = await runCli(['backup', 'early'], { env, cwd: dir });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toContain(`state store unreachable: 127.0.0.1:${pg.port}/lifeboat`);
    const drill = await runCli(['restore-drill', 'early'], { env, cwd: dir });
    expect(drill.code, drill.stderr).toBe(0);
    expect((await spooled(home)).length).toBeGreaterThan(0);

    pg.start();
    const after = await runCli(['history', 'early', '--json'], { env, cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    const runs = (JSON.parse(after.stdout) as { data: { status: string; kind: string }[] }).data;
    expect(runs.filter((r) => r.kind === 'backup').map((r) => r.status)).toEqual(['succeeded']);
    expect(query("SELECT count(*) FROM drills WHERE runbook = 'early'")).toBe('1');
    expect(query("SELECT count(*) FROM audit WHERE record->>'command' IN ('backup', 'restore-drill') AND record->'args'->>0 = 'early'")).toBe('2');
    expect(await spooled(home)).toEqual([]);
  }, 240_000);

  it('serve: /healthz answers 503 with "state store unreachable: host:port/db" while it is down and serve steps down as leader; 200 and leading again once it is back', async (ctx) => {
    if (!lb.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', lb.availability);
    const pg = lb.cluster;
    pg.start(); // in case the test above ended with it stopped
    const dir = await tempDir();
    const home = join(dir, 'home');
    const { runbooks } = await writeScheduledRunbook(dir, 'demo', { backup: '0 0 1 1 *' }, 'x\n');
    const url = lb.url();
    const where = `127.0.0.1:${pg.port}/lifeboat`;
    // A 3 s lease (the shortest allowed; default 15 s): serve steps down 2 s after its last renewal, not 10 s.
    await writeFile(join(dir, 'lifeboat.yaml'), stringify({ store: { url: { env: 'LIFEBOAT_STORE_URL' }, leaderLease: '3s' } }));
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_STORE_URL: url, LIFEBOAT_CONFIG: join(dir, 'lifeboat.yaml') });
    expect((await runCli(['init', 'demo'], { env, cwd: dir })).code).toBe(0);

    const served = lb.track(spawnServe({ cwd: dir, args: ['--metrics-port', '0'], env }));
    const base = (await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 30_000))[1]!;
    const health = async () => {
      const res = await fetch(`${base}/healthz`);
      return { status: res.status, body: (await res.json()) as { status: string; reasons?: string[] } };
    };
    expect((await health()).status).toBe(200);

    pg.stop();
    await expect.poll(async () => (await health()).status, { timeout: 30_000, interval: 200 }).toBe(503);
    const { body } = await health();
    expect(body.status).toBe('unhealthy');
    expect(body.reasons?.some((r) => r.startsWith(`state store unreachable: ${where} (`))).toBe(true);
    expect(JSON.stringify(body)).not.toContain('postgres://');
    // It led; unable to renew its lease, it steps down before the lease could lapse (2 s of 3), and lives on.
    await served.waitFor(/no longer leading \(term 1\): the lease could not be renewed for 2 s/, 30_000);
    expect((await health()).body).toMatchObject({ leader: false });
    expect(served.child.exitCode).toBeNull();

    pg.start();
    // serve retries the store at most every few seconds while it is down, and leads again once it answers.
    await expect.poll(async () => (await health()).status, { timeout: 60_000, interval: 250 }).toBe(200);
    await expect.poll(() => served.output().match(/lifeboat serve: leading \(lease term/g)?.length ?? 0, { timeout: 30_000, interval: 250 }).toBe(2);
    await expect.poll(async () => (await health()).body, { timeout: 10_000, interval: 250 }).toMatchObject({ leader: true });

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  }, 240_000);
});
