/**
 * Bytes waiting in the state folder's staging area: what remote repositories
 * were sent but have not confirmed yet. A backup's uploads in flight sit there
 * while it runs; a transfer-pending run leaves its objects there for the next
 * run or `lifeboat resume` (src/core/backends/staging-backend.ts).
 *
 * Read from the disk, not from run records: a record's pendingBytes is what
 * one run left, and goes stale the moment a resume or a later backup uploads
 * it. The walk is cheap (staging is bounded, transfer.stagingLimit, and holds
 * packs of several MiB, so a few hundred files at most in practice) and capped
 * all the same, so a scrape cannot be made to walk a huge tree.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** One staging folder: `<home>/staging/<runbook>-<tier>-<key>` (src/core/repo/open-repository.ts names it). */
export interface StagingUsage {
  runbook: string;
  tier: 'hot' | 'cold';
  /** Bytes of every file in the folder, finished objects and saves still being written. */
  bytes: number;
  files: number;
  /** True when the walk stopped at the cap: `bytes` and `files` are then at least this much. */
  truncated: boolean;
}

/** Files counted per folder before the walk stops: ~160 GiB of 16 MiB packs, far past any staging bound. */
export const STAGING_WALK_FILE_CAP = 10_000;

/** `<runbook>-<hot|cold>-<16 hex digits of the repository URL's hash>`; a runbook name may hold dashes itself. */
const folderName = /^(.+)-(hot|cold)-([0-9a-f]{16})$/;

/** The runbook and tier a staging folder belongs to, from its name; undefined for anything else found there. */
export function parseStagingFolderName(name: string): { runbook: string; tier: 'hot' | 'cold' } | undefined {
  const m = folderName.exec(name);
  return m ? { runbook: m[1]!, tier: m[2] as 'hot' | 'cold' } : undefined;
}

/**
 * Every staging folder under `home` with what it holds, in name order; none
 * when there is no staging folder (local repositories are written directly).
 * A folder that vanishes during the walk (a flush removing it) counts what
 * was seen.
 */
export async function stagingUsage(home: string, options: { fileCap?: number } = {}): Promise<StagingUsage[]> {
  const root = join(home, 'staging');
  const cap = options.fileCap ?? STAGING_WALK_FILE_CAP;
  const usage: StagingUsage[] = [];
  for (const entry of (await entriesOf(root)).sort((a, b) => a.name.localeCompare(b.name))) {
    const owner = entry.isDirectory() ? parseStagingFolderName(entry.name) : undefined;
    if (!owner) continue;
    const tally = { bytes: 0, files: 0, truncated: false };
    await walk(join(root, entry.name), tally, cap);
    usage.push({ ...owner, ...tally });
  }
  return usage;
}

/**
 * Folders level by level, each level's read at once, then the sizes in
 * batches: one await per file made a thousand files take a quarter second.
 */
async function walk(folder: string, tally: { bytes: number; files: number; truncated: boolean }, cap: number): Promise<void> {
  const files: string[] = [];
  let level = [folder];
  while (level.length > 0 && !tally.truncated) {
    const listed = await Promise.all(level.map(async (dir) => ({ dir, entries: await entriesOf(dir) })));
    level = [];
    for (const { dir, entries } of listed) {
      for (const entry of entries) {
        if (entry.isDirectory()) level.push(join(dir, entry.name));
        else if (entry.isFile()) {
          if (files.length >= cap) {
            tally.truncated = true;
            break;
          }
          files.push(join(dir, entry.name));
        }
      }
    }
  }
  for (let i = 0; i < files.length; i += SIZE_BATCH) {
    for (const size of await Promise.all(files.slice(i, i + SIZE_BATCH).map(sizeOf))) {
      if (size === undefined) continue;
      tally.bytes += size;
      tally.files += 1;
    }
  }
}

/** Sizes read at once: enough to keep the disk busy, few enough file handles. */
const SIZE_BATCH = 64;

/** A folder's entries; none when it does not exist (any more): uploads remove files while this reads. */
async function entriesOf(folder: string) {
  try {
    return await readdir(folder, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await lstat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
