/**
 * An open repository: config, master key, master index, and the operations on
 * them that every engine part shares (load a blob, save a pack, read and write
 * snapshots). Backup, restore and check are built on top (archiver.ts,
 * restorer.ts, checker.ts).
 */
import { randomBytes } from 'node:crypto';
import { commandHint } from '../command-hint.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { packFilesOf, type Backend } from '../backends/backend.js';
import type { ObjectLockBackend } from '../backends/object-lock-backend.js';
import { assertNamedByContent, nameOf, openJson, sealJson, type RepoKeys } from './binding.js';
import { blobIdOf, generateMasterKey, type ScryptParams } from './crypto.js';
import {
  REPOSITORY_FORMAT,
  REPOSITORY_VERSION,
  defaultChunker,
  defaultCompressionLevel,
  defaultPackSize,
  type BlobType,
  type RepositoryConfig,
} from './format.js';
import { openMasterKey, writeKeyFile, type KeyBinding } from './keys.js';
import { MasterIndex, decodeIndex, saveIndexFile, type IndexedPack } from './master-index.js';
import { PackBuilder, openBlob, packBufferCapacity, parsePackHeader, type FinishedPack, type WrittenPackFile } from './pack.js';
import { encodeConfig, parseConfig, verifyConfigMac } from './repo-config.js';
import { checkSnapshotRecord, type Snapshot } from './snapshot.js';
import { decodeTree, encodeTree, type Tree } from './tree.js';

export interface InitOptions {
  scrypt?: ScryptParams;
  compressionLevel?: number;
  packSize?: number;
  chunker?: RepositoryConfig['chunker'];
  /** Format version to create (tests of format-1 repositories and of migration); default the newest. */
  version?: number;
}

/** A file of the repository that failed to load, and why (the command that lists it decides what that means). */
export interface DamagedFile {
  name: string;
  problem: string;
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
  /** Index files loaded by loadIndex (prune replaces them), including damaged ones. */
  readonly indexFiles = new Set<string>();
  /** Index files loadIndex could not use; their packs count as unindexed. */
  readonly damagedIndexFiles: DamagedFile[] = [];
  /** Index files sealed the format-1 way (a format-1 repository, or one whose migrate was interrupted). */
  readonly unboundIndexFiles = new Set<string>();
  /** Snapshot files the last listSnapshots could not use (name, seal or shape wrong). */
  damagedSnapshots: DamagedFile[] = [];
  /** Snapshot files sealed the format-1 way. */
  readonly unboundSnapshots = new Set<string>();
  /** Things worth telling the operator that do not stop the command (e.g. a key file skipped). */
  readonly warnings: string[] = [];
  /** The runbook this repository was opened for, so hints name it (`lifeboat check orders`). */
  runbook?: string;
  /** An S3 Object Lock repository's version-aware layer: prune asks it what retention still holds. */
  objectLock?: ObjectLockBackend;
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
    readonly key: RepoKeys,
    /** The key file that opened (migrate replaces it with a format-2 one). */
    readonly keyFile?: string,
    /** What that key file says it belongs to (format-2 key files only). */
    readonly keyBinding?: KeyBinding,
  ) {}

  get version(): number {
    return this.config.version;
  }

  static async init(backend: Backend, password: string, options: InitOptions = {}): Promise<Repository> {
    await backend.create();
    if (await backend.exists()) {
      throw new LifeboatError('REPO_EXISTS', `a repository already exists at ${backend.location}`);
    }
    const version = options.version ?? REPOSITORY_VERSION;
    const config: RepositoryConfig = {
      format: REPOSITORY_FORMAT,
      version,
      id: randomBytes(32).toString('hex'),
      created: new Date().toISOString(),
      chunker: options.chunker ?? defaultChunker,
      packSize: options.packSize ?? defaultPackSize,
      compression: { algorithm: 'zstd', level: options.compressionLevel ?? defaultCompressionLevel },
    };
    const master = generateMasterKey();
    // The key goes first: a config without a key would be a repository nobody can open.
    const binding = version >= 2 ? { version, repository: config.id } : undefined;
    const keyFile = await writeKeyFile(backend, password, master, options.scrypt, binding);
    const bytes = encodeConfig(master, config);
    await backend.save({ kind: 'config', name: 'config' }, bytes);
    return new Repository(backend, parseConfig(bytes, backend.location), { ...master, bindKinds: version >= 2 }, keyFile, binding);
  }

  static async open(backend: Backend, password: string, options: { runbook?: string } = {}): Promise<Repository> {
    let raw: Buffer;
    try {
      raw = await backend.load({ kind: 'config', name: 'config' });
    } catch (e) {
      // A missing bucket is its own problem (a typo, a region); only a missing config means "no repository".
      if (isLifeboatError(e, 'BACKEND_NOT_FOUND') && e.details.bucketMissing !== true) {
        throw new LifeboatError('REPO_NOT_FOUND', `no repository at ${backend.location} (run ${commandHint('init', options.runbook)} first)`);
      }
      throw e;
    }
    // Bounded before anything uses a value; authenticated once a key has opened.
    const config = parseConfig(raw, backend.location);
    const opened = await openMasterKey(backend, password);
    verifyConfigMac(opened.key, config, backend.location);
    if (opened.binding && opened.binding.repository !== config.id) {
      throw new LifeboatError('REPO_CORRUPT', `key file ${opened.name.slice(0, 12)} belongs to repository ${opened.binding.repository.slice(0, 12)}, not to this one (${config.id.slice(0, 12)}) at ${backend.location}`);
    }
    if (opened.binding && opened.binding.version > config.version) {
      // Only someone without the key rewrites a format-2 config as format 1 (which has no mac).
      throw new LifeboatError('REPO_CORRUPT', `the config of the repository at ${backend.location} says format ${config.version}, but its key file was written for format ${opened.binding.version}: the config was replaced by an older or forged one`);
    }
    const repo = new Repository(backend, config, { ...opened.key, bindKinds: config.version >= 2 }, opened.name, opened.binding);
    repo.runbook = options.runbook;
    for (const s of opened.skipped) repo.warnings.push(`key file skipped: ${s.problem}`);
    return repo;
  }

  /**
   * Load every index file into the master index. A damaged one (content not
   * matching its name, failed authentication, malformed) is set aside in
   * `damagedIndexFiles`: its packs then count as unindexed, which check
   * reports, prune reads the headers of, and repair-index rebuilds.
   */
  async loadIndex(): Promise<void> {
    const names: string[] = [];
    for await (const info of this.backend.list('index')) names.push(info.name);
    for (const name of names) this.indexFiles.add(name);
    await mapLimit(names, 8, async (name) => {
      const bytes = await this.backend.load({ kind: 'index', name });
      let decoded;
      try {
        decoded = decodeIndex(this.key, bytes, name);
      } catch (e) {
        if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
        this.damagedIndexFiles.push({ name, problem: e.message });
        return;
      }
      if (!decoded.bound) this.unboundIndexFiles.add(name);
      for (const p of decoded.packs) this.index.add(p, name);
    });
    if (this.damagedIndexFiles.length > 0) {
      this.warnings.push(`${this.damagedIndexFiles.length} index file(s) are damaged and were not used (run ${commandHint('check', this.runbook)}; ${commandHint('repair-index', this.runbook)} rebuilds the index from the packs)`);
    }
  }

  /**
   * Load the index again when an index file this process read is gone: a
   * prune (which replaces every index file) ran between loadIndex and the
   * caller's repository lock. Deduplicating against the old index would
   * reference blobs whose packs prune just deleted. Packs this process saved
   * and has not indexed yet are kept. Returns whether it reloaded.
   */
  async reloadIndexIfReplaced(): Promise<boolean> {
    const present = new Set<string>();
    for await (const info of this.backend.list('index')) present.add(info.name);
    if ([...this.indexFiles].every((name) => present.has(name))) return false;
    this.index.clear();
    this.indexFiles.clear();
    this.damagedIndexFiles.length = 0;
    this.unboundIndexFiles.clear();
    await this.loadIndex();
    for (const p of this.unindexed) this.index.add(p);
    return true;
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
      const pack = await this.readOrphanHeader(name, size);
      if (pack) recovered.push(pack); // a damaged orphan is left for check and prune
    });
    if (recovered.length > 0) {
      const name = await saveIndexFile(this.backend, this.key, recovered);
      // Known as ours from now on: a prune in this process must replace it like every other index file.
      this.indexFiles.add(name);
      for (const p of recovered) this.index.add(p, name);
    }
    return {
      packs: recovered.length,
      blobs: recovered.reduce((n, p) => n + p.blobs.length, 0),
      bytes: recovered.reduce((n, p) => n + p.size, 0),
    };
  }

  /**
   * The blobs a pack's own header lists. `legacy`: open it the format-1 way
   * (a pack written before its repository was migrated).
   */
  async readPackHeader(packId: string, size: number, legacy?: boolean): Promise<IndexedPack['blobs']> {
    const guess = Math.min(size, 64 * 1024);
    let tail = await this.backend.load({ kind: 'data', name: packId }, { offset: size - guess, length: guess });
    try {
      return parsePackHeader(this.key, packId, tail, size, legacy);
    } catch (e) {
      const need = isLifeboatError(e) ? (e.details.needTail as number | undefined) : undefined;
      if (need === undefined || need > size) throw e;
      tail = await this.backend.load({ kind: 'data', name: packId }, { offset: size - need, length: need });
      return parsePackHeader(this.key, packId, tail, size, legacy);
    }
  }

  /**
   * A pack no index lists, described by its own header; undefined when the
   * header cannot be read (damaged, or not a pack of this repository). In a
   * migrated repository a pack written before the migration opens the
   * format-1 way and is marked legacy; anywhere else only a bound header is
   * accepted. Backend errors other than damage propagate.
   */
  async readOrphanHeader(packId: string, size: number): Promise<IndexedPack | undefined> {
    try {
      return { id: packId, size, blobs: await this.readPackHeader(packId, size) };
    } catch (e) {
      if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
      if (!this.config.legacyPacks) return undefined;
    }
    try {
      return { id: packId, size, blobs: await this.readPackHeader(packId, size, true), legacy: true };
    } catch (e) {
      if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
      return undefined;
    }
  }

  blobId(plaintext: Uint8Array): string {
    return blobIdOf(this.key.mac, plaintext).toString('hex');
  }

  /** Load, decrypt, decompress and verify one blob (`index`: where to look it up, prune's own view). */
  async loadBlob(id: string, index: MasterIndex = this.index): Promise<Buffer> {
    const loc = index.lookup(id);
    if (!loc) throw new LifeboatError('REPO_CORRUPT', `blob ${id.slice(0, 12)} is referenced but not in any index`);
    const sealed = await this.backend.load({ kind: 'data', name: loc.pack }, { offset: loc.offset, length: loc.length });
    const data = openBlob(this.key, loc, sealed);
    if (typeof data === 'string') throw new LifeboatError('REPO_CORRUPT', `blob ${id.slice(0, 12)} in pack ${loc.pack.slice(0, 12)} ${data}`);
    return data;
  }

  async loadTree(id: string, index: MasterIndex = this.index): Promise<Tree> {
    const cached = this.treeCache.get(id);
    if (cached) return cached;
    const tree = decodeTree(await this.loadBlob(id, index), id);
    this.keepTree(id, tree);
    return tree;
  }

  /** A tree loaded and checked some other way (a batched read-ahead: tree-read-ahead.ts), kept where loadTree looks first. */
  keepTree(id: string, tree: Tree): void {
    if (this.treeCache.size > 4096) this.treeCache.clear();
    this.treeCache.set(id, tree);
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

  /**
   * Save a pack a backup worker wrote to a temp file of the backend
   * (Backend.newPackFile, worker-pool.ts) and remember it for the next index
   * file, as savePack. The file is gone afterwards, saved or removed.
   */
  async savePackFile(pack: WrittenPackFile): Promise<void> {
    const saver = packFilesOf(this.backend);
    if (!saver) throw new LifeboatError('INTERNAL', `${this.backend.location} takes no pack files`);
    const metadataPack = pack.blobs.length > 0 && pack.blobs.every((b) => b.type === 'tree');
    await saver.savePackFile({ kind: 'data', name: pack.id }, pack.path, metadataPack ? { metadataPack } : undefined);
    const indexed: IndexedPack = { id: pack.id, size: pack.size, blobs: pack.blobs };
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
    this.indexFiles.add(await saveIndexFile(this.backend, this.key, packs));
  }

  /**
   * After prune replaced every index file with `file`: the in-memory index is
   * exactly what it wrote, so later work in this process (a backup's next
   * stage) does not see deleted packs.
   */
  replaceIndex(packs: readonly IndexedPack[], file: string): void {
    this.index.clear();
    for (const p of packs) this.index.add(p, file);
    this.indexFiles.clear();
    this.indexFiles.add(file);
    this.damagedIndexFiles.length = 0;
    this.unboundIndexFiles.clear();
  }

  // --- snapshots -----------------------------------------------------------

  async saveSnapshot(snapshot: Omit<Snapshot, 'id'>): Promise<Snapshot> {
    const bytes = sealJson(this.key, 'snapshot', snapshot);
    const id = nameOf(bytes);
    await this.backend.save({ kind: 'snapshots', name: id }, bytes);
    return { ...snapshot, id };
  }

  /**
   * Load one snapshot: its bytes must hash to its id (a file copied or renamed
   * is refused), open as a snapshot, and hold a well-formed record.
   */
  async loadSnapshot(id: string): Promise<Snapshot> {
    const cached = this.snapshotCache.get(id);
    if (cached) return cached;
    const bytes = await this.backend.load({ kind: 'snapshots', name: id });
    assertNamedByContent('snapshot', id, bytes);
    const what = `snapshot ${id.slice(0, 8)}`;
    const { value, bound } = openJson(this.key, 'snapshot', bytes, what);
    const snapshot = { ...checkSnapshotRecord(value, what), id };
    if (!bound) this.unboundSnapshots.add(id);
    this.snapshotCache.set(id, snapshot);
    return snapshot;
  }

  /**
   * Every snapshot that loads, oldest first. Files that do not (damaged,
   * renamed, copied over another) are left out and listed in
   * `damagedSnapshots`: check reports them and prune refuses to run while
   * any exists, since such a file may be the only record of data it uses.
   */
  async listSnapshots(): Promise<Snapshot[]> {
    const names: string[] = [];
    for await (const info of this.backend.list('snapshots')) names.push(info.name);
    const damaged: DamagedFile[] = [];
    const loaded = await mapLimit(names, 8, async (name) => {
      try {
        return await this.loadSnapshot(name);
      } catch (e) {
        if (!isLifeboatError(e, 'REPO_CORRUPT')) throw e;
        damaged.push({ name, problem: e.message });
        return undefined;
      }
    });
    this.damagedSnapshots = damaged.sort((a, b) => a.name.localeCompare(b.name));
    const snaps = loaded.filter((s): s is Snapshot => s !== undefined);
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
