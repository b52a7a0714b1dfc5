/**
 * Pack-sized buffers (16 MiB) handed between threads are external memory that
 * V8 does not count towards its GC heuristics once transferred, so without a
 * nudge they pile up until the heap happens to be collected: a first backup of
 * 1 GB peaked at 550 MB of RSS. A full GC of these small heaps costs a few
 * milliseconds; calling it every few packs keeps RSS flat.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

function collector(): () => void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  return collect;
}

let bytesSinceCollect = 0;

/** Note that `bytes` of large buffers became garbage; collect after every ~64 MiB. */
export function releasedLargeBuffer(bytes: number): void {
  bytesSinceCollect += bytes;
  if (bytesSinceCollect >= 64 * 1024 * 1024) {
    bytesSinceCollect = 0;
    collector()();
  }
}
