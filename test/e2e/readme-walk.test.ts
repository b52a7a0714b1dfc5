/**
 * README.md's "From the demo to production", executed: its marked blocks run
 * in order as written (bash -e -o pipefail: every command exits 0), its yaml
 * blocks are the files Lifeboat reads, against a real PostgreSQL cluster (the
 * state store, the `shop` database the runbook dumps, the `shop_drill` one
 * its drill restores into) and a real s3rver, then `lifeboat serve` is started
 * the way deploy/lifeboat.service starts it and the README's health check runs.
 *
 * What a test cannot do is replaced, and nothing else:
 * - Installing: no apt, no clone, no `npm ci`. The walk's `ln -s` is done
 *   with this checkout: `<root>/usr/local/bin/lifeboat` links to its
 *   bin/lifeboat.js (dist/ built first, as `npm ci` would).
 * - System paths: /etc/lifeboat, /var/lib/lifeboat and /usr/local/bin/lifeboat
 *   are moved under a temp root, in blocks, files and the unit alike; /opt/lifeboat
 *   is this checkout. The runbook's source `/etc` is the machine's real /etc.
 * - The `lifeboat` user: not created. `nobody` stands in for it (in `lb`'s
 *   setpriv and for serve, with the unit's AmbientCapabilities=, the state
 *   folder its own), so the walk also proves that user can do all of it and
 *   read all of /etc. That needs root (skipped otherwise, failed under CI);
 *   where setpriv is missing, `lb` loses its `setpriv …` and runs as root.
 * - /etc/lifeboat/env: the README's block must name exactly the variables
 *   this test writes there, with the values of its s3rver and cluster.
 * - systemd: instead of `systemctl enable --now`, the unit's ExecStart= runs
 *   with its Environment=, EnvironmentFile=, WorkingDirectory=, User= and
 *   AmbientCapabilities= (paths moved, user as above) until /healthz answers and the README's curl line has run, then
 *   gets SIGTERM and must exit 0. `systemd-analyze verify` is not run here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot } from '../helpers/cli.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../helpers/drill-postgres.js';
import { envNames, formatEnvFile, parseEnvFile, pathMapper, readUnitService, readWalk, type WalkBlock } from '../helpers/readme-walk.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const HEADING = 'From the demo to production';
const README = join(repoRoot, 'README.md');
const UNIT = join(repoRoot, 'deploy/lifeboat.service');
/** What serve listens on by default, as the README's curl line says. */
const HEALTHZ = 'http://127.0.0.1:9817/healthz';
/** The password of the `backup` role the walk's pg_dump, pg_restore and psql log in as. */
const DB_PASSWORD = 'readme-walk-db-password';

/** Each unmarked block's lines, one of these each: the steps this test replaces (see the header). */
const REPLACED_STEPS = [
  /^apt install /,
  /^git clone /,
  /^cd \/opt\/lifeboat && npm ci\b/,
  /^ln -s \/opt\/lifeboat\/bin\/lifeboat\.js \/usr\/local\/bin\/lifeboat$/,
  /^useradd --system /,
  /^install -d -o lifeboat -g lifeboat -m 700 \/var\/lib\/lifeboat$/,
  /^install -m 644 \/opt\/lifeboat\/deploy\/lifeboat\.service /,
  /^systemctl /,
  /^journalctl /,
];

/** The README's `lb` switches to the lifeboat user with setpriv; this machine has no such user. */
const SETPRIV = /exec setpriv [^\n]*\\\n\s*/;
const SETPRIV_USER = '--reuid=lifeboat --regid=lifeboat';
/** Who stands in for the lifeboat user when the test runs as root. */
const STAND_IN = 'nobody';

const tempDir = useTempDirs('readme-walk');

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function userIds(user: string): { uid: number; gid: number; group: string } {
  const id = (flag: string) => {
    const res = spawnSync('id', [flag, user], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`id ${flag} ${user}: ${res.stderr}`);
    return res.stdout.trim();
  };
  return { uid: Number(id('-u')), gid: Number(id('-g')), group: id('-gn') };
}

function run(argv: string[], options: { cwd: string; env: Record<string, string> }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('README: from the demo to production', () => {
  let availability: PostgresAvailability = { ok: false, why: 'not probed' };
  let cluster: PostgresCluster | undefined;
  let s3: RunningS3rver | undefined;
  let serve: ChildProcess | undefined;

  beforeAll(async () => {
    await ensureCliBuilt();
    availability = postgresAvailable();
    if (!availability.ok) return;
    cluster = await startPostgres(availability.bin, await tempDir());
    cluster.sql('postgres', 'CREATE DATABASE lifeboat');
    cluster.sql('postgres', 'CREATE DATABASE shop');
    cluster.sql('postgres', 'CREATE DATABASE shop_drill');
    cluster.sql('shop', "CREATE TABLE orders (id integer PRIMARY KEY, item text NOT NULL); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
    // The walk's `backup` role reads shop and owns shop_drill, and must give its password (the cluster trusts everyone else).
    cluster.sql('postgres', `CREATE ROLE backup LOGIN PASSWORD '${DB_PASSWORD}'`);
    cluster.sql('shop', 'GRANT SELECT ON orders TO backup');
    cluster.sql('postgres', 'ALTER DATABASE shop_drill OWNER TO backup');
    const hba = join(cluster.dir, 'data/pg_hba.conf');
    await writeFile(hba, `host all backup 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`);
    cluster.sql('postgres', 'SELECT pg_reload_conf()');
    // No bucket up front: the walk's `init` creates it.
    s3 = await startS3rver({ buckets: [] });
  }, 180_000);

  afterAll(async () => {
    if (serve && serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
    await s3?.stop();
    cluster?.stop();
  });

  it('runs every command of the walk as written, and serve answers /healthz', async (ctx) => {
    skipWithoutTool(ctx, 'PostgreSQL', availability);
    // The walk backs up all of /etc, which only root (or the unit's capability, given by root) can read whole.
    skipWithoutTool(ctx, 'root', process.getuid?.() === 0 ? { ok: true } : { ok: false, why: 'the walk backs up /etc whole (shadow too), which needs root to read or to grant the capability' });
    const pg = cluster!;
    const server = s3!;
    const root = await tempDir();
    const workdir = join(root, 'work');
    const move = pathMapper(root, repoRoot);
    const blocks = readWalk(README, HEADING);
    const where = (b: WalkBlock) => `README.md:${b.line}`;

    // The unmarked blocks are only the steps the header says this test replaces.
    for (const block of blocks.filter((b) => b.marker.kind === 'none')) {
      for (const line of block.body.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
        expect(REPLACED_STEPS.some((step) => step.test(line)), `${where(block)}: "${line}" is neither marked to run nor a step this test replaces`).toBe(true);
      }
    }
    // Their equivalents: the link on PATH, the state folder (the user is not made).
    await mkdir(join(root, 'usr/local/bin'), { recursive: true });
    await symlink(join(repoRoot, 'bin/lifeboat.js'), move('/usr/local/bin/lifeboat'));
    await mkdir(move('/var/lib/lifeboat'), { recursive: true, mode: 0o700 });
    await mkdir(workdir);
    // As root, nobody stands in for lifeboat: it owns the state folder and can reach it.
    const standIn = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') ? userIds(STAND_IN) : undefined;
    if (standIn) {
      for (const dir of [root, join(root, 'var'), join(root, 'var/lib')]) await chmod(dir, 0o711);
      await chown(move('/var/lib/lifeboat'), standIn.uid, standIn.gid);
    }

    const url = (db: string, user = pg.user) => `postgres://${user}@127.0.0.1:${pg.port}/${db}?sslmode=disable`;
    const secrets: Record<string, string> = {
      LIFEBOAT_STORE_URL: url('lifeboat'),
      AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: server.endpoint,
      DB01_REPO_PASSWORD: 'readme-walk-repository-password',
      SHOP_DB_URL: url('shop', 'backup'),
      SHOP_DRILL_DB_URL: url('shop_drill', 'backup'),
      SHOP_DB_PASSWORD: DB_PASSWORD,
    };
    const shellEnv: Record<string, string> = {
      PATH: `${join(root, 'usr/local/bin')}:${pg.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: join(root, 'root'),
      LANG: 'C.UTF-8',
      TZ: 'UTC',
    };
    await mkdir(shellEnv.HOME!);

    let defines = '';
    let envBlocks = 0;
    for (const block of blocks) {
      const { marker } = block;
      if (marker.kind === 'file') {
        expect(block.lang, `${where(block)}: a file block is yaml`).toBe('yaml');
        await writeFile(move(marker.path), move(block.body));
      } else if (marker.kind === 'env') {
        envBlocks++;
        expect(envNames(block.body).sort(), `${where(block)}: the variables of /etc/lifeboat/env`).toEqual(Object.keys(secrets).sort());
        const file = move('/etc/lifeboat/env');
        await writeFile(file, formatEnvFile(secrets), { mode: 0o600 });
      } else if (marker.kind === 'define') {
        expect(block.body, `${where(block)}: lb switches user with setpriv`).toMatch(SETPRIV);
        expect(block.body, `${where(block)}: lb switches to lifeboat`).toContain(SETPRIV_USER);
        const asUser = standIn ? block.body.replace(SETPRIV_USER, `--reuid=${STAND_IN} --regid=${standIn.group}`) : block.body.replace(SETPRIV, 'exec ');
        defines += move(asUser);
      } else if (marker.kind === 'run') {
        if (block.body.includes('/healthz')) continue; // needs serve: run below
        const ran = await run(['bash', '-e', '-o', 'pipefail', '-c', `${defines}\n${move(block.body)}`], { cwd: workdir, env: shellEnv });
        expect(ran.code, `${where(block)} exited ${ran.code ?? ran.signal}:\n${block.body}\n--- output:\n${ran.output}`).toBe(0);
      }
    }
    expect(envBlocks, 'one env block').toBe(1);

    // What the walk left: history in PostgreSQL, state in the home lifeboat.yaml names, data in the bucket.
    const lb = (args: string) => run(['bash', '-e', '-c', `${defines}\nlb ${args}`], { cwd: workdir, env: shellEnv });
    const status = await lb('status --json');
    expect(status.code, status.output).toBe(0);
    const row = (JSON.parse(status.output) as { data: Array<Record<string, unknown>> }).data.find((r) => r.runbook === 'db01') as
      | { lastRun?: { status: string }; lastDrill?: { verdict: string; rtoMs: number; snapshotId: string }; openAlerts: unknown[] }
      | undefined;
    expect(row, status.output).toBeDefined();
    expect(row!.lastRun?.status).toBe('succeeded');
    expect(row!.lastDrill?.verdict).toBe('met');
    expect(row!.lastDrill?.rtoMs).toBeGreaterThan(0);
    expect(row!.openAlerts).toEqual([]);
    expect(pg.sql('lifeboat', "SELECT count(*) FROM runs WHERE runbook = 'db01' AND kind = 'backup' AND status = 'succeeded'").trim()).not.toBe('0');
    expect(pg.sql('lifeboat', "SELECT count(*) FROM drills WHERE runbook = 'db01'").trim()).not.toBe('0');
    // The drill really restored the dump: every order is in the scratch database.
    expect(pg.sql('shop_drill', 'SELECT count(*) FROM orders').trim()).toBe('1000');
    expect(await readdir(join(server.directory, 'acme-backups/db01'))).toEqual(expect.arrayContaining(['data', 'index', 'keys', 'snapshots']));
    // Nothing was made where the commands ran: home came from lifeboat.yaml.
    expect(await readdir(workdir)).toEqual([]);
    expect((await stat(move('/var/lib/lifeboat'))).isDirectory()).toBe(true);
    if (standIn) {
      // Everything in the state folder is the service user's: no root-owned file that serve could not write later.
      for (const entry of await readdir(move('/var/lib/lifeboat'), { recursive: true })) {
        expect((await stat(join(move('/var/lib/lifeboat'), entry))).uid, `state folder entry ${entry}`).toBe(standIn.uid);
      }
    }

    // serve, started as the unit starts it.
    const unit = readUnitService(move(await readFile(UNIT, 'utf8')));
    expect(unit.user).toBe('lifeboat');
    const unitEnv: Record<string, string> = {
      // What systemd gives a service with User= (its default PATH, the user's HOME), then the unit's own.
      PATH: shellEnv.PATH!,
      HOME: move('/var/lib/lifeboat'),
      LANG: 'C.UTF-8',
      ...unit.environment,
    };
    for (const file of unit.environmentFiles) Object.assign(unitEnv, parseEnvFile(await readFile(file, 'utf8')));
    const [exe, ...args] = unit.execStart;
    expect(existsSync(exe!), `ExecStart= ${exe} exists after the walk`).toBe(true);
    const caps = unit.ambientCapabilities.map((c) => `+${c}`).join(',');
    const asService = standIn
      ? ['/usr/bin/setpriv', `--reuid=${STAND_IN}`, `--regid=${standIn.group}`, '--init-groups', ...(caps ? [`--inh-caps=${caps}`, `--ambient-caps=${caps}`] : []), exe!, ...args]
      : [exe!, ...args];
    // Else the health check below could be answered by someone else's serve.
    expect(await fetch(HEALTHZ).then(() => `${HEALTHZ} already answers`, () => 'free'), 'nothing listens on the port before serve starts').toBe('free');
    let serveLog = '';
    const child = spawn(asService[0]!, asService.slice(1), { cwd: unit.workingDirectory ?? '/', env: unitEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    serve = child;
    child.stdout.on('data', (d: Buffer) => (serveLog += d.toString()));
    child.stderr.on('data', (d: Buffer) => (serveLog += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let healthy = false;
    while (!healthy && child.exitCode === null) {
      healthy = await fetch(HEALTHZ).then((r) => r.ok, () => false);
      if (!healthy) await sleep(200);
    }
    expect(healthy, `serve never answered ${HEALTHZ}:\n${serveLog}`).toBe(true);
    for (const block of blocks.filter((b) => b.marker.kind === 'run' && b.body.includes('/healthz'))) {
      const ran = await run(['bash', '-e', '-o', 'pipefail', '-c', `${defines}\n${move(block.body)}`], { cwd: workdir, env: shellEnv });
      expect(ran.code, `${where(block)} exited ${ran.code ?? ran.signal}:\n${ran.output}\n--- serve:\n${serveLog}`).toBe(0);
    }
    child.kill('SIGTERM');
    const end = await exited;
    expect(end, `serve after SIGTERM:\n${serveLog}`).toEqual({ code: 0, signal: null });
  }, 600_000);
});
