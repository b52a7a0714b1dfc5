/**
 * A backup's worker threads yield to its main thread (issue 22). On a tree of
 * small files the main thread is the backup's critical path — it walks the
 * folders, stats every file, feeds the workers and encodes every listing —
 * while the workers wait for it; with both cores busy, the scheduler shared
 * them out evenly and the walk waited behind compression it was itself
 * feeding. A few nice steps on the workers let the walk run first whenever it
 * can, and the workers take every cycle it leaves.
 *
 * Linux schedules threads one by one, and setpriority(2) on a thread id
 * changes that thread alone. Within a process's own autogroup or cgroup (a
 * login session, a systemd service) this only orders Lifeboat's own threads;
 * on a host that schedules every process in one flat group it also lets other
 * programs ahead of the backup's compression, as `nice` would. Raising a nice
 * value needs no privilege, lowering it again does: a thread that yielded
 * stays that way, so only threads that will do nothing else are asked to
 * (worker-pool.ts).
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Nice steps a backup worker takes below its process (nice 0 → 5: about a third of a core's share against the main thread when both want it). */
export const BACKUP_WORKER_NICE_STEPS = 5;

/** The calling thread's kernel thread id (Linux: /proc/thread-self is `<pid>/task/<tid>`), or undefined elsewhere. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the calling thread `steps` nice steps nicer (at most 19). Best effort:
 * false where threads cannot be told apart (not Linux) or the call failed —
 * the work is the same either way, only its order changes.
 */
export function yieldThisThread(steps: number): boolean {
  if (steps <= 0) return false;
  const tid = currentThreadId();
  if (tid === undefined) return false;
  try {
    setPriority(tid, Math.min(19, getPriority(tid) + steps));
    return true;
  } catch {
    return false;
  }
}
