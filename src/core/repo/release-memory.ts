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
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;
let collect: Collect | undefined;

function collector(): Collect {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as Collect;
  }
  return collect;
}

/** Garbage between scavenges: a few average chunks' worth of copies. */
const YOUNG_EVERY = 4 * 1024 * 1024;
/** Garbage between full collections, for buffers promoted before they died. */
const FULL_EVERY = 256 * 1024 * 1024;

let sinceYoung = 0;
let sinceFull = 0;

/** Note that `bytes` of large buffers became garbage; collects when enough has piled up. */
export function releasedLargeBuffer(bytes: number): void {
  sinceYoung += bytes;
  sinceFull += bytes;
  if (sinceFull >= FULL_EVERY) {
    sinceFull = 0;
    sinceYoung = 0;
    collector()();
  } else if (sinceYoung >= YOUNG_EVERY) {
    sinceYoung = 0;
    collector()({ type: 'minor' });
  }
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

/** Packs saved between the main thread's full collections during a backup. */
const MAIN_FULL_EVERY = 128 * 1024 * 1024;
let mainSinceFull = 0;

/**
 * The main thread of a backup, after saving a pack: its heap fills with the
 * walk's short-lived stats, nodes and promises, and V8 let it grow to ~85 MiB
 * (~30 MiB live) by the end of the bench's first backup. A scavenge per saved
 * pack and a full collection every 128 MiB of packs kept peak RSS ~20 MiB
 * lower for ~0.1-0.2 s more CPU on 920 MB (issue 22; docs/performance.md).
 */
export function mainThreadSavedPack(bytes: number): void {
  mainSinceFull += bytes;
  if (mainSinceFull >= MAIN_FULL_EVERY) {
    mainSinceFull = 0;
    collector()();
  } else {
    collector()({ type: 'minor' });
  }
}
