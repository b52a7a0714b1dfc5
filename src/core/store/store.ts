/**
 * The Store port: everything Lifeboat remembers. The lowdb implementation keeps
 * one JSON file under the state folder; an in-memory one serves tests. Both pass
 * test/core/store/contract.ts.
 *
 * Contract:
 * - Every write is atomic (a reader sees the record before or after, never half)
 *   and safe across processes (two processes writing at once lose nothing).
 * - `put*` inserts or replaces by id/key. Writes happen at stage boundaries, not
 *   progress ticks, so they may be slow-ish (a file lock and an fsync).
 * - Lists are newest first. History is bounded per runbook by `limits`; the
 *   oldest records beyond the limit are dropped on write.
 */
import type { AlertRecord, AuditRecord, DrillRecord, RunRecord } from './records.js';

export interface StoreLimits {
  /** Runs kept per runbook (oldest dropped first). */
  runsPerRunbook: number;
  drillsPerRunbook: number;
  /** Resolved alerts kept in total (open alerts are never dropped). */
  resolvedAlerts: number;
  auditEntries: number;
}

export const defaultStoreLimits: StoreLimits = {
  runsPerRunbook: 200,
  drillsPerRunbook: 100,
  resolvedAlerts: 500,
  auditEntries: 5000,
};

export interface ListOptions {
  runbook?: string;
  limit?: number;
}

export interface Store {
  putRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(options?: ListOptions): Promise<RunRecord[]>;

  putDrill(drill: DrillRecord): Promise<void>;
  listDrills(options?: ListOptions): Promise<DrillRecord[]>;

  putAlert(alert: AlertRecord): Promise<void>;
  getAlert(key: string): Promise<AlertRecord | undefined>;
  listAlerts(options?: ListOptions & { status?: 'open' | 'resolved' }): Promise<AlertRecord[]>;

  appendAudit(entry: AuditRecord): Promise<void>;
  listAudit(options?: { limit?: number }): Promise<AuditRecord[]>;

  /** Release file handles and locks. */
  close(): Promise<void>;
}
