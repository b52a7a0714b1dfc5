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
import { lstat, mkdir, readdir, rename, unlink } from 'node:fs/promises';
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
  const removing = await removingFolder(dirname(dir), true);
  if (removing === undefined) return removeScratch(dir);
  const aside = join(removing, `${basename(dir)}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(dir, aside);
  } catch {
    return removeScratch(dir);
  }
  removeDetached(aside);
}

/**
 * Removes everything still waiting under `scratchRoot/.removing` (a drill's
 * first step). Only folders are emptied; anything else there (a symlink
 * planted in the state folder) is unlinked, never followed.
 */
export async function finishDiscards(scratchRoot: string): Promise<void> {
  const removing = await removingFolder(scratchRoot, false);
  if (removing === undefined) return;
  // A detached `rm` may be removing the same folder: removeScratch ends either way with it gone.
  for (const entry of await readdir(removing, { withFileTypes: true })) {
    const path = join(removing, entry.name);
    if (entry.isDirectory()) await removeScratch(path);
    else await unlink(path).catch(() => undefined);
  }
}

/**
 * `scratchRoot/.removing` when it is a folder of its own (made if missing and
 * `create`); undefined otherwise. A symlink there is never used: moving a
 * restore through it, or emptying what it points to, would reach outside the
 * state folder.
 */
async function removingFolder(scratchRoot: string, create: boolean): Promise<string | undefined> {
  const removing = join(scratchRoot, REMOVING);
  if (create) await mkdir(removing, { mode: 0o700 }).catch(() => undefined);
  try {
    return (await lstat(removing)).isDirectory() ? removing : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `rm -rf -- path` in its own process group, not waited for, so it outlives this
 * process (and a Ctrl-C at its terminal). The path is an argument, never shell
 * text. Spawning fails only without `rm`: then this process removes it.
 */
function removeDetached(path: string): void {
  const removeHere = (): void => void removeScratch(path).catch(() => undefined);
  try {
    spawn('rm', ['-rf', '--', path], { detached: true, stdio: 'ignore' }).once('error', removeHere).unref();
  } catch {
    removeHere();
  }
}
