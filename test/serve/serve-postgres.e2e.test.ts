/**
 * serve on a PostgreSQL state store, as a real process: pointed at an empty
 * database (LIFEBOAT_STORE_URL), it applies the migrations at start, runs a
 * scheduled backup and records it there (not in a state.json); the CLI,
 * pointed at the same database, sees the run in `history`; /healthz is 200.
 * PostgreSQL is a real cluster started here (initdb + pg_ctl, loopback only).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { pipelineEnv } from '../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe } from '../helpers/serve-process.js';
import { useLifeboatPostgres, writeScheduledRunbook } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('serve-postgres');
const pg = useLifeboatPostgres(tempDir);

describe('serve on an empty PostgreSQL store', () => {
  it('migrates at start, records its scheduled backups there, and the CLI reads them from the same database', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const dir = await tempDir();
    const home = join(dir, 'home');
    const { runbooks } = await writeScheduledRunbook(dir, 'demo', { backup: '*/2 * * * * *' }, 'kept in postgres\n'.repeat(100));
    const query = pg.query;
    const url = pg.url();
    const env = pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_STORE_URL: url });
    expect((await runCli(['init', 'demo'], { env: pipelineEnv(home, { LIFEBOAT_RUNBOOKS: runbooks }), cwd: dir })).code).toBe(0);
    expect(query("SELECT count(*) FROM pg_tables WHERE tablename = 'lifeboat_schema'")).toBe('0');

    const served = pg.track(spawnServe({ cwd: dir, args: ['--metrics-port', '0'], env }));
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
