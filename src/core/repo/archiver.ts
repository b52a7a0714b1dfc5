/**
 * The snapshot stage's engine: stores what the discover stage
 * (src/core/pipeline/discover.ts) finds, and then the snapshot.
 *
 * The main thread decides; workers read, chunk, hash, compress, encrypt and
 * pack (worker-pool.ts), fed in batches by the FileScheduler. A file whose
 * size, mtime, ctime and inode match the parent snapshot keeps its content ids
 * without being read. Data is made visible bottom-up: data packs, then tree
 * packs, then the index, then the snapshot — an interrupted backup leaves a
 * correct repository whose packs the next backup reuses
 * (Repository.recoverOrphanPacks).
 */
import { hostname } from 'node:os';
import type { Backend } from '../backends/backend.js';
import { LifeboatError, describeError, isLifeboatError } from '../errors.js';
import { currentUser } from '../process-info.js';
import type { CommandSource } from '../runbook/types.js';
import { SharedBlobSet } from './blob-set.js';
import { FileScheduler } from './file-scheduler.js';
import { LocalBlobReader } from './local-blob-reader.js';
import type { Repository } from './repository.js';
import type { Snapshot, SnapshotSource, SnapshotStats } from './snapshot.js';
import { backupStream } from './stream-source.js';
import type { Tree, TreeNode } from './tree.js';
import { WorkerPool } from './worker-pool.js';
import { mainThreadBackupItems, mainThreadDataFlushed, mainThreadSavedPack } from './release-memory.js';

export interface BackupProgress {
  files: number;
  dirs: number;
  bytes: number;
  bytesNew: number;
  bytesStored: number;
  /** Files and bytes found by the walk so far (the totals once `walkDone`). */
  filesFound: number;
  bytesFound: number;
  walkDone: boolean;
  /** Files taken from the parent snapshot without reading. */
  filesUnchanged: number;
  /** The manifest diff against the parent snapshot. */
  diff: ManifestDiff;
}

export interface ManifestDiff {
  filesAdded: number;
  filesChanged: number;
  filesRemoved: number;
  bytesAdded: number;
  bytesChanged: number;
  bytesRemoved: number;
}

export interface BackupOutcome {
  snapshot: Snapshot;
  /** Files that could not be read (left out of the snapshot). */
  fileErrors: { path: string; message: string }[];
  /** Files that changed while being read (stored as read). */
  warnings: { path: string; message: string }[];
  failedSources: { name: string; error: { code: string; message: string } }[];
  progress: BackupProgress;
  orphansRecovered: { packs: number; blobs: number; bytes: number };
}

export interface ArchiverOptions {
  signal?: AbortSignal;
  workers?: number;
  onProgress?: (p: BackupProgress) => void;
}

/** What the finished snapshot records besides its tree. */
export interface SnapshotFacts {
  runbook: string;
  parent?: Snapshot;
  /** Default: when the snapshot is saved. */
  time?: Date;
}

/**
 * Whether a backup's workers yield to its walk (thread-priority.ts): into a local repository, where
 * the walk is all the main thread does. Into S3 the main thread also uploads what the workers pack,
 * one pipeline with them: there yielding made backups to s3rver slower (old build faster in 6 of 7
 * alternating pairs, medians 5.89 / 6.02 s; docs/performance.md, fourteenth stop).
 */
export function workersYieldToWalk(backend: Backend): boolean {
  return backend.localFile !== undefined;
}

/**
 * One backup's store: open it, hand it files and folder listings as they are
 * found, then `finish` (the snapshot) or `salvage` (index what was written),
 * and always `close`. Its lists and progress are shared with the walk, which
 * adds what only it sees (files found, the manifest diff, unreadable paths).
 */
export class Archiver {
  readonly progress: BackupProgress = {
    files: 0,
    dirs: 0,
    bytes: 0,
    bytesNew: 0,
    bytesStored: 0,
    filesFound: 0,
    bytesFound: 0,
    walkDone: false,
    filesUnchanged: 0,
    diff: { filesAdded: 0, filesChanged: 0, filesRemoved: 0, bytesAdded: 0, bytesChanged: 0, bytesRemoved: 0 },
  };
  readonly fileErrors: BackupOutcome['fileErrors'] = [];
  readonly warnings: BackupOutcome['warnings'] = [];
  readonly failedSources: BackupOutcome['failedSources'] = [];
  /** Started with the first file that must be read (files()): a backup of unchanged files starts no worker thread. */
  private pool?: WorkerPool;
  private scheduler?: FileScheduler;
  private readonly startPool: () => WorkerPool;
  private readonly onAbort = () => this.scheduler?.abort(new LifeboatError('CANCELLED', 'backup cancelled'));
  private blobsNew = 0;
  /** Bytes of packs the workers handed back as buffers (onPack), not as files: what endWorkers' collection frees. */
  private packBufferBytes = 0;
  /** Claims an id in the blob set shared with the workers: true when no one stored it before. */
  private readonly isNew: (id: string) => boolean;
  /** Puts the index's ids into the shared set; undefined once done. */
  private fillBlobSet?: () => void;
  /** Parent listings read straight from a local repository's pack files. */
  private readonly localTrees: LocalBlobReader | undefined;

  /** Indexes the packs a killed backup left (orphansRecovered), then starts the workers. */
  static async open(repo: Repository, options: ArchiverOptions = {}): Promise<Archiver> {
    return new Archiver(repo, await repo.recoverOrphanPacks(), options);
  }

  private constructor(
    readonly repo: Repository,
    private readonly orphansRecovered: BackupOutcome['orphansRecovered'],
    private readonly options: ArchiverOptions,
  ) {
    const blobSet = SharedBlobSet.allocate(repo.index.blobCount + 100_000);
    this.isNew = (id) => blobSet.claim(id);
    // The workers dedup against this set alone, so it holds the index before their first file.
    // Until then the main thread checks the index before the set (Repository.saveBlob): a backup
    // that stores no file (nothing changed) never fills it.
    this.fillBlobSet = () => {
      this.fillBlobSet = undefined;
      for (const id of repo.index.ids()) blobSet.claim(id);
    };
    this.startPool = () => new WorkerPool(repo, {
      workers: options.workers,
      blobSet: blobSet.words.buffer as SharedArrayBuffer,
      yieldToWalk: workersYieldToWalk(repo.backend),
      onPack: async (pack) => {
        await repo.savePack(pack);
        this.packBufferBytes += pack.bytes.length;
        this.packSaved(pack.bytes.length, pack.blobs.length);
      },
      // Where the backend takes packs as files (a local folder), workers write each pack as it fills
      // and hold no whole pack in memory; the save (fsync, rename, folder fsync) is the same as save's.
      onPackFile: async (pack) => {
        await repo.savePackFile(pack);
        this.packSaved(pack.size, pack.blobs.length);
      },
      onProgress: (bytes) => {
        this.progress.bytes += bytes;
        this.report();
      },
    });
    this.localTrees = LocalBlobReader.for(repo);
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private packSaved(bytes: number, blobs: number): void {
    this.progress.bytesStored += bytes;
    this.blobsNew += blobs;
    mainThreadSavedPack(bytes);
    this.report();
  }

  /**
   * The workers' queue, starting the workers on first use: each thread costs
   * ~0.2 s of CPU to start (module load, buffers), all of it wasted in a
   * backup where every file is unchanged (~20% of such a backup's CPU).
   */
  private files(): FileScheduler {
    if (!this.scheduler) {
      this.pool = this.startPool();
      this.scheduler = new FileScheduler(this.pool);
      if (this.options.signal?.aborted) this.onAbort();
    }
    return this.scheduler;
  }

  private report(): void {
    this.options.onProgress?.(this.progress);
  }

  checkCancelled(): void {
    if (this.options.signal?.aborted) throw new LifeboatError('CANCELLED', 'backup cancelled');
  }

  /** Whether files are with the workers (or waiting for them): the walk then reads folders on the libuv pool, see discover.ts. */
  get workersBusy(): boolean {
    return (this.scheduler?.pending ?? 0) > 0;
  }

  /** Resolves when the workers' queue has room; the walk waits here before queueing a folder. */
  waitForRoom(): Promise<void> {
    return this.scheduler?.waitForRoom() ?? Promise.resolve();
  }

  /** A folder listing of the parent snapshot; undefined when it cannot be read (its files are then stored as new). */
  previousTree(id: string): Promise<Tree | undefined> {
    const local = this.localTrees?.tree(id);
    if (local) return Promise.resolve(local);
    return this.repo.loadTree(id).catch(() => undefined);
  }

  /**
   * The parent fast path: a file whose size, mtime, ctime and inode match
   * its node in the parent, and whose content the index still holds, keeps
   * that content without being read. True when `node` was completed so.
   */
  reuse(node: TreeNode, previous: TreeNode | undefined): boolean {
    if (
      previous?.type !== 'file' ||
      previous.size !== node.size ||
      previous.mtimeMs !== node.mtimeMs ||
      previous.ctimeMs !== node.ctimeMs ||
      previous.inode !== node.inode ||
      !previous.content?.every((id) => this.repo.index.has(id))
    ) {
      return false;
    }
    node.content = previous.content;
    this.progress.files++;
    this.progress.filesUnchanged++;
    this.progress.bytes += node.size ?? 0;
    return true;
  }

  /**
   * Queues a file for the workers (synchronously, so files reach them in walk
   * order) and resolves with its node completed; undefined when it could not
   * be read (a file error: the run is partial).
   */
  async store(path: string, node: TreeNode): Promise<TreeNode | undefined> {
    const size = node.size ?? 0;
    // The workers first, then the set: its filling (~16 ms for the mixed dataset's index) runs while the
    // new threads start (~50-100 ms), not before them. They read the set only for a job, and the first job
    // is sent after the filling (the set is Atomics-only shared memory).
    const files = this.files();
    this.fillBlobSet?.();
    const result = await files.submit({ path, size });
    mainThreadBackupItems(1);
    this.progress.files++;
    this.progress.bytesNew += result.bytesNew;
    if (result.error) {
      this.fileErrors.push({ path, message: result.error });
      return undefined;
    }
    if (result.changed) this.warnings.push({ path, message: `changed while being read (stat said ${size} bytes, read ${result.size}); stored as read` });
    node.size = result.size;
    node.content = result.content;
    return node;
  }

  /**
   * Stores a folder listing; resolves with its id. `previous`: the parent
   * snapshot's listing of this folder; when every node is the same (same
   * fields in the same order with the same values, so the JSON would be the
   * same bytes) and the index holds it, its id is the answer, without
   * encoding and hashing the listing again (most folders of a backup with
   * few changes).
   */
  async saveTree(nodes: TreeNode[], previous?: { id: string; tree: Tree }): Promise<string> {
    if (previous && sameNodes(nodes, previous.tree.nodes) && this.repo.index.has(previous.id)) return previous.id;
    mainThreadBackupItems(nodes.length);
    const { id, stored } = await this.repo.saveTree({ nodes } satisfies Tree, this.isNew);
    this.progress.bytesStored += stored;
    return id;
  }

  /**
   * Runs each stream source (a command's stdout) and stores it as one file
   * node; a failing one goes to failedSources and the others go on.
   */
  async storeStreams(
    streams: readonly CommandSource[],
    options: { env: Readonly<Record<string, string | undefined>>; cwd: string; time: Date },
  ): Promise<{ nodes: TreeNode[]; sources: SnapshotSource[] }> {
    const nodes: TreeNode[] = [];
    const sources: SnapshotSource[] = [];
    for (const stream of streams) {
      this.checkCancelled();
      try {
        const result = await backupStream(this.repo, stream, {
          ...options,
          isNew: this.isNew,
          signal: this.options.signal,
          onBytes: (n) => {
            this.progress.bytes += n;
            this.report();
          },
        });
        this.progress.files++;
        this.progress.bytesNew += result.bytesNew;
        this.progress.bytesStored += result.bytesStored;
        nodes.push(result.node);
        sources.push({ name: stream.name, kind: 'command', origin: stream.command });
      } catch (e) {
        if (isLifeboatError(e, 'CANCELLED')) throw e;
        const err = describeError(e);
        this.failedSources.push({ name: stream.name, error: { code: err.code === 'INTERNAL' ? 'SOURCE_FAILED' : err.code, message: err.message } });
      }
    }
    return { nodes, sources };
  }

  /**
   * Waits for every file, stores the root listing, then the index, then the
   * snapshot (bottom-up: nothing visible before what it points to).
   */
  async finish(rootNodes: TreeNode[], sources: SnapshotSource[], facts: SnapshotFacts): Promise<BackupOutcome> {
    const { progress, fileErrors } = this;
    rootNodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    await this.pool?.flush();
    await this.endWorkers();
    this.checkCancelled();
    const rootTree = await this.saveTree(rootNodes);
    await this.repo.flushTrees();
    await this.repo.flushIndex();
    if (sources.length === 0) {
      throw new LifeboatError('SOURCE_FAILED', `every source failed: ${this.failedSources.map((f) => f.error.message).join('; ')}`);
    }
    const stats: SnapshotStats = {
      files: progress.files - fileErrors.length,
      dirs: progress.dirs,
      bytes: progress.bytes,
      bytesNew: progress.bytesNew,
      bytesStored: progress.bytesStored,
      blobsNew: this.blobsNew,
    };
    this.checkCancelled(); // the last moment a cancel can still mean "no snapshot"
    const snapshot = await this.repo.saveSnapshot({
      time: (facts.time ?? new Date()).toISOString(),
      runbook: facts.runbook,
      host: hostname(),
      user: currentUser(),
      tree: rootTree,
      parent: facts.parent?.id,
      sources,
      stats,
      errors: fileErrors.length > 0 ? fileErrors : undefined,
    });
    this.report();
    return { snapshot, fileErrors, warnings: this.warnings, failedSources: this.failedSources, progress, orphansRecovered: this.orphansRecovered };
  }

  /**
   * Every file's data is saved: the workers (their heaps, read and pack
   * buffers) and the pack buffers back in the main thread are let go before
   * the trees, index and snapshot are written, not at close (issue 22: this
   * moment was the first backup's peak, ~10 MiB over the rest of the run).
   * The full collection is for those pack buffers, and for the chunks a
   * staged remote's uploads read on the main thread (file-body.ts). In a
   * plain local folder (Backend.localFile) whose workers wrote every pack
   * to its own file the main thread held neither: the collection there only
   * tidied the walk's garbage, 16-46 ms on the serial path from the last
   * pack to the index, with the process's peak already behind it (the
   * workers' memory is gone), so it is left to V8 (docs/performance.md,
   * seventh stop).
   */
  private async endWorkers(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    this.pool = undefined;
    await pool.close();
    if (this.packBufferBytes > 0 || this.repo.backend.localFile === undefined) mainThreadDataFlushed();
  }

  /** After a failure: keep what was written reusable by indexing the packs that did make it. */
  async salvage(): Promise<void> {
    await this.pool?.flush().catch(() => undefined);
    await this.repo.flushTrees().catch(() => undefined);
    await this.repo.flushIndex().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.localTrees?.close();
    await this.pool?.close();
  }
}

/** Whether two listings would encode to the same JSON: same nodes, same keys in the same order, same values. */
export function sameNodes(a: readonly TreeNode[], b: readonly TreeNode[]): boolean {
  if (a.length !== b.length) return false;
  // The walk hands an unchanged file's parent node back as its node (discover.ts): the same object is the same JSON.
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !sameNode(a[i]!, b[i]!)) return false;
  return true;
}

function sameNode(a: TreeNode, b: TreeNode): boolean {
  const keysA = Object.keys(a) as (keyof TreeNode)[];
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let k = 0; k < keysA.length; k++) {
    const key = keysA[k]!;
    if (key !== keysB[k]) return false;
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    // Only a content list may differ by identity and still be equal; anything else (NaN) counts as changed.
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}
