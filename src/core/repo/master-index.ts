/**
 * Index files (index/<id>) say which blob lives in which pack; the master index
 * is all of them merged in memory. A blob may appear in several packs (two
 * backups raced, or an interrupted one was re-run): any of them will do.
 */
import type { Backend } from '../backends/backend.js';
import { assertNamedByContent, nameOf, openJson, sealJson, type RepoKeys } from './binding.js';
import type { BlobLocation, BlobType } from './format.js';
import { LifeboatError } from '../errors.js';

export interface IndexedPack {
  id: string;
  size: number;
  blobs: Omit<BlobLocation, 'pack'>[];
  /** Written before a format-1 repository was migrated: header and blobs sealed without associated data. */
  legacy?: boolean;
}

type IndexEntry = [id: string, type: 0 | 1, offset: number, length: number, rawLength: number, compressed: 0 | 1];

interface IndexFile {
  packs: { id: string; size: number; legacy?: true; blobs: IndexEntry[] }[];
}

export class MasterIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /**
   * Every pack's own blob list, duplicates included (prune needs all copies).
   * `blobs` holds the same objects: one object per indexed blob, not two (a
   * restore of 50k files held ~55k of each; issue 22, peak memory).
   */
  private readonly packBlobs = new Map<string, BlobLocation[]>();
  readonly packs = new Map<string, { size: number; indexFile?: string; legacy?: boolean }>();

  get blobCount(): number {
    return this.blobs.size;
  }

  clear(): void {
    this.blobs.clear();
    this.packBlobs.clear();
    this.packs.clear();
  }

  add(pack: IndexedPack, indexFile?: string): void {
    const blobs: BlobLocation[] = new Array<BlobLocation>(pack.blobs.length);
    const index = this.blobs;
    for (let i = 0; i < blobs.length; i++) {
      const b = (blobs[i] = locationIn(pack, pack.blobs[i]!));
      if (!index.has(b.id)) index.set(b.id, b);
    }
    this.packs.set(pack.id, { size: pack.size, indexFile, legacy: pack.legacy });
    this.packBlobs.set(pack.id, blobs);
  }

  /** A pack as an index file lists it. */
  indexedPack(pack: string): IndexedPack | undefined {
    const info = this.packs.get(pack);
    if (!info) return undefined;
    const blobs = (this.packBlobs.get(pack) ?? []).map(({ legacy: _l, pack: _p, ...b }) => b);
    return info.legacy ? { id: pack, size: info.size, blobs, legacy: true } : { id: pack, size: info.size, blobs };
  }

  /** The blobs a pack's index entry lists (empty for a pack no index knows). */
  blobsOf(pack: string): BlobLocation[] {
    return (this.packBlobs.get(pack) ?? []).map((b) => ({ ...b }));
  }

  *allEntries(): Generator<BlobLocation> {
    for (const blobs of this.packBlobs.values()) for (const b of blobs) yield { ...b };
  }

  lookup(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  ids(): IterableIterator<string> {
    return this.blobs.keys();
  }

  entries(): IterableIterator<BlobLocation> {
    return this.blobs.values();
  }

  byType(type: BlobType): BlobLocation[] {
    return [...this.blobs.values()].filter((b) => b.type === type);
  }
}

/**
 * A blob of `pack` as the index keeps it: the fields written out, not spread —
 * `add` runs once per indexed blob at every repository open (26k blobs in the
 * browse bench, where spreading was ~40% of an ls's CPU; issue 20).
 */
function locationIn(pack: IndexedPack, b: Omit<BlobLocation, 'pack'>): BlobLocation {
  const loc: BlobLocation = { id: b.id, type: b.type, pack: pack.id, offset: b.offset, length: b.length, rawLength: b.rawLength, compressed: b.compressed };
  if (pack.legacy) loc.legacy = true;
  else if (b.legacy !== undefined) loc.legacy = b.legacy;
  return loc;
}

export function encodeIndex(key: RepoKeys, packs: IndexedPack[]): Buffer {
  const file: IndexFile = {
    packs: packs.map((p) => ({
      id: p.id,
      size: p.size,
      ...(p.legacy ? { legacy: true as const } : {}),
      blobs: p.blobs.map((b): IndexEntry => [b.id, b.type === 'tree' ? 1 : 0, b.offset, b.length, b.rawLength, b.compressed ? 1 : 0]),
    })),
  };
  return sealJson(key, 'index', file);
}

const hexId = /^[0-9a-f]{64}$/;
const isU32 = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;

/** Every field of an index file has the shape and range the format gives it; else the file is damage. */
function checkIndexFile(value: unknown, what: string): IndexFile {
  const bad = (why: string) => new LifeboatError('REPO_CORRUPT', `${what}: ${why}`);
  const packs = (value as { packs?: unknown } | null)?.packs;
  if (!Array.isArray(packs)) throw bad('no pack list');
  for (const p of packs as IndexFile['packs']) {
    if (typeof p !== 'object' || p === null || typeof p.id !== 'string' || !hexId.test(p.id)) throw bad('a pack entry without a valid id');
    if (!Number.isSafeInteger(p.size) || p.size < 0) throw bad(`pack ${p.id.slice(0, 12)} has an invalid size`);
    if (p.legacy !== undefined && p.legacy !== true) throw bad(`pack ${p.id.slice(0, 12)} has an invalid legacy flag`);
    if (!Array.isArray(p.blobs)) throw bad(`pack ${p.id.slice(0, 12)} has no blob list`);
    for (const b of p.blobs) {
      const ok =
        Array.isArray(b) && b.length === 6 && typeof b[0] === 'string' && hexId.test(b[0]) && (b[1] === 0 || b[1] === 1) &&
        isU32(b[2]) && isU32(b[3]) && isU32(b[4]) && (b[5] === 0 || b[5] === 1) && b[2] + b[3] <= p.size;
      if (!ok) throw bad(`pack ${p.id.slice(0, 12)} has a malformed blob entry`);
    }
  }
  return value as IndexFile;
}

export interface DecodedIndex {
  packs: IndexedPack[];
  /** Sealed with associated data (format 2); false for a format-1 file. */
  bound: boolean;
}

/** Verify an index file's name and seal, and decode it; throws REPO_CORRUPT naming the file. */
export function decodeIndex(key: RepoKeys, bytes: Buffer, name: string): DecodedIndex {
  assertNamedByContent('index', name, bytes);
  const what = `index file ${name.slice(0, 12)}`;
  const { value, bound } = openJson(key, 'index', bytes, what);
  const file = checkIndexFile(value, what);
  const packs = file.packs.map((p): IndexedPack => ({
    id: p.id,
    size: p.size,
    ...(p.legacy ? { legacy: true } : {}),
    // Indexed, not destructured: array destructuring goes through the iterator protocol, per blob.
    blobs: p.blobs.map((e) => ({ id: e[0], type: e[1] === 1 ? 'tree' : 'data', offset: e[2], length: e[3], rawLength: e[4], compressed: e[5] === 1 })),
  }));
  return { packs, bound };
}

export async function saveIndexFile(backend: Backend, key: RepoKeys, packs: IndexedPack[]): Promise<string> {
  const bytes = encodeIndex(key, packs);
  const name = nameOf(bytes);
  await backend.save({ kind: 'index', name }, bytes);
  return name;
}
