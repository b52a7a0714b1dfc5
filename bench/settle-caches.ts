/**
 * --drop-caches (bench/run.ts, bench/s3.ts): before each timed op, drop the kernel's clean caches
 * and read the op's inputs back, so every op starts from the same warm cache whatever the ops
 * before it freed. On this machine (ext4 without a journal, a VM that reports free pages to its
 * host) two costs otherwise fell on whichever op came next, by timing:
 * - creating files within minutes of a large deletion: ext4 without a journal skips a free inode
 *   deleted in the last 60 s (360 s while its inode-table block is dirty) as long as that block is
 *   cached, scanning past each one for every new inode (`recently_deleted` in perf), and a creator
 *   writing into those blocks keeps them dirty;
 * - writing into page-cache pages the host had taken back (free page reporting): the copy into the
 *   page cache 5-8x slower, several seconds of system time for 1 GB.
 * Dropping the caches uncaches those inode-table blocks and frees pages the host still backs. The
 * inputs (and each tool's own files) are read back, so every op is still a warm-cache op.
 */
import fs from 'node:fs';
import path from 'node:path';
import { warmTree } from './tree-compare.js';

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/** Why --drop-caches cannot work here, or undefined when it can. */
export function dropCachesProblem(): string | undefined {
  try {
    fs.accessSync(DROP_CACHES, fs.constants.W_OK);
    return undefined;
  } catch {
    return `--drop-caches needs to write ${DROP_CACHES} (root)`;
  }
}

/** `sync` must have run: only clean pages are dropped. Then `inputs` (folders or files) are read back. */
export function settleCaches(inputs: readonly string[]): void {
  fs.writeFileSync(DROP_CACHES, '3\n');
  for (const p of inputs) {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) warmTree(p);
    else if (st?.isFile()) fs.readFileSync(p);
  }
}

/**
 * Lifeboat's own files for the command prefix the bench runs it with (`bin/lifeboat.js`, or
 * LIFEBOAT_BENCH_CMD's): node, the script, the build's dist/ beside it and the `modules` it loads.
 */
export function lifeboatFiles(prefix: readonly string[], repoRoot: string, modules: readonly string[]): string[] {
  const script = prefix.find((p) => p.endsWith('.js') || p.endsWith('.ts'));
  const root = script === undefined ? repoRoot : path.dirname(path.dirname(path.resolve(repoRoot, script)));
  // A script run as a program (bin/lifeboat.js) runs on node too.
  const exe = prefix[0] === undefined || prefix[0] === 'node' || prefix[0] === script ? process.execPath : prefix[0];
  return [exe, ...(script === undefined ? [] : [path.resolve(repoRoot, script)]), path.join(root, 'dist'), ...modules.map((m) => path.join(root, 'node_modules', m))];
}
