/**
 * The repository lock an action holds, by mode (restic's read/append versus
 * exclusive): `shared` for whatever reads or adds (backup, restore, drill,
 * check, tier's copy), `exclusive` for whatever deletes or rewrites (forget
 * and prune, migrate, repair-index), `none` for what only lists or creates.
 * The mechanism (lock files under locks/, refreshed, stale ones cleared) is
 * src/core/repo/repo-lock.ts; which action takes which mode is declared once,
 * in src/core/use-cases/policies.ts.
 */
import type { Backend } from '../backends/backend.js';
import { describeError, isLifeboatError } from '../errors.js';
import { RepositoryLock } from '../repo/repo-lock.js';

export type LockMode = 'none' | 'shared' | 'exclusive';

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockRequest {
  mode: LockMode;
  /** What the holder does, shown to whoever is refused ("forget of app-data"). */
  purpose: string;
  /**
   * A staged repository (S3 behind local staging) whose remote is down cannot
   * be locked. An action that only stages (a backup, tier's copy, resume) goes
   * on without the lock: uploads keep their order, and prune leaves packs no
   * index lists alone for a day. `warn` says so. Without it, an unreachable
   * remote is an error like any other.
   */
  unlockedIfUnreachable?: { staged: boolean; warn(message: string): void };
}

const unlocked: HeldLock = { release: async () => undefined };

/** Take the lock a request names, or throw REPO_LOCKED naming the holder. */
export async function lockRepository(backend: Backend, request: LockRequest): Promise<HeldLock> {
  if (request.mode === 'none') return unlocked;
  try {
    const lock = await RepositoryLock.acquire(backend, { exclusive: request.mode === 'exclusive', purpose: request.purpose });
    return { release: () => lock.release().catch(() => undefined) };
  } catch (e) {
    const goOn = request.unlockedIfUnreachable;
    if (!goOn?.staged || !isLifeboatError(e) || !e.retryable || isLifeboatError(e, 'REPO_LOCKED')) throw e;
    goOn.warn(`could not lock ${backend.location} (${describeError(e).message}); staging without a lock`);
    return unlocked;
  }
}

/** Run `fn` holding the requested lock; it is released however `fn` ends. */
export async function withRepositoryLock<T>(backend: Backend, request: LockRequest, fn: () => Promise<T>): Promise<T> {
  const lock = await lockRepository(backend, request);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
