/**
 * A separate OS process that uses the JSON store, driven by multiprocess.test.ts:
 *   append <home> <prefix> <count>  print "ready", wait for "go" on stdin, append
 *                                   <count> audit entries, print "done <ms>"
 *   loop <home>                     put runs forever, printing each id once its put returned
 *   open <home>                     open the store, print {"ok":true} or the error as JSON
 *   alerts <home>                   put alerts forever, each with two deliveries, printing its key once put returned
 *   claim <home> <owner>            print "ready", wait for "go", then claim and record deliveries of sinks
 *                                   a and b until none is pending, printing "claimed <id>" for each
 */
import { createInterface } from 'node:readline';
import { isLifeboatError } from '../../../../src/core/errors.js';
import { openJsonStore } from '../../../../src/core/store/json-store.js';
import { alert, audit, delivery, run } from './records.js';

const [mode, home, ...rest] = process.argv.slice(2);
if (home === undefined) throw new Error('usage: store-worker.ts append|loop|open <home> …');

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function nextLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

switch (mode) {
  case 'append': {
    const [prefix = 'p', count = '0'] = rest;
    const store = await openJsonStore(home);
    say('ready');
    if ((await nextLine()) !== 'go') process.exit(2);
    const started = performance.now();
    for (let i = 0; i < Number(count); i++) {
      await store.appendAudit(audit(`${prefix}-${i}`, { at: new Date().toISOString(), args: [prefix, String(i)] }));
    }
    await store.close();
    say(`done ${Math.round(performance.now() - started)}`);
    break;
  }
  case 'loop': {
    const store = await openJsonStore(home);
    for (let i = 0; ; i++) {
      const id = `run-${i}`;
      await store.putRun(run(id, { runbook: `rb-${i % 5}`, startedAt: new Date().toISOString() }));
      say(id);
    }
  }
  case 'open': {
    try {
      const store = await openJsonStore(home);
      await store.close();
      say(JSON.stringify({ ok: true }));
    } catch (e) {
      if (!isLifeboatError(e)) throw e;
      say(JSON.stringify({ code: e.code, message: e.message }));
      process.exitCode = 1;
    }
    break;
  }
  case 'alerts': {
    const store = await openJsonStore(home);
    for (let i = 0; ; i++) {
      const key = `failed-run:rb-${i}`;
      await store.putAlert(alert(key, { count: i }), [delivery(`${key}/a`, key, 'a'), delivery(`${key}/b`, key, 'b')]);
      say(key);
    }
  }
  case 'claim': {
    const [owner = 'w'] = rest;
    const store = await openJsonStore(home);
    say('ready');
    if ((await nextLine()) !== 'go') process.exit(2);
    while ((await store.listDeliveries({ status: 'pending' })).length > 0) {
      const claimed = await store.claimDeliveries({ owner, sinks: ['a', 'b'], now: new Date(), leaseMs: 60_000, limit: 3 });
      for (const d of claimed) {
        say(`claimed ${d.id}`);
        if (!(await store.finishDelivery(d.id, owner, { ok: true, at: new Date() }))) throw new Error(`lost the claim of ${d.id}`);
      }
    }
    await store.close();
    say('done');
    break;
  }
  default:
    throw new Error(`unknown mode ${String(mode)}`);
}
