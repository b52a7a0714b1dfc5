/**
 * Which packs a restore of a snapshot (or of a path in it) reads, and how many
 * bytes, without touching the target: the same walk the restorer does (root
 * tree, the sub-path, every folder below; content blobs looked up in the
 * index), minus the folders it creates. Trees are blobs in tree packs, so the
 * walk reads those; data packs are only looked up in the index. That is what
 * lets a cold restore know what to thaw before it reads a single data pack.
 *
 * Names are checked as the restorer checks them (assertSafeTree, plain sub-path
 * components), so a plan never describes a restore the restorer would refuse.
 */
import { LifeboatError } from '../errors.js';
import type { Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import { assertSafeTree, isSafeName, type Tree } from '../repo/tree.js';

export interface PlannedPack {
  /** Pack id (the name of its data/ object). */
  pack: string;
  /** Bytes of this pack the restore reads (its needed blobs). */
  neededBytes: number;
  /** The whole pack's bytes as the index knows them (what a thaw brings back and is billed for). */
  packBytes: number;
}

export interface RestorePlan {
  snapshot: string;
  subPath?: string;
  /** Data packs the content lives in, sorted by id. */
  packs: PlannedPack[];
  files: number;
  /** Plaintext bytes of the files. */
  fileBytes: number;
  /** Sum of the packs' neededBytes. */
  neededBytes: number;
  /** Sum of the packs' packBytes. */
  packBytes: number;
  /** Content blobs the index does not know (the restore will report those files as damaged). */
  missingBlobs: number;
}

/** Plans a restore of `snapshot` (or of `subPath` in it). Reads trees, writes nothing. */
export async function planRestore(repo: Repository, snapshot: Snapshot, subPath?: string): Promise<RestorePlan> {
  const needed = new Map<string, Map<string, number>>();
  let files = 0;
  let fileBytes = 0;
  let missingBlobs = 0;

  const addContent = (content: readonly string[] | undefined, size: number | undefined) => {
    files++;
    fileBytes += size ?? 0;
    for (const id of content ?? []) {
      const loc = repo.index.lookup(id);
      if (!loc) {
        missingBlobs++;
        continue;
      }
      let blobs = needed.get(loc.pack);
      if (!blobs) needed.set(loc.pack, (blobs = new Map()));
      blobs.set(loc.id, loc.length);
    }
  };
  const walk = async (tree: Tree, rel: string): Promise<void> => {
    assertSafeTree(tree, rel);
    for (const node of tree.nodes) {
      const path = rel === '' ? node.name : `${rel}/${node.name}`;
      if (node.type === 'file') addContent(node.content, node.size);
      else if (node.type === 'dir' && node.subtree) await walk(await repo.loadTree(node.subtree), path);
    }
  };

  let tree = await repo.loadTree(snapshot.tree);
  const parts = (subPath ?? '').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) {
    await walk(tree, '');
  } else {
    assertSafeTree(tree, '');
    let rel = '';
    for (const [i, part] of parts.entries()) {
      if (!isSafeName(part)) throw new LifeboatError('USAGE', `--path ${subPath}: "${part}" is not a plain path component`);
      const node = tree.nodes.find((n) => n.name === part);
      if (!node) throw new LifeboatError('USAGE', `--path ${subPath}: "${[...parts.slice(0, i), part].join('/')}" is not in snapshot ${snapshot.id.slice(0, 8)}`);
      rel = rel === '' ? part : `${rel}/${part}`;
      const last = i === parts.length - 1;
      if (last && node.type === 'file') addContent(node.content, node.size);
      else if (node.type === 'dir' && node.subtree) {
        tree = await repo.loadTree(node.subtree);
        if (last) await walk(tree, rel);
        else assertSafeTree(tree, rel);
      } else if (!last) {
        throw new LifeboatError('USAGE', `--path ${subPath}: "${rel}" is not a directory`);
      }
    }
  }

  const packs: PlannedPack[] = [...needed.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pack, blobs]) => ({
      pack,
      neededBytes: [...blobs.values()].reduce((n, b) => n + b, 0),
      packBytes: packBytesOf(repo, pack),
    }));
  return {
    snapshot: snapshot.id,
    ...(subPath === undefined ? {} : { subPath }),
    packs,
    files,
    fileBytes,
    neededBytes: packs.reduce((n, p) => n + p.neededBytes, 0),
    packBytes: packs.reduce((n, p) => n + p.packBytes, 0),
    missingBlobs,
  };
}

/** Packs that hold folder listings (tree blobs): a walk of any snapshot reads only these. */
export function treePacksOf(repo: Repository): PlannedPack[] {
  const packs = new Set(repo.index.byType('tree').map((b) => b.pack));
  return [...packs].sort().map((pack) => ({ pack, neededBytes: packBytesOf(repo, pack), packBytes: packBytesOf(repo, pack) }));
}

/** Every data pack the index knows: the upper bound when the folder listings themselves cannot be read yet. */
export function allPacksOf(repo: Repository): PlannedPack[] {
  return [...repo.index.packs.keys()].sort().map((pack) => ({ pack, neededBytes: packBytesOf(repo, pack), packBytes: packBytesOf(repo, pack) }));
}

/** A pack's size as the index records it (the whole object, header included). */
function packBytesOf(repo: Repository, pack: string): number {
  const known = repo.index.packs.get(pack)?.size;
  if (known !== undefined) return known;
  let end = 0;
  for (const b of repo.index.blobsOf(pack)) end = Math.max(end, b.offset + b.length);
  return end;
}
