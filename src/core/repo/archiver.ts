/**
 * Backup of path sources into a repository (the snapshot stage's engine).
 *
 * The main thread walks and decides; workers read, chunk, hash, compress,
 * encrypt and pack (worker-pool.ts). A file whose size, mtime, ctime and inode
 * match the parent snapshot keeps its content ids without being read. Data is
 * made visible bottom-up: data packs, then tree packs, then the index, then
 * the snapshot — an interrupted backup leaves a correct repository whose packs
 * the next backup reuses (Repository.recoverOrphanPacks).
 */
import { lstatSync, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { LifeboatError, describeError, isLifeboatError } from '../errors.js';
import type { CommandSource } from '../runbook/types.js';
import { SharedBlobSet } from './blob-set.js';
import { FileScheduler } from './file-scheduler.js';
import type { Repository } from './repository.js';
import { hostname } from 'node:os';
import { currentUser } from '../process-info.js';
import type { Snapshot, SnapshotSource, SnapshotStats } from './snapshot.js';
import { backupStream } from './stream-source.js';
import type { Tree, TreeNode } from './tree.js';
import { WorkerPool } from './worker-pool.js';

export interface PathSourceSpec {
  name: string;
  path: string;
  exclude: readonly string[];
}

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

const modeBits = (st: Stats): number => st.mode & 0o7777;

export async function backupPaths(input: BackupInput): Promise<BackupOutcome> {
  const { repo, signal } = input;
  const orphansRecovered = await repo.recoverOrphanPacks();
  const blobSet = SharedBlobSet.allocate(repo.index.blobCount + 100_000);
  for (const id of repo.index.ids()) blobSet.claim(id);

  const progress: BackupProgress = {
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
  const { diff } = progress;
  const report = () => input.onProgress?.(progress);
  let blobsNew = 0;
  const pool = new WorkerPool(repo, {
    workers: input.workers,
    blobSet: blobSet.words.buffer as SharedArrayBuffer,
    onPack: async (pack) => {
      await repo.savePack(pack);
      progress.bytesStored += pack.bytes.length;
      blobsNew += pack.blobs.length;
      report();
    },
    onProgress: (bytes) => {
      progress.bytes += bytes;
      report();
    },
  });
  const scheduler = new FileScheduler(pool);
  const onAbort = () => scheduler.abort(new LifeboatError('CANCELLED', 'backup cancelled'));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const fileErrors: BackupOutcome['fileErrors'] = [];
  const warnings: BackupOutcome['warnings'] = [];
  const failedSources: BackupOutcome['failedSources'] = [];
  const isNewTree = (id: string) => blobSet.claim(id);

  const checkCancelled = () => {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'backup cancelled');
  };

  async function saveTree(nodes: TreeNode[]): Promise<string> {
    const { id, stored } = await repo.saveTree({ nodes } satisfies Tree, isNewTree);
    progress.bytesStored += stored;
    return id;
  }

  function fileNode(name: string, st: Stats): TreeNode {
    return {
      name,
      type: 'file',
      mode: modeBits(st),
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      inode: st.ino,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
    };
  }

  /** A file node with content; undefined when the file could not be read. */
  async function archiveFile(abs: string, name: string, st: Stats, previous: TreeNode | undefined): Promise<TreeNode | undefined> {
    const node = fileNode(name, st);
    progress.filesFound++;
    progress.bytesFound += st.size;
    if (
      previous?.type === 'file' &&
      previous.size === st.size &&
      previous.mtimeMs === st.mtimeMs &&
      previous.ctimeMs === st.ctimeMs &&
      previous.inode === st.ino &&
      previous.content?.every((id) => repo.index.has(id))
    ) {
      node.content = previous.content;
      progress.files++;
      progress.filesUnchanged++;
      progress.bytes += st.size;
      return node;
    }
    if (previous?.type === 'file') {
      diff.filesChanged++;
      diff.bytesChanged += st.size;
    } else {
      diff.filesAdded++;
      diff.bytesAdded += st.size;
    }
    const result = await scheduler.submit({ path: abs, size: st.size });
    progress.files++;
    progress.bytesNew += result.bytesNew;
    if (result.error) {
      fileErrors.push({ path: abs, message: result.error });
      return undefined;
    }
    if (result.changed) warnings.push({ path: abs, message: `changed while being read (stat said ${st.size} bytes, read ${result.size}); stored as read` });
    node.size = result.size;
    node.content = result.content;
    return node;
  }

  /**
   * Walks a directory depth-first and queues its files, returning as soon as
   * the walk is done; `nodes` completes when the workers have stored every file
   * below. Walking on while earlier directories are still being stored keeps
   * the workers fed across directory boundaries (the scheduler's queue limit
   * still bounds how far ahead the walk runs).
   */
  async function archiveDir(abs: string, rel: string, previous: Tree | undefined, excluded: (rel: string) => boolean): Promise<{ nodes: Promise<TreeNode[]> }> {
    checkCancelled();
    await scheduler.waitForRoom();
    const names = validNames(await readdir(abs, { encoding: 'buffer' }), abs, fileErrors).sort();
    const previousByName = new Map(previous?.nodes.map((n) => [n.name, n]));
    if (previous) {
      const present = new Set(names);
      for (const gone of previous.nodes) if (!present.has(gone.name)) await countRemoved(gone);
    }
    // lstatSync: a round trip through the libuv pool per file cost 4x more main-thread
    // time than the syscall itself (a cached lstat is microseconds).
    const stats = names.map((name): Stats | NodeJS.ErrnoException => {
      try {
        return lstatSync(join(abs, name));
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
    });
    const slots: (Promise<TreeNode | undefined> | TreeNode | undefined)[] = [];
    const dirs: { index: number; name: string; st: Stats }[] = [];
    names.forEach((name, i) => {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = stats[i]!;
      if (st instanceof Error) {
        if (st.code !== 'ENOENT') fileErrors.push({ path: join(abs, name), message: st.message });
        slots.push(undefined);
        return;
      }
      if (excluded(childRel) || (st.isDirectory() && excluded(childRel + '/'))) {
        slots.push(undefined);
        return;
      }
      const childAbs = join(abs, name);
      if (st.isFile()) {
        slots.push(archiveFile(childAbs, name, st, previousByName.get(name)));
      } else if (st.isDirectory()) {
        dirs.push({ index: slots.length, name, st });
        slots.push(undefined);
      } else if (st.isSymbolicLink()) {
        slots.push(
          readlink(childAbs).then(
            (target): TreeNode => ({ name, type: 'symlink', mode: modeBits(st), mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid, target }),
            (e: Error) => {
              fileErrors.push({ path: childAbs, message: e.message });
              return undefined;
            },
          ),
        );
      } else {
        warnings.push({ path: childAbs, message: 'not a regular file, directory or symlink (device, socket or FIFO): skipped' });
        slots.push(undefined);
      }
    });
    // Files of this directory are already queued; descend while the workers chew on them.
    for (const d of dirs) {
      const prevNode = previousByName.get(d.name);
      const prevTree = prevNode?.type === 'dir' && prevNode.subtree ? await repo.loadTree(prevNode.subtree).catch(() => undefined) : undefined;
      const childAbs = join(abs, d.name);
      try {
        const child = await archiveDir(childAbs, rel === '' ? d.name : `${rel}/${d.name}`, prevTree, excluded);
        const done = child.nodes.then(async (children): Promise<TreeNode> => ({ ...dirNode(d.name, d.st), subtree: await saveTree(children) }));
        done.catch(() => undefined); // awaited below with the others; this only marks it handled meanwhile
        slots[d.index] = done;
      } catch (e) {
        if (e instanceof LifeboatError || (e as NodeJS.ErrnoException).code === undefined) throw e;
        fileErrors.push({ path: childAbs, message: (e as Error).message });
      }
    }
    for (const slot of slots) if (slot instanceof Promise) slot.catch(() => undefined);
    const nodes = Promise.all(slots.map((slot) => Promise.resolve(slot))).then((all) => {
      progress.dirs++;
      return all.filter((n): n is TreeNode => n !== undefined);
    });
    nodes.catch(() => undefined);
    return { nodes };
  }

  /** A file or folder that was in the parent snapshot and is gone now. */
  async function countRemoved(node: TreeNode): Promise<void> {
    if (node.type === 'file') {
      diff.filesRemoved++;
      diff.bytesRemoved += node.size ?? 0;
    } else if (node.type === 'dir' && node.subtree) {
      const tree = await repo.loadTree(node.subtree).catch(() => undefined);
      for (const child of tree?.nodes ?? []) await countRemoved(child);
    }
  }

  const rootNodes: TreeNode[] = [];
  const sources: SnapshotSource[] = [];
  const previousRoot = input.parent ? await repo.loadTree(input.parent.tree).catch(() => undefined) : undefined;
  try {
    for (const source of input.sources) {
      checkCancelled();
      const isExcluded = source.exclude.length > 0 ? picomatch([...source.exclude], { dot: true }) : () => false;
      const prevNode = previousRoot?.nodes.find((n) => n.name === source.name);
      try {
        const st = await lstat(source.path);
        if (st.isDirectory()) {
          const prevTree = prevNode?.type === 'dir' && prevNode.subtree ? await repo.loadTree(prevNode.subtree).catch(() => undefined) : undefined;
          const walked = await archiveDir(source.path, '', prevTree, isExcluded);
          rootNodes.push({ ...dirNode(source.name, st), subtree: await saveTree(await walked.nodes) });
        } else if (st.isFile()) {
          const node = await archiveFile(source.path, source.name, st, prevNode);
          if (!node) throw new LifeboatError('SOURCE_FAILED', `could not read ${source.path}`);
          rootNodes.push(node);
        } else {
          throw new LifeboatError('SOURCE_FAILED', `${source.path} is neither a directory nor a regular file`);
        }
        sources.push({ name: source.name, kind: 'path', origin: source.path });
      } catch (e) {
        if (e instanceof LifeboatError && e.code === 'CANCELLED') throw e;
        if (!(e instanceof LifeboatError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
        const err = describeError(e);
        failedSources.push({ name: source.name, error: { code: err.code === 'INTERNAL' ? 'SOURCE_FAILED' : err.code, message: `source ${source.name}: ${err.message}` } });
      }
    }
    progress.walkDone = true;
    for (const stream of input.streams ?? []) {
      checkCancelled();
      try {
        const result = await backupStream(repo, stream, {
          env: input.streamEnv ?? {},
          cwd: input.streamCwd ?? process.cwd(),
          time: input.time ?? new Date(),
          isNew: isNewTree,
          signal,
          onBytes: (n) => {
            progress.bytes += n;
            report();
          },
        });
        progress.files++;
        progress.bytesNew += result.bytesNew;
        progress.bytesStored += result.bytesStored;
        rootNodes.push(result.node);
        sources.push({ name: stream.name, kind: 'command', origin: stream.command });
      } catch (e) {
        if (isLifeboatError(e, 'CANCELLED')) throw e;
        const err = describeError(e);
        failedSources.push({ name: stream.name, error: { code: err.code === 'INTERNAL' ? 'SOURCE_FAILED' : err.code, message: err.message } });
      }
    }
    rootNodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    await pool.flush();
    checkCancelled();
    const rootTree = await saveTree(rootNodes);
    await repo.flushTrees();
    await repo.flushIndex();
    if (sources.length === 0) {
      throw new LifeboatError('SOURCE_FAILED', `every source failed: ${failedSources.map((f) => f.error.message).join('; ')}`);
    }
    const stats: SnapshotStats = {
      files: progress.files - fileErrors.length,
      dirs: progress.dirs,
      bytes: progress.bytes,
      bytesNew: progress.bytesNew,
      bytesStored: progress.bytesStored,
      blobsNew,
    };
    checkCancelled(); // the last moment a cancel can still mean "no snapshot"
    const snapshot = await repo.saveSnapshot({
      time: (input.time ?? new Date()).toISOString(),
      runbook: input.runbook,
      host: hostname(),
      user: currentUser(),
      tree: rootTree,
      parent: input.parent?.id,
      sources,
      stats,
      errors: fileErrors.length > 0 ? fileErrors : undefined,
    });
    report();
    return { snapshot, fileErrors, warnings, failedSources, progress, orphansRecovered };
  } catch (e) {
    // Keep what was written reusable: index the packs that did make it.
    await pool.flush().catch(() => undefined);
    await repo.flushTrees().catch(() => undefined);
    await repo.flushIndex().catch(() => undefined);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}

/**
 * Names as strings, for the tree (JSON, UTF-8). A name whose bytes are not
 * valid UTF-8 cannot be stored that way, and decoded with replacement
 * characters it names no file: it is reported as a file error (the run is
 * partial), never silently left out.
 */
function validNames(raw: Buffer[], dir: string, fileErrors: BackupOutcome['fileErrors']): string[] {
  const names: string[] = [];
  for (const bytes of raw) {
    const name = bytes.toString('utf8');
    // Invalid bytes decode to U+FFFD; only a name holding one needs the byte-exact comparison.
    if (!name.includes('\uFFFD') || Buffer.from(name).equals(bytes)) names.push(name);
    else fileErrors.push({ path: join(dir, name), message: `its name is not valid UTF-8 (bytes ${bytes.toString('hex')}): not backed up; rename it to back it up` });
  }
  return names;
}

function dirNode(name: string, st: Stats): TreeNode {
  return { name, type: 'dir', mode: modeBits(st), mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid };
}
