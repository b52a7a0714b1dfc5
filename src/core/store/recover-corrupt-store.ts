/**
 * The one way a damaged state file leaves its place: an operator asks for it.
 * The file is renamed, never deleted or rewritten, so whatever it still holds can
 * be read back by hand; the next open starts an empty store beside it.
 */
import { access, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { isLifeboatError } from '../errors.js';
import { isErrno, readTextIfExists, syncFolder } from './durable-file.js';
import { defaultLockSettings, withFileLock, type LockSettings } from './file-lock.js';
import { stateFilePath } from './json-store.js';
import { parseState } from './state-file.js';

export type RecoveryResult =
  /** The file was damaged and now sits at `movedTo`; `problem` is the error it raised. */
  | { status: 'moved'; path: string; movedTo: string; problem: string }
  /** Nothing to recover: the file reads fine and was left alone. */
  | { status: 'healthy'; path: string }
  | { status: 'missing'; path: string }
  /** Written by a newer Lifeboat: not damage, so it stays where it is. */
  | { status: 'newer-version'; path: string; problem: string };

export interface RecoveryOptions {
  fileName?: string;
  /** Names the moved file (`<file>.corrupt-<timestamp>`). */
  clock?: Clock;
  lock?: Partial<LockSettings>;
}

export async function recoverCorruptStore(home: string, options: RecoveryOptions = {}): Promise<RecoveryResult> {
  const path = stateFilePath(home, options.fileName);
  const clock = options.clock ?? systemClock;
  // Nothing there (not even the folder, which the lock would need): nothing to move, and nothing is created.
  if ((await readTextIfExists(path)) === undefined) return { status: 'missing', path };
  // Under the store's lock, so no writer is between its read and its rename while we look.
  return withFileLock(path, { ...defaultLockSettings, ...options.lock }, async () => {
    const text = await readTextIfExists(path);
    if (text === undefined) return { status: 'missing', path };
    try {
      parseState(text, path);
      return { status: 'healthy', path };
    } catch (e) {
      if (!isLifeboatError(e, 'STORE_CORRUPT')) throw e;
      if (e.details['reason'] === 'newer-version') return { status: 'newer-version', path, problem: e.message };
      const movedTo = await freeName(`${path}.corrupt-${clock.now().toISOString().replace(/[:.]/g, '-')}`);
      await rename(path, movedTo);
      await syncFolder(dirname(path));
      return { status: 'moved', path, movedTo, problem: e.message };
    }
  });
}

/** Two recoveries in one millisecond must not put one damaged file over another. */
async function freeName(base: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    try {
      await access(candidate);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return candidate;
      throw e;
    }
  }
}
