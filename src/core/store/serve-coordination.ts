/**
 * How the serves sharing a store agree on who leads: through PostgreSQL when
 * the store is there; with the JSON store there is nothing to open (one serve
 * per state folder, held by its file lock, always leads).
 */
import { DEFAULT_LEADER_LEASE_MS } from '../config/types.js';
import { storeSetting, storeUrl, type StoreLocation } from './open-store.js';
import type { PostgresCoordination } from './postgres/coordination.js';

export interface ServeCoordination {
  coordination: PostgresCoordination;
  leaseMs: number;
}

export async function openServeCoordination(location: StoreLocation, onMarkError: (e: unknown) => void): Promise<ServeCoordination | undefined> {
  const setting = storeSetting(location);
  if (setting.kind === 'json') return undefined;
  const url = await storeUrl(setting, location.env);
  const leaseMs = location.config?.store?.leaderLeaseMs ?? DEFAULT_LEADER_LEASE_MS;
  const { PostgresCoordination } = await import('./postgres/coordination.js');
  // A statement may take a third of the lease: a renewal that cannot answer in that time has failed.
  return { coordination: await PostgresCoordination.open(url, { queryTimeoutMs: Math.floor(leaseMs / 3), onMarkError }), leaseMs };
}
