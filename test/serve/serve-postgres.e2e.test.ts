/**
 * serve on a PostgreSQL state store, as a real process: pointed at an empty
 * database (LIFEBOAT_STORE_URL), it applies the migrations at start, runs a
 * scheduled backup and records it there (not in a state.json); the CLI,
 * pointed at the same database, sees the run in `history`; /healthz is 200.
 * PostgreSQL is a real cluster started here (initdb + pg_ctl, loopback only).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe, type SpawnedServe } from '../helpers/serve-process.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('serve-postgres');
let availability: PostgresAvailability;
let cluster: PostgresCluster | undefined;
let served: SpawnedServe | undefined;

beforeAll(async () => {
  await ensureCliBuilt();
  availability = postgresAvailable();
  if (!availability.ok) return;
  cluster = await startPostgres(availability.bin, await tempDir());
  cluster.sql('postgres', 'CREATE DATABASE lifeboat');
}, 120_000);

afterAll(async () => {
  if (served && served.child.exitCode === null) {
    served.child.kill('SIGKILL');
    await served.exited;
  }
  cluster?.stop();
});

describe('serve on an empty PostgreSQL store', () => {
  it('migrates at start, records its scheduled backups there, and the CLI reads them from the same database', async (ctx) => {
    if (!availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', availability);
    const pgCluster = cluster!;
    const dir = await tempDir();
    const runbooks = join(dir, 'runbooks');
    const home = join(dir, 'home');
    await mkdir(runbooks);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'a.txt'), 'kept in postgres\n'.repeat(100));
    const file = writePipelineRunbook(runbooks, 'demo', { sources: [{ name: 'files', path: join(dir, 'data') }], repo: join(dir, 'repo') });
    const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    doc.schedule = { backup: '*/2 * * * * *', timezone: 'UTC' };
    await writeFile(file, stringify(doc));
    const query = (sql: string) => pgCluster.sql('lifeboat', sql).trim();
    const url = `postgres://${pgCluster.user}@127.0.0.1:${pgCluster.port}/lifeboat?sslmode=disable`;
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_STORE_URL: url });
    expect((await runCli(['init', 'demo'], { env: pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks }), cwd: dir })).code).toBe(0);
    expect(query("SELECT count(*) FROM pg_tables WHERE tablename = 'lifeboat_schema'")).toBe('0');

    served = spawnServe({ cwd: dir, args: ['--metrics-port', '0'], env });
    const metricsUrl = (await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 30_000))[1]!;
    // Migrated by serve's start: the schema table says version 1 or later.
    expect(Number(query('SELECT max(version) FROM lifeboat_schema'))).toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => Number(query("SELECT count(*) FROM runs WHERE runbook = 'demo' AND status = 'succeeded'")), { timeout: 30_000, interval: 250 })
      .toBeGreaterThanOrEqual(1);
    const health = await fetch(`${metricsUrl}/healthz`);
    expect(health.status).toBe(200);

    // The runs live in PostgreSQL, not in a state file beside them.
    const fromPostgres = await runCli(['history', 'demo', '--json'], { env, cwd: dir });
    expect(fromPostgres.code, fromPostgres.stderr).toBe(0);
    const runs = (JSON.parse(fromPostgres.stdout) as { data: { status: string; actor: { face: string } }[] }).data;
    expect(runs.some((r) => r.status === 'succeeded' && r.actor.face === 'scheduler')).toBe(true);
    const stateFile = join(home, 'state.json');
    const jsonRuns = existsSync(stateFile) ? ((JSON.parse(await readFile(stateFile, 'utf8')) as { runs?: unknown[] }).runs ?? []) : [];
    expect(jsonRuns).toEqual([]);

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.output()).not.toContain(url);
  }, 120_000);
});
