/**
 * tryOpenInPlace / openBlob(inPlace) decrypt a blob over its own sealed bytes
 * in 64 KiB pieces (crypto.ts; restore workers, issue 22: whole-blob outputs
 * grew each worker's malloc arena): the same plaintext as tryOpen for lengths
 * on and around the piece boundaries, as a view of the caller's buffer; a
 * changed byte, other associated data or a wrong id still fail; the blobs
 * beside one opened in place in a pack are untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEAL_OVERHEAD } from '../../../src/core/repo/format.js';
import { generateMasterKey, sealInto, tryOpen, tryOpenInPlace } from '../../../src/core/repo/crypto.js';
import { PackBuilder, openBlob, parsePackHeader } from '../../../src/core/repo/pack.js';
import { blobIdOf } from '../../../src/core/repo/crypto.js';

const key = randomBytes(32);
const ad = Buffer.from('lifeboat/blob/test');
const PIECE = 64 * 1024;

describe('tryOpenInPlace', () => {
  it.each([0, 1, PIECE - 13, PIECE - 12, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17, 2 * 1024 * 1024 + 5])('opens %i bytes over the sealed ones', (n) => {
    const plain = randomBytes(n);
    const out = Buffer.alloc(7 + n + SEAL_OVERHEAD + 3);
    const written = sealInto(key, plain, out, 7, ad);
    const sealed = out.subarray(7, 7 + written);
    const copy = Buffer.from(sealed);
    const opened = tryOpenInPlace(key, sealed, ad);
    expect(opened?.equals(plain)).toBe(true);
    // A view of the caller's buffer, from the sealed bytes' first byte; the bytes around are untouched.
    expect(opened!.buffer === out.buffer).toBe(true);
    expect(opened!.byteOffset).toBe(out.byteOffset + 7);
    expect(out.subarray(0, 7).equals(Buffer.alloc(7))).toBe(true);
    expect(out.subarray(7 + written).equals(Buffer.alloc(3))).toBe(true);
    // The same as tryOpen of the untouched copy.
    expect(tryOpen(key, copy, ad)?.equals(plain)).toBe(true);

    const other = Buffer.from(copy);
    expect(tryOpenInPlace(key, other, Buffer.from('lifeboat/blob/other'))).toBeUndefined();
    const damaged = Buffer.from(copy);
    damaged[Math.floor(damaged.length / 2)]! ^= 1;
    expect(tryOpenInPlace(key, damaged, ad)).toBeUndefined();
    expect(tryOpenInPlace(randomBytes(32), Buffer.from(copy), ad)).toBeUndefined();
  });

  it('refuses what is too short to be sealed', () => {
    expect(tryOpenInPlace(key, Buffer.alloc(27), ad)).toBeUndefined();
  });
});

describe('openBlob in place', () => {
  const masterKey = { ...generateMasterKey(), bindKinds: true };
  const blobsOf = (keys: typeof masterKey) => {
    const bytes = [randomBytes(200 * 1024), Buffer.alloc(300 * 1024, 'compressible '), randomBytes(5), Buffer.alloc(70 * 1024, 'more text ')];
    return bytes.map((b) => ({ id: blobIdOf(keys.mac, b).toString('hex'), bytes: b }));
  };

  it('gives each blob of a pack back, compressed or not, one after another in the same buffer', () => {
    const blobs = blobsOf(masterKey);
    const builder = new PackBuilder(masterKey, 3, 4 * 1024 * 1024);
    for (const b of blobs) builder.add('data', b.id, b.bytes);
    const pack = builder.finish()!;
    expect(createHash('sha256').update(pack.bytes).digest('hex')).toBe(pack.id);
    const header = parsePackHeader(masterKey, pack.id, pack.bytes, pack.bytes.length);
    expect(header.some((h) => h.compressed) && header.some((h) => !h.compressed)).toBe(true);
    // As a restore worker does: every blob of the span opened in place, in any order.
    const span = Buffer.from(pack.bytes);
    for (const i of [1, 0, 3, 2]) {
      const loc = header[i]!;
      const plain = openBlob(masterKey, loc, span.subarray(loc.offset, loc.offset + loc.length), undefined, true, true);
      expect(Buffer.isBuffer(plain) && plain.equals(blobs[i]!.bytes)).toBe(true);
      // Not compressed: the plaintext is where the sealed bytes were.
      if (!loc.compressed) expect((plain as Buffer).buffer === span.buffer).toBe(true);
    }
  });

  it('still fails a flipped byte, and (format 1) a blob that is not its id', () => {
    const blobs = blobsOf(masterKey);
    const builder = new PackBuilder(masterKey, 3, 4 * 1024 * 1024);
    for (const b of blobs) builder.add('data', b.id, b.bytes);
    const pack = builder.finish()!;
    const header = parsePackHeader(masterKey, pack.id, pack.bytes, pack.bytes.length);
    const loc = header[1]!;
    const damaged = Buffer.from(pack.bytes);
    damaged[loc.offset + 30]! ^= 0x01;
    expect(openBlob(masterKey, loc, damaged.subarray(loc.offset, loc.offset + loc.length), undefined, true, true)).toMatch(/failed authentication/);

    const v1 = { ...masterKey, bindKinds: false };
    const v1Blobs = blobsOf(v1);
    const v1Builder = new PackBuilder(v1, 3, 4 * 1024 * 1024);
    for (const b of v1Blobs) v1Builder.add('data', b.id, b.bytes);
    const v1Pack = v1Builder.finish()!;
    const v1Loc = parsePackHeader(v1, v1Pack.id, v1Pack.bytes, v1Pack.bytes.length)[0]!;
    const bytes = Buffer.from(v1Pack.bytes);
    expect(openBlob(v1, { ...v1Loc, id: v1Blobs[1]!.id }, bytes.subarray(v1Loc.offset, v1Loc.offset + v1Loc.length), undefined, true, true)).toMatch(/does not match its id/);
  });
});
