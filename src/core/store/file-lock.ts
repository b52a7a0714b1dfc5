/**
 * A cross-process lock around a file's read-modify-write, with proper-lockfile:
 * a sibling `<file>.lock` folder (mkdir is atomic on every local filesystem and
 * on NFS), refreshed while held, and taken over once its owner has stopped
 * refreshing it for `staleMs` (a holder killed with SIGKILL never releases it).
 *
 * proper-lockfile's own retries back off exponentially to seconds; a store lock
 * is held for milliseconds, so we poll briefly with jitter until a deadline.
 */
import { LifeboatError } from '../errors.js';
import { isErrno } from './durable-file.js';

export interface LockSettings {
  /** How long to wait for another process's lock before giving up with STORE_LOCKED. */
  timeoutMs: number;
  /**
   * When an unrefreshed lock counts as abandoned (proper-lockfile's floor is 2 s).
   * Below `timeoutMs`, so a lock left by a killed process is taken over, not reported.
   */
  staleMs: number;
}

export const defaultLockSettings: LockSettings = { timeoutMs: 8_000, staleMs: 5_000 };

const firstPollMs = 1;
const maxPollMs = 25;

export function lockPathFor(target: string): string {
  return `${target}.lock`;
}

/** Runs `fn` while holding the lock on `target` (an absolute path). */
export async function withFileLock<T>(target: string, settings: LockSettings, fn: () => Promise<T>): Promise<T> {
  let lost: Error | undefined;
  const release = await acquire(target, settings, (e) => {
    lost = e;
  });
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    // The write's own failure is the one to report, not a release problem after it.
    await release().catch(() => undefined);
    throw e;
  }
  // After a takeover release() refuses (ERELEASED) and leaves the new owner's lock alone.
  const releaseError = await release().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (lost !== undefined) {
    throw new LifeboatError(
      'STORE_LOCKED',
      `Lost the lock on state file ${target} while writing (${lost.message}); another process may have taken it over, so the write may not be saved. Retry it.`,
      { retryable: true, cause: lost, details: { path: target, lockPath: lockPathFor(target) } },
    );
  }
  if (releaseError !== undefined) throw releaseError;
  return result;
}

async function acquire(target: string, settings: LockSettings, onLost: (e: Error) => void): Promise<() => Promise<void>> {
  // Loaded at the first write, not at start-up: proper-lockfile patches fs through graceful-fs (~50 ms of CPU),
  // which every command paid, read-only ones included (issue 22).
  const { lock } = await import('proper-lockfile');
  const deadline = performance.now() + settings.timeoutMs;
  let pollMs = firstPollMs;
  for (;;) {
    try {
      return await lock(target, {
        realpath: false,
        lockfilePath: lockPathFor(target),
        stale: settings.staleMs,
        retries: 0,
        // The default throws from a timer and kills the process; we report it from the write instead.
        onCompromised: onLost,
      });
    } catch (e) {
      if (!isErrno(e, 'ELOCKED')) throw e;
      if (performance.now() >= deadline) throw lockedError(target, settings);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs * (0.5 + Math.random())));
    pollMs = Math.min(pollMs * 1.5, maxPollMs);
  }
}

function lockedError(target: string, settings: LockSettings): LifeboatError {
  const lockPath = lockPathFor(target);
  return new LifeboatError(
    'STORE_LOCKED',
    `State file ${target} is locked by another Lifeboat process (lock ${lockPath}); waited ${settings.timeoutMs / 1000} s. ` +
      `Retry shortly. If no other Lifeboat is running, the lock is taken over once it is ${settings.staleMs / 1000} s old.`,
    { retryable: true, details: { path: target, lockPath } },
  );
}
