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

export function trashBeside(work: string, log: (line: string) => void = () => undefined): Trash {
  const dir = `${work}.trash`;
  let n = 0;
  let warned = false;
  const rm = (p: string): void => fs.rmSync(p, { recursive: true, force: true });
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
