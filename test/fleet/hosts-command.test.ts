/**
 * `lifeboat hosts` through the real CLI: on a PostgreSQL store, every host
 * (one up, one lost, one that runbooks name but no agent ever served) with its
 * version, last seen, running job and its runbooks' last backups, runbooks
 * without `host:` apart; the `--json` data against a golden file (ages and the
 * live host's times, which move with the real clock, blanked). On the JSON
 * store: the one local host and all its runbooks, and a line saying so.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostRegistry } from '../../src/core/fleet/hosts.js';
import { openPostgresStore, type PostgresStore } from '../../src/core/store/postgres/postgres-store.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { run } from '../core/store/helpers/records.js';

const tempDir = useTempDirs('hosts-command');
let state: PostgresAvailability = { ok: false, why: 'not probed' };
let cluster: PostgresCluster | undefined;
let store: PostgresStore | undefined;
let url = '';

beforeAll(async () => {
  await ensureCliBuilt();
  state = postgresAvailable();
  if (!state.ok) return;
  cluster = await startPostgres(state.bin, await tempDir());
  cluster.sql('postgres', 'CREATE DATABASE fleet');
  url = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/fleet?sslmode=disable`;
  store = await openPostgresStore(url, { migrate: true });
}, 120_000);

afterAll(async () => {
  await store?.close();
  cluster?.stop();
});

/** `<dir>/runbooks/<name>.yaml`, with `host:` when given. */
async function writeRunbooks(dir: string, runbooks: Record<string, string | undefined>): Promise<string> {
  const folder = join(dir, 'runbooks');
  await mkdir(folder, { recursive: true });
  for (const [name, host] of Object.entries(runbooks)) {
    const lines = [
      `name: ${name}`,
      ...(host === undefined ? [] : [`host: ${host}`]),
      'sources: [{ name: data, path: /srv/data }]',
      `repository: { hot: { url: "file:///var/backups/${name}" }, password: { env: LIFEBOAT_PASSWORD } }`,
      'objectives: { rpo: 26h, rto: 5m }',
      '',
    ];
    await writeFile(join(folder, `${name}.yaml`), lines.join('\n'));
  }
  return folder;
}

/** The --json data with what moves with the real clock blanked: every age, and the times of a host that beat just now. */
function stable(data: unknown): unknown {
  return JSON.parse(JSON.stringify(data), function (this: Record<string, unknown>, key, value: unknown) {
    if (/ageMs$/i.test(key)) return '<age>';
    if ((key === 'lastSeen' || key === 'firstSeen') && this.state === 'up') return '<now>';
    return value;
  });
}

describe('lifeboat hosts', () => {
  beforeEach((ctx) => skipWithoutTool(ctx, 'PostgreSQL', state));

  it('on PostgreSQL: hosts up, lost and never seen, with their running job and their runbooks’ last backups; --json as the golden file', async () => {
    const dir = await tempDir();
    const runbooks = await writeRunbooks(dir, { 'app-data': 'web-01', 'orders-db': 'web-01', media: 'db-01', 'new-app': 'web-02', scratch: undefined });
    // web-01 beats now (the database's clock), db-01 beat long ago and never again.
    await new HostRegistry(store!.pool).heartbeat({ name: 'web-01', version: '0.1.0', platform: 'linux x64', pid: 4100, runningJob: { jobId: 'j-7', runbook: 'orders-db', kind: 'backup', runId: 'r-live' } });
    await new HostRegistry(store!.pool, () => new Date('2026-01-01T08:00:00.000Z')).heartbeat({ name: 'db-01', version: '0.0.9', platform: 'linux arm64', pid: 300, runningJob: null });
    await store!.putRun(run('r-app', { runbook: 'app-data', host: 'web-01', startedAt: '2026-01-01T02:00:00.000Z', endedAt: '2026-01-01T02:01:00.000Z' }));
    await store!.putRun(run('r-media', { runbook: 'media', host: 'db-01', status: 'failed', startedAt: '2026-01-01T03:00:00.000Z', endedAt: '2026-01-01T03:00:30.000Z' }));
    await store!.putRun(run('r-media-ok', { runbook: 'media', host: 'db-01', startedAt: '2026-01-01T01:00:00.000Z', endedAt: '2026-01-01T01:00:30.000Z' }));
    const env = { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_STORE_URL: url };

    const text = await runCli(['hosts'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^3 hosts \(1 up, 1 lost, 1 never seen\)$/m);
    expect(text.stdout).toMatch(/HOST\s+STATE\s+LAST SEEN\s+VERSION\s+RUNNING\s+RUNBOOK\s+LAST BACKUP/);
    expect(text.stdout).toMatch(/db-01\s+LOST\s+\S+ ago\s+0\.0\.9\s+—\s+media\s+failed \S+ ago/);
    expect(text.stdout).toMatch(/web-01\s+up\s+\S+ ago\s+0\.1\.0\s+backup of orders-db\s+app-data\s+succeeded \S+ ago/);
    expect(text.stdout).toMatch(/^\s+orders-db\s+never\s*$/m);
    expect(text.stdout).toMatch(/web-02\s+never seen\s+never\s+—\s+—\s+new-app\s+never/);
    expect(text.stdout).toMatch(/\(any host\)\s+scratch\s+never/);

    const json = await runCli(['hosts', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    // The golden file: `npx vitest run test/fleet/hosts-command.test.ts -u` rewrites it; review the diff before keeping it.
    await expect(`${JSON.stringify(stable((JSON.parse(json.stdout) as { data: unknown }).data), null, 2)}\n`).toMatchFileSnapshot('./golden/hosts-postgres.json');
  });
});

describe('lifeboat hosts on the JSON store', () => {
  it('shows this machine as the one host, with every runbook, and says the JSON store has no agents', async () => {
    const dir = await tempDir();
    const runbooks = await writeRunbooks(dir, { 'app-data': undefined, media: 'db-01' });
    const env = { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_HOST: 'box-1' };
    const text = await runCli(['hosts'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^1 host, this machine \(box-1\)$/m);
    expect(text.stdout).toMatch(/box-1\s+this machine\s+—\s+—\s+—\s+app-data\s+never/);
    expect(text.stdout).toMatch(/^\s+media\s+never\s*$/m);
    expect(text.stdout).toContain('The JSON store has no agents: this machine runs every runbook.');
    const json = JSON.parse((await runCli(['hosts', '--json'], { env })).stdout) as { data: unknown };
    expect(json.data).toEqual({
      store: 'json',
      hosts: [{ name: 'box-1', state: 'local', runningJob: null, runbooks: [{ name: 'app-data', rpoState: 'no backup' }, { name: 'media', rpoState: 'no backup' }] }],
      anyHost: [],
    });
  });
});
