/**
 * How the benches run Lifeboat and which of its files they read back before a
 * timed op: by default bin/lifeboat.js as a program (as an installed `lifeboat`
 * runs, huge pages asked of malloc by its shell line), which runs on node.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describePrefix, lifeboatCommand } from '../../bench/lifeboat-command.js';
import { lifeboatFiles } from '../../bench/settle-caches.js';
import { repoRoot } from '../helpers/cli.js';

const saved = process.env.LIFEBOAT_BENCH_CMD;
afterEach(() => {
  if (saved === undefined) delete process.env.LIFEBOAT_BENCH_CMD;
  else process.env.LIFEBOAT_BENCH_CMD = saved;
});

describe("the benches' Lifeboat command", () => {
  it('is bin/lifeboat.js run as a program, whose files to read back start with node', () => {
    delete process.env.LIFEBOAT_BENCH_CMD;
    const { prefix, missing } = lifeboatCommand(repoRoot);
    expect(missing).toBeUndefined();
    expect(prefix).toEqual([path.join(repoRoot, 'bin', 'lifeboat.js')]);
    expect(describePrefix(prefix, repoRoot)).toBe('bin/lifeboat.js');
    expect(lifeboatFiles(prefix, repoRoot, ['zstd-napi'])).toEqual([
      process.execPath,
      path.join(repoRoot, 'bin', 'lifeboat.js'),
      path.join(repoRoot, 'dist'),
      path.join(repoRoot, 'node_modules', 'zstd-napi'),
    ]);
  });

  it("is LIFEBOAT_BENCH_CMD's words when set, `node` in them meaning this node", () => {
    process.env.LIFEBOAT_BENCH_CMD = `node ${path.join(repoRoot, 'bin', 'lifeboat.js')}`;
    const { prefix, missing } = lifeboatCommand(repoRoot);
    expect(missing).toBeUndefined();
    expect(prefix).toEqual(['node', path.join(repoRoot, 'bin', 'lifeboat.js')]);
    expect(lifeboatFiles(prefix, repoRoot, [])[0]).toBe(process.execPath);
  });

  it('says what is missing when the checkout has no launcher', () => {
    delete process.env.LIFEBOAT_BENCH_CMD;
    expect(lifeboatCommand('/nonexistent-checkout').missing).toBe('no bin/lifeboat.js yet');
  });
});
