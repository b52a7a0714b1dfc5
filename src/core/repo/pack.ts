/**
 * Packs: many encrypted blobs in one file, with an encrypted header at the end.
 *
 *   pack   = blob_1 ‖ … ‖ blob_n ‖ seal(header) ‖ u32le(len(seal(header)))
 *   blob_i = nonce(12) ‖ AES-256-GCM(zstd?(plaintext), ad = "lifeboat/blob/" ‖ id) ‖ tag(16)
 *   header = n × entry, entry = type(u8) ‖ compressed(u8) ‖ rawLength(u32le) ‖ length(u32le) ‖ id(32)
 *
 * Offsets are implicit (the sum of earlier lengths), so the header cannot
 * disagree with the layout. The pack id is SHA-256 of all its bytes, so a pack
 * can be checked for damage without the key.
 */
import { createHash, type Hash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { blobAdFor, headerAdFor, type RepoKeys } from './binding.js';
import { compressBound, compressInto, compressToNew, decompressBounded, savesEnough, worthCompressing, type DecompressScratch } from './compress.js';
import { blobIdOf, open, sealInto, sealParts, tryOpen, tryOpenInPlace } from './crypto.js';
import { SEAL_OVERHEAD, blobTypeCode, blobTypeFromCode, type BlobLocation, type BlobType } from './format.js';

const ENTRY_SIZE = 42;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;

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
  /** The pack's bytes: a view at the start of the builder's buffer (see `PackBuilder.provide`). */
  bytes: Buffer;
  blobs: PackedBlob[];
}

/** A pack a backup worker wrote to a temp file of the backend (Backend.newPackFile), complete and closed: the main thread saves it. */
export interface WrittenPackFile {
  id: string;
  path: string;
  size: number;
  blobs: PackedBlob[];
}

/** A pack whose bytes went out in pieces (PackBuilder.takeBuffered): its last bytes and what it holds. */
export interface StreamedPackEnd {
  id: string;
  /** The pack's last bytes (after every piece taken): a view of the builder's buffer, valid until its next add. */
  tail: Buffer;
  /** Bytes of the whole pack. */
  size: number;
  blobs: PackedBlob[];
}

/**
 * Room of a pack buffer: the target pack size plus headroom for the header.
 * A blob that does not fit closes the pack early (packs are "about" 16 MiB);
 * one larger than the pack size gets a pack of its own.
 */
export function packBufferCapacity(packSize: number, maxBlob: number): number {
  return Math.max(packSize, maxBlob + (maxBlob >> 6)) + 1024 * 1024;
}

/** A builder's first buffer; it grows by doubling, so rarely-used builders (trees) stay small. */
const INITIAL_BUFFER = 1024 * 1024;

/**
 * Lays sealed blobs out directly in one pack-sized buffer, so a finished pack
 * is a view, not a copy, and the buffer can travel to the thread that saves
 * it and come back for the next pack: a backup allocates a few pack buffers,
 * not one per pack (which left hundreds of MiB of garbage between collections).
 */
export class PackBuilder {
  private buffer?: Buffer;
  /** Buffers handed back while a pack was already being built: the next packs use them. */
  private readonly spare: Buffer[] = [];
  private entries: PackedBlob[] = [];
  /** Bytes of the pack in the buffer (from its start). */
  private size = 0;
  /** Bytes of the pack before those, already taken out (takeBuffered). */
  private base = 0;
  /** SHA-256 of the bytes taken out so far; set while a pack goes out in pieces. */
  private hash?: Hash;

  constructor(
    private readonly key: RepoKeys,
    private readonly compressionLevel: number,
    /** Bytes of the pack buffer; see packBufferCapacity. */
    private readonly capacity: number,
    /**
     * Allocate whole-capacity buffers at once (the backup workers, which fill
     * pack after pack) instead of doubling from 1 MiB (trees, rarely large):
     * each doubling frees a big buffer, which raises glibc's mmap threshold
     * and lets later big buffers settle in a thread's arena for good.
     */
    private readonly options: { fullSize?: boolean } = {},
  ) {}

  /** Bytes of the pack so far (taken out or still in the buffer). */
  get byteSize(): number {
    return this.base + this.size;
  }

  /** Bytes of the pack still in the buffer (not taken out by takeBuffered). */
  get bufferedBytes(): number {
    return this.size;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  /** Whether a buffer is at hand for the next blob (the current one or a handed-back spare). */
  get hasBuffer(): boolean {
    return this.buffer !== undefined || this.spare.length > 0;
  }

  /** Hand back a buffer a finished pack was laid out in, for the next pack. */
  provide(buffer: Buffer): void {
    if (!this.buffer) this.buffer = buffer;
    else if (this.spare.length < 2) this.spare.push(buffer);
  }

  /**
   * Compress (when it pays), seal and append one blob whose id the caller
   * computed. Returns undefined, appending nothing, when the blob would not fit
   * the pack buffer: finish the pack and add it again.
   */
  add(type: BlobType, id: string, plaintext: Uint8Array): PackedBlob | undefined {
    const headerBound = (this.entries.length + 1) * ENTRY_SIZE + SEAL_OVERHEAD + 4;
    const tryCompress = worthCompressing(plaintext);
    // Room for the worst case, so the blob can be compressed straight into the pack buffer. The pack's
    // size (what decides whether the blob still fits it) counts the bytes taken out; the buffer holds the rest.
    const worstHere = this.size + (tryCompress ? compressBound(plaintext.length) : plaintext.length) + SEAL_OVERHEAD + headerBound;
    if (this.base + worstHere <= this.capacity || this.entries.length === 0) this.ensure(worstHere);
    let body: Uint8Array = plaintext;
    let compressed = false;
    if (tryCompress) {
      const start = this.size + NONCE_SIZE;
      const buffer = this.buffer;
      if (buffer && worstHere <= buffer.length) {
        const n = compressInto(buffer.subarray(start, buffer.length - TAG_SIZE - headerBound), plaintext, this.compressionLevel);
        if (savesEnough(n, plaintext.length)) [body, compressed] = [buffer.subarray(start, start + n), true];
      } else {
        // Near the end of a full pack buffer: compress aside to learn whether the blob still fits.
        const out = compressToNew(plaintext, this.compressionLevel);
        if (savesEnough(out.length, plaintext.length)) [body, compressed] = [out, true];
      }
    }
    const length = body.length + SEAL_OVERHEAD;
    const needHere = this.size + length + headerBound;
    if (this.base + needHere > this.capacity && this.entries.length > 0) return undefined;
    this.ensure(needHere);
    const written = sealInto(this.key.encryption, body, this.buffer!, this.size, blobAdFor(this.key, id));
    const entry: PackedBlob = { id, type, offset: this.base + this.size, length: written, rawLength: plaintext.length, compressed };
    this.entries.push(entry);
    this.size += written;
    return entry;
  }

  /**
   * The pack's bytes in the buffer, taken out: the caller writes them (to the
   * pack's file) before the next add, which reuses the buffer from its start.
   * So a pack can be written as it fills, and the buffer only ever holds the
   * bytes not written yet (issue 22: a worker's pack buffer was 17 MiB
   * resident; see repo-worker.ts). The pack is then ended with finishStreamed.
   */
  takeBuffered(): Buffer {
    const bytes = this.buffer!.subarray(0, this.size);
    (this.hash ??= createHash('sha256')).update(bytes);
    this.base += this.size;
    this.size = 0;
    return bytes;
  }

  /**
   * Grow the buffer to hold `need` bytes: by doubling up to the capacity; a
   * lone blob bigger than that (the tree of a huge directory) gets a buffer of
   * its own size.
   */
  private ensure(need: number): void {
    if (!this.buffer && this.spare.length > 0) this.buffer = this.spare.pop();
    if (need <= (this.buffer?.length ?? 0)) return;
    let size = Math.max(this.buffer?.length ?? (this.options.fullSize ? this.capacity : INITIAL_BUFFER), INITIAL_BUFFER);
    while (size < need) size *= 2;
    size = Math.max(Math.min(size, this.capacity), need);
    // allocUnsafeSlow: a pooled small buffer would detach the shared pool when transferred.
    const grown = Buffer.allocUnsafeSlow(size);
    this.buffer?.copy(grown, 0, 0, this.size);
    this.buffer = grown;
  }

  /** Append the header and hand out the pack (and its buffer); undefined when empty. */
  finish(): FinishedPack | undefined {
    if (this.base > 0) throw new Error('PackBuilder.finish: bytes of this pack were taken out; end it with finishStreamed');
    if (this.entries.length === 0 || !this.buffer) return undefined;
    const buffer = this.buffer;
    const bytes = buffer.subarray(0, this.appendHeader());
    const id = createHash('sha256').update(bytes).digest('hex');
    const blobs = this.entries;
    this.buffer = undefined;
    this.entries = [];
    this.size = 0;
    return { id, bytes, blobs };
  }

  /**
   * Append the header and end a pack whose bytes may have gone out in pieces
   * (takeBuffered): its id covers every piece and the tail. The buffer stays
   * with the builder for the next pack. Undefined when empty.
   */
  finishStreamed(): StreamedPackEnd | undefined {
    if (this.entries.length === 0 || !this.buffer) return undefined;
    const tail = this.buffer.subarray(0, this.appendHeader());
    const hash = this.hash ?? createHash('sha256');
    const id = hash.update(tail).digest('hex');
    const end: StreamedPackEnd = { id, tail, size: this.base + tail.length, blobs: this.entries };
    this.entries = [];
    this.size = 0;
    this.base = 0;
    this.hash = undefined;
    return end;
  }

  /** Seal the header after the blobs in the buffer, then its length; returns the buffer's bytes of the pack. */
  private appendHeader(): number {
    const header = Buffer.allocUnsafe(this.entries.length * ENTRY_SIZE);
    this.entries.forEach((e, i) => {
      const at = i * ENTRY_SIZE;
      header[at] = blobTypeCode[e.type];
      header[at + 1] = e.compressed ? 1 : 0;
      header.writeUInt32LE(e.rawLength, at + 2);
      header.writeUInt32LE(e.length, at + 6);
      header.write(e.id, at + 10, 32, 'hex');
    });
    const buffer = this.buffer!;
    let at = this.size;
    for (const part of sealParts(this.key.encryption, header, headerAdFor(this.key))) {
      part.copy(buffer, at);
      at += part.length;
    }
    buffer.writeUInt32LE(at - this.size, at);
    return at + 4;
  }
}

/**
 * Read the header from the tail of a pack (`tail` = the last bytes, at least
 * header+4). `legacy`: a pack written before its repository was migrated to
 * format 2 (sealed without associated data).
 */
export function parsePackHeader(key: RepoKeys, packId: string, tail: Buffer, packSize: number, legacy?: boolean): BlobLocation[] {
  if (tail.length < 4) throw new LifeboatError('REPO_CORRUPT', `pack ${packId} is too short to hold a header`);
  const headerLength = tail.readUInt32LE(tail.length - 4);
  if (headerLength + 4 > tail.length || headerLength + 4 > packSize) {
    throw new LifeboatError('REPO_CORRUPT', `pack ${packId} has a header length (${headerLength}) that does not fit its size`, {
      details: { needTail: headerLength + 4 },
    });
  }
  const header = open(key.encryption, tail.subarray(tail.length - 4 - headerLength, tail.length - 4), `header of pack ${packId}`, headerAdFor(key, legacy));
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
      ...(legacy ? { legacy } : {}),
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
 * report every damaged one. With `scratch`, a compressed blob's plaintext is a
 * view of the scratch buffer, valid until its next use. `checkId` false skips
 * only the plaintext's hash against its id, for a caller that hashes every
 * byte it writes against the same ids later (a drill's re-read from disk,
 * restore-validation.ts); authentication, decompression and length are
 * checked regardless. `inPlace`: decrypt over `sealed` itself (tryOpenInPlace),
 * for a caller whose buffer holds bytes it does not need again; an
 * uncompressed blob's plaintext is then a view of it.
 */
export function openBlob(
  key: RepoKeys,
  loc: Pick<BlobLocation, 'id' | 'compressed' | 'rawLength' | 'legacy'>,
  sealed: Uint8Array,
  scratch?: DecompressScratch,
  checkId = true,
  inPlace = false,
): Buffer | string {
  const ad = blobAdFor(key, loc.id, loc.legacy);
  const plain = inPlace ? tryOpenInPlace(key.encryption, sealed, ad) : tryOpen(key.encryption, sealed, ad);
  if (!plain) return 'failed authentication (damaged or altered)';
  // Decompression never writes past the recorded length: a frame that expands further is damage, not memory.
  const data = !loc.compressed ? plain : scratch ? scratch.decompress(plain, loc.rawLength) : decompressBounded(plain, loc.rawLength, true);
  if (typeof data === 'string') return data;
  if (data.length !== loc.rawLength) return `has ${data.length} bytes, expected ${loc.rawLength}`;
  if (checkId && blobIdOf(key.mac, data).toString('hex') !== loc.id) return 'content does not match its id';
  return data;
}
