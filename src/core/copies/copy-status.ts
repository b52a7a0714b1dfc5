/**
 * Where each of a runbook's copies stands, from the records alone (no
 * repository is opened for `status`): the copy stage writes each copy's
 * outcome into its run (RunRecord.copies), drills of a copy carry its name
 * (DrillRecord.copy).
 *
 * Lag is how far the copy's newest snapshot is behind hot's newest when the
 * last attempt ran: 0 when the copy has everything hot had; after a failed
 * attempt, hot's newest then against the copy's newest from the last attempt
 * that succeeded.
 */
import type { CopyLocation, StorageClass } from '../runbook/types.js';
import type { CopyRunRecord, DrillBrief, ErrorInfo, RunBrief } from '../store/records.js';
import { monthlyStorageCostUsd } from './storage-prices.js';

export interface CopyStatus {
  name: string;
  url: string;
  /** The last run that tried to fill the copy, and how it went. */
  lastAttempt?: { runId: string; status: CopyRunRecord['status']; at: string; error?: ErrorInfo };
  /** The copy's newest snapshot of the runbook, as of the last good attempt. */
  newestSnapshotId?: string;
  newestSnapshotTime?: string;
  /** ms the copy's newest snapshot is behind hot's newest; undefined when no attempt ever succeeded. */
  lagMs?: number;
  /** The copy's last finished drill (`restore-drill --copy`). */
  lastDrill?: DrillBrief;
  /** What the copy's index lists, as of the last good attempt. */
  storedBytes?: number;
  /** An S3 copy's storage at list prices (src/core/copies/storage-prices.ts); undefined for a folder. */
  storage?: { storageClass: StorageClass; usdPerMonth: number };
}

/** Pure: `runs` and `drills` newest first, as status reads them. */
export function copyStatuses(copies: readonly CopyLocation[], runs: readonly RunBrief[], drills: readonly DrillBrief[]): CopyStatus[] {
  return copies.map((copy) => {
    const attempts = runs.flatMap((run) => {
      const result = run.copies?.find((c) => c.name === copy.name);
      return result ? [{ run, result }] : [];
    });
    const last = attempts[0];
    const good = attempts.find((a) => a.result.status === 'succeeded' && a.result.newestSnapshotTime !== undefined);
    const out: CopyStatus = { name: copy.name, url: copy.url };
    if (last) {
      out.lastAttempt = { runId: last.run.id, status: last.result.status, at: last.run.endedAt ?? last.run.startedAt, ...(last.result.error ? { error: last.result.error } : {}) };
    }
    if (good) {
      out.newestSnapshotId = good.result.newestSnapshotId;
      out.newestSnapshotTime = good.result.newestSnapshotTime;
      const hotNewest = last?.result.hotNewestTime;
      if (hotNewest !== undefined && good.result.newestSnapshotTime !== undefined) {
        out.lagMs = Math.max(0, Date.parse(hotNewest) - Date.parse(good.result.newestSnapshotTime));
      }
    }
    if (good?.result.storedBytes !== undefined) {
      out.storedBytes = good.result.storedBytes;
      if (copy.url.startsWith('s3://')) {
        const storageClass = copy.storageClass ?? 'STANDARD';
        out.storage = { storageClass, usdPerMonth: monthlyStorageCostUsd(good.result.storedBytes, storageClass) };
      }
    }
    const drill = drills.find((d) => d.copy === copy.name && d.verdict !== 'running');
    if (drill) out.lastDrill = drill;
    return out;
  });
}
