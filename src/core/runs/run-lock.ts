/**
 * One run of a runbook at a time, across processes: a lock file in the state
 * folder (`locks/<runbook>.lock`) created with O_EXCL, holding who runs it.
 * A lock whose process is gone (same host) is stale: it is taken over, and
 * the takeover itself is atomic (rename of our own file over the stale one
 * after re-reading it), so two processes can't both take over.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { processAlive } from '../process-info.js';

export interface RunLockInfo {
  runbook: string;
  pid: number;
  host: string;
  startedAt: string;
  runId?: string;
  /** Who asked, e.g. "root (cli)". */
  by?: string;
}

async function readLock(path: string): Promise<RunLockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunLockInfo;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Half-written by a process killed between create and write: treat as stale.
    return { runbook: '?', pid: -1, host: hostname(), startedAt: new Date(0).toISOString() };
  }
}

export function isStaleRunLock(info: RunLockInfo): boolean {
  return info.host === hostname() && (info.pid <= 0 || !processAlive(info.pid));
}

export class RunLock {
  private constructor(
    readonly path: string,
    readonly info: RunLockInfo,
    /** Set when a stale lock was taken over: whose it was. */
    readonly tookOverFrom?: RunLockInfo,
  ) {}

  static async acquire(home: string, info: Omit<RunLockInfo, 'pid' | 'host'>): Promise<RunLock> {
    const dir = join(home, 'locks');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${info.runbook}.lock`);
    const full: RunLockInfo = { ...info, pid: process.pid, host: hostname() };
    const body = JSON.stringify(full, null, 2) + '\n';
    // Write our lock under a private name first, then link it into place: the
    // lock file is never visible half-written.
    const mine = join(dir, `.${info.runbook}.${process.pid}.${randomBytes(4).toString('hex')}`);
    const fh = await open(mine, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(mine, path);
          return new RunLock(path, full);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const holder = await readLock(path);
        if (!holder) continue; // released meanwhile
        if (!isStaleRunLock(holder)) {
          throw new LifeboatError(
            'RUN_LOCKED',
            `${info.runbook} is already running: pid ${holder.pid} on ${holder.host}${holder.by ? ` for ${holder.by}` : ''} since ${holder.startedAt}${holder.runId ? ` (run ${holder.runId})` : ''}`,
            { retryable: true, details: { holder } },
          );
        }
        // Stale: replace it atomically, then make sure the file we see is ours.
        await rename(mine, path);
        const now = await readLock(path);
        if (now?.pid === process.pid && now.host === full.host) return new RunLock(path, full, holder);
        throw new LifeboatError('RUN_LOCKED', `${info.runbook} was taken over by pid ${now?.pid} at the same moment; try again`, { retryable: true });
      }
      throw new LifeboatError('RUN_LOCKED', `could not take the run lock ${path}`, { retryable: true });
    } finally {
      await unlink(mine).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    const holder = await readLock(this.path);
    if (holder && holder.pid === this.info.pid && holder.host === this.info.host) await unlink(this.path).catch(() => undefined);
  }
}
