/**
 * Repository locks (locks/<id>): backups, restores and checks hold a shared
 * lock; prune holds an exclusive one, so it never deletes a pack that a running
 * backup is about to reference. A lock is refreshed while held; one whose
 * holder is gone (same host, process dead) or that has not been refreshed for
 * STALE_AFTER_MS is stale and ignored (and removed).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from '../backends/backend.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { processAlive } from '../process-info.js';

export interface LockInfo {
  exclusive: boolean;
  host: string;
  pid: number;
  time: string;
  refreshed: string;
  /** What the holder is doing, for the message another process shows. */
  purpose: string;
}

const REFRESH_MS = 5 * 60 * 1000;
const STALE_AFTER_MS = 30 * 60 * 1000;
/** How often two takers that collided try again before one reports the other as the holder. */
const SIMULTANEOUS_TAKE_ATTEMPTS = 5;

export function isStale(lock: LockInfo, now: Date, host = hostname()): boolean {
  if (now.getTime() - new Date(lock.refreshed).getTime() > STALE_AFTER_MS) return true;
  return lock.host === host && !processAlive(lock.pid);
}

async function readLocks(backend: Backend): Promise<{ name: string; info: LockInfo }[]> {
  const out: { name: string; info: LockInfo }[] = [];
  for await (const { name } of backend.list('locks')) {
    try {
      out.push({ name, info: JSON.parse((await backend.load({ kind: 'locks', name })).toString('utf8')) as LockInfo });
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND') && !(e instanceof SyntaxError)) throw e;
    }
  }
  return out;
}

export class RepositoryLock {
  private timer?: NodeJS.Timeout;

  private constructor(
    private readonly backend: Backend,
    readonly name: string,
    private info: LockInfo,
  ) {}

  /** Take a lock, or throw REPO_LOCKED naming who holds a conflicting one and since when. */
  static async acquire(backend: Backend, options: { exclusive: boolean; purpose: string }): Promise<RepositoryLock> {
    const now = new Date();
    const info: LockInfo = { exclusive: options.exclusive, host: hostname(), pid: process.pid, time: now.toISOString(), refreshed: now.toISOString(), purpose: options.purpose };
    const name = randomBytes(32).toString('hex');
    const conflict = async () => {
      for (const other of await readLocks(backend)) {
        if (other.name === name) continue;
        if (isStale(other.info, new Date())) {
          await backend.remove({ kind: 'locks', name: other.name }).catch(() => undefined);
          continue;
        }
        if (options.exclusive || other.info.exclusive) return other.info;
      }
      return undefined;
    };
    for (let attempt = 1; ; attempt++) {
      const before = await conflict();
      if (before) throw lockedError(backend, before);
      await backend.save({ kind: 'locks', name }, Buffer.from(JSON.stringify(info)));
      // Two processes may have checked at the same moment: look again now that ours is visible.
      const after = await conflict();
      if (!after) break;
      await backend.remove({ kind: 'locks', name });
      // Two takers that looked at the same moment each see the other's lock and both withdraw
      // (half the rounds of test/core/repo/repo-lock.test.ts did). Each tries again after a random
      // pause, so one of them wins; a holder that stays is named by the next look at once.
      if (attempt === SIMULTANEOUS_TAKE_ATTEMPTS) throw lockedError(backend, after);
      await sleep(randomInt(50, 250) * attempt);
    }
    const lock = new RepositoryLock(backend, name, info);
    lock.timer = setInterval(() => void lock.refresh().catch(() => undefined), REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  private async refresh(): Promise<void> {
    this.info = { ...this.info, refreshed: new Date().toISOString() };
    await this.backend.save({ kind: 'locks', name: this.name }, Buffer.from(JSON.stringify(this.info)));
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.backend.remove({ kind: 'locks', name: this.name });
  }
}

function lockedError(backend: Backend, holder: LockInfo): LifeboatError {
  return new LifeboatError(
    'REPO_LOCKED',
    `the repository at ${backend.location} is locked${holder.exclusive ? ' exclusively' : ''} by ${holder.purpose} (pid ${holder.pid} on ${holder.host}, since ${holder.time}); try again when it is done`,
    { retryable: true, details: { holder } },
  );
}

/** Run `fn` holding a lock on the repository; the lock is released however `fn` ends. */
export async function withRepositoryLock<T>(backend: Backend, options: { exclusive: boolean; purpose: string }, fn: () => Promise<T>): Promise<T> {
  const lock = await RepositoryLock.acquire(backend, options);
  try {
    return await fn();
  } finally {
    await lock.release().catch(() => undefined);
  }
}
