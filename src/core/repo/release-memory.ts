/**
 * Large buffers (pack buffers handed between threads, per-blob compress and
 * cipher output) are external memory: V8 frees them only when the small JS
 * objects that own them are collected, and its own heuristics let ~64 MiB of
 * such garbage pile up per thread before they collect. glibc then keeps the
 * freed memory in per-thread arenas, so each worker thread held 45-60 MB.
 *
 * A young-generation collection (scavenge) of a worker's small heap takes
 * ~0.2 ms and frees every buffer that died young, which is nearly all of
 * them: so workers scavenge after every few MiB of garbage, and run a full
 * collection now and then for buffers that lived through a scavenge.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

type Collect = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;
let collect: Collect | undefined;

/**
 * V8's `gc`, taken from a new context with the flag on, which is then turned
 * off again: V8 accepts a code cache only when the process's flags hash as
 * when it was made, so while --expose-gc stayed on, every worker thread
 * started afterwards compiled Node's internal modules from source instead of
 * using the embedded cache (~12-15 ms of CPU more per worker thread). The
 * function taken keeps working.
 */
function collector(): Collect {
  if (!collect) {
    try {
      setFlagsFromString('--expose-gc');
      // The flag is process-wide: another thread turning it off between these two lines (its own
      // collector(), just done) leaves no gc in this context. Then nothing is collected this time and
      // the next call tries again: a forced collection is only an optimisation and must never fail
      // the caller (a backup worker's file, which failed with "gc is not defined" in a bench).
      const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as Collect | undefined;
      if (gc) collect = gc;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return collect ?? noCollect;
}

/** What collector() gives while V8's gc could not be had (see collector). */
const noCollect: Collect = () => undefined;

/**
 * Collections paced by the bytes of large buffers that became garbage: a
 * scavenge once `youngEvery` bytes piled up since the last collection, a full
 * collection once `fullEvery` did (for buffers promoted before they died).
 */
function pacedCollections(youngEvery: number, fullEvery: number): (bytes: number) => void {
  let sinceYoung = 0;
  let sinceFull = 0;
  return (bytes) => {
    sinceYoung += bytes;
    sinceFull += bytes;
    if (sinceFull >= fullEvery) {
      sinceFull = 0;
      sinceYoung = 0;
      collector()();
    } else if (sinceYoung >= youngEvery) {
      sinceYoung = 0;
      collector()({ type: 'minor' });
    }
  };
}

/**
 * Note that `bytes` of large buffers became garbage (a worker's copies of a
 * chunk); collects when enough has piled up: a scavenge per few average
 * chunks' worth (4 MiB), a full collection per 256 MiB.
 */
export const releasedLargeBuffer: (bytes: number) => void = pacedCollections(4 * 1024 * 1024, 256 * 1024 * 1024);

function oldSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

/** The restore worker's old-generation pacing (restoredBlob): 4 MiB of growth, looked at per 64 blobs (a look costs a heap-statistics call). */
const restoredBlobsOldGrowth = oldGrowthCollections(4 * 1024 * 1024, 64);

/**
 * A restore worker wrote a blob of `bytes` from its own span buffer: a scavenge per 2 MiB (restoredBlobBytes), and a full
 * collection whenever the old generation grew 4 MiB since the last one (looked at every 64
 * blobs). A job's message (the span's blobs and every file's target) lives through the whole job, so the
 * scavenges during it promote it, and V8 let that garbage pile up: each worker's old space grew 5 -> 14 MiB
 * over the 50k-file tree restore without a full collection (one per 256 MiB of blob bytes is none there:
 * its files average 9 KB). Paced by what actually piled up, not by blobs: a forced full collection cost a
 * worker ~15-20 ms of CPU here, and one per 4,096 blobs added ~0.3-0.5 s to that restore.
 */
export function restoredBlob(bytes: number): void {
  restoredBlobBytes(bytes);
  restoredBlobsOldGrowth(1);
}

/**
 * A restore worker's scavenges: one per 2 MiB of blobs written (releasedLargeBuffer: per 4 MiB). A blob is
 * decrypted in 64 KiB pieces (crypto.ts tryOpenInPlace), each a native buffer that is garbage once copied,
 * freed only when a scavenge collects its owner; what piles up between two scavenges is what the worker's
 * malloc arena holds. Per 2 MiB: /usr/share's restore 189-191 -> 186-188k KiB peak (6 alternating pairs,
 * user CPU 3.63 -> 3.67 s mean: ~40 more scavenges over two workers, ~185 -> ~228). Per 1 MiB took 3 MiB
 * more for ~130 more scavenges (~0.16 s).
 */
const restoredBlobBytes = pacedCollections(2 * 1024 * 1024, 256 * 1024 * 1024);

/**
 * A full collection whenever the old generation grew `growth` bytes since the last one (or since it was
 * lowest), looked at once per `every` counted items. Exported for tests: a pacer keeps its baseline for
 * the life of the process, so a test of the paced behaviour makes its own rather than inherit what an
 * earlier test's drill or backup left in the shared one.
 */
export function oldGrowthCollections(growth: number, every: number): (items: number) => void {
  let sinceCheck = 0;
  let baseline: number | undefined;
  return (items) => {
    sinceCheck += items;
    if (sinceCheck < every) return;
    sinceCheck = 0;
    const used = oldSpaceUsed();
    if (baseline === undefined || used < baseline) {
      baseline = used;
      return;
    }
    if (used - baseline < growth) return;
    collector()();
    baseline = oldSpaceUsed();
  };
}

/** The main thread's paced full collections (a drill's re-reads, a backup's stored files): per this much old-generation growth… */
export const MAIN_THREAD_OLD_GROWTH = 8 * 1024 * 1024;
/** …looked at once per this many counted items. */
export const MAIN_THREAD_LOOK_EVERY = 256;

/**
 * The main thread of a drill had `files` re-read (restore-validation.ts): each file's re-read job (its
 * path, size and blob ids) lives until its batch is answered, the scavenges meanwhile promote it, and
 * V8 let that garbage grow the old generation 47 -> 72 MiB over the 50k-file tree drill's write phase
 * (live: ~63), the drill's peak. A full collection whenever it grew 8 MiB, looked at per 256 files.
 */
export const mainThreadValidatedFiles: (files: number) => void = oldGrowthCollections(MAIN_THREAD_OLD_GROWTH, MAIN_THREAD_LOOK_EVERY);

/** Plans of fewer files than this leave too little garbage to be worth a forced collection (restorePrepared). */
export const RESTORE_PREPARED_COLLECTION_FILES = 1000;

/**
 * A restore's main thread has planned, previewed and prepared `files` files (restore-writer.ts): the
 * walk of the trees (each folder's listing parsed whole: /usr/share/man/man1's alone is ~17,900 nodes
 * in one JSON string), the preview and the preparation leave their garbage in the old generation, and
 * V8 ran no full collection on the main thread after start-up in a whole restore of /usr/share
 * (--trace-gc), so that garbage (~25 MiB of an ~80 MiB heap; a heap snapshot at the write phase held
 * ~54 live) stayed through the write phase, the peak. One full collection here, before the first pack
 * is read; none for a small plan.
 */
export function restorePrepared(files: number): void {
  if (!isMainThread || files < RESTORE_PREPARED_COLLECTION_FILES) return;
  collector()();
}

/**
 * Like releasedLargeBuffer, for garbage that the running job still
 * references (a verified pack's buffer): collect once the job has returned.
 * A scavenge while the buffer is live would move it towards the old
 * generation, where only a full collection frees it.
 */
export function releaseAfterJob(bytes: number): void {
  setImmediate(() => releasedLargeBuffer(bytes));
}

/**
 * The main thread of a backup, after saving a pack of `bytes`: its heap fills
 * with the walk's short-lived stats, nodes and promises, and V8 let it grow to
 * ~85 MiB (~30 MiB live) by the end of the bench's first backup. A scavenge
 * per saved pack (any bytes) and a full collection every 128 MiB of packs kept
 * peak RSS ~20 MiB lower for ~0.1-0.2 s more CPU on 920 MB (issue 22;
 * docs/performance.md).
 */
export const mainThreadSavedPack: (bytes: number) => void = pacedCollections(1, 128 * 1024 * 1024);

/**
 * The main thread of a backup handled `items` files or listing nodes (a worker's answer for a stored
 * file; a folder's listing about to be encoded). A stored file's job, promise and answer live as long as
 * it waits in the workers' queue (up to 1,024 files, longer than two scavenges), its node until its
 * folder's listing is saved, so the scavenges promote them and they die in the old generation, which V8
 * then let grow with one mark-compact of its own: to ~50 MiB (~25 live) by the end of a first backup of
 * /usr/share (47k files), the run's peak. A full collection whenever it grew 8 MiB since the last one,
 * looked at per 256 items; a listing counts its nodes, so a big folder's (/usr/share/man/man1: 17,878)
 * is looked at before its JSON, the run's largest transient, is made. Peak RSS of that backup ~205 ->
 * ~186 MB, of the bench's 50k-file tree ~178 -> ~158, for ~4 more mark-compacts of ~15-40 ms each
 * (docs/performance.md, eighth stop).
 */
export const mainThreadBackupItems: (items: number) => void = oldGrowthCollections(MAIN_THREAD_OLD_GROWTH, MAIN_THREAD_LOOK_EVERY);

/**
 * The main thread read `bytes` of a staged pack to upload it (file-body.ts):
 * each 256 KiB chunk is a new buffer outside V8's heap, garbage once the
 * socket took it, and V8 frees it only when it collects the small object
 * that owns it — which, with the main thread allocating little else while
 * uploads run, it did only after ~64 MiB more of such memory (V8's external
 * memory limit). In an S3 backup those chunks were ~40 MiB of the main
 * thread's malloc heap at the peak (strace: 2,224 chunk allocations of
 * 256 KiB, nothing else large). A scavenge per 8 MiB frees those that died
 * young; a full collection per 256 MiB those a scavenge promoted. Every 4 and
 * 64 MiB took ~6 MB more off the peak for ~1 s more CPU on the bench's S3
 * backup (these: ~0.1 s); docs/performance.md. (A restore from S3 is paced
 * per 2 MiB received instead: mainThreadReceivedBytes.)
 */
export const mainThreadSentBytes: (bytes: number) => void = pacedCollections(8 * 1024 * 1024, 256 * 1024 * 1024);

/**
 * The main thread received `bytes` of a span a restore downloads (pack-span-reads.ts): the answer came
 * as ~16 KiB TLS records, each a buffer of its own plus the HTTP parser's copy of its body, garbage once
 * copied into the span, and V8 let ~60 MiB of them pile up in the main thread's malloc heap between its
 * own collections (smaps of the mixed restore from S3). A scavenge per 2 MiB frees those that died
 * young. No forced full collection: one per 128 MiB cost ~0.9 CPU s more in two runs for no lower peak
 * (docs/performance.md, seventh stop).
 */
export const mainThreadReceivedBytes: (bytes: number) => void = pacedCollections(2 * 1024 * 1024, Number.POSITIVE_INFINITY);

/** The main thread's young generation (both semi-spaces) stops growing at this size; see capYoungGeneration. */
export const MAIN_YOUNG_GENERATION_CAP = 8 * 1024 * 1024;

let youngCap: { observer: PerformanceObserver; cap: number; reached: boolean } | undefined;

function newSpaceSize(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Grow the young generation by V8's default factor until it first reaches the cap, never after. Sticky
 * because V8 itself shrinks the space at a full GC when allocation is slow (a starved process, as in a
 * loaded CI run): a factor of 2 set then for the space under the cap, and two scavenges before this
 * observer runs again, grew it 8 -> 4 -> 8 -> 16 MiB. A space V8 shrank stays as small.
 */
function applyYoungCap(): void {
  if (!youngCap) return;
  if (newSpaceSize() >= youngCap.cap) youngCap.reached = true;
  setFlagsFromString(youngCap.reached ? '--semi-space-growth-factor=1' : '--semi-space-growth-factor=2');
}

/**
 * Keep the main thread's young generation at `cap` bytes (issue 22: peak
 * memory). V8 doubles it (up to 2 x 16 MiB) whenever enough survived its
 * scavenges; during a backup, restore or check the main thread's pages of it
 * are mostly garbage between scavenges but all resident: 32 MiB of the peak.
 * Node takes `--max-semi-space-size` only on its command line, but V8 reads
 * its growth factor at every resize, so once the space reaches the cap the
 * factor is set to 1 (no growth). The factor is process-wide and a new
 * isolate (a worker thread starting) puts it back to at least 2, so it is set
 * again after every main-thread collection (a GC observer) and when a worker
 * is online (reapplyYoungGenerationCap). Installed once, by the CLI's entry
 * before anything else runs (src/cli/cap-young-generation.ts), so start-up and
 * the index never grow it first. Idempotent; a no-op in a worker.
 *
 * Costs: more frequent scavenges of a smaller space. Measured on the mixed
 * dataset's restore: user CPU within noise (docs/performance.md, "Memory,
 * fifth stop"). V8 never shrinks the space for this, so a space already past
 * the cap stays as it is and only stops growing.
 */
export function capYoungGeneration(cap = MAIN_YOUNG_GENERATION_CAP): void {
  if (!isMainThread || youngCap) return;
  const observer = new PerformanceObserver(applyYoungCap);
  youngCap = { observer, cap, reached: false };
  observer.observe({ entryTypes: ['gc'] });
  applyYoungCap();
}

/** A worker isolate just started (which resets V8's growth factor): freeze the main thread's young generation again. */
export function reapplyYoungGenerationCap(): void {
  applyYoungCap();
}

/**
 * A worker isolate is about to be created. V8 puts the process-wide growth factor back to 2 while it
 * configures the new heap, on the worker's thread, a few ms after `new Worker` returns and well before
 * the worker is online; a main-thread scavenge in between that finds enough survived since the space
 * last grew doubles the capped space (8 -> 16 MiB: 6 of 10 restores of the mixed dataset, ~5 MB of
 * peak RSS). A scavenge now, with the factor at 1, meets that test first and zeroes V8's count of bytes
 * survived since the last growth, so the window opens with the count at nothing (0 of 16 restores).
 */
export function beforeWorkerIsolate(): void {
  if (!youngCap) return;
  applyYoungCap();
  if (youngCap.reached) collector()({ type: 'minor' });
}

/** Stop capping (tests): V8's default growth from here on. */
export function uncapYoungGeneration(): void {
  if (!youngCap) return;
  youngCap.observer.disconnect();
  youngCap = undefined;
  setFlagsFromString('--semi-space-growth-factor=2');
}

/** The main thread's young generation in bytes (both semi-spaces), for tests and diagnostics. */
export function youngGenerationSize(): number {
  return newSpaceSize();
}

/**
 * A backup's data is saved and its workers are gone: the pack buffers that
 * came back to the main thread are garbage. A full collection frees them
 * before the trees, index and snapshot are written, instead of V8 keeping
 * ~50 MiB of them to the end of the run.
 */
export function mainThreadDataFlushed(): void {
  collector()();
}
