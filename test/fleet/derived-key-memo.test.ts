/**
 * An agent keeps the keys it derived (derived-key-memo.ts): the same password,
 * salt and scrypt parameters give the kept key without a new derivation; any
 * other input derives afresh, a failure is not kept, and with the memo off
 * (every one-shot command) nothing is kept at all. Through crypto.ts's
 * deriveKey, the one path every key file is opened by.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { derivedKeyCounts, forgetDerivedKeys, rememberDerivedKeys } from '../../src/core/index.js';
import { deriveKey } from '../../src/core/repo/crypto.js';
import { rememberedDerivation } from '../../src/core/repo/derived-key-memo.js';

const params = { N: 1024, r: 8, p: 1 };

afterEach(() => forgetDerivedKeys());

describe('derived keys kept for a process lifetime', () => {
  it('off by default: every deriveKey derives', async () => {
    const salt = randomBytes(16);
    const before = derivedKeyCounts();
    const [a, b] = [await deriveKey('pw', salt, params), await deriveKey('pw', salt, params)];
    expect(a.equals(b)).toBe(true);
    expect(derivedKeyCounts().derived - before.derived).toBe(2);
    expect(derivedKeyCounts().remembered).toBe(before.remembered);
  });

  it('on: the same inputs give the kept key; another password, salt or cost derives afresh', async () => {
    rememberDerivedKeys();
    const salt = randomBytes(16);
    const before = derivedKeyCounts();
    const first = await deriveKey('pw', salt, params);
    const again = await deriveKey('pw', salt, params);
    expect(again.equals(first)).toBe(true);
    expect(derivedKeyCounts().remembered - before.remembered).toBe(1);
    const other = await deriveKey('other', salt, params);
    const salted = await deriveKey('pw', randomBytes(16), params);
    const costlier = await deriveKey('pw', salt, { ...params, N: 2048 });
    for (const k of [other, salted, costlier]) expect(k.equals(first)).toBe(false);
    expect(derivedKeyCounts().derived - before.derived).toBe(4);
  });

  it('a failed derivation is not kept: the next try derives again', async () => {
    rememberDerivedKeys();
    const salt = randomBytes(16);
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('scrypt failed'));
    };
    await expect(rememberedDerivation('pw', salt, params, failing)).rejects.toThrow('scrypt failed');
    await expect(rememberedDerivation('pw', salt, params, failing)).rejects.toThrow('scrypt failed');
    expect(calls).toBe(2);
  });
});
