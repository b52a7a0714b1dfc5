/**
 * A drill's scratch folder, removed off the drill's critical path.
 *
 * Removing a whole restore is the drill's last step and nobody waits for it:
 * the verdict is known, the record is written. Yet it held the command open:
 * 20,000 unlinks, 0.31-0.40 s of the mixed dataset's ~2.6 s drill (12-15% of
 * what an operator waits for; restic's plain restore removes nothing). Here the
 * folder is renamed into `<scratch>/.removing/` (one rename, same file system)
 * and a detached `rm -rf` removes it while the command ends; without `rm`, this
 * process removes it itself (removeScratch).
 *
 * What stays the same: at most one drill's restore on disk at a time. The next
 * drill first removes what is still under `.removing/` (a removal still under
 * way, or one a crash or reboot cut short) before it restores anything, so two
 * large restores never add up on a tight disk, and restored plaintext never
 * outlives the next drill. The folder stays under the state folder (mode 0700)
 * until then, as it was during the drill.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeScratch } from './remove-scratch.js';

/** Where discarded scratch folders wait for their removal, under the scratch root. */
export const REMOVING = '.removing';

/**
 * Moves `dir` (a drill's scratch folder) aside and starts its removal in the
 * background; returns once it is out of the way. A folder that cannot be moved
 * is removed here before returning, as before.
 */
export async function discardScratch(dir: string): Promise<void> {
  const removing = join(dirname(dir), REMOVING);
  const aside = join(removing, `${basename(dir)}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(removing, { recursive: true, mode: 0o700 });
    await rename(dir, aside);
  } catch {
    await removeScratch(dir);
    return;
  }
  removeDetached(aside);
}

/** Removes every scratch folder still waiting under `scratchRoot/.removing` (a drill's first step). */
export async function finishDiscards(scratchRoot: string): Promise<void> {
  const removing = join(scratchRoot, REMOVING);
  let names: string[];
  try {
    names = await readdir(removing);
  } catch {
    return; // nothing was ever discarded here
  }
  // A detached `rm` may be removing the same folder: removeScratch ends either way with it gone.
  for (const name of names) await removeScratch(join(removing, name));
}

/**
 * `rm -rf -- path` in its own process group, not waited for, so it outlives this
 * process (and a Ctrl-C at its terminal). The path is an argument, never shell
 * text. Spawning fails only without `rm`: then this process removes it.
 */
function removeDetached(path: string): void {
  let child;
  try {
    child = spawn('rm', ['-rf', '--', path], { detached: true, stdio: 'ignore' });
  } catch {
    void removeScratch(path).catch(() => undefined);
    return;
  }
  child.once('error', () => void removeScratch(path).catch(() => undefined));
  child.unref();
}
