/**
 * Packs: many encrypted blobs in one file, with an encrypted header at the end.
 *
 *   pack   = blob_1 ‖ … ‖ blob_n ‖ seal(header) ‖ u32le(len(seal(header)))
 *   blob_i = nonce(12) ‖ AES-256-GCM(zstd?(plaintext)) ‖ tag(16)
 *   header = n × entry, entry = type(u8) ‖ compressed(u8) ‖ rawLength(u32le) ‖ length(u32le) ‖ id(32)
 *
 * Offsets are implicit (the sum of earlier lengths), so the header cannot
 * disagree with the layout. The pack id is SHA-256 of all its bytes, so a pack
 * can be checked for damage without the key.
 */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { compressIfSmaller, decompress } from './compress.js';
import { blobIdOf, open, sealParts, tryOpen, type MasterKey } from './crypto.js';
import { blobTypeCode, blobTypeFromCode, type BlobLocation, type BlobType } from './format.js';

const ENTRY_SIZE = 42;

export interface PackedBlob {
  id: string;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
  compressed: boolean;
}

export interface FinishedPack {
  id: string;
  /** The whole pack in one buffer that owns its memory (safe to transfer to another thread). */
  bytes: Buffer;
  blobs: PackedBlob[];
}

/** Accumulates sealed blobs until the pack is big enough, then lays them out with the header. */
export class PackBuilder {
  private parts: Buffer[] = [];
  private entries: PackedBlob[] = [];
  private size = 0;

  constructor(
    private readonly key: MasterKey,
    private readonly compressionLevel: number,
  ) {}

  get byteSize(): number {
    return this.size;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  /** Compress (when it pays), seal and append one blob whose id the caller computed. */
  add(type: BlobType, id: string, plaintext: Uint8Array): PackedBlob {
    const compressed = compressIfSmaller(plaintext, this.compressionLevel);
    const parts = sealParts(this.key.encryption, compressed ?? plaintext);
    let length = 0;
    for (const p of parts) length += p.length;
    const entry: PackedBlob = { id, type, offset: this.size, length, rawLength: plaintext.length, compressed: compressed !== undefined };
    this.parts.push(...parts);
    this.entries.push(entry);
    this.size += length;
    return entry;
  }

  /** Lay out the pack and reset the builder; undefined when empty. */
  finish(): FinishedPack | undefined {
    if (this.entries.length === 0) return undefined;
    const header = Buffer.allocUnsafe(this.entries.length * ENTRY_SIZE);
    this.entries.forEach((e, i) => {
      const at = i * ENTRY_SIZE;
      header[at] = blobTypeCode[e.type];
      header[at + 1] = e.compressed ? 1 : 0;
      header.writeUInt32LE(e.rawLength, at + 2);
      header.writeUInt32LE(e.length, at + 6);
      header.write(e.id, at + 10, 32, 'hex');
    });
    const sealedHeader = sealParts(this.key.encryption, header);
    let headerLength = 0;
    for (const p of sealedHeader) headerLength += p.length;
    const total = this.size + headerLength + 4;
    // allocUnsafeSlow: a pooled small buffer would detach the shared pool when transferred.
    const bytes = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (const p of this.parts) {
      p.copy(bytes, at);
      at += p.length;
    }
    for (const p of sealedHeader) {
      p.copy(bytes, at);
      at += p.length;
    }
    bytes.writeUInt32LE(headerLength, at);
    const id = createHash('sha256').update(bytes).digest('hex');
    const blobs = this.entries;
    this.parts = [];
    this.entries = [];
    this.size = 0;
    return { id, bytes, blobs };
  }
}

/** Read the header from the tail of a pack (`tail` = the last bytes, at least header+4). */
export function parsePackHeader(key: MasterKey, packId: string, tail: Buffer, packSize: number): BlobLocation[] {
  if (tail.length < 4) throw new LifeboatError('REPO_CORRUPT', `pack ${packId} is too short to hold a header`);
  const headerLength = tail.readUInt32LE(tail.length - 4);
  if (headerLength + 4 > tail.length || headerLength + 4 > packSize) {
    throw new LifeboatError('REPO_CORRUPT', `pack ${packId} has a header length (${headerLength}) that does not fit its size`, {
      details: { needTail: headerLength + 4 },
    });
  }
  const header = open(key.encryption, tail.subarray(tail.length - 4 - headerLength, tail.length - 4), `header of pack ${packId}`);
  if (header.length % ENTRY_SIZE !== 0) throw new LifeboatError('REPO_CORRUPT', `pack ${packId} has a malformed header`);
  const blobs: BlobLocation[] = [];
  let offset = 0;
  for (let at = 0; at < header.length; at += ENTRY_SIZE) {
    const length = header.readUInt32LE(at + 6);
    blobs.push({
      id: header.toString('hex', at + 10, at + 42),
      type: blobTypeFromCode(header[at]!),
      pack: packId,
      offset,
      length,
      rawLength: header.readUInt32LE(at + 2),
      compressed: header[at + 1] === 1,
    });
    offset += length;
  }
  if (offset + headerLength + 4 !== packSize) {
    throw new LifeboatError('REPO_CORRUPT', `pack ${packId}: header describes ${offset} bytes of blobs but the pack holds ${packSize - headerLength - 4}`);
  }
  return blobs;
}

/**
 * Decrypt, decompress and authenticate one blob read from a pack. Returns an
 * error string instead of throwing so that callers verifying many blobs can
 * report every damaged one.
 */
export function openBlob(key: MasterKey, loc: Pick<BlobLocation, 'id' | 'compressed' | 'rawLength'>, sealed: Uint8Array): Buffer | string {
  const plain = tryOpen(key.encryption, sealed);
  if (!plain) return 'failed authentication (damaged or altered)';
  let data: Buffer;
  try {
    data = loc.compressed ? decompress(plain) : plain;
  } catch {
    return 'does not decompress';
  }
  if (data.length !== loc.rawLength) return `has ${data.length} bytes, expected ${loc.rawLength}`;
  if (blobIdOf(key.mac, data).toString('hex') !== loc.id) return 'content does not match its id';
  return data;
}
