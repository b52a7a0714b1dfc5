/**
 * Trees a bench is done with are moved aside, not deleted, until the run ends.
 *
 * This machine's ext4 has no journal. In that mode, allocating an inode skips
 * any inode freed in the last 60 s (300 s while its block is unwritten), and
 * reads each such inode to tell. Creating 20,000 files right after deleting
 * as many cost 6–11 s of kernel time instead of 1.7 s (helper R, issue 22;
 * docs/performance.md). A restore timed soon after the bench deleted the
 * previous restore or the source copy paid for the bench's own deletion, by
 * how recent it was: kernel time swung 2.2–7.3 s between identical restores.
 * A rename costs nothing. The trash is emptied when the run ends, and at the
 * next start if a run died first.
 *
 * A run's own deletions also reach the next run: one started within minutes of
 * another paid for the other's emptied trash (the S3 bench's first restore, 3.2 s
 * of kernel time against 1.8-2.2 s in its later rounds). So every large deletion here is
 * noted beside the work folder, and a run starts by waiting out the window of
 * the last one (waitOutDeletions).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Below this much free space, trees are deleted at once (as before) rather than kept to the end. */
const KEEP_FREE_BYTES = 8e9;

export interface Trash {
  /** Moves `p` into the trash (or deletes it when space is short); nothing there is fine. */
  discard(p: string): void;
  /** Deletes everything discarded so far. */
  empty(): void;
}

/**
 * How long ext4 without a journal keeps skipping a freed inode: 60 s, and 300 s more
 * while its inode-table block is dirty, which a process creating files keeps it.
 */
export const DELETION_WINDOW_MS = 360_000;

/** The note of the last deletion a bench made under `work`'s parent folder (shared by the local and S3 benches). */
const deletionNote = (work: string): string => path.join(path.dirname(work), '.bench-last-deletion');

/** Deletions of fewer entries than this are not noted: a few freed inodes cost nothing to skip. */
const NOTED_ENTRIES = 1000;

/** Deletes `p` (a tree; nothing there is fine) and notes when, if it held many entries. */
export function deleteNoted(work: string, p: string): void {
  if (!fs.existsSync(p)) return;
  const entries = fs.statSync(p).isDirectory() ? fs.readdirSync(p, { recursive: true }).length : 1;
  fs.rmSync(p, { recursive: true, force: true });
  if (entries >= NOTED_ENTRIES) fs.writeFileSync(deletionNote(work), `${Date.now()}\n`);
}

/** Milliseconds left of the last noted deletion's window at `now` (0 when none is open). */
export function deletionWindowLeftMs(work: string, now = Date.now()): number {
  let at: number;
  try {
    at = Number(fs.readFileSync(deletionNote(work), 'utf8').trim());
  } catch {
    return 0;
  }
  return Number.isFinite(at) ? Math.max(0, Math.min(DELETION_WINDOW_MS, at + DELETION_WINDOW_MS - now)) : 0;
}

/** Waits (untimed) until the last deletion a bench made is out of its window, saying so. */
export async function waitOutDeletions(work: string, log: (line: string) => void): Promise<void> {
  const left = deletionWindowLeftMs(work);
  if (left === 0) return;
  log(`# bench: waiting ${Math.ceil(left / 1000)} s — a bench deleted finished trees ${Math.round((DELETION_WINDOW_MS - left) / 1000)} s ago, and files created within ${DELETION_WINDOW_MS / 1000} s of a deletion cost more kernel time here (bench/discard.ts)`);
  await new Promise((resolve) => setTimeout(resolve, left));
}

export function trashBeside(work: string, log: (line: string) => void = () => undefined): Trash {
  const dir = `${work}.trash`;
  let n = 0;
  let warned = false;
  const rm = (p: string): void => deleteNoted(work, p);
  rm(dir); // a run that died left its trash
  return {
    discard(p) {
      if (!fs.existsSync(p)) return;
      const st = fs.statfsSync(path.dirname(p));
      if (st.bavail * st.bsize < KEEP_FREE_BYTES) {
        if (!warned) log(`# bench: under ${KEEP_FREE_BYTES / 1e9} GB free, so finished trees are deleted at once (restores may pay for the deletion)`);
        warned = true;
        rm(p);
        return;
      }
      fs.mkdirSync(dir, { recursive: true });
      fs.renameSync(p, path.join(dir, String(n++)));
    },
    empty() {
      rm(dir);
    },
  };
}
