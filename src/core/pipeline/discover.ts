/**
 * The discover stage (first of the pipeline, src/core/pipeline/backup-run.ts): walk the path sources, apply their
 * excludes, build the manifest (one folder listing per directory) and diff it
 * with the parent snapshot's (added, changed, removed, and their bytes).
 *
 * It runs pipelined with the snapshot stage: each file is handed to the
 * archiver (src/core/repo/archiver.ts) as soon as it is found, and the walk
 * goes on while the workers store it, held back only when their queue is
 * full. A file or folder that cannot be read is a file error (the run is
 * partial); a source that cannot be read at all fails alone.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import picomatch from 'picomatch';
import { LifeboatError, describeError } from '../errors.js';
import type { Archiver, BackupOutcome } from '../repo/archiver.js';
import type { SnapshotSource } from '../repo/snapshot.js';
import type { Tree, TreeNode } from '../repo/tree.js';

export interface PathSourceSpec {
  name: string;
  path: string;
  exclude: readonly string[];
}

const modeBits = (st: Stats): number => st.mode & 0o7777;

/**
 * `dir/name` for a normalized `dir` and a name read from it (one component,
 * never `.` or `..`): path.join would normalize the same string again, which
 * cost more main-thread time than the lstat on a tree of small files.
 */
const childPath = (dir: string, name: string): string => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

/**
 * Parent folder listings loaded ahead of the walk: while one subfolder is
 * walked, the listings of the next ones are already being read, so the walk
 * does not wait for one read per folder in turn (~4 I/O round trips each).
 */
const PREFETCH_TREES = 16;

/**
 * How many names of one folder the walk handles between two looks at the
 * workers' queue (Archiver.waitForRoom): one worker batch's worth, so the
 * queue's bound holds within a folder of any size.
 */
const ROOM_CHECK_FILES = 128;

/**
 * Walks every path source into `archiver`; returns the root nodes and the
 * sources that were stored. Failed sources go to `archiver.failedSources`,
 * unreadable paths to its fileErrors, skipped special files to its warnings.
 */
export async function discoverPathSources(
  archiver: Archiver,
  specs: readonly PathSourceSpec[],
  previousRoot: Tree | undefined,
): Promise<{ nodes: TreeNode[]; sources: SnapshotSource[] }> {
  const { progress, fileErrors, warnings } = archiver;
  const { diff } = progress;

  /** A file's node, stored or taken from the parent; undefined when it could not be read. */
  function archiveFile(abs: string, name: string, st: Stats, previous: TreeNode | undefined): TreeNode | Promise<TreeNode | undefined> {
    const node = fileNode(name, st);
    progress.filesFound++;
    progress.bytesFound += st.size;
    // An unchanged file whose parent node would encode to the same JSON is that node: the listing's nodes then
    // are the parent's objects, not a second copy that lives (and is promoted) until the folder is saved.
    if (archiver.reuse(node, previous)) return isSameFileNode(node, previous!) ? previous! : node;
    if (previous?.type === 'file') {
      diff.filesChanged++;
      diff.bytesChanged += st.size;
    } else {
      diff.filesAdded++;
      diff.bytesAdded += st.size;
    }
    return archiver.store(abs, node);
  }

  /**
   * Walks a directory depth-first and queues its files, returning as soon as
   * the walk is done; `nodes` completes when the workers have stored every file
   * below. Walking on while earlier directories are still being stored keeps
   * the workers fed across directory boundaries (the scheduler's queue limit
   * still bounds how far ahead the walk runs).
   */
  async function archiveDir(abs: string, rel: string, previous: Tree | undefined, excluded: (rel: string) => boolean): Promise<{ nodes: Promise<TreeNode[]> }> {
    archiver.checkCancelled();
    await archiver.waitForRoom();
    // With nothing for the workers (unchanged files), sync like the lstats below: a cached listing takes microseconds,
    // a round trip through the libuv pool far more. With files in the workers, on the pool: meanwhile the main thread
    // answers them (a first backup of the 50k-file tree took ~10% longer with sync listings on a busy machine).
    const listed = archiver.workersBusy ? await readdir(abs) : readdirSync(abs);
    const names = (listed.some(mayBeInvalid) ? validNames(readdirSync(abs, { encoding: 'buffer' }), abs, fileErrors) : listed).sort();
    const previousByName = new Map(previous?.nodes.map((n) => [n.name, n]));
    if (previous) {
      const present = new Set(names);
      for (const gone of previous.nodes) if (!present.has(gone.name)) await countRemoved(gone);
    }
    // lstatSync: a round trip through the libuv pool per file cost 4x more main-thread
    // time than the syscall itself (a cached lstat is microseconds). One at a time, used at once: a Stats
    // (with its four Dates, ~0.9 KB) then dies young instead of living in an array across the walk below.
    const slots: (Promise<TreeNode | undefined> | TreeNode | undefined)[] = [];
    const dirs: { index: number; name: string; node: TreeNode }[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      // A folder's files go to the workers' queue as they are found; in a large one (/usr/share/man/man1:
      // 17,878 files) the walk waits for room every ROOM_CHECK_FILES names too, not only before the folder,
      // or every file's job, promise and node were queued at once and promoted (~18 MiB of old space).
      if (i % ROOM_CHECK_FILES === ROOM_CHECK_FILES - 1) await archiver.waitForRoom();
      const childAbs = childPath(abs, name);
      let st: Stats;
      try {
        st = lstatSync(childAbs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fileErrors.push({ path: childAbs, message: (e as Error).message });
        slots.push(undefined);
        continue;
      }
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (excluded(childRel) || (st.isDirectory() && excluded(childRel + '/'))) {
        slots.push(undefined);
        continue;
      }
      if (st.isFile()) {
        slots.push(archiveFile(childAbs, name, st, previousByName.get(name)));
      } else if (st.isDirectory()) {
        dirs.push({ index: slots.length, name, node: dirNode(name, st) });
        slots.push(undefined);
      } else if (st.isSymbolicLink()) {
        try {
          const target = readlinkSync(childAbs);
          slots.push({ name, type: 'symlink', mode: modeBits(st), mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid, target });
        } catch (e) {
          fileErrors.push({ path: childAbs, message: (e as Error).message });
          slots.push(undefined);
        }
      } else {
        warnings.push({ path: childAbs, message: 'not a regular file, directory or symlink (device, socket or FIFO): skipped' });
        slots.push(undefined);
      }
    }
    // Files of this directory are already queued; descend while the workers chew on them.
    const previousTrees = dirs.map((d) => {
      const prevNode = previousByName.get(d.name);
      return prevNode?.type === 'dir' && prevNode.subtree ? prevNode.subtree : undefined;
    });
    const loading: (Promise<Tree | undefined> | undefined)[] = [];
    const prefetch = (upTo: number): void => {
      for (let i = loading.length; i < Math.min(upTo, dirs.length); i++) {
        const id = previousTrees[i];
        loading.push(id === undefined ? undefined : archiver.previousTree(id));
      }
    };
    for (const [i, d] of dirs.entries()) {
      prefetch(i + PREFETCH_TREES);
      const prevId = previousTrees[i];
      const prevTree = await loading[i];
      loading[i] = undefined; // the walk below holds it as long as it needs it
      const childAbs = childPath(abs, d.name);
      try {
        const child = await archiveDir(childAbs, rel === '' ? d.name : `${rel}/${d.name}`, prevTree, excluded);
        const previousListing = prevId !== undefined && prevTree ? { id: prevId, tree: prevTree } : undefined;
        const done = child.nodes.then(async (children): Promise<TreeNode> => ({ ...d.node, subtree: await archiver.saveTree(children, previousListing) }));
        done.catch(() => undefined); // awaited below with the others; this only marks it handled meanwhile
        slots[d.index] = done;
      } catch (e) {
        if (e instanceof LifeboatError || (e as NodeJS.ErrnoException).code === undefined) throw e;
        fileErrors.push({ path: childAbs, message: (e as Error).message });
      }
    }
    // Only what is still being stored goes through Promise.all: a promise and its reactions per unchanged
    // file lived (and were promoted) until the folder's last changed file was stored.
    const waiting = slots.filter((slot): slot is Promise<TreeNode | undefined> => slot instanceof Promise);
    for (const slot of waiting) slot.catch(() => undefined);
    const nodes = Promise.all(waiting).then((stored) => {
      progress.dirs++;
      const all: TreeNode[] = [];
      let j = 0;
      for (const slot of slots) {
        const node = slot instanceof Promise ? stored[j++] : slot;
        if (node !== undefined) all.push(node);
      }
      return all;
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
      const tree = await archiver.previousTree(node.subtree);
      for (const child of tree?.nodes ?? []) await countRemoved(child);
    }
  }

  const nodes: TreeNode[] = [];
  const sources: SnapshotSource[] = [];
  for (const source of specs) {
    archiver.checkCancelled();
    const isExcluded = source.exclude.length > 0 ? picomatch([...source.exclude], { dot: true }) : () => false;
    const prevNode = previousRoot?.nodes.find((n) => n.name === source.name);
    try {
      const st = await lstat(source.path);
      if (st.isDirectory()) {
        const prevId = prevNode?.type === 'dir' ? prevNode.subtree : undefined;
        const prevTree = prevId !== undefined ? await archiver.previousTree(prevId) : undefined;
        const walked = await archiveDir(normalize(source.path), '', prevTree, isExcluded);
        const previousListing = prevId !== undefined && prevTree ? { id: prevId, tree: prevTree } : undefined;
        nodes.push({ ...dirNode(source.name, st), subtree: await archiver.saveTree(await walked.nodes, previousListing) });
      } else if (st.isFile()) {
        const node = await archiveFile(source.path, source.name, st, prevNode);
        if (!node) throw new LifeboatError('SOURCE_FAILED', `could not read ${source.path}`);
        nodes.push(node);
      } else {
        throw new LifeboatError('SOURCE_FAILED', `${source.path} is neither a directory nor a regular file`);
      }
      sources.push({ name: source.name, kind: 'path', origin: source.path });
    } catch (e) {
      if (e instanceof LifeboatError && e.code === 'CANCELLED') throw e;
      if (!(e instanceof LifeboatError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
      const err = describeError(e);
      archiver.failedSources.push({ name: source.name, error: { code: err.code === 'INTERNAL' ? 'SOURCE_FAILED' : err.code, message: `source ${source.name}: ${err.message}` } });
    }
  }
  return { nodes, sources };
}

/**
 * Whether a name listed as a string may stand for bytes that are not valid
 * UTF-8 (which decode to U+FFFD). Folders are listed as strings and only one
 * holding such a name is listed again as bytes (validNames): a Buffer per
 * name cost ~0.5 µs each and an ArrayBuffer for the collector to track
 * (59k names on the 50k-file tree: ~30 ms of main-thread CPU, 4 runs).
 */
const mayBeInvalid = (name: string): boolean => name.includes('\uFFFD');

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

/** The keys of a file node taken from the parent (fileNode's, then the content Archiver.reuse adds), in order. */
const REUSED_FILE_KEYS = ['name', 'type', 'mode', 'mtimeMs', 'ctimeMs', 'inode', 'uid', 'gid', 'size', 'content'];

/**
 * Whether `previous`, whose name, type, size, mtime, ctime, inode and content
 * Archiver.reuse just matched to `node`, would also encode to the same JSON
 * as `node` (what sameNodes checks for any two nodes): same mode, uid and gid,
 * and exactly fileNode's keys in fileNode's order. Named reads and a for-in
 * over the parent's keys: sameNode's Object.keys arrays and keyed reads cost
 * more per file than the copy they save.
 */
function isSameFileNode(node: TreeNode, previous: TreeNode): boolean {
  if (previous.mode !== node.mode || previous.uid !== node.uid || previous.gid !== node.gid) return false;
  let i = 0;
  for (const key in previous) if (key !== REUSED_FILE_KEYS[i++]) return false;
  return i === REUSED_FILE_KEYS.length;
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

function dirNode(name: string, st: Stats): TreeNode {
  return { name, type: 'dir', mode: modeBits(st), mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid };
}
