/**
 * The forced collections of release-memory.ts (issue 22): they run, and the
 * process's V8 flags are left as they were (no --expose-gc), since a changed
 * flag set makes every worker thread started later compile Node's internal
 * modules from source instead of using the embedded code cache.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { mainThreadDataFlushed } from '../../../src/core/repo/release-memory.js';
import { forcedCollectionsDuring } from '../../helpers/forced-collections.js';

describe('forced collections', () => {
  it('collect, and leave --expose-gc off', async () => {
    const forced = await forcedCollectionsDuring(() => {
      mainThreadDataFlushed();
      mainThreadDataFlushed();
    });
    expect(forced).toBe(2);
    // A context made now gets no `gc`: the flag is off again.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
