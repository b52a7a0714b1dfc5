/**
 * `dump`: one file of a snapshot as its bytes, or a folder (or the whole
 * snapshot) as a tar stream, into a byte sink (the CLI's stdout, or a file).
 * Every blob is verified as it is read (Repository.loadBlob). A folder's
 * entries come from the restore's own walk (src/core/repo/snapshot-plan.ts):
 * the tar holds what a restore of that path would write.
 *
 * On a terminal, bytes that are not text are refused unless forced: a tar or
 * a binary file would fill the screen with garbage and may drive the terminal
 * with escape sequences. Text files print, as cat would print them.
 */
import { LifeboatError } from '../errors.js';
import { LocalBlobReader } from '../repo/local-blob-reader.js';
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import { planSnapshot, type PlannedNode } from '../repo/snapshot-plan.js';
import type { TreeNode } from '../repo/tree.js';
import { displayPath } from './entry.js';
import { locateOrRefuse } from './locate.js';
import { TarWriter } from './tar-writer.js';

/** Where dumped bytes go. `write` resolves once the sink has taken the chunk (backpressure). */
export interface ByteSink {
  /** A terminal: binary output is refused there unless forced. */
  readonly isTTY?: boolean;
  write(chunk: Uint8Array): Promise<void>;
}

export interface DumpOutcome {
  /** Inside the snapshot; '' for the whole snapshot. */
  path: string;
  /** A file's bytes, or a tar of a folder. */
  format: 'file' | 'tar';
  /** Bytes written to the sink. */
  bytes: number;
  files: number;
  dirs: number;
  symlinks: number;
  /** Files left out of (or zero-filled in) the tar because their data could not be read. */
  damaged: { path: string; error: string }[];
}

export async function dumpSnapshotPath(repo: Repository, snapshot: Snapshot, path: string | undefined, sink: ByteSink, options: { force?: boolean; signal?: AbortSignal } = {}): Promise<DumpOutcome> {
  const at = await locateOrRefuse(repo, snapshot, path);
  const guard = sink.isTTY === true && options.force !== true;
  if (at.node?.type === 'symlink') {
    throw new LifeboatError('USAGE', `${displayPath(at.path)} is a symlink to ${displayPath(at.node.target ?? '')}: dump what it points to (a symlink has no content of its own)`);
  }
  if (at.node?.type !== 'file' && guard) throw refusal(`a folder is dumped as a tar archive`);
  const local = LocalBlobReader.for(repo);
  try {
    if (at.node?.type === 'file') {
      let bytes = 0;
      let first = true;
      for await (const chunk of contentOf(repo, local, at.node, options.signal)) {
        if (first && guard && !looksLikeText(chunk)) throw refusal(`${displayPath(at.path)} is not text`);
        first = false;
        await sink.write(chunk);
        bytes += chunk.length;
      }
      return { path: at.path, format: 'file', bytes, files: 1, dirs: 0, symlinks: 0, damaged: [] };
    }
    return await dumpTar(repo, local, snapshot, at.path, sink, options.signal);
  } finally {
    local?.close();
  }
}

async function dumpTar(repo: Repository, local: LocalBlobReader | undefined, snapshot: Snapshot, path: string, sink: ByteSink, signal?: AbortSignal): Promise<DumpOutcome> {
  const plan = await planSnapshot(repo, snapshot, { ...(path === '' ? {} : { subPath: path }), signal });
  // Names in the tar start at the dumped folder's own name (`etc/app.yaml` for data/etc), so it unpacks as one folder.
  const cut = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1).length : 0;
  const tar = new TarWriter((chunk) => sink.write(chunk));
  const outcome: DumpOutcome = { path, format: 'tar', bytes: 0, files: 0, dirs: 0, symlinks: 0, damaged: [] };
  const meta = (n: TreeNode) => ({ mode: n.mode, mtimeMs: n.mtimeMs, uid: n.uid, gid: n.gid });
  const write = async (nodes: readonly PlannedNode[]): Promise<void> => {
    for (const n of nodes) {
      if (signal?.aborted) throw new LifeboatError('CANCELLED', 'dump cancelled');
      const name = n.rel.slice(cut);
      if (n.kind === 'dir') {
        await tar.directory(name, meta(n.node));
        outcome.dirs++;
        if (n.listingError) outcome.damaged.push({ path: n.rel, error: n.listingError.message });
        await write(n.children);
      } else if (n.kind === 'symlink') {
        await tar.symlink(name, n.node.target ?? '', meta(n.node));
        outcome.symlinks++;
      } else if (n.missing !== undefined) {
        // Known missing before a byte is written: left out, not zero-filled.
        outcome.damaged.push({ path: n.rel, error: `${n.missing.length} of its blobs are in no index` });
      } else {
        const error = await tar.file(name, n.node.size ?? 0, meta(n.node), contentOf(repo, local, n.node, signal));
        outcome.files++;
        if (error) outcome.damaged.push({ path: n.rel, error: `${error.message} (zero-filled in the archive)` });
      }
    }
  };
  await write(plan.entries);
  await tar.finish();
  return { ...outcome, bytes: tar.bytes };
}

/**
 * A file's blobs in order, each checked. A local repository's are read straight from
 * their packs (LocalBlobReader.blob); one that does not read or check out that way is
 * loaded through the repository, which says what is wrong with it.
 */
async function* contentOf(repo: Repository, local: LocalBlobReader | undefined, node: TreeNode, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (const id of node.content ?? []) {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'dump cancelled');
    yield local?.blob(id, 'data') ?? (await repo.loadBlob(id));
  }
}

const refusal = (why: string) =>
  new LifeboatError('USAGE', `refusing to write binary data to a terminal: ${why}; redirect the output (> file, | tar x), give --output FILE, or pass --force`);

/**
 * The first 8 KiB decode as UTF-8 and hold no control characters but tab,
 * newline, carriage return, form feed, backspace and escape (colored logs).
 */
export function looksLikeText(chunk: Uint8Array): boolean {
  const sample = chunk.subarray(0, 8192);
  for (const b of sample) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x08 && b !== 0x1b) return false;
    if (b === 0x7f) return false;
  }
  try {
    // `stream`: a character cut by the sample's end is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}
