/**
 * Counts the collections forced (release-memory.ts's `gc()` calls) while `fn`
 * runs: perf_hooks' gc entries flagged NODE_PERFORMANCE_GC_FLAGS_FORCED, so
 * V8's own collections meanwhile (a loaded machine, a busy test process) are
 * not counted either way.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

export async function forcedCollectionsDuring(fn: () => void): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  fn();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const flags = (e: PerformanceEntry) => (e as PerformanceEntry & { detail?: { flags?: number } }).detail?.flags ?? 0;
  return seen.filter((e) => (flags(e) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0).length;
}
