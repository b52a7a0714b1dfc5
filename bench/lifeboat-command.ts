/**
 * How the benches (bench/run.ts, bench/s3.ts) run Lifeboat and name the build they ran.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface LifeboatCommand {
  /** The words before Lifeboat's own arguments. */
  prefix: string[];
  /** `git describe` of the checkout ('unknown' outside one). */
  version: string;
  /** What is not there yet, when the default is asked for. */
  missing?: string;
}

/**
 * LIFEBOAT_BENCH_CMD's words, or `bin/lifeboat.js` run as a program, as an installed `lifeboat` is (its
 * first line is shell that starts node with huge pages asked of malloc: `node bin/lifeboat.js` would skip that).
 */
export function lifeboatCommand(repoRoot: string): LifeboatCommand {
  const prefix = lifeboatPrefix(repoRoot);
  const version = checkoutVersion(repoRoot);
  const launcher = prefix[0]!;
  if (process.env.LIFEBOAT_BENCH_CMD !== undefined || fs.existsSync(launcher)) return { prefix, version };
  return { prefix, version, missing: `no ${path.relative(repoRoot, launcher)} yet` };
}

/** The prefix alone (lifeboatCommand's, without asking git), for what runs before every op. */
export function lifeboatPrefix(repoRoot: string): string[] {
  return process.env.LIFEBOAT_BENCH_CMD?.trim().split(/\s+/) ?? [path.join(repoRoot, 'bin', 'lifeboat.js')];
}

/** A command prefix as a reader would type it (node for this node, paths relative to the checkout). */
export function describePrefix(prefix: readonly string[], repoRoot: string): string {
  return prefix.map((p) => (p === process.execPath ? 'node' : path.isAbsolute(p) ? path.relative(repoRoot, p) : p)).join(' ');
}

function checkoutVersion(repoRoot: string): string {
  try {
    return execFileSync('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown'; // not a git checkout
  }
}
