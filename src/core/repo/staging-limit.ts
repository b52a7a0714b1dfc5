/**
 * How many bytes a run may keep in its staging folder (transfer.stagingLimit).
 *
 * Without a setting: a quarter of the space free on the staging folder's file
 * system when the run starts, at most 1 GiB. A quarter, because that file
 * system is shared: the metadata cache, drill scratch space and other
 * runbooks' staging live in the same state folder, and the application being
 * backed up may write there too; runs that start one after the other each take
 * a quarter of what is left, so even several together never fill the disk.
 * At most 1 GiB, because uploads set the pace: a bigger buffer only lets
 * snapshotting run further ahead, and the run still waits for the last upload.
 *
 * The bound never stops a pack from going through: StagingBackend stages an
 * object larger than the bound alone, once staging is empty.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StagingLimit } from '../runbook/types.js';

export const DEFAULT_STAGING_FRACTION = 0.25;
export const DEFAULT_STAGING_CAP_BYTES = 1024 * 1024 * 1024;

/** Bytes `folder`'s file system has free for this user; undefined when it cannot tell. */
export async function freeBytesAt(folder: string): Promise<number | undefined> {
  // The staging folder is made on first save: ask the nearest folder that exists.
  for (let at = folder; ; at = dirname(at)) {
    try {
      const fs = await statfs(at);
      return fs.bavail * fs.bsize;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) return undefined;
    }
  }
}

/** The bound in bytes for a run staging into `folder`. */
export async function stagingLimitBytes(limit: StagingLimit | undefined, folder: string): Promise<number> {
  if (limit !== undefined && 'bytes' in limit) return limit.bytes;
  const free = await freeBytesAt(folder);
  // A file system that does not say (statfs unsupported) gets the cap, as before the bound was configurable.
  if (free === undefined) return DEFAULT_STAGING_CAP_BYTES;
  if (limit !== undefined) return Math.floor(free * limit.fractionOfFree);
  return Math.min(DEFAULT_STAGING_CAP_BYTES, Math.floor(free * DEFAULT_STAGING_FRACTION));
}
