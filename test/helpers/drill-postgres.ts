/**
 * A throwaway PostgreSQL cluster for the database drill test: Debian's server
 * binaries (/usr/lib/postgresql/<version>/bin), `initdb` into a temp folder,
 * `pg_ctl start` listening on 127.0.0.1 only, on a free port, with its unix
 * socket in the temp folder and trust authentication (nothing else can reach
 * it). PostgreSQL refuses to run as root, so when the tests run as root the
 * server runs as `nobody` (through `runuser`), and clients connect over TCP as
 * that database user.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';

const SERVER_TOOLS = ['initdb', 'pg_ctl', 'postgres', 'pg_dump', 'pg_restore', 'psql'];

/** The bin folder of the newest PostgreSQL under /usr/lib/postgresql with every tool the test uses. */
export function findPostgresBin(root = '/usr/lib/postgresql'): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  return versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'))
    .find((bin) => SERVER_TOOLS.every((t) => existsSync(join(bin, t))));
}

export type PostgresAvailability = { ok: true; bin: string } | { ok: false; why: string };

/**
 * PostgreSQL's binaries if they are there; otherwise one quiet attempt to
 * install Debian's package `postgresql` when we may (root, apt-get), as .ci/run does.
 */
export function postgresAvailable(): PostgresAvailability {
  const found = findPostgresBin();
  if (found) return { ok: true, bin: found };
  const root = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !apt) {
    return { ok: false, why: `PostgreSQL (initdb, pg_ctl) is not under /usr/lib/postgresql/*/bin and cannot be installed here (${root ? 'no apt-get' : 'not root'}); .ci/run installs the Debian package postgresql` };
  }
  const res = spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql'], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const installed = findPostgresBin();
  if (res.status === 0 && installed) return { ok: true, bin: installed };
  return {
    ok: false,
    why: `PostgreSQL is not installed and apt-get could not install it (exit ${res.status}): ${`${res.stderr ?? ''}`.trim().split('\n').slice(-3).join(' / ')}`,
  };
}

/** A free TCP port on 127.0.0.1 (free when asked; the server start retries if someone takes it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface PostgresCluster {
  bin: string;
  /** OS user the server runs as, and the database superuser clients connect as. */
  user: string;
  port: number;
  /** Folder of the data directory, socket and log; owned by `user`. */
  dir: string;
  /** psql's connection options for a shell command: `<bin>/psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p <port> -U <user>`. */
  psqlCommand: string;
  /** `-h 127.0.0.1 -p <port> -U <user>` for pg_dump and pg_restore. */
  connection: string;
  /** Run SQL in `db` as the superuser over TCP; returns psql's unaligned output (throws on any error). */
  sql(db: string, sql: string): string;
  /** `pg_ctl stop -m immediate`; safe to call twice. */
  stop(): void;
  /** `pg_ctl start` again after stop(), on the same port and data (a crash recovery after `-m immediate`); waits until it accepts connections. */
  start(): void;
}

/** The argv prefix that runs a command as `user`: runuser, or setpriv where runuser is missing. */
function dropPrivileges(user: string): string[] {
  const find = (name: string) => ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
  const runuser = find('runuser');
  if (runuser) return [runuser, '-u', user, '--'];
  const setpriv = find('setpriv');
  if (setpriv) return [setpriv, `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--'];
  throw new Error(`neither runuser nor setpriv is installed: cannot run PostgreSQL as ${user}`);
}

function check(what: string, res: SpawnSyncReturns<string>): string {
  if (res.error) throw new Error(`${what}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${what} failed (exit ${res.status ?? res.signal}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/**
 * initdb + pg_ctl start in `<parent>/pg`. `parent` is made traversable (0711)
 * so the server's user can reach its own folder; nothing else in it is opened up.
 */
export async function startPostgres(bin: string, parent: string): Promise<PostgresCluster> {
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? 'nobody' : userInfo().username;
  const dir = join(parent, 'pg');
  await mkdir(dir);
  if (asRoot) {
    const ids = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', user], { encoding: 'utf8' });
    if (ids.status !== 0 || gids.status !== 0) throw new Error(`user ${user} is missing: cannot run PostgreSQL as non-root`);
    await chmod(parent, 0o711);
    await chown(dir, Number(ids.stdout), Number(gids.stdout));
  }
  await chmod(dir, 0o700);
  const env = { PATH: `${bin}:/usr/bin:/bin`, LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
  const drop = asRoot ? dropPrivileges(user) : [];
  const asUser = (args: string[], timeout = 60_000) => {
    const argv = [...drop, ...args];
    return spawnSync(argv[0]!, argv.slice(1), { cwd: dir, env, encoding: 'utf8', timeout });
  };

  const data = join(dir, 'data');
  check('initdb', asUser([join(bin, 'initdb'), '-D', data, '-U', user, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']));

  let port = 0;
  let lastError: unknown;
  let serverOptions = '';
  for (let attempt = 0; attempt < 3 && !port; attempt++) {
    const candidate = await freePort();
    const options = [
      `-c listen_addresses=127.0.0.1`,
      `-c port=${candidate}`,
      `-c unix_socket_directories='${dir}'`,
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c synchronous_commit=off',
    ].join(' ');
    const res = asUser([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, `server-${attempt}.log`), '-w', '-t', '60', '-o', options, 'start'], 90_000);
    try {
      check('pg_ctl start', res);
      port = candidate;
      serverOptions = options;
    } catch (e) {
      lastError = e;
    }
  }
  if (!port) throw lastError;

  const connection = `-h 127.0.0.1 -p ${port} -U ${user}`;
  let stopped = false;
  return {
    bin,
    user,
    port,
    dir,
    connection,
    psqlCommand: `${join(bin, 'psql')} -X -At -v ON_ERROR_STOP=1 ${connection}`,
    sql(db, sql) {
      return check(
        `psql ${db}`,
        spawnSync(join(bin, 'psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', db, '-c', sql], {
          env,
          encoding: 'utf8',
          timeout: 60_000,
        }),
      );
    },
    stop() {
      if (stopped) return;
      stopped = true;
      asUser([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    start() {
      if (!stopped) return;
      check('pg_ctl start (again)', asUser([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'server-restart.log'), '-w', '-t', '60', '-o', serverOptions, 'start'], 90_000));
      stopped = false;
    },
  };
}
