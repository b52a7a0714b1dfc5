/** Who and where this process is, and whether another one still lives: used by locks and records. */
import { userInfo } from 'node:os';

/** The local user name; `fallback` where the passwd entry is missing (containers). */
export function currentUser(fallback = 'unknown'): string {
  try {
    return userInfo().username;
  } catch {
    return fallback;
  }
}

/** Is `pid` alive on this host? EPERM means it exists under another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
