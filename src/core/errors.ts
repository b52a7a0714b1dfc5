/**
 * Coded errors. Every error the engine raises on purpose is a LifeboatError with
 * a stable `code`, a message that says what and where, and whether retrying the
 * same operation could succeed (`retryable`). Faces map `exitCode` to the process
 * exit status and never parse messages.
 */

/** Exit codes shared by every command and every face (README.md, Commands: "Exit codes, the same for every command"). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  transferPending: 4,
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'USAGE'
  | 'RUNBOOK_INVALID'
  | 'RUNBOOK_NOT_FOUND'
  /** lifeboat.yaml does not validate (issue 17). */
  | 'CONFIG_INVALID'
  | 'SECRET_UNAVAILABLE'
  /** A runbook asked to pass a child process a value none may get (a repository password, a Slack credential). */
  | 'SECRET_REFUSED'
  | 'STORE_CORRUPT'
  | 'STORE_LOCKED'
  /** The state file (or its folder) could not be read or written: full, a folder in its place, no permission. */
  | 'STORE_IO'
  | 'BACKEND_NOT_FOUND'
  | 'BACKEND_PERMISSION'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_IO'
  | 'REPO_NOT_FOUND'
  | 'REPO_EXISTS'
  | 'REPO_WRONG_PASSWORD'
  | 'REPO_CORRUPT'
  | 'REPO_LOCKED'
  /** Prune found a kept snapshot using data it cannot locate (or a snapshot file it cannot read): it deletes nothing. */
  | 'PRUNE_REFUSED'
  | 'SNAPSHOT_NOT_FOUND'
  | 'RESTORE_UNSAFE_PATH'
  | 'SOURCE_FAILED'
  | 'HOOK_FAILED'
  | 'RUN_LOCKED'
  | 'ACCESS_DENIED'
  | 'CANCELLED'
  | 'TRANSFER_PENDING'
  /** An object in an archive storage class (Glacier, Deep Archive) was read before it was thawed. */
  | 'OBJECT_ARCHIVED'
  /** Archived packs were still thawing when a restore's thaw deadline passed. */
  | 'THAW_TIMEOUT'
  | 'INTERNAL';

export interface LifeboatErrorOptions {
  /** Could the same operation succeed if tried again later (network, 5xx, lock held)? */
  retryable?: boolean;
  /** Exit code a command should end with when this error ends it. */
  exitCode?: ExitCode;
  cause?: unknown;
  /** Extra facts for records and renderings (never secrets). */
  details?: Record<string, unknown>;
}

const defaultExit: Partial<Record<ErrorCode, ExitCode>> = {
  USAGE: ExitCode.usage,
  RUNBOOK_INVALID: ExitCode.usage,
  RUNBOOK_NOT_FOUND: ExitCode.usage,
  CONFIG_INVALID: ExitCode.usage,
  SECRET_REFUSED: ExitCode.usage,
  CANCELLED: ExitCode.cancelled,
  TRANSFER_PENDING: ExitCode.transferPending,
};

export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LifeboatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.exitCode = options.exitCode ?? defaultExit[code] ?? ExitCode.failed;
    this.details = options.details ?? {};
  }
}

export function isLifeboatError(e: unknown, code?: ErrorCode): e is LifeboatError {
  return e instanceof LifeboatError && (code === undefined || e.code === code);
}

/** A short, secret-free description of any thrown value, for records and logs. */
export function describeError(e: unknown): { code: ErrorCode; message: string } {
  if (e instanceof LifeboatError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: 'INTERNAL', message: e.message };
  return { code: 'INTERNAL', message: String(e) };
}
