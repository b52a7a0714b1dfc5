/**
 * Format 2 binds every sealed object to what it is. The AEAD tag covers an
 * associated-data string naming the object's kind (and, for a blob, its id),
 * so bytes sealed as one thing never open as another: a blob cut out of a
 * pack (content an attacker may have chosen, e.g. a file in the backed-up
 * folder) does not open as a snapshot, an index or a pack header, and a blob
 * moved under another id does not open at all.
 *
 * Format 1 sealed everything without associated data. A format-1 repository
 * keeps being read and written that way until `lifeboat migrate` upgrades it;
 * see docs/repository-format.md for the exact strings and the migration.
 */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { compressIfSmaller, decompressBounded } from './compress.js';
import { open, seal, tryOpen, type MasterKey } from './crypto.js';

/** The kinds of sealed object other than blobs. */
export type SealedKind = 'key' | 'index' | 'snapshot' | 'pack-header';

/** A repository's keys plus the one format fact every seal and open depends on. */
export interface RepoKeys extends MasterKey {
  /** Format 2 and later: sealed objects carry their kind (blobs: their id) as associated data. */
  bindKinds: boolean;
}

const kindAds: Record<SealedKind, Buffer> = {
  key: Buffer.from('lifeboat/key', 'ascii'),
  index: Buffer.from('lifeboat/index', 'ascii'),
  snapshot: Buffer.from('lifeboat/snapshot', 'ascii'),
  'pack-header': Buffer.from('lifeboat/pack-header', 'ascii'),
};
const blobPrefix = Buffer.from('lifeboat/blob/', 'ascii');

/** The associated data of a kind (always the format-2 string; callers decide whether to use it). */
export function kindAd(kind: SealedKind): Buffer {
  return kindAds[kind];
}

/** `lifeboat/blob/` followed by the blob id's 32 raw bytes. */
export function blobAd(id: string): Buffer {
  const ad = Buffer.allocUnsafe(blobPrefix.length + 32);
  blobPrefix.copy(ad, 0);
  ad.write(id, blobPrefix.length, 32, 'hex');
  return ad;
}

/**
 * The associated data to seal or open a blob with: none in a format-1
 * repository, and none for a pack written before a format-1 repository was
 * migrated (`legacy`: its index entry says so, under authentication).
 */
export function blobAdFor(keys: RepoKeys, id: string, legacy?: boolean): Buffer | undefined {
  return keys.bindKinds && !legacy ? blobAd(id) : undefined;
}

export function headerAdFor(keys: RepoKeys, legacy?: boolean): Buffer | undefined {
  return keys.bindKinds && !legacy ? kindAds['pack-header'] : undefined;
}

/** Seal an object of `kind` the way this repository's format wants it. */
export function sealObject(keys: RepoKeys, kind: Exclude<SealedKind, 'key'>, plaintext: Uint8Array): Buffer {
  return seal(keys.encryption, plaintext, keys.bindKinds ? kindAds[kind] : undefined);
}

/**
 * Open an object of `kind`. Format 2 accepts only objects bound to that kind.
 * A format-1 repository accepts both: unbound objects, and bound ones a
 * `migrate` interrupted before its last step (it re-seals index files and
 * snapshots first and switches the config last). `bound` says which it was.
 */
export function openObject(keys: RepoKeys, kind: Exclude<SealedKind, 'key'>, sealed: Uint8Array, what: string): { plain: Buffer; bound: boolean } {
  if (keys.bindKinds) return { plain: open(keys.encryption, sealed, what, kindAds[kind]), bound: true };
  const unbound = tryOpen(keys.encryption, sealed);
  if (unbound) return { plain: unbound, bound: false };
  const bound = tryOpen(keys.encryption, sealed, kindAds[kind]);
  if (bound) return { plain: bound, bound: true };
  throw new LifeboatError('REPO_CORRUPT', `${what} failed authentication: the data was altered or damaged`);
}

/**
 * Index files and snapshots: `seal(flag ‖ body)`, flag 1 = body is a zstd
 * frame of the JSON, 0 = the JSON itself.
 */
export function sealJson(keys: RepoKeys, kind: 'index' | 'snapshot', value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const compressed = compressIfSmaller(json, 3);
  return sealObject(keys, kind, Buffer.concat([Buffer.from([compressed ? 1 : 0]), compressed ?? json]));
}

/**
 * The JSON text of an index file or snapshot may expand at most this much: far
 * above any real file (an index of a million blobs is ~100 MB), far below what
 * would take a process down.
 */
export const maxJsonBytes = 1024 * 1024 * 1024;

export function openJson(keys: RepoKeys, kind: 'index' | 'snapshot', sealed: Uint8Array, what: string): { value: unknown; bound: boolean } {
  const { plain, bound } = openObject(keys, kind, sealed, what);
  let body: Buffer;
  if (plain[0] === 1) {
    const out = decompressBounded(plain.subarray(1), maxJsonBytes);
    if (typeof out === 'string') throw new LifeboatError('REPO_CORRUPT', `${what} ${out}`);
    body = out;
  } else if (plain[0] === 0) {
    body = plain.subarray(1);
  } else {
    throw new LifeboatError('REPO_CORRUPT', `${what} has an unknown encoding flag ${plain[0] ?? '(empty)'}`);
  }
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown, bound };
  } catch {
    throw new LifeboatError('REPO_CORRUPT', `${what} is not valid JSON`);
  }
}

/** Snapshot, index and key files are named by the SHA-256 of their stored bytes. */
export function nameOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The check every load of a named file makes: its bytes must hash to its
 * name. A mismatch is a file renamed, copied over another, or damaged.
 */
export function assertNamedByContent(kind: 'index' | 'snapshot' | 'key', name: string, bytes: Uint8Array): void {
  const actual = nameOf(bytes);
  if (actual !== name) {
    const folder = kind === 'key' ? 'keys' : kind === 'index' ? 'index' : 'snapshots';
    throw new LifeboatError(
      'REPO_CORRUPT',
      `${folder}/${name.slice(0, 12)}: the file's content does not match its name (SHA-256 ${actual.slice(0, 12)}…): it was renamed, copied over another file, or damaged`,
      { details: { kind, name, actual } },
    );
  }
}
