/**
 * `lifeboat store migrate` and `lifeboat store import <state.json>` through the
 * real CLI, into a real PostgreSQL started here (initdb + pg_ctl, loopback
 * only). The state file is made by real CLI runs: two backups and a drill of a
 * small runbook, and a failing backup of another whose alert is routed to a
 * webhook that is down (so it has a pending delivery).
 *
 * - `store migrate`: from empty (schema 0 → 1), then again (nothing to do);
 *   against the JSON store it says there is nothing to migrate.
 * - `store import` twice: the same counts, nothing doubled in the tables, and
 *   `history`, `status` and `alerts` with LIFEBOAT_STORE_URL show what they
 *   show against the JSON file.
 * - The least-privilege role of the README (DML and sequence use, no CREATE)
 *   imports and reads once the owner migrated; serve's open migrates only a
 *   schema that is behind.
 * - Bad input: a missing file, a file that is not JSON, and no PostgreSQL
 *   configured (importing into the JSON store itself) are refused, exit 2,
 *   naming the file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openConfiguredStore } from '../../src/core/store/open-store.js';
import { latestSchemaVersion } from '../../src/core/store/postgres/migrations.js';
import type { StateFile } from '../../src/core/store/state-file.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { freePort, postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('store-import');

let availability: PostgresAvailability;
let cluster: PostgresCluster | undefined;
let place: { dir: string; env: Record<string, string>; stateFile: string; storeUrl: string };

beforeAll(async () => {
  await ensureCliBuilt();
  availability = postgresAvailable();
  if (!availability.ok) return;
  const base = await tempDir();
  cluster = await startPostgres(availability.bin, base);
  cluster.sql('postgres', 'CREATE DATABASE lifeboat');

  const dir = await tempDir();
  const runbooks = join(dir, 'runbooks');
  await mkdir(runbooks);
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'a.txt'), 'alpha\n');
  await writeFile(join(dir, 'data', 'b.txt'), 'beta\n'.repeat(100));
  const runbook = (name: string, source: string, extra: Record<string, unknown> = {}) =>
    writeFile(
      join(runbooks, `${name}.yaml`),
      stringify({
        name,
        owner: '@lifeboat-tests',
        sources: [{ name: 'data', path: source }],
        repository: { hot: { url: `file://${join(dir, `repo-${name}`)}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
        objectives: { rpo: '26h', rto: '5m' },
        ...extra,
      }),
    );
  await runbook('ledger', join(dir, 'data'));
  // Its source is missing: the backup fails and raises failed-run:broken, owed to a webhook nobody listens on.
  await runbook('broken', join(dir, 'missing'), { alerts: { notify: ['hook'] } });
  await writeFile(join(dir, 'lifeboat.yaml'), stringify({ notify: { hook: { type: 'webhook', url: `http://127.0.0.1:${await freePort()}/lifeboat` } } }));
  const env = { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_PASSWORD: 'store import tests' };
  const expectations: [string[], number][] = [
    [['init', 'ledger'], 0],
    [['backup', 'ledger'], 0],
    [['backup', 'ledger'], 0],
    [['restore-drill', 'ledger'], 0],
    [['init', 'broken'], 0],
    [['backup', 'broken'], 1],
  ];
  for (const [args, code] of expectations) {
    const res = await runCli(args, { env, cwd: dir });
    expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(code);
  }
  place = { dir, env, stateFile: join(dir, 'home', 'state.json'), storeUrl: `postgres://${cluster.user}@127.0.0.1:${cluster.port}/lifeboat?sslmode=disable` };
}, 240_000);

afterAll(() => cluster?.stop());

const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...place.env, ...extra }, cwd: place.dir });
const withPostgres = () => ({ LIFEBOAT_STORE_URL: place.storeUrl });
const countRows = (table: string) => Number(cluster!.sql('lifeboat', `SELECT count(*) FROM ${table}`).trim());

describe('store migrate and store import into PostgreSQL', () => {
  it('migrates from empty, then again as a no-op; the JSON store has nothing to migrate', async (ctx) => {
    skipWithoutTool(ctx, 'PostgreSQL', availability);
    const json = await cli(['store', 'migrate']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toContain(`Nothing to migrate: the state store is the JSON file ${place.stateFile}`);

    // Before any migration, a command against the store says what to run.
    const early = await cli(['history'], withPostgres());
    expect(early.code).not.toBe(0);
    expect(`${early.stdout}${early.stderr}`).toContain('lifeboat store migrate');

    const first = await cli(['store', 'migrate'], withPostgres());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Store at 127.0.0.1:${cluster!.port}/lifeboat migrated from schema 0 to ${latestSchemaVersion}`);
    // The URL is a secret: only host, port and database are ever shown.
    expect(first.stdout).not.toContain('postgres://');
    const again = await cli(['store', 'migrate', '--json'], withPostgres());
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ summary: expect.stringContaining(`is up to date (schema ${latestSchemaVersion}); nothing to migrate`), data: { from: latestSchemaVersion, to: latestSchemaVersion, applied: [] } });
  });

  it('imports a real state.json twice: the same counts, nothing doubled, and history, status and alerts read the same', async (ctx) => {
    skipWithoutTool(ctx, 'PostgreSQL', availability);
    const state = JSON.parse(await readFile(place.stateFile, 'utf8')) as StateFile;
    expect(state.runs.length).toBe(3);
    expect(state.drills).toHaveLength(1);
    expect(state.alerts.map((a) => a.key)).toContain('failed-run:broken');
    expect(state.deliveries.length).toBeGreaterThanOrEqual(1);

    // Views against the JSON file first, at one fixed time so ages read alike.
    const now = { LIFEBOAT_TEST_NOW: new Date(Date.now() + 3_600_000).toISOString() };
    const views = async (extra: Record<string, string>) => {
      const out: Record<string, unknown> = {};
      for (const args of [['history', '--json'], ['status', '--json'], ['alerts', '--all', '--json'], ['history', 'ledger']]) {
        const res = await cli(args, { ...now, ...extra });
        expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
        // The test clock starts at `now` and runs on: ages are compared to the minute.
        const ages = (key: string, value: unknown) => (key === 'ageMs' && typeof value === 'number' ? Math.round(value / 60_000) : value);
        out[args.join(' ')] = args.includes('--json') ? (JSON.parse(res.stdout, ages) as { data: unknown }).data : res.stdout;
      }
      return out;
    };
    const fromJson = await views({});

    await cli(['store', 'migrate'], withPostgres());
    const counts = `${state.runs.length} runs, ${state.drills.length} drills, ${state.alerts.length} alerts, ${state.deliveries.length} deliveries, ${state.audit.length} audit entries`;
    for (let i = 0; i < 2; i++) {
      const res = await cli(['store', 'import', place.stateFile], withPostgres());
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain(`Imported ${place.stateFile}: ${counts}`);
    }
    expect(countRows('runs')).toBe(state.runs.length);
    expect(countRows('drills')).toBe(state.drills.length);
    expect(countRows('alerts')).toBe(state.alerts.length);
    expect(countRows('deliveries')).toBe(state.deliveries.length);
    const ids = state.audit.map((e) => `'${e.id}'`).join(',');
    expect(Number(cluster!.sql('lifeboat', `SELECT count(*) FROM audit WHERE id IN (${ids})`).trim())).toBe(state.audit.length);
    // Each delivery keeps its alert, sink, transition and status.
    const delivered = cluster!.sql('lifeboat', `SELECT id, alert_key, sink, record->>'transition', status FROM deliveries ORDER BY id`).trim().split('\n');
    expect(delivered).toEqual(
      [...state.deliveries].sort((a, b) => (a.id < b.id ? -1 : 1)).map((d) => [d.id, d.alertKey, d.sink, d.transition, d.status].join('|')),
    );

    expect(await views(withPostgres())).toEqual(fromJson);
  });

  it('refuses a missing file, a file that is not JSON, and importing with no PostgreSQL configured, naming the file (exit 2)', async (ctx) => {
    skipWithoutTool(ctx, 'PostgreSQL', availability);
    const missing = join(place.dir, 'nowhere.json');
    const gone = await cli(['store', 'import', missing], withPostgres());
    expect(gone.code).toBe(2);
    expect(gone.stderr + gone.stdout).toContain(`Cannot import ${missing}: no such file`);

    const notJson = join(place.dir, 'notes.json');
    await writeFile(notJson, 'runs: [1, 2\n');
    const bad = await cli(['store', 'import', notJson], withPostgres());
    expect(bad.code).toBe(2);
    expect(bad.stderr + bad.stdout).toMatch(new RegExp(`Cannot import ${notJson.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON .*Nothing was imported`));

    const other = join(place.dir, 'other.json');
    await writeFile(other, JSON.stringify({ format: 'something-else', version: 1 }));
    const wrong = await cli(['store', 'import', other], withPostgres());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr + wrong.stdout).toContain(`Cannot import ${other}: not a Lifeboat state file`);

    const noStore = await cli(['store', 'import', place.stateFile]);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr + noStore.stdout).toContain(`No PostgreSQL store is configured, so there is nowhere to import ${place.stateFile} into`);

    const usage = await cli(['store', 'import'], withPostgres());
    expect(usage.code).toBe(2);
    expect(usage.stderr + usage.stdout).toContain('`store import` takes one state file');
  });

  it('the README\'s least-privilege role imports and reads after the owner migrated; an open that may migrate does so only when behind', async (ctx) => {
    skipWithoutTool(ctx, 'PostgreSQL', availability);
    const db = 'lifeboat_roles';
    cluster!.sql('postgres', 'CREATE ROLE lifeboat_owner LOGIN; CREATE ROLE lifeboat_app LOGIN');
    cluster!.sql('postgres', `CREATE DATABASE ${db} OWNER lifeboat_owner`);
    // As written in the README (State store), the owner's default privileges before its migration.
    cluster!.sql(
      db,
      [
        `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
        `ALTER SCHEMA public OWNER TO lifeboat_owner`,
        `GRANT CONNECT ON DATABASE ${db} TO lifeboat_app`,
        `GRANT USAGE ON SCHEMA public TO lifeboat_app`,
        `ALTER DEFAULT PRIVILEGES FOR ROLE lifeboat_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lifeboat_app`,
        `ALTER DEFAULT PRIVILEGES FOR ROLE lifeboat_owner IN SCHEMA public GRANT USAGE ON SEQUENCES TO lifeboat_app`,
      ].join('; '),
    );
    const url = (role: string) => `postgres://${role}@127.0.0.1:${cluster!.port}/${db}`;
    const home = join(place.dir, 'roles-home');

    // The app role may not create tables: its serve-style open of an empty database fails, changing nothing.
    await expect(openConfiguredStore({ env: { LIFEBOAT_STORE_URL: url('lifeboat_app') }, home, migrate: true })).rejects.toThrow(/permission denied/);
    expect(cluster!.sql(db, `SELECT to_regclass('lifeboat_schema') IS NULL`).trim()).toBe('t');

    const migrated = await cli(['store', 'migrate'], { LIFEBOAT_STORE_URL: url('lifeboat_owner') });
    expect(migrated.code, migrated.stderr).toBe(0);
    // Current now: an open that may migrate does not try (and so needs no CREATE right).
    const store = await openConfiguredStore({ env: { LIFEBOAT_STORE_URL: url('lifeboat_app') }, home, migrate: true });
    await store.close();

    const asApp = { LIFEBOAT_STORE_URL: url('lifeboat_app') };
    const imported = await cli(['store', 'import', place.stateFile], asApp);
    expect(imported.code, imported.stderr).toBe(0);
    const history = await cli(['history', '--json'], asApp);
    expect(history.code, history.stderr).toBe(0);
    const state = JSON.parse(await readFile(place.stateFile, 'utf8')) as StateFile;
    // history shows runs and drills.
    expect((JSON.parse(history.stdout) as { data: { id: string }[] }).data.map((r) => r.id).sort()).toEqual([...state.runs, ...state.drills].map((r) => r.id).sort());
    // And it may not change the schema.
    expect(() => cluster!.sql(db, `SET ROLE lifeboat_app; CREATE TABLE sneaky (x int)`)).toThrow(/permission denied/);
  });
});
