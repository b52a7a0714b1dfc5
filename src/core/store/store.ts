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
import type { AlertRecord, AuditRecord, DeliveryReceipt, DeliveryRecord, DrillBrief, DrillRecord, DrillVerdict, RunBrief, RunKind, RunRecord, RunStatus } from './records.js';

export interface StoreLimits {
  /** Runs kept per runbook (oldest dropped first). */
  runsPerRunbook: number;
  drillsPerRunbook: number;
  /** Resolved alerts kept in total (open alerts are never dropped). */
  resolvedAlerts: number;
  auditEntries: number;
  /** Delivered and failed deliveries kept in total (pending ones are never dropped). */
  deliveries: number;
}

export const defaultStoreLimits: StoreLimits = {
  runsPerRunbook: 200,
  drillsPerRunbook: 100,
  resolvedAlerts: 500,
  auditEntries: 5000,
  deliveries: 2000,
};

export interface ListOptions {
  runbook?: string;
  /**
   * Only records of these runbooks (with `runbook`, both apply). Status and
   * /metrics know the runbooks they show: a store need not first find which
   * runbooks its history holds to read each one's newest (`perRunbook`).
   */
  runbooks?: readonly string[];
  limit?: number;
  /**
   * At most this many records of each runbook (its newest), before `limit`:
   * the latest of every runbook in one read, without the rest of a history
   * that may hold millions of rows (status, /metrics).
   */
  perRunbook?: number;
  /**
   * Records may come without their bulky parts (a run's stages, diff, hook
   * output and failed sources; a drill's phases): for readers of many records
   * that need none of them (status's windows). A store keeping whole records
   * in memory returns them whole; the PostgreSQL store reads a brief column.
   */
  brief?: boolean;
}

/** Runs matching every filter given; filters apply before `perRunbook` and `limit`. */
export interface RunListOptions extends ListOptions {
  kind?: RunKind;
  /** Any of these statuses. */
  status?: readonly RunStatus[];
  /**
   * Runs whose end is at or after this instant (ISO); a run with no end
   * counts by its start, one whose time does not parse never matches.
   */
  endedSince?: string;
  /**
   * Newest first by start (the default), or by end (a run with no end by its
   * start): the newest good backup by end is the one whose data was taken last
   * (rpo.ts), whatever the order the runs started in.
   */
  newestBy?: 'start' | 'end';
}

/** Drills matching every filter given; filters apply before `perRunbook` and `limit`. */
export interface DrillListOptions extends ListOptions {
  tier?: DrillRecord['tier'];
  /** Any of these verdicts. */
  verdict?: readonly DrillVerdict[];
  /** As RunListOptions.endedSince: by the end, else the start. */
  endedSince?: string;
}

/** Audit entries matching every filter given, newest first; filters apply before `limit`. */
export interface AuditListOptions {
  /** Entries about this runbook (AuditRecord.runbook: entries written before it was recorded have none and never match). */
  runbook?: string;
  /** Entries of this user (AuditRecord.actor.user: a Unix user, a Slack user id, "scheduler"). */
  user?: string;
  /** Entries at or after this instant (ISO); one that does not parse is refused. */
  since?: string;
  limit?: number;
}

export interface PutAlertOptions {
  ifStored?: AlertRecord | null;
}

export interface ClaimOptions {
  /** Who claims: unique per process (and per loop), e.g. `host:pid:random`. */
  owner: string;
  sinks: readonly string[];
  now: Date;
  leaseMs: number;
  limit: number;
}

export interface ClaimedDelivery extends DeliveryRecord {
  /** The receipt of the latest delivered delivery of the same alert (same firstSeen) to the same sink. */
  previous?: DeliveryReceipt;
}

export type DeliveryResult =
  | { ok: true; at: Date; receipt?: DeliveryReceipt }
  /** `nextAttemptAt` is ignored when `permanent` (the delivery is marked failed). */
  | { ok: false; at: Date; error: string; permanent: boolean; nextAttemptAt: Date };

export interface DeliveryListOptions {
  status?: DeliveryRecord['status'];
  runbook?: string;
  limit?: number;
}

export interface Store {
  putRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(options: RunListOptions & { brief: true }): Promise<RunBrief[]>;
  listRuns(options?: RunListOptions): Promise<RunRecord[]>;

  putDrill(drill: DrillRecord): Promise<void>;
  listDrills(options: DrillListOptions & { brief: true }): Promise<DrillBrief[]>;
  listDrills(options?: DrillListOptions): Promise<DrillRecord[]>;

  /**
   * Writes the alert and the deliveries of its transition in one atomic write:
   * no process ever sees one without the other. The store numbers the
   * deliveries (`seq`, the caller's value is ignored): one more than any
   * delivery of the same alert key it holds, so two processes writing
   * transitions of one alert cannot give the same number.
   *
   * `ifStored`: write only if the alert stored under this key is still
   * exactly this record (null: none is stored), else write nothing and
   * return false — so two processes deciding on the same alert at once
   * (a CLI run and serve's timer) cannot both raise it.
   */
  putAlert(alert: AlertRecord, deliveries?: readonly DeliveryRecord[], options?: PutAlertOptions): Promise<boolean>;
  getAlert(key: string): Promise<AlertRecord | undefined>;
  listAlerts(options?: ListOptions & { status?: 'open' | 'resolved' }): Promise<AlertRecord[]>;

  /**
   * Claims due deliveries for `owner`, atomically across processes: pending,
   * of one of `sinks`, `nextAttemptAt` ≤ now, no live claim (`claimUntil` >
   * now), and the lowest-seq pending one of its (alert key, sink) — so one
   * alert's messages reach a sink in order, while a failed one does not block
   * the later ones. Each is held until now + leaseMs; a claimer that dies lets
   * it lapse. Oldest due first, at most `limit`.
   */
  claimDeliveries(options: ClaimOptions): Promise<ClaimedDelivery[]>;
  /**
   * Records an attempt's result, only while `owner` still holds the claim
   * (else returns false and changes nothing: the claim lapsed and another
   * process took the delivery over). Releases the claim (claimUntil), keeping
   * claimedBy as who made the attempt.
   */
  finishDelivery(id: string, owner: string, result: DeliveryResult): Promise<boolean>;
  /** Newest first (by createdAt). */
  listDeliveries(options?: DeliveryListOptions): Promise<DeliveryRecord[]>;

  appendAudit(entry: AuditRecord): Promise<void>;
  listAudit(options?: AuditListOptions): Promise<AuditRecord[]>;

  /** Release file handles and locks. */
  close(): Promise<void>;
}
