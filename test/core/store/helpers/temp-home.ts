/** A fresh state folder per test, removed afterwards. */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * `memory: true` puts the folder on tmpfs (/dev/shm) when there is one. fsync is
 * free there, so a test of locking and read-modify-write across processes is not
 * dominated by the disk: a durable write (two fsyncs) costs 7-10 ms on this
 * machine's ext4, so 1,000 in a row take ~8 s there, ~2-3 s on tmpfs.
 */
export function useTempHomes(options: { memory?: boolean } = {}): () => Promise<string> {
  const base = options.memory === true && writable('/dev/shm') ? '/dev/shm' : tmpdir();
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(base, 'lifeboat-store-'));
    made.push(dir);
    // A folder below the temp one, so the tests see the store create it.
    return join(dir, 'home');
  };
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
