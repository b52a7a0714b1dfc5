/**
 * A forced collection never fails its caller (issue 22): --expose-gc is
 * process-wide and every thread turns it off again after taking V8's `gc`
 * (release-memory.ts), so one thread's "off" can land between another's "on"
 * and its taking; a backup worker then failed a file with "gc is not defined"
 * (an edit backup in the bench, exit 3). Here the first "on" is lost, as in
 * that race: nothing is collected that time, and the next call collects.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';

let dropNextExposeGc = true;
vi.mock('node:v8', async (importOriginal) => {
  const v8 = await importOriginal<typeof import('node:v8')>();
  return {
    ...v8,
    setFlagsFromString: (flags: string) => {
      if (flags === '--expose-gc' && dropNextExposeGc) {
        dropNextExposeGc = false; // another thread's "off" won the race
        return;
      }
      v8.setFlagsFromString(flags);
    },
  };
});

const { mainThreadDataFlushed } = await import('../../../src/core/repo/release-memory.js');

async function collectionsDuring(fn: () => void): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  fn();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return seen.length;
}

describe('a forced collection whose gc was lost to a race', () => {
  it('does not throw, and the next one collects', async () => {
    expect(await collectionsDuring(() => expect(() => mainThreadDataFlushed()).not.toThrow())).toBe(0);
    expect(dropNextExposeGc).toBe(false);
    expect(await collectionsDuring(() => mainThreadDataFlushed())).toBeGreaterThanOrEqual(1);
  });
});
