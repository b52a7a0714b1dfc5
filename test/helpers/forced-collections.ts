/**
 * Counts the collections forced (release-memory.ts's `gc()` calls) while `fn`
 * runs: perf_hooks' gc entries flagged NODE_PERFORMANCE_GC_FLAGS_FORCED, so
 * V8's own collections meanwhile (a loaded machine, a busy test process) are
 * not counted either way. `major`: full collections only.
 *
 * Only collections that began once counting began: with another gc observer
 * standing in this process (test files share it, vitest.config.ts isolate
 * false; capYoungGeneration installs one), Node reports a collection forced
 * just before the count — the one a test takes to have `gc` ready — after
 * the new observer is listening, and it counted once more in CI.
 */
import { PerformanceObserver, constants, performance, type PerformanceEntry } from 'node:perf_hooks';

export async function forcedCollectionsDuring(fn: () => unknown, options: { major?: boolean } = {}): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const from = performance.now();
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  await fn();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const detail = (e: PerformanceEntry) => (e as PerformanceEntry & { detail?: { flags?: number; kind?: number } }).detail ?? {};
  return seen.filter(
    (e) =>
      e.startTime >= from &&
      ((detail(e).flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0 &&
      (!options.major || detail(e).kind === constants.NODE_PERFORMANCE_GC_MAJOR),
  ).length;
}
