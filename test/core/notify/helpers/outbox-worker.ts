/**
 * A separate OS process that delivers from a JSON store's outbox, driven by
 * outbox-multiprocess.test.ts:
 *   drain <home> <receiver url> <owner> <leaseMs>
 * prints "ready", waits for "go" on stdin, then delivers (sinks `a` and `b`,
 * real HTTP to the receiver) until nothing of theirs is pending, printing
 * "delivered <n>" after each pass that delivered something, then "done".
 */
import { createInterface } from 'node:readline';
import { systemClock } from '../../../../src/core/clock.js';
import { deliverDue } from '../../../../src/core/notify/outbox.js';
import { openJsonStore } from '../../../../src/core/store/json-store.js';
import { httpTestSink } from './http-test-sink.js';

const [mode, home, url, owner = 'w', lease = '60000'] = process.argv.slice(2);
if (mode !== 'drain' || home === undefined || url === undefined) throw new Error('usage: outbox-worker.ts drain <home> <url> <owner> <leaseMs>');

const say = (line: string) => process.stdout.write(`${line}\n`);
const store = await openJsonStore(home);
const sinks = new Map(['a', 'b'].map((name) => [name, httpTestSink(name, url)]));
say('ready');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'go') break;
}
lines.close();
const deadline = Date.now() + 30_000;
while ((await store.listDeliveries({ status: 'pending' })).length > 0) {
  if (Date.now() > deadline) throw new Error('still pending after 30 s');
  const counts = await deliverDue({ store, sinks, clock: systemClock, owner, budgetMs: 3_000, leaseMs: Number(lease) });
  if (counts.delivered > 0) say(`delivered ${counts.delivered}`);
  else await new Promise((r) => setTimeout(r, 50));
}
await store.close();
say('done');
