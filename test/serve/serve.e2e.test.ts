/**
 * `lifeboat serve` as a real child process: the scheduler runs a due backup,
 * /metrics shows it, SIGTERM during a run leaves a repository that passes
 * `check`, and a runbook edited into an invalid state raises an alert while
 * the last good version keeps running.
 *
 * Time: a runbook "due every minute" would make a test wait up to a minute,
 * so the child's clock is shifted with LIFEBOAT_TEST_NOW to two seconds before
 * a minute boundary. The reload test uses a six-field (seconds) cron instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { openJsonStore } from '../../src/core/store/index.js';
import type { RunRecord } from '../../src/core/store/records.js';
import { ensureCliBuilt, repoRoot, runCli, TEST_KEYS_ENV } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook, type PipelineSource } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { stringify, parse } from 'yaml';

const tempDir = useTempDirs('serve');

beforeAll(async () => {
  await ensureCliBuilt();
}, 120_000);

interface Served {
  child: ChildProcess;
  output(): string;
  /** Resolves with the port once serve says where /metrics is. */
  metricsUrl: Promise<string>;
  exited: Promise<number | null>;
}

async function setupRunbook(sources: (dir: string) => PipelineSource[], schedule: Record<string, string>) {
  const dir = await tempDir();
  const runbooks = join(dir, 'runbooks');
  const home = join(dir, 'home');
  await mkdir(runbooks);
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'a.txt'), 'hello from serve\n'.repeat(1000));
  const file = writePipelineRunbook(runbooks, 'demo', { sources: sources(dir), repo: join(dir, 'repo') });
  const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  doc.schedule = { ...schedule, timezone: 'UTC' };
  await writeFile(file, stringify(doc));
  const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks });
  const init = await runCli(['init', 'demo'], { env, cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  return { dir, home, file, env };
}

/** Starts serve for the test `ctx` belongs to; it is killed when that test ends, whatever happened. */
function startServe(ctx: TestContext, cwd: string, env: Record<string, string>): Served {
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'serve', '--metrics-port', '0'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ctx.onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let text = '';
  let resolveUrl: (url: string) => void = () => {};
  const metricsUrl = new Promise<string>((resolve) => (resolveUrl = resolve));
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    const m = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(text);
    if (m?.[1]) resolveUrl(m[1]);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, metricsUrl, exited };
}

async function runsOf(home: string): Promise<RunRecord[]> {
  const store = await openJsonStore(home);
  try {
    return await store.listRuns({ runbook: 'demo' });
  } finally {
    await store.close();
  }
}

async function alertStatus(home: string, key: string): Promise<string | undefined> {
  const store = await openJsonStore(home);
  try {
    return (await store.getAlert(key))?.status;
  } finally {
    await store.close();
  }
}

/** Two seconds before the next whole minute (real time), so "* * * * *" fires almost at once. */
function justBeforeAMinute(): string {
  const next = Math.ceil((Date.now() + 1000) / 60_000) * 60_000 + 60_000;
  return new Date(next - 2000).toISOString();
}

// The cases run side by side: each has its own folders and serve, and mostly waits on it.
describe.concurrent('lifeboat serve', () => {
  it('runs a backup due every minute, shows it on /metrics and /healthz, and stops on SIGTERM with exit 0', async (ctx) => {
    const { expect } = ctx; // side by side, expect.poll needs the test's own expect
    const t = await setupRunbook((dir) => [{ name: 'files', path: join(dir, 'data') }], { backup: '* * * * *' });
    const served = startServe(ctx, t.dir, { ...t.env, LIFEBOAT_TEST_NOW: justBeforeAMinute() });
    const url = await served.metricsUrl;

    await expect.poll(async () => (await runsOf(t.home)).filter((r) => r.status === 'succeeded').length, { timeout: 30_000, interval: 250 }).toBe(1);
    const [run] = await runsOf(t.home);
    expect(run).toMatchObject({ kind: 'backup', actor: { face: 'scheduler' } });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('lifeboat_backup_last_success_timestamp_seconds{runbook="demo"}'));
    expect(line, metrics).toBeDefined();
    expect(Number(line!.split(' ').pop())).toBeCloseTo(Date.parse(run!.endedAt!) / 1000, 3);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', runbooks: 1 });

    // One serve per state folder: a second one says who holds it and exits non-zero.
    const second = await runCli(['serve', '--metrics-port', 'off'], { env: t.env, cwd: t.dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another lifeboat serve already runs on .*home: pid \d+/);

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).toMatch(/serve stopped: 1 scheduled job\(s\) run, 0 cancelled/);
  }, 60_000);

  it('SIGTERM during a scheduled backup: past the shutdown deadline it is cancelled cleanly and the repository passes check', async (ctx) => {
    const { expect } = ctx; // side by side, expect.poll needs the test's own expect
    // A stream source that takes ~8 s the first time, so the SIGTERM lands mid-snapshot; the
    // backup after the check finds its marker and streams a little at once (nothing waits 8 s again).
    const slowOnce = (marker: string) =>
      `if [ -e ${marker} ]; then head -c 262144 /dev/urandom; else touch ${marker}; for i in $(seq 1 80); do head -c 262144 /dev/urandom; sleep 0.1; done; fi`;
    const t = await setupRunbook((dir) => [{ name: 'files', path: join(dir, 'data') }, { name: 'slow', command: slowOnce(join(dir, 'slow-ran')) }], { backup: '* * * * *' });
    const served = startServe(ctx, t.dir, { ...t.env, LIFEBOAT_TEST_NOW: justBeforeAMinute(), LIFEBOAT_SHUTDOWN_DEADLINE: '500ms' });
    await served.metricsUrl;
    await expect.poll(async () => (await runsOf(t.home)).find((r) => r.stages.some((s) => s.name === 'snapshot' && s.status === 'running'))?.status, { timeout: 30_000, interval: 200 }).toBe('running');
    await new Promise((r) => setTimeout(r, 1000));

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).toMatch(/shutdown deadline passed; cancelling/);
    expect(served.output()).toMatch(/1 cancelled at shutdown/);
    const [run] = await runsOf(t.home);
    expect(run?.status).toBe('cancelled');

    const check = await runCli(['check', 'demo', '--read-data'], { env: t.env, cwd: t.dir });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    // And the next backup works on that repository.
    const next = await runCli(['backup', 'demo'], { env: t.env, cwd: t.dir });
    expect(next.code, next.stderr).toBe(0);
  }, 90_000);

  it('SIGTERM lets a running backup finish when it ends within the deadline', async (ctx) => {
    const { expect } = ctx; // side by side, expect.poll needs the test's own expect
    const slow = `for i in $(seq 1 20); do head -c 65536 /dev/urandom; sleep 0.1; done`;
    const t = await setupRunbook(() => [{ name: 'slow', command: slow }], { backup: '* * * * *' });
    const served = startServe(ctx, t.dir, { ...t.env, LIFEBOAT_TEST_NOW: justBeforeAMinute(), LIFEBOAT_SHUTDOWN_DEADLINE: '1m' });
    await served.metricsUrl;
    await expect.poll(async () => (await runsOf(t.home))[0]?.status, { timeout: 30_000, interval: 100 }).toBe('running');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const [run] = await runsOf(t.home);
    expect(run?.status).toBe('succeeded');
    expect(served.output()).toMatch(/0 cancelled at shutdown/);
  }, 90_000);

  it('a runbook edited into an invalid state raises an alert and its last good version keeps running', async (ctx) => {
    const { expect } = ctx; // side by side, expect.poll needs the test's own expect
    const t = await setupRunbook((dir) => [{ name: 'files', path: join(dir, 'data') }], { backup: '*/2 * * * * *' });
    const served = startServe(ctx, t.dir, t.env);
    await served.metricsUrl;
    await expect.poll(async () => (await runsOf(t.home)).filter((r) => r.status === 'succeeded').length, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(1);

    const good = await readFile(t.file, 'utf8');
    await writeFile(t.file, good.replace(/rpo: .*/, 'rpo: whenever'));
    const edited = Date.now();
    await expect.poll(() => alertStatus(t.home, 'runbook-invalid:demo'), { timeout: 20_000, interval: 250 }).toBe('open');
    // Backups go on with the version that validated.
    await expect
      .poll(async () => (await runsOf(t.home)).filter((r) => r.status === 'succeeded' && Date.parse(r.startedAt) > edited + 500).length, { timeout: 20_000, interval: 250 })
      .toBeGreaterThanOrEqual(1);
    expect(served.output()).toMatch(/demo\.yaml:\d+:\d+: objectives\.rpo/);

    // SIGHUP re-reads too: fixing the file resolves the alert.
    await writeFile(t.file, good);
    served.child.kill('SIGHUP');
    await expect.poll(() => alertStatus(t.home, 'runbook-invalid:demo'), { timeout: 20_000, interval: 250 }).toBe('resolved');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  }, 90_000);
});
