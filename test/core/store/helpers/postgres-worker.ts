/**
 * A separate OS process on the PostgreSQL store, driven by postgres-store.test.ts:
 *   runs <url> <prefix> <count>   print "ready", wait for "go", put <count> runs, print "done"
 *   claim <url> <owner>           print "ready", wait for "go", then claim and record deliveries of
 *                                 sinks a and b until none is pending, printing "claimed <id>" for each
 */
import { createInterface } from 'node:readline';
import { openPostgresStore } from '../../../../src/core/store/postgres/postgres-store.js';
import { run } from './records.js';

const [mode, url, ...rest] = process.argv.slice(2);
if (url === undefined) throw new Error('usage: postgres-worker.ts runs|claim <url> …');

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function go(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    if (line === 'go') return;
    break;
  }
  process.exit(2);
}

// Limits high enough that nothing is pruned: the test counts rows.
const store = await openPostgresStore(url, { limits: { runsPerRunbook: 10_000 } });
say('ready');
await go();
switch (mode) {
  case 'runs': {
    const [prefix = 'p', count = '0'] = rest;
    for (let i = 0; i < Number(count); i++) {
      await store.putRun(run(`${prefix}-${i}`, { runbook: `rb-${i % 10}`, startedAt: new Date().toISOString() }));
    }
    break;
  }
  case 'claim': {
    const [owner = 'w'] = rest;
    while ((await store.listDeliveries({ status: 'pending' })).length > 0) {
      const claimed = await store.claimDeliveries({ owner, sinks: ['a', 'b'], now: new Date(), leaseMs: 60_000, limit: 3 });
      for (const d of claimed) {
        say(`claimed ${d.id}`);
        if (!(await store.finishDelivery(d.id, owner, { ok: true, at: new Date() }))) throw new Error(`lost the claim of ${d.id}`);
      }
    }
    break;
  }
  default:
    throw new Error(`unknown mode ${String(mode)}`);
}
await store.close();
say('done');
