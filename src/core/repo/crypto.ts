/**
 * The repository's cryptography, all from node:crypto:
 * - seal/open: AES-256-GCM, a fresh random 96-bit nonce per message, stored as
 *   nonce ‖ ciphertext ‖ tag. Random nonces are safe for far more than the 2^32
 *   messages a repository key will ever seal.
 * - blob ids: HMAC-SHA-256 under a repository key, so the ids of known content
 *   cannot be confirmed from outside.
 * - key wrapping: scrypt from the password.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomFillSync, scrypt, type DecipherGCM } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { rememberedDerivation } from './derived-key-memo.js';
import { startDerivation, takeDerivation } from './kdf-prefetch.js';

export interface MasterKey {
  /** AES-256-GCM key for everything encrypted in the repository. */
  encryption: Buffer;
  /** HMAC-SHA-256 key for blob ids. */
  mac: Buffer;
  /** Seed of the chunker's gear table, so chunk boundaries leak nothing about content. */
  chunkerSeed: Buffer;
}

export function generateMasterKey(): MasterKey {
  return { encryption: randomBytes(32), mac: randomBytes(32), chunkerSeed: randomBytes(32) };
}

/** Nonces come from a refilled pool: one getrandom call per 1,024 blobs instead of one each. */
const noncePool = Buffer.allocUnsafeSlow(12 * 1024);
let noncePos = noncePool.length;
function nextNonce(): Buffer {
  if (noncePos >= noncePool.length) {
    randomFillSync(noncePool);
    noncePos = 0;
  }
  const nonce = Buffer.from(noncePool.subarray(noncePos, noncePos + 12));
  noncePos += 12;
  return nonce;
}

/**
 * Encrypt to [nonce, ciphertext, tag] without concatenating (callers may writev
 * or copy once). `ad`: associated data the tag covers but the output does not
 * hold (format 2 binds every sealed object to its kind this way, see binding.ts).
 */
export function sealParts(key: Buffer, plaintext: Uint8Array, ad?: Uint8Array): Buffer[] {
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  if (ad) cipher.setAAD(ad);
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  const parts = rest.length > 0 ? [nonce, body, rest, cipher.getAuthTag()] : [nonce, body, cipher.getAuthTag()];
  return parts;
}

/**
 * Encrypt `plaintext` into `out` at `at` as nonce ‖ ciphertext ‖ tag and
 * return the bytes written. `plaintext` may be the very bytes the ciphertext
 * goes to (out[at + 12, …)): node:crypto hands back the ciphertext as a new
 * buffer, which is copied in only once complete.
 */
export function sealInto(key: Buffer, plaintext: Uint8Array, out: Buffer, at: number, ad?: Uint8Array): number {
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  if (ad) cipher.setAAD(ad);
  let end = at + nonce.copy(out, at);
  // In pieces: each update's output is a new native buffer (Node cannot encrypt into `out`), and
  // pieces under glibc's mmap threshold are reused from the thread's arena between scavenges,
  // where whole-chunk outputs (up to 8 MiB) had grown each worker's arena by ~8-14 MiB (issue 22).
  // GCM is a stream cipher mode: the bytes are the same as one update's.
  for (let from = 0; from < plaintext.length; from += SEAL_PIECE) {
    end += cipher.update(plaintext.subarray(from, Math.min(from + SEAL_PIECE, plaintext.length))).copy(out, end);
  }
  end += cipher.final().copy(out, end);
  end += cipher.getAuthTag().copy(out, end);
  return end - at;
}

/** Bytes per cipher update in sealInto and tryOpenInPlace (below glibc's initial 128 KiB mmap threshold). */
const SEAL_PIECE = 64 * 1024;

export function seal(key: Buffer, plaintext: Uint8Array, ad?: Uint8Array): Buffer {
  return Buffer.concat(sealParts(key, plaintext, ad));
}

/** The decipher of a sealed blob (nonce first, tag last) with its associated data; the tag is checked at `final`. */
function decipherOf(key: Buffer, buf: Buffer, ad: Uint8Array | undefined): DecipherGCM {
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
  decipher.setAuthTag(buf.subarray(buf.length - 16));
  if (ad) decipher.setAAD(ad);
  return decipher;
}

/**
 * Decrypt and authenticate; returns undefined when the data was altered, the
 * key is wrong or `ad` is not what it was sealed with.
 */
export function tryOpen(key: Buffer, sealed: Uint8Array, ad?: Uint8Array): Buffer | undefined {
  if (sealed.length < 28) return undefined;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = decipherOf(key, buf, ad);
  try {
    const body = decipher.update(buf.subarray(12, buf.length - 16));
    const rest = decipher.final();
    return rest.length > 0 ? Buffer.concat([body, rest]) : body;
  } catch {
    return undefined;
  }
}

/**
 * tryOpen, with the plaintext written over `sealed` itself, from its first byte: the answer is a view
 * of `sealed`, whose sealed bytes are gone. For a caller that owns the buffer and does not read those
 * bytes again (a restore worker's span buffer). Decrypted in pieces, as sealInto encrypts: each update's
 * output is a new native buffer, and whole-blob outputs (up to 8 MiB) past glibc's risen mmap threshold
 * grew each restore worker's arena ~10 MiB (issue 22). A piece is copied only over bytes the decipher
 * has consumed (plaintext byte k was sealed byte 12 + k), and the tag and nonce were taken before. On
 * failure (altered data, wrong key or `ad`) undefined, and `sealed` holds unauthenticated bytes: it
 * must not be used.
 */
export function tryOpenInPlace(key: Buffer, sealed: Uint8Array, ad?: Uint8Array): Buffer | undefined {
  if (sealed.length < 28) return undefined;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = decipherOf(key, buf, ad);
  const end = buf.length - 16;
  let length = 0;
  try {
    for (let from = 12; from < end; from += SEAL_PIECE) {
      length += decipher.update(buf.subarray(from, Math.min(from + SEAL_PIECE, end))).copy(buf, length);
    }
    length += decipher.final().copy(buf, length);
  } catch {
    return undefined;
  }
  return buf.subarray(0, length);
}

/** Decrypt and authenticate, or throw REPO_CORRUPT naming `what`. */
export function open(key: Buffer, sealed: Uint8Array, what: string, ad?: Uint8Array): Buffer {
  const plain = tryOpen(key, sealed, ad);
  if (!plain) throw new LifeboatError('REPO_CORRUPT', `${what} failed authentication: the data was altered or damaged`);
  return plain;
}

export function blobIdOf(macKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', macKey).update(plaintext).digest();
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** About 0.3 s and 64 MiB on this class of machine; tests pass a much lower cost. */
export const defaultScryptParams: ScryptParams = { N: 2 ** 16, r: 8, p: 1 };

/**
 * The key scrypt derives from the password: one started ahead by start-up for
 * exactly these inputs when there is one (kdf-prefetch.ts), else a new derivation.
 */
export function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // A long-lived process (the agent) may keep what it derived: derived-key-memo.ts.
  return rememberedDerivation(password, salt, params, () => {
    const ahead = takeDerivation(password, salt, params);
    return ahead ? ahead.catch(() => scryptKey(password, salt, params)) : scryptKey(password, salt, params);
  });
}

/** Begins deriving this key on the thread pool so a later deriveKey with the same inputs finds it under way; false when not started. */
export function prefetchDerivedKey(password: string, salt: Buffer, params: ScryptParams): boolean {
  return startDerivation(password, salt, params, () => scryptKey(password, salt, params));
}

function scryptKey(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N: params.N, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}
