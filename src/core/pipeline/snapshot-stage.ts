/**
 * The discover and snapshot stages of one backup, pipelined: the walk
 * (discover.ts) hands each file to the archiver (src/core/repo/archiver.ts)
 * as it finds it; stream sources follow the path sources; then the snapshot.
 * On a failure, the packs already written are indexed so the next backup
 * reuses them.
 */
import { Archiver, type BackupOutcome, type BackupProgress } from '../repo/archiver.js';
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { CommandSource } from '../runbook/types.js';
import { discoverPathSources, type PathSourceSpec } from './discover.js';

export type { BackupOutcome, BackupProgress };

export interface BackupInput {
  repo: Repository;
  runbook: string;
  sources: readonly PathSourceSpec[];
  /** Stream sources (a command's stdout), stored after the path sources. */
  streams?: readonly CommandSource[];
  /** Environment and folder stream commands run with. */
  streamEnv?: Readonly<Record<string, string | undefined>>;
  streamCwd?: string;
  parent?: Snapshot;
  time?: Date;
  signal?: AbortSignal;
  workers?: number;
  onProgress?: (p: BackupProgress) => void;
}

export async function backupPaths(input: BackupInput): Promise<BackupOutcome> {
  const archiver = await Archiver.open(input.repo, { workers: input.workers, signal: input.signal, onProgress: input.onProgress });
  try {
    const previousRoot = input.parent ? await archiver.previousTree(input.parent.tree) : undefined;
    const paths = await discoverPathSources(archiver, input.sources, previousRoot);
    archiver.progress.walkDone = true;
    const streams = await archiver.storeStreams(input.streams ?? [], {
      env: input.streamEnv ?? {},
      cwd: input.streamCwd ?? process.cwd(),
      time: input.time ?? new Date(),
    });
    return await archiver.finish([...paths.nodes, ...streams.nodes], [...paths.sources, ...streams.sources], {
      runbook: input.runbook,
      ...(input.parent === undefined ? {} : { parent: input.parent }),
      ...(input.time === undefined ? {} : { time: input.time }),
    });
  } catch (e) {
    await archiver.salvage();
    throw e;
  } finally {
    await archiver.close();
  }
}
