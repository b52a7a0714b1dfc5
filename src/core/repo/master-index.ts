/**
 * Index files (index/<id>) say which blob lives in which pack; the master index
 * is all of them merged in memory. A blob may appear in several packs (two
 * backups raced, or an interrupted one was re-run): any of them will do.
 */
import { createHash } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import { compressIfSmaller, decompress } from './compress.js';
import { open, seal, type MasterKey } from './crypto.js';
import type { BlobLocation, BlobType } from './format.js';
import { LifeboatError } from '../errors.js';

export interface IndexedPack {
  id: string;
  size: number;
  blobs: Omit<BlobLocation, 'pack'>[];
}

interface IndexFile {
  packs: { id: string; size: number; blobs: [id: string, type: 0 | 1, offset: number, length: number, rawLength: number, compressed: 0 | 1][] }[];
}

export class MasterIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /** Every pack's own blob list, duplicates included (prune needs all copies). */
  private readonly packBlobs = new Map<string, Omit<BlobLocation, 'pack'>[]>();
  readonly packs = new Map<string, { size: number; indexFile?: string }>();

  get blobCount(): number {
    return this.blobs.size;
  }

  add(pack: IndexedPack, indexFile?: string): void {
    this.packs.set(pack.id, { size: pack.size, indexFile });
    this.packBlobs.set(pack.id, pack.blobs);
    for (const b of pack.blobs) {
      if (!this.blobs.has(b.id)) this.blobs.set(b.id, { ...b, pack: pack.id });
    }
  }

  /** The blobs a pack's index entry lists (empty for a pack no index knows). */
  blobsOf(pack: string): BlobLocation[] {
    return (this.packBlobs.get(pack) ?? []).map((b) => ({ ...b, pack }));
  }

  *allEntries(): Generator<BlobLocation> {
    for (const [pack, blobs] of this.packBlobs) for (const b of blobs) yield { ...b, pack };
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

export function encodeIndex(key: MasterKey, packs: IndexedPack[]): Buffer {
  const file: IndexFile = {
    packs: packs.map((p) => ({
      id: p.id,
      size: p.size,
      blobs: p.blobs.map((b) => [b.id, b.type === 'tree' ? 1 : 0, b.offset, b.length, b.rawLength, b.compressed ? 1 : 0]),
    })),
  };
  const json = Buffer.from(JSON.stringify(file));
  const compressed = compressIfSmaller(json, 3);
  // A leading flag byte says whether the JSON was compressed.
  return seal(key.encryption, Buffer.concat([Buffer.from([compressed ? 1 : 0]), compressed ?? json]));
}

export function decodeIndex(key: MasterKey, bytes: Buffer, name: string): IndexedPack[] {
  const plain = open(key.encryption, bytes, `index file ${name.slice(0, 12)}`);
  const body = plain[0] === 1 ? decompress(plain.subarray(1)) : plain.subarray(1);
  let file: IndexFile;
  try {
    file = JSON.parse(body.toString('utf8')) as IndexFile;
  } catch {
    throw new LifeboatError('REPO_CORRUPT', `index file ${name.slice(0, 12)} is not valid JSON`);
  }
  return file.packs.map((p) => ({
    id: p.id,
    size: p.size,
    blobs: p.blobs.map(([id, type, offset, length, rawLength, compressed]) => ({
      id,
      type: type === 1 ? 'tree' : 'data',
      offset,
      length,
      rawLength,
      compressed: compressed === 1,
    })),
  }));
}

export async function saveIndexFile(backend: Backend, key: MasterKey, packs: IndexedPack[]): Promise<string> {
  const bytes = encodeIndex(key, packs);
  const name = createHash('sha256').update(bytes).digest('hex');
  await backend.save({ kind: 'index', name }, bytes);
  return name;
}
