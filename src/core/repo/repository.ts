/**
 * An open repository: config, master key, master index, and the operations on
 * them that every engine part shares (load a blob, save a pack, read and write
 * snapshots). Backup, restore and check are built on top (archiver.ts,
 * restorer.ts, checker.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import { compressIfSmaller, decompress } from './compress.js';
import { blobIdOf, generateMasterKey, open, seal, type MasterKey, type ScryptParams } from './crypto.js';
import {
  REPOSITORY_FORMAT,
  REPOSITORY_VERSION,
  defaultChunker,
  defaultCompressionLevel,
  defaultPackSize,
  type BlobType,
  type RepositoryConfig,
} from './format.js';
import { openMasterKey, writeKeyFile } from './keys.js';
import { MasterIndex, decodeIndex, saveIndexFile, type IndexedPack } from './master-index.js';
import { PackBuilder, openBlob, packBufferCapacity, parsePackHeader, type FinishedPack } from './pack.js';
import type { Snapshot } from './snapshot.js';
import { decodeTree, encodeTree, type Tree } from './tree.js';

export interface InitOptions {
  scrypt?: ScryptParams;
  compressionLevel?: number;
  packSize?: number;
  chunker?: RepositoryConfig['chunker'];
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}

export class Repository {
  readonly index = new MasterIndex();
  /** Index files loaded by loadIndex (prune replaces them). */
  readonly indexFiles = new Set<string>();
  private readonly treeCache = new Map<string, Tree>();
  /**
   * Snapshot files are named by the hash of their bytes, so a loaded one never
   * changes: a backup lists snapshots for its parent, retention and prune
   * without decrypting each file three times.
   */
  private readonly snapshotCache = new Map<string, Snapshot>();
  private readonly writers: Partial<Record<BlobType, PackBuilder>> = {};
  /** Every pack this process saved, for the verify stage. */
  readonly written: { id: string; size: number }[] = [];
  /** Packs saved by this process whose index entries are not yet written. */
  private unindexed: IndexedPack[] = [];

  private constructor(
    readonly backend: Backend,
    readonly config: RepositoryConfig,
    readonly key: MasterKey,
  ) {}

  static async init(backend: Backend, password: string, options: InitOptions = {}): Promise<Repository> {
    await backend.create();
    if (await backend.exists()) {
      throw new LifeboatError('REPO_EXISTS', `a repository already exists at ${backend.location}`);
    }
    const config: RepositoryConfig = {
      format: REPOSITORY_FORMAT,
      version: REPOSITORY_VERSION,
      id: randomBytes(32).toString('hex'),
      created: new Date().toISOString(),
      chunker: options.chunker ?? defaultChunker,
      packSize: options.packSize ?? defaultPackSize,
      compression: { algorithm: 'zstd', level: options.compressionLevel ?? defaultCompressionLevel },
    };
    const master = generateMasterKey();
    // The key goes first: a config without a key would be a repository nobody can open.
    await writeKeyFile(backend, password, master, options.scrypt);
    await backend.save({ kind: 'config', name: 'config' }, Buffer.from(JSON.stringify(config, null, 2) + '\n'));
    return new Repository(backend, config, master);
  }

  static async open(backend: Backend, password: string): Promise<Repository> {
    let raw: Buffer;
    try {
      raw = await backend.load({ kind: 'config', name: 'config' });
    } catch (e) {
      // A missing bucket is its own problem (a typo, a region); only a missing config means "no repository".
      if (isLifeboatError(e, 'BACKEND_NOT_FOUND') && e.details.bucketMissing !== true) {
        throw new LifeboatError('REPO_NOT_FOUND', `no repository at ${backend.location} (run \`lifeboat init <runbook>\` first)`);
      }
      throw e;
    }
    let config: RepositoryConfig;
    try {
      config = JSON.parse(raw.toString('utf8')) as RepositoryConfig;
    } catch {
      throw new LifeboatError('REPO_CORRUPT', `the config of the repository at ${backend.location} is not valid JSON`);
    }
    if (config.format !== REPOSITORY_FORMAT) {
      throw new LifeboatError('REPO_CORRUPT', `${backend.location} is not a Lifeboat repository (config format ${JSON.stringify(config.format)})`);
    }
    if (config.version > REPOSITORY_VERSION) {
      throw new LifeboatError('REPO_CORRUPT', `the repository at ${backend.location} has format version ${config.version}; this Lifeboat reads up to ${REPOSITORY_VERSION}`);
    }
    const key = await openMasterKey(backend, password);
    return new Repository(backend, config, key);
  }

  /** Load every index file into the master index. */
  async loadIndex(): Promise<void> {
    const names: string[] = [];
    for await (const info of this.backend.list('index')) names.push(info.name);
    for (const name of names) this.indexFiles.add(name);
    await mapLimit(names, 8, async (name) => {
      const packs = decodeIndex(this.key, await this.backend.load({ kind: 'index', name }), name);
      for (const p of packs) this.index.add(p, name);
    });
  }

  /**
   * Packs present in data/ but in no index were written by a backup that was
   * interrupted before its index. Their blobs are good (a pack is only visible
   * once complete), so index them and let the next backup reuse them.
   */
  async recoverOrphanPacks(): Promise<{ packs: number; blobs: number; bytes: number }> {
    const orphans: { name: string; size: number }[] = [];
    try {
      for await (const info of this.backend.list('data')) {
        if (!this.index.packs.has(info.name)) orphans.push(info);
      }
    } catch (e) {
      // An unreachable remote: recovering orphans is an optimisation, the backup goes on.
      if (isLifeboatError(e) && e.retryable) return { packs: 0, blobs: 0, bytes: 0 };
      throw e;
    }
    const recovered: IndexedPack[] = [];
    await mapLimit(orphans, 8, async ({ name, size }) => {
      try {
        const blobs = await this.readPackHeader(name, size);
        recovered.push({ id: name, size, blobs });
      } catch (e) {
        if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e; // a damaged orphan is left for check/prune
      }
    });
    if (recovered.length > 0) {
      await saveIndexFile(this.backend, this.key, recovered);
      for (const p of recovered) this.index.add(p);
    }
    return {
      packs: recovered.length,
      blobs: recovered.reduce((n, p) => n + p.blobs.length, 0),
      bytes: recovered.reduce((n, p) => n + p.size, 0),
    };
  }

  async readPackHeader(packId: string, size: number): Promise<IndexedPack['blobs']> {
    const guess = Math.min(size, 64 * 1024);
    let tail = await this.backend.load({ kind: 'data', name: packId }, { offset: size - guess, length: guess });
    try {
      return parsePackHeader(this.key, packId, tail, size);
    } catch (e) {
      const need = isLifeboatError(e) ? (e.details.needTail as number | undefined) : undefined;
      if (need === undefined || need > size) throw e;
      tail = await this.backend.load({ kind: 'data', name: packId }, { offset: size - need, length: need });
      return parsePackHeader(this.key, packId, tail, size);
    }
  }

  blobId(plaintext: Uint8Array): string {
    return blobIdOf(this.key.mac, plaintext).toString('hex');
  }

  /** Load, decrypt, decompress and verify one blob. */
  async loadBlob(id: string): Promise<Buffer> {
    const loc = this.index.lookup(id);
    if (!loc) throw new LifeboatError('REPO_CORRUPT', `blob ${id.slice(0, 12)} is referenced but not in any index`);
    const sealed = await this.backend.load({ kind: 'data', name: loc.pack }, { offset: loc.offset, length: loc.length });
    const data = openBlob(this.key, loc, sealed);
    if (typeof data === 'string') throw new LifeboatError('REPO_CORRUPT', `blob ${id.slice(0, 12)} in pack ${loc.pack.slice(0, 12)} ${data}`);
    return data;
  }

  async loadTree(id: string): Promise<Tree> {
    const cached = this.treeCache.get(id);
    if (cached) return cached;
    const tree = decodeTree(await this.loadBlob(id), id);
    if (this.treeCache.size > 4096) this.treeCache.clear();
    this.treeCache.set(id, tree);
    return tree;
  }

  /**
   * Store a blob from the main thread: trees, and the chunks of stream sources
   * (database dumps are usually bound by the database, not by one core). Path
   * sources' data goes through the workers instead. `isNew` decides dedup so
   * callers can share a set with the workers. Returns the bytes written to
   * packs by this call (0 when deduplicated or still buffered).
   */
  async saveBlob(
    type: BlobType,
    bytes: Uint8Array,
    isNew: (id: string) => boolean,
    options: { force?: boolean } = {},
  ): Promise<{ id: string; stored: number; isNew: boolean }> {
    const id = this.blobId(bytes);
    // `force` (prune's repack) writes a blob again although the index knows it: its old pack is about to go.
    if (!options.force && (this.index.has(id) || !isNew(id))) return { id, stored: 0, isNew: false };
    const writer = (this.writers[type] ??= new PackBuilder(this.key, this.config.compression.level, packBufferCapacity(this.config.packSize, this.config.chunker.maxSize)));
    let stored = 0;
    let entry = writer.add(type, id, bytes);
    if (!entry) {
      stored += await this.flushPack(type);
      entry = writer.add(type, id, bytes)!;
    }
    stored += entry.length;
    if (writer.byteSize >= this.config.packSize) stored += await this.flushPack(type);
    return { id, stored, isNew: true };
  }

  async saveTree(tree: Tree, isNew: (id: string) => boolean): Promise<{ id: string; stored: number }> {
    const { id, stored } = await this.saveBlob('tree', encodeTree(tree), isNew);
    return { id, stored };
  }

  private async flushPack(type: BlobType): Promise<number> {
    const writer = this.writers[type];
    const pack = writer?.finish();
    if (!writer || !pack) return 0;
    await this.savePack(pack);
    writer.provide(Buffer.from(pack.bytes.buffer)); // saved: the buffer can hold the next pack
    return pack.bytes.length - pack.blobs.reduce((n, b) => n + b.length, 0);
  }

  /** Write out the main thread's pending packs; returns the bytes of headers written. */
  async flushTrees(): Promise<number> {
    return (await this.flushPack('data')) + (await this.flushPack('tree'));
  }

  /** Save a finished pack and remember it for the next index file. */
  async savePack(pack: FinishedPack): Promise<void> {
    // Tree-only packs stay readable in archive tiers: listing and restore planning need no thaw.
    const metadataPack = pack.blobs.length > 0 && pack.blobs.every((b) => b.type === 'tree');
    await this.backend.save({ kind: 'data', name: pack.id }, pack.bytes, metadataPack ? { metadataPack } : undefined);
    const indexed: IndexedPack = { id: pack.id, size: pack.bytes.length, blobs: pack.blobs };
    this.unindexed.push(indexed);
    this.written.push({ id: pack.id, size: indexed.size });
    this.index.add(indexed);
  }

  /** Hand over the packs saved since the last index write (prune writes its own index). */
  takeUnindexed(): IndexedPack[] {
    const packs = this.unindexed;
    this.unindexed = [];
    return packs;
  }

  /** Write an index file for every pack saved since the last call. */
  async flushIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    await saveIndexFile(this.backend, this.key, packs);
  }

  // --- snapshots -----------------------------------------------------------

  async saveSnapshot(snapshot: Omit<Snapshot, 'id'>): Promise<Snapshot> {
    const json = Buffer.from(JSON.stringify(snapshot));
    const body = compressIfSmaller(json, 3);
    const bytes = seal(this.key.encryption, Buffer.concat([Buffer.from([body ? 1 : 0]), body ?? json]));
    const id = createHash('sha256').update(bytes).digest('hex');
    await this.backend.save({ kind: 'snapshots', name: id }, bytes);
    return { ...snapshot, id };
  }

  async loadSnapshot(id: string): Promise<Snapshot> {
    const cached = this.snapshotCache.get(id);
    if (cached) return cached;
    const bytes = await this.backend.load({ kind: 'snapshots', name: id });
    const plain = open(this.key.encryption, bytes, `snapshot ${id.slice(0, 8)}`);
    const body = plain[0] === 1 ? decompress(plain.subarray(1)) : plain.subarray(1);
    const snapshot = { ...(JSON.parse(body.toString('utf8')) as Omit<Snapshot, 'id'>), id };
    this.snapshotCache.set(id, snapshot);
    return snapshot;
  }

  /** Every snapshot, oldest first. */
  async listSnapshots(): Promise<Snapshot[]> {
    const names: string[] = [];
    for await (const info of this.backend.list('snapshots')) names.push(info.name);
    const snaps = await mapLimit(names, 8, (name) => this.loadSnapshot(name));
    return snaps.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  /** `latest`, a full id, or a unique prefix of at least 4 hex digits. */
  async findSnapshot(ref: string, filter?: { runbook?: string }): Promise<Snapshot> {
    const all = (await this.listSnapshots()).filter((s) => !filter?.runbook || s.runbook === filter.runbook);
    if (ref === 'latest') {
      const last = all.at(-1);
      if (!last) throw new LifeboatError('SNAPSHOT_NOT_FOUND', `the repository at ${this.backend.location} has no snapshots yet`);
      return last;
    }
    if (!/^[0-9a-f]{4,64}$/.test(ref)) {
      throw new LifeboatError('USAGE', `"${ref}" is not a snapshot id (expected "latest" or at least 4 hex digits)`);
    }
    const matches = all.filter((s) => s.id.startsWith(ref));
    if (matches.length === 0) throw new LifeboatError('SNAPSHOT_NOT_FOUND', `no snapshot ${ref} in the repository at ${this.backend.location}`);
    if (matches.length > 1) throw new LifeboatError('USAGE', `snapshot prefix ${ref} is ambiguous (${matches.length} snapshots match); give more digits`);
    return matches[0]!;
  }

  async removeSnapshot(id: string): Promise<void> {
    await this.backend.remove({ kind: 'snapshots', name: id });
    this.snapshotCache.delete(id);
  }
}

export type { BlobType };
