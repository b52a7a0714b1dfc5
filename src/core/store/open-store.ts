/**
 * Which state store a process uses, decided in one place: PostgreSQL when
 * lifeboat.yaml has `store: { url: … }` (or, without that, when
 * LIFEBOAT_STORE_URL is set), else the JSON file in the state folder, as
 * always. The URL holds the password, so it is only ever read from the
 * reference and never printed: messages say `host:port/database`.
 *
 * The PostgreSQL code (and `pg`) is imported on first use, so a JSON user's
 * start-up does not parse it (scripts/build.mjs splits at dynamic imports).
 */
import type { LifeboatConfig } from '../config/types.js';
import { DEFAULT_STORE_KEEP_MS } from '../config/types.js';
import { isLifeboatError, LifeboatError } from '../errors.js';
import { resolveSecret, type SecretEnv } from '../runbook/secrets.js';
import type { SecretRef } from '../runbook/types.js';
import { openJsonStore, stateFilePath } from './json-store.js';
import { describeUrl } from './postgres/migrations.js';
import type { Store } from './store.js';

/** The environment variable that selects PostgreSQL when lifeboat.yaml says nothing. */
export const STORE_URL_ENV = 'LIFEBOAT_STORE_URL';

const DAY_MS = 86_400_000;

export type StoreSetting =
  | { kind: 'json'; path: string }
  | { kind: 'postgres'; url: SecretRef; keepMs: number; via: 'lifeboat.yaml' | typeof STORE_URL_ENV };

export interface StoreLocation {
  config?: LifeboatConfig | undefined;
  env: SecretEnv;
  /** The state folder (LIFEBOAT_HOME): where the JSON store lives. */
  home: string;
}

/** What the configuration selects; reads no secret. */
export function storeSetting({ config, env, home }: StoreLocation): StoreSetting {
  if (config?.store) return { kind: 'postgres', url: config.store.url, keepMs: config.store.keepMs, via: 'lifeboat.yaml' };
  if ((env[STORE_URL_ENV] ?? '') !== '') return { kind: 'postgres', url: { kind: 'env', name: STORE_URL_ENV }, keepMs: DEFAULT_STORE_KEEP_MS, via: STORE_URL_ENV };
  return { kind: 'json', path: stateFilePath(home) };
}

/** The connection URL behind the reference; SECRET_UNAVAILABLE naming the variable or file, never the value. */
export async function storeUrl(setting: Extract<StoreSetting, { kind: 'postgres' }>, env: SecretEnv): Promise<string> {
  const url = await resolveSecret(setting.url, env, `the state store URL (${setting.via === 'lifeboat.yaml' ? 'lifeboat.yaml store.url' : STORE_URL_ENV})`);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new LifeboatError('USAGE', `The state store URL (${describeRef(setting.url)}) is not a postgres:// URL (expected e.g. postgres://lifeboat@db.example.com/lifeboat?sslmode=verify-full)`);
  }
  return url;
}

const describeRef = (ref: SecretRef) => (ref.kind === 'env' ? `$${ref.name}` : ref.path);

export interface OpenStoreOptions extends StoreLocation {
  /** Bring the PostgreSQL schema up to date first (serve start); otherwise an outdated schema is refused. */
  migrate?: boolean;
  /**
   * Told (PostgreSQL only) when records start being spooled because the store
   * is unreachable, when they were replayed, and of any spooled record the
   * store refused (spool/spooling-store.ts). A face shows it as a warning.
   */
  onWarning?: (message: string) => void;
  /**
   * PostgreSQL: how long an idle connection is kept (pg's default: 10 s), for a
   * process that writes in bursts a minute or more apart (a fleet agent): each
   * new connection is a server process forked and its caches filled again. Idle
   * connections never hold the process open (allowExitOnIdle).
   */
  keepIdleConnectionsMs?: number;
  /** PostgreSQL: the most connections the store's pool opens (pg's default: 10). */
  maxConnections?: number;
}

/**
 * The most PostgreSQL connections a command run from the shell or the console
 * opens (serve and the agent choose their own). A one-shot `status` reads
 * its five or six lists at once; every connection is a server process whose
 * caches are filled from cold for its first query, and on a 2-core machine
 * more than two or three lists in flight only add that cost: on the issue-18
 * bench a first read with pg's default 10 took 89.6 ms median, with 3 81.0 ms
 * (PostgreSQL CPU 105 -> 90 ms, the client's 70 -> 61 ms). Three leaves
 * room for a record's write while two reads run.
 */
export const COMMAND_STORE_CONNECTIONS = 3;

/**
 * How long connecting may take before the store counts as unreachable: pg
 * waits forever by default, and a backup must not hang on a store behind a
 * dead network path (its records are spooled instead).
 */
const CONNECT_TIMEOUT_MS = 5_000;
/** A query on a connection that went silent (a host gone, not refusing) fails after this, and is spooled when it was a record's write. */
const QUERY_TIMEOUT_MS = 120_000;

/**
 * Opens the configured store: the JSON file, or PostgreSQL (`sslmode` in the URL is pg's to honour).
 *
 * PostgreSQL comes wrapped in a SpoolingStore (spool/spooling-store.ts): an
 * outage never fails a backup or drill that is running, or one started while
 * the store is down. So an unreachable store does not fail the open: the store
 * is returned "down" and connects (and checks or migrates the schema) on a later
 * call. Anything else (a refused password, an outdated schema, a bad URL)
 * still fails here, before any work starts.
 */
export async function openConfiguredStore(options: OpenStoreOptions): Promise<Store> {
  const setting = storeSetting(options);
  if (setting.kind === 'json') return openJsonStore(options.home);
  const url = await storeUrl(setting, options.env);
  const { openPostgresStore } = await import('./postgres/postgres-store.js');
  const { SpoolingStore, spoolDirOf, isStoreUnreachable } = await import('./spool/index.js');
  const pool = {
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...(options.keepIdleConnectionsMs === undefined ? {} : { idleTimeoutMillis: options.keepIdleConnectionsMs, allowExitOnIdle: true }),
    ...(options.maxConnections === undefined ? {} : { max: options.maxConnections }),
  };
  // History is kept by age (store.keep), not by count: a team's store is not a file re-read per query.
  const attempt = (migrate: boolean) =>
    openPostgresStore(url, {
      migrate,
      keepDays: setting.keepMs / DAY_MS,
      countLimits: false,
      // A migration may rightly take long; a record's write may not.
      pool: migrate ? pool : { ...pool, query_timeout: QUERY_TIMEOUT_MS },
    }).catch(unreachable(url));
  const open = async (): Promise<Store> => {
    if (options.migrate !== true) return attempt(false);
    // Migrate only when the schema is behind: a current schema needs no CREATE right, so serve
    // can run as the least-privilege role (README, State store) once `store migrate` ran as the owner.
    try {
      return await attempt(false);
    } catch (e) {
      if (isLifeboatError(e) && e.details?.reason === 'older-schema') return attempt(true);
      throw e;
    }
  };
  let opened: Store | undefined;
  let down: unknown;
  try {
    opened = await open();
  } catch (e) {
    if (!isStoreUnreachable(e)) throw e;
    down = e;
  }
  return new SpoolingStore({ open, opened, down, where: describeUrl(url), spoolDir: spoolDirOf(options.home), onWarning: options.onWarning });
}

export type StoreMigration =
  | { kind: 'json'; path: string }
  | { kind: 'postgres'; where: string; from: number; to: number; applied: number[] };

/**
 * `lifeboat store migrate`: applies pending PostgreSQL migrations under the
 * advisory lock (a no-op when up to date; a newer schema is refused). The JSON
 * store has no schema to migrate: says so with its path.
 */
export async function migrateConfiguredStore(options: StoreLocation): Promise<StoreMigration> {
  const setting = storeSetting(options);
  if (setting.kind === 'json') return { kind: 'json', path: setting.path };
  const url = await storeUrl(setting, options.env);
  const where = describeUrl(url);
  const [{ openPool }, { migratePostgres }] = await Promise.all([import('./postgres/pool.js'), import('./postgres/migrations.js')]);
  const pool = await openPool({ connectionString: url, max: 1 });
  try {
    return { kind: 'postgres', where, ...(await migratePostgres(pool, where).catch(unreachable(url))) };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/**
 * pg's own errors (ECONNREFUSED, a refused password, a TLS failure) say nothing
 * of what was being reached: name the store (host:port/database, never the URL).
 */
function unreachable(url: string): (e: unknown) => never {
  return (e) => {
    if (isLifeboatError(e)) throw e;
    const why = (e as Error).message || String(e);
    throw new LifeboatError('BACKEND_UNAVAILABLE', `The state store at ${describeUrl(url)} cannot be used: ${why}`, { cause: e, retryable: true, details: { where: describeUrl(url) } });
  };
}
