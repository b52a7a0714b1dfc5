/**
 * The validated, resolved shape of a runbook as the engine sees it. The YAML
 * schema (schema.ts) produces exactly this; units are already parsed (durations
 * in milliseconds, sizes in bytes, percentages as fractions 0..1) and relative
 * paths are resolved. Objects are frozen.
 */
import type { ObjectLockSettings } from './object-lock-schema.js';

/** A reference to a secret; the value is read only when used and never logged. */
export type SecretRef =
  | { kind: 'env'; name: string }
  /** `create`: generate a random key into the file (mode 0600) when it is missing. */
  | { kind: 'file'; path: string; create: boolean };

/**
 * Variables a runbook hands one kind of child process (`env:` on a source, on
 * `hooks` or on `drill`), by name, each value a reference read when the child
 * starts. Everything else a child may see is the allowlist of
 * src/core/child/child-env.ts.
 */
/** One route of a runbook's alerts: to `sink`, for alerts of `severity` and above (all when absent). */
export interface AlertRoute {
  sink: string;
  severity?: 'info' | 'warning' | 'critical';
}

export type ChildEnvRefs = Readonly<Record<string, SecretRef>>;

export interface PathSource {
  kind: 'path';
  name: string;
  /** Absolute path. */
  path: string;
  exclude: readonly string[];
}

export interface CommandSource {
  kind: 'command';
  name: string;
  /** Shell command whose standard output is the backup. */
  command: string;
  /** Shell command that a restore or drill pipes the stream back into. */
  restore?: string;
  /** Variables passed to `command` and `restore` on top of the allowlist. */
  env?: ChildEnvRefs;
}

export type Source = PathSource | CommandSource;

export type StorageClass =
  | 'STANDARD'
  | 'STANDARD_IA'
  | 'ONEZONE_IA'
  | 'INTELLIGENT_TIERING'
  | 'GLACIER_IR'
  | 'GLACIER'
  | 'DEEP_ARCHIVE';

export interface RepositoryLocation {
  /** `file:///abs/path` or `s3://bucket/prefix`. */
  url: string;
  storageClass?: StorageClass;
  /** S3-compatible endpoint, e.g. http://127.0.0.1:9000. */
  endpoint?: string;
  pathStyle?: boolean;
  region?: string;
  /** S3 Object Lock on every object written (src/core/runbook/object-lock-schema.ts). */
  objectLock?: ObjectLockSettings;
  /** S3 keys for this location alone, by reference (copies); absent: the SDK's standard chain. */
  credentials?: { accessKeyId: SecretRef; secretAccessKey: SecretRef };
}

/** One of `repository.copies`: a repository of its own that every snapshot is copied into (src/core/copies/). */
export interface CopyLocation extends RepositoryLocation {
  name: string;
  /** Absent: the runbook's `repository.password` (the copy still has a master key of its own). */
  password?: SecretRef;
  /** When it is filled: `backup`, by the copy stage of every backup run (and `lifeboat copy`); `hot`, only by `lifeboat copy` (schedule.copy). */
  after: 'backup' | 'hot';
  /** The copy's retention; absent: it keeps every snapshot copied into it. */
  keep?: RetentionPolicy;
}

/** How fast an archived object is brought back (S3 RestoreObject's Tier); faster costs more. */
export type RetrievalTier = 'Expedited' | 'Standard' | 'Bulk';

export interface ColdLocation extends RepositoryLocation {
  /** Snapshots older than this (ms) move to the cold repository. */
  afterMs: number;
  /** Retrieval tier used to thaw archived packs for a restore or drill. */
  retrieval: RetrievalTier;
  /** How many days a thawed copy stays readable. */
  thawDays: number;
}

export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Keep everything newer than this many ms. */
  withinMs?: number;
}

export interface Schedule {
  backup?: string;
  verify?: string;
  drill?: string;
  tier?: string;
  /** `lifeboat copy`: fills the copies, those with `after: hot` only this way. */
  copy?: string;
  /** When to extend Object Lock retention (`lifeboat maintain`); serve runs it daily when absent and a location has objectLock. */
  maintain?: string;
  /** IANA time zone the cron expressions are read in. */
  timezone: string;
}

export interface Runbook {
  name: string;
  description?: string;
  owner?: string;
  /** The fleet host whose agent runs this runbook; undefined: whichever host starts it (src/core/fleet/host-name.ts). */
  host?: string;
  /** Absolute path of the YAML file this runbook was loaded from. */
  file: string;
  sources: readonly Source[];
  /** `env`: variables passed to every hook on top of the allowlist. */
  hooks: { before: readonly string[]; after: readonly string[]; env?: ChildEnvRefs };
  repository: {
    hot: RepositoryLocation;
    cold?: ColdLocation;
    copies?: readonly CopyLocation[];
    password: SecretRef;
  };
  schedule?: Schedule;
  /** `coldRtoMs`: the target for restores from the cold tier (thaw included), when it differs from `rtoMs`. */
  objectives: { rpoMs: number; rtoMs: number; coldRtoMs?: number };
  retention?: RetentionPolicy;
  verify: { readDataFraction: number };
  /** `env`: variables passed to `check` on top of the allowlist. */
  drill: { check?: string; announceMs?: number; timeoutMs: number; env?: ChildEnvRefs };
  alerts: {
    slack?: string;
    /**
     * Where this runbook's alerts go: sink names of lifeboat.yaml's `notify:`
     * (a bare name in YAML = every severity). Undefined: lifeboat.yaml's
     * `alerts.notify`, or the implicit `slack` sink when `slack` is set.
     */
    notify?: readonly AlertRoute[];
    /** Repeat interval of an open, unacknowledged critical alert (default: lifeboat.yaml's, else 4h). */
    repeatMs?: number;
    /** Dead man's switch (healthchecks.io style): pinged at start, success and failure of backups and drills. */
    ping?: { url: SecretRef };
    anomaly: {
      /** How many earlier successful runs the anomaly rules compare against. */
      window: number;
      /** Silent until at least this many runs of history exist. */
      minHistory: number;
      /** How many MADs away from the median counts as an anomaly. */
      threshold: number;
    };
  };
  access: { backup: readonly string[]; drill: readonly string[] };
  transfer: { concurrency: number; bandwidthBytesPerSec?: number; stagingLimit?: StagingLimit };
}

/** transfer.stagingLimit: a size, or a fraction (0..1] of the staging file system's free space at the run's start. */
export type StagingLimit = { bytes: number } | { fractionOfFree: number };
