/**
 * The hosts registry of the configured store, on a small pool of its own (as
 * the leader lease's, src/core/store/serve-coordination.ts): it answers
 * whether or not the Store port is wrapped in a spool, and never competes with
 * a backup's record writes for a connection. With the JSON store there is no
 * fleet: undefined, and the one host is this machine.
 */
import { storeSetting, storeUrl, type StoreLocation } from '../store/open-store.js';
import { openPool } from '../store/postgres/pool.js';
import { HostRegistry } from './hosts.js';

/** A heartbeat or a check that cannot answer in this time has failed; the next one tries again. */
const QUERY_TIMEOUT_MS = 10_000;

export async function openHostRegistry(location: StoreLocation): Promise<HostRegistry | undefined> {
  const setting = storeSetting(location);
  if (setting.kind === 'json') return undefined;
  const url = await storeUrl(setting, location.env);
  // Kept idle for a minute: an agent beats every 10 s, which pg's default idle timeout (10 s) turned into a new connection per beat.
  const pool = await openPool({ connectionString: url, max: 2, connectionTimeoutMillis: QUERY_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, keepAlive: true, idleTimeoutMillis: 60_000, allowExitOnIdle: true });
  return HostRegistry.owningPool(pool);
}
