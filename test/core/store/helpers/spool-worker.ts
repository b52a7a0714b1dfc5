/**
 * A separate OS process replaying a home's spool, driven by spool.test.ts.
 * Writes reach the JSON store of <storeHome>; each one that did is appended to <log>.
 *   replay <home> <storeHome> <log>       print "ready", wait for "go" on stdin, replay,
 *                                         print the result as JSON
 *   hold <home> <storeHome> <log> <n>     replay, but stop before the n-th write (print
 *                                         "holding") and wait there forever, holding the replay lock
 *   until-done <home> <storeHome> <log>   replay until no other process holds the lock
 *                                         (its lock taken over once stale), print the result
 * The replay lock goes stale after 2 s here (10 s in Lifeboat), so a test sees a takeover soon.
 */
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { openJsonStore } from '../../../../src/core/store/json-store.js';
import { SpoolingStore, spoolDirOf } from '../../../../src/core/store/spool/index.js';
import { flaky } from './flaky-store.js';

const [mode, home, storeHome, log, n] = process.argv.slice(2);
if (mode === undefined || home === undefined || storeHome === undefined || log === undefined) throw new Error('usage: spool-worker.ts replay|hold|until-done <home> <storeHome> <log> [n]');

const inner = flaky(await openJsonStore(storeHome));
inner.afterWrite = (what) => appendFileSync(log, `${what}\n`);
const store = new SpoolingStore({ open: async () => inner, opened: inner, where: 'test', spoolDir: spoolDirOf(home), replayLock: { timeoutMs: 0, staleMs: 2_000 } });

if (mode === 'hold') {
  let writes = 0;
  inner.beforeWrite = async () => {
    if (++writes < Number(n)) return;
    process.stdout.write('holding\n');
    await new Promise(() => undefined);
  };
  await store.replay();
} else if (mode === 'until-done') {
  for (;;) {
    const result = await store.replay();
    if (!result.busy) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      break;
    }
    // Waiting for the dead holder's lock to go stale: nothing to wait on but time.
    await sleep(100);
  }
} else {
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'go') break;
  }
  lines.close();
  const result = await store.replay();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
await store.close();
