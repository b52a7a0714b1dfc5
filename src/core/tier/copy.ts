/**
 * Copy snapshots from the hot repository into the cold one, like `restic copy`.
 *
 * The two repositories have different master keys, and a blob id is the HMAC
 * of its plaintext under the repository's own key (docs/repository-format.md),
 * so the same bytes have different ids in hot and cold. Every blob is therefore
 * loaded from hot (decrypted and verified there), its cold id computed, and it
 * is stored in cold only when cold's index lacks that id: what is already cold
 * is never uploaded twice. Trees name their children by id, so each tree is
 * re-encoded with cold ids. Chunk boundaries stay as hot cut them (the gear
 * table is per-repository, but a blob is just bytes to the reader).
 *
 * Order per snapshot: packs, then the index that lists them, then the snapshot
 * record. Nothing in cold points at data that is not already written before it.
 */
import { LifeboatError } from '../errors.js';
import { mapLimit, type Repository } from '../repo/repository.js';
import type { Snapshot } from '../repo/snapshot.js';
import type { Tree, TreeNode } from '../repo/tree.js';
import { encodeTree } from '../repo/tree.js';

/**
 * A cold snapshot remembers which hot snapshot it was copied from, so a re-run
 * (after a crash between "cold snapshot written" and "hot snapshot forgotten")
 * finds it and does not copy it a second time.
 */
export interface CopiedFrom {
  /** The hot repository's config id. */
  repository: string;
  /** The hot snapshot's id. */
  snapshot: string;
}

export type ColdSnapshot = Snapshot & { copiedFrom?: CopiedFrom };

export interface CopyProgress {
  blobsCopied: number;
  blobsDeduplicated: number;
  /** Plaintext bytes read from hot. */
  bytesRead: number;
  /** Bytes written into cold packs (compressed, encrypted). */
  bytesStored: number;
  packsWritten: number;
}

/** Blobs loaded from hot at once while copying one file's content (bounded memory: chunks are ≤ maxSize each). */
const LOAD_AHEAD = 8;

/**
 * One copier per tier run: it remembers every hot id it has mapped to a cold
 * id, so snapshots that share directories and chunks are read once.
 */
export class SnapshotCopier {
  readonly progress: CopyProgress = { blobsCopied: 0, blobsDeduplicated: 0, bytesRead: 0, bytesStored: 0, packsWritten: 0 };
  /** Every cold blob id the copied snapshots reference (for verifying the copy). */
  readonly referenced = new Set<string>();
  /** hot id → cold id; trees and data apart (a chunk may hold the very bytes of a hot tree). */
  private readonly coldTreeOf = new Map<string, string>();
  private readonly coldDataOf = new Map<string, string>();
  /** Cold ids already put into a pack by this run but maybe not yet in cold's index. */
  private readonly pending = new Set<string>();
  private readonly isNew = (id: string): boolean => {
    if (this.pending.has(id)) return false;
    this.pending.add(id);
    return true;
  };

  constructor(
    readonly hot: Repository,
    readonly cold: Repository,
    private readonly options: { signal?: AbortSignal; onProgress?: (p: CopyProgress) => void } = {},
  ) {}

  /**
   * Store everything `snapshot` references in cold and make it durable
   * (packs, then index). Returns the cold root tree id; the caller writes the
   * snapshot record (see `copySnapshot`).
   */
  async copyData(snapshot: Snapshot): Promise<string> {
    const root = await this.copyTree(snapshot.tree);
    await this.flush();
    return root;
  }

  /** Copy one snapshot completely: data, index, then the cold snapshot record. */
  async copySnapshot(snapshot: Snapshot, parentInCold?: string): Promise<ColdSnapshot> {
    const tree = await this.copyData(snapshot);
    return this.writeSnapshot(snapshot, tree, parentInCold);
  }

  async writeSnapshot(snapshot: Snapshot, coldTree: string, parentInCold?: string): Promise<ColdSnapshot> {
    const { id: hotId, parent: _hotParent, ...rest } = snapshot;
    const record: Omit<ColdSnapshot, 'id'> = {
      ...rest,
      tree: coldTree,
      // A hot parent id means nothing in cold; the cold copy of that parent does, when there is one.
      ...(parentInCold ? { parent: parentInCold } : {}),
      copiedFrom: { repository: this.hot.config.id, snapshot: hotId },
    };
    return (await this.cold.saveSnapshot(record)) as ColdSnapshot;
  }

  /** Packs first, then one index file for them: only then may a snapshot point at their blobs. */
  private async flush(): Promise<void> {
    this.progress.bytesStored += await this.cold.flushTrees();
    await this.cold.flushIndex();
    this.progress.packsWritten = this.cold.written.length;
  }

  private async copyTree(hotId: string): Promise<string> {
    const known = this.coldTreeOf.get(hotId);
    if (known !== undefined) return known;
    this.checkCancelled();
    const tree = await this.hot.loadTree(hotId);
    // The content of all files in this directory in one go: small files load in parallel too.
    const content = await this.copyContent(tree.nodes.flatMap((n) => n.content ?? []));
    let at = 0;
    const nodes: TreeNode[] = [];
    for (const node of tree.nodes) {
      let copy: TreeNode = node;
      if (node.content && node.content.length > 0) copy = { ...copy, content: content.slice(at, (at += node.content.length)) };
      if (node.subtree !== undefined) copy = { ...copy, subtree: await this.copyTree(node.subtree) };
      nodes.push(copy);
    }
    const coldTree: Tree = { ...tree, nodes };
    const saved = await this.cold.saveBlob('tree', encodeTree(coldTree), this.isNew);
    this.account(saved, 0);
    this.coldTreeOf.set(hotId, saved.id);
    this.referenced.add(saved.id);
    return saved.id;
  }

  /** Chunks in order; loads run a few ahead, saves go one by one (packs are built in order). */
  private async copyContent(hotIds: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let at = 0; at < hotIds.length; at += LOAD_AHEAD) {
      this.checkCancelled();
      const window = hotIds.slice(at, at + LOAD_AHEAD);
      const todo = window.filter((id) => !this.coldDataOf.has(id));
      const loaded = new Map<string, Buffer>();
      await mapLimit([...new Set(todo)], LOAD_AHEAD, async (id) => {
        loaded.set(id, await this.hot.loadBlob(id));
      });
      for (const hotId of window) {
        let coldId = this.coldDataOf.get(hotId);
        if (coldId === undefined) {
          const bytes = loaded.get(hotId)!;
          const saved = await this.cold.saveBlob('data', bytes, this.isNew);
          this.account(saved, bytes.length);
          coldId = saved.id;
          this.coldDataOf.set(hotId, coldId);
        }
        this.referenced.add(coldId);
        out.push(coldId);
      }
    }
    return out;
  }

  private account(saved: { stored: number; isNew: boolean }, plainBytes: number): void {
    this.progress.bytesRead += plainBytes;
    this.progress.bytesStored += saved.stored;
    if (saved.isNew) this.progress.blobsCopied++;
    else this.progress.blobsDeduplicated++;
    this.progress.packsWritten = this.cold.written.length;
    this.options.onProgress?.(this.progress);
  }

  private checkCancelled(): void {
    if (this.options.signal?.aborted) throw new LifeboatError('CANCELLED', 'tiering cancelled');
  }
}

/** Cold snapshots by the hot snapshot they were copied from (only copies of this hot repository). */
export function copiesByOrigin(coldSnapshots: readonly Snapshot[], hotRepositoryId: string): Map<string, ColdSnapshot> {
  const out = new Map<string, ColdSnapshot>();
  for (const s of coldSnapshots as readonly ColdSnapshot[]) {
    if (s.copiedFrom?.repository === hotRepositoryId && !out.has(s.copiedFrom.snapshot)) out.set(s.copiedFrom.snapshot, s);
  }
  return out;
}
