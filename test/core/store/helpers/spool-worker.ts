/**
 * A separate OS process replaying a home's spool, driven by spool.test.ts:
 *   <home> <storeHome> <log>   print "ready", wait for "go" on stdin, replay the
 *                              spool of <home> into the JSON store of <storeHome>,
 *                              appending each write that reached it to <log>;
 *                              print the replay result as JSON.
 */
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openJsonStore } from '../../../../src/core/store/json-store.js';
import { SpoolingStore, spoolDirOf } from '../../../../src/core/store/spool/index.js';
import { flaky } from './flaky-store.js';

const [home, storeHome, log] = process.argv.slice(2);
if (home === undefined || storeHome === undefined || log === undefined) throw new Error('usage: spool-worker.ts <home> <storeHome> <log>');

const inner = flaky(await openJsonStore(storeHome));
inner.afterWrite = (what) => appendFileSync(log, `${what}\n`);
const store = new SpoolingStore({ open: async () => inner, opened: inner, where: 'test', spoolDir: spoolDirOf(home) });
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'go') break;
}
lines.close();
const result = await store.replay();
process.stdout.write(`${JSON.stringify(result)}\n`);
await store.close();
