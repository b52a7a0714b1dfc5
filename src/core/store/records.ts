/**
 * What the state store keeps. Records are plain JSON (ISO timestamps as strings)
 * so the file stays readable by a person with `jq`.
 */

export type Face = 'cli' | 'tui' | 'slack' | 'scheduler' | 'test';

export interface Actor {
  face: Face;
  /** Who asked: a Slack user id, a Unix user name, or "scheduler". */
  user: string;
}

export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'transfer-pending' | 'cancelled';
export type RunKind = 'backup' | 'check' | 'restore' | 'forget' | 'tier' | 'verify' | 'copy';
export type StageName = 'discover' | 'snapshot' | 'transfer' | 'verify' | 'retention' | 'tier' | 'copy' | 'hooks' | 'check' | 'restore';
export type StageStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'partial';

export interface ErrorInfo {
  code: string;
  message: string;
}

export interface StageRecord {
  name: StageName;
  status: StageStatus;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  counters: Record<string, number>;
  error?: ErrorInfo;
}

export interface RunRecord {
  id: string;
  runbook: string;
  kind: RunKind;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  actor: Actor;
  host: string;
  pid: number;
  stages: StageRecord[];
  /** The snapshot this run wrote (backup) or read (restore, drill). */
  snapshotId?: string;
  /** Sources that failed while the others completed (a partial run). */
  failedSources?: { name: string; error: ErrorInfo }[];
  /** Run-level totals, e.g. files, bytesRead, bytesAdded, bytesStored. */
  stats?: Record<string, number>;
  /** Manifest diff against the previous run (files and bytes added, changed, removed). */
  diff?: Record<string, number>;
  error?: ErrorInfo;
  /** The last lines of hook output. */
  hookOutput?: string[];
  /** Each of the runbook's copies as the copy stage left it (src/core/copies/copies-stage.ts). */
  copies?: CopyRunRecord[];
}

/** One copy's part of a run's copy stage: status and lag behind hot read these. */
export interface CopyRunRecord {
  name: string;
  status: 'succeeded' | 'failed';
  snapshotsCopied: number;
  /** The copy's newest snapshot of the runbook after the run (absent when the copy failed). */
  newestSnapshotId?: string;
  newestSnapshotTime?: string;
  /** The hot repository's newest snapshot of the runbook when the copy ran. */
  hotNewestTime?: string;
  /** Bytes of packs the copy's index lists once filled and retained (what its storage bill is for). */
  storedBytes?: number;
  error?: ErrorInfo;
}

/**
 * A run as a brief list shows it (ListOptions.brief): everything but its
 * stages, diff, hook output and failed sources, which a store may leave out
 * (and one that holds whole records in memory keeps). Every RunRecord is one.
 */
export type RunBrief = Omit<RunRecord, 'stages'> & { stages?: StageRecord[] };

/**
 * `blocked`: the drill could not reach its repository (S3 down), so it says
 * nothing about whether the data comes back: not a failed validation.
 */
export type DrillVerdict = 'met' | 'missed' | 'failed' | 'blocked' | 'running';

export interface DrillPhase {
  name: 'plan' | 'thaw' | 'fetch' | 'write' | 'validate' | 'cleanup';
  durationMs: number;
  bytes?: number;
  /** Bytes per second over the phase. */
  throughput?: number;
}

export interface DrillRecord {
  id: string;
  runbook: string;
  snapshotId: string;
  tier: 'hot' | 'cold';
  startedAt: string;
  endedAt?: string;
  verdict: DrillVerdict;
  /** Wall time from drill start to validated. */
  rtoMs?: number;
  targetMs: number;
  phases: DrillPhase[];
  reason?: string;
  actor: Actor;
  /** True when the RTO was estimated (cold tier, no thaw performed), not measured. */
  estimated?: boolean;
  /**
   * A path drill (`restore-drill --path`): only this path of the snapshot was
   * restored and validated, and `rtoMs` is that path's. It says nothing about
   * how fast the whole runbook comes back, so the runbook's RTO readers
   * (status, /metrics, the alert rules) leave it out: src/core/drill/drill-scope.ts.
   */
  path?: string;
  /**
   * A drill of one of `repository.copies` (`restore-drill --copy NAME`): its
   * RTO is that copy's, kept apart from the hot tier's like a path drill's
   * (src/core/drill/drill-scope.ts); status shows it under the copy.
   */
  copy?: string;
}

/** A drill as a brief list shows it (ListOptions.brief): its phases may be left out. Every DrillRecord is one. */
export type DrillBrief = Omit<DrillRecord, 'phases'> & { phases?: DrillPhase[] };

export type Severity = 'info' | 'warning' | 'critical';

export interface AlertRecord {
  /** Stable key: the same condition updates one alert (e.g. "stale:app-data"). */
  key: string;
  runbook: string;
  rule: string;
  severity: Severity;
  message: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  status: 'open' | 'resolved';
  resolvedAt?: string;
  ackedBy?: string;
  ackedAt?: string;
  /** When people were last told (raised, severity raised or repeated): the repeat interval counts from here. */
  lastNotifiedAt?: string;
}

/**
 * What happened to an alert that people are told about. `escalated`: its
 * severity rose; `repeated`: still open, critical and unacknowledged after the
 * repeat interval.
 */
export type AlertTransition = 'raised' | 'escalated' | 'repeated' | 'acknowledged' | 'resolved';

/** What a sink answered that a later delivery of the same alert needs (e.g. the Slack message to update). */
export type DeliveryReceipt = Record<string, string>;

/**
 * One message owed to one sink: the outbox (src/core/notify/outbox.ts). Written
 * in the same store write as the alert transition it tells of, delivered
 * at-least-once by any Lifeboat process that can build the sink, in `seq`
 * order per alert and sink.
 */
export interface DeliveryRecord {
  /** Unique; also the idempotency key sinks are given. */
  id: string;
  alertKey: string;
  runbook: string;
  /** The configured sink's name (lifeboat.yaml `notify:`), e.g. "oncall-slack". */
  sink: string;
  transition: AlertTransition;
  /** Order of this alert's transitions (per alert key, rising). */
  seq: number;
  /** The alert as it was at the transition. */
  alert: AlertRecord;
  createdAt: string;
  /** pending: not yet delivered (maybe being tried); failed: given up (a permanent error). */
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** Earliest time the next attempt may start. */
  nextAttemptAt: string;
  lastAttemptAt?: string;
  lastError?: string;
  deliveredAt?: string;
  /**
   * The process that claimed it last (host:pid:…): with claimUntil in the
   * future it is trying it now (a dead one's claim lapses); after an attempt,
   * the one that made it (delivered: who sent it).
   */
  claimedBy?: string;
  claimUntil?: string;
  receipt?: DeliveryReceipt;
}

export interface AuditRecord {
  id: string;
  at: string;
  actor: Actor;
  command: string;
  args: string[];
  /** The runbook the command was about, when it names one (`lifeboat audit --runbook` filters on it). */
  runbook?: string;
  /** Where the request came from, e.g. a Slack channel id or a tty. */
  where?: string;
  /** `skipped`: a scheduled fire that did not run (overlap, missed, shutting down). */
  result: 'ok' | 'refused' | 'failed' | 'partial' | 'cancelled' | 'usage' | 'skipped';
  detail?: string;
}
