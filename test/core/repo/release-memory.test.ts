/**
 * The forced collections of release-memory.ts (issue 22): they run, and the
 * process's V8 flags are left as they were (no --expose-gc), since a changed
 * flag set makes every worker thread started later compile Node's internal
 * modules from source instead of using the embedded code cache.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { mainThreadDataFlushed } from '../../../src/core/repo/release-memory.js';

describe('forced collections', () => {
  it('collect, and leave --expose-gc off', async () => {
    const seen: PerformanceEntry[] = [];
    const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
    observer.observe({ entryTypes: ['gc'] });
    mainThreadDataFlushed();
    mainThreadDataFlushed();
    // GC entries are delivered asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    // Forced ones only: V8's own collections may run meanwhile.
    const flags = (e: PerformanceEntry) => (e as PerformanceEntry & { detail?: { flags?: number } }).detail?.flags ?? 0;
    const forced = seen.filter((e) => (flags(e) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0);
    expect(forced).toHaveLength(2);
    // A context made now gets no `gc`: the flag is off again.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
