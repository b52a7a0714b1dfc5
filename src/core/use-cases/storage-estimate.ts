/**
 * What a runbook's backups cost to keep, per month at list prices
 * (copies/storage-prices.ts, the same as `status --copies`), before anything is
 * moved: hot, cold and each copy, and the total (issue 23, item 3).
 *
 * Hot and cold are opened without a lock (nothing is written) and measured
 * from their index: the packs they store. Copies are not opened (they may sit
 * at another provider, behind credentials of their own): their size is what
 * the last copy run that succeeded recorded, as `status --copies` shows it.
 * A `file:` location has no list price: it is listed with its size, at $0.
 * A cold repository is priced entirely at its storage class (its few
 * metadata files are STANDARD on S3; they are small beside the packs).
 */
import { readStatus } from '../status/runbook-status.js';
import type { ColdTierStatus } from '../status/runbook-status.js';
import type { Tier } from '../repo/open-repository.js';
import type { RunContext } from '../run-context.js';
import type { RepositoryLocation, StorageClass } from '../runbook/types.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';
import { monthlyStorageCostUsd, PRICES_AS_OF } from '../copies/storage-prices.js';

export interface LocationCost {
  /** hot, cold, or a copy's name. */
  location: string;
  kind: 'hot' | 'cold' | 'copy';
  url: string;
  /** What the location stores; undefined for a copy no copy run has filled yet. */
  storedBytes?: number;
  /** S3 only (a folder has no list price). */
  storageClass?: StorageClass;
  /** 0 for a folder; undefined when the size is not known. */
  usdPerMonth?: number;
}

export interface StorageEstimate {
  locations: LocationCost[];
  /** The sum over the locations whose size is known. */
  totalUsdPerMonth: number;
  /** Locations left out of the total because their size is not known yet. */
  unknown: string[];
  pricesAsOf: string;
  /** The cold tier's RTO and retrieval estimate, as `status` shows it. */
  cold?: ColdTierStatus;
}

/** Pure: one location's monthly cost from its size. */
export function locationCost(kind: LocationCost['kind'], name: string, where: RepositoryLocation, storedBytes: number | undefined): LocationCost {
  const out: LocationCost = { location: name, kind, url: where.url };
  if (storedBytes !== undefined) out.storedBytes = storedBytes;
  if (!where.url.startsWith('s3://')) {
    if (storedBytes !== undefined) out.usdPerMonth = 0;
    return out;
  }
  out.storageClass = where.storageClass ?? 'STANDARD';
  if (storedBytes !== undefined) out.usdPerMonth = monthlyStorageCostUsd(storedBytes, out.storageClass);
  return out;
}

/** Pure: the total of the locations whose cost is known, and which are not. */
export function storageTotal(locations: readonly LocationCost[]): { totalUsdPerMonth: number; unknown: string[] } {
  return {
    totalUsdPerMonth: locations.reduce((sum, l) => sum + (l.usdPerMonth ?? 0), 0),
    unknown: locations.filter((l) => l.usdPerMonth === undefined).map((l) => l.location),
  };
}

export async function estimateStorage(input: RunContext): Promise<StorageEstimate> {
  const { runbook } = input;
  const { value } = await recordedRun(policies.planTier, input, async (session) => {
    const measured = async (tier: Tier): Promise<number> => {
      const { repo } = await session.openRepository(tier);
      let bytes = 0;
      for (const { size } of repo.index.packs.values()) bytes += size;
      return bytes;
    };
    const locations: LocationCost[] = [locationCost('hot', 'hot', runbook.repository.hot, await measured('hot'))];
    if (runbook.repository.cold) locations.push(locationCost('cold', 'cold', runbook.repository.cold, await measured('cold')));
    const [entry] = await readStatus({ store: input.store, clock: input.clock, runbooks: [{ name: runbook.name, runbook }] });
    for (const copy of runbook.repository.copies ?? []) {
      locations.push(locationCost('copy', copy.name, copy, entry?.copies?.find((c) => c.name === copy.name)?.storedBytes));
    }
    return { value: { locations, ...storageTotal(locations), pricesAsOf: PRICES_AS_OF, ...(entry?.cold ? { cold: entry.cold } : {}) } };
  });
  return value;
}
