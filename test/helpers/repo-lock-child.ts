/**
 * One taker of a repository lock in its own process, for the lock race test
 * (test/core/repo/repo-lock.test.ts):
 *
 *   node --import tsx test/helpers/repo-lock-child.ts <repo dir> <shared|exclusive> <signal dir> <rounds>
 *
 * For each round r: waits until <signal dir>/go-r exists (so several takers
 * start together), takes the lock and prints `held r` — then keeps it until
 * <signal dir>/release-r exists and prints `released r` — or prints
 * `refused r <holder as JSON>` when the lock refuses it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import { isLifeboatError } from '../../src/core/errors.js';
import { RepositoryLock } from '../../src/core/repo/repo-lock.js';

async function until(path: string): Promise<void> {
  while (!existsSync(path)) await sleep(2);
}

const [repoDir, mode, signals, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
if (!repoDir || (mode !== 'shared' && mode !== 'exclusive') || !signals || !(rounds >= 1)) {
  process.stderr.write('usage: repo-lock-child.ts <repo dir> <shared|exclusive> <signal dir> <rounds>\n');
  process.exit(2);
}
const backend = new LocalBackend(repoDir);
for (let round = 0; round < rounds; round++) {
  await until(join(signals, `go-${round}`));
  try {
    const lock = await RepositoryLock.acquire(backend, { exclusive: mode === 'exclusive', purpose: `${mode} taker ${process.pid}` });
    process.stdout.write(`held ${round}\n`);
    await until(join(signals, `release-${round}`));
    await lock.release();
    process.stdout.write(`released ${round}\n`);
  } catch (e) {
    if (!isLifeboatError(e, 'REPO_LOCKED')) throw e;
    process.stdout.write(`refused ${round} ${JSON.stringify((e.details as { holder: unknown }).holder)}\n`);
  }
}
