/**
 * `lifeboat serve`'s /metrics as Prometheus' own linter sees it: a real serve
 * (child process, --metrics-port 0) watches real CLI backups that succeed, end
 * partial and fail, and a restore drill; its scrape goes through `promtool
 * check metrics` (Debian's `prometheus` package; .ci/run installs it), which
 * rejects a gauge named `_total`, a counter without it, a `_count` that is not
 * a histogram's, missing HELP, and non-base units. The numbers are checked
 * against the store's records too. And: an address the network can reach is
 * warned about on stderr at start.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { openJsonStore } from '../../src/core/store/index.js';
import type { RunRecord } from '../../src/core/store/records.js';
import { ensureCliBuilt, repoRoot, runCli } from '../helpers/cli.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe, type SpawnedServe } from '../helpers/serve-process.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('metrics-promtool');
const children: ChildProcess[] = [];

beforeAll(ensureCliBuilt, 120_000);

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function promtool(): { ok: true } | { ok: false; why: string } {
  const res = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return res.error ? { ok: false, why: `promtool is not installed (Debian: apt-get install prometheus): ${res.error.message}` } : { ok: true };
}

/** The runbook files without their schedule: nothing may fire while the test drives the runs. */
async function unscheduled(file: string): Promise<void> {
  const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  delete doc.schedule;
  await writeFile(file, stringify(doc));
}

function started(served: SpawnedServe): SpawnedServe {
  children.push(served.child);
  return served;
}

/** The one sample line of `name` with exactly `labels` (in prom-client's order), as a number. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function backupsOf(home: string, runbook: string): Promise<RunRecord[]> {
  const store = await openJsonStore(home);
  try {
    return await store.listRuns({ runbook, kind: 'backup' });
  } finally {
    await store.close();
  }
}

async function stop(served: SpawnedServe): Promise<void> {
  served.child.kill('SIGTERM');
  expect(await served.exited, served.output()).toBe(0);
}

describe('/metrics of a real serve', () => {
  it('passes promtool check metrics after backups that succeeded, ended partial and failed, and a drill', async (ctx) => {
    skipWithoutTool(ctx, 'promtool', promtool());
    const dir = await tempDir();
    const runbooks = join(dir, 'runbooks');
    const home = join(dir, 'home');
    await mkdir(join(dir, 'data'), { recursive: true });
    await mkdir(runbooks);
    await writeFile(join(dir, 'data', 'orders.csv'), 'id,total\n1,10\n2,20\n'.repeat(500));
    // Marker files in the runbooks folder (hooks and commands run there) steer the next backup's outcome.
    const app = writePipelineRunbook(runbooks, 'app', {
      repo: join(dir, 'repo-app'),
      sources: [
        { name: 'files', path: join(dir, 'data') },
        { name: 'events', command: "if [ -f fail-stream ]; then echo 'events: broker down' >&2; exit 3; fi; echo event-log", restore: 'cat > /dev/null' },
      ],
      hooks: { before: ['test ! -f fail-all || { echo "maintenance window closed" >&2; exit 1; }'] },
    });
    const wiki = writePipelineRunbook(runbooks, 'wiki', { repo: join(dir, 'repo-wiki'), sources: [{ name: 'pages', path: join(dir, 'data') }], retention: { last: 1 } });
    await unscheduled(app);
    await unscheduled(wiki);
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks });
    for (const name of ['app', 'wiki']) expect((await runCli(['init', name], { env, cwd: dir })).code).toBe(0);

    const served = started(spawnServe({ cwd: dir, env, args: ['--metrics-port', '0'] }));
    const [, url] = await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);

    await writeFile(join(runbooks, 'fail-stream'), '');
    const partial = await runCli(['backup', 'app'], { env, cwd: dir });
    expect(partial.code, partial.stderr).toBe(3);
    await rm(join(runbooks, 'fail-stream'));
    const succeeded = await runCli(['backup', 'app'], { env, cwd: dir });
    expect(succeeded.code, succeeded.stderr).toBe(0);
    await writeFile(join(runbooks, 'fail-all'), '');
    const failed = await runCli(['backup', 'app'], { env, cwd: dir });
    expect(failed.code, failed.stderr).not.toBe(0);
    for (const round of [1, 2]) expect((await runCli(['backup', 'wiki'], { env, cwd: dir })).code, `wiki backup ${round}`).toBe(0);
    const drill = await runCli(['restore-drill', 'wiki'], { env, cwd: dir });
    expect(drill.code, drill.stdout + drill.stderr).toBe(0);

    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, said: `${check.stdout}${check.stderr}`.trim() }, text).toEqual({ status: 0, said: '' });

    // What promtool cannot know: the values say what the store says.
    const [failedRun, succeededRun, partialRun] = await backupsOf(home, 'app');
    expect([failedRun?.status, succeededRun?.status, partialRun?.status]).toEqual(['failed', 'succeeded', 'partial']);
    const app_ = '{runbook="app"}';
    expect(sample(text, 'lifeboat_backup_last_success_timestamp_seconds', app_)).toBeCloseTo(Date.parse(succeededRun!.endedAt!) / 1000, 3);
    expect(sample(text, 'lifeboat_backup_last_failure_timestamp_seconds', app_)).toBeCloseTo(Date.parse(failedRun!.endedAt!) / 1000, 3);
    expect(sample(text, 'lifeboat_backup_last_attempt_timestamp_seconds', app_)).toBeCloseTo(Date.parse(failedRun!.startedAt) / 1000, 3);
    // The partial and the succeeded backup each wrote a snapshot; the failed one stopped at its before hook.
    expect(sample(text, 'lifeboat_snapshots', app_)).toBe(2);
    // Two backups, retention keeps the last one: counted after retention.
    expect(sample(text, 'lifeboat_snapshots', '{runbook="wiki"}')).toBe(1);
    for (const [outcome, count] of [['succeeded', 1], ['partial', 1], ['failed', 1]] as const) {
      expect(sample(text, 'lifeboat_runs_total', `{runbook="app",kind="backup",outcome="${outcome}"}`), outcome).toBe(count);
    }
    expect(sample(text, 'lifeboat_runs_total', '{runbook="wiki",kind="drill",outcome="met"}')).toBe(1);
    expect(sample(text, 'lifeboat_drill_last_rto_seconds', '{runbook="wiki",tier="hot"}')).toBeGreaterThan(0);
    const version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expect(sample(text, 'lifeboat_build_info', `{version="${version}",node_version="${process.version}"}`)).toBe(1);
    expect(sample(text, 'process_cpu_seconds_total', '')).toBeGreaterThan(0);
    expect(text).not.toMatch(/^lifeboat_(process|nodejs)_/m);
    // On 127.0.0.1 (the default) there is nothing to warn about.
    expect(served.output()).not.toContain('exposed on');
    await stop(served);
  }, 180_000);

  it('warns on stderr at start when /metrics listens on an address the network can reach', async () => {
    const dir = await tempDir();
    const env = pipelineEnv(join(dir, 'home'), { LIFEBOAT_RUNBOOKS: join(dir, 'runbooks') });
    await mkdir(join(dir, 'runbooks'));
    const served = started(spawnServe({ cwd: dir, env: { ...env, LIFEBOAT_METRICS_HOST: '0.0.0.0' }, args: ['--metrics-port', '0'] }));
    let stderr = '';
    served.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const [, port] = await served.waitFor(/metrics and health exposed on 0\.0\.0\.0:(\d+): they name every runbook and host; put them behind a firewall or reverse proxy/);
    expect(stderr).toContain(`warn: lifeboat serve: metrics and health exposed on 0.0.0.0:${port}: they name every runbook and host; put them behind a firewall or reverse proxy\n`);
    // It does listen there: the loopback address reaches it too.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await stop(served);
  }, 60_000);
});
