/**
 * sealInto encrypts in 64 KiB pieces (crypto.ts: to keep each worker's malloc
 * arena small): what it writes must open to the same plaintext, with the same
 * associated data, for lengths on and around the piece boundaries, and a
 * changed byte or different associated data must still fail authentication.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEAL_OVERHEAD } from '../../../src/core/repo/format.js';
import { sealInto, tryOpen } from '../../../src/core/repo/crypto.js';

const key = randomBytes(32);
const ad = Buffer.from('lifeboat/blob/test');
const PIECE = 64 * 1024;

describe('sealInto in pieces', () => {
  it.each([0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17, 2 * 1024 * 1024 + 5])('opens to the same %i bytes', (n) => {
    const plain = randomBytes(n);
    const out = Buffer.alloc(7 + n + SEAL_OVERHEAD + 3);
    const written = sealInto(key, plain, out, 7, ad);
    expect(written).toBe(n + SEAL_OVERHEAD);
    const sealed = out.subarray(7, 7 + written);
    expect(tryOpen(key, sealed, ad)?.equals(plain)).toBe(true);
    expect(tryOpen(key, sealed, Buffer.from('lifeboat/blob/other'))).toBeUndefined();
    const damaged = Buffer.from(sealed);
    damaged[Math.floor(damaged.length / 2)]! ^= 1;
    expect(tryOpen(key, damaged, ad)).toBeUndefined();
  });
});
